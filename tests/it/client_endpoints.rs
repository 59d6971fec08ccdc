//! The client drives every I2I endpoint of the simulator over real loopback HTTP, in
//! both envelopes, and gets the typed error each failure deserves.

use crate::common::*;
use imagen_sync::api::{ApiError, EditOptions, FileToUpload, ProjectStatus, UploadMethod};
use imagen_sync::redact::ApiKey;
use imagen_sync::sim::{Envelope, Faults};
use reqwest::StatusCode;

async fn full_flow_in(envelope: Envelope) {
    let sim = start_sim(|c| c.envelope = envelope).await;
    let client = client_for(&sim, |_| {});
    let dir = tempfile::tempdir().unwrap();

    assert!(client.is_valid_name("123 Main St").await.unwrap());
    let uuid = client.create_project(Some("123 Main St")).await.unwrap();
    assert!(!client.is_valid_name("123 Main St").await.unwrap());

    for (n, name) in ["living room.jpg", "kitchen.JPG", "porch.jpeg"]
        .iter()
        .enumerate()
    {
        let path = dir.path().join(name);
        write_jpeg(&path, 320 + n as u32 * 10, 240);
        let method = client
            .upload_file(&uuid, &path, name, n == 0, None)
            .await
            .unwrap();
        assert_eq!(method, UploadMethod::SinglePut);
    }
    assert_eq!(sim.counters().uploads_per_project[&uuid], 3);

    let options = EditOptions {
        perspective_correction: true,
        sky_replacement: true,
        ..EditOptions::default()
    };
    let message = client.edit(&uuid, &options).await.unwrap();
    assert!(message.contains("successfully"), "{message}");
    assert_eq!(
        wait_until_finished(&client, &uuid).await,
        ProjectStatus::Completed
    );

    let project = client.project(&uuid).await.unwrap();
    assert_eq!(project.name.as_deref(), Some("123 Main St"));
    assert_eq!(project.number_of_images, Some(3));

    let links = client.download_links(&uuid).await.unwrap();
    let mut names: Vec<&str> = links.iter().map(|l| l.file_name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["kitchen.JPG", "living room.jpg", "porch.jpeg"]);
    for link in &links {
        let mut bytes = Vec::new();
        let size = client
            .download_to(
                &link.download_link,
                &mut bytes,
                std::path::Path::new("memory"),
            )
            .await
            .unwrap();
        assert_eq!(size as usize, bytes.len());
        image::load_from_memory_with_format(&bytes, image::ImageFormat::Jpeg)
            .expect("every output is a real JPEG");
    }

    let single = client.download_link(&uuid, "porch.jpeg").await.unwrap();
    let mut bytes = Vec::new();
    client
        .download_to(&single, &mut bytes, std::path::Path::new("memory"))
        .await
        .unwrap();
    assert!(bytes.starts_with(&[0xFF, 0xD8]));

    // Override an output after a manual touch-up, then read the new bytes back.
    let touched = dir.path().join("touched.jpg");
    write_jpeg(&touched, 64, 64);
    client
        .override_output(&uuid, "porch.jpeg", &touched)
        .await
        .unwrap();
    let fresh = client.download_link(&uuid, "porch.jpeg").await.unwrap();
    let mut replaced = Vec::new();
    client
        .download_to(&fresh, &mut replaced, std::path::Path::new("memory"))
        .await
        .unwrap();
    assert_eq!(replaced, std::fs::read(&touched).unwrap());

    let page = client.list_projects(20, 0, false).await.unwrap();
    assert_eq!(page.pagination.total, 1);
    assert_eq!(page.projects[0].project_uuid, uuid);
    assert!(
        client
            .list_projects(20, 0, true)
            .await
            .unwrap()
            .projects
            .is_empty()
    );
    assert!(
        sim.counters().protocol_violations.is_empty(),
        "{:?}",
        sim.counters()
    );
}

#[tokio::test]
async fn a_shoot_goes_through_every_endpoint_with_the_data_envelope() {
    full_flow_in(Envelope::Data).await;
}

#[tokio::test]
async fn a_shoot_goes_through_every_endpoint_with_the_root_envelope() {
    full_flow_in(Envelope::Root).await;
}

#[tokio::test]
async fn an_empty_create_body_gets_a_generated_name_and_names_stay_unique_per_account() {
    let sim = start_sim(|c| c.api_keys.push("second-account".into())).await;
    let client = client_for(&sim, |_| {});
    let first = client.create_project(None).await.unwrap();
    let second = client.create_project(None).await.unwrap();
    assert_ne!(first, second);
    let named = client.project(&first).await.unwrap().name.unwrap();
    assert!(!named.is_empty());

    client.create_project(Some("Dup")).await.unwrap();
    match client.create_project(Some("Dup")).await {
        Err(ApiError::NameTaken { detail }) => assert!(detail.contains("Dup"), "{detail}"),
        other => panic!("expected NameTaken, got {other:?}"),
    }
    // Another account may use the same name: uniqueness is per key.
    let other = client_for(&sim, |c| c.api_key = ApiKey::new("second-account"));
    other.create_project(Some("Dup")).await.unwrap();
    // And cannot see the first account's projects.
    assert!(matches!(
        other.project(&first).await,
        Err(ApiError::NotFound { .. })
    ));
}

