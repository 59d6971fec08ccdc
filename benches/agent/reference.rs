//! Figure 6: the agent against the reference flow a user would otherwise write.

use crate::common;
use crate::common::agent::Harness;
use imagen_sync::api::{Client, ClientConfig, EditOptions, FileToUpload, ProjectStatus};
use imagen_sync::redact::ApiKey;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::harness::*;

/// Figure 6, the reference flow a user would otherwise write, run as a child process so
/// its memory is its own: one project, whole-file reads, sequential uploads, 30 s polls.
/// The figure a peer process printed as `NAME=value`; its output when it printed none.
pub(crate) fn peer_said<T: std::str::FromStr>(output: &std::process::Output, name: &str) -> T {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let prefix = format!("{name}=");
    stdout
        .lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| {
            panic!(
                "the peer failed: {stdout}\n{}",
                String::from_utf8_lossy(&output.stderr)
            )
        })
}

/// The API client a peer process (the reference flows) talks to the simulator with.
pub(crate) fn peer_api(base: &str) -> Client {
    Client::new(ClientConfig::new(
        base.parse().unwrap(),
        ApiKey::new(common::KEY),
    ))
    .unwrap()
}

pub(crate) async fn reference_peer(base: &str, shoot: &Path, out: &Path) {
    let api = peer_api(base);
    let http = reqwest::Client::new();
    let uuid = api.create_project(Some("Reference flow")).await.unwrap();
    let mut names: Vec<PathBuf> = std::fs::read_dir(shoot)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    for path in &names {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let link = api
            .upload_links(
                &uuid,
                &[FileToUpload {
                    file_name: name,
                    md5: None,
                }],
            )
            .await
            .unwrap();
        let bytes = std::fs::read(path).unwrap();
        http.put(link[0].upload_link.expose().clone())
            .header("Content-Type", "")
            .body(bytes)
            .send()
            .await
            .unwrap();
    }
    api.edit(&uuid, &EditOptions::default()).await.unwrap();
    loop {
        if api.project(&uuid).await.unwrap().status == ProjectStatus::Completed {
            break;
        }
        tokio::time::sleep(Duration::from_secs(30)).await;
    }
    std::fs::create_dir_all(out).unwrap();
    for link in api.download_links(&uuid).await.unwrap() {
        let bytes = http
            .get(link.download_link.expose().clone())
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        std::fs::write(out.join(&link.file_name), bytes).unwrap();
    }
    println!(
        "PEER_PEAK_KB={}",
        proc_field_kb(std::process::id(), "VmHWM:")
    );
}

pub(crate) async fn versus_reference(
    sizes: &Sizes,
    shoot: &Path,
    work: &Path,
    rows: &mut Vec<Row>,
) {
    let processing = Duration::from_secs(5);
    let sim = sim_with(processing).await;
    let started = Instant::now();
    let peer = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--peer", sim.base_url().as_str()])
        .arg(shoot)
        .arg(work.join("peer-out"))
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let output = tokio::task::spawn_blocking(move || peer.wait_with_output().unwrap())
        .await
        .unwrap();
    let peer_time = started.elapsed();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let peer_kb: u64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("PEER_PEAK_KB="))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| {
            panic!(
                "the peer failed: {stdout}\n{}",
                String::from_utf8_lossy(&output.stderr)
            )
        });

    let sim = sim_with(processing).await;
    let mut agent = Harness::new(&sim, 1, "");
    agent.start();
    let copy = agent.dir.path().join("staging");
    copy_tree(shoot, &copy);
    let started = Instant::now();
    drop_in(&agent, &copy, "Versus");
    wait_until("the agent's shoot", Duration::from_secs(900), || {
        done_count(&agent) == 1
    })
    .await;
    let agent_time = started.elapsed();
    let agent_kb = proc_field_kb(agent.agent.as_ref().unwrap().id(), "VmHWM:");
    agent.kill();
    let label = format!(
        "{} × {} MB, 5 s processing",
        sizes.upload_files, sizes.upload_file_mb
    );
    rows.push(row(
        &format!("Wall time vs the reference flow ({label})"),
        "faster",
        format!(
            "agent {:.1} s, reference {:.1} s (agent includes 1 s settle)",
            agent_time.as_secs_f64(),
            peer_time.as_secs_f64()
        ),
        format!(
            "{:.2}× the reference's time",
            agent_time.as_secs_f64() / peer_time.as_secs_f64()
        ),
    ));
    rows.push(row(
        &format!("Peak RSS vs the reference flow ({label})"),
        "smaller",
        format!(
            "agent {:.1} MB, reference {:.1} MB",
            agent_kb as f64 / 1024.0,
            peer_kb as f64 / 1024.0
        ),
        format!(
            "{:.2}× the reference's memory",
            agent_kb as f64 / peer_kb as f64
        ),
    ));
}
