//! Figure 6: a studio. The same shoots through one agent on the embedded journal, one
//! agent on PostgreSQL and three agents sharing PostgreSQL, side by side; and how long
//! a surviving agent takes to go on with a killed agent's shoot.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::agent::{Harness, studio};
use crate::common::postgres::Cluster;
use crate::common::write_shoot;
use crate::harness::*;

/// Drops `shoots` shoots into `inbox` at once (prepared beside it, then renamed in).
fn drop_shoots(inbox: &Path, sizes: &Sizes) {
    let staging = inbox.with_file_name("staging");
    for n in 0..sizes.studio_shoots {
        let name = format!("{n:02} Lot");
        write_shoot(&staging, &name, sizes.studio_photos, (640, 480));
        std::fs::rename(staging.join(&name), inbox.join(&name)).unwrap();
    }
}

/// Starts `agents` on shoots already in their inbox; the wall time until all are done.
async fn wall_time(mut agents: Vec<Harness>, sizes: &Sizes) -> Duration {
    drop_shoots(&agents[0].inbox(), sizes);
    let started = Instant::now();
    for agent in &mut agents {
        agent.start();
    }
    wait_until("every studio shoot", Duration::from_secs(1800), || {
        done_count(&agents[0]) == sizes.studio_shoots
    })
    .await;
    let took = started.elapsed();
    for agent in &mut agents {
        agent.kill();
    }
    took
}

pub(crate) async fn studio_scaling(sizes: &Sizes, rows: &mut Vec<Row>) {
    let processing = Duration::from_secs(sizes.studio_processing_seconds);
    // fsync on: the embedded journal waits for the disk at every step too.
    let cluster = Cluster::start_with(true);
    let sim = sim_with(processing).await;
    let embedded = wall_time(vec![Harness::new(&sim, 1, "")], sizes).await;
    let sim = sim_with(processing).await;
    let shared_one = wall_time(studio(&sim, &cluster.new_database("one"), 1, 30), sizes).await;
    let sim = sim_with(processing).await;
    let shared_three = wall_time(studio(&sim, &cluster.new_database("three"), 3, 30), sizes).await;
    let work = format!(
        "{} shoots × {} photos, {} s processing, 2 shoots at once per agent",
        sizes.studio_shoots, sizes.studio_photos, sizes.studio_processing_seconds
    );
    let seconds = |d: Duration| format!("{:.1} s", d.as_secs_f64());
    rows.push(row(
        &format!("Studio: 3 agents vs 1 on one PostgreSQL journal ({work})"),
        "≤ 0.45",
        format!("{} vs {}", seconds(shared_three), seconds(shared_one)),
        format!(
            "{:.2}",
            shared_three.as_secs_f64() / shared_one.as_secs_f64()
        ),
    ));
    rows.push(row(
        &format!("Studio: 1 agent on PostgreSQL vs the embedded journal ({work})"),
        "≤ 1.10",
        format!("{} vs {}", seconds(shared_one), seconds(embedded)),
        format!("{:.2}", shared_one.as_secs_f64() / embedded.as_secs_f64()),
    ));
    takeover(sizes, &cluster, rows).await;
}

/// Kills the agent holding a shoot mid-upload; times until another agent holds it.
async fn takeover(sizes: &Sizes, cluster: &Cluster, rows: &mut Vec<Row>) {
    let lease = sizes.studio_lease_seconds;
    let sim = sim_with(Duration::from_secs(1)).await;
    sim.set_faults(imagen_sync::sim::Faults {
        max_latency_ms: 400,
        ..Default::default()
    });
    let mut agents = studio(&sim, &cluster.new_database("takeover"), 2, lease);
    agents[0].start();
    write_shoot(&agents[0].inbox(), "Takeover", 12, (640, 480));
    wait_until("the first upload", Duration::from_secs(120), || {
        sim.counters().total_uploads() >= 1
    })
    .await;
    agents[1].start();
    agents[0].kill();
    let killed = Instant::now();
    let holder = |agents: &[Harness]| {
        agents[1]
            .summaries()
            .first()
            .and_then(|row| row.shoot.holder.clone())
    };
    wait_until(
        "another agent takes it over",
        Duration::from_secs(300),
        || holder(&agents).as_deref() == Some("agent-1"),
    )
    .await;
    let took = killed.elapsed();
    wait_until("the shoot is done", Duration::from_secs(300), || {
        done_count(&agents[1]) == 1
    })
    .await;
    let projects = sim.counters().projects_created;
    agents[1].kill();
    rows.push(row(
        &format!("Studio: a killed agent's shoot taken over (lease {lease} s)"),
        &format!("≤ {} s", lease + 5),
        format!("{:.1} s, {projects} project", took.as_secs_f64()),
        format!("{:.2} of target", took.as_secs_f64() / (lease + 5) as f64),
    ));
}
