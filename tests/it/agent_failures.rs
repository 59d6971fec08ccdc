//! When things go wrong the agent keeps running and says what happened: a Failed edit
//! (and `retry`), a rejected API key (without hammering the API), a folder with nothing
//! to upload, a folder deleted mid-upload, and pause/resume across a restart.

use std::time::Duration;

use crate::common::agent::*;
use crate::common::*;
use imagen_sync::sim::Faults;

const LONG: Duration = Duration::from_secs(60);

/// Written aside, then moved into the inbox whole.
fn drop_shoot(agent: &Harness, name: &str, photos: usize) {
    let staging = write_shoot(&agent.dir.path().join("staging"), name, photos, (64, 48));
    std::fs::rename(&staging, agent.inbox().join(name)).unwrap();
}

fn state_of(agent: &Harness, folder: &str) -> Option<serde_json::Value> {
    agent.status()["shoots"]
        .as_array()?
        .iter()
        .find(|s| s["folder"] == folder)
        .cloned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_edit_is_reported_and_retry_sends_it_again_as_a_new_project() {
    let sim = start_sim(|_| {}).await;
    sim.set_faults(Faults {
        fail_names_containing: vec!["Doomed".into()],
        ..Faults::default()
    });
    let mut agent = Harness::new(&sim, 1, "");
    drop_shoot(&agent, "Doomed Listing", 2);
    drop_shoot(&agent, "Fine Listing", 2);
    agent.start();
    wait_for(&agent, "one failed, one done", LONG, || {
        let mut states: Vec<String> = agent.shoot_states().into_iter().map(|(_, s)| s).collect();
        states.sort();
        states == ["done", "failed"]
    })
    .await;
    let failed = state_of(&agent, "Doomed Listing").unwrap();
    let reason = failed["last_error"].as_str().unwrap();
    assert!(reason.contains("Failed"), "{reason}");
    // The command is the CLI's to name; the stored reason is read on every surface.
    assert!(!reason.contains("imagen-sync retry"), "{reason}");
    let status = agent.run_cli(&["status"]);
    assert!(
        status.contains(
            "Retry sends its photos again as a new project. `imagen-sync retry \"Doomed Listing\"`"
        ),
        "{status}"
    );
    assert!(agent.is_running());
    assert!(
        tree(&agent.outbox().join("Doomed Listing")).is_empty(),
        "nothing downloaded"
    );

    sim.set_faults(Faults::default());
    let said = agent.run_cli(&["retry", "Doomed Listing"]);
    assert!(said.contains("1 failed shoot"), "{said}");
    wait_for(&agent, "the retried shoot done", LONG, || {
        state_of(&agent, "Doomed Listing").is_some_and(|s| s["state"] == "done")
    })
    .await;
    let counters = sim.counters();
    assert_eq!(
        counters.projects_created, 3,
        "a failed edit is resent as a new project"
    );
    assert_eq!(counters.edits_started, 3);
    assert_eq!(tree(&agent.outbox().join("Doomed Listing")).len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_api_key_is_said_plainly_and_the_api_is_not_hammered() {
    let sim = start_sim(|_| {}).await;
    let mut agent = Harness::new(&sim, 1, "");
    agent.key = "not-a-valid-key".into();
    drop_shoot(&agent, "Listing", 3);
    drop_shoot(&agent, "Other Listing", 3);
    agent.start();
    tokio::time::sleep(Duration::from_secs(31)).await;
    assert!(agent.is_running(), "the agent keeps running");
    let requests: u64 = sim.counters().requests.values().sum();
    assert!(
        requests <= 4,
        "no request storm: {requests} requests in 12 s"
    );
    let logs = agent.logs();
    assert!(logs.contains("the API key was rejected"), "{logs}");
    assert!(
        !logs.contains("not-a-valid-key"),
        "the key never reaches the log"
    );
    assert_eq!(sim.counters().projects_created, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_with_nothing_to_upload_is_reported_and_creates_no_project() {
    let sim = start_sim(|_| {}).await;
    let mut agent = Harness::new(&sim, 1, "");
    let folder = agent.dir.path().join("staging/Not Photos");
    std::fs::create_dir_all(&folder).unwrap();
    for name in ["notes.txt", ".DS_Store", "clip.mov", "empty.jpg"] {
        let bytes: &[u8] = if name == "empty.jpg" { b"" } else { b"data" };
        std::fs::write(folder.join(name), bytes).unwrap();
    }
    std::fs::rename(&folder, agent.inbox().join("Not Photos")).unwrap();
    agent.start();
    let report = agent.outbox().join("Not Photos/imagen-sync report.txt");
    wait_for(&agent, "the report", LONG, || report.exists()).await;
    let text = std::fs::read_to_string(&report).unwrap();
    assert!(text.contains("clip.mov: not a JPEG or RAW photo"), "{text}");
    assert!(text.contains("empty.jpg: empty file"), "{text}");
    wait_for(&agent, "the log says it was skipped", LONG, || {
        agent.logs().contains("no JPEG or RAW photos")
    })
    .await;
    assert_eq!(sim.counters().projects_created, 0);
    assert!(agent.is_running());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_deleted_mid_upload_is_waited_for_half_a_minute_then_failed_and_the_agent_carries_on()
 {
    let sim = start_sim(|_| {}).await;
    sim.set_faults(Faults {
        max_latency_ms: 400,
        ..Faults::default()
    });
    let mut agent = Harness::new(&sim, 1, "");
    drop_shoot(&agent, "Wrong Folder", 16);
    agent.start();
    wait_for(&agent, "uploads begin", LONG, || {
        sim.counters().total_uploads() >= 1
    })
    .await;
    std::fs::remove_dir_all(agent.inbox().join("Wrong Folder")).unwrap();
    wait_for(&agent, "the shoot abandoned", LONG, || {
        state_of(&agent, "Wrong Folder").is_some_and(|s| s["state"] == "failed")
    })
    .await;
    let reason = state_of(&agent, "Wrong Folder").unwrap()["last_error"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        reason.contains("gone") || reason.contains("vanished"),
        "{reason}"
    );

    sim.set_faults(Faults::default());
    drop_shoot(&agent, "Right Folder", 2);
    wait_for(&agent, "the next shoot done", LONG, || {
        state_of(&agent, "Right Folder").is_some_and(|s| s["state"] == "done")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_holds_new_shoots_across_a_restart_and_resume_carries_on() {
    let sim = start_sim(|_| {}).await;
    let mut agent = Harness::new(&sim, 1, "");
    agent.start();
    agent.run_cli(&["pause"]);
    drop_shoot(&agent, "While Paused", 2);
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        sim.counters().projects_created,
        0,
        "nothing starts while paused"
    );
    assert_eq!(agent.status()["paused"], true);

    agent.kill();
    agent.start();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        sim.counters().projects_created,
        0,
        "still paused after a restart"
    );

    agent.run_cli(&["resume"]);
    wait_for(&agent, "the shoot done after resume", LONG, || {
        state_of(&agent, "While Paused").is_some_and(|s| s["state"] == "done")
    })
    .await;
    assert_eq!(sim.counters().projects_created, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_photo_deleted_or_rewritten_after_settling_is_left_out_or_sent_in_its_new_version() {
    let sim = start_sim(|_| {}).await;
    sim.set_faults(Faults {
        max_latency_ms: 400,
        ..Faults::default()
    });
    let mut agent = Harness::new(&sim, 1, "");
    drop_shoot(&agent, "Edited Card", 12);
    agent.start();
    wait_for(&agent, "uploads begin", LONG, || {
        sim.counters().total_uploads() >= 1
    })
    .await;
    let shoot = agent.inbox().join("Edited Card");
    std::fs::remove_file(shoot.join("IMG_11.jpg")).unwrap();
    write_jpeg(&shoot.join("IMG_10.jpg"), 200, 100);
    sim.set_faults(Faults::default());
    wait_for(&agent, "the shoot done", LONG, || {
        state_of(&agent, "Edited Card").is_some_and(|s| s["state"] == "done")
    })
    .await;
    let outputs = tree(&agent.outbox().join("Edited Card"));
    assert_eq!(outputs.len(), 11, "{outputs:?}");
    assert!(!outputs.contains(&"IMG_11.jpg".to_owned()));
    let rewritten = image::open(agent.outbox().join("Edited Card/IMG_10.jpg")).unwrap();
    assert_eq!(
        (rewritten.width(), rewritten.height()),
        (200, 100),
        "the new version was sent"
    );
}
