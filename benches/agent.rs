//! The benchmark harness behind BENCHMARKS.md. One run on one machine measures the agent
//! (the real release binary) against the simulator on loopback, side by side with the
//! ceilings it is judged against: raw disk reads, a bare parallel PUT loop, and the
//! reference flow a user would otherwise write (whole-file reads, one project at a time,
//! fixed 30 s polling).
//!
//! `cargo bench --bench agent -- --quick` runs small sizes (CI: it proves the harness
//! works and asserts nothing about speed); without `--quick` the sizes are the issue's.
//! `--write FILE` writes the table as Markdown.

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::agent::{Harness, tree};
use futures_util::{StreamExt, TryStreamExt, stream};
use imagen_sync::agent::scan;
use imagen_sync::api::{Client, ClientConfig, EditOptions, FileToUpload, ProjectStatus};
use imagen_sync::journal::{self, ShootState};
use imagen_sync::redact::ApiKey;
use imagen_sync::shoot::PairPolicy;
use imagen_sync::sim::Sim;

const MB: u64 = 1024 * 1024;

struct Sizes {
    upload_files: usize,
    upload_file_mb: u64,
    latency_photos: usize,
    big_file_mb: u64,
    many_files: usize,
    idle_shoots: usize,
    idle_seconds: u64,
    scale_shoots: usize,
    scale_files_per_shoot: usize,
}

const FULL: Sizes = Sizes {
    upload_files: 40,
    upload_file_mb: 25,
    latency_photos: 20,
    big_file_mb: 2048,
    many_files: 400,
    idle_shoots: 1000,
    // One default rescan period, so the figure includes one rescan's cost.
    idle_seconds: 120,
    scale_shoots: 1000,
    scale_files_per_shoot: 100,
};

const QUICK: Sizes = Sizes {
    upload_files: 4,
    upload_file_mb: 2,
    latency_photos: 4,
    big_file_mb: 100,
    many_files: 20,
    idle_shoots: 20,
    idle_seconds: 3,
    scale_shoots: 20,
    scale_files_per_shoot: 5,
};

struct Row {
    figure: String,
    target: String,
    measured: String,
    ratio: String,
}

fn row(figure: &str, target: &str, measured: String, ratio: String) -> Row {
    println!("{figure}: {measured} ({ratio})");
    Row {
        figure: figure.into(),
        target: target.into(),
        measured,
        ratio,
    }
}

fn proc_field_kb(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// User + system CPU seconds a process has used.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: f64 = fields.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0)
        + fields.get(12).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    ticks / 100.0
}

fn write_random_file(path: &Path, bytes: u64) {
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
        if written == 0 {
            // Starts as its format does, so intake takes it for a photo.
            let signature = common::photo_signature(path);
            block[..signature.len()].copy_from_slice(signature);
        }
        let n = (bytes - written).min(MB) as usize;
        file.write_all(&block[..n]).unwrap();
        written += n as u64;
    }
}

async fn sim_with(processing: Duration) -> Sim {
    common::start_sim(|c| {
        c.timings.pending_for = Duration::ZERO;
        c.timings.processing_for = processing;
    })
    .await
}

fn client(sim: &Sim) -> Client {
    Client::new(ClientConfig::new(sim.base_url(), ApiKey::new(common::KEY))).unwrap()
}

/// Moves a prepared folder into the agent's inbox in one rename (a finished copy).
fn drop_in(harness: &Harness, prepared: &Path, name: &str) {
    std::fs::rename(prepared, harness.inbox().join(name)).unwrap();
}

