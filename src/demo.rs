//! `imagen-sync demo`: the product with no setup. Starts the simulator in-process, makes
//! `<dir>/inbox` and `<dir>/outbox`, drops a sample shoot of generated real-estate JPEGs
//! into the inbox, and runs every shoot folder found there through the pipeline with a
//! terminal progress bar.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::api::{Client, ClientConfig, EditOptions};
use crate::pipeline::{self, Limits, PollSchedule, Progress, Shoot, ShootFile};
use crate::redact::ApiKey;
use crate::sim::{Sim, SimConfig};

pub const SAMPLE_SHOOT: &str = "12 Oak Lane";
const SAMPLE_PHOTOS: u32 = 8;

/// Runs the demo in `dir`; returns the outbox folders written.
pub async fn run(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let inbox = dir.join("inbox");
    let outbox = dir.join("outbox");
    std::fs::create_dir_all(&outbox)?;
    let sample = inbox.join(SAMPLE_SHOOT);
    if !sample.exists() {
        let target = sample.clone();
        tokio::task::spawn_blocking(move || write_sample_shoot(&target)).await??;
    }

    let key = format!("demo-{}", uuid::Uuid::new_v4().simple());
    let mut sim_config = SimConfig::new(key.clone());
    sim_config.timings.pending_for = Duration::from_millis(500);
    sim_config.timings.processing_for = Duration::from_secs(3);
    let sim = Sim::start(sim_config, 0).await?;
    let client = Client::new(ClientConfig::new(sim.base_url(), ApiKey::new(key)))?;
    println!("Simulated Imagen API on {}", sim.base_url());
    println!("Inbox:  {}", inbox.display());
    println!("Outbox: {}", outbox.display());

    let mut written = Vec::new();
    for folder in shoot_folders(&inbox)? {
        let shoot = plan_shoot(&folder, &outbox)?;
        if shoot.files.is_empty() {
            println!("{}: no JPEG photos, skipped", folder.display());
            continue;
        }
        let outputs = run_with_progress_bar(&client, &shoot).await?;
        println!(
            "{}: {} edited photos in {}",
            display_name(&folder),
            outputs.len(),
            shoot.outbox.display()
        );
        written.push(shoot.outbox.clone());
    }
    Ok(written)
}

fn display_name(folder: &Path) -> String {
    folder
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn shoot_folders(inbox: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut folders: Vec<PathBuf> = std::fs::read_dir(inbox)?
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.file_type().is_ok_and(|t| t.is_dir()))
        .filter(|entry| !entry.file_name().to_string_lossy().starts_with('.'))
        .map(|entry| entry.path())
        .collect();
    folders.sort();
    Ok(folders)
}

/// The demo's shoot: the folder's JPEGs (the agent's full scan rules come with it).
fn plan_shoot(folder: &Path, outbox: &Path) -> std::io::Result<Shoot> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(folder)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let lower = name.to_ascii_lowercase();
        let is_jpeg = lower.ends_with(".jpg") || lower.ends_with(".jpeg");
        let metadata = entry.metadata()?;
        if is_jpeg && !name.starts_with('.') && metadata.is_file() && metadata.len() > 0 {
            files.push(ShootFile {
                path: entry.path(),
                upload_name: name,
                size: metadata.len(),
            });
        }
    }
    files.sort_by(|a, b| a.upload_name.cmp(&b.upload_name));
    let folder_name = display_name(folder);
    Ok(Shoot {
        project_name: format!("{folder_name} ({})", uuid::Uuid::new_v4().simple()),
        outbox: outbox.join(&folder_name),
        files,
        options: EditOptions {
            perspective_correction: true,
            sky_replacement: true,
            ..EditOptions::default()
        },
    })
}

async fn run_with_progress_bar(client: &Client, shoot: &Shoot) -> anyhow::Result<Vec<PathBuf>> {
    let total_bytes: u64 = shoot.files.iter().map(|f| f.size).sum();
    let bar = ProgressBar::new(total_bytes);
    bar.set_style(
        ProgressStyle::with_template("{prefix:.bold} {bar:30.cyan/blue} {percent:>3}% {msg}")
            .expect("a valid template")
            .progress_chars("█▉▊▋▌▍▎▏ "),
    );
    bar.set_prefix(display_name(&shoot.outbox));
    bar.enable_steady_tick(Duration::from_millis(120));
    let shown = bar.clone();
    let photos = shoot.files.len();
    let on_progress: pipeline::ProgressFn = Arc::new(move |event| match event {
        Progress::Created { .. } => shown.set_message(format!("uploading 0/{photos} photos")),
        Progress::UploadedBytes { bytes } => shown.inc(bytes),
        Progress::UploadedFile { done, total } => {
            shown.set_message(format!("uploading {done}/{total} photos"))
        }
        Progress::Editing { status } => shown.set_message(format!("editing ({status})")),
        Progress::Downloaded { done, total } => {
            shown.set_message(format!("downloading {done}/{total} photos"))
        }
    });
    let polls = PollSchedule::starting_at(Duration::from_millis(500), Duration::from_secs(30));
    let outcome = pipeline::process(client, shoot, Limits::default(), polls, on_progress).await;
    match &outcome {
        Ok(outputs) => bar.finish_with_message(format!("done: {} photos", outputs.len())),
        Err(error) => bar.abandon_with_message(format!("failed: {error}")),
    }
    Ok(outcome?)
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
