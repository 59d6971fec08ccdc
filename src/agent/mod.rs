//! The agent: the core flow, one file a stage.
//!
//! ```text
//! watch ──settled folder──▶ intake ──batches──▶ journal ◀──steps── pipeline ──▶ outbox
//!  (events, rescans,         (scan, names,       (the one          (create, upload,
//!   settling)                 magic, report)      truth)            edit, poll, download)
//!                                                   ▲
//!                          scheduler ──picks active shoots, backoff, pause──┘
//!
//!                 every stage ──▶ events ──▶ logs, tray, notifications, dashboard
//! ```
//!
//! The layers that run it, outermost first: `app` puts the process together,
//! `supervisor` restarts the agent when the config changes, [`RunningAgent`] is one
//! agent on one config (its hold on the data folder, its journal, its inbox claims), and
//! the scheduler is that agent's loop. The spend guard ([`spend`]) sits between the
//! journal and a new project.

mod bandwidth;
pub mod checked_open;
pub mod data_folder;
mod following;
mod imagen_reach;
pub mod inbox_claim;
pub mod intake;
pub mod live;
pub mod magic;
pub mod names;
mod network_fs;
pub mod outbox;
pub mod pipeline;
pub mod report;
mod running_agent;
pub mod scan;
mod scheduler;
pub mod spend;
mod touchups;
pub mod unusable;
pub mod upload_hold;
pub mod watch;
pub mod whole;

use std::time::Duration;

use crate::config::{Config, FolderPair};
use pipeline::PollSchedule;
use watch::WatchSettings;

pub use report::REPORT_NAME;
pub use running_agent::{RunningAgent, StartError};

#[derive(Debug, Clone)]
pub struct AgentOptions {
    pub watch: WatchSettings,
    pub polls: PollSchedule,
    /// Scheduler period: how soon pause, retry and new shoots are noticed.
    pub tick: Duration,
    /// Stop once something was processed and nothing is left (the demo's `--once`).
    pub exit_when_idle: bool,
    /// Whether the machine is on a metered network or battery, for uploads to wait.
    pub costs: tokio::sync::watch::Receiver<crate::platform::costs::Costs>,
    /// Notified when a control of this process (the tray, the dashboard) was written
    /// to the journal: the scheduler looks at once.
    pub nudge: std::sync::Arc<tokio::sync::Notify>,
}

impl AgentOptions {
    pub fn for_config(config: &Config) -> Self {
        AgentOptions {
            watch: WatchSettings {
                settle: Duration::from_secs(config.agent.settle_seconds),
                rescan_every: Duration::from_secs(config.agent.rescan_seconds),
                tick: Duration::from_millis(500),
            },
            polls: PollSchedule::default(),
            tick: Duration::from_secs(1),
            exit_when_idle: false,
            costs: crate::platform::costs::none(),
            nudge: Default::default(),
        }
    }
}

/// Describes the folder pairs for start-up logs.
pub fn describe(pair: &FolderPair) -> String {
    format!("{} → {}", pair.inbox.display(), pair.outbox.display())
}
