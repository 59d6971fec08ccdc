//! A good citizen of the account's API: one rate-limit gate for every call of the key,
//! and upload links asked for together. The real agent against the simulator's
//! per-key limit and its request counters.

use crate::common;

use std::time::Duration;

use crate::common::agent::{Harness, counters, wait_for};
use crate::common::{start_sim, write_shoot};
use imagen_sync::sim::Faults;

const LONG: Duration = Duration::from_secs(90);
const LINK_CALLS: &str = "POST /v1/i2i/projects/{uuid}/get_temporary_upload_links";

fn all_done(agent: &Harness, shoots: usize) -> bool {
    let states = agent.shoot_states();
    states.len() == shoots && states.iter().all(|(_, state)| state == "done")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limit_holds_every_call_of_the_key_until_retry_after_has_passed() {
    let sim = start_sim(|_| {}).await;
    sim.set_faults(Faults {
        key_limit_after: 5,
        retry_after_secs: 1,
        ..Faults::default()
    });
    let mut agent = Harness::new(&sim, 1, "");
    agent.edit_config("max_active_shoots = 2", "max_active_shoots = 6");
    let shoots = [
        "1 Bay Rd", "2 Bay Rd", "3 Bay Rd", "4 Bay Rd", "5 Bay Rd", "6 Bay Rd",
    ];
    for name in shoots {
        write_shoot(&agent.inbox(), name, 3, (64, 48));
    }
    agent.start();
    wait_for(&agent, "six shoots done", LONG, || {
        all_done(&agent, shoots.len())
    })
    .await;
    let counters = counters(&sim);
    let limits = counters
        .faults_injected
        .get("key limited")
        .copied()
        .unwrap_or(0);
    assert!(limits >= 2, "the limit was met several times: {counters:?}");
    assert_eq!(
        counters.calls_while_limited, 0,
        "no call of the key went out while it was limited: {counters:?}"
    );
    assert_eq!(counters.projects_created, 6, "{counters:?}");
    agent.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_links_are_asked_for_a_hundred_at_a_time_and_only_expired_ones_again() {
    let sim = start_sim(|_| {}).await;
    let mut agent = Harness::new(&sim, 1, "");
    write_shoot(&agent.inbox(), "40 Photos", 40, (32, 24));
    agent.start();
    wait_for(&agent, "the shoot done", LONG, || all_done(&agent, 1)).await;
    assert_eq!(
        counters(&sim).requests_to(LINK_CALLS),
        1,
        "one call for 40 photos"
    );
    agent.kill();

    // 120 photos, the first 3 links handed out already expired: ⌈120/100⌉ + 3 calls.
    let sim = start_sim(|_| {}).await;
    sim.set_faults(Faults {
        stale_links: 3,
        ..Faults::default()
    });
    let mut agent = Harness::new(&sim, 1, "");
    write_shoot(&agent.inbox(), "120 Photos", 120, (32, 24));
    agent.start();
    wait_for(&agent, "the big shoot done", LONG, || all_done(&agent, 1)).await;
    let counters = counters(&sim);
    assert!(
        counters.requests_to(LINK_CALLS) <= 2 + 3,
        "{} link calls for 120 photos with 3 stale links",
        counters.requests_to(LINK_CALLS)
    );
    assert_eq!(counters.total_uploads(), 120);
    agent.kill();
}

/// A shoot of `count` stand-in RAW photos of `size` bytes each.
fn write_raw_shoot(inbox: &std::path::Path, name: &str, count: usize, size: usize) {
    let folder = inbox.join(name);
    std::fs::create_dir_all(&folder).unwrap();
    for n in 0..count {
        let path = folder.join(format!("DSC_{n}.NEF"));
        std::fs::write(
            &path,
            (0..size).map(|i| (i * 31 % 251) as u8).collect::<Vec<_>>(),
        )
        .unwrap();
        common::make_whole(&path);
    }
}

/// From the first upload byte to the last, as the simulator saw them.
fn upload_window(sim: &imagen_sync::sim::Sim) -> Duration {
    let counters = counters(sim);
    let (Some(first), Some(last)) = (
        counters.first_upload_began_ms,
        counters.last_upload_ended_ms,
    ) else {
        panic!("no upload: {counters:?}");
    };
    Duration::from_millis(last - first)
}

fn with_network(agent: &Harness, lines: &str) {
    agent.edit_config("[dashboard]", &format!("[network]\n{lines}\n\n[dashboard]"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_limit_holds_a_shoot_to_its_rate() {
    let sim = start_sim(|_| {}).await;
    let mut agent = Harness::new(&sim, 1, "");
    with_network(&agent, "upload_limit = \"1 MB/s\"");
    write_raw_shoot(&agent.inbox(), "Eight MB", 4, 2_000_000);
    agent.start();
    wait_for(&agent, "the shoot done", LONG, || all_done(&agent, 1)).await;
    let took = upload_window(&sim);
    assert!(
        took >= Duration::from_secs(6),
        "8 MB went up in {took:?} under a 1 MB/s limit"
    );
    let status = agent.run_cli(&["status"]);
    assert!(
        status.contains("Bandwidth: upload 1 MB/s, download off."),
        "{status}"
    );
    agent.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_limit_lifted_in_the_settings_speeds_up_the_upload_under_way_without_a_restart() {
    let sim = start_sim(|_| {}).await;
    let mut agent = Harness::new(&sim, 1, "");
    with_network(&agent, "upload_limit = \"200 KB/s\"");
    write_raw_shoot(&agent.inbox(), "Slow Line", 4, 2_000_000);
    agent.start();
    wait_for(&agent, "the upload under way", LONG, || {
        counters(&sim).bytes_uploaded > 0 || counters(&sim).first_upload_began_ms.is_some()
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    agent.edit_config("upload_limit = \"200 KB/s\"", "upload_limit = \"off\"");
    wait_for(&agent, "the shoot done", LONG, || all_done(&agent, 1)).await;
    // 8 MB at 200 KB/s would take 40 s; lifted after about 2, it is done far sooner.
    let took = upload_window(&sim);
    assert!(
        took < Duration::from_secs(25),
        "the new limit did not apply: {took:?}"
    );
    let logs = agent.logs();
    assert!(logs.contains("applied without a restart"), "{logs}");
    assert!(
        !logs.contains("restarting the agent"),
        "transfers were not restarted"
    );
    assert_eq!(counters(&sim).total_uploads(), 4, "each photo went up once");
    agent.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_size_outputs_arrive_whole_at_their_inputs_pixel_size() {
    // HDR merges would be capped at 2048 px; in full-size mode they keep the input's size.
    let sim = start_sim(|config| config.full_size_outputs = true).await;
    let mut agent = Harness::new(&sim, 1, "hdr_merge = true");
    write_shoot(&agent.inbox(), "Big Brackets", 3, (2400, 1600));
    agent.start();
    wait_for(&agent, "the shoot done", LONG, || all_done(&agent, 1)).await;
    let outputs: Vec<_> = std::fs::read_dir(agent.outbox().join("Big Brackets"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "jpg"))
        .collect();
    assert_eq!(
        outputs.len(),
        1,
        "three brackets merge into one: {outputs:?}"
    );
    let merged = image::image_dimensions(&outputs[0]).unwrap();
    assert_eq!(merged, (2400, 1600));
    agent.kill();
}