async fn wait_until(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    let started = Instant::now();
    while !check() {
        assert!(started.elapsed() < timeout, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn done_count(harness: &Harness) -> usize {
    harness
        .shoot_states()
        .iter()
        .filter(|(_, s)| s == "done")
        .count()
}

fn mb_per_s(bytes: u64, elapsed: Duration) -> f64 {
    bytes as f64 / MB as f64 / elapsed.as_secs_f64()
}

/// Figure 1, upload throughput: the agent against a bare parallel PUT loop and raw disk reads.
async fn upload_throughput(sizes: &Sizes, work: &Path, rows: &mut Vec<Row>) -> PathBuf {
    let shoot = work.join("throughput-shoot");
    for n in 0..sizes.upload_files {
        write_random_file(
            &shoot.join(format!("IMG_{n:03}.jpg")),
            sizes.upload_file_mb * MB,
        );
    }
    let files: Vec<PathBuf> = (0..sizes.upload_files)
        .map(|n| shoot.join(format!("IMG_{n:03}.jpg")))
        .collect();
    let total = sizes.upload_files as u64 * sizes.upload_file_mb * MB;
    flush_disk();

    let started = Instant::now();
    for file in &files {
        std::hint::black_box(std::fs::read(file).unwrap());
    }
    let disk = mb_per_s(total, started.elapsed());

    // The ceiling: the same bytes, PUT 4 at a time from memory, no agent around them.
    let sim = sim_with(Duration::from_secs(1)).await;
    let api = client(&sim);
    let uuid = api.create_project(Some("ceiling")).await.unwrap();
    let announce: Vec<FileToUpload> = files
        .iter()
        .map(|f| FileToUpload {
            file_name: f.file_name().unwrap().to_string_lossy().into(),
            md5: None,
        })
        .collect();
    let links = api.upload_links(&uuid, &announce).await.unwrap();
    let bare = reqwest::Client::new();
    let started = Instant::now();
    stream::iter(links.iter().zip(&files))
        .map(|(link, path)| {
            let bare = bare.clone();
            async move {
                let body = tokio::fs::read(path).await.unwrap();
                let response = bare
                    .put(link.upload_link.expose().clone())
                    .header("Content-Type", "")
                    .body(body)
                    .send()
                    .await?;
                assert!(response.status().is_success());
                Ok::<(), reqwest::Error>(())
            }
        })
        .buffer_unordered(4)
        .try_collect::<Vec<()>>()
        .await
        .unwrap();
    let ceiling = mb_per_s(total, started.elapsed());
    flush_disk();

    // The client library alone (in this process): where the agent's own overhead starts.
    let sim = sim_with(Duration::from_secs(1)).await;
    let api = client(&sim);
    let uuid = api.create_project(Some("library")).await.unwrap();
    let started = Instant::now();
    stream::iter(&files)
        .map(|path| {
            let (api, uuid) = (&api, &uuid);
            async move {
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                api.upload_file(uuid, path, &name, false, None).await
            }
        })
        .buffer_unordered(4)
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    let library = mb_per_s(total, started.elapsed());
    flush_disk();

    // The agent: the real binary, from the shoot landing in its inbox.
    let sim = sim_with(Duration::from_secs(1)).await;
    let mut agent = Harness::new(&sim, 1, "");
    if let Ok(parallel) = std::env::var("BENCH_PARALLEL_UPLOADS") {
        let config = std::fs::read_to_string(&agent.config).unwrap();
        let config = config.replace(
            "max_active_shoots = 2",
            &format!("max_active_shoots = 2\nmax_parallel_uploads = {parallel}"),
        );
        std::fs::write(&agent.config, config).unwrap();
    }
    agent.start();
    let copy = agent.dir.path().join("staging");
    copy_tree(&shoot, &copy);
    drop_in(&agent, &copy, "Throughput");
    wait_until("every upload", Duration::from_secs(600), || {
        sim.counters().total_uploads() == files.len() as u64
    })
    .await;
    let counters = sim.counters();
    let window = Duration::from_millis(
        counters.last_upload_ended_ms.unwrap() - counters.first_upload_began_ms.unwrap(),
    );
    let through_agent = mb_per_s(
        counters.bytes_uploaded,
        window.max(Duration::from_millis(1)),
    );
    agent.kill();

    let label = format!("{} files × {} MB", sizes.upload_files, sizes.upload_file_mb);
    rows.push(row(
        &format!("Upload throughput, agent ({label})"),
        "≥ 90% of the bare PUT loop",
        format!(
            "{through_agent:.0} MB/s (bare loop {ceiling:.0} MB/s, client library alone {library:.0} MB/s, disk read {disk:.0} MB/s)"
        ),
        format!("{:.2} of the bare loop", through_agent / ceiling),
    ));
    shoot
}

/// Copies a shoot, then flushes dirty pages so the write-back of the copy does not
/// slow down the measurement that follows.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
    flush_disk();
}

fn flush_disk() {
    let _ = std::process::Command::new("sync").status();
}

/// Figure 2, latency overhead: last file written → last JPEG in the outbox, minus
/// settle and the simulated processing time.
async fn latency_overhead(sizes: &Sizes, rows: &mut Vec<Row>) {
    let processing = Duration::from_secs(5);
    let settle = Duration::from_secs(1);
    let sim = sim_with(processing).await;
    let mut agent = Harness::new(&sim, settle.as_secs(), "");
    agent.start();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let shoot = agent.inbox().join("Latency");
    std::fs::create_dir_all(&shoot).unwrap();
    for n in 0..sizes.latency_photos {
        common::write_jpeg(&shoot.join(format!("IMG_{n:02}.jpg")), 1600, 1067);
    }
    let last_written = Instant::now();
    let outbox = agent.outbox().join("Latency");
    wait_until("every output", Duration::from_secs(120), || {
        tree(&outbox).iter().filter(|f| f.ends_with(".jpg")).count() == sizes.latency_photos
    })
    .await;
    let total = last_written.elapsed();
    let overhead = total.saturating_sub(settle + processing);
    agent.kill();
    rows.push(row(
        &format!(
            "Latency overhead ({}-photo shoot, 5 s processing, settle 1 s)",
            sizes.latency_photos
        ),
        "≤ 1 s",
        format!(
            "{:.2} s (total {:.2} s)",
            overhead.as_secs_f64(),
            total.as_secs_f64()
        ),
        format!("{:.2} of target", overhead.as_secs_f64()),
    ));
}

/// Figure 3, memory: the agent's peak RSS while uploading one big file, and a many-file shoot.
async fn memory(sizes: &Sizes, work: &Path, rows: &mut Vec<Row>) {
    let sim = sim_with(Duration::from_secs(1)).await;
    let mut agent = Harness::new(&sim, 1, "");
    agent.start();
    let big = work.join("big/pano.dng");
    std::fs::create_dir_all(big.parent().unwrap()).unwrap();
    {
        use std::io::Write;
        let mut file = std::fs::File::create(&big).unwrap();
        file.write_all(common::photo_signature(&big)).unwrap();
        file.set_len(sizes.big_file_mb * MB).unwrap();
    }
    drop_in(&agent, &work.join("big"), "Big");
    wait_until("the big upload", Duration::from_secs(900), || {
        sim.counters().multipart_completed == 1
    })
    .await;
    let big_peak = proc_field_kb(agent.agent.as_ref().unwrap().id(), "VmHWM:");
    agent.kill();

    let sim = sim_with(Duration::from_secs(1)).await;
    let mut agent = Harness::new(&sim, 1, "");
    agent.start();
    let many = work.join("many");
    std::fs::create_dir_all(&many).unwrap();
    for n in 0..sizes.many_files {
        common::write_jpeg(&many.join(format!("IMG_{n:03}.jpg")), 320, 240);
    }
    drop_in(&agent, &many, "Many");
    wait_until("the many-file shoot", Duration::from_secs(600), || {
        done_count(&agent) == 1
    })
    .await;
    let many_peak = proc_field_kb(agent.agent.as_ref().unwrap().id(), "VmHWM:");
    agent.kill();
    for (figure, peak) in [
        (
            format!("Peak RSS uploading one {} MB file", sizes.big_file_mb),
            big_peak,
        ),
        (
            format!("Peak RSS running a {}-file shoot", sizes.many_files),
            many_peak,
        ),
    ] {
        rows.push(row(
            &figure,
            "≤ 64 MB",
            format!("{:.1} MB", peak as f64 / 1024.0),
            format!("{:.2} of target", peak as f64 / 1024.0 / 64.0),
        ));
    }
}

/// Fills an inbox and the journal with `shoots` finished shoots of `files` photos each.
fn finished_shoots(harness: &Harness, shoots: usize, files: usize) {
    let data = harness.dir.path().join("data");
    let journal = journal::open(&data).unwrap();
    for s in 0..shoots {
        let folder = format!("Shoot {s:04}");
        let dir = harness.inbox().join(&folder);
        std::fs::create_dir_all(&dir).unwrap();
        for f in 0..files {
            std::fs::write(
                dir.join(format!("IMG_{f:03}.jpg")),
                [0xFF, 0xD8, 0xFF, 0xD9],
            )
            .unwrap();
        }
        let contents = scan::scan(&dir, PairPolicy::Raw).unwrap();
        let ids = journal
            .record_batches(
                &harness.inbox(),
                &folder,
                &harness.outbox().join(&folder),
                &EditOptions::default(),
                &contents.batches,
            )
            .unwrap();
        for id in ids {
            journal.set_project(id, "done-before").unwrap();
            for step in [
                ShootState::Editing,
                ShootState::Downloading,
                ShootState::Done,
            ] {
                journal.advance(id, step).unwrap();
            }
        }
    }
}

fn agent_log_has(harness: &Harness, needle: &str) -> bool {
    harness.logs().contains(needle)
}

/// Figures 4 and 5: idle cost with many finished shoots; start-up and `status --json` at scale.
async fn idle_and_scale(sizes: &Sizes, rows: &mut Vec<Row>) {
    let sim = sim_with(Duration::from_secs(1)).await;
    let mut agent = Harness::new(&sim, 1, "");
    finished_shoots(&agent, sizes.idle_shoots, 1);
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
        "< 0.1% of one core",
        format!("{percent:.3}% ({used:.2} s CPU)"),
        format!("{:.2} of target", percent / 0.1),
    ));
    rows.push(row(
        &format!("Idle RSS, {} finished shoots", sizes.idle_shoots),
        "≤ 30 MB",
        format!("{:.1} MB", rss as f64 / 1024.0),
        format!("{:.2} of target", rss as f64 / 1024.0 / 30.0),
    ));

    let sim = sim_with(Duration::from_secs(1)).await;
    let mut agent = Harness::new(&sim, 1, "");
    finished_shoots(&agent, sizes.scale_shoots, sizes.scale_files_per_shoot);
    let started = Instant::now();
    agent.start();
    wait_until("start-up scan", Duration::from_secs(300), || {
        agent_log_has(&agent, "start-up inbox scan done")
    })
    .await;
    let startup = started.elapsed();
    let mut status_times = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        agent.status();
        status_times.push(started.elapsed());
    }
    agent.kill();
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
        &format!("`status --json`, {label} (median of 5)"),
        "≤ 200 ms",
        format!("{} ms", status.as_millis()),
        format!("{:.2} of target", status.as_secs_f64() / 0.2),
    ));
}

