//! What every figure shares: the sizes, a row of the table, reading the agent's CPU
//! and memory from /proc, test files, the simulator and waiting.

use crate::common;
use crate::common::agent::Harness;
use imagen_sync::api::{Client, ClientConfig};
use imagen_sync::redact::ApiKey;
use imagen_sync::sim::Sim;
use std::path::Path;
use std::time::{Duration, Instant};

pub(crate) const MB: u64 = 1024 * 1024;

pub(crate) struct Sizes {
    pub upload_files: usize,
    pub upload_file_mb: u64,
    pub latency_photos: usize,
    pub big_file_mb: u64,
    pub many_files: usize,
    /// Photos in the shoot whose outputs' writing rate is measured.
    pub many_outputs: usize,
    pub idle_shoots: usize,
    pub idle_seconds: u64,
    pub scale_shoots: usize,
    pub scale_files_per_shoot: usize,
    pub studio_shoots: usize,
    pub studio_photos: usize,
    pub studio_processing_seconds: u64,
    pub studio_lease_seconds: u64,
    /// `upload_limit` for the rate-keeping figure, MB/s.
    pub upload_limit_mb: u64,
    /// Photos in each big-photo shoot (downloads, thumbnails).
    pub big_photos: usize,
    /// Full-size outputs downloaded: 24 MP.
    pub download_pixels: (u32, u32),
    /// Photos whose thumbnails are served: 45 MP.
    pub thumbnail_pixels: (u32, u32),
    pub live: LiveSizes,
}

/// A live shoot: photos landing one every `every` for `span`.
pub(crate) struct LiveSizes {
    pub span: Duration,
    pub every: Duration,
    pub batch: Duration,
    pub processing: Duration,
    pub settle_seconds: u64,
}

pub(crate) const FULL: Sizes = Sizes {
    upload_files: 40,
    upload_file_mb: 25,
    latency_photos: 20,
    big_file_mb: 2048,
    many_files: 400,
    // A wedding.
    many_outputs: 3000,
    // Years of a busy photographer's shoots left in the inbox.
    idle_shoots: 10_000,
    // One default rescan period, so the figure includes one rescan's cost.
    idle_seconds: 120,
    scale_shoots: 10_000,
    scale_files_per_shoot: 100,
    studio_shoots: 60,
    studio_photos: 10,
    studio_processing_seconds: 5,
    studio_lease_seconds: 30,
    // 1 GB at 20 MB/s: about 50 s, past the 20 s the figure asks for.
    upload_limit_mb: 20,
    big_photos: 40,
    download_pixels: (6000, 4000),
    // A 45 MP camera's frame (8256 × 5504).
    thumbnail_pixels: (8256, 5504),
    // The default settle time, as a new user has it.
    live: LiveSizes {
        span: Duration::from_secs(120),
        every: Duration::from_secs(3),
        batch: Duration::from_secs(20),
        processing: Duration::from_secs(5),
        settle_seconds: 10,
    },
};

pub(crate) const QUICK: Sizes = Sizes {
    upload_files: 4,
    upload_file_mb: 2,
    latency_photos: 4,
    big_file_mb: 100,
    many_files: 20,
    many_outputs: 30,
    idle_shoots: 20,
    idle_seconds: 3,
    scale_shoots: 20,
    scale_files_per_shoot: 5,
    studio_shoots: 6,
    studio_photos: 3,
    studio_processing_seconds: 1,
    studio_lease_seconds: 5,
    upload_limit_mb: 2,
    big_photos: 3,
    download_pixels: (600, 400),
    thumbnail_pixels: (826, 550),
    live: LiveSizes {
        span: Duration::from_secs(6),
        every: Duration::from_secs(1),
        batch: Duration::from_secs(2),
        processing: Duration::from_secs(1),
        settle_seconds: 1,
    },
};

pub(crate) struct Row {
    pub figure: String,
    pub target: String,
    pub measured: String,
    pub ratio: String,
}

pub(crate) fn row(figure: &str, target: &str, measured: String, ratio: String) -> Row {
    println!("{figure}: {measured} ({ratio})");
    Row {
        figure: figure.into(),
        target: target.into(),
        measured,
        ratio,
    }
}

pub(crate) fn proc_field_kb(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// User + system CPU seconds a process has used.
pub(crate) fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: f64 = fields.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0)
        + fields.get(12).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    ticks / 100.0
}

pub(crate) fn write_random_file(path: &Path, bytes: u64) {
    use std::io::Write;
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut block = vec![0u8; MB as usize];
    let mut written = 0;
    let mut seed = path.to_string_lossy().len() as u32 | 1;
    while written < bytes {
        for byte in block.iter_mut() {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            *byte = seed as u8;
        }
        let n = (bytes - written).min(MB) as usize;
        file.write_all(&block[..n]).unwrap();
        written += n as u64;
    }
    drop(file);
    // Starts and ends as its format does, so intake takes it for a whole photo.
    common::make_whole(path);
}

pub(crate) async fn sim_with(processing: Duration) -> Sim {
    common::start_sim(|c| {
        c.timings.pending_for = Duration::ZERO;
        c.timings.processing_for = processing;
    })
    .await
}

/// For the transfer figures: a simulator that checks and counts uploaded bytes but
/// drops them. Writing a gigabyte to the same disk would otherwise weigh on whichever
/// process also writes there (the agent's journal waits for that disk), which a real
/// storage service far away never does.
pub(crate) async fn counting_sim() -> Sim {
    common::start_sim(|c| {
        c.timings.pending_for = Duration::ZERO;
        c.keep_upload_bytes = false;
    })
    .await
}

/// For the big-photo figures: outputs as big as their inputs.
pub(crate) async fn full_size_sim() -> Sim {
    common::start_sim(|c| {
        c.timings.pending_for = Duration::ZERO;
        c.timings.processing_for = Duration::from_secs(1);
        c.full_size_outputs = true;
    })
    .await
}

pub(crate) fn client(sim: &Sim) -> Client {
    Client::new(ClientConfig::new(sim.base_url(), ApiKey::new(common::KEY))).unwrap()
}

/// Moves a prepared folder into the agent's inbox in one rename (a finished copy).
pub(crate) fn drop_in(harness: &Harness, prepared: &Path, name: &str) {
    std::fs::rename(prepared, harness.inbox().join(name)).unwrap();
}

pub(crate) async fn wait_until(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    let started = Instant::now();
    while !check() {
        assert!(started.elapsed() < timeout, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub(crate) fn done_count(harness: &Harness) -> usize {
    harness
        .shoot_states()
        .iter()
        .filter(|(_, s)| s == "done")
        .count()
}

pub(crate) fn mb_per_s(bytes: u64, elapsed: Duration) -> f64 {
    bytes as f64 / MB as f64 / elapsed.as_secs_f64()
}

/// Copies a shoot, then flushes dirty pages so the write-back of the copy does not
/// slow down the measurement that follows.
pub(crate) fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
    flush_disk();
}

pub(crate) fn flush_disk() {
    let _ = std::process::Command::new("sync").status();
}
