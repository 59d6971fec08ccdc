//! Fault injection and request accounting: one middleware every API and storage request
//! passes through. It counts the request by route, then may delay it, fail it (5xx, or
//! 429 with Retry-After) before the handler runs, or cut its answer off mid-body.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use rand::Rng;
use serde::{Deserialize, Serialize};

use super::state::Hostile;
use super::{Shared, api_error, storage};

/// Failures to inject, each a probability per request (0.0–1.0) unless said otherwise.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Faults {
    /// API calls answered 500/502/503 before the handler runs.
    pub api_error_rate: f64,
    /// API calls answered 429 with `Retry-After: retry_after_secs`.
    pub rate_limit_rate: f64,
    pub retry_after_secs: u64,
    /// A per-key limit, as a real account has: after this many API calls (0: never) the
    /// key is limited for `retry_after_secs`, and every API call meanwhile gets 429 with
    /// the time left (counted in `calls_while_limited`).
    pub key_limit_after: u32,
    /// Presigned storage requests answered 500/503 (S3-style XML).
    pub storage_error_rate: f64,
    /// Each request waits a random time up to this many milliseconds.
    pub max_latency_ms: u64,
    /// Answers with a body are cut off halfway and the connection dropped.
    pub drop_rate: f64,
    /// Edits that end in Failed instead of Completed.
    pub fail_rate: f64,
    /// Projects whose name contains any of these always end in Failed.
    pub fail_names_containing: Vec<String>,
    /// The next this-many presigned links are handed out already expired, as if the
    /// client had slept past their lifetime before using them.
    pub stale_links: u32,
    /// A server that misbehaves on purpose, in one of these ways (or none).
    pub hostile: Option<Hostile>,
}

/// How much a `HugeJson` answer is padded with.
pub(super) const HUGE_JSON_BYTES: usize = 40 << 20;

impl Faults {
    pub fn project_fails(&self, name: &str) -> bool {
        self.fail_names_containing
            .iter()
            .any(|needle| name.contains(needle.as_str()))
            || roll(self.fail_rate)
    }
}

fn roll(probability: f64) -> bool {
    probability > 0.0 && rand::rng().random_bool(probability.min(1.0))
}

pub(crate) async fn inject(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| request.uri().path().to_owned());
    let is_storage = route.starts_with(storage::PREFIX);
    *shared
        .state()
        .counters
        .requests
        .entry(format!("{} {route}", request.method()))
        .or_default() += 1;

    let faults = shared.faults();
    if faults.max_latency_ms > 0 {
        let wait = rand::rng().random_range(0..=faults.max_latency_ms);
        tokio::time::sleep(Duration::from_millis(wait)).await;
    }
    if let Some(early) = early_failure(&shared, &faults, is_storage) {
        return early;
    }
    if faults.hostile == Some(Hostile::Silent) && !is_storage && !route.starts_with("/_sim") {
        shared.state().counters.fault("silent");
        return std::future::pending().await;
    }
    if faults.hostile == Some(Hostile::Redirects) && !is_storage && !route.starts_with("/_sim") {
        shared.state().counters.fault("redirect");
        return (
            StatusCode::TEMPORARY_REDIRECT,
            [(header::LOCATION, "ftp://files.example.invalid/v1/elsewhere")],
        )
            .into_response();
    }
    let is_download = is_storage && request.method() == axum::http::Method::GET;
    let response = next.run(request).await;
    if !is_storage && faults.hostile == Some(Hostile::HugeJson) {
        shared.state().counters.fault("huge json");
    }
    if is_download && faults.hostile == Some(Hostile::OversizedDownloads) {
        shared.state().counters.fault("oversized download");
        // A real 5 GB body, made only as fast as the client reads it.
        const CHUNK: usize = 1 << 20;
        const CHUNKS: usize = 5000;
        let (mut parts, _) = response.into_parts();
        parts.headers.insert(
            header::CONTENT_LENGTH,
            HeaderValue::from((CHUNK * CHUNKS) as u64),
        );
        let zeros = bytes::Bytes::from(vec![0u8; CHUNK]);
        let body = futures_util::stream::iter(
            std::iter::repeat_n(zeros, CHUNKS).map(Ok::<_, std::io::Error>),
        );
        return (parts, Body::from_stream(body)).into_response();
    }
    if is_download && faults.hostile == Some(Hostile::TruncatedDownloads) {
        shared.state().counters.fault("truncated download");
        return cut_off_halfway(response);
    }
    if roll(faults.drop_rate) && response_has_body(&response) {
        shared.state().counters.fault("dropped mid-body");
        return cut_off_halfway(response);
    }
    response
}

