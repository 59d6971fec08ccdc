//! Figure 3: peak memory uploading one huge file, and running a shoot of many photos.

use crate::common;
use crate::common::agent::Harness;
use std::path::Path;
use std::time::Duration;

use crate::harness::*;

/// Figure 3, memory: the agent's peak RSS while uploading one big file, and a many-file shoot.
pub(crate) async fn memory(sizes: &Sizes, work: &Path, rows: &mut Vec<Row>) {
    let sim = sim_with(Duration::from_secs(1)).await;
    let mut agent = Harness::new(&sim, 1, "");
    agent.start();
    let big = work.join("big/pano.dng");
    std::fs::create_dir_all(big.parent().unwrap()).unwrap();
    {
        let file = std::fs::File::create(&big).unwrap();
        file.set_len(sizes.big_file_mb * MB).unwrap();
        common::make_whole(&big);
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
