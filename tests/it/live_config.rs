//! Settings changed while the agent runs, and the very first run: the real binary, its
//! config file edited the way editors save (write aside, then rename), the simulator
//! on loopback.

use crate::common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::agent::{Harness, tree, wait_for};
use crate::common::{start_sim, write_shoot};

const LONG: Duration = Duration::from_secs(60);

fn drop_shoot(inbox: &Path, name: &str) {
    write_shoot(inbox, name, 2, (64, 48));
}

/// Saves like an editor does: a new file beside the old one, renamed over it.
fn save_config(path: &Path, text: &str) {
    let aside = path.with_extension("toml.swp");
    std::fs::write(&aside, text).unwrap();
    std::fs::rename(&aside, path).unwrap();
}

fn photos_in(folder: &Path) -> usize {
    tree(folder).iter().filter(|f| f.ends_with(".jpg")).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outbox_changed_while_running_receives_the_next_shoot() {
    let sim = start_sim(|_| {}).await;
    let mut agent = Harness::new(&sim, 1, "");
    agent.start();
    drop_shoot(&agent.inbox(), "First Listing");
    wait_for(&agent, "the first shoot in the old outbox", LONG, || {
        photos_in(&agent.outbox().join("First Listing")) == 2
    })
    .await;

    let new_outbox = agent.dir.path().join("Delivered");
    let text = std::fs::read_to_string(&agent.config).unwrap();
    let old_outbox = format!("outbox = \"{}\"", agent.outbox().display());
    assert!(text.contains(&old_outbox));
    save_config(
        &agent.config,
        &text.replace(
            &old_outbox,
            &format!("outbox = \"{}\"", new_outbox.display()),
        ),
    );
    wait_for(
        &agent,
        "the agent restarted on the new settings",
        LONG,
        || {
            agent
                .logs()
                .contains("config changed: restarting the agent")
        },
    )
    .await;

    drop_shoot(&agent.inbox(), "Second Listing");
    wait_for(&agent, "the second shoot in the new outbox", LONG, || {
        photos_in(&new_outbox.join("Second Listing")) == 2
    })
    .await;
    assert!(!agent.outbox().join("Second Listing").exists());
    assert_eq!(sim.counters().projects_created, 2, "nothing billed twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_edit_is_reported_and_the_last_good_settings_stay_in_force() {
    let sim = start_sim(|_| {}).await;
    let mut agent = Harness::new(&sim, 1, "");
    agent.start();
    wait_for(&agent, "the agent running", LONG, || {
        agent.logs().contains("config in force")
    })
    .await;
    let good = std::fs::read_to_string(&agent.config).unwrap();
    save_config(
        &agent.config,
        &good.replace("settle_seconds = 1", "settle_seconds = \"soon\""),
    );
    wait_for(&agent, "the mistake reported with its line", LONG, || {
        let logs = agent.logs();
        logs.contains("config not applied") && logs.contains("config.toml:6:")
    })
    .await;

    drop_shoot(&agent.inbox(), "During The Typo");
    wait_for(
        &agent,
        "the shoot done on the last good settings",
        LONG,
        || photos_in(&agent.outbox().join("During The Typo")) == 2,
    )
    .await;
    assert!(agent.is_running());
    assert!(
        !agent.logs().contains("restarting the agent"),
        "an invalid edit does not stop the agent"
    );

    save_config(&agent.config, &good);
    wait_for(&agent, "the fixed file accepted", LONG, || {
        agent.logs().matches("config in force").count() >= 2
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_run_writes_settings_and_folders_and_starts_once_the_key_is_pasted() {
    let sim = start_sim(|_| {}).await;
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let log = home.join("first-run.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_imagen-sync"))
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_DATA_HOME", home.join(".local/share"))
        .env("IMAGEN_API_BASE_URL", sim.base_url().as_str())
        .env("IMAGEN_LOG", "info")
        .env_remove("IMAGEN_API_KEY")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let config = home.join(".config/imagen-sync/config.toml");
    let key_file = home.join(".config/imagen-sync/api-key");
    let inbox = home.join("Imagen/Inbox");
    let outbox = home.join("Imagen/Outbox");
    let said = || std::fs::read_to_string(&log).unwrap_or_default();
    let deadline = std::time::Instant::now() + LONG;
    while !said().contains("add your Imagen API key on the welcome page") {
        assert!(
            std::time::Instant::now() < deadline,
            "no welcome: {}",
            said()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        said().contains(&key_file.display().to_string()),
        "{}",
        said()
    );
    assert!(config.is_file() && inbox.is_dir() && outbox.is_dir());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o777,
            0o600,
            "the key file is private from the start"
        );
    }
    assert_eq!(std::fs::read(&key_file).unwrap(), b"");

    // Waiting for the key, it is alive and billing nothing; then the key is pasted.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(child.try_wait().unwrap().is_none(), "it waits for the key");
    drop_shoot(&inbox, "Welcome Shoot");
    std::fs::write(&key_file, format!("{}\n", common::KEY)).unwrap();
    let photos = outbox.join("Welcome Shoot");
    let deadline = std::time::Instant::now() + LONG;
    while photos_in(&photos) < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "the shoot never arrived after the key was pasted"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // SIGTERM (a logout): a clean stop.
    common::agent::sigterm(child.id());
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{:?}", output.status);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no API key yet"), "{stderr}");
    assert!(
        !stderr.contains(common::KEY),
        "the key never reaches the log"
    );
}
