//! Keeps the agent running on the config as it is on disk. It loads the config and the
//! API key, runs the agent on them, and when either file changes (the user's editor, the
//! dashboard) loads them again: a good edit restarts the agent on the new settings (the
//! journal makes that safe: finished steps are kept, in-flight ones resume), an invalid
//! one is reported and the last good config stays in force. Without a key nothing runs
//! until one is given.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
use tokio::sync::{mpsc, watch};

use crate::agent::data_folder::RunningLock;
use crate::agent::{AgentOptions, RunningAgent, StartError};
use crate::config::{Config, ConfigError};
use crate::events::{EventKind, Events};
use crate::redact::ApiKey;

/// How often the files are read again even without a change event (network home
/// folders, editors that defeat inotify); reading two small files costs nothing.
const RECHECK_EVERY: Duration = Duration::from_secs(30);
/// Editors save in several steps; wait for them to finish before reading.
const SAVE_SETTLE: Duration = Duration::from_millis(250);

/// A config with a key: what the agent can run on.
#[derive(Clone)]
struct Loaded {
    config: Config,
    key: ApiKey,
}

impl PartialEq for Loaded {
    fn eq(&self, other: &Self) -> bool {
        self.config == other.config && self.key.expose() == other.key.expose()
    }
}

/// Why the files on disk cannot be run as they are.
#[derive(Debug, Clone, PartialEq)]
enum Problem {
    /// The config is fine but there is no usable key yet.
    NeedsKey { config: Box<Config>, how: String },
    /// The config itself is wrong (or cannot be read).
    Invalid(String),
    /// The config is fine, but the agent could not start on it now; tried again on the
    /// next change or after `RECHECK_EVERY`.
    NotStarted(String, NotStartedBecause),
}

/// What kept an agent from starting, as the surfaces tell it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum NotStartedBecause {
    /// The studio's database cannot be reached: it passes by itself.
    JournalAway,
    /// Another agent serves every inbox, or holds the data folder.
    Taken,
    /// Anything else (a damaged or newer journal): someone must act.
    Other,
}

/// The problem a failed start is, by what failed.
fn not_started(error: StartError) -> Problem {
    use crate::journal::JournalError;
    let because = match &error {
        StartError::Journal(JournalError::Unreachable(_)) => NotStartedBecause::JournalAway,
        StartError::EveryInboxTaken(_) | StartError::DataFolder(_) => NotStartedBecause::Taken,
        _ => NotStartedBecause::Other,
    };
    Problem::NotStarted(error.to_string(), because)
}

fn load(path: &Path) -> Result<Loaded, Problem> {
    let config = Config::load(path).map_err(|error| Problem::Invalid(error.to_string()))?;
    match config.api_key() {
        Ok(key) => Ok(Loaded { config, key }),
        Err(error @ (ConfigError::MissingKey | ConfigError::KeyFile { .. })) => {
            Err(Problem::NeedsKey {
                config: Box::new(config),
                how: error.to_string(),
            })
        }
        Err(error) => Err(Problem::Invalid(error.to_string())),
    }
}

/// Runs until `shutdown` turns true. `current` always holds the config in force (or
/// the valid config waiting for a key), for the tray and the dashboard. `held` is the
/// data folder the process already took at start (so no second process starts an
/// agent there); the first agent on that folder runs on it.
pub async fn run(
    config_path: PathBuf,
    events: Events,
    current: watch::Sender<Option<Arc<Config>>>,
    mut shutdown: watch::Receiver<bool>,
    mut held: Option<RunningLock>,
    costs: watch::Receiver<crate::platform::costs::Costs>,
    nudge: Arc<tokio::sync::Notify>,
) -> anyhow::Result<()> {
    let (changed_sender, mut changed) = mpsc::channel::<()>(1);
    let mut files = FileWatch::new(changed_sender);
    let mut in_force: Option<Loaded> = None;
    let mut running: Option<RunningAgent> = None;
    let mut last_problem: Option<Problem> = None;

    loop {
        let key_file = match load(&config_path) {
            Ok(loaded) => {
                let key_file = loaded.config.api.key_file.clone();
                if let (Some(agent), Some(before)) = (&running, &mut in_force)
                    && before != &loaded
                    && applies_in_place(before, &loaded)
                {
                    // Limits change in place: no transfer restarts for them.
                    tracing::info!(
                        "network or dashboard settings changed: applied without a restart"
                    );
                    agent.apply_network(&loaded.config.network);
                    current.send_replace(Some(Arc::new(loaded.config.clone())));
                    events.emit("", None, EventKind::ConfigApplied);
                    *before = loaded;
                    last_problem = None;
                } else if in_force.as_ref() != Some(&loaded) || running.is_none() {
                    if let Some(agent) = running.take() {
                        tracing::info!("config changed: restarting the agent on it");
                        agent.stop().await;
                    }
                    let config = loaded.config.clone();
                    let (key, options) = (
                        loaded.key.clone(),
                        AgentOptions {
                            costs: costs.clone(),
                            nudge: nudge.clone(),
                            ..AgentOptions::for_config(&config)
                        },
                    );
                    let started = match held.take() {
                        Some(lock) if lock.data_dir() == config.agent.data_dir => {
                            RunningAgent::start_holding(lock, config, key, &events, options).await
                        }
                        _ => RunningAgent::start(config, key, &events, options).await,
                    };
                    match started {
                        Ok(agent) => {
                            running = Some(agent);
                            current.send_replace(Some(Arc::new(loaded.config.clone())));
                            events.emit("", None, EventKind::ConfigApplied);
                            last_problem = None;
                        }
                        Err(error) => report(&events, &mut last_problem, not_started(error)),
                    }
                    in_force = Some(loaded);
                } else if last_problem.take().is_some() {
                    // Back to the settings in force (an invalid edit was undone).
                    events.emit("", None, EventKind::ConfigApplied);
                }
                key_file
            }
            Err(problem) => {
                let key_file = match &problem {
                    Problem::NeedsKey { config, .. } => {
                        if running.is_none() {
                            current.send_replace(Some(Arc::new((**config).clone())));
                        }
                        config.api.key_file.clone()
                    }
                    Problem::Invalid(_) | Problem::NotStarted(..) => in_force
                        .as_ref()
                        .and_then(|l| l.config.api.key_file.clone()),
                };
                report(&events, &mut last_problem, problem);
                key_file
            }
        };
        files.watch(&config_path, key_file.as_deref());

        tokio::select! {
            _ = shutdown.changed() => {
                if *shutdown.borrow() {
                    break;
                }
            }
            Some(()) = changed.recv() => {
                tokio::time::sleep(SAVE_SETTLE).await;
                while changed.try_recv().is_ok() {}
            }
            _ = tokio::time::sleep(RECHECK_EVERY) => {}
            outcome = async { running.as_mut().expect("guarded").wait().await }, if running.is_some() => {
                running = None;
                let reason = match outcome {
                    Ok(()) => "the agent stopped".to_owned(),
                    Err(error) => format!("{error:#}"),
                };
                report(&events, &mut last_problem, Problem::Invalid(reason));
                // Started again on the next change, or after RECHECK_EVERY.
                in_force = None;
                tokio::select! {
                    _ = shutdown.changed() => {}
                    _ = changed.recv() => {}
                    _ = tokio::time::sleep(RECHECK_EVERY) => {}
                }
                if *shutdown.borrow() {
                    break;
                }
            }
        }
    }
    if let Some(agent) = running.take() {
        agent.stop().await;
    }
    Ok(())
}

