//! The client survives what a flaky API and a sleeping laptop throw at it: expired
//! links are re-requested, 429 and 5xx are retried within bounds, answers cut off
//! mid-body are retried, and a multipart upload that fails is aborted, not left behind.

use std::time::{Duration, Instant};

use crate::common::*;
use imagen_sync::api::{ApiError, UploadMethod};
use imagen_sync::sim::Faults;

const PROJECT_ROUTE: &str = "GET /v1/i2i/projects/{uuid}";

#[tokio::test]
async fn an_upload_link_that_expired_while_the_laptop_slept_is_requested_again() {
    let sim = start_sim(|_| {}).await;
    let client = client_for(&sim, |_| {});
    let uuid = client.create_project(Some("Slept")).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let photo = dir.path().join("a.jpg");
    write_jpeg(&photo, 200, 100);

    sim.set_faults(Faults {
        stale_links: 2,
        ..Faults::default()
    });
    client
        .upload_file(&uuid, &photo, "a.jpg", false, None)
        .await
        .unwrap();
    let counters = sim.counters();
    assert_eq!(
        counters.requests_to("POST /v1/i2i/projects/{uuid}/get_temporary_upload_links"),
        3
    );
    assert_eq!(counters.requests_to("PUT /s3/in/{uuid}/{file_name}"), 3);
    assert_eq!(counters.uploads_per_project[&uuid], 1);

    // A link that stays expired is given up on after a bounded number of refreshes.
    sim.set_faults(Faults {
        stale_links: 100,
        ..Faults::default()
    });
    let error = client
        .upload_file(&uuid, &photo, "a.jpg", false, None)
        .await
        .unwrap_err();
    assert!(matches!(error, ApiError::LinkExpired { .. }), "{error:?}");
    assert_eq!(
        sim.counters().requests_to("PUT /s3/in/{uuid}/{file_name}"),
        3 + 4
    );
}

#[tokio::test]
async fn server_errors_are_retried_a_bounded_number_of_times() {
    let sim = start_sim(|_| {}).await;
    let client = client_for(&sim, |c| c.retry = fast_retry(3));
    let uuid = client.create_project(Some("Flaky")).await.unwrap();

    sim.set_faults(Faults {
        api_error_rate: 1.0,
        ..Faults::default()
    });
    let error = client.project(&uuid).await.unwrap_err();
    assert!(error.is_transient(), "{error:?}");
    assert_eq!(
        sim.counters().requests_to(PROJECT_ROUTE),
        3,
        "exactly max_attempts requests"
    );

    // Half the calls fail: with enough attempts every call still gets through.
    sim.set_faults(Faults {
        api_error_rate: 0.5,
        ..Faults::default()
    });
    let patient = client_for(&sim, |c| c.retry = fast_retry(30));
    for _ in 0..20 {
        patient.project(&uuid).await.unwrap();
    }
}

#[tokio::test]
async fn a_429_is_retried_after_the_servers_retry_after_and_no_sooner() {
    let sim = start_sim(|_| {}).await;
    let client = client_for(&sim, |c| c.retry = fast_retry(3));
    let uuid = client.create_project(Some("Busy")).await.unwrap();

    sim.set_faults(Faults {
        rate_limit_rate: 1.0,
        retry_after_secs: 1,
        ..Faults::default()
    });
    let started = Instant::now();
    let error = client.project(&uuid).await.unwrap_err();
    assert!(matches!(error, ApiError::RateLimited { .. }), "{error:?}");
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "two waits of Retry-After: 1"
    );
    assert_eq!(sim.counters().requests_to(PROJECT_ROUTE), 3);
}

