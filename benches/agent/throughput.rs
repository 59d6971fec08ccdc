//! Figure 1: upload throughput, beside a bare PUT loop, the client library alone and
//! raw disk reads.

use crate::common::agent::Harness;
use futures_util::{StreamExt, TryStreamExt, stream};
use imagen_sync::api::FileToUpload;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::harness::*;

/// Figure 1, upload throughput: the agent against a bare parallel PUT loop and raw disk reads.
pub(crate) async fn upload_throughput(sizes: &Sizes, work: &Path, rows: &mut Vec<Row>) -> PathBuf {
    let shoot = work.join("throughput-shoot");
    for n in 0..sizes.upload_files {
        write_random_file(
            &shoot.join(format!("IMG_{n:03}.jpg")),
            sizes.upload_file_mb * MB,
        );
    }
    let files: Vec<PathBuf> = (0..sizes.upload_files)
        .map(|n| shoot.join(format!("IMG_{n:03}.jpg")))
        .collect();
    let total = sizes.upload_files as u64 * sizes.upload_file_mb * MB;
    flush_disk();

    let started = Instant::now();
    for file in &files {
        std::hint::black_box(std::fs::read(file).unwrap());
    }
    let disk = mb_per_s(total, started.elapsed());

    // The ceiling: the same bytes, PUT 4 at a time from memory, no agent around them.
    let sim = counting_sim().await;
    let api = client(&sim);
    let uuid = api.create_project(Some("ceiling")).await.unwrap();
    let announce: Vec<FileToUpload> = files
        .iter()
        .map(|f| FileToUpload {
            file_name: f.file_name().unwrap().to_string_lossy().into(),
            md5: None,
        })
        .collect();
    let links = api.upload_links(&uuid, &announce).await.unwrap();
    let bare = reqwest::Client::new();
    let started = Instant::now();
    stream::iter(links.iter().zip(&files))
        .map(|(link, path)| {
            let bare = bare.clone();
            async move {
                let body = tokio::fs::read(path).await.unwrap();
                let response = bare
                    .put(link.upload_link.expose().clone())
                    .header("Content-Type", "")
                    .body(body)
                    .send()
                    .await?;
                assert!(response.status().is_success());
                Ok::<(), reqwest::Error>(())
            }
        })
        .buffer_unordered(4)
        .try_collect::<Vec<()>>()
        .await
        .unwrap();
    let ceiling = mb_per_s(total, started.elapsed());
    flush_disk();

    // The client library alone (in this process): where the agent's own overhead starts.
    let sim = counting_sim().await;
    let api = client(&sim);
    let uuid = api.create_project(Some("library")).await.unwrap();
    let started = Instant::now();
    stream::iter(&files)
        .map(|path| {
            let (api, uuid) = (&api, &uuid);
            async move {
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                api.upload_file(uuid, path, &name, false, None).await
            }
        })
        .buffer_unordered(4)
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    let library = mb_per_s(total, started.elapsed());
    flush_disk();

    // The agent: the real binary, from the shoot landing in its inbox.
    let sim = counting_sim().await;
    let mut agent = Harness::new(&sim, 1, "");
    if let Ok(parallel) = std::env::var("BENCH_PARALLEL_UPLOADS") {
        let config = std::fs::read_to_string(&agent.config).unwrap();
        let config = config.replace(
            "max_active_shoots = 2",
            &format!("max_active_shoots = 2\nmax_parallel_uploads = {parallel}"),
        );
        std::fs::write(&agent.config, config).unwrap();
    }
    agent.start();
    let copy = agent.dir.path().join("staging");
    copy_tree(&shoot, &copy);
    drop_in(&agent, &copy, "Throughput");
    wait_until("every upload", Duration::from_secs(600), || {
        sim.counters().total_uploads() == files.len() as u64
    })
    .await;
    let counters = sim.counters();
    let window = Duration::from_millis(
        counters.last_upload_ended_ms.unwrap() - counters.first_upload_began_ms.unwrap(),
    );
    let through_agent = mb_per_s(
        counters.bytes_uploaded,
        window.max(Duration::from_millis(1)),
    );
    let api_calls: u64 = counters
        .requests
        .iter()
        .filter(|(route, _)| route.contains(" /v1/"))
        .map(|(_, calls)| calls)
        .sum();
    let link_calls = counters.requests_to(LINK_CALLS);
    agent.kill();

    let label = format!("{} files × {} MB", sizes.upload_files, sizes.upload_file_mb);
    rows.push(row(
        &format!("Upload throughput, agent ({label})"),
        "≥ 90% of the bare PUT loop",
        format!(
            "{through_agent:.0} MB/s (bare loop {ceiling:.0} MB/s, client library alone {library:.0} MB/s, disk read {disk:.0} MB/s)"
        ),
        format!("{:.2} of the bare loop", through_agent / ceiling),
    ));
    rows.push(row(
        &format!("API calls to send a {}-photo shoot", sizes.upload_files),
        &format!(
            "≤ {} upload-link calls",
            sizes
                .upload_files
                .div_ceil(imagen_sync::api::transfer::LINKS_PER_CALL)
        ),
        format!("{api_calls} calls, {link_calls} of them for upload links"),
        format!("before: {} link calls, one per photo", sizes.upload_files),
    ));
    shoot
}

const LINK_CALLS: &str = "POST /v1/i2i/projects/{uuid}/get_temporary_upload_links";

/// Figure 1b: with an upload limit, the rate the agent keeps to over the whole shoot.
pub(crate) async fn limited_rate(sizes: &Sizes, shoot: &Path, work: &Path, rows: &mut Vec<Row>) {
    let limit_mb = sizes.upload_limit_mb;
    let sim = counting_sim().await;
    let mut agent = Harness::new(&sim, 1, "");
    agent.edit_config(
        "[dashboard]",
        &format!("[network]\nupload_limit = \"{limit_mb} MB/s\"\n\n[dashboard]"),
    );
    agent.start();
    let copy = work.join("limited-staging");
    copy_tree(shoot, &copy);
    drop_in(&agent, &copy, "Limited");
    let files = sizes.upload_files as u64;
    wait_until("every limited upload", Duration::from_secs(1800), || {
        sim.counters().total_uploads() == files
    })
    .await;
    let counters = sim.counters();
    let window = Duration::from_millis(
        counters.last_upload_ended_ms.unwrap() - counters.first_upload_began_ms.unwrap(),
    );
    agent.kill();
    let achieved = counters.bytes_uploaded as f64 / window.as_secs_f64().max(0.001) / 1e6;
    rows.push(row(
        &format!("Upload rate with upload_limit = \"{limit_mb} MB/s\""),
        "within ±10% of the limit, over ≥ 20 s",
        format!(
            "{achieved:.1} MB/s over {:.0} s ({} MB)",
            window.as_secs_f64(),
            counters.bytes_uploaded / 1_000_000
        ),
        format!("{:.2} of the limit", achieved / limit_mb as f64),
    ));
}