fn early_failure(shared: &Shared, faults: &Faults, is_storage: bool) -> Option<Response> {
    let status = [
        StatusCode::INTERNAL_SERVER_ERROR,
        StatusCode::BAD_GATEWAY,
        StatusCode::SERVICE_UNAVAILABLE,
    ][rand::rng().random_range(0..3)];
    if is_storage {
        if roll(faults.storage_error_rate) {
            shared.state().counters.fault("storage 5xx");
            return Some(storage::s3_error(
                status,
                "InternalError",
                "We encountered an internal error. Please try again.",
            ));
        }
        return None;
    }
    if faults.key_limit_after > 0
        && let Some(response) = key_limit(shared, faults)
    {
        return Some(response);
    }
    if roll(faults.api_error_rate) {
        shared.state().counters.fault("api 5xx");
        return Some(api_error(status, "Simulated server error; please retry"));
    }
    if roll(faults.rate_limit_rate) {
        shared.state().counters.fault("429");
        let mut response = api_error(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many requests; slow down",
        );
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(faults.retry_after_secs),
        );
        return Some(response);
    }
    None
}

/// Requests already on their way when a limit begins cannot know of it yet.
const IN_FLIGHT_GRACE: Duration = Duration::from_millis(150);

/// The per-key limit: `None` lets the call through.
fn key_limit(shared: &Shared, faults: &Faults) -> Option<Response> {
    let now = std::time::Instant::now();
    let window = Duration::from_secs(faults.retry_after_secs.max(1));
    let mut state = shared.state();
    let left = match state.key_limited_until {
        Some(until) if until > now => {
            let began = until - window;
            // Within the grace after the limit began, a call was in flight: no breach.
            if now > began + IN_FLIGHT_GRACE {
                state.counters.calls_while_limited += 1;
            }
            until - now
        }
        _ => {
            state.key_calls += 1;
            if state.key_calls <= faults.key_limit_after {
                return None;
            }
            state.key_calls = 0;
            state.key_limited_until = Some(now + window);
            state.counters.fault("key limited");
            window
        }
    };
    drop(state);
    let mut response = api_error(
        StatusCode::TOO_MANY_REQUESTS,
        "Rate limit exceeded for this API key; retry after the time given",
    );
    response.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(left.as_secs_f64().ceil() as u64),
    );
    Some(response)
}

fn response_has_body(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_none_or(|len| len > 1)
}

/// Sends the headers and about half the body, then fails the stream so the server
/// drops the connection: what a client sees when Wi-Fi dies mid-answer.
fn cut_off_halfway(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let announced = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let keep = announced.unwrap_or(2) / 2;
    let mut sent = 0usize;
    let truncated = body.into_data_stream().flat_map(move |chunk| {
        let items: Vec<Result<bytes::Bytes, std::io::Error>> = match chunk {
            Err(error) => vec![Err(std::io::Error::other(error))],
            Ok(chunk) if sent + chunk.len() <= keep => {
                sent += chunk.len();
                vec![Ok(chunk)]
            }
            Ok(chunk) => {
                let head = chunk.slice(..keep - sent);
                sent = keep;
                vec![
                    Ok(head),
                    Err(std::io::Error::new(
                        std::io::ErrorKind::ConnectionReset,
                        "simulated connection drop",
                    )),
                ]
            }
        };
        futures_util::stream::iter(items)
    });
    // Keep the announced Content-Length: the client must notice the shortfall.
    parts.headers.remove(header::TRANSFER_ENCODING);
    (parts, Body::from_stream(truncated)).into_response()
}