/// Figure 6, the reference flow a user would otherwise write, run as a child process so
/// its memory is its own: one project, whole-file reads, sequential uploads, 30 s polls.
async fn reference_peer(base: &str, shoot: &Path, out: &Path) {
    let api = Client::new(ClientConfig::new(
        base.parse().unwrap(),
        ApiKey::new(common::KEY),
    ))
    .unwrap();
    let http = reqwest::Client::new();
    let uuid = api.create_project(Some("Reference flow")).await.unwrap();
    let mut names: Vec<PathBuf> = std::fs::read_dir(shoot)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    for path in &names {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let link = api
            .upload_links(
                &uuid,
                &[FileToUpload {
                    file_name: name,
                    md5: None,
                }],
            )
            .await
            .unwrap();
        let bytes = std::fs::read(path).unwrap();
        http.put(link[0].upload_link.expose().clone())
            .header("Content-Type", "")
            .body(bytes)
            .send()
            .await
            .unwrap();
    }
    api.edit(&uuid, &EditOptions::default()).await.unwrap();
    loop {
        if api.project(&uuid).await.unwrap().status == ProjectStatus::Completed {
            break;
        }
        tokio::time::sleep(Duration::from_secs(30)).await;
    }
    std::fs::create_dir_all(out).unwrap();
    for link in api.download_links(&uuid).await.unwrap() {
        let bytes = http
            .get(link.download_link.expose().clone())
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        std::fs::write(out.join(&link.file_name), bytes).unwrap();
    }
    println!(
        "PEER_PEAK_KB={}",
        proc_field_kb(std::process::id(), "VmHWM:")
    );
}

