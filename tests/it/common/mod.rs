//! Shared test fixtures: a simulator on loopback, a client pointed at it, real JPEGs,
//! and (in `agent`) the real agent binary run against it.
#![allow(dead_code)]

pub(crate) mod agent;
pub(crate) mod browser;
#[cfg(target_os = "linux")]
pub(crate) mod bus;
pub(crate) mod dashboard;
pub(crate) mod hook;
pub(crate) mod postgres;
pub(crate) mod proxy;

use std::path::{Path, PathBuf};
use std::time::Duration;

use imagen_sync::api::{Client, ClientConfig, RetryPolicy};
use imagen_sync::redact::ApiKey;
use imagen_sync::sim::{Sim, SimConfig};

pub(crate) const KEY: &str = "test-key-9f2c1e7a5b";

/// A simulator with fast timings, on a free loopback port.
pub(crate) async fn start_sim(adjust: impl FnOnce(&mut SimConfig)) -> Sim {
    let mut config = SimConfig::new(KEY);
    config.timings.pending_for = Duration::from_millis(50);
    config.timings.processing_for = Duration::from_millis(300);
    adjust(&mut config);
    Sim::start(config, 0).await.expect("simulator starts")
}

/// Retries quickly so tests do not sleep for real backoffs.
pub(crate) fn fast_retry(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(50),
        max_retry_after: Duration::from_secs(5),
    }
}

pub(crate) fn client_for(sim: &Sim, adjust: impl FnOnce(&mut ClientConfig)) -> Client {
    let mut config = ClientConfig::new(sim.base_url(), ApiKey::new(KEY));
    config.retry = fast_retry(4);
    adjust(&mut config);
    Client::new(config).expect("client builds")
}

/// Puts a shoot of `photos` real JPEGs (`IMG_00.jpg`, `IMG_01.jpg`, …) of the given
/// size into `inbox/name`, and returns its folder.
pub(crate) fn write_shoot(inbox: &Path, name: &str, photos: usize, size: (u32, u32)) -> PathBuf {
    let folder = inbox.join(name);
    std::fs::create_dir_all(&folder).unwrap();
    for n in 0..photos {
        write_jpeg(&folder.join(format!("IMG_{n:02}.jpg")), size.0, size.1);
    }
    folder
}

/// Writes a real, decodable JPEG of the given size.
/// Lands a photo whole at its final name, as a camera's transfer does: written under a
/// hidden name, then renamed.
pub(crate) fn land_whole(shoot: &Path, name: &str, bytes: &[u8]) {
    let hidden = shoot.join(format!(".{name}.part"));
    std::fs::write(&hidden, bytes).unwrap();
    std::fs::rename(&hidden, shoot.join(name)).unwrap();
}

pub(crate) fn write_jpeg(path: &Path, width: u32, height: u32) {
    let image = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
    });
    image.save(path).expect("write sample JPEG");
}

fn extension(path: &Path) -> String {
    path.extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// Writes a stand-in photo of `path`'s kind that intake takes as whole (the smallest
/// structure of its format, see `whole::stand_in`), holding `text` so two differ.
pub(crate) fn write_stand_in(path: &Path, text: &str) {
    let mut bytes = imagen_sync::agent::whole::stand_in(&extension(path), 64 + text.len(), 1);
    // Past the JPEG's headers (25 bytes) or the RAW's first directory: free bytes.
    bytes[32..32 + text.len()].copy_from_slice(text.as_bytes());
    std::fs::write(path, bytes).unwrap();
}

/// Turns a file of any bytes (written by a benchmark, or sparse) into a whole photo of
/// its kind: its format's headers at the start and, for a JPEG, its end marker at the
/// end. A RAW shorter than a real one is grown to the smallest size taken.
pub(crate) fn make_whole(path: &Path) {
    use std::io::{Seek, SeekFrom, Write};
    let ext = extension(path);
    let mut file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    let len = file.metadata().unwrap().len();
    let stand_in = imagen_sync::agent::whole::stand_in(&ext, 0, 1);
    let is_jpeg = ext == "jpg" || ext == "jpeg";
    let head = match is_jpeg {
        true => &stand_in[..25],
        false => &stand_in[..32],
    };
    if !is_jpeg && len < stand_in.len() as u64 {
        file.set_len(stand_in.len() as u64).unwrap();
    }
    file.write_all(head).unwrap();
    if is_jpeg {
        file.seek(SeekFrom::Start(len.max(27) - 2)).unwrap();
        file.write_all(&[0xFF, 0xD9]).unwrap();
    }
}

/// Creates a file of `len` bytes with a varied, checkable pattern.
pub(crate) fn write_pattern(path: &Path, len: usize) -> PathBuf {
    let bytes: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
    std::fs::write(path, bytes).expect("write pattern file");
    path.to_owned()
}

/// Polls the project until it is Completed or Failed.
pub(crate) async fn wait_until_finished(
    client: &Client,
    uuid: &str,
) -> imagen_sync::api::ProjectStatus {
    for _ in 0..200 {
        let project = client.project(uuid).await.expect("status poll");
        if project.status.is_finished() {
            return project.status;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("project {uuid} never finished");
}
