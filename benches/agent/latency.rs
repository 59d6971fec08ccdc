//! Figure 2: the latency the agent adds to a shoot, beyond settling and processing.

use crate::common;
use crate::common::agent::{Harness, tree};
use std::time::{Duration, Instant};

use crate::harness::*;

/// Figure 2, latency overhead: last file written → last JPEG in the outbox, minus
/// settle and the simulated processing time.
pub(crate) async fn latency_overhead(sizes: &Sizes, rows: &mut Vec<Row>) {
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
