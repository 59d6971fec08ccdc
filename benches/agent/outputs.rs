//! Figure 9: a big shoot's outputs written at disk speed. A shoot of thousands of small
//! photos against the simulator on loopback; the rate at which their edited photos land
//! in the outbox, from the shoot turning to downloading until the last is in place.

use crate::common::agent::Harness;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::harness::*;

pub(crate) async fn outputs_rate(sizes: &Sizes, work: &Path, rows: &mut Vec<Row>) {
    let count = sizes.many_outputs;
    let sim = sim_with(Duration::from_secs(1)).await;
    let mut agent = Harness::new(&sim, 1, "");
    // A shoot this big is meant: neither the confirmation nor the daily limit stops it.
    agent.edit_config(
        "max_active_shoots = 2\n",
        "max_active_shoots = 2\nconfirm_above = 0\ndaily_photo_limit = 0\n",
    );
    let shoot = work.join("many-outputs");
    std::fs::create_dir_all(&shoot).unwrap();
    for n in 0..count {
        crate::common::write_jpeg(&shoot.join(format!("IMG_{n:04}.jpg")), 64, 48);
    }
    flush_disk();
    agent.start();
    drop_in(&agent, &shoot, "Wedding");
    let state = || agent.shoot_states().first().map(|(_, s)| s.clone());
    wait_until("the shoot downloading", Duration::from_secs(600), || {
        state().is_some_and(|s| s == "downloading" || s == "done")
    })
    .await;
    let started = Instant::now();
    wait_until("every output", Duration::from_secs(600), || {
        state().is_some_and(|s| s == "done")
    })
    .await;
    let took = started.elapsed();
    let delivered = crate::common::agent::tree(&agent.outbox().join("Wedding"))
        .iter()
        .filter(|name| name.ends_with(".jpg"))
        .count();
    agent.kill();
    assert_eq!(delivered, count, "every edited photo in the outbox");
    let rate = count as f64 / took.as_secs_f64();
    rows.push(row(
        &format!("Outputs written, a {count}-photo shoot of small photos"),
        "≥ 300 a second",
        format!(
            "{rate:.0} a second ({count} in {:.1} s)",
            took.as_secs_f64()
        ),
        format!("{:.2} of target", rate / 300.0),
    ));
}
