//! The benchmark harness behind BENCHMARKS.md. One run on one machine measures the agent
//! (the real release binary) against the simulator on loopback, side by side with the
//! ceilings it is judged against: raw disk reads, a bare parallel PUT loop, and the
//! reference flow a user would otherwise write (whole-file reads, one project at a time,
//! fixed 30 s polling).
//!
//! `cargo bench --bench agent -- --quick` runs small sizes; so does `cargo test
//! --all-targets` (the README's test command, hence CI), which proves the harness works
//! and asserts nothing about speed. Without `--quick` the sizes are the issue's.
//! `--write FILE` writes the table as Markdown.

mod big_photos;
#[path = "../../tests/it/common/mod.rs"]
mod common;
mod harness;
mod idle;
mod latency;
mod link;
mod live;
mod memory;
mod outputs;
mod reference;
mod report;
mod studio;
mod throughput;
mod uplink;

use big_photos::big_photos;
use harness::{FULL, QUICK};
use idle::idle_and_scale;
use latency::latency_overhead;
use live::live_shoot;
use memory::memory;
use outputs::outputs_rate;
use reference::{reference_peer, versus_reference};
use report::markdown;
use studio::studio_scaling;
use throughput::{limited_rate, upload_throughput};
use uplink::{uplink, uplink_peer};

use std::path::{Path, PathBuf};

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
    if let Some(at) = args.iter().position(|a| a == "--uplink-peer") {
        let (base, shoot) = (&args[at + 1], &args[at + 2]);
        runtime.block_on(uplink_peer(base, Path::new(shoot)));
        return;
    }
    // `cargo test --all-targets` runs this binary too, without `--bench`: measuring on a
    // machine busy with tests means nothing, so it runs the small sizes only, to prove
    // the harness still works (CI relies on that; it asserts nothing about speed).
    let under_test = !args.iter().any(|a| a == "--bench");
    if under_test {
        println!("under cargo test: the small sizes, to check the harness (figures mean nothing)");
    }
    let quick = under_test || args.iter().any(|a| a == "--quick");
    let write_to = args
        .iter()
        .position(|a| a == "--write")
        .map(|at| PathBuf::from(&args[at + 1]));
    let sizes = if quick { &QUICK } else { &FULL };
    // `--only throughput|uplink|latency|live|versus|memory|outputs|idle|studio`: one group, while working on it
    // (`big-photos`, or `downloads` and `thumbnails`: the big-photo part of memory).
    let only = args
        .iter()
        .position(|a| a == "--only")
        .map(|at| args[at + 1].clone());
    let wanted = |group: &str| {
        only.as_deref().is_none_or(|o| {
            o == group || (group == "big-photos" && ["downloads", "thumbnails"].contains(&o))
        })
    };
    let work = tempfile::tempdir().unwrap();
    let mut rows = Vec::new();
    runtime.block_on(async {
        if wanted("throughput") || wanted("versus") || wanted("uplink") {
            let shoot = upload_throughput(sizes, work.path(), &mut rows).await;
            if wanted("uplink") {
                uplink(sizes, &shoot, &mut rows).await;
            }
            if wanted("throughput") {
                limited_rate(sizes, &shoot, work.path(), &mut rows).await;
            }
            if wanted("versus") {
                versus_reference(sizes, &shoot, work.path(), &mut rows).await;
            }
        }
        if wanted("latency") {
            latency_overhead(sizes, &mut rows).await;
        }
        if wanted("live") {
            live_shoot(sizes, &mut rows).await;
        }
        if wanted("memory") {
            memory(sizes, work.path(), &mut rows).await;
        }
        if wanted("memory") || wanted("big-photos") {
            big_photos(sizes, work.path(), &mut rows, only.as_deref()).await;
        }
        if wanted("outputs") {
            outputs_rate(sizes, work.path(), &mut rows).await;
        }
        if wanted("idle") {
            idle_and_scale(sizes, &mut rows).await;
        }
        if wanted("studio") {
            studio_scaling(sizes, &mut rows).await;
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
