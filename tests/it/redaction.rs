//! Secrets stay secret: a full flow logged at TRACE level, and the texts of the errors a
//! user may see, contain neither the API key nor any presigned signature.

use std::io::Write;
use std::sync::{Arc, Mutex};

use crate::common::*;
use imagen_sync::api::{ApiError, Client, ClientConfig};
use imagen_sync::redact::{ApiKey, PresignedUrl};
use imagen_sync::sim::Faults;

#[derive(Clone, Default)]
struct CapturedLog(Arc<Mutex<Vec<u8>>>);

impl Write for CapturedLog {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for CapturedLog {
    type Writer = CapturedLog;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

fn assert_no_secrets(text: &str, signatures: &[String]) {
    assert!(!text.contains(KEY), "the API key leaked:\n{text}");
    assert!(
        !text.contains("X-Amz-Signature="),
        "a presigned query leaked:\n{text}"
    );
    for signature in signatures {
        assert!(
            !text.contains(signature.as_str()),
            "a signature leaked:\n{text}"
        );
    }
}

fn signature_of(link: &PresignedUrl) -> String {
    link.expose()
        .query_pairs()
        .find(|(k, _)| k == "X-Amz-Signature")
        .map(|(_, v)| v.into_owned())
        .expect("a signed link")
}

#[tokio::test(flavor = "current_thread")]
async fn a_full_flow_logged_at_trace_level_and_its_errors_show_no_key_and_no_signature() {
    let log = CapturedLog::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(log.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let sim = start_sim(|_| {}).await;
    let client = client_for(&sim, |c| c.retry = fast_retry(2));
    let dir = tempfile::tempdir().unwrap();
    let mut signatures = Vec::new();
    let mut error_texts = Vec::new();

    let uuid = client.create_project(Some("Secret shoot")).await.unwrap();
    let photo = dir.path().join("a.jpg");
    write_jpeg(&photo, 300, 200);
    let links = client
        .upload_links(
            &uuid,
            &[imagen_sync::api::FileToUpload {
                file_name: "a.jpg".into(),
                md5: None,
            }],
        )
        .await
        .unwrap();
    signatures.push(signature_of(&links[0].upload_link));
    tracing::debug!(?links, "links as a careless log line would print them");
    error_texts.push(format!("{:?}", links[0]));

    sim.set_faults(Faults {
        stale_links: 1,
        ..Faults::default()
    });
    client
        .upload_file(&uuid, &photo, "a.jpg", true, None)
        .await
        .unwrap();
    client.edit(&uuid, &Default::default()).await.unwrap();
    wait_until_finished(&client, &uuid).await;
    for link in client.download_links(&uuid).await.unwrap() {
        signatures.push(signature_of(&link.download_link));
        let mut sink = Vec::new();
        client
            .download_to(
                &link.download_link,
                &mut sink,
                std::path::Path::new("memory"),
            )
            .await
            .unwrap();
    }

    // Errors a user may see: a dropped download, an expired link, a dead storage host,
    // a rejected key. None may carry the link's query or the key.
    let link = client.download_link(&uuid, "a.jpg").await.unwrap();
    signatures.push(signature_of(&link));
    sim.set_faults(Faults {
        drop_rate: 1.0,
        ..Faults::default()
    });
    let mut sink = Vec::new();
    let cut: ApiError = client
        .download_to(&link, &mut sink, std::path::Path::new("memory"))
        .await
        .unwrap_err();
    error_texts.push(format!("{cut} / {cut:?}"));
    sim.set_faults(Faults::default());

    let expired = sim.sign_link(
        "GET",
        &["s3", "out", &uuid, "a.jpg"],
        std::time::Duration::from_secs(1),
    );
    sim.set_faults(Faults {
        stale_links: 1,
        ..Faults::default()
    });
    let stale = client.download_link(&uuid, "a.jpg").await.unwrap();
    signatures.push(signature_of(&stale));
    let refused = client
        .download_to(&stale, &mut Vec::new(), std::path::Path::new("memory"))
        .await
        .unwrap_err();
    assert!(
        matches!(refused, ApiError::LinkExpired { .. }),
        "{refused:?}"
    );
    error_texts.push(format!("{refused} / {refused:?}"));
    let expired = PresignedUrl::parse(&expired).unwrap();
    signatures.push(signature_of(&expired));
    error_texts.push(format!("{expired} / {expired:?}"));

    let dead_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dead = PresignedUrl::parse(&format!(
        "http://127.0.0.1:{dead_port}/s3/out/x/a.jpg?X-Amz-Signature=0123456789abcdef0123"
    ))
    .unwrap();
    signatures.push("0123456789abcdef0123".into());
    let unreachable = client
        .download_to(&dead, &mut Vec::new(), std::path::Path::new("memory"))
        .await
        .unwrap_err();
    error_texts.push(format!("{unreachable} / {unreachable:?}"));

    let mut config = ClientConfig::new(sim.base_url(), ApiKey::new("wrong-key-but-still-secret"));
    config.retry = fast_retry(1);
    let rejected = Client::new(config.clone())
        .unwrap()
        .project(&uuid)
        .await
        .unwrap_err();
    error_texts.push(format!("{rejected} / {rejected:?} / {config:?}"));
    assert!(
        !error_texts
            .last()
            .unwrap()
            .contains("wrong-key-but-still-secret")
    );
    error_texts.push(format!("{client:?}"));

    let logged = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    assert!(
        logged.contains("presigned PUT"),
        "the capture saw the flow:\n{logged}"
    );
    assert_no_secrets(&logged, &signatures);
    for text in &error_texts {
        assert_no_secrets(text, &signatures);
    }
}
