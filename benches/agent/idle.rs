//! Figures 4 and 5: idle cost with many finished shoots; start-up and `status --json`
//! at that scale.

use crate::common::agent::Harness;
use crate::common::dashboard::{page, signed_in, start_with_dashboard};
use std::time::{Duration, Instant};

use crate::harness::*;

pub(crate) fn agent_log_has(harness: &Harness, needle: &str) -> bool {
    harness.logs().contains(needle)
}

/// Figures 4 and 5: idle cost with many finished shoots; start-up and `status --json` at scale.
pub(crate) async fn idle_and_scale(sizes: &Sizes, rows: &mut Vec<Row>) {
    let sim = sim_with(Duration::from_secs(1)).await;
    let mut agent = Harness::new(&sim, 1, "");
    agent.fill_with_finished_shoots(sizes.idle_shoots, 1);
    agent.start();
    let pid = agent.agent.as_ref().unwrap().id();
    wait_until("start-up scan", Duration::from_secs(120), || {
        agent_log_has(&agent, "start-up inbox scan done")
    })
    .await;
    // Let every folder settle and be recognised as done before measuring.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let before = cpu_seconds(pid);
    let window = Duration::from_secs(sizes.idle_seconds);
    tokio::time::sleep(window).await;
    let used = cpu_seconds(pid) - before;
    let rss = proc_field_kb(pid, "VmRSS:");
    println!(
        "  idle RSS: {} kB anonymous, {} kB mapped from files (the binary, shared libraries)",
        proc_field_kb(pid, "RssAnon:"),
        proc_field_kb(pid, "RssFile:")
    );
    agent.kill();
    assert_eq!(
        sim.counters().projects_created,
        0,
        "finished shoots stay finished"
    );
    let percent = used / window.as_secs_f64() * 100.0;
    rows.push(row(
        &format!(
            "Idle CPU, {} finished shoots, over {} s (one 120 s rescan included)",
            sizes.idle_shoots, sizes.idle_seconds
        ),
        "≤ 0.05% of one core",
        format!("{percent:.3}% ({used:.2} s CPU)"),
        format!("{:.2} of target", percent / 0.05),
    ));
    rows.push(row(
        &format!("Idle RSS, {} finished shoots", sizes.idle_shoots),
        "≤ 30 MB",
        format!("{:.1} MB", rss as f64 / 1024.0),
        format!("{:.2} of target", rss as f64 / 1024.0 / 30.0),
    ));

    let sim = sim_with(Duration::from_secs(1)).await;
    let mut agent = Harness::new(&sim, 1, "");
    agent.fill_with_finished_shoots(sizes.scale_shoots, sizes.scale_files_per_shoot);
    let started = Instant::now();
    let (address, link) = start_with_dashboard(&mut agent).await;
    wait_until("start-up scan", Duration::from_secs(300), || {
        agent_log_has(&agent, "start-up inbox scan done")
    })
    .await;
    let startup = started.elapsed();
    // Where the start-up went, as the agent logged it.
    for line in agent
        .logs_since_start()
        .lines()
        .filter(|l| !l.contains("DEBUG"))
        .take(25)
    {
        println!(
            "  start-up log: {}",
            line.chars().take(160).collect::<String>()
        );
    }
    let mut status_times = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        agent.status();
        status_times.push(started.elapsed());
    }
    let (http, base, session, _) = signed_in(&address, &link).await;
    let mut page_times = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let shoots = page(&http, &base, &session, "/").await;
        page_times.push(started.elapsed());
        assert!(shoots.contains("shoot-rows"), "the Shoots page");
    }
    agent.kill();
    page_times.sort();
    status_times.sort();
    let status = status_times[2];
    let label = format!(
        "{} shoots, {} files",
        sizes.scale_shoots,
        sizes.scale_shoots * sizes.scale_files_per_shoot
    );
    rows.push(row(
        &format!("Start-up (journal open + inbox scan), {label}"),
        "≤ 2 s",
        format!("{:.2} s", startup.as_secs_f64()),
        format!("{:.2} of target", startup.as_secs_f64() / 2.0),
    ));
    rows.push(row(
        &format!("Dashboard Shoots page, {label} (median of 5)"),
        "≤ 200 ms",
        format!("{} ms", page_times[2].as_millis()),
        format!("{:.2} of target", page_times[2].as_secs_f64() / 0.2),
    ));
    rows.push(row(
        &format!("`status --json`, {label} (median of 5)"),
        "≤ 200 ms",
        format!("{} ms", status.as_millis()),
        format!("{:.2} of target", status.as_secs_f64() / 0.2),
    ));
}
