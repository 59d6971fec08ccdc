//! Figure 10: a real uplink. The agent in a network namespace of its own, behind an
//! emulated link of 50 Mbit/s with an 80 ms round trip and 0.1 % loss ([`Link`]), sends
//! the 40 × 25 MB shoot to the simulator on the other side; its rate over the link's,
//! beside the reference flow's (one PUT after another, from the same namespace).
//! Needs root: it says so and is skipped elsewhere.

use crate::common::agent::Harness;
use crate::link::{Link, Shape};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::common;
use crate::harness::*;
use imagen_sync::api::FileToUpload;

const SHAPE: Shape = Shape {
    rate: 50_000_000,
    delay: Duration::from_millis(40),
    loss: 0.001,
};

/// A simulator on this side of the link that counts uploaded bytes and drops them.
async fn far_sim(link: &Link) -> imagen_sync::sim::Sim {
    let mut config = imagen_sync::sim::SimConfig::new(common::KEY);
    config.timings.pending_for = Duration::ZERO;
    config.timings.processing_for = Duration::from_secs(1);
    config.keep_upload_bytes = false;
    let address = format!("{}:0", link.near).parse().unwrap();
    imagen_sync::sim::Sim::start_at(config, address)
        .await
        .expect("the simulator listens on the link")
}

pub(crate) async fn uplink(sizes: &Sizes, shoot: &Path, rows: &mut Vec<Row>) {
    let link = match Link::make(SHAPE) {
        Ok(link) => link,
        Err(why) => {
            println!("uplink figure skipped: {why}");
            return;
        }
    };
    let bytes = sizes.upload_files as u64 * sizes.upload_file_mb * MB;
    let link_mb_s = SHAPE.rate as f64 / 8.0 / MB as f64;

    let sim = far_sim(&link).await;
    let peer = std::process::Command::new(link.wrapper()[0])
        .args(&link.wrapper()[1..])
        .arg(std::env::current_exe().unwrap())
        .args(["--uplink-peer", sim.base_url().as_str()])
        .arg(shoot)
        .output()
        .unwrap();
    let reference: f64 = crate::reference::peer_said(&peer, "UPLOAD_SECONDS");
    let reference_rate = mb_per_s(bytes, Duration::from_secs_f64(reference));

    let sim = far_sim(&link).await;
    let mut agent = Harness::new(&sim, 1, "");
    agent.start_via(&link.wrapper());
    let copy = agent.dir.path().join("staging");
    copy_tree(shoot, &copy);
    drop_in(&agent, &copy, "Uplink");
    wait_until("the project", Duration::from_secs(120), || {
        sim.counters().projects_created == 1
    })
    .await;
    let started = Instant::now();
    wait_until("every upload", Duration::from_secs(1800), || {
        sim.counters().total_uploads() == sizes.upload_files as u64
    })
    .await;
    let agent_rate = mb_per_s(bytes, started.elapsed());
    agent.kill();
    rows.push(row(
        &format!(
            "Uplink of 50 Mbit/s, 80 ms round trip, 0.1% loss: {} × {} MB (TCP {})",
            sizes.upload_files,
            sizes.upload_file_mb,
            crate::link::congestion_control()
        ),
        "≥ 0.9 of the link",
        format!(
            "agent {agent_rate:.2} MB/s, reference flow {reference_rate:.2} MB/s, link {link_mb_s:.2} MB/s"
        ),
        format!(
            "{:.2} of the link (reference {:.2})",
            agent_rate / link_mb_s,
            reference_rate / link_mb_s
        ),
    ));
}

/// The reference flow's uploads, run inside the namespace: one project, then each photo
/// read whole and PUT after the one before; prints how long the PUTs took.
pub(crate) async fn uplink_peer(base: &str, shoot: &Path) {
    let api = crate::reference::peer_api(base);
    let http = reqwest::Client::new();
    let uuid = api.create_project(Some("Reference uplink")).await.unwrap();
    let mut photos: Vec<PathBuf> = std::fs::read_dir(shoot)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    photos.sort();
    let started = Instant::now();
    for path in &photos {
        let file_name = path.file_name().unwrap().to_string_lossy().into_owned();
        let links = api
            .upload_links(
                &uuid,
                &[FileToUpload {
                    file_name,
                    md5: None,
                }],
            )
            .await
            .unwrap();
        let response = http
            .put(links[0].upload_link.expose().clone())
            .header("Content-Type", "")
            .body(std::fs::read(path).unwrap())
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{}", response.status());
    }
    println!("UPLOAD_SECONDS={}", started.elapsed().as_secs_f64());
}
