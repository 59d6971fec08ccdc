//! A hostile (or badly broken) server, played by the simulator's `hostile` modes, against
//! the real agent. Each misbehaviour must have a bounded, clear outcome: nothing written
//! outside the outbox, memory bounded, the shoot retried or failed with a reason, no
//! storm of requests, and the agent alive (and able to stop cleanly).

use std::time::Duration;

use crate::common::agent::{Harness, assert_outbox_holds_only_whole_photos, tree, wait_for};
use crate::common::{start_sim, write_jpeg};
use imagen_sync::sim::{Faults, Hostile, Sim};

const LONG: Duration = Duration::from_secs(60);

async fn agent_against(hostile: Hostile) -> (Sim, Harness) {
    agent_with_photos(hostile, &["Front.jpg", "Back.jpg"]).await
}

async fn agent_with_photos(hostile: Hostile, photos: &[&str]) -> (Sim, Harness) {
    let sim = start_sim(|_| {}).await;
    sim.set_faults(Faults {
        hostile: Some(hostile),
        ..Faults::default()
    });
    let mut agent = Harness::new(&sim, 1, "");
    let shoot = agent.inbox().join("Target Listing");
    for photo in photos {
        let path = shoot.join(photo);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        write_jpeg(&path, 200, 150);
    }
    agent.start();
    (sim, agent)
}

