//! Safe by construction, against the real binary: the agent never edits its own
//! outputs (an outbox reaching back into the inbox through `..`, a symlink, or a link
//! made while running), a spend guard that holds new projects across restarts, only
//! real photos go up, a missing inbox is waited for and never made, and `status`,
//! `pause`, `retry` and `open` tell the truth whatever state the agent and config are in.

use std::process::Stdio;
use std::time::Duration;

use crate::common::agent::*;
use crate::common::*;

const LONG: Duration = Duration::from_secs(60);

fn done_count(agent: &Harness) -> usize {
    agent
        .shoot_states()
        .iter()
        .filter(|(_, s)| s == "done")
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outbox_reaching_back_into_the_inbox_through_dot_dot_or_a_symlink_is_refused() {
    let sim = start_sim(|_| {}).await;
    let agent = Harness::new(&sim, 1, "");
    let root = agent.dir.path().to_owned();
    std::fs::create_dir_all(root.join("out")).unwrap();
    std::os::unix::fs::symlink(agent.inbox(), root.join("link")).unwrap();
    write_shoot(&agent.inbox(), "Loop", 1, (64, 48));
    let mut previous = agent.outbox().display().to_string();
    for outbox in [
        format!("{}/out/../inbox", root.display()),
        format!("{}/link", root.display()),
        format!("{}/link/Edited", root.display()),
        root.display().to_string(),
    ] {
        agent.edit_config(
            &format!("outbox = \"{previous}\""),
            &format!("outbox = \"{outbox}\""),
        );
        previous = outbox.clone();
        let output = agent.command(&["run", "--headless"]).output().unwrap();
        let said = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{outbox}: {said}");
        assert!(
            said.contains("config.toml:") && said.contains("folders[0].outbox"),
            "{outbox}: {said}"
        );
        assert!(said.contains("billed again"), "{said}");
    }
    assert_eq!(sim.counters().projects_created, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outbox_turned_into_a_link_to_the_inbox_while_running_stops_that_folder_instead_of_looping()
 {
    let sim = start_sim(|_| {}).await;
    let mut agent = Harness::new(&sim, 1, "");
    write_shoot(&agent.inbox(), "First", 1, (64, 48));
    agent.start();
    wait_for(&agent, "the first shoot", LONG, || done_count(&agent) == 1).await;

    // The outbox becomes a link to the inbox under the running agent.
    std::fs::remove_dir_all(agent.outbox()).unwrap();
    std::os::unix::fs::symlink(agent.inbox(), agent.outbox()).unwrap();
    write_shoot(&agent.inbox(), "Second", 1, (64, 48));
    wait_for(&agent, "the hot folder stopped", LONG, || {
        agent.logs().contains("stopped taking shoots")
    })
    .await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(sim.counters().projects_created, 1, "nothing more was sent");
    assert_eq!(tree(&agent.inbox().join("First")), ["IMG_00.jpg"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edited_photo_that_finds_its_way_back_into_the_inbox_is_never_sent_again() {
    let sim = start_sim(|_| {}).await;
    let mut agent = Harness::new(&sim, 1, "");
    let shoot = write_shoot(&agent.inbox(), "Open House", 1, (64, 48));
    agent.start();
    wait_for(&agent, "the shoot", LONG, || done_count(&agent) == 1).await;
    // A sync tool (or a hand) puts the edited photo back beside its original: the same
    // file (a hard link), under a new name.
    std::fs::hard_link(
        agent.outbox().join("Open House/IMG_00.jpg"),
        shoot.join("IMG_00 edited.jpg"),
    )
    .unwrap();
    wait_for(&agent, "the status names it", LONG, || {
        agent.status()["not_sent"].as_array().is_some_and(|items| {
            items.iter().any(|i| {
                i["file"] == "IMG_00 edited.jpg"
                    && i["reason"].as_str().unwrap().contains("wrote itself")
            })
        })
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(sim.counters().projects_created, 1, "no follow-up project");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_spend_guard_holds_new_projects_past_the_daily_limit_across_a_restart_until_sent_anyway()
 {
    let sim = start_sim(|_| {}).await;
    let mut agent = Harness::new(&sim, 1, "");
    agent.edit_config(
        "max_active_shoots = 2",
        "max_active_shoots = 2\ndaily_photo_limit = 3",
    );
    write_shoot(&agent.inbox(), "Monday", 2, (64, 48));
    agent.start();
    wait_for(&agent, "the first shoot", LONG, || done_count(&agent) == 1).await;
    write_shoot(&agent.inbox(), "Tuesday", 2, (64, 48));
    let held = |agent: &Harness| {
        agent
            .shoot_states()
            .contains(&("Tuesday".to_owned(), "held".to_owned()))
    };
    wait_for(&agent, "the second shoot held", LONG, || held(&agent)).await;
    let status = agent.run_cli(&["status"]);
    assert!(
        status.contains("daily limit of 3 photos") && status.contains("--allow-over-limit"),
        "{status}"
    );

    // Counted in the journal: a restart does not reset it.
    agent.stop_with_sigterm();
    agent.start();
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(held(&agent), "{:?}", agent.shoot_states());
    assert_eq!(sim.counters().projects_created, 1);

    let plain_retry = agent.command(&["retry", "Tuesday"]).output().unwrap();
    assert!(!plain_retry.status.success());
    assert!(String::from_utf8_lossy(&plain_retry.stderr).contains("--allow-over-limit"));
    let sent = agent.run_cli(&["retry", "--allow-over-limit", "Tuesday"]);
    assert!(sent.contains("1 held shoot sent"), "{sent}");
    wait_for(&agent, "the held shoot sent", LONG, || {
        done_count(&agent) == 2
    })
    .await;
    assert_eq!(sim.counters().projects_created, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_up_projects_of_one_shoot_are_capped_per_day() {
    let sim = start_sim(|_| {}).await;
    let mut agent = Harness::new(&sim, 1, "");
    agent.edit_config(
        "max_active_shoots = 2",
        "max_active_shoots = 2\ndaily_follow_up_limit = 1",
    );
    let shoot = write_shoot(&agent.inbox(), "Growing", 1, (64, 48));
    agent.start();
    wait_for(&agent, "the shoot", LONG, || done_count(&agent) == 1).await;
    write_jpeg(&shoot.join("late 1.jpg"), 64, 48);
    wait_for(&agent, "one follow-up", LONG, || done_count(&agent) == 2).await;
    write_jpeg(&shoot.join("late 2.jpg"), 64, 48);
    wait_for(&agent, "the second follow-up held", LONG, || {
        agent.shoot_states().iter().any(|(_, s)| s == "held")
    })
    .await;
    assert_eq!(sim.counters().projects_created, 2);
    let status = agent.run_cli(&["status"]);
    assert!(status.contains("daily_follow_up_limit"), "{status}");
    // New photos trickling in are an event more often than a loop: it says how to make
    // the folder live instead of blaming a sync tool.
    assert!(
        status.contains("looks like a live shoot")
            && status.contains("\"Live shoots\"")
            && status.contains("live = true"),
        "{status}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_text_file_or_a_damaged_photo_named_like_a_photo_is_never_uploaded_and_the_status_says_why()
 {
    let sim = start_sim(|_| {}).await;
    let mut agent = Harness::new(&sim, 1, "");
    let shoot = write_shoot(&agent.inbox(), "Mixed", 1, (64, 48));
    std::fs::write(shoot.join("FAKE.jpg"), "this is a text file, not a photo").unwrap();
    std::fs::write(shoot.join("fake.NEF"), [0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3]).unwrap();
    // A card copy cut short at 300 bytes, a 3-byte file and a RAW stub: not billed.
    write_jpeg(&shoot.join("whole.jpg"), 320, 240);
    let whole = std::fs::read(shoot.join("whole.jpg")).unwrap();
    std::fs::remove_file(shoot.join("whole.jpg")).unwrap();
    std::fs::write(shoot.join("CUT.jpg"), &whole[..300]).unwrap();
    std::fs::write(shoot.join("TINY.jpg"), [0xFF, 0xD8, 0xFF]).unwrap();
    let mut stub = b"II*\0\x08\0\0\0\x01\0".to_vec();
    stub.resize(2000, 0);
    std::fs::write(shoot.join("STUB.dng"), stub).unwrap();
    let junk = agent.inbox().join("Only Junk");
    std::fs::create_dir_all(&junk).unwrap();
    std::fs::write(junk.join("notes.txt"), "x").unwrap();
    agent.start();
    wait_for(&agent, "the shoot", LONG, || done_count(&agent) == 1).await;
    assert_eq!(sim.counters().total_uploads(), 1, "only the real photo");
    wait_for(&agent, "the junk folder seen", LONG, || {
        agent.run_cli(&["status"]).contains("Only Junk/")
    })
    .await;
    let status = agent.run_cli(&["status"]);
    assert!(
        status.contains("Mixed/FAKE.jpg: not a real JPEG photo")
            && status.contains("Mixed/fake.NEF: not a real NEF RAW photo")
            && status.contains("Mixed/CUT.jpg: an incomplete JPEG photo")
            && status.contains("Mixed/TINY.jpg: an incomplete JPEG photo")
            && status.contains("Mixed/STUB.dng: too small to be a DNG RAW photo")
            && status.contains("Only Junk/: no JPEG or RAW photos to upload (1 other file, none"),
        "{status}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_inbox_is_waited_for_and_never_made() {
    let sim = start_sim(|_| {}).await;
    let mut agent = Harness::new(&sim, 1, "");
    let nas = agent.dir.path().join("nas/Inbox");
    let inbox = agent.inbox().display().to_string();
    agent.edit_config(
        &format!("inbox = \"{inbox}\""),
        &format!("inbox = \"{}\"", nas.display()),
    );
    agent.edit_config(
        "max_active_shoots = 2",
        "max_active_shoots = 2\nrescan_seconds = 5",
    );
    agent.start();
    wait_for(&agent, "the missing inbox told", LONG, || {
        agent.logs().contains("is missing — is the drive mounted?")
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(!nas.exists(), "the agent made the inbox");
    assert!(agent.is_running());

    // The share is mounted: its shoots go.
    write_shoot(&nas, "From the NAS", 1, (64, 48));
    wait_for(&agent, "the shoot from the share", LONG, || {
        done_count(&agent) == 1
    })
    .await;
    assert_eq!(
        agent
            .logs()
            .matches("is missing — is the drive mounted?")
            .count(),
        1,
        "said once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_says_whether_an_agent_runs_and_works_with_a_broken_config() {
    let sim = start_sim(|_| {}).await;
    let mut agent = Harness::new(&sim, 1, "");
    write_shoot(&agent.inbox(), "Bright\nKitchen", 1, (64, 48));
    agent.start();
    wait_for(&agent, "the shoot", LONG, || done_count(&agent) == 1).await;
    let running = agent.status();
    assert_eq!(running["agent"]["running"], true, "{running}");
    assert_eq!(
        running["agent"]["pid"],
        agent.agent.as_ref().unwrap().id(),
        "{running}"
    );
    let text = agent.run_cli(&["status"]);
    assert!(text.contains("Agent: running (pid"), "{text}");
    assert!(text.contains("Bright\\nKitchen"), "escaped: {text}");
    assert!(
        !agent.logs().contains("Bright\nKitchen"),
        "a raw newline in the logs"
    );

    agent.stop_with_sigterm();
    assert_eq!(agent.status()["agent"]["running"], false);
    let text = agent.run_cli(&["status"]);
    assert!(text.contains("not running — nothing is moving"), "{text}");
    let open = agent.command(&["open"]).output().unwrap();
    assert!(!open.status.success());
    assert!(String::from_utf8_lossy(&open.stderr).contains("no agent is running"));

    // A typo in the config: the journal's commands still work.
    agent.edit_config("settle_seconds = 1", "settle_secnds = 1");
    let status = agent.command(&["status"]).output().unwrap();
    assert!(status.status.success(), "{status:?}");
    let said = String::from_utf8_lossy(&status.stderr);
    assert!(said.contains("the config has a mistake"), "{said}");
    assert!(String::from_utf8_lossy(&status.stdout).contains("Bright\\nKitchen"));
    let pause = agent.command(&["pause"]).output().unwrap();
    assert!(pause.status.success(), "{pause:?}");
    assert_eq!(agent.status()["paused"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_names_a_shoot_that_is_unknown_or_not_failed_and_fails() {
    let sim = start_sim(|_| {}).await;
    let mut agent = Harness::new(&sim, 1, "");
    write_shoot(&agent.inbox(), "Finished", 1, (64, 48));
    agent.start();
    wait_for(&agent, "the shoot", LONG, || done_count(&agent) == 1).await;
    let unknown = agent.command(&["retry", "No Such"]).output().unwrap();
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no shoot folder named \"No Such\""));
    let done = agent.command(&["retry", "Finished"]).output().unwrap();
    assert_eq!(done.status.code(), Some(1));
    let said = String::from_utf8_lossy(&done.stderr);
    assert!(
        said.contains("has no failed shoot (its shoot is: done)"),
        "{said}"
    );
}

#[test]
fn a_closed_stdout_ends_the_cli_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[agent]\ndata_dir = \"{}\"\n",
            dir.path().join("data").display()
        ),
    )
    .unwrap();
    for _ in 0..5 {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_imagen-sync"))
            .args(["--config", config.to_str().unwrap(), "status"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let output = child.wait_with_output().unwrap();
        assert_ne!(output.status.code(), Some(101), "{output:?}");
        assert!(!String::from_utf8_lossy(&output.stderr).contains("panicked"));
    }
}

#[test]
fn every_flag_has_help_and_config_is_refused_where_it_is_not_used() {
    let help = |args: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_imagen-sync"))
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    for command in ["status", "retry", "open", "autostart", "run", "demo", "sim"] {
        let text = help(&[command, "--help"]);
        let lines: Vec<&str> = text.lines().map(str::trim_start).collect();
        for (index, line) in lines.iter().enumerate() {
            let is_argument = ["-", "[", "<"].iter().any(|p| line.starts_with(p))
                && !line.starts_with("- ")
                && !line.starts_with("[default")
                && !line.starts_with("[env")
                && !line.starts_with("[possible");
            if !is_argument {
                continue;
            }
            // Described on the same line after a gap, or on the next line (long help).
            let same_line = line.split("  ").filter(|s| !s.trim().is_empty()).count() >= 2;
            let next_line = lines.get(index + 1).is_some_and(|next| {
                !next.is_empty() && !["-", "[", "<"].iter().any(|p| next.starts_with(p))
            });
            assert!(
                same_line || next_line,
                "`{command}`: no help for {line:?}\n{text}"
            );
        }
    }
    let demo = std::process::Command::new(env!("CARGO_BIN_EXE_imagen-sync"))
        .args(["--config", "x.toml", "demo", "--once"])
        .output()
        .unwrap();
    assert_eq!(demo.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&demo.stderr).contains("leave out --config"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_agent_on_the_same_data_folder_refuses_to_start_and_nothing_is_sent_twice() {
    let sim = start_sim(|_| {}).await;
    let mut agent = Harness::new(&sim, 1, "");
    agent.start();
    let pid = agent.agent.as_ref().unwrap().id();
    wait_for(&agent, "the agent holding its data folder", LONG, || {
        agent.status()["agent"]["running"] == true
    })
    .await;
    let started = std::time::Instant::now();
    let second = agent.command(&["run", "--headless"]).output().unwrap();
    let said = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(3), "{said}");
    assert!(
        said.contains(&format!("pid {pid}")),
        "names the running one: {said}"
    );
    assert!(said.contains("Nothing was started"), "{said}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "refused at once"
    );

    write_shoot(&agent.inbox(), "One Agent Only", 3, (64, 48));
    wait_for(&agent, "the shoot done", LONG, || done_count(&agent) == 1).await;
    let counters = sim.counters();
    assert_eq!(counters.projects_created, 1);
    assert_eq!(counters.total_uploads(), 3, "each photo uploaded once");
    assert!(agent.is_running(), "the first agent goes on");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_configs_on_one_inbox_bill_each_shoot_once_and_the_second_says_who_holds_it() {
    let sim = start_sim(|_| {}).await;
    let mut first = Harness::new(&sim, 1, "");
    // A second config with its own data folder, on the first one's inbox and outbox.
    let mut second = Harness::new(&sim, 1, "");
    for folder in ["inbox", "outbox"] {
        second.edit_config(
            &format!(
                "{folder} = \"{}\"",
                second.dir.path().join(folder).display()
            ),
            &format!("{folder} = \"{}\"", first.dir.path().join(folder).display()),
        );
    }
    first.start();
    let claim = first
        .inbox()
        .join(imagen_sync::agent::inbox_claim::CLAIM_NAME);
    wait_for(&first, "the first agent claiming its inbox", LONG, || {
        claim.exists()
    })
    .await;

    let refused = second.command(&["run", "--headless"]).output().unwrap();
    let said = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(3), "{said}");
    let pid = first.agent.as_ref().unwrap().id();
    assert!(
        said.contains("already watched by another imagen-sync agent")
            && said.contains(&format!("process {pid}"))
            && said.contains("studio journal"),
        "{said}"
    );

    // With a hot folder of its own, the second agent runs and leaves the shared one alone.
    let (own_inbox, _) = second.add_folder_pair("Own", "");
    second.start();
    write_shoot(&first.inbox(), "Shared Shoot", 3, (64, 48));
    write_shoot(&own_inbox, "Own Shoot", 1, (64, 48));
    wait_for(&first, "both shoots done", LONG, || {
        done_count(&first) == 1 && done_count(&second) == 1
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let counters = sim.counters();
    assert_eq!(
        counters.projects_created, 2,
        "one project per shoot: {counters:?}"
    );
    assert_eq!(counters.total_uploads(), 4, "each photo uploaded once");
    assert!(
        !tree(&first.outbox()).iter().any(|f| f.contains(" (2)")),
        "{:?}",
        tree(&first.outbox())
    );
    assert!(
        second
            .logs()
            .contains("already watched by another imagen-sync agent")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_linked_or_misnamed_shoot_folder_is_shown_with_what_to_do_and_edited_once_fixed() {
    use std::os::unix::ffi::OsStrExt;
    let sim = start_sim(|_| {}).await;
    let mut agent = Harness::new(&sim, 1, "");
    let elsewhere = agent.dir.path().join("Elsewhere");
    write_shoot(&elsewhere, "Private", 2, (64, 48));
    std::os::unix::fs::symlink(
        elsewhere.join("Private"),
        agent.inbox().join("Linked Shoot"),
    )
    .unwrap();
    let latin1 = agent
        .inbox()
        .join(std::ffi::OsStr::from_bytes(b"Caf\xe9 Opening"));
    std::fs::create_dir(&latin1).unwrap();
    write_jpeg(&latin1.join("Room.jpg"), 64, 48);
    // A name as long as a folder name may be: the project's name is shortened to fit.
    let long = "Long ".repeat(51);
    write_shoot(&agent.inbox(), &long, 1, (64, 48));
    agent.start();

    let not_sent = |agent: &Harness| -> Vec<(String, String)> {
        (agent.status()["not_sent"]
            .as_array()
            .cloned()
            .unwrap_or_default())
        .iter()
        .map(|n| {
            let field = |k: &str| n[k].as_str().unwrap_or_default().to_owned();
            (field("folder"), field("reason"))
        })
        .collect()
    };
    wait_for(&agent, "both unusable folders are in status", LONG, || {
        not_sent(&agent).len() == 2
    })
    .await;
    let told = not_sent(&agent);
    assert!(
        told.iter()
            .any(|(f, r)| f == "Linked Shoot" && r.contains("does not follow")),
        "{told:?}"
    );
    assert!(
        told.iter()
            .any(|(f, r)| f == "Caf\u{FFFD} Opening" && r.contains("rename the folder")),
        "{told:?}"
    );
    let text = agent.run_cli(&["status"]);
    assert!(text.contains("Linked Shoot/: a link to a folder"), "{text}");
    wait_for(&agent, "the long-named shoot is done", LONG, || {
        agent
            .shoot_states()
            .iter()
            .any(|(f, s)| f == &long && s == "done")
    })
    .await;
    let shoot = agent
        .summaries()
        .into_iter()
        .find(|r| r.shoot.folder == long)
        .unwrap();
    assert!(
        shoot.shoot.project_name.chars().count() <= 120,
        "{}",
        shoot.shoot.project_name
    );

    // Renamed, the folder is a shoot like any other, and its notice goes away.
    std::fs::rename(&latin1, agent.inbox().join("Cafe Opening")).unwrap();
    wait_for(&agent, "the renamed shoot is done", LONG, || {
        agent
            .shoot_states()
            .iter()
            .any(|(f, s)| f == "Cafe Opening" && s == "done")
    })
    .await;
    wait_for(&agent, "only the link is still told", LONG, || {
        not_sent(&agent).len() == 1
    })
    .await;
    // Nothing from behind the link ever went up: two shoots, one photo each.
    assert_eq!(sim.counters().projects_created, 2);
    assert_eq!(sim.counters().uploads_per_project.values().sum::<u64>(), 2);
    agent.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_journal_says_where_its_copy_is_and_restore_goes_on_from_it_paused() {
    let sim = start_sim(|_| {}).await;
    let mut agent = Harness::new(&sim, 1, "");
    write_shoot(&agent.inbox(), "Before The Damage", 1, (64, 48));
    agent.start();
    wait_for(&agent, "the first shoot is done", LONG, || {
        done_count(&agent) == 1
    })
    .await;
    let data = agent.dir.path().join("data");
    let copy = data.join("journal.backup.sqlite3");
    let finished_ms = agent.summaries()[0].shoot.updated_ms as u64;
    let done_at = std::time::UNIX_EPOCH + Duration::from_millis(finished_ms);
    wait_for(&agent, "the safety copy made after the shoot", LONG, || {
        std::fs::metadata(&copy)
            .and_then(|m| m.modified())
            .is_ok_and(|at| at >= done_at)
    })
    .await;
    agent.kill();

    let journal = data.join("journal.sqlite3");
    let _ = std::fs::remove_file(data.join("journal.sqlite3-wal"));
    let mut bytes = std::fs::read(&journal).unwrap();
    for byte in bytes.iter_mut().take(100) {
        *byte = 0xAB; // the header gone: not a database any more
    }
    std::fs::write(&journal, &bytes).unwrap();

    let output = agent.command(&["status"]).output().unwrap();
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        said.contains("is damaged")
            && said.contains("journal.backup.sqlite3")
            && said.contains("imagen-sync journal restore"),
        "{said}"
    );
    let restored = agent.run_cli(&["journal", "restore"]);
    assert!(
        restored.contains("kept as") && restored.contains("paused"),
        "{restored}"
    );
    let status = agent.status();
    assert_eq!(status["paused"], true, "{status}");
    assert_eq!(status["shoots"][0]["state"], "done", "{status}");
    // The finished shoot is known again: nothing is sent a second time.
    agent.run_cli(&["resume"]);
    agent.start();
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(sim.counters().projects_created, 1);
    agent.kill();
}
