//! Whether sending now costs the user more than usual: a metered connection (a phone's
//! hotspot, a data plan) or battery power, as the operating system tells it. One
//! watcher per process keeps a [`Costs`] current; the agent decides from it (and the
//! user's `[network]` settings) whether uploads wait.

use serde::Serialize;
use tokio::sync::watch;

#[cfg(target_os = "linux")]
mod linux;

/// Why uploads wait (the user's `[network]` settings applied to the [`Costs`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HoldReason {
    Metered,
    OnBattery,
}

impl HoldReason {
    /// What the user is told, in the tray and the dashboard.
    pub fn waiting_words(self) -> &'static str {
        match self {
            HoldReason::Metered => "Waiting for an unmetered network",
            HoldReason::OnBattery => "Waiting for mains power",
        }
    }
}

/// What the machine is on now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Costs {
    /// The metered connection in use (an id that changes when the network does), or
    /// `None` when the connection is not metered or nobody can tell.
    pub metered: Option<String>,
    /// On battery rather than mains power (`false` when nobody can tell).
    pub on_battery: bool,
}

/// Starts watching, on the current tokio runtime; the receiver holds the costs now.
/// Where the system cannot be asked, the costs stay "unmetered, on mains" and the log
/// says so once. A receiver whose sender is gone keeps its last value for good.
pub fn watch() -> watch::Receiver<Costs> {
    let (sender, receiver) = watch::channel(Costs::default());
    #[cfg(target_os = "linux")]
    tokio::spawn(linux::follow(sender));
    #[cfg(not(target_os = "linux"))]
    {
        tracing::info!(
            "this system's network cost and power source are not read yet: uploads go on \
             as on an unmetered network and mains power"
        );
        drop(sender);
    }
    receiver
}

/// Costs that never change (unmetered, on mains): for the demo and tests.
pub fn none() -> watch::Receiver<Costs> {
    watch::channel(Costs::default()).1
}
