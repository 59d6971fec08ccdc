//! Live shoots as an event photographer has them: the real agent on a live hot folder,
//! photos written whole into one shoot folder a few seconds apart (as a camera's FTP
//! transfer or a tethering app lands them), the simulator over loopback, a webhook
//! listener standing in for the studio's script.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::agent::{Harness, wait_for};
use crate::common::browser::Browser;
use crate::common::dashboard::{open_link, start_with_dashboard};
use crate::common::hook::{delivered_events, listener, with_webhook};
use crate::common::{land_whole, start_sim, write_jpeg};
use imagen_sync::agent::live::capture::with_capture_time;

const LONG: Duration = Duration::from_secs(120);

/// Makes the harness's hot folder live, with a batch window and an idle time.
fn make_live(agent: &Harness, batch_seconds: u64, idle_minutes: f64) {
    agent.edit_config(
        "[folders.edit]\n",
        &format!(
            "live = true\nlive_batch_seconds = {batch_seconds}\nlive_idle_minutes = {idle_minutes}\n[folders.edit]\n"
        ),
    );
}

fn jpeg_bytes(dir: &Path, seed: u32) -> Vec<u8> {
    let path = dir.join(format!("seed-{seed}.jpg"));
    write_jpeg(&path, 64 + seed % 7, 48);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::remove_file(path).unwrap();
    bytes
}

fn outputs_in(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".jpg"))
            .count()
    })
}

