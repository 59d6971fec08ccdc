//! Crash safety, proven with SIGKILL: the agent is killed right after creating the
//! project, during upload, while polling and during download, and restarted each time.
//! Every shoot still completes exactly once and no partial photo ever appears under a
//! final name. Answers lost mid-body (a create whose outcome is unknown) bill nothing twice.

use std::time::Duration;

use crate::common::agent::*;
use crate::common::*;
use imagen_sync::sim::Faults;

const LONG: Duration = Duration::from_secs(90);
const PHOTOS: usize = 12;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shoot_killed_at_every_stage_completes_exactly_once_with_no_partial_photo() {
    let sim = start_sim(|c| {
        c.timings.processing_for = Duration::from_secs(4);
    })
    .await;
    // Slow every request a little so each stage lasts long enough to be killed in.
    sim.set_faults(Faults {
        max_latency_ms: 250,
        ..Faults::default()
    });
    let mut agent = Harness::new(&sim, 1, "");
    let shoot = agent.inbox().join("Crash Test");
    std::fs::create_dir_all(shoot.join("Nested")).unwrap();
    for n in 0..PHOTOS {
        let dir = if n % 3 == 0 {
            shoot.join("Nested")
        } else {
            shoot.clone()
        };
        write_jpeg(&dir.join(format!("IMG_{n:02}.jpg")), 400, 300);
    }

    agent.start();
    wait_for(&agent, "the project is created", LONG, || {
        sim.counters().projects_created == 1
    })
    .await;
    agent.kill(); // between create and edit, before any upload finished

    agent.start();
    wait_for(&agent, "some uploads", LONG, || {
        sim.counters().total_uploads() >= 4
    })
    .await;
    agent.kill(); // during upload

    agent.start();
    wait_for(&agent, "the edit started", LONG, || {
        sim.counters().edits_started == 1
    })
    .await;
    agent.kill(); // while polling

    agent.start();
    wait_for(&agent, "some downloads", LONG, || {
        sim.counters().downloads >= 2
    })
    .await;
    agent.kill(); // during download
    assert_outbox_holds_only_whole_photos(&agent.outbox());

    agent.start();
    wait_for(&agent, "the shoot is done", LONG, || {
        agent.shoot_states() == [("Crash Test".to_owned(), "done".to_owned())]
    })
    .await;

    let counters = sim.counters();
    assert_eq!(counters.projects_created, 1, "billed once: {counters:?}");
    assert_eq!(counters.edits_started, 1);
    let uploads = counters.total_uploads();
    assert!(
        (PHOTOS as u64..=PHOTOS as u64 + 4).contains(&uploads),
        "uploaded files are not uploaded again (at most the 4 in flight at the kill): {uploads}"
    );
    let outputs = tree(&agent.outbox().join("Crash Test"));
    assert_eq!(
        outputs.len(),
        PHOTOS,
        "one output per photo, no duplicates: {outputs:?}"
    );
    assert!(
        outputs
            .iter()
            .all(|f| !f.contains(" (2)") && !f.starts_with('.')),
        "{outputs:?}"
    );
    assert_outbox_holds_only_whole_photos(&agent.outbox());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_lost_mid_body_never_create_a_second_project() {
    let sim = start_sim(|_| {}).await;
    // A third of all answers are cut off: creates whose outcome the agent cannot know.
    sim.set_faults(Faults {
        drop_rate: 0.33,
        ..Faults::default()
    });
    let mut agent = Harness::new(&sim, 1, "");
    for shoot in ["A", "B", "C"] {
        let dir = agent.inbox().join(shoot);
        std::fs::create_dir_all(&dir).unwrap();
        for n in 0..3 {
            write_jpeg(&dir.join(format!("{shoot}{n}.jpg")), 64, 48);
        }
    }
    agent.start();
    wait_for(&agent, "three shoots done", LONG, || {
        let states = agent.shoot_states();
        states.len() == 3 && states.iter().all(|(_, s)| s == "done")
    })
    .await;
    let counters = sim.counters();
    assert!(
        counters
            .faults_injected
            .get("dropped mid-body")
            .copied()
            .unwrap_or(0)
            > 0
    );
    assert_eq!(counters.projects_created, 3, "{counters:?}");
    assert_eq!(counters.edits_started, 3);
    assert_eq!(counters.protocol_violations.get("duplicate create"), None);
    assert_eq!(tree(&agent.outbox()).len(), 9);
    assert_outbox_holds_only_whole_photos(&agent.outbox());
}

/// Quit in the tray and SIGTERM from a service manager take the same path: in-flight
/// requests are dropped, temp files removed, and the next start carries on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_stop_mid_download_exits_promptly_and_leaves_nothing_half_written() {
    let sim = start_sim(|_| {}).await;
    sim.set_faults(Faults {
        max_latency_ms: 400,
        ..Faults::default()
    });
    let mut agent = Harness::new(&sim, 1, "");
    let shoot = agent.inbox().join("Stopped Politely");
    std::fs::create_dir_all(&shoot).unwrap();
    for n in 0..PHOTOS {
        write_jpeg(&shoot.join(format!("IMG_{n:02}.jpg")), 400, 300);
    }
    agent.start();
    wait_for(&agent, "some downloads", LONG, || {
        sim.counters().downloads >= 2
    })
    .await;
    let (status, took) = agent.stop_with_sigterm();
    assert!(status.success(), "a clean stop exits 0: {status:?}");
    assert!(took < Duration::from_secs(10), "stopped in {took:?}");
    assert_outbox_holds_only_whole_photos(&agent.outbox());
    let leftovers: Vec<String> = tree(&agent.outbox())
        .into_iter()
        .filter(|f| f.contains(".imagen-"))
        .collect();
    assert!(leftovers.is_empty(), "temp files left: {leftovers:?}");

    agent.start();
    wait_for(&agent, "the shoot is done after the restart", LONG, || {
        agent.shoot_states() == [("Stopped Politely".to_owned(), "done".to_owned())]
    })
    .await;
    assert_eq!(sim.counters().projects_created, 1);
    assert_eq!(tree(&agent.outbox().join("Stopped Politely")).len(), PHOTOS);
}