/// Whether `after` is `before` with other `[network]` or `[dashboard]` settings only:
/// the agent takes the limits in place, and the dashboard follows its own settings.
fn applies_in_place(before: &Loaded, after: &Loaded) -> bool {
    let mut same = after.clone();
    same.config.network = before.config.network.clone();
    same.config.dashboard = before.config.dashboard.clone();
    &same == before
}

/// Emits a problem unless it is the one already reported.
fn report(events: &Events, last: &mut Option<Problem>, problem: Problem) {
    // Still no key after another edit of the config: the reminder was given.
    let told = match (last.as_ref(), &problem) {
        (Some(Problem::NeedsKey { .. }), Problem::NeedsKey { .. }) => true,
        (last, problem) => last == Some(problem),
    };
    if told {
        *last = Some(problem);
        return;
    }
    match &problem {
        Problem::NeedsKey { how, .. } => {
            events.emit("", None, EventKind::NeedsApiKey { how: how.clone() })
        }
        Problem::Invalid(reason) | Problem::NotStarted(reason, NotStartedBecause::Other) => events
            .emit(
                "",
                None,
                EventKind::ConfigRejected {
                    reason: reason.clone(),
                },
            ),
        Problem::NotStarted(reason, NotStartedBecause::JournalAway) => events.emit(
            "",
            None,
            EventKind::Waiting {
                reason: reason.clone(),
                cause: crate::events::WaitCause::JournalAway,
                retry_at_ms: None,
            },
        ),
        Problem::NotStarted(reason, NotStartedBecause::Taken) => events.emit(
            "",
            None,
            EventKind::FolderStopped {
                inbox: PathBuf::new(),
                reason: reason.clone(),
            },
        ),
    }
    *last = Some(problem);
}

/// Watches the folders holding the config and key files (editors replace files by
/// renaming, so the files themselves cannot be watched).
struct FileWatch {
    sender: mpsc::Sender<()>,
    watcher: Option<notify::RecommendedWatcher>,
    watched: Vec<PathBuf>,
}

impl FileWatch {
    fn new(sender: mpsc::Sender<()>) -> FileWatch {
        FileWatch {
            sender,
            watcher: None,
            watched: Vec::new(),
        }
    }

    fn watch(&mut self, config: &Path, key_file: Option<&Path>) {
        let files: Vec<PathBuf> = [Some(config), key_file]
            .into_iter()
            .flatten()
            .map(Path::to_owned)
            .collect();
        let mut dirs: Vec<PathBuf> = files
            .iter()
            .filter_map(|f| f.parent().map(Path::to_owned))
            .map(|d| {
                if d.as_os_str().is_empty() {
                    ".".into()
                } else {
                    d
                }
            })
            .collect();
        dirs.dedup();
        if dirs == self.watched && self.watcher.is_some() {
            return;
        }
        let sender = self.sender.clone();
        let names: Vec<std::ffi::OsString> = files
            .iter()
            .filter_map(|f| f.file_name().map(Into::into))
            .collect();
        let made = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            let Ok(event) = event else { return };
            if event.kind.is_access() {
                return;
            }
            let ours = event
                .paths
                .iter()
                .any(|p| p.file_name().is_some_and(|n| names.iter().any(|m| m == n)));
            if ours {
                // A full channel already holds a wake-up: nothing is lost.
                let _ = sender.try_send(());
            }
        });
        let mut watcher = match made {
            Ok(watcher) => watcher,
            Err(error) => {
                tracing::warn!(%error, "cannot watch the config file; changes are read every 30 s");
                return;
            }
        };
        for dir in &dirs {
            if let Err(error) = watcher.watch(dir, RecursiveMode::NonRecursive) {
                tracing::debug!(%error, dir = %dir.display(), "cannot watch a config folder");
            }
        }
        self.watcher = Some(watcher);
        self.watched = dirs;
    }
}
