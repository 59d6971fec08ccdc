//! Years of shoots left in the inbox: a finished shoot costs nothing while it is left
//! alone, across restarts too, and one changed while the agent was stopped is still
//! taken.

use std::time::Duration;

use crate::common::agent::*;
use crate::common::*;

const LONG: Duration = Duration::from_secs(60);

fn put_photo(agent: &Harness, relative: &str) {
    let path = agent.inbox().join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    write_jpeg(&path, 96, 64);
}

fn all_done(agent: &Harness, shoots: usize) -> bool {
    let states = agent.shoot_states();
    states.len() == shoots && states.iter().all(|(_, state)| state == "done")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_reads_only_the_shoots_changed_while_it_was_stopped() {
    let sim = start_sim(|_| {}).await;
    let mut agent = Harness::new(&sim, 1, "");
    for shoot in ["12 Harbour View", "3 Elm Court", "9 Bay Road"] {
        put_photo(&agent, &format!("{shoot}/Front.jpg"));
    }
    agent.start();
    wait_for(&agent, "three shoots done", LONG, || all_done(&agent, 3)).await;
    agent.stop_with_sigterm();

    // While it is stopped: one more photo in a finished shoot, and a new shoot.
    put_photo(&agent, "3 Elm Court/Garden/Pond.jpg");
    put_photo(&agent, "40 Hill Street/Front.jpg");
    agent.start();
    wait_for(&agent, "the follow-up and the new shoot done", LONG, || {
        all_done(&agent, 5)
    })
    .await;

    let read_again: Vec<String> = (agent.logs_since_start().lines())
        .filter(|line| line.contains("rescan found a new or changed folder"))
        .map(|line| line.to_owned())
        .collect();
    let named = |folder: &str| read_again.iter().any(|line| line.contains(folder));
    assert!(
        named("3 Elm Court") && named("40 Hill Street"),
        "{read_again:#?}"
    );
    assert!(
        !named("12 Harbour View") && !named("9 Bay Road"),
        "finished shoots left alone are not read again: {read_again:#?}"
    );
    let counters = counters(&sim);
    assert_eq!(counters.projects_created, 5, "{counters:?}");
    assert_eq!(counters.total_uploads(), 5, "each photo once: {counters:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_lists_the_newest_finished_shoots_and_all_of_them_when_asked() {
    let sim = start_sim(|_| {}).await;
    let agent = Harness::new(&sim, 1, "");
    agent.fill_with_finished_shoots(14, 1);

    let status = agent.run_cli(&["status"]);
    assert!(
        status.contains("Shoot 0013") && status.contains("Shoot 0004"),
        "{status}"
    );
    assert!(!status.contains("Shoot 0003"), "{status}");
    assert!(
        status.contains(
            "… and 4 earlier shoots finished before (`imagen-sync status --all` lists every shoot)"
        ),
        "{status}"
    );
    let all = agent.run_cli(&["status", "--all"]);
    assert!(
        all.contains("Shoot 0000") && !all.contains("earlier shoots"),
        "{all}"
    );

    let listed = |document: &serde_json::Value| {
        (document["shoots"].as_array().unwrap().iter())
            .map(|shoot| shoot["folder"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    let page = agent.status();
    assert_eq!(listed(&page).len(), 10, "{page:#}");
    assert_eq!(page["finished_not_listed"], 4);
    assert_eq!(
        page["agent"]["running"], false,
        "the rest of the document follows"
    );
    let output = agent
        .command(&["status", "--json", "--all"])
        .output()
        .unwrap();
    let everything: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(listed(&everything).len(), 14);
    assert_eq!(everything["finished_not_listed"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn photos_added_deep_in_old_or_new_shoot_folders_are_heard_at_once_without_a_rescan() {
    let sim = start_sim(|_| {}).await;
    let mut agent = Harness::new(&sim, 1, "");
    // No rescan for a day: only the folders' own change events can find these.
    agent.edit_config(
        "settle_seconds = 1",
        "settle_seconds = 1\nrescan_seconds = 86400",
    );
    put_photo(&agent, "3 Elm Court/Upstairs/Bedroom/Window.jpg");
    agent.start();
    wait_for(&agent, "the first shoot done", LONG, || all_done(&agent, 1)).await;

    // A photo dropped two folders down in a shoot that was there before the start.
    put_photo(&agent, "3 Elm Court/Upstairs/Bedroom/Closet.jpg");
    wait_for(&agent, "its follow-up done", LONG, || all_done(&agent, 2)).await;

    // A shoot copied elsewhere and moved in whole, then a photo added deep inside it.
    let staging = agent.dir.path().join("staging");
    let card = staging.join("9 Bay Road");
    std::fs::create_dir_all(card.join("Garden/Shed")).unwrap();
    write_jpeg(&card.join("Garden/Shed/Door.jpg"), 96, 64);
    std::fs::rename(&card, agent.inbox().join("9 Bay Road")).unwrap();
    wait_for(&agent, "the moved-in shoot done", LONG, || {
        all_done(&agent, 3)
    })
    .await;
    put_photo(&agent, "9 Bay Road/Garden/Shed/Roof.jpg");
    wait_for(&agent, "its follow-up done", LONG, || all_done(&agent, 4)).await;

    // A shoot whose folders are made one by one as the card is copied.
    put_photo(&agent, "40 Hill Street/Ground Floor/Hall/Stairs.jpg");
    wait_for(&agent, "the new shoot done", LONG, || all_done(&agent, 5)).await;

    let counters = counters(&sim);
    assert_eq!(counters.projects_created, 5, "{counters:?}");
    assert_eq!(counters.total_uploads(), 5, "each photo once: {counters:?}");
    assert!(
        !agent.logs().contains("cannot watch"),
        "every folder is watched: {}",
        agent.logs()
    );
}
