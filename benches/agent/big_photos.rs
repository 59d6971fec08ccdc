//! Figure 3, continued: memory with big photos. Peak RSS while downloading full-size
//! edited outputs, and while a browser fetches every before/after thumbnail of a shoot.

use crate::common::agent::Harness;
use crate::common::dashboard::{signed_in, start_with_dashboard};
use futures_util::{StreamExt, stream};
use std::path::Path;
use std::time::Duration;

use crate::harness::*;

/// Both figures: downloading full-size outputs, then serving a shoot's thumbnails.
pub(crate) async fn big_photos(
    sizes: &Sizes,
    work: &Path,
    rows: &mut Vec<Row>,
    only: Option<&str>,
) {
    let wanted = |part: &str| only.is_none_or(|o| o == part || o == "big-photos" || o == "memory");
    if wanted("downloads") {
        downloads(sizes, work, rows).await;
    }
    if wanted("thumbnails") {
        thumbnails(sizes, work, rows).await;
    }
}

async fn downloads(sizes: &Sizes, work: &Path, rows: &mut Vec<Row>) {
    let (width, height) = sizes.download_pixels;
    let peak = downloading(sizes.big_photos, (width, height), work).await;
    rows.push(row(
        &format!(
            "Peak RSS downloading {} full-size {:.1} MP outputs",
            sizes.big_photos,
            f64::from(width) * f64::from(height) / 1e6
        ),
        "≤ 64 MB",
        format!("{:.1} MB", peak as f64 / 1024.0),
        format!("{:.2} of target", peak as f64 / 1024.0 / 64.0),
    ));
}

async fn thumbnails(sizes: &Sizes, work: &Path, rows: &mut Vec<Row>) {
    let (width, height) = sizes.thumbnail_pixels;
    let (peak, took) = serving_thumbnails(sizes.big_photos, (width, height), work).await;
    rows.push(row(
        &format!(
            "Peak RSS serving the before/after page of {} × {:.1} MP photos",
            sizes.big_photos,
            f64::from(width) * f64::from(height) / 1e6
        ),
        "≤ 200 MB",
        format!(
            "{:.1} MB ({} thumbnails in {:.1} s)",
            peak as f64 / 1024.0,
            sizes.big_photos * 2,
            took.as_secs_f64()
        ),
        format!("{:.2} of target", peak as f64 / 1024.0 / 200.0),
    ));
}

/// A shoot of `count` copies of one photo-like JPEG (writing distinct big JPEGs would
/// take longer than the figure itself).
fn big_shoot(dir: &Path, count: usize, (width, height): (u32, u32)) {
    std::fs::create_dir_all(dir).unwrap();
    let first = dir.join("IMG_000.jpg");
    // A gradient with fine grain: compresses about as a real photo does.
    let image = image::RgbImage::from_fn(width, height, |x, y| {
        let grain = ((x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503)) >> 27) as u8;
        image::Rgb([
            (x * 255 / width) as u8 ^ grain,
            (y * 255 / height) as u8,
            grain.wrapping_mul(7),
        ])
    });
    image.save(&first).unwrap();
    for n in 1..count {
        std::fs::copy(&first, dir.join(format!("IMG_{n:03}.jpg"))).unwrap();
    }
}

/// Clears the process's peak RSS down to its RSS now (Linux `clear_refs`).
fn reset_peak(pid: u32) {
    let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
}

/// Peak RSS, in KB, from the last upload until every output is in the outbox.
async fn downloading(count: usize, pixels: (u32, u32), work: &Path) -> u64 {
    let sim = full_size_sim().await;
    let mut agent = Harness::new(&sim, 1, "");
    agent.start();
    let shoot = work.join("full-size");
    big_shoot(&shoot, count, pixels);
    drop_in(&agent, &shoot, "Full Size");
    wait_until("every upload", Duration::from_secs(900), || {
        sim.counters().total_uploads() == count as u64
    })
    .await;
    let pid = agent.agent.as_ref().unwrap().id();
    reset_peak(pid);
    wait_until("the full-size shoot", Duration::from_secs(1800), || {
        done_count(&agent) == 1
    })
    .await;
    let peak = proc_field_kb(pid, "VmHWM:");
    agent.kill();
    peak
}

/// Peak RSS, in KB, while every thumbnail of a finished shoot is fetched six at a
/// time, as a browser scrolling the before/after page does; and how long that took.
async fn serving_thumbnails(count: usize, pixels: (u32, u32), work: &Path) -> (u64, Duration) {
    let sim = full_size_sim().await;
    let mut agent = Harness::new(&sim, 1, "");
    let (address, link) = start_with_dashboard(&mut agent).await;
    let shoot = work.join("thumbnails");
    big_shoot(&shoot, count, pixels);
    drop_in(&agent, &shoot, "Thumbnails");
    wait_until("the big shoot", Duration::from_secs(1800), || {
        done_count(&agent) == 1
    })
    .await;
    let id = agent.summaries()[0].shoot.id;
    let (http, base, session, _) = signed_in(&address, &link).await;
    let pid = agent.agent.as_ref().unwrap().id();
    reset_peak(pid);
    let started = std::time::Instant::now();
    let thumbnails = (0..count).flat_map(|index| {
        ["before", "after"].map(|side| format!("{base}/shoots/{id}/thumb/{index}/{side}"))
    });
    let served = stream::iter(thumbnails)
        .map(|url| {
            let (http, session) = (&http, &session);
            async move {
                let response = http
                    .get(url)
                    .header("cookie", session)
                    .send()
                    .await
                    .unwrap();
                let ok = response.status().is_success();
                let _ = response.bytes().await;
                ok
            }
        })
        .buffer_unordered(6)
        .filter(|ok| std::future::ready(*ok))
        .count()
        .await;
    assert_eq!(served, count * 2, "every thumbnail served");
    let took = started.elapsed();
    let peak = proc_field_kb(pid, "VmHWM:");
    agent.kill();
    (peak, took)
}
