//! An upgrade keeps working: a journal written by the previous release (schema 1,
//! `tests/fixtures/journal-v1`, made by that release's own journal code) is opened by
//! the real binary, migrated, and its shoots resume; failures recorded as text get
//! their kind, so `retry` still sends a failed edit again as a new project.

use std::time::Duration;

use crate::common::agent::*;
use crate::common::*;

const LONG: Duration = Duration::from_secs(90);

fn shoot<'a>(status: &'a serde_json::Value, folder: &str) -> &'a serde_json::Value {
    status["shoots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["folder"] == folder)
        .unwrap_or_else(|| panic!("no shoot {folder} in {status:#}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_journal_from_the_previous_release_is_migrated_and_its_shoots_resume() {
    let sim = start_sim(|_| {}).await;
    let mut agent = Harness::new(&sim, 1, "");
    let root = agent.dir.path().to_owned();
    let data = root.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let journal = data.join("journal.sqlite3");
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/journal-v1/journal.sqlite3"
        ),
        &journal,
    )
    .unwrap();
    // The fixture's paths start with @ROOT@: this test's folder takes its place.
    let db = rusqlite::Connection::open(&journal).unwrap();
    let root_text = root.display().to_string();
    for sql in [
        "UPDATE shoots SET inbox = replace(inbox, '@ROOT@', ?1), outbox = replace(outbox, '@ROOT@', ?1)",
        "UPDATE outputs SET path = replace(path, '@ROOT@', ?1)",
        "UPDATE not_sent SET inbox = replace(inbox, '@ROOT@', ?1)",
    ] {
        db.execute(sql, [&root_text]).unwrap();
    }
    drop(db);
    for (folder, photos) in [
        ("Waiting Planned", &["d1.jpg", "d2.jpg", "d3.jpg"][..]),
        ("Edit Failed", &["b1.jpg", "b2.jpg"]),
        ("Held Shoot", &["e.jpg"]),
    ] {
        let dir = agent.inbox().join(folder);
        std::fs::create_dir_all(&dir).unwrap();
        for photo in photos {
            write_jpeg(&dir.join(photo), 64, 48);
        }
    }

    agent.start();
    let settled = |agent: &Harness, folder: &str| {
        agent
            .shoot_states()
            .iter()
            .any(|(f, s)| f == folder && s == "done")
    };
    wait_for(&agent, "the planned and the held shoot done", LONG, || {
        settled(&agent, "Waiting Planned") && settled(&agent, "Held Shoot")
    })
    .await;
    let status = agent.status();
    assert_eq!(shoot(&status, "Done Shoot")["state"], "done");
    assert_eq!(shoot(&status, "Edit Failed")["failure"], "edit_failed");
    assert_eq!(shoot(&status, "Gone Folder")["failure"], "folder_gone");
    assert_eq!(
        shoot(&status, "Done Shoot")["failure"],
        serde_json::Value::Null
    );
    // The fixture's shoots ask for an HDR merge: the three brackets make one photo.
    assert_eq!(
        tree(&agent.outbox().join("Waiting Planned")),
        ["d1.jpg"],
        "{}",
        agent.logs()
    );
    assert_outbox_holds_only_whole_photos(&agent.outbox());

    let old_name = shoot(&status, "Edit Failed")["project_name"].clone();
    agent.run_cli(&["retry", "Edit Failed"]);
    wait_for(&agent, "the failed edit retried", LONG, || {
        settled(&agent, "Edit Failed")
    })
    .await;
    let status = agent.status();
    assert_ne!(shoot(&status, "Edit Failed")["project_name"], old_name);
    assert_eq!(
        sim.counters().projects_created,
        3,
        "one project each for the planned, the held and the retried shoot; none for the done one"
    );
}