/// A laptop closed mid-shoot: the agent is frozen (SIGSTOP) for longer than the links
/// live, then thawed. Expired links are asked for again, the shoot completes once, and
/// waking up does not set off a storm of requests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_machine_asleep_mid_shoot_wakes_to_fresh_links_without_a_request_storm() {
    let sim = start_sim(|c| c.link_lifetime = Duration::from_secs(2)).await;
    sim.set_faults(Faults {
        max_latency_ms: 300,
        ..Faults::default()
    });
    let mut agent = Harness::new(&sim, 1, "");
    let shoot = agent.inbox().join("Sleepy Listing");
    std::fs::create_dir_all(&shoot).unwrap();
    for n in 0..PHOTOS {
        write_jpeg(&shoot.join(format!("IMG_{n:02}.jpg")), 400, 300);
    }
    agent.start();
    wait_for(&agent, "some uploads", LONG, || {
        sim.counters().total_uploads() >= 3
    })
    .await;
    let pid = agent.agent.as_ref().unwrap().id().to_string();
    let signal = |name: &str| {
        assert!(
            std::process::Command::new("kill")
                .args([name, &pid])
                .status()
                .unwrap()
                .success()
        );
    };
    signal("-STOP");
    tokio::time::sleep(Duration::from_secs(6)).await;
    let before_waking: u64 = sim.counters().requests.values().sum();
    signal("-CONT");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let just_after_waking: u64 = sim.counters().requests.values().sum::<u64>() - before_waking;
    wait_for(&agent, "the shoot is done after waking", LONG, || {
        agent.shoot_states() == [("Sleepy Listing".to_owned(), "done".to_owned())]
    })
    .await;
    let counters = sim.counters();
    assert_eq!(counters.projects_created, 1);
    assert_eq!(counters.edits_started, 1);
    assert!(
        counters.protocol_violations.is_empty(),
        "the contract held through the sleep: {:?}",
        counters.protocol_violations
    );
    // Waking up: at most a refresh per photo plus the uploads themselves.
    assert!(
        just_after_waking <= 3 * PHOTOS as u64 + 10,
        "{just_after_waking} requests in the 2 s after waking"
    );
    assert_eq!(tree(&agent.outbox().join("Sleepy Listing")).len(), PHOTOS);
}
