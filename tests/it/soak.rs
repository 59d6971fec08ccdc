//! The soak: many shoots through the simulator under continuous faults (5xx, 429 with
//! Retry-After, answers cut off mid-body, storage errors, 5 s link lifetime, random
//! latency) while the real agent is SIGKILLed and restarted every few seconds. Every
//! shoot must complete exactly once, every output must be a whole JPEG, and the
//! agent's memory and open files must stay flat.
//!
//! The short version runs with the tests. The long ones (RELIABILITY.md):
//!   SOAK_SHOOTS=1000 SOAK_KILL_EVERY_SECS=20 cargo test --release --test it -- soak:: --nocapture
//!   SOAK_SHOOTS=600 SOAK_KILL_EVERY_SECS=0 cargo test --release --test it -- soak:: --nocapture
//! (0: never killed, so the flatness check is about one process's whole life.)

use std::time::{Duration, Instant};

use crate::common::agent::{Harness, assert_outbox_holds_only_whole_photos, tree};
use crate::common::{start_sim, write_shoot};
use imagen_sync::sim::Faults;

const PHOTOS_PER_SHOOT: usize = 3;
/// How often the agent's memory and open files are sampled.
const SAMPLE_EVERY: Duration = Duration::from_secs(1);
/// A new batch of shoots lands in the inbox this often until all have arrived.
const ARRIVAL_EVERY: Duration = Duration::from_secs(4);
/// Samples start this long after each (re)start.
const SETTLED_AFTER: Duration = Duration::from_secs(2);

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// (RSS in kB, open file descriptors) of a running process.
fn footprint(pid: u32) -> Option<(u64, usize)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count();
    Some((rss, fds))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_shoot_completes_exactly_once_through_faults_and_repeated_kills() {
    let shoots = setting("SOAK_SHOOTS", 12) as usize;
    // 0: never killed, so one process lives through the whole run.
    let kill_every = match setting("SOAK_KILL_EVERY_SECS", 4) {
        0 => None,
        secs => Some(Duration::from_secs(secs)),
    };
    let sim = start_sim(|c| {
        c.link_lifetime = Duration::from_secs(5);
        c.timings.processing_for = Duration::from_millis(500);
    })
    .await;
    sim.set_faults(Faults {
        api_error_rate: 0.05,
        rate_limit_rate: 0.03,
        retry_after_secs: 1,
        storage_error_rate: 0.05,
        drop_rate: 0.03,
        max_latency_ms: 150,
        ..Faults::default()
    });
    let mut agent = Harness::new(&sim, 1, "");
    agent.edit_config("max_active_shoots = 2", "max_active_shoots = 4");
    let drop_shoot = |agent: &Harness, n: usize| {
        write_shoot(
            &agent.inbox(),
            &format!("Listing {n:03}"),
            PHOTOS_PER_SHOOT,
            (320, 240),
        );
    };
    // Half now, the rest arriving a batch every few seconds, while the agent is being
    // killed and restarted.
    for n in 0..shoots / 2 {
        drop_shoot(&agent, n);
    }
    let mut next_shoot = shoots / 2;
    let started = Instant::now();
    let deadline = Duration::from_secs(120 + 4 * shoots as u64);
    let mut kills = 0;
    let mut samples: Vec<(u64, usize)> = Vec::new();
    agent.start();
    let mut life_started = Instant::now();
    let mut last_arrival = Instant::now();
    loop {
        tokio::time::sleep(SAMPLE_EVERY).await;
        let done = agent
            .shoot_states()
            .iter()
            .filter(|(_, state)| state == "done")
            .count();
        if done == shoots {
            break;
        }
        assert!(
            started.elapsed() < deadline,
            "only {done} of {shoots} shoots done after {:?}\n{}",
            started.elapsed(),
            agent
                .logs()
                .lines()
                .rev()
                .take(40)
                .collect::<Vec<_>>()
                .join("\n")
        );
        // Start-up is left out: a process's first seconds are not its steady state.
        if life_started.elapsed() >= SETTLED_AFTER
            && let Some(pid) = agent.agent.as_ref().map(|c| c.id())
            && let Some(sample) = footprint(pid)
        {
            samples.push(sample);
        }
        if last_arrival.elapsed() >= ARRIVAL_EVERY {
            last_arrival = Instant::now();
            for _ in 0..(shoots / 6).max(1) {
                if next_shoot < shoots {
                    drop_shoot(&agent, next_shoot);
                    next_shoot += 1;
                }
            }
        }
        if let Some(kill_every) = kill_every
            && life_started.elapsed() >= kill_every
        {
            agent.kill();
            kills += 1;
            assert_outbox_holds_only_whole_photos(&agent.outbox());
            agent.start();
            life_started = Instant::now();
        }
    }
    agent.kill();

    let counters = sim.counters();
    let faults: u64 = counters.faults_injected.values().sum();
    let duplicates = counters.projects_created.saturating_sub(shoots as u64)
        + counters.edits_started.saturating_sub(shoots as u64)
        + counters
            .protocol_violations
            .get("duplicate create")
            .copied()
            .unwrap_or(0);
    let mut lost = 0;
    for n in 0..shoots {
        let folder = agent.outbox().join(format!("Listing {n:03}"));
        let photos = tree(&folder).iter().filter(|f| f.ends_with(".jpg")).count();
        if photos != PHOTOS_PER_SHOOT {
            lost += 1;
        }
    }
    assert_outbox_holds_only_whole_photos(&agent.outbox());
    let (max_rss, max_fds) = samples
        .iter()
        .fold((0, 0), |(r, f), &(rss, fds)| (r.max(rss), f.max(fds)));
    println!(
        "soak: {shoots} shoots, {} photos, {faults} faults injected ({:?}), {kills} kills, \
         {} s; duplicates found = {duplicates}, lost = {lost}; agent peak RSS {} MB, \
         peak open fds {max_fds} over {} samples",
        shoots * PHOTOS_PER_SHOOT,
        counters.faults_injected,
        started.elapsed().as_secs(),
        max_rss / 1024,
        samples.len()
    );
    assert_eq!(duplicates, 0, "{counters:?}");
    assert_eq!(lost, 0);
    assert_eq!(counters.projects_created, shoots as u64);
    assert_eq!(counters.edits_started, shoots as u64);
    assert!(faults > 0, "the soak injected no fault");
    assert!(
        kill_every.is_none() || kills > 0,
        "the soak never killed the agent"
    );
    // Flat: no life of the agent holds more than a bounded set of files or memory, and
    // the last quarter of the run is no bigger than the first.
    assert!(max_fds < 128, "{max_fds} open files");
    assert!(max_rss < 150 * 1024, "{max_rss} kB");
    if samples.len() >= 8 {
        let quarter = samples.len() / 4;
        let (first, last) = (&samples[..quarter], &samples[samples.len() - quarter..]);
        let average_rss = |s: &[(u64, usize)]| s.iter().map(|x| x.0).sum::<u64>() / s.len() as u64;
        let most_fds = |s: &[(u64, usize)]| s.iter().map(|x| x.1).max().unwrap_or(0);
        assert!(
            average_rss(last) <= average_rss(first) * 3 / 2 + 8 * 1024,
            "RSS grew from {} kB to {} kB",
            average_rss(first),
            average_rss(last)
        );
        assert!(
            most_fds(last) <= most_fds(first) + 16,
            "open files grew from {} to {}",
            most_fds(first),
            most_fds(last)
        );
    }
}