fn shoot_field(agent: &Harness, field: &str) -> String {
    agent.status()["shoots"][0][field]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn total_requests(sim: &Sim) -> u64 {
    sim.counters().requests.values().sum()
}

/// Peak resident memory of the agent so far, in MB.
fn peak_rss_mb(agent: &Harness) -> u64 {
    let pid = agent.agent.as_ref().unwrap().id();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: u64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap();
    kb / 1024
}

/// Every file under the test's folder that is not in the outbox, the inbox or the
/// agent's own data: nothing should ever be written there.
fn strays(agent: &Harness) -> Vec<String> {
    tree(agent.dir.path())
        .into_iter()
        .filter(|f| {
            !f.starts_with("outbox/") && !f.starts_with("inbox/") && !f.starts_with("data/")
        })
        .filter(|f| {
            !f.ends_with(".log") && !f.starts_with("config.toml") && *f != "dashboard-token"
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn misnamed_outputs_are_refused_and_reported_while_every_good_photo_is_delivered() {
    for outside in ["/tmp/imagen-escaped.jpg", "/tmp/imagen-absolute.jpg"] {
        let _ = std::fs::remove_file(outside);
    }
    let good = [
        "Front.jpg",
        "Back.jpg",
        "Kitchen.jpg",
        "Living.jpg",
        "Bath.jpg",
        "Upstairs/Bed 1.jpg",
        "Upstairs/Bed 2.jpg",
    ];
    let (sim, mut agent) = agent_with_photos(Hostile::EvilNames, &good).await;
    wait_for(&agent, "the shoot finished", LONG, || {
        shoot_field(&agent, "state") == "done"
    })
    .await;
    let shoot = &agent.status()["shoots"][0];
    let problems: Vec<String> = shoot["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_owned())
        .collect();
    // Six names that cannot be written, one named twice.
    assert_eq!(problems.len(), 8, "{problems:#?}");
    assert!(
        problems
            .iter()
            .any(|p| p.contains("climbs out of the shoot")),
        "{problems:#?}"
    );
    assert!(
        problems.iter().any(|p| p.contains("absolute path")),
        "{problems:#?}"
    );
    assert!(
        problems.iter().any(|p| p.contains("control character")),
        "{problems:#?}"
    );
    assert!(
        problems.iter().any(|p| p.contains("empty")),
        "{problems:#?}"
    );
    assert!(
        problems.iter().any(|p| p.contains("named twice")),
        "{problems:#?}"
    );
    let mut delivered = tree(&agent.outbox().join("Target Listing"));
    delivered.retain(|f| f.ends_with(".jpg"));
    delivered.sort();
    let mut expected: Vec<String> = good.iter().map(|g| g.to_string()).collect();
    expected.sort();
    assert_eq!(delivered, expected, "every good output lands, each once");
    let report =
        std::fs::read_to_string(agent.outbox().join("Target Listing/imagen-sync report.txt"))
            .expect("the report names what was not delivered");
    assert!(
        report.contains("climbs out of the shoot folder"),
        "{report}"
    );
    assert!(
        report.contains("would be billed as a new project"),
        "{report}"
    );
    assert!(agent.logs().contains("not delivered"));
    assert_eq!(
        agent.shoot_states(),
        [("Target Listing".into(), "done".into())]
    );
    let text = String::from_utf8(agent.command(&["status"]).output().unwrap().stdout).unwrap();
    assert!(text.contains("done with problems"), "{text}");

    // Retry is refused with why: the good photos are there, and it would bill twice.
    let retry = agent
        .command(&["retry", "Target Listing"])
        .output()
        .unwrap();
    assert!(!retry.status.success());
    let said = String::from_utf8_lossy(&retry.stderr);
    assert!(said.contains("bill it twice"), "{said}");
    assert_eq!(sim.counters().projects_created, 1, "nothing was sent again");
    assert!(agent.is_running());
    assert!(strays(&agent).is_empty(), "{:?}", strays(&agent));
    for outside in ["/tmp/imagen-escaped.jpg", "/tmp/imagen-absolute.jpg"] {
        assert!(
            !std::path::Path::new(outside).exists(),
            "{outside} was written"
        );
    }
    let placed = tree(&agent.outbox());
    assert!(
        placed.iter().all(|f| f.starts_with("Target Listing/")
            && !f.contains('\u{0}')
            && !f.contains('\u{7}')),
        "{placed:?}"
    );
    assert_outbox_holds_only_whole_photos(&agent.outbox());
    agent.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_to_other_hosts_or_schemes_are_refused_before_any_connection() {
    let (sim, mut agent) = agent_against(Hostile::ForeignLinks).await;
    wait_for(&agent, "the foreign links refused", LONG, || {
        shoot_field(&agent, "last_error").contains("refusing")
    })
    .await;
    let reason = shoot_field(&agent, "last_error");
    assert!(
        reason.contains("http://storage.example.invalid/out/a.jpg")
            && !reason.contains("Signature"),
        "named without its signature: {reason}"
    );
    assert!(!agent.logs().contains("X-Amz-Signature"));
    assert_eq!(
        sim.counters().downloads,
        0,
        "nothing was fetched from a bad list"
    );
    assert!(tree(&agent.outbox()).iter().all(|f| !f.ends_with(".jpg")));
    assert!(agent.is_running());
    agent.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_far_larger_than_any_sane_one_are_cut_off_with_memory_bounded() {
    let (sim, mut agent) = agent_against(Hostile::HugeJson).await;
    wait_for(&agent, "the oversized answers reported", LONG, || {
        agent.logs().contains("larger than")
    })
    .await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let peak = peak_rss_mb(&agent);
    assert!(peak < 120, "peak RSS {peak} MB while reading 40 MB answers");
    let requests = total_requests(&sim);
    assert!(requests < 40, "{requests} requests: the agent backs off");
    assert!(agent.is_running());
    assert!(tree(&agent.outbox()).iter().all(|f| !f.ends_with(".jpg")));
    agent.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downloads_cut_short_or_not_jpegs_never_appear_in_the_outbox() {
    for hostile in [Hostile::TruncatedDownloads, Hostile::NotJpeg] {
        let (sim, mut agent) = agent_against(hostile).await;
        wait_for(&agent, "the bad downloads reported", LONG, || {
            sim.counters().downloads >= 2 && !shoot_field(&agent, "last_error").is_empty()
        })
        .await;
        let before = sim.counters().downloads;
        tokio::time::sleep(Duration::from_secs(6)).await;
        let during_wait = sim.counters().downloads - before;
        assert!(
            during_wait < 30,
            "{hostile:?}: {during_wait} downloads in 6 s"
        );
        assert!(
            tree(&agent.outbox()).iter().all(|f| !f.ends_with(".jpg")),
            "{hostile:?}: {:?}",
            tree(&agent.outbox())
        );
        assert_ne!(shoot_field(&agent, "state"), "done");
        assert!(agent.is_running(), "{hostile:?}");
        agent.kill();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downloads_announcing_gigabytes_are_refused_before_reading() {
    let (sim, mut agent) = agent_against(Hostile::OversizedDownloads).await;
    wait_for(&agent, "the oversized downloads refused", LONG, || {
        shoot_field(&agent, "last_error").contains("larger than")
    })
    .await;
    assert!(peak_rss_mb(&agent) < 120);
    assert!(tree(&agent.outbox()).iter().all(|f| !f.ends_with(".jpg")));
    assert!(sim.counters().downloads < 30);
    assert!(agent.is_running());
    agent.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_to_other_schemes_and_hosts_are_never_followed() {
    let (sim, mut agent) = agent_against(Hostile::Redirects).await;
    wait_for(&agent, "the redirect reported", LONG, || {
        !shoot_field(&agent, "last_error").is_empty()
    })
    .await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let reason = shoot_field(&agent, "last_error");
    assert!(reason.contains("307"), "{reason}");
    assert!(total_requests(&sim) < 40, "the agent backs off");
    assert_eq!(sim.counters().projects_created, 0);
    assert!(agent.is_running());
    agent.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_answers_holds_nothing_up_and_the_agent_still_stops_promptly() {
    let (sim, mut agent) = agent_against(Hostile::Silent).await;
    wait_for(&agent, "a first request sent", LONG, || {
        total_requests(&sim) >= 1
    })
    .await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(total_requests(&sim) <= 4, "no pile-up of hanging requests");
    assert!(agent.is_running());
    assert_eq!(shoot_field(&agent, "state"), "planned");

    let (status, took) = agent.stop_with_sigterm();
    assert!(status.success(), "{status:?}");
    assert!(took < Duration::from_secs(10), "{took:?}");
}