async fn versus_reference(sizes: &Sizes, shoot: &Path, work: &Path, rows: &mut Vec<Row>) {
    let processing = Duration::from_secs(5);
    let sim = sim_with(processing).await;
    let started = Instant::now();
    let peer = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--peer", sim.base_url().as_str()])
        .arg(shoot)
        .arg(work.join("peer-out"))
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let output = tokio::task::spawn_blocking(move || peer.wait_with_output().unwrap())
        .await
        .unwrap();
    let peer_time = started.elapsed();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let peer_kb: u64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("PEER_PEAK_KB="))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| {
            panic!(
                "the peer failed: {stdout}\n{}",
                String::from_utf8_lossy(&output.stderr)
            )
        });

    let sim = sim_with(processing).await;
    let mut agent = Harness::new(&sim, 1, "");
    agent.start();
    let copy = agent.dir.path().join("staging");
    copy_tree(shoot, &copy);
    let started = Instant::now();
    drop_in(&agent, &copy, "Versus");
    wait_until("the agent's shoot", Duration::from_secs(900), || {
        done_count(&agent) == 1
    })
    .await;
    let agent_time = started.elapsed();
    let agent_kb = proc_field_kb(agent.agent.as_ref().unwrap().id(), "VmHWM:");
    agent.kill();
    let label = format!(
        "{} × {} MB, 5 s processing",
        sizes.upload_files, sizes.upload_file_mb
    );
    rows.push(row(
        &format!("Wall time vs the reference flow ({label})"),
        "faster",
        format!(
            "agent {:.1} s, reference {:.1} s (agent includes 1 s settle)",
            agent_time.as_secs_f64(),
            peer_time.as_secs_f64()
        ),
        format!(
            "{:.2}× the reference's time",
            agent_time.as_secs_f64() / peer_time.as_secs_f64()
        ),
    ));
    rows.push(row(
        &format!("Peak RSS vs the reference flow ({label})"),
        "smaller",
        format!(
            "agent {:.1} MB, reference {:.1} MB",
            agent_kb as f64 / 1024.0,
            peer_kb as f64 / 1024.0
        ),
        format!(
            "{:.2}× the reference's memory",
            agent_kb as f64 / peer_kb as f64
        ),
    ));
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cpu}, {cores} cores, {}", std::env::consts::OS)
}