#[tokio::test]
async fn the_project_list_paginates_and_a_lost_create_is_found_by_name() {
    let sim = start_sim(|_| {}).await;
    let client = client_for(&sim, |_| {});
    let mut created = Vec::new();
    for n in 0..7 {
        created.push(
            client
                .create_project(Some(&format!("Shoot {n}")))
                .await
                .unwrap(),
        );
    }
    let first = client.list_projects(3, 0, false).await.unwrap();
    assert_eq!(first.pagination.total, 7);
    assert_eq!(first.projects.len(), 3);
    let last = client.list_projects(3, 2, false).await.unwrap();
    assert_eq!(last.projects.len(), 1);

    let found = client
        .find_project_by_name("Shoot 0")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.project_uuid, created[0]);
    assert!(
        client
            .find_project_by_name("Never made")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn every_failure_maps_to_its_typed_error_and_keeps_the_servers_detail() {
    let sim = start_sim(|_| {}).await;
    let client = client_for(&sim, |c| c.retry = fast_retry(1));
    let uuid = client.create_project(Some("Errors")).await.unwrap();

    let wrong_key = client_for(&sim, |c| c.api_key = ApiKey::new("not-the-key"));
    match wrong_key.project(&uuid).await {
        Err(ApiError::Unauthorized { detail }) => assert!(detail.contains("Invalid API key")),
        other => panic!("expected Unauthorized, got {other:?}"),
    }
    assert!(matches!(
        client.project("000000000000000000000000").await,
        Err(ApiError::NotFound { .. })
    ));

    // Download links before Completed: a 4xx with the server's reason.
    match client.download_links(&uuid).await {
        Err(ApiError::Server { status, detail }) => {
            assert_eq!(status, StatusCode::BAD_REQUEST);
            assert!(detail.contains("not completed"), "{detail}");
        }
        other => panic!("expected Server 400, got {other:?}"),
    }
    // Overriding an output works only after Completed.
    assert!(matches!(
        client.output_upload_link(&uuid, "a.jpg").await,
        Err(ApiError::Server {
            status: StatusCode::BAD_REQUEST,
            ..
        })
    ));
    // File names must be unique within one request.
    let twice = [
        FileToUpload {
            file_name: "a.jpg".into(),
            md5: None,
        },
        FileToUpload {
            file_name: "a.jpg".into(),
            md5: None,
        },
    ];
    match client.upload_links(&uuid, &twice).await {
        Err(ApiError::Server { detail, .. }) => assert!(detail.contains("unique"), "{detail}"),
        other => panic!("expected a refusal, got {other:?}"),
    }

    sim.set_faults(Faults {
        rate_limit_rate: 1.0,
        retry_after_secs: 7,
        ..Faults::default()
    });
    match client.project(&uuid).await {
        Err(ApiError::RateLimited { retry_after, .. }) => {
            assert_eq!(retry_after, Some(std::time::Duration::from_secs(7)))
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
    sim.set_faults(Faults {
        api_error_rate: 1.0,
        ..Faults::default()
    });
    match client.project(&uuid).await {
        Err(ApiError::Server { status, detail }) => {
            assert!(status.is_server_error());
            assert!(detail.contains("Simulated server error"), "{detail}");
        }
        other => panic!("expected Server 5xx, got {other:?}"),
    }
    sim.set_faults(Faults::default());

    let dead_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut config = imagen_sync::api::ClientConfig::new(
        format!("http://127.0.0.1:{dead_port}/v1").parse().unwrap(),
        ApiKey::new(KEY),
    );
    config.retry = fast_retry(1);
    let unreachable = imagen_sync::api::Client::new(config).unwrap();
    assert!(matches!(
        unreachable.project(&uuid).await,
        Err(ApiError::Network { .. })
    ));
}

/// A server that answers every request with the same raw HTTP response.
async fn raw_server(response: &'static str) -> url::Url {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buffer = [0u8; 4096];
            let _ = socket.read(&mut buffer).await;
            let _ = socket.write_all(response.as_bytes()).await;
        }
    });
    format!("http://{addr}/v1").parse().unwrap()
}

#[tokio::test]
async fn answers_that_break_the_contract_are_protocol_errors_not_crashes_or_memory_spikes() {
    for response in [
        "HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n<html></html>",
        "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n{\"a\": 1}\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n{",
    ] {
        let mut config =
            imagen_sync::api::ClientConfig::new(raw_server(response).await, ApiKey::new(KEY));
        config.retry = fast_retry(1);
        let client = imagen_sync::api::Client::new(config).unwrap();
        match client.project("p").await {
            Err(ApiError::Protocol { .. }) => {}
            other => panic!("expected Protocol for {response:?}, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn plain_http_is_refused_for_anything_but_loopback() {
    let config = imagen_sync::api::ClientConfig::new(
        "http://api.example.com/v1".parse().unwrap(),
        ApiKey::new(KEY),
    );
    let refused = imagen_sync::api::Client::new(config).unwrap_err();
    assert!(refused.to_string().contains("only https"), "{refused}");
}
