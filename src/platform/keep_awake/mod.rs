//! Keeps the machine from going to sleep on its own while the agent has work under way
//! (photos uploading or being edited, a live shoot open), so an event's photos are not
//! left waiting on a laptop that dozed off. Only idle sleep is held off: closing the
//! lid or choosing Suspend still puts the machine to sleep, and the agent carries on
//! when it wakes. `[agent] keep_awake = false` turns it off.
//!
//! One [`KeepAwake`] per agent: it is told what the work is ([`KeepAwake::want`]) and
//! holds the system's lock while there is some, letting go when told `None` or dropped.

use tokio::sync::watch;

#[cfg(target_os = "linux")]
mod linux;

/// Holds off idle sleep while it is told there is work.
pub struct KeepAwake {
    wanted: Option<watch::Sender<Option<String>>>,
}

impl KeepAwake {
    /// Starts following on the current tokio runtime (`enabled` is `[agent] keep_awake`).
    pub fn start(enabled: bool) -> KeepAwake {
        if !enabled {
            return KeepAwake { wanted: None };
        }
        let (wanted, follower) = watch::channel(None);
        #[cfg(target_os = "linux")]
        tokio::spawn(linux::follow(follower));
        #[cfg(not(target_os = "linux"))]
        {
            // macOS (IOPMAssertionCreateWithName) and Windows (SetThreadExecutionState)
            // are not asked yet.
            tracing::info!(
                "keeping this system awake is not supported yet: idle sleep may pause the work"
            );
            drop(follower);
        }
        KeepAwake {
            wanted: Some(wanted),
        }
    }

    /// Why the machine should stay awake now (`None`: it may sleep). Cheap when
    /// nothing changed.
    pub fn want(&self, why: Option<&str>) {
        if let Some(wanted) = &self.wanted {
            wanted.send_if_modified(|now| {
                let changed = now.as_deref() != why;
                if changed {
                    *now = why.map(str::to_owned);
                }
                changed
            });
        }
    }
}
