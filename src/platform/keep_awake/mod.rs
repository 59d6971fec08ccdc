//! Keeps the machine from going to sleep on its own while the agent has work under way
//! (photos uploading or being edited, a live shoot open), so an event's photos are not
//! left waiting on a laptop that dozed off. Only idle sleep is held off: closing the
//! lid or choosing Suspend still puts the machine to sleep, and the agent carries on
//! when it wakes. `[agent] keep_awake = false` turns it off.
//!
//! One [`KeepAwake`] per agent: it is told what the work is ([`KeepAwake::want`]) and
//! holds the system's lock (a platform's `Held`) while there is some, letting go when
//! told `None` or dropped. Linux's locks are tested; macOS's and Windows's are written
//! to their documented calls and not tested here.

use tokio::sync::watch;

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
use linux::Held;
#[cfg(target_os = "macos")]
mod macos;
#[cfg(target_os = "macos")]
use macos::Held;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows::Held;
#[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
mod unsupported;
#[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
use unsupported::Held;

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
        if Held::THREAD_BOUND {
            // The lock belongs to the thread that took it: one thread of its own.
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().build();
                if let Ok(runtime) = runtime {
                    runtime.block_on(follow(follower));
                }
            });
        } else {
            tokio::spawn(follow(follower));
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

/// Holds a lock while `wanted` says there is work, until its sender is gone.
async fn follow(mut wanted: watch::Receiver<Option<String>>) {
    let mut held: Option<Held> = None;
    let mut said_unavailable = false;
    loop {
        let why = wanted.borrow_and_update().clone();
        match why {
            Some(why) if held.is_none() => match Held::take(&why).await {
                Ok(lock) => {
                    tracing::info!("keeping the machine awake ({}): {why}", lock.by());
                    held = Some(lock);
                }
                Err(error) => {
                    if !std::mem::replace(&mut said_unavailable, true) {
                        tracing::info!(
                            "the machine cannot be kept awake ({error}): if it sleeps on its \
                             own, the work goes on when it wakes"
                        );
                    }
                }
            },
            None => {
                if let Some(lock) = held.take() {
                    lock.release().await;
                    tracing::info!("the machine may sleep again: no work under way");
                }
            }
            _ => {}
        }
        if wanted.changed().await.is_err() {
            if let Some(lock) = held.take() {
                lock.release().await;
            }
            return;
        }
    }
}
