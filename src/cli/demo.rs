//! `imagen-sync demo`: the product with no setup. Starts the simulator in-process, makes
//! `<dir>/inbox` and `<dir>/outbox`, drops a sample shoot of generated real-estate JPEGs
//! into the inbox, and runs the real agent on them with a terminal progress display. It
//! keeps watching, so folders dropped into the inbox are edited too (`--once` stops
//! after the sample).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use tokio::sync::watch;

use crate::agent::pipeline::PollSchedule;
use crate::agent::watch::WatchSettings;
use crate::agent::{AgentOptions, RunningAgent};
use crate::api::EditOptions;
use crate::config::{AgentSettings, ApiSettings, Config, FolderPair};
use crate::events::activity::Activity;
use crate::events::{Event, EventKind, Events};
use crate::redact::ApiKey;
use crate::shoot::PairPolicy;
use crate::sim::{Sim, SimConfig};

pub const SAMPLE_SHOOT: &str = "12 Oak Lane";
const SAMPLE_PHOTOS: u32 = 8;

/// Runs the demo in `dir` until `shutdown` (or, with `once`, until the inbox is done).
/// Each run starts fresh: the demo's outbox and journal are cleared first.
pub async fn run(
    dir: &Path,
    once: bool,
    shutdown: watch::Receiver<bool>,
) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    // Not canonicalize: on Windows that prints as \\?\C:\…, which confuses people.
    let dir = std::path::absolute(dir)?;
    let inbox = dir.join("inbox");
    let outbox = dir.join("outbox");
    let data_dir = dir.join(".imagen-sync");
    // Two demos in one folder would drive the same shoots: one at a time, and the one
    // running keeps its journal.
    let lock = crate::agent::data_folder::RunningLock::acquire(&data_dir)?;
    if outbox.exists() {
        std::fs::remove_dir_all(&outbox)?;
    }
    for entry in std::fs::read_dir(&data_dir)?.flatten() {
        if entry.path() != lock.lock_file() && entry.path() != lock.info_file() {
            match entry.file_type()?.is_dir() {
                true => std::fs::remove_dir_all(entry.path())?,
                false => std::fs::remove_file(entry.path())?,
            }
        }
    }
    std::fs::create_dir_all(&inbox)?;
    let sample = inbox.join(SAMPLE_SHOOT);
    if !sample.exists() {
        // Drawn in a hidden folder, then moved in whole: it lands as a finished copy.
        let staging = inbox.join(format!(".{SAMPLE_SHOOT}.drawing"));
        let target = staging.clone();
        tokio::task::spawn_blocking(move || write_sample_shoot(&target)).await??;
        std::fs::rename(&staging, &sample)?;
    }

    let key = format!("demo-{}", uuid::Uuid::new_v4().simple());
    let mut sim_config = SimConfig::new(key.clone());
    sim_config.timings.pending_for = Duration::from_millis(500);
    sim_config.timings.processing_for = Duration::from_secs(3);
    let sim = Sim::start(sim_config, 0).await?;
    let config = Config {
        api: ApiSettings {
            base_url: sim.base_url(),
            key_file: None,
        },
        agent: AgentSettings {
            data_dir: data_dir.clone(),
            settle_seconds: 2,
            rescan_seconds: 10,
            max_active_shoots: 2,
            max_parallel_uploads: 4,
            max_parallel_downloads: 4,
            raw_jpeg_pairs: PairPolicy::Raw,
            spend: Default::default(),
            keep_awake: false,
        },
        folders: vec![FolderPair::new(
            inbox.clone(),
            outbox.clone(),
            EditOptions {
                perspective_correction: true,
                sky_replacement: true,
                ..EditOptions::default()
            },
        )],
        notifications: Default::default(),
        webhook: None,
        network: Default::default(),
        dashboard: Default::default(),
        journal: Default::default(),
    };
    println!("Simulated Imagen API on {}", sim.base_url());
    println!("Inbox:  {}", inbox.display());
    println!("Outbox: {}", outbox.display());
    if !once {
        println!("Drop more folders of photos into the inbox; Ctrl-C stops.");
    }

    let events = Events::default();
    let display = tokio::spawn(show_progress(events.subscribe()));
    let options = AgentOptions {
        watch: WatchSettings {
            settle: Duration::from_secs(config.agent.settle_seconds),
            rescan_every: Duration::from_secs(config.agent.rescan_seconds),
            tick: Duration::from_millis(500),
        },
        polls: PollSchedule::new(
            Duration::from_millis(500),
            Duration::from_secs(10),
            Duration::from_secs(5),
        ),
        tick: Duration::from_millis(250),
        exit_when_idle: once,
        costs: crate::platform::costs::none(),
        nudge: Default::default(),
    };
    let mut agent =
        RunningAgent::start_holding(lock, config, ApiKey::new(key), &events, options).await?;
    let mut shutdown = shutdown;
    tokio::select! {
        outcome = agent.wait() => outcome?,
        _ = shutdown.wait_for(|stop| *stop) => agent.stop().await,
    }
    display.abort();
    Ok(outbox)
}

