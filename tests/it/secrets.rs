//! Secrets stay secret across a whole run of the real agent: logged at TRACE level
//! through faults, stale links, a failed edit, a crash and a rejected key, neither the
//! API key nor any presigned signature appears in its logs, its log files, `status
//! --json`, the CLI's answers or the journal; the data folder is the user's alone.

use std::time::Duration;

use crate::common::agent::{Harness, wait_for};
use crate::common::{KEY, start_sim, write_jpeg};
use imagen_sync::sim::Faults;

const LONG: Duration = Duration::from_secs(90);
const WRONG_KEY: &str = "wrong-key-5d1c77a0e2";

fn every_file_below(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                found.push(path);
            }
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_key_or_presigned_signature_appears_anywhere_a_user_or_log_reader_looks() {
    let sim = start_sim(|c| c.link_lifetime = Duration::from_secs(3)).await;
    sim.set_faults(Faults {
        api_error_rate: 0.1,
        storage_error_rate: 0.1,
        drop_rate: 0.05,
        stale_links: 3,
        fail_names_containing: vec!["Doomed".into()],
        ..Faults::default()
    });
    let mut agent = Harness::new(&sim, 1, "");
    agent.log_filter = "trace".into();
    for shoot in ["Fine Listing", "Doomed Listing"] {
        let folder = agent.inbox().join(shoot);
        std::fs::create_dir_all(&folder).unwrap();
        for n in 0..4 {
            write_jpeg(&folder.join(format!("photo {n}.jpg")), 200, 150);
        }
    }
    agent.start();
    wait_for(&agent, "some uploads", LONG, || {
        sim.counters().total_uploads() >= 2
    })
    .await;
    agent.kill(); // a crash mid-run: whatever it printed is checked too
    agent.start();
    wait_for(&agent, "one done, one failed", LONG, || {
        let mut states: Vec<String> = agent.shoot_states().into_iter().map(|(_, s)| s).collect();
        states.sort();
        states == ["done", "failed"]
    })
    .await;
    let mut said = vec![
        agent.run_cli(&["status", "--json"]),
        agent.run_cli(&["status"]),
        agent.run_cli(&["retry", "--all"]),
    ];
    agent.kill();

    // A rejected key: the errors name the problem, never the key.
    agent.key = WRONG_KEY.into();
    agent.start();
    wait_for(&agent, "the rejection reported", LONG, || {
        agent.logs().contains("rejected")
    })
    .await;
    said.push(agent.run_cli(&["status"]));
    agent.kill();

    let mut places: Vec<(String, String)> = vec![("agent stderr".into(), agent.logs())];
    for (n, text) in said.into_iter().enumerate() {
        places.push((format!("CLI answer {n}"), text));
    }
    let data = agent.dir.path().join("data");
    for file in every_file_below(&data) {
        let bytes = std::fs::read(&file).unwrap();
        places.push((
            file.display().to_string(),
            String::from_utf8_lossy(&bytes).into_owned(),
        ));
    }
    assert!(
        places
            .iter()
            .any(|(place, text)| place.contains("logs") && text.contains("TRACE")),
        "the log files were written at TRACE level"
    );
    for (place, text) in &places {
        for secret in [KEY, WRONG_KEY, "X-Amz-Signature=", "Signature="] {
            assert!(!text.contains(secret), "{secret:?} leaked into {place}");
        }
    }
    assert!(
        agent.logs().contains("Unauthorized") || agent.logs().contains("rejected"),
        "the rejection is said plainly"
    );

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&data).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the data folder is user-only: {mode:o}");
    }
}
