//! A webhook on loopback standing in for a script's endpoint or an ntfy server: it
//! keeps every push it gets.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};

use super::agent::Harness;

/// A secret in the webhook's path and query, which must never reach a log.
pub(crate) const SECRET_PATH: &str = "/hook/topic-s3cr3t?auth=t0ken-s3cr3t";

/// One POST the listener got: its headers, its body, and what it answered.
#[derive(Clone, Debug)]
pub(crate) struct Push {
    pub(crate) headers: HeaderMap,
    pub(crate) body: String,
    pub(crate) answered: StatusCode,
}

/// A webhook on loopback that answers 500 to its first `refusals` pushes, then 200.
pub(crate) async fn listener(refusals: usize) -> (String, Arc<Mutex<Vec<Push>>>) {
    let pushes: Arc<Mutex<Vec<Push>>> = Arc::default();
    let seen = pushes.clone();
    let app = axum::Router::new().route(
        "/hook/{topic}",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let seen = seen.clone();
            async move {
                let mut seen = seen.lock().unwrap();
                let answered = match seen.len() < refusals {
                    true => StatusCode::INTERNAL_SERVER_ERROR,
                    false => StatusCode::OK,
                };
                seen.push(Push {
                    headers,
                    body: String::from_utf8_lossy(&body).into_owned(),
                    answered,
                });
                answered
            }
        }),
    );
    let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}{SECRET_PATH}", socket.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(socket, app).await.unwrap() });
    (url, pushes)
}

pub(crate) fn with_webhook(agent: &Harness, url: &str, format: &str) {
    agent.edit_config(
        "[dashboard]",
        &format!(
            "[notifications]\nwebhook_url = \"{url}\"\nwebhook_format = \"{format}\"\n\n[dashboard]"
        ),
    );
}

pub(crate) fn delivered(pushes: &Arc<Mutex<Vec<Push>>>) -> Vec<Push> {
    pushes
        .lock()
        .unwrap()
        .iter()
        .filter(|p| p.answered == StatusCode::OK)
        .cloned()
        .collect()
}

/// The JSON bodies delivered whose `event` is `event`.
pub(crate) fn delivered_events(
    pushes: &Arc<Mutex<Vec<Push>>>,
    event: &str,
) -> Vec<serde_json::Value> {
    delivered(pushes)
        .iter()
        .filter_map(|push| serde_json::from_str::<serde_json::Value>(&push.body).ok())
        .filter(|body| body["event"] == event)
        .collect()
}
