//! Where the app is put together, once for headless and desktop: the event stream, the
//! supervisor (the agent on the config file, restarted when it changes), the dashboard
//! and the webhook beside it, and one stop switch. Front-ends subscribe to the events before starting
//! it, so they miss nothing, and read the config in force from [`App::config`].

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::agent::data_folder::{LockError, RunningLock};
use crate::config::Config;
use crate::control::Controls;
use crate::dashboard::DashboardContext;
use crate::events::Events;

pub struct App {
    /// The config in force (or the valid one waiting for a key); `None` before any.
    pub config: watch::Receiver<Option<Arc<Config>>>,
    /// The controls of this process (tray, dashboard), which nudge its agent.
    pub controls: Controls,
    stop: watch::Sender<bool>,
    supervisor: JoinHandle<anyhow::Result<()>>,
    dashboard: JoinHandle<()>,
    webhook: JoinHandle<()>,
    /// Keeps the glance written down for `status`.
    snapshot: JoinHandle<()>,
}

impl App {
    /// Starts the supervisor on `config_path` and the dashboard beside it; `held` is the
    /// data folder this process took (see [`take_data_folder`]).
    pub async fn start(config_path: &Path, events: &Events, held: Option<RunningLock>) -> App {
        let (current, config) = watch::channel(None);
        let (stop, stopped) = watch::channel(false);
        let controls = Controls::default();
        let supervisor = tokio::spawn(crate::supervisor::run(
            config_path.to_owned(),
            events.clone(),
            current,
            stopped,
            held,
            crate::platform::costs::watch(),
            controls.nudge(),
        ));
        let dashboard = crate::dashboard::serve_beside_agent(DashboardContext {
            config_path: config_path.to_owned(),
            config: config.clone(),
            events: events.clone(),
            controls: controls.clone(),
        })
        .await;
        let snapshot = crate::ui::snapshot::keep(events.subscribe(), config.clone());
        let webhook = crate::events::webhook::spawn(events, config.clone());
        App {
            config,
            controls,
            stop,
            supervisor,
            dashboard,
            webhook,
            snapshot,
        }
    }

    /// Stops the agent and waits for it: finished steps are in the journal, in-flight
    /// ones resume at the next start.
    pub async fn stop(self) -> anyhow::Result<()> {
        tracing::info!("stopping: finished steps are in the journal");
        let _ = self.stop.send(true);
        let outcome = self.supervisor.await?;
        self.dashboard.abort();
        let _ = self.dashboard.await;
        self.webhook.abort();
        self.snapshot.abort();
        outcome
    }
}

/// Takes the data folder for this process, before anything starts: one agent per data
/// folder. The error names the agent that holds it.
pub fn take_data_folder(data_dir: &Path) -> Result<RunningLock, LockError> {
    RunningLock::acquire(data_dir)
}

/// Runs the app until Ctrl-C or SIGTERM (a service manager stopping it), or until the
/// supervisor gives up.
pub async fn run_until_stopped(config_path: PathBuf, held: RunningLock) -> anyhow::Result<()> {
    let mut app = App::start(&config_path, &Events::default(), Some(held)).await;
    tokio::select! {
        _ = termination_signal() => app.stop().await,
        outcome = &mut app.supervisor => outcome?,
    }
}

/// Resolves on Ctrl-C or SIGTERM (a service manager stopping us).
pub async fn termination_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