/// Each project's photos, by the names the simulator stored.
fn projects_of(sim: &imagen_sync::sim::Sim) -> Vec<BTreeSet<String>> {
    sim.counters()
        .uploads_per_project
        .keys()
        .map(|uuid| sim.input_sizes(uuid).into_keys().collect())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn photos_trickling_into_a_live_folder_are_edited_in_batches_once_each_and_the_end_is_pushed_once()
 {
    let sim = start_sim(|_| {}).await;
    let mut agent = Harness::new(&sim, 1, "");
    make_live(&agent, 4, 0.15);
    // Far below the batches this shoot becomes: live batches are not follow-ups.
    agent.edit_config(
        "max_active_shoots = 2",
        "max_active_shoots = 2\ndaily_follow_up_limit = 1",
    );
    let (url, pushes) = listener(0).await;
    with_webhook(&agent, &url, "json");
    let shoot = agent.inbox().join("Smith Wedding");
    std::fs::create_dir_all(&shoot).unwrap();
    agent.start();
    let scratch = tempfile::tempdir().unwrap();
    let started = Instant::now();
    for n in 0..6 {
        land_whole(
            &shoot,
            &format!("IMG_{n:04}.jpg"),
            &jpeg_bytes(scratch.path(), n),
        );
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }
    // A pause longer than a batch, shorter than the idle time: the shoot goes on.
    tokio::time::sleep(Duration::from_secs(6)).await;
    for n in 6..10 {
        land_whole(
            &shoot,
            &format!("IMG_{n:04}.jpg"),
            &jpeg_bytes(scratch.path(), n),
        );
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }
    let span = started.elapsed();
    let outbox = agent.outbox().join("Smith Wedding");
    wait_for(&agent, "every photo edited", LONG, || {
        outputs_in(&outbox) == 10
    })
    .await;
    let live_line = agent.run_cli(&["status"]);
    assert!(
        live_line.contains("Smith Wedding — live")
            && live_line.contains("10 photos, 10 ready, last photo"),
        "{live_line}"
    );
    wait_for(&agent, "the end pushed", LONG, || {
        !delivered_events(&pushes, "shoot_finished").is_empty()
    })
    .await;

    let counters = sim.counters();
    assert_eq!(counters.total_uploads(), 10, "each photo uploaded once");
    let bound = (span.as_secs_f64() / 4.0).ceil() as u64 + 1;
    assert!(
        counters.projects_created >= 2 && counters.projects_created <= bound,
        "{} projects for a {:.0} s shoot in 4 s batches (at most {bound})",
        counters.projects_created,
        span.as_secs_f64()
    );
    let mut seen = BTreeMap::new();
    for project in projects_of(&sim) {
        for name in project {
            *seen.entry(name).or_insert(0) += 1;
        }
    }
    assert_eq!(seen.len(), 10);
    assert!(seen.values().all(|&n| n == 1), "{seen:?}");
    assert!(
        agent
            .shoot_states()
            .iter()
            .all(|(_, state)| state == "done"),
        "nothing held: {:?}",
        agent.shoot_states()
    );
    let ends = delivered_events(&pushes, "shoot_finished");
    assert_eq!(ends.len(), 1, "{ends:?}");
    assert_eq!(ends[0]["shoot"], "Smith Wedding");
    assert_eq!(ends[0]["photos"]["sent"], 10);
    assert_eq!(ends[0]["photos"]["delivered"], 10);
    assert_eq!(ends[0]["photos"]["not_delivered"], 0);
    let batches = delivered_events(&pushes, "batch_finished");
    assert_eq!(batches.len() as u64, counters.projects_created);
    let status = agent.status();
    let rows: Vec<&serde_json::Value> = (status["shoots"].as_array().unwrap().iter())
        .filter(|row| row["folder"] == "Smith Wedding")
        .collect();
    assert_eq!(rows.len(), 1, "one live shoot in status --json: {status:#}");
    assert_eq!(rows[0]["live"], true);
    assert_eq!(rows[0]["files"], 10);
    assert_eq!(
        rows[0]["batches"].as_array().unwrap().len() as u64,
        counters.projects_created
    );

    // A late photo reopens it: a new batch, and the next end is pushed again.
    land_whole(&shoot, "IMG_0010.jpg", &jpeg_bytes(scratch.path(), 10));
    wait_for(&agent, "the late photo and the second end", LONG, || {
        delivered_events(&pushes, "shoot_finished").len() == 2
    })
    .await;
    let ends = delivered_events(&pushes, "shoot_finished");
    assert_eq!(ends[1]["photos"]["sent"], 11);
    assert_eq!(outputs_in(&outbox), 11);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(delivered_events(&pushes, "shoot_finished").len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn brackets_arriving_slowly_across_batch_windows_are_never_split_between_projects() {
    let sim = start_sim(|_| {}).await;
    let mut agent = Harness::new(&sim, 1, "hdr_merge = true");
    make_live(&agent, 3, 5.0);
    let shoot = agent.inbox().join("14 Pine Street");
    std::fs::create_dir_all(&shoot).unwrap();
    agent.start();
    let scratch = tempfile::tempdir().unwrap();
    // Four brackets of three frames shot half a second apart, a room apart; each frame
    // arrives 1.4 s after the one before, so a bracket spans more than a batch window.
    let mut bracket_of = BTreeMap::new();
    for bracket in 0..4u32 {
        for frame in 0..3u32 {
            let second = 10 + bracket * 20 + frame / 2;
            let sub = if frame % 2 == 1 { "50" } else { "00" };
            let date = format!("2026:06:14 17:03:{second:02}");
            let bytes =
                with_capture_time(&jpeg_bytes(scratch.path(), bracket * 3 + frame), &date, sub);
            let name = format!("DSC_{:04}.jpg", bracket * 3 + frame);
            land_whole(&shoot, &name, &bytes);
            bracket_of.insert(name, bracket);
            tokio::time::sleep(Duration::from_millis(1400)).await;
        }
    }
    let outbox = agent.outbox().join("14 Pine Street");
    wait_for(&agent, "every bracket merged", LONG, || {
        let sent: usize = projects_of(&sim).iter().map(BTreeSet::len).sum();
        sent == 12 && agent.shoot_states().iter().all(|(_, s)| s == "done")
    })
    .await;
    let projects = projects_of(&sim);
    assert!(
        projects.len() >= 2,
        "batches, not one project: {projects:?}"
    );
    for project in &projects {
        let brackets: BTreeSet<u32> = project.iter().map(|n| bracket_of[n]).collect();
        for bracket in brackets {
            let frames = project.iter().filter(|n| bracket_of[*n] == bracket).count();
            assert_eq!(frames, 3, "bracket {bracket} split: {projects:?}");
        }
    }
    assert!(outputs_in(&outbox) >= 4, "{}", outputs_in(&outbox));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_shoot_killed_mid_batch_loses_no_photo_and_sends_none_twice() {
    let sim = start_sim(|config| {
        config.timings.processing_for = Duration::from_secs(2);
    })
    .await;
    let mut agent = Harness::new(&sim, 1, "");
    make_live(&agent, 2, 5.0);
    let shoot = agent.inbox().join("Gala");
    std::fs::create_dir_all(&shoot).unwrap();
    agent.start();
    let scratch = tempfile::tempdir().unwrap();
    for n in 0..6 {
        land_whole(
            &shoot,
            &format!("IMG_{n:04}.jpg"),
            &jpeg_bytes(scratch.path(), n),
        );
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    wait_for(&agent, "a first batch under way", LONG, || {
        sim.counters().projects_created >= 1
    })
    .await;
    agent.kill();
    for n in 6..9 {
        land_whole(
            &shoot,
            &format!("IMG_{n:04}.jpg"),
            &jpeg_bytes(scratch.path(), n),
        );
    }
    agent.start();
    for n in 9..12 {
        tokio::time::sleep(Duration::from_millis(700)).await;
        land_whole(
            &shoot,
            &format!("IMG_{n:04}.jpg"),
            &jpeg_bytes(scratch.path(), n),
        );
    }
    let outbox = agent.outbox().join("Gala");
    wait_for(&agent, "every photo edited", LONG, || {
        outputs_in(&outbox) == 12
    })
    .await;
    let mut seen = BTreeMap::new();
    for project in projects_of(&sim) {
        for name in project {
            *seen.entry(name).or_insert(0) += 1;
        }
    }
    assert_eq!(seen.len(), 12, "{seen:?}");
    assert!(
        seen.values().all(|&n| n == 1),
        "a photo in two projects: {seen:?}"
    );
    crate::common::agent::assert_outbox_holds_only_whole_photos(&agent.outbox());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_shoot_is_one_row_on_the_dashboard_with_its_batches_on_its_page_also_on_a_phone() {
    let sim = start_sim(|_| {}).await;
    let mut agent = Harness::new(&sim, 1, "");
    make_live(&agent, 2, 30.0);
    let (_, link) = start_with_dashboard(&mut agent).await;
    let shoot = agent.inbox().join("Smith Wedding");
    std::fs::create_dir_all(&shoot).unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let outbox = agent.outbox().join("Smith Wedding");
    for (n, photos) in [(0u32, 2usize), (2, 4)] {
        for seed in n..n + 2 {
            land_whole(
                &shoot,
                &format!("IMG_{seed:04}.jpg"),
                &jpeg_bytes(scratch.path(), seed),
            );
        }
        wait_for(&agent, "the batch edited", LONG, || {
            outputs_in(&outbox) == photos
        })
        .await;
    }
    let browser = Browser::start().await;
    browser.goto(&link).await;
    let rows = browser
        .wait_for_text(
            "#shoot-rows",
            "Live: 4 photos, 4 ready, last photo just now",
            LONG,
        )
        .await;
    assert_eq!(rows.matches("Smith Wedding").count(), 1, "one row: {rows}");
    assert!(
        rows.contains("Live")
            && !rows.contains("edited photos")
            && rows.contains("Batch 1")
            && rows.contains("Batch 2"),
        "{rows}"
    );
    browser.click("#shoot-rows a").await;
    let page = browser
        .wait_for_text("main", "each batch is a project", LONG)
        .await;
    assert!(
        page.contains("Live: 4 photos, 4 ready") && page.contains("Photos in batch 2"),
        "{page}"
    );
    if let Ok(dir) = std::env::var("IMAGEN_TEST_SCREENSHOTS") {
        browser
            .screenshot(&Path::new(&dir).join("live-shoot-row.png"))
            .await;
    }

    let phone = Browser::start_phone().await;
    phone.goto(&open_link(&agent)).await;
    phone
        .wait_for_text("#shoot-rows", "Live: 4 photos", LONG)
        .await;
    let base = link.split("/?").next().unwrap().to_owned();
    let shoot_page = browser.url().await.replace(&base, "");
    for path in ["/", shoot_page.as_str()] {
        phone.assert_fits_the_screen(&base, path).await;
    }
    if let Ok(dir) = std::env::var("IMAGEN_TEST_SCREENSHOTS") {
        phone.goto(&format!("{base}/")).await;
        phone.wait_for_text("#shoot-rows", "Live", LONG).await;
        phone
            .screenshot(&Path::new(&dir).join("live-shoot-phone.png"))
            .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_photo_still_being_written_into_a_live_shoot_waits_while_whole_photos_go_up_at_once() {
    let sim = start_sim(|_| {}).await;
    // A long settle time, as for slow card copies: whole photos do not wait for it.
    let mut agent = Harness::new(&sim, 20, "");
    make_live(&agent, 1, 5.0);
    let shoot = agent.inbox().join("Harbour Gala");
    std::fs::create_dir_all(&shoot).unwrap();
    agent.start();
    let scratch = tempfile::tempdir().unwrap();
    let (whole, growing) = (jpeg_bytes(scratch.path(), 1), jpeg_bytes(scratch.path(), 2));
    let half = growing.len() / 2;
    std::fs::write(shoot.join("GALA_0002.jpg"), &growing[..half]).unwrap();
    let landed = Instant::now();
    land_whole(&shoot, "GALA_0001.jpg", &whole);
    let outbox = agent.outbox().join("Harbour Gala");
    wait_for(&agent, "the whole photo edited", LONG, || {
        outbox.join("GALA_0001.jpg").exists()
    })
    .await;
    assert!(
        landed.elapsed() < Duration::from_secs(15),
        "a whole photo goes up without waiting out the 20 s settle: {:?}",
        landed.elapsed()
    );
    let sent: Vec<BTreeSet<String>> = projects_of(&sim);
    assert!(
        sent.iter()
            .all(|project| !project.contains("GALA_0002.jpg")),
        "half a photo is never sent: {sent:?}"
    );
    // The rest of it arrives, slowly: it goes up whole, once.
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(shoot.join("GALA_0002.jpg"))
        .unwrap();
    file.write_all(&growing[half..]).unwrap();
    drop(file);
    wait_for(&agent, "the second photo edited", LONG, || {
        outbox.join("GALA_0002.jpg").exists()
    })
    .await;
    let counters = sim.counters();
    let sizes: BTreeMap<String, u64> = (counters.uploads_per_project.keys())
        .flat_map(|uuid| sim.input_sizes(uuid))
        .collect();
    assert_eq!(sizes["GALA_0002.jpg"], growing.len() as u64, "sent whole");
    assert_eq!(counters.total_uploads(), 2, "each photo sent once");
}
