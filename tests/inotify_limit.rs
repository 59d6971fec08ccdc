//! The inotify watch limit reached: the agent cannot watch its inbox natively, says so
//! once (with the fix), and still finds new shoots by rescanning. The limit is a global
//! setting, so this test is alone in its binary (cargo runs test binaries one at a
//! time), needs root to lower it (CI runs as root; elsewhere it says so and skips), and
//! restores it however it ends.

#[path = "it/common/mod.rs"]
mod common;

use std::time::Duration;

use common::agent::{Harness, wait_for};
use common::{start_sim, write_jpeg};

const LIMIT: &str = "/proc/sys/fs/inotify/max_user_watches";

/// Lowers the limit; puts the old value back when dropped (panics included).
struct LoweredLimit {
    previous: String,
}

impl LoweredLimit {
    fn to(value: u32) -> Option<LoweredLimit> {
        let previous = std::fs::read_to_string(LIMIT).ok()?;
        if std::fs::write(LIMIT, value.to_string()).is_err() {
            eprintln!("SKIPPED: lowering {LIMIT} needs root (CI runs this as root)");
            return None;
        }
        Some(LoweredLimit { previous })
    }
}

impl Drop for LoweredLimit {
    fn drop(&mut self) {
        let _ = std::fs::write(LIMIT, self.previous.trim());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_watch_limit_the_agent_warns_once_and_finds_shoots_by_rescanning() {
    let sim = start_sim(|_| {}).await;
    let mut agent = Harness::new(&sim, 1, "");
    agent.edit_config(
        "settle_seconds = 1
",
        "settle_seconds = 1
rescan_seconds = 5
",
    );
    // More folders than watches allowed.
    for n in 0..40 {
        std::fs::create_dir_all(agent.inbox().join(format!("Archive/{n:02}"))).unwrap();
    }
    let Some(_limit) = LoweredLimit::to(8) else {
        return;
    };
    agent.start();
    let warning = "raise fs.inotify.max_user_watches";
    wait_for(&agent, "the warning", Duration::from_secs(30), || {
        agent.logs().contains(warning)
    })
    .await;
    let shoot = agent.inbox().join("Found By Rescan");
    std::fs::create_dir_all(&shoot).unwrap();
    write_jpeg(&shoot.join("Room.jpg"), 200, 150);
    wait_for(
        &agent,
        "the shoot found by rescanning",
        Duration::from_secs(60),
        || {
            agent
                .shoot_states()
                .iter()
                .any(|(f, s)| f == "Found By Rescan" && s == "done")
        },
    )
    .await;
    tokio::time::sleep(Duration::from_secs(6)).await; // at least one more rescan
    assert_eq!(agent.logs().matches(warning).count(), 1, "said once");
    assert!(agent.is_running());
    agent.kill();
}