#[tokio::test]
async fn answers_cut_off_mid_body_are_retried_and_downloads_never_pass_as_complete() {
    let sim = start_sim(|_| {}).await;
    let client = client_for(&sim, |c| c.retry = fast_retry(40));
    let dir = tempfile::tempdir().unwrap();
    let uuid = client.create_project(Some("Wi-Fi")).await.unwrap();
    let photo = dir.path().join("a.jpg");
    write_jpeg(&photo, 400, 300);
    client
        .upload_file(&uuid, &photo, "a.jpg", false, None)
        .await
        .unwrap();
    client.edit(&uuid, &Default::default()).await.unwrap();
    wait_until_finished(&client, &uuid).await;

    sim.set_faults(Faults {
        drop_rate: 0.5,
        ..Faults::default()
    });
    for _ in 0..10 {
        client.project(&uuid).await.unwrap();
    }
    assert!(
        sim.counters()
            .faults_injected
            .get("dropped mid-body")
            .copied()
            .unwrap_or(0)
            > 0
    );

    sim.set_faults(Faults::default());
    let link = client.download_link(&uuid, "a.jpg").await.unwrap();
    sim.set_faults(Faults {
        drop_rate: 1.0,
        ..Faults::default()
    });
    let mut partial = Vec::new();
    let error = client
        .download_to(&link, &mut partial, std::path::Path::new("memory"))
        .await
        .unwrap_err();
    assert!(
        matches!(error, ApiError::Network { .. } | ApiError::Protocol { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_large_file_goes_up_in_parts_and_a_failed_part_aborts_the_upload() {
    let sim = start_sim(|_| {}).await;
    let client = client_for(&sim, |c| {
        c.multipart_threshold = 6 * 1024 * 1024;
        c.part_size = 5 * 1024 * 1024;
        c.retry = fast_retry(2);
    });
    let dir = tempfile::tempdir().unwrap();
    let big = write_pattern(&dir.path().join("big.dng"), 12 * 1024 * 1024 + 17);
    let uuid = client.create_project(Some("Big")).await.unwrap();

    let method = client
        .upload_file(&uuid, &big, "big.dng", false, None)
        .await
        .unwrap();
    assert_eq!(method, UploadMethod::Multipart { parts: 3 });
    let counters = sim.counters();
    assert_eq!(
        (counters.multipart_completed, counters.multipart_aborted),
        (1, 0)
    );
    assert_eq!(sim.input_sizes(&uuid)["big.dng"], 12 * 1024 * 1024 + 17);

    sim.set_faults(Faults {
        storage_error_rate: 1.0,
        ..Faults::default()
    });
    let error = client
        .upload_file(&uuid, &big, "big2.dng", false, None)
        .await
        .unwrap_err();
    // Storage may answer 500 before reading the body, so the client sees the 500 or a
    // broken pipe; either way it is a transient failure.
    assert!(error.is_transient(), "{error:?}");
    let counters = sim.counters();
    assert_eq!(counters.multipart_started, 2);
    assert_eq!(
        counters.multipart_aborted, 1,
        "the failed upload was aborted"
    );
    assert_eq!(counters.multipart_completed, 1);
    assert!(!sim.input_sizes(&uuid).contains_key("big2.dng"));
}

#[tokio::test]
async fn a_server_without_multipart_endpoints_gets_large_files_in_one_put() {
    let sim = start_sim(|c| c.multipart = false).await;
    let client = client_for(&sim, |c| {
        c.multipart_threshold = 6 * 1024 * 1024;
        c.part_size = 5 * 1024 * 1024;
    });
    let dir = tempfile::tempdir().unwrap();
    let big = write_pattern(&dir.path().join("big.dng"), 7 * 1024 * 1024);
    let uuid = client.create_project(Some("Old API")).await.unwrap();
    let method = client
        .upload_file(&uuid, &big, "big.dng", false, None)
        .await
        .unwrap();
    assert_eq!(method, UploadMethod::SinglePut);
    assert_eq!(sim.input_sizes(&uuid)["big.dng"], 7 * 1024 * 1024);
}

#[tokio::test]
async fn a_file_that_shrinks_while_uploading_is_reported_as_changed() {
    let sim = start_sim(|_| {}).await;
    let client = client_for(&sim, |c| c.retry = fast_retry(1));
    let dir = tempfile::tempdir().unwrap();
    let uuid = client.create_project(Some("Card copy")).await.unwrap();
    let path = write_pattern(&dir.path().join("growing.jpg"), 4 * 1024 * 1024);
    let truncate_path = path.clone();
    let progress: imagen_sync::api::ProgressSink = std::sync::Arc::new(move |_| {
        // The card copy is still rewriting this file: it shrinks under the reader.
        let _ = std::fs::OpenOptions::new()
            .write(true)
            .open(&truncate_path)
            .and_then(|f| f.set_len(1024));
    });
    let error = client
        .upload_file(&uuid, &path, "growing.jpg", false, Some(progress))
        .await
        .unwrap_err();
    assert!(matches!(error, ApiError::FileChanged { .. }), "{error:?}");
    assert!(
        sim.input_sizes(&uuid).is_empty(),
        "nothing half-uploaded is kept"
    );
}

#[tokio::test]
async fn a_content_md5_that_does_not_match_is_refused_by_storage() {
    let sim = start_sim(|_| {}).await;
    let client = client_for(&sim, |c| c.retry = fast_retry(1));
    let dir = tempfile::tempdir().unwrap();
    let uuid = client.create_project(Some("Digest")).await.unwrap();
    let path = write_pattern(&dir.path().join("a.jpg"), 1000);
    // The right digest goes through.
    client
        .upload_file(&uuid, &path, "a.jpg", true, None)
        .await
        .unwrap();
    // A digest announced for other bytes is refused with S3's BadDigest.
    let links = client
        .upload_links(
            &uuid,
            &[imagen_sync::api::FileToUpload {
                file_name: "b.jpg".into(),
                md5: Some("1B2M2Y8AsgTpgAmY7PhCfg==".into()),
            }],
        )
        .await
        .unwrap();
    let response = reqwest::Client::new()
        .put(links[0].upload_link.expose().clone())
        .header("Content-Type", "")
        .header("Content-MD5", "1B2M2Y8AsgTpgAmY7PhCfg==")
        .body(std::fs::read(&path).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().contains("BadDigest"));
}
