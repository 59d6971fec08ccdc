//! Streaming is proven, not assumed: a 1 GiB file goes up as multipart while the
//! uploading process (a child, so the simulator's memory does not count) grows its peak
//! RSS by less than 32 MB.

use std::process::Command;
use std::time::Duration;

use crate::common::*;
use imagen_sync::api::UploadMethod;

const GIB: u64 = 1024 * 1024 * 1024;
const CHILD_ENV: &str = "IMAGEN_SYNC_UPLOAD_CHILD";
const BUDGET_KB: u64 = 32 * 1024;

fn status_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("{field} in /proc/self/status"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploading_a_1_gib_file_raises_peak_rss_by_less_than_32_mb() {
    // Only sizes matter here: the simulator drops the gigabyte instead of storing it
    // twice (parts, then the whole), which a CI machine's small disk may not hold.
    let sim = start_sim(|config| config.keep_upload_bytes = false).await;
    let client = client_for(&sim, |_| {});
    let uuid = client.create_project(Some("Big RAW")).await.unwrap();
    let project = uuid.clone();
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("pano.dng");
    let warmup = write_pattern(&dir.path().join("warmup.dng"), 256 * 1024);
    let file = std::fs::File::create(&big).unwrap();
    file.set_len(GIB).unwrap();
    drop(file);

    let exe = std::env::current_exe().unwrap();
    let spec = format!(
        "{}|{project}|{}|{}",
        sim.base_url(),
        big.display(),
        warmup.display()
    );
    let output = tokio::task::spawn_blocking(move || {
        Command::new(exe)
            .args([
                "--ignored",
                "--exact",
                "streaming_memory::upload_child",
                "--nocapture",
                "--test-threads",
                "1",
            ])
            .env(CHILD_ENV, spec)
            .output()
            .unwrap()
    });
    let output = tokio::time::timeout(Duration::from_secs(600), output)
        .await
        .expect("the upload finishes")
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let growth_kb: u64 = stdout
        .lines()
        .find_map(|l| l.split_once("PEAK_RSS_GROWTH_KB=").map(|(_, kb)| kb.trim()))
        .unwrap_or_else(|| panic!("the child reports its growth:\n{stdout}"))
        .parse()
        .unwrap();
    println!("peak RSS growth while uploading 1 GiB: {} KB", growth_kb);
    assert!(growth_kb < BUDGET_KB, "peak RSS grew by {growth_kb} KB");
    let counters = sim.counters();
    assert_eq!(
        (counters.multipart_completed, counters.multipart_aborted),
        (1, 0)
    );
    assert_eq!(
        sim.input_sizes(&uuid)["pano.dng"],
        GIB,
        "every byte arrived"
    );
}

/// Runs only inside the child process started by the test above.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "runs as the child of uploading_a_1_gib_file_raises_peak_rss_by_less_than_32_mb"]
async fn upload_child() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let parts: Vec<&str> = spec.split('|').collect();
    let [base, uuid, big, warmup] = parts[..] else {
        panic!("bad child spec {spec}");
    };
    let mut config = imagen_sync::api::ClientConfig::new(
        base.parse().unwrap(),
        imagen_sync::redact::ApiKey::new(KEY),
    );
    config.retry = fast_retry(3);
    let client = imagen_sync::api::Client::new(config).unwrap();
    // Warm up: connections, TLS-free HTTP machinery, allocator arenas.
    client
        .upload_file(uuid, warmup.as_ref(), "warmup.dng", true, None)
        .await
        .unwrap();

    // Reset the peak to the current RSS (Linux: "5" to clear_refs), then measure.
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let before = if reset {
        status_kb("VmRSS:")
    } else {
        status_kb("VmHWM:")
    };
    let method = client
        .upload_file(uuid, big.as_ref(), "pano.dng", false, None)
        .await
        .unwrap();
    let peak = status_kb("VmHWM:");
    assert_eq!(method, UploadMethod::Multipart { parts: 16 });
    println!("PEAK_RSS_GROWTH_KB={}", peak.saturating_sub(before));
}
