//! The command line a user meets first: `init`, a config with a mistake, a missing key,
//! a follow-up batch of photos, and the logs the agent leaves behind.

use std::process::Command;
use std::time::Duration;

use crate::common::agent::*;
use crate::common::*;

fn imagen_sync(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_imagen-sync"))
        .args(args)
        .env_remove("IMAGEN_API_KEY")
        .output()
        .unwrap()
}

#[test]
fn init_writes_a_commented_config_once_and_never_over_an_existing_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/config.toml");
    let path_text = path.to_str().unwrap();
    let first = imagen_sync(&["--config", path_text, "init"]);
    assert!(first.status.success());
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains("[[folders]]") && text.contains("# Your API key: paste it into this file"),
        "{text}"
    );
    let second = imagen_sync(&["--config", path_text, "init"]);
    assert_eq!(second.status.code(), Some(2));
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        text,
        "left as it was"
    );
}

#[test]
fn a_config_mistake_names_the_key_and_line_and_nothing_starts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(
        &path,
        "[agent]\nsettle_seconds = 5\nmax_parallel_uploads = 0\n",
    )
    .unwrap();
    let output = imagen_sync(&["--config", path.to_str().unwrap(), "run", "--headless"]);
    assert_eq!(output.status.code(), Some(2));
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(
        said.contains("config.toml:3:") && said.contains("agent.max_parallel_uploads"),
        "{said}"
    );

    // `status` still answers (from the default data folder), and says how to fix it.
    let missing = imagen_sync(&[
        "--config",
        dir.path().join("nope.toml").to_str().unwrap(),
        "status",
    ]);
    assert!(missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("imagen-sync init"));

    std::fs::write(&path, "[agent]\nsettle_seconds = \"ten\"\n").unwrap();
    let output = imagen_sync(&["--config", path.to_str().unwrap(), "run", "--headless"]);
    assert_eq!(output.status.code(), Some(2));
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(
        said.contains("config.toml:2:")
            && said.contains("`agent.settle_seconds`: must be a whole number of seconds, like 10"),
        "{said}"
    );
}

#[test]
fn without_an_api_key_the_agent_says_how_to_give_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, "[api]\nbase_url = \"http://127.0.0.1:9/v1\"\n").unwrap();
    let output = imagen_sync(&["--config", path.to_str().unwrap(), "run", "--headless"]);
    assert_eq!(output.status.code(), Some(2));
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(
        said.contains("IMAGEN_API_KEY") && said.contains("key_file"),
        "{said}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outbox_that_cannot_be_made_is_named_with_what_to_do() {
    let sim = start_sim(|_| {}).await;
    let mut agent = Harness::new(&sim, 1, "");
    // A plain file where a folder of the outbox's path should be: even root cannot.
    let blocker = agent.dir.path().join("not a folder");
    std::fs::write(&blocker, "").unwrap();
    let outbox = agent.outbox().display().to_string();
    let unusable = blocker.join("Outbox").display().to_string();
    agent.edit_config(
        &format!("outbox = \"{outbox}\""),
        &format!("outbox = \"{unusable}\""),
    );
    agent.start();
    wait_for(
        &agent,
        "the outbox problem reported",
        Duration::from_secs(30),
        || agent.logs().contains("cannot make the outbox"),
    )
    .await;
    let logs = agent.logs();
    assert!(
        logs.contains(&unusable) && logs.contains("choose another folder"),
        "{logs}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_sent_to_a_file_or_the_journal_carry_no_colour_codes() {
    // Under systemd, stderr is the journal: colour codes would show as "[2m…" there.
    let sim = start_sim(|_| {}).await;
    let mut agent = Harness::new(&sim, 1, "");
    write_shoot(&agent.inbox(), "Quiet Logs", 1, (64, 48));
    agent.start();
    wait_for(&agent, "the shoot done", Duration::from_secs(60), || {
        agent.shoot_states().iter().any(|(_, s)| s == "done")
    })
    .await;
    let logs = agent.logs();
    assert!(logs.contains("Quiet Logs"), "{logs}");
    assert!(!logs.contains('\x1b'), "colour codes in: {logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn photos_added_after_a_shoot_finished_become_a_follow_up_in_the_same_outbox_folder() {
    let sim = start_sim(|_| {}).await;
    let mut agent = Harness::new(&sim, 1, "");
    let shoot = agent.inbox().join("Open House");
    std::fs::create_dir_all(&shoot).unwrap();
    write_jpeg(&shoot.join("a.jpg"), 64, 48);
    write_jpeg(&shoot.join("b.jpg"), 64, 48);
    agent.start();
    let done = |agent: &Harness, n: usize| {
        let states = agent.shoot_states();
        states.len() == n && states.iter().all(|(_, s)| s == "done")
    };
    wait_for(&agent, "the first batch", Duration::from_secs(60), || {
        done(&agent, 1)
    })
    .await;
    write_jpeg(&shoot.join("c.jpg"), 64, 48);
    wait_for(&agent, "the follow-up", Duration::from_secs(60), || {
        done(&agent, 2)
    })
    .await;
    assert_eq!(
        tree(&agent.outbox().join("Open House")),
        ["a.jpg", "b.jpg", "c.jpg"]
    );
    let counters = sim.counters();
    assert_eq!(
        (counters.projects_created, counters.total_uploads()),
        (2, 3),
        "only the new photo goes up"
    );

    let logs = std::fs::read_dir(agent.dir.path().join("data/logs"))
        .unwrap()
        .count();
    assert!(logs >= 1, "the agent keeps a log file in its data folder");
    let status = agent.run_cli(&["status"]);
    assert!(
        status.contains("Open House") && status.contains("done"),
        "{status}"
    );
}

#[test]
fn autostart_enable_adds_a_login_entry_for_this_binary_and_disable_removes_it() {
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("my settings.toml");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_imagen-sync"))
            .args(args)
            .env("HOME", home.path())
            .env("XDG_CONFIG_HOME", home.path().join(".config"))
            .output()
            .unwrap()
    };
    let enabled = run(&["--config", config.to_str().unwrap(), "autostart", "enable"]);
    assert!(enabled.status.success(), "{enabled:?}");
    let entry = home.path().join(".config/autostart/imagen-sync.desktop");
    let text = std::fs::read_to_string(&entry).unwrap();
    // The entry names the binary as the OS resolves it (through any symlinks).
    let binary = std::fs::canonicalize(env!("CARGO_BIN_EXE_imagen-sync")).unwrap();
    assert!(
        text.contains(&format!(
            "Exec={} --config \"{}\"",
            binary.display(),
            config.display()
        )),
        "{text}"
    );
    assert!(text.starts_with("[Desktop Entry]\nType=Application\n"));
    assert!(String::from_utf8_lossy(&enabled.stdout).contains(&entry.display().to_string()));

    let disabled = run(&["autostart", "disable"]);
    assert!(disabled.status.success());
    assert!(!entry.exists());
    let again = run(&["autostart", "disable"]);
    assert!(again.status.success(), "disabling twice is fine");
}
