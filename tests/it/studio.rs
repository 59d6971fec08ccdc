//! Studio mode with the real binary: three agents (separate data folders) share one
//! inbox, one outbox and one PostgreSQL journal. Agents are SIGKILLed mid-upload and
//! mid-download and the database is stopped mid-run; every shoot still completes once:
//! one project and one edit each, no photo uploaded more than once per lost claim, no
//! output written twice.

use std::path::Path;
use std::time::Duration;

use crate::common::agent::*;
use crate::common::postgres::Cluster;
use crate::common::*;
use imagen_sync::sim::{Faults, Sim};

const LONG: Duration = Duration::from_secs(240);
const PHOTOS: usize = 3;

fn write_shoots(inbox: &Path, count: usize) -> Vec<String> {
    (0..count)
        .map(|n| {
            let name = format!("{n:02} Harbor View");
            write_shoot(inbox, &name, PHOTOS, (320, 240));
            name
        })
        .collect()
}

fn all_done(agent: &Harness, shoots: usize) -> bool {
    let states = agent.shoot_states();
    states.len() == shoots && states.iter().all(|(_, state)| state == "done")
}

/// Every shoot's outbox folder holds its photos once: no ` (2)` twin, nothing partial.
fn assert_each_output_written_once(outbox: &Path, names: &[String]) {
    assert_outbox_holds_only_whole_photos(outbox);
    let files = tree(outbox);
    assert!(
        !files.iter().any(|f| f.contains(" (2)")),
        "an output was written twice: {files:?}"
    );
    for name in names {
        let photos = files
            .iter()
            .filter(|f| f.starts_with(&format!("{name}/")))
            .count();
        assert_eq!(photos, PHOTOS, "{name}: {files:?}");
    }
}

/// `agents` agents of a studio (5 s leases) started on `shoots` shoots, against a
/// simulator slow enough to kill agents mid-step; returns once uploads are under way.
async fn studio_under_way(
    agents: usize,
    shoots: usize,
) -> (Cluster, Sim, Vec<Harness>, Vec<String>) {
    let cluster = Cluster::start();
    let url = cluster.new_database("studio");
    let sim = start_sim(|c| c.timings.processing_for = Duration::from_secs(2)).await;
    sim.set_faults(Faults {
        max_latency_ms: 150,
        ..Faults::default()
    });
    let mut started = studio(&sim, &url, agents, 5);
    let names = write_shoots(&started[0].inbox(), shoots);
    for agent in &mut started {
        agent.start();
    }
    wait_for(&started[0], "uploads under way", LONG, || {
        sim.counters().total_uploads() >= 6
    })
    .await;
    (cluster, sim, started, names)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_agents_share_thirty_shoots_and_survive_two_of_them_being_killed() {
    let (_cluster, sim, mut agents, names) = studio_under_way(3, 30).await;
    agents[1].kill(); // mid-upload
    wait_for(&agents[0], "downloads under way", LONG, || {
        sim.counters().downloads >= 8
    })
    .await;
    agents[2].kill(); // mid-download
    tokio::time::sleep(Duration::from_secs(8)).await; // their claims run out
    agents[1].start();
    agents[2].start();

    wait_for(&agents[0], "every shoot is done", LONG, || {
        all_done(&agents[0], 30)
    })
    .await;
    let counters = sim.counters();
    assert_eq!(
        counters.projects_created, 30,
        "one project per shoot: {counters:?}"
    );
    assert_eq!(counters.edits_started, 30, "one edit per shoot");
    // A lost claim may send again the photos that were in flight: at most the shoots the
    // two killed agents held (2 each), every photo of them.
    let uploads = counters.total_uploads();
    assert!(
        (30 * PHOTOS as u64..=(30 + 4) * PHOTOS as u64).contains(&uploads),
        "uploads: {uploads}"
    );
    assert_each_output_written_once(&agents[0].outbox(), &names);
    let logs: String = agents.iter().map(|a| a.logs()).collect();
    assert!(
        logs.contains("claimed for agent-0"),
        "the survivors took shoots over"
    );
    for agent in &mut agents {
        agent.kill();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_stopped_for_thirty_seconds_mid_run_loses_and_doubles_nothing() {
    let (cluster, sim, mut agents, names) = studio_under_way(2, 10).await;
    cluster.stop_server();
    // A shoot dropped while the database is away is taken once it is back.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let late = "Dropped While Away".to_owned();
    write_shoot(&agents[0].inbox(), &late, PHOTOS, (320, 240));
    tokio::time::sleep(Duration::from_secs(25)).await;
    cluster.start_server();

    wait_for(&agents[0], "every shoot is done", LONG, || {
        all_done(&agents[0], 11)
    })
    .await;
    let counters = sim.counters();
    assert_eq!(counters.projects_created, 11, "{counters:?}");
    assert_eq!(counters.edits_started, 11);
    let names: Vec<String> = names.into_iter().chain([late]).collect();
    assert_each_output_written_once(&agents[0].outbox(), &names);
    let logs: String = agents.iter().map(|a| a.logs()).collect();
    assert!(
        logs.contains("cannot reach the studio's journal"),
        "said once in the log"
    );
    assert!(logs.contains("the studio's journal is back"));
    assert!(
        !logs.contains("postgres://postgres:"),
        "no password in the logs"
    );
    for agent in &mut agents {
        agent.kill();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_polled_inbox_picks_up_a_shoot_another_machine_wrote() {
    let sim = start_sim(|_| {}).await;
    let mut agent = Harness::new(&sim, 1, "");
    // No full rescan for a day, no change events: only the poll can find it.
    agent.edit_config(
        "settle_seconds = 1",
        "settle_seconds = 1\nrescan_seconds = 86400",
    );
    agent.edit_config(
        &format!("outbox = \"{}\"", agent.outbox().display()),
        &format!(
            "outbox = \"{}\"\nwatch = \"poll\"\npoll_seconds = 1",
            agent.outbox().display()
        ),
    );
    agent.start();
    wait_for(&agent, "the agent says how it watches", LONG, || {
        agent
            .logs()
            .contains("new shoots are found by polled every 1 s")
    })
    .await;
    write_shoot(&agent.inbox(), "Lakeside Cabin", PHOTOS, (320, 240));
    wait_for(&agent, "the shoot is done", LONG, || all_done(&agent, 1)).await;
    assert_eq!(sim.counters().projects_created, 1);
    agent.kill();
}
