//! Runs the real `imagen-sync run` binary against an in-process simulator, in a temp
//! folder with its own inbox, outbox, data dir and config.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use imagen_sync::sim::{Counters, Sim};

pub(crate) struct Harness {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub agent: Option<Child>,
    pub key: String,
    /// The agent's log filter (`IMAGEN_LOG`); `IMAGEN_TEST_LOG` overrides the default.
    pub log_filter: String,
    /// The system bus the agent asks whether the network is metered: none by default,
    /// so the test machine's own NetworkManager never holds a test's uploads.
    pub system_bus: String,
    /// The session bus the agent asks the desktop to keep awake: none by default, so a
    /// developer's own desktop session never sees a test's inhibitors.
    pub session_bus: String,
    starts: u32,
}

impl Harness {
    /// A config with one folder pair and the given extra `[agent]` lines.
    pub(crate) fn new(sim: &Sim, settle_seconds: u64, edit: &str) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let config = root.join("config.toml");
        std::fs::write(
            &config,
            format!(
                "[api]\nbase_url = \"{}\"\n\n[agent]\ndata_dir = \"{}\"\nsettle_seconds = {settle_seconds}\n\
                 max_active_shoots = 2\n\n[dashboard]\nport = 0\n\n[[folders]]\ninbox = \"{}\"\noutbox = \"{}\"\n[folders.edit]\n{edit}\n",
                sim.base_url(),
                root.join("data").display(),
                root.join("inbox").display(),
                root.join("outbox").display(),
            ),
        )
        .unwrap();
        std::fs::create_dir_all(root.join("inbox")).unwrap();
        Harness {
            dir,
            config,
            agent: None,
            key: super::KEY.to_owned(),
            log_filter: std::env::var("IMAGEN_TEST_LOG")
                .unwrap_or_else(|_| "debug,hyper=info,reqwest=info".into()),
            system_bus: "unix:path=/nonexistent/imagen-sync-test-system-bus".into(),
            session_bus: "unix:path=/nonexistent/imagen-sync-test-session-bus".into(),
            starts: 0,
        }
    }

    /// Adds another `[[folders]]` pair (`<name> In`, `<name> Out`) with its own options.
    pub(crate) fn add_folder_pair(&self, name: &str, edit: &str) -> (PathBuf, PathBuf) {
        let inbox = self.dir.path().join(format!("{name} In"));
        let outbox = self.dir.path().join(format!("{name} Out"));
        std::fs::create_dir_all(&inbox).unwrap();
        let mut config = std::fs::read_to_string(&self.config).unwrap();
        config.push_str(&format!(
            "\n[[folders]]\ninbox = \"{}\"\noutbox = \"{}\"\n[folders.edit]\n{edit}\n",
            inbox.display(),
            outbox.display()
        ));
        std::fs::write(&self.config, config).unwrap();
        (inbox, outbox)
    }

    /// Rewrites the config: `from` (which must be there) becomes `to`.
    pub(crate) fn edit_config(&self, from: &str, to: &str) {
        let text = std::fs::read_to_string(&self.config).unwrap();
        assert!(
            text.contains(from),
            "{from:?} is not in the config:\n{text}"
        );
        std::fs::write(&self.config, text.replace(from, to)).unwrap();
    }

    /// Stops the agent with SIGTERM (a logout, a service manager, Quit's path); returns
    /// how it exited and how long that took.
    pub(crate) fn stop_with_sigterm(&mut self) -> (std::process::ExitStatus, Duration) {
        let mut child = self.agent.take().expect("running");
        let asked = Instant::now();
        sigterm(child.id());
        let status = child.wait().unwrap();
        (status, asked.elapsed())
    }

    pub(crate) fn inbox(&self) -> PathBuf {
        self.dir.path().join("inbox")
    }

    pub(crate) fn outbox(&self) -> PathBuf {
        self.dir.path().join("outbox")
    }

    pub(crate) fn command(&self, args: &[&str]) -> Command {
        self.command_via(&[], args)
    }

    /// The binary started through `wrapper` (e.g. `setpriv` to run as another user).
    pub(crate) fn command_via(&self, wrapper: &[&str], args: &[&str]) -> Command {
        let binary = env!("CARGO_BIN_EXE_imagen-sync");
        let mut command = match wrapper.split_first() {
            Some((program, rest)) => {
                let mut command = Command::new(program);
                command.args(rest).arg(binary);
                command
            }
            None => Command::new(binary),
        };
        command
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .env("IMAGEN_API_KEY", &self.key)
            .env("IMAGEN_LOG", &self.log_filter)
            .env("DBUS_SYSTEM_BUS_ADDRESS", &self.system_bus)
            .env("DBUS_SESSION_BUS_ADDRESS", &self.session_bus)
            .env_remove("IMAGEN_API_BASE_URL");
        command
    }

    /// Starts `imagen-sync run --headless`; its stderr goes to `agent-N.log`.
    pub(crate) fn start(&mut self) {
        self.start_via(&[]);
    }

    /// Starts the agent through `wrapper` (see `command_via`).
    pub(crate) fn start_via(&mut self, wrapper: &[&str]) {
        let command = self.command_via(wrapper, &["run", "--headless"]);
        self.spawn(command);
    }

    /// Starts the desktop app (`run`) where there is no display, as a first run on a
    /// machine without a tray host: it waits for a key instead of refusing to start.
    pub(crate) fn start_desktop_without_a_display(&mut self) {
        let mut command = self.command(&["run"]);
        command.env_remove("DISPLAY").env_remove("WAYLAND_DISPLAY");
        self.spawn(command);
    }

    fn spawn(&mut self, mut command: Command) {
        assert!(self.agent.is_none(), "already running");
        self.starts += 1;
        let log = std::fs::File::create(self.dir.path().join(format!("agent-{}.log", self.starts)))
            .unwrap();
        let child = command
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("the agent starts");
        self.agent = Some(child);
    }

    /// SIGKILL: no chance to clean up, as in a crash or power loss.
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.agent.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    pub(crate) fn is_running(&mut self) -> bool {
        self.agent
            .as_mut()
            .is_some_and(|c| c.try_wait().unwrap().is_none())
    }

    /// Everything the agent logged, over all its starts.
    pub(crate) fn logs(&self) -> String {
        (1..=self.starts)
            .map(|n| {
                std::fs::read_to_string(self.dir.path().join(format!("agent-{n}.log")))
                    .unwrap_or_default()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Fills the inbox and the journal with `shoots` finished shoots ("Shoot 0000"…) of
    /// `files` photos each, as years of work leave them: each folder known by the mark
    /// it was taken in with.
    pub(crate) fn fill_with_finished_shoots(&self, shoots: usize, files: usize) {
        self.fill_history(shoots, files, false);
    }

    /// [`Harness::fill_with_finished_shoots`], each photo's edit also delivered into
    /// the outbox and recorded so (what touch-ups follow).
    pub(crate) fn fill_with_delivered_shoots(&self, shoots: usize, files: usize) {
        self.fill_history(shoots, files, true);
    }

    fn fill_history(&self, shoots: usize, files: usize, delivered: bool) {
        use imagen_sync::agent::{scan, watch};
        use imagen_sync::journal::{self, ShootState};
        let data = self.dir.path().join("data");
        let journal = journal::open(&journal::Location::DataFolder(data)).unwrap();
        let inbox = self.inbox();
        for s in 0..shoots {
            let folder = format!("Shoot {s:04}");
            let dir = inbox.join(&folder);
            std::fs::create_dir_all(&dir).unwrap();
            for f in 0..files {
                let photo = imagen_sync::agent::whole::stand_in("jpg", 0, 1);
                std::fs::write(dir.join(format!("IMG_{f:03}.jpg")), photo).unwrap();
            }
            let options = |_: &Path| imagen_sync::api::EditOptions::default();
            let raw = imagen_sync::shoot::PairPolicy::Raw;
            let contents = scan::scan(&dir, raw, &options).unwrap();
            let outbox = self.outbox().join(&folder);
            let ids = journal
                .record_batches(
                    &inbox,
                    &folder,
                    &outbox,
                    &contents.batches,
                    journal::Arrival::Settled,
                )
                .unwrap();
            for id in ids {
                journal.set_project(id, "done-before").unwrap();
                if delivered {
                    std::fs::create_dir_all(&outbox).unwrap();
                    let names: Vec<String> =
                        (0..files).map(|f| format!("IMG_{f:03}.jpg")).collect();
                    let intents: Vec<(String, PathBuf)> = (names.iter())
                        .map(|n| (n.clone(), outbox.join(n)))
                        .collect();
                    journal.output_intents(id, &intents).unwrap();
                    for (_, path) in &intents {
                        std::fs::write(path, imagen_sync::agent::whole::stand_in("jpg", 0, 1))
                            .unwrap();
                    }
                    let placed: Vec<journal::PlacedOutput> = (intents.iter())
                        .map(|(name, path)| journal::PlacedOutput::at(name, path))
                        .collect();
                    journal.outputs_placed(id, &placed).unwrap();
                }
                for step in [
                    ShootState::Editing,
                    ShootState::Downloading,
                    ShootState::Done,
                ] {
                    journal.advance(id, step).unwrap();
                }
            }
            let mark = journal::FolderMark {
                stamp: watch::folder_stamp(&dir, false).unwrap(),
                print: watch::fingerprint(&dir).unwrap(),
            };
            journal.record_folder_mark(&inbox, &folder, mark).unwrap();
        }
    }

    /// What the agent logged since its last start.
    pub(crate) fn logs_since_start(&self) -> String {
        let log = self.dir.path().join(format!("agent-{}.log", self.starts));
        std::fs::read_to_string(log).unwrap_or_default()
    }

    /// `imagen-sync status --json`, parsed.
    pub(crate) fn status(&self) -> serde_json::Value {
        let output = self.command(&["status", "--json"]).output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|_| serde_json::json!({ "shoots": [] }))
    }

    /// Each shoot's folder and state, newest first, read straight from the journal as
    /// the tray and dashboard read it (no process spawned per look; `status()` is the
    /// CLI's own view).
    pub(crate) fn shoot_states(&self) -> Vec<(String, String)> {
        self.summaries()
            .into_iter()
            .map(|row| (row.shoot.folder, row.shoot.state.as_str().to_owned()))
            .collect()
    }

    /// Every shoot with its counts, newest first, from the journal the config names.
    pub(crate) fn summaries(&self) -> Vec<imagen_sync::journal::ShootSummary> {
        let Ok(config) = imagen_sync::config::Config::load(&self.config) else {
            return Vec::new();
        };
        let location = imagen_sync::journal::Location::of(&config);
        let Ok(Some(journal)) = imagen_sync::journal::open_read_only(&location) else {
            return Vec::new();
        };
        (journal.shoots(&imagen_sync::journal::ShootsWanted::all()))
            .map(|page| page.rows)
            .unwrap_or_default()
    }

    pub(crate) fn run_cli(&self, args: &[&str]) -> String {
        let output = self.command(args).output().unwrap();
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Sends SIGTERM to a process.
pub(crate) fn sigterm(pid: u32) {
    let sent = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
}

/// Polls `check` until it holds, or fails the test with `what` and the agent's logs.
pub(crate) async fn wait_for(
    harness: &Harness,
    what: &str,
    timeout: Duration,
    mut check: impl FnMut() -> bool,
) {
    let started = Instant::now();
    while started.elapsed() < timeout {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "timed out waiting for: {what}\n--- agent logs ---\n{}",
        harness.logs()
    );
}

/// `count` agents of a studio: one inbox and outbox (the first agent's, polled), one
/// journal at `url`, claims of `lease_seconds`, each agent its own data folder.
pub(crate) fn studio(sim: &Sim, url: &str, count: usize, lease_seconds: u64) -> Vec<Harness> {
    let agents: Vec<Harness> = (0..count).map(|_| Harness::new(sim, 1, "")).collect();
    let (inbox, outbox) = (agents[0].inbox(), agents[0].outbox());
    for (n, agent) in agents.iter().enumerate() {
        agent.edit_config(
            &format!("inbox = \"{}\"", agent.inbox().display()),
            &format!("id = \"listings\"\ninbox = \"{}\"", inbox.display()),
        );
        agent.edit_config(
            &format!("outbox = \"{}\"", agent.outbox().display()),
            &format!(
                "outbox = \"{}\"\nwatch = \"poll\"\npoll_seconds = 1",
                outbox.display()
            ),
        );
        agent.edit_config(
            "[dashboard]",
            &format!(
                "[journal]\nurl = \"{url}\"\nagent_name = \"agent-{n}\"\nlease_seconds = {lease_seconds}\n\n[dashboard]"
            ),
        );
    }
    agents
}

pub(crate) fn counters(sim: &Sim) -> Counters {
    sim.counters()
}

/// Every file below `dir`, relative, sorted; an agent's claim on its inbox (a hidden
/// file in the inbox and outbox roots) is not among them.
pub(crate) fn tree(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(current) = pending.pop() {
        let Ok(listing) = std::fs::read_dir(&current) else {
            continue;
        };
        for entry in listing.flatten() {
            let claim = entry
                .file_name()
                .to_string_lossy()
                .starts_with(imagen_sync::agent::inbox_claim::CLAIM_NAME);
            if entry.file_type().unwrap().is_dir() {
                pending.push(entry.path());
            } else if !claim {
                found.push(
                    entry
                        .path()
                        .strip_prefix(dir)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
    }
    found.sort();
    found
}

/// No output under a final name is partial or empty: every .jpg/.jpeg is a whole JPEG.
pub(crate) fn assert_outbox_holds_only_whole_photos(outbox: &Path) {
    for relative in tree(outbox) {
        let lower = relative.to_lowercase();
        if lower.ends_with(".jpg") || lower.ends_with(".jpeg") {
            imagen_sync::agent::outbox::verify_jpeg(&outbox.join(&relative))
                .unwrap_or_else(|e| panic!("{relative} is not a whole JPEG: {e}"));
        }
    }
}