/// One progress bar per shoot, fed by the agent's events.
async fn show_progress(mut events: tokio::sync::broadcast::Receiver<Event>) {
    let bars = MultiProgress::new();
    let style =
        ProgressStyle::with_template("{prefix:.bold} {bar:30.cyan/blue} {percent:>3}% {msg}")
            .expect("a valid template")
            .progress_chars("█▉▊▋▌▍▎▏ ");
    let mut by_shoot: HashMap<i64, ProgressBar> = HashMap::new();
    loop {
        let event = match events.recv().await {
            Ok(event) => event,
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
            Err(_) => return,
        };
        let Some(id) = event.shoot_id else {
            if let EventKind::Skipped { reason } | EventKind::Waiting { reason, .. } = &event.kind {
                let line = format!("{}: {reason}", event.shoot);
                match bars.is_hidden() {
                    true => println!("{line}"),
                    false => {
                        let _ = bars.println(line);
                    }
                }
            }
            continue;
        };
        let bar = by_shoot.entry(id).or_insert_with(|| {
            let bar = bars.add(ProgressBar::new(1).with_style(style.clone()));
            bar.set_prefix(event.shoot.clone());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        if bars.is_hidden() {
            // No terminal to draw bars on: say what matters in plain lines.
            match &event.kind {
                EventKind::Done { photos, outbox, .. } => {
                    println!(
                        "{}: {} in {}",
                        crate::words::printable(&event.shoot),
                        crate::words::count(*photos, "edited photo", "edited photos"),
                        outbox.display()
                    )
                }
                EventKind::Failed { reason, .. } | EventKind::Waiting { reason, .. } => {
                    println!("{}: {reason}", event.shoot)
                }
                _ => {}
            }
        }
        if let Some(activity) = Activity::after(&event.kind) {
            if let EventKind::Uploading(crate::events::UploadProgress {
                bytes_done,
                bytes_total,
                ..
            }) = *activity.kind()
            {
                bar.set_length(bytes_total.max(1));
                bar.set_position(bytes_done);
            }
            if activity.kind() != &EventKind::Discovered {
                bar.set_message(activity.words());
            }
        }
        match event.kind {
            EventKind::Done { photos, outbox, .. } => bar.finish_with_message(format!(
                "done: {} in {}",
                crate::words::count(photos, "photo", "photos"),
                outbox.display()
            )),
            EventKind::Failed { reason, .. } => {
                bar.abandon_with_message(format!("failed: {reason}"))
            }
            _ => {}
        }
    }
}

/// Draws the sample shoot: exteriors and interiors of a house, as real JPEGs.
pub fn write_sample_shoot(folder: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(folder)?;
    for n in 0..SAMPLE_PHOTOS {
        let image = draw_house(n);
        let kind = if n % 2 == 0 { "Exterior" } else { "Interior" };
        image.save(folder.join(format!("{kind} {:02}.jpg", n + 1)))?;
    }
    Ok(())
}

fn draw_house(variant: u32) -> image::RgbImage {
    const W: u32 = 1600;
    const H: u32 = 1067;
    let exposure = 0.7 + 0.1 * (variant % 4) as f32;
    let wall = [
        [196, 164, 132],
        [170, 180, 190],
        [220, 210, 180],
        [150, 90, 70],
    ][variant as usize % 4];
    let house_left = W / 4 + variant * 23;
    let house_right = house_left + W / 2;
    let wall_top = H / 2 - H / 10;
    let ground = H * 3 / 4;
    image::RgbImage::from_fn(W, H, |x, y| {
        let roof_peak = (house_left + house_right) / 2;
        let roof_height = H / 5;
        let dx = x.abs_diff(roof_peak);
        let roof_top = wall_top - roof_height;
        // A triangle: zero wide at its peak, as wide as the house at the eaves.
        let in_roof =
            (roof_top..wall_top).contains(&y) && dx * roof_height <= (y - roof_top) * (W / 4);
        let in_wall = (house_left..house_right).contains(&x) && (wall_top..ground).contains(&y);
        let in_window = in_wall
            && ((x - house_left) / 80) % 2 == 1
            && ((y - wall_top) / 70) % 2 == 1
            && y < ground - 90;
        let base: [u8; 3] = if in_window {
            [60, 80, 110]
        } else if in_wall {
            wall
        } else if in_roof {
            [90, 60, 55]
        } else if y >= ground {
            [70, 130 - ((y - ground) * 40 / (H - ground)) as u8, 60]
        } else {
            // A washed-out sky: the thing sky replacement is for.
            let t = y as f32 / ground as f32;
            [
                (225.0 - 30.0 * t) as u8,
                (228.0 - 20.0 * t) as u8,
                (232.0 - 10.0 * t) as u8,
            ]
        };
        image::Rgb(base.map(|c| (c as f32 * exposure).min(255.0) as u8))
    })
}