fn markdown(rows: &[Row], quick: bool) -> String {
    let command = if quick {
        "cargo bench --bench agent -- --quick"
    } else {
        "cargo bench --bench agent -- --write BENCHMARKS.md"
    };
    let mut text = format!(
        "Machine: {}. Command: `{command}`.\n\n| figure | target | measured | ratio |\n|---|---|---|---|\n",
        machine()
    );
    for r in rows {
        text.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            r.figure, r.target, r.measured, r.ratio
        ));
    }
    text
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    if let Some(at) = args.iter().position(|a| a == "--peer") {
        let (base, shoot, out) = (&args[at + 1], &args[at + 2], &args[at + 3]);
        runtime.block_on(reference_peer(base, Path::new(shoot), Path::new(out)));
        return;
    }
    // `cargo test --all-targets` runs this binary too, without `--bench`: measuring on a
    // machine busy with tests means nothing, and CI runs `--quick` on its own.
    if !args.iter().any(|a| a == "--bench") {
        println!(
            "benchmarks run with `cargo bench --bench agent` (see BENCHMARKS.md); skipped under cargo test"
        );
        return;
    }
    let quick = args.iter().any(|a| a == "--quick");
    let write_to = args
        .iter()
        .position(|a| a == "--write")
        .map(|at| PathBuf::from(&args[at + 1]));
    let sizes = if quick { &QUICK } else { &FULL };
    // `--only throughput|latency|versus|memory|idle`: one group, while working on it.
    let only = args
        .iter()
        .position(|a| a == "--only")
        .map(|at| args[at + 1].clone());
    let wanted = |group: &str| only.as_deref().is_none_or(|o| o == group);
    let work = tempfile::tempdir().unwrap();
    let mut rows = Vec::new();
    runtime.block_on(async {
        if wanted("throughput") || wanted("versus") {
            let shoot = upload_throughput(sizes, work.path(), &mut rows).await;
            if wanted("versus") {
                versus_reference(sizes, &shoot, work.path(), &mut rows).await;
            }
        }
        if wanted("latency") {
            latency_overhead(sizes, &mut rows).await;
        }
        if wanted("memory") {
            memory(sizes, work.path(), &mut rows).await;
        }
        if wanted("idle") {
            idle_and_scale(sizes, &mut rows).await;
        }
    });
    let table = markdown(&rows, quick);
    println!("\n{table}");
    if let Some(path) = write_to {
        let document = std::fs::read_to_string(&path).unwrap_or_default();
        let marker = "<!-- table -->";
        let updated = match document.split_once(marker) {
            Some((head, _)) => format!("{head}{marker}\n{table}"),
            None => format!("{document}\n{marker}\n{table}"),
        };
        std::fs::write(&path, updated).unwrap();
    }
}
