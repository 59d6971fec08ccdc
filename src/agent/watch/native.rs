//! The native watch of each inbox (notify's recommended backend), armed again when an
//! inbox comes back or is replaced (a drive mounted again); a missing inbox is told
//! once, and again when it is back.
//!
//! Each folder is watched on its own ([`super::tree`]).

use std::path::{Path, PathBuf};

use notify::Watcher as _;

use crate::events::{EventKind, Events};

/// How one inbox is watched natively.
#[derive(Clone, Default)]
pub(super) struct Armed {
    /// The folder's identity when its watch was set (a drive mounted again is a new
    /// folder at the same path, which the old watch does not see).
    identity: Option<(u64, u64)>,
    /// A problem already told, so each is said once.
    told: Option<String>,
    /// The inbox was missing when last looked at (told as an event).
    missing: bool,
}

impl Armed {
    /// Logs `problem` unless it is the one already told.
    fn tell(&mut self, inbox: &Path, problem: String) {
        if self.told.as_ref() != Some(&problem) {
            tracing::warn!(inbox = %inbox.display(), "{problem}");
            self.told = Some(problem);
        }
    }
}

/// The native watcher, re-armed on every rescan for inboxes that came back.
pub(super) struct NativeWatch {
    pub(super) watcher: Option<notify::RecommendedWatcher>,
    pub(super) armed: Vec<Armed>,
    /// Whether each inbox's link counts tell subfolders (see `each_folder`).
    pub(super) link_counts_kept: Vec<bool>,
}

/// A folder's identity: (device, inode) where the platform has one, else whether it
/// is there at all.
fn identity(path: &Path) -> Option<(u64, u64)> {
    match crate::files::overlap::identity(path) {
        Some(identity) => Some(identity),
        None => path.is_dir().then_some((0, 1)),
    }
}

impl NativeWatch {
    /// Watches every inbox that is not watched yet, or is a different folder than when
    /// its watch was set. A missing inbox is told once (log, tray, notification) and
    /// again when it is back; other problems are logged once, until they change.
    pub(super) fn arm(&mut self, inboxes: &[PathBuf], polled: &[bool], events: &Events) {
        for (index, inbox) in inboxes.iter().enumerate() {
            let (armed, polled) = (&mut self.armed[index], polled[index]);
            let now = identity(inbox);
            if now.is_some() && now == armed.identity {
                continue;
            }
            if now.is_none() {
                armed.identity = None;
                if !armed.missing {
                    armed.missing = true;
                    armed.told = None;
                    events.emit(
                        "",
                        None,
                        EventKind::InboxMissing {
                            inbox: inbox.clone(),
                        },
                    );
                }
                continue;
            }
            if std::mem::take(&mut armed.missing) {
                events.emit(
                    "",
                    None,
                    EventKind::InboxBack {
                        inbox: inbox.clone(),
                    },
                );
            }
            let Some(watcher) = self.watcher.as_mut().filter(|_| !polled) else {
                armed.identity = now;
                continue;
            };
            let again = armed.identity.is_some() || armed.told.is_some();
            if armed.identity.is_some() {
                let _ = watcher.unwatch(inbox);
            }
            match super::tree::watch_tree(watcher, inbox, self.link_counts_kept[index]) {
                Ok(()) => {
                    if again {
                        tracing::info!(
                            inbox = %inbox.display(),
                            "the inbox came back or was replaced (a drive mounted again?): watching it again"
                        );
                    }
                    armed.told = None;
                    armed.identity = now;
                }
                Err(error) => armed.tell(
                    inbox,
                    format!(
                        "cannot watch this inbox natively ({}; on Linux, raise \
                     fs.inotify.max_user_watches); new shoots are still found by rescanning",
                        super::tree::why_not_watched(&error)
                    ),
                ),
            }
        }
    }
}

impl NativeWatch {
    /// [`NativeWatch::arm`] on a blocking thread: arming reads the inbox's folders.
    pub(super) async fn arm_off_thread(
        mut self,
        inboxes: &[PathBuf],
        polled: &[bool],
        events: &Events,
    ) -> NativeWatch {
        let (inboxes, polled, events) = (inboxes.to_vec(), polled.to_vec(), events.clone());
        tokio::task::spawn_blocking(move || {
            self.arm(&inboxes, &polled, &events);
            self
        })
        .await
        .expect("arming the inbox watch does not panic")
    }

    /// Whether each inbox's every folder is watched natively: its changes are heard as
    /// they happen (no watch failed, none of them since it was armed).
    pub(super) fn heard_in_full(&self, polled: &[bool]) -> Vec<bool> {
        (self.armed.iter().zip(polled))
            .map(|(armed, polled)| {
                !polled
                    && self.watcher.is_some()
                    && armed.identity.is_some()
                    && armed.told.is_none()
            })
            .collect()
    }

    /// Watches a folder made or moved into a natively watched inbox, and every folder
    /// below it.
    pub(super) fn follow(&mut self, inboxes: &[PathBuf], event: &notify::Event) {
        let Some(watcher) = self.watcher.as_mut() else {
            return;
        };
        for path in super::tree::made_folders(event) {
            let Some(index) = inboxes.iter().position(|inbox| path.starts_with(inbox)) else {
                continue;
            };
            if self.armed[index].identity.is_none() {
                continue;
            }
            if let Err(error) = super::tree::watch_tree(watcher, path, self.link_counts_kept[index])
            {
                self.armed[index].tell(
                    &inboxes[index],
                    format!(
                        "cannot watch a new folder natively ({}; on Linux, raise \
                         fs.inotify.max_user_watches); it is still found by rescanning",
                        super::tree::why_not_watched(&error)
                    ),
                );
            }
        }
    }
}
