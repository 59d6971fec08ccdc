//! What changed in the outboxes touch-ups follow: each outbox's folders are watched
//! natively (folder by folder, see [`crate::agent::watch::tree`]), so a look reads only
//! the outputs an event named, never every output of years of shoots. An outbox on a
//! network share, where other machines' saves send no events here, or one that cannot
//! be watched, is read whole every poll period instead; so is every outbox after lost
//! events, and once when its watch is set (changes made while it was not watched).

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::agent::watch::tree;

/// How often an outbox that cannot be watched on a local disk is read whole.
const READ_WHOLE_EVERY: Duration = Duration::from_secs(60);

/// One followed outbox.
struct Outbox {
    path: PathBuf,
    link_counts_kept: bool,
    /// Read whole every this often, for lack of events.
    polled: Option<Duration>,
    watched: bool,
}

/// The outboxes' change events, gathered between looks.
pub(super) struct OutboxChanges {
    watcher: Option<notify::RecommendedWatcher>,
    raw: tree::RawEvents,
    outboxes: Vec<Outbox>,
    /// Paths an event named since the last look.
    changed: HashSet<PathBuf>,
    /// Every output must be looked at (first look, lost events, a watch newly set).
    everything: bool,
    last_full: Instant,
}

/// What the next look reads.
pub(super) enum Wanted {
    Everything,
    Paths(HashSet<PathBuf>),
}

impl OutboxChanges {
    /// Follows `outboxes` (path, poll period when it gets no events).
    pub(super) fn follow(outboxes: Vec<(PathBuf, Option<Duration>)>) -> OutboxChanges {
        let (watcher, raw) =
            tree::native_watcher("touch-ups read the outboxes whole every poll period");
        let outboxes = (outboxes.into_iter())
            .map(|(path, polled): (PathBuf, Option<Duration>)| Outbox {
                polled: polled.or(watcher.is_none().then_some(READ_WHOLE_EVERY)),
                link_counts_kept: crate::agent::network_fs::keeps_link_counts(&path),
                path,
                watched: false,
            })
            .collect();
        OutboxChanges {
            watcher,
            raw,
            outboxes,
            changed: HashSet::new(),
            everything: true,
            last_full: Instant::now(),
        }
    }

    /// Watches the outboxes not watched yet (one may not exist before its first output).
    pub(super) async fn arm(&mut self) {
        let to_arm = |o: &Outbox| !o.watched && o.polled.is_none();
        if !self.outboxes.iter().any(to_arm) {
            return;
        }
        let Some(mut watcher) = self.watcher.take() else {
            return;
        };
        let mut outboxes = std::mem::take(&mut self.outboxes);
        let (watcher, outboxes, newly) = tokio::task::spawn_blocking(move || {
            let mut newly = false;
            for outbox in outboxes.iter_mut().filter(|o| to_arm(o)) {
                if !outbox.path.is_dir() {
                    continue;
                }
                let root = &outbox.path;
                match tree::watch_tree(&mut watcher, root, outbox.link_counts_kept) {
                    Ok(()) => {
                        outbox.watched = true;
                        newly = true;
                    }
                    Err(error) => {
                        let error = tree::why_not_watched(&error);
                        tracing::warn!(outbox = %root.display(), %error,
                            "touch-ups: cannot watch this outbox; it is read whole every minute");
                        outbox.polled = Some(READ_WHOLE_EVERY);
                    }
                }
            }
            (watcher, outboxes, newly)
        })
        .await
        .expect("arming the outbox watch does not panic");
        self.watcher = Some(watcher);
        self.outboxes = outboxes;
        self.everything |= newly;
    }

    /// Whether a look has anything to read, or an outbox is still to be watched.
    pub(super) fn has_work(&self) -> bool {
        self.everything || !self.changed.is_empty() || self.outboxes.iter().any(|o| !o.watched)
    }

    /// The next change event, gathered; lost events ask for a look at everything.
    pub(super) async fn next_event(&mut self) {
        let Some(event) = self.raw.recv().await else {
            return std::future::pending().await;
        };
        let Ok(event) = event else {
            self.everything = true;
            return;
        };
        if event.need_rescan() {
            self.everything = true;
        }
        if let notify::EventKind::Access(access) = event.kind
            && access != notify::event::AccessKind::Close(notify::event::AccessMode::Write)
        {
            return;
        }
        if let Some(watcher) = self.watcher.as_mut() {
            for folder in tree::made_folders(&event) {
                let links = (self.outboxes.iter())
                    .find(|o| folder.starts_with(&o.path))
                    .is_some_and(|o| o.link_counts_kept);
                if let Err(error) = tree::watch_tree(watcher, folder, links) {
                    let error = tree::why_not_watched(&error);
                    tracing::warn!(%error, "touch-ups: cannot watch a new outbox folder");
                    self.everything = true;
                }
            }
        }
        self.changed.extend(event.paths);
    }

    /// What the next look reads (with `also`, the outputs still being followed), and
    /// forgets it.
    pub(super) fn take(&mut self, also: impl Iterator<Item = PathBuf>) -> Wanted {
        let poll_due = (self.outboxes.iter())
            .filter(|o| !o.watched)
            .filter_map(|o| o.polled)
            .min()
            .is_some_and(|every| self.last_full.elapsed() >= every);
        if std::mem::take(&mut self.everything) || poll_due {
            self.changed.clear();
            self.last_full = Instant::now();
            return Wanted::Everything;
        }
        let mut paths = std::mem::take(&mut self.changed);
        paths.extend(also);
        Wanted::Paths(paths)
    }
}
