//! The live-shoot figures: photos landing whole one every few seconds in a live hot
//! folder (as a camera's FTP transfer writes them), each photo's time from landing to
//! its edited JPEG in the outbox, and the API calls and projects the shoot cost against
//! ⌈span ÷ batch⌉ + 1 projects.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::common;
use crate::common::agent::Harness;
use crate::harness::*;

pub(crate) async fn live_shoot(sizes: &Sizes, rows: &mut Vec<Row>) {
    let live = &sizes.live;
    let sim = sim_with(live.processing).await;
    let mut agent = Harness::new(&sim, live.settle_seconds, "");
    agent.edit_config(
        "[folders.edit]\n",
        &format!(
            "live = true\nlive_batch_seconds = {}\nlive_idle_minutes = 30\n[folders.edit]\n",
            live.batch.as_secs()
        ),
    );
    let shoot = agent.inbox().join("Harbour Gala");
    std::fs::create_dir_all(&shoot).unwrap();
    agent.start();
    tokio::time::sleep(Duration::from_secs(1)).await;

    let photos = (live.span.as_millis() / live.every.as_millis()) as usize;
    let scratch = tempfile::tempdir().unwrap();
    let sample = scratch.path().join("sample.jpg");
    common::write_jpeg(&sample, 1600, 1067);
    let bytes = std::fs::read(&sample).unwrap();
    let outbox = agent.outbox().join("Harbour Gala");
    let mut landed: BTreeMap<String, Instant> = BTreeMap::new();
    let mut edited: BTreeMap<String, Instant> = BTreeMap::new();
    let started = Instant::now();
    let deadline = started + live.span + live.batch * 3 + Duration::from_secs(60);
    while edited.len() < photos {
        let next = landed.len();
        if next < photos && started.elapsed() >= live.every * next as u32 {
            let name = format!("GALA_{next:04}");
            common::land_whole(&shoot, &format!("{name}.jpg"), &bytes);
            landed.insert(name, Instant::now());
        }
        note_new_outputs(&outbox, &mut edited);
        assert!(
            Instant::now() < deadline,
            "timed out: {} of {photos} edited",
            edited.len()
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let span = landed.values().max().unwrap().duration_since(started);
    agent.kill();

    let mut waits: Vec<f64> = (edited.iter())
        .map(|(name, at)| at.duration_since(landed[name]).as_secs_f64())
        .collect();
    waits.sort_by(f64::total_cmp);
    let median = waits[waits.len() / 2];
    let p95 = waits[(waits.len() * 95).div_ceil(100) - 1];
    let target = (live.batch + live.processing).as_secs_f64() + 10.0;
    let counters = sim.counters();
    let bound = (span.as_secs_f64() / live.batch.as_secs_f64()).ceil() as u64 + 1;
    let shape = format!(
        "{photos} photos, one every {} s, batch {} s, processing {} s, settle {} s",
        live.every.as_secs_f64(),
        live.batch.as_secs(),
        live.processing.as_secs(),
        live.settle_seconds
    );
    rows.push(row(
        &format!("Live shoot, photo landed → edited JPEG ({shape})"),
        &format!("p95 ≤ {target:.0} s"),
        format!(
            "median {median:.1} s, p95 {p95:.1} s (max {:.1} s)",
            waits[waits.len() - 1]
        ),
        format!("{:.2} of target", p95 / target),
    ));
    rows.push(row(
        &format!(
            "Live shoot, projects and API calls ({:.0} s span)",
            span.as_secs_f64()
        ),
        &format!("≤ ⌈span ÷ batch⌉ + 1 = {bound} projects"),
        format!(
            "{} projects, {} API calls ({} status polls), {} uploads",
            counters.projects_created,
            counters.api_calls(),
            counters.requests_to("GET /v1/i2i/projects/{uuid}"),
            counters.total_uploads()
        ),
        format!(
            "{:.2} of bound",
            counters.projects_created as f64 / bound as f64
        ),
    ));
}

/// Records when each edited JPEG first shows up in the outbox, by its photo's name.
fn note_new_outputs(outbox: &std::path::Path, edited: &mut BTreeMap<String, Instant>) {
    let Ok(listing) = std::fs::read_dir(outbox) else {
        return;
    };
    for entry in listing.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(stem) = name.strip_suffix(".jpg").filter(|s| !s.starts_with('.')) {
            edited.entry(stem.to_owned()).or_insert_with(Instant::now);
        }
    }
}
