//! Starting the agent on one config, for the supervisor and the demo alike: it takes hold
//! of the data folder (one agent per data folder), opens the journal, makes the API
//! client and runs the scheduler as a task that can be waited for or stopped.

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::inbox_claim::Taken;
use super::{AgentOptions, describe, scheduler};
use crate::agent::data_folder::{LockError, RunningLock};
use crate::api::{ApiError, Client, ClientConfig};
use crate::config::Config;
use crate::events::Events;
use crate::journal::JournalError;
use crate::redact::ApiKey;

/// Why an agent did not start, for the supervisor to tell apart what passes by itself (a
/// studio's database away) from what someone must act on.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Another agent holds the data folder.
    #[error(transparent)]
    DataFolder(#[from] LockError),
    /// Another agent (outside a studio) serves every inbox of the config.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    EveryInboxTaken(Vec<Taken>),
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// The API client could not be made (its TLS set-up).
    #[error(transparent)]
    Client(#[from] ApiError),
    /// A start-up step's worker thread ended abnormally.
    #[error("starting the agent was cut short: {0}")]
    Interrupted(#[from] tokio::task::JoinError),
}

/// A running agent. Dropping it does not stop the task: call [`RunningAgent::stop`].
pub struct RunningAgent {
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
    /// The `[network]` settings in force, which change without a restart.
    network: watch::Sender<crate::config::NetworkSettings>,
    _bandwidth: super::following::Following,
    _upload_hold: super::following::Following,
    /// This agent's claims on its inboxes, renewed for as long as it runs.
    _claims: super::following::Following,
    /// Why the agent was stopped from outside its loop (another agent took an inbox).
    lost: std::sync::Arc<std::sync::Mutex<Option<String>>>,
    /// This process's hold on the data folder, for as long as the agent runs.
    _lock: RunningLock,
}

impl RunningAgent {
    /// Starts the agent, unless another one holds the data folder (the error says who).
    pub async fn start(
        config: Config,
        key: ApiKey,
        events: &Events,
        options: AgentOptions,
    ) -> Result<RunningAgent, StartError> {
        let data_dir = config.agent.data_dir.clone();
        // Taking hold writes (and syncs) who holds it: off the async workers.
        let lock = tokio::task::spawn_blocking(move || RunningLock::acquire(&data_dir)).await??;
        RunningAgent::start_holding(lock, config, key, events, options).await
    }

    /// Starts the agent on a data folder this process already holds.
    pub async fn start_holding(
        lock: RunningLock,
        mut config: Config,
        key: ApiKey,
        events: &Events,
        options: AgentOptions,
    ) -> Result<RunningAgent, StartError> {
        let client = Client::new(ClientConfig::new(config.api.base_url.clone(), key))?;
        // Opening may make or migrate the journal, which waits for an fsync.
        let location = crate::journal::Location::of(&config);
        let journal =
            tokio::task::spawn_blocking(move || crate::journal::open(&location)).await??;
        let had_folders = !config.folders.is_empty();
        let (claims, refused, config) = tokio::task::spawn_blocking(move || {
            let (claims, refused) = super::inbox_claim::claim_all(&mut config);
            (claims, refused, config)
        })
        .await?;
        if had_folders && config.folders.is_empty() {
            return Err(StartError::EveryInboxTaken(refused));
        }
        for pair in &config.folders {
            tracing::info!("watching {}", describe(pair));
        }
        if config.folders.is_empty() {
            tracing::warn!("no [[folders]] in the config: nothing to watch");
        }
        let (stop, stopped) = watch::channel(false);
        let lost = std::sync::Arc::default();
        let claims = super::following::Following::spawn(super::inbox_claim::keep(
            claims,
            stop.clone(),
            std::sync::Arc::clone(&lost),
        ));
        let (network, followed) = watch::channel(config.network.clone());
        let bandwidth = super::bandwidth::follow(client.throttles().clone(), followed.clone());
        let (gate, upload_hold) =
            super::upload_hold::follow(options.costs.clone(), followed, events.clone());
        let task = tokio::spawn(scheduler::run(
            config,
            client,
            journal,
            events.clone(),
            options,
            gate,
            stopped,
        ));
        Ok(RunningAgent {
            stop,
            task: Some(task),
            network,
            _bandwidth: bandwidth,
            _upload_hold: upload_hold,
            _claims: claims,
            lost,
            _lock: lock,
        })
    }

    /// Puts new `[network]` settings in force at once: transfers under way go on at
    /// the new limits.
    pub fn apply_network(&self, settings: &crate::config::NetworkSettings) {
        self.network.send_replace(settings.clone());
    }

    /// Resolves when the agent stops by itself: an error it cannot go on from, or all
    /// work done with `exit_when_idle`.
    pub async fn wait(&mut self) -> anyhow::Result<()> {
        let Some(task) = self.task.as_mut() else {
            return std::future::pending().await;
        };
        let outcome = task.await;
        self.task = None;
        if let Some(why) = self.lost.lock().unwrap_or_else(|p| p.into_inner()).take() {
            anyhow::bail!(why);
        }
        outcome?
    }

    /// Asks the agent to stop and waits for it (in-flight steps are in the journal).
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            match task.await {
                Ok(Err(error)) => tracing::warn!("the agent stopped with: {error:#}"),
                Err(error) => tracing::warn!("the agent task ended abnormally: {error}"),
                Ok(Ok(())) => {}
            }
        }
    }
}
