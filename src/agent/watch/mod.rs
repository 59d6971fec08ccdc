//! The inbox watcher: native filesystem events (notify's recommended backend) plus a
//! periodic rescan for drives that deliver none; an inbox on a network share (or set to
//! `watch = "poll"`) is listed every `poll_seconds` instead, as other machines' writes
//! there send no events. Each direct subfolder of an inbox is a
//! shoot; it is reported settled once no event touched it for the settle time AND a
//! fingerprint of every file's size and mtime is unchanged across two checks. Folders
//! that cannot be shoots (a link, a name that is not text) are reported apart, when
//! the set of them changes.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

mod native;
mod stamps;
pub(crate) mod tree;

use super::unusable::{self, UnusableFolder};
use crate::events::{EventKind, Events};
use native::{Armed, NativeWatch};
pub use stamps::{FolderMark, fingerprint, folder_stamp};

#[derive(Debug, Clone)]
pub struct WatchSettings {
    pub settle: Duration,
    /// How often every inbox is listed in full (the fallback for silent drives).
    pub rescan_every: Duration,
    /// How often settling folders are checked.
    pub tick: Duration,
}

/// An inbox to watch, and how often to list it when it is polled (`None`: events).
#[derive(Debug, Clone)]
pub struct Inbox {
    pub path: PathBuf,
    pub poll: Option<Duration>,
    /// Its shoots are live: a change is told at once, not once the folder settles.
    pub live: bool,
    /// Its folders' link counts tell their subfolders (see [`folder_stamp`]).
    pub link_counts_kept: bool,
    /// What its folders were known by when last taken (from the journal): a folder
    /// whose stamp has not moved since is not read at start-up.
    pub known: HashMap<String, FolderMark>,
}

impl Inbox {
    /// How the config's hot folder is watched, with the words the log says it in.
    pub fn of(pair: &crate::config::FolderPair) -> (Inbox, String) {
        use crate::config::WatchMode;
        let every = Duration::from_secs(pair.poll_seconds);
        let polled = format!("polled every {} s", pair.poll_seconds);
        let (poll, how) = match pair.watch {
            WatchMode::Poll => (Some(every), format!("{polled} (watch = \"poll\")")),
            WatchMode::Events => (None, "change events".to_owned()),
            WatchMode::Auto => match super::network_fs::network_kind(&pair.inbox) {
                Some(kind) => (
                    Some(every),
                    format!("{polled}: it is on a network share ({kind})"),
                ),
                None => (None, "change events: it is on a local disk".to_owned()),
            },
        };
        let inbox = Inbox {
            link_counts_kept: poll.is_none() && super::network_fs::keeps_link_counts(&pair.inbox),
            path: pair.inbox.clone(),
            poll,
            live: pair.live.on,
            known: HashMap::new(),
        };
        (inbox, how)
    }
}

/// A shoot folder that has stopped changing: `folder` inside inbox number `inbox`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Settled {
    pub inbox: usize,
    pub folder: String,
}

/// What the watcher tells the scheduler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// A folder stopped changing, and what it is known by now (kept once it is taken).
    Settled(Settled, FolderMark),
    /// Something changed in a shoot folder of a live hot folder (told at most once a
    /// tick per folder).
    Live(Settled),
    /// Every folder of inbox number `inbox` that cannot be a shoot, now (sent when the
    /// set changes, and after the first look at the inbox).
    Unusable {
        inbox: usize,
        folders: Vec<UnusableFolder>,
    },
}

struct Pending {
    last_event: Instant,
    fingerprint: Option<u64>,
}

/// The shoot folder a path belongs to: the first component below one of the inboxes.
fn shoot_of(inboxes: &[PathBuf], path: &Path) -> Option<(usize, String)> {
    inboxes.iter().enumerate().find_map(|(index, inbox)| {
        let relative = path.strip_prefix(inbox).ok()?;
        let first = relative.components().next()?.as_os_str().to_str()?;
        (!first.starts_with('.')).then(|| (index, first.to_owned()))
    })
}

/// The inbox a path lies in when its shoot folder's name is not text (such a folder is
/// reported as unusable, not watched as a shoot).
fn inbox_of_unnamed(inboxes: &[PathBuf], path: &Path) -> Option<usize> {
    inboxes.iter().position(|inbox| {
        path.strip_prefix(inbox)
            .ok()
            .and_then(|relative| relative.components().next())
            .is_some_and(|first| first.as_os_str().to_str().is_none())
    })
}

/// A running watcher; dropping it stops watching.
pub struct InboxWatcher {
    task: tokio::task::JoinHandle<()>,
    settling: Arc<AtomicUsize>,
}

impl InboxWatcher {
    /// Folders seen but not settled yet.
    pub fn settling(&self) -> usize {
        self.settling.load(Ordering::Relaxed)
    }
}

impl Drop for InboxWatcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub fn spawn(
    watched: Vec<Inbox>,
    settings: WatchSettings,
    events: Events,
    settled: mpsc::Sender<Found>,
) -> InboxWatcher {
    let settling = Arc::new(AtomicUsize::new(0));
    let counter = settling.clone();
    let polled: Vec<bool> = watched.iter().map(|inbox| inbox.poll.is_some()).collect();
    let live: Vec<bool> = watched.iter().map(|inbox| inbox.live).collect();
    let link_counts_kept: Vec<bool> = watched.iter().map(|i| i.link_counts_kept).collect();
    let poll_every = watched.iter().filter_map(|inbox| inbox.poll).min();
    let mut known = HashMap::new();
    let mut inboxes = Vec::new();
    for (index, inbox) in watched.into_iter().enumerate() {
        // A live folder is never settled, so never known by a mark when taken.
        if !inbox.live {
            known.extend((inbox.known.into_iter()).map(|(folder, mark)| {
                let shoot = Settled {
                    inbox: index,
                    folder,
                };
                (shoot, mark)
            }));
        }
        inboxes.push(inbox.path);
    }
    let task = tokio::spawn(async move {
        let (watcher, mut raw) = tree::native_watcher("new shoots are found by rescanning");
        let native = NativeWatch {
            watcher,
            armed: vec![Armed::default(); inboxes.len()],
            link_counts_kept: link_counts_kept.clone(),
        };
        let mut native = native.arm_off_thread(&inboxes, &polled, &events).await;
        let mut state = WatchState {
            inboxes,
            settings,
            events,
            settled,
            pending: HashMap::new(),
            live,
            live_touched: HashSet::new(),
            link_counts_kept,
            known,
            verify_prints: false,
            unusable: HashMap::new(),
            look_again: HashSet::new(),
            counter,
            first_scan: Some(Instant::now()),
            rescans_since_sweep: vec![None; polled.len()],
        };
        let mut tick = tokio::time::interval(state.settings.tick);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut rescan = tokio::time::interval(state.settings.rescan_every);
        rescan.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut poll = tokio::time::interval(poll_every.unwrap_or(Duration::from_secs(3600)));
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                Some(event) = raw.recv() => {
                    if let Ok(event) = &event {
                        native.follow(&state.inboxes, event);
                    }
                    state.on_event(event);
                }
                _ = rescan.tick() => {
                    native = native.arm_off_thread(&state.inboxes, &polled, &state.events).await;
                    let heard = native.heard_in_full(&polled);
                    state.rescan(|_| true, &heard).await;
                }
                _ = poll.tick(), if poll_every.is_some() => {
                    state.rescan(|inbox| polled[inbox], &native.heard_in_full(&polled)).await;
                }
                // Nothing settling: no wake-ups at all while the inbox is left alone.
                _ = tick.tick(), if state.has_work() => {
                    if state.check_settling().await.is_err() {
                        return;
                    }
                }
            }
        }
    });
    InboxWatcher { task, settling }
}

struct WatchState {
    inboxes: Vec<PathBuf>,
    settings: WatchSettings,
    events: Events,
    settled: mpsc::Sender<Found>,
    pending: HashMap<Settled, Pending>,
    /// Which inboxes are live, and their folders changed since the last tick.
    live: Vec<bool>,
    live_touched: HashSet<Settled>,
    /// Whether each inbox's link counts tell subfolders.
    link_counts_kept: Vec<bool>,
    /// Marks of folders last reported settled, so rescans report only changes.
    known: HashMap<Settled, FolderMark>,
    /// Events were lost: the next rescan compares every folder's files, not its stamp.
    verify_prints: bool,
    /// The unusable folders last reported, by inbox.
    unusable: HashMap<usize, Vec<UnusableFolder>>,
    /// Inboxes to list again for unusable folders (an event or a settled link hinted).
    look_again: HashSet<usize>,
    counter: Arc<AtomicUsize>,
    /// Set until the start-up scan is done, to log how long it took.
    first_scan: Option<Instant>,
    /// By inbox, rescans since every known folder's stamp was last read (`None`: not
    /// since the start).
    rescans_since_sweep: Vec<Option<u32>>,
}

/// Every this many rescans (an hour, by default), a rescan reads the stamp of every
/// known folder, even where every folder is watched.
const SWEEP_EVERY: u32 = 30;

impl WatchState {
    /// Whether a tick has something to look at.
    fn has_work(&self) -> bool {
        !self.pending.is_empty() || !self.live_touched.is_empty() || !self.look_again.is_empty()
    }

    fn touch(&mut self, shoot: Settled) {
        if self.live.get(shoot.inbox).copied().unwrap_or(false) {
            self.live_touched.insert(shoot);
            return;
        }
        let now = Instant::now();
        let pending = self.pending.entry(shoot.clone()).or_insert_with(|| {
            self.events.emit(&shoot.folder, None, EventKind::Settling);
            Pending {
                last_event: now,
                fingerprint: None,
            }
        });
        pending.last_event = now;
        pending.fingerprint = None;
        self.counter.store(self.pending.len(), Ordering::Relaxed);
    }

    fn on_event(&mut self, event: notify::Result<notify::Event>) {
        let event = match event {
            Ok(event) => event,
            Err(error) => {
                tracing::debug!(%error, "watch error; the next rescan covers it");
                return;
            }
        };
        if event.need_rescan() {
            self.rescan_now();
        }
        // Opening and reading (our own scans included) change nothing; a closed write does.
        if let notify::EventKind::Access(access) = event.kind
            && access != notify::event::AccessKind::Close(notify::event::AccessMode::Write)
        {
            return;
        }
        for path in &event.paths {
            if let Some((inbox, folder)) = shoot_of(&self.inboxes, path) {
                let top = self.inboxes[inbox].join(&folder);
                if std::fs::symlink_metadata(top).is_ok_and(|m| m.is_symlink()) {
                    self.look_again.insert(inbox);
                    continue;
                }
                tracing::trace!(folder, kind = ?event.kind, "file event");
                self.touch(Settled { inbox, folder });
            } else if let Some(inbox) = inbox_of_unnamed(&self.inboxes, path) {
                self.look_again.insert(inbox);
            }
        }
    }

    /// After an event queue overflow: any folder may have changed, even in place.
    fn rescan_now(&mut self) {
        self.verify_prints = true;
    }

    /// Lists the inboxes `which` picks and touches every folder new or changed there.
    ///
    /// In an inbox whose every folder is watched (`heard_in_full`), a change to a known
    /// folder is heard as it happens, so a rescan lists the inbox only, for folders it
    /// does not know; each known folder's stamp is read at start-up, after lost events,
    /// and every [`SWEEP_EVERY`] rescans (a watch is never trusted for ever).
    async fn rescan(&mut self, which: impl Fn(usize) -> bool, heard_in_full: &[bool]) {
        let mut heard = vec![false; self.inboxes.len()];
        for inbox in (0..self.inboxes.len()).filter(|inbox| which(*inbox)) {
            let since = &mut self.rescans_since_sweep[inbox];
            let sweep = self.verify_prints
                || !heard_in_full.get(inbox).copied().unwrap_or(false)
                || since.is_none_or(|rescans| rescans + 1 >= SWEEP_EVERY);
            *since = Some(if sweep { 0 } else { since.unwrap_or(0) + 1 });
            heard[inbox] = !sweep;
        }
        let inboxes: Vec<(usize, PathBuf)> = (self.inboxes.iter().cloned().enumerate())
            .filter(|(index, _)| which(*index))
            .collect();
        // Moved to the blocking thread and back, not copied: it holds every folder.
        let mut known = std::mem::take(&mut self.known);
        let pending: HashSet<Settled> = self.pending.keys().cloned().collect();
        let links_kept = self.link_counts_kept.clone();
        let verify = self.verify_prints;
        if (0..self.inboxes.len()).all(&which) {
            self.verify_prints = false;
        }
        let looked = tokio::task::spawn_blocking(move || {
            let (mut changed, mut unusable) = (Vec::new(), Vec::new());
            for (inbox, path) in inboxes {
                let Some(listing) = unusable::list(&path) else {
                    continue;
                };
                for folder in listing.shoots {
                    let shoot = Settled { inbox, folder };
                    if pending.contains(&shoot) || (heard[inbox] && known.contains_key(&shoot)) {
                        continue;
                    }
                    let dir = path.join(&shoot.folder);
                    let Some(stamp) = folder_stamp(&dir, links_kept[inbox]) else {
                        continue;
                    };
                    let was = known.get(&shoot).copied();
                    if !verify && was.is_some_and(|was| was.stamp == stamp) {
                        continue;
                    }
                    let Some(print) = fingerprint(&dir) else {
                        continue;
                    };
                    match was {
                        // Its stamp moved but not its files (a folder touched): known anew.
                        Some(was) if was.print == print => {
                            known.insert(shoot, FolderMark { stamp, print });
                        }
                        _ => changed.push((shoot, FolderMark { stamp, print })),
                    }
                }
                unusable.push((inbox, listing.unusable));
            }
            (known, changed, unusable)
        })
        .await;
        // Lost with a panic of the look: every folder is then read again, once.
        let (known, changed, unusable) = looked.unwrap_or_default();
        self.known = known;
        if self.report_unusable(unusable).await.is_err() {
            return;
        }
        if let Some(started) = self.first_scan.take() {
            tracing::info!(
                folders = changed.len(),
                "start-up inbox scan done in {} ms",
                started.elapsed().as_millis()
            );
        }
        for (shoot, print) in changed {
            tracing::debug!(
                folder = shoot.folder,
                "rescan found a new or changed folder"
            );
            // A live folder is never settled: what a rescan saw of it is what it knows.
            if self.live.get(shoot.inbox).copied().unwrap_or(false) {
                self.known.insert(shoot.clone(), print);
            }
            self.touch(shoot);
        }
    }

    /// Reports each inbox's unusable folders whose set changed (or was never reported).
    async fn report_unusable(
        &mut self,
        found: Vec<(usize, Vec<UnusableFolder>)>,
    ) -> Result<(), ()> {
        for (inbox, folders) in found {
            if self.unusable.get(&inbox) == Some(&folders) {
                continue;
            }
            self.unusable.insert(inbox, folders.clone());
            let news = Found::Unusable { inbox, folders };
            self.settled.send(news).await.map_err(|_| ())?;
        }
        Ok(())
    }

    /// Lists again the inboxes an event or a settled link pointed at.
    async fn look_again_for_unusable(&mut self) -> Result<(), ()> {
        let inboxes: Vec<(usize, PathBuf)> = std::mem::take(&mut self.look_again)
            .into_iter()
            .map(|inbox| (inbox, self.inboxes[inbox].clone()))
            .collect();
        let found = tokio::task::spawn_blocking(move || {
            inboxes
                .into_iter()
                .filter_map(|(inbox, path)| Some((inbox, unusable::list(&path)?.unusable)))
                .collect()
        })
        .await
        .unwrap_or_default();
        self.report_unusable(found).await
    }

    /// Fingerprints every settling folder; reports those quiet for the settle time whose
    /// fingerprint matches the one taken a tick earlier (after their last event).
    async fn check_settling(&mut self) -> Result<(), ()> {
        if !self.look_again.is_empty() {
            self.look_again_for_unusable().await?;
        }
        for shoot in std::mem::take(&mut self.live_touched) {
            self.settled
                .send(Found::Live(shoot))
                .await
                .map_err(|_| ())?;
        }
        if self.pending.is_empty() {
            return Ok(());
        }
        let settle = self.settings.settle;
        let looked_at: Vec<(Settled, bool, Option<u64>, PathBuf)> = self
            .pending
            .iter()
            .map(|(shoot, p)| {
                let dir = self.inboxes[shoot.inbox].join(&shoot.folder);
                (
                    shoot.clone(),
                    p.last_event.elapsed() >= settle,
                    p.fingerprint,
                    dir,
                )
            })
            .collect();
        let links_kept = self.link_counts_kept.clone();
        let checked = tokio::task::spawn_blocking(move || {
            looked_at
                .into_iter()
                .map(|(shoot, quiet, before, dir)| {
                    // A link to a folder is never a shoot: it is reported as unusable.
                    let real = std::fs::symlink_metadata(&dir).is_ok_and(|m| m.is_dir());
                    let print = real.then(|| fingerprint(&dir)).flatten();
                    // Its stamp is wanted only once it settles, to be known by.
                    let settled = print.filter(|print| quiet && before == Some(*print));
                    let stamp = settled.and_then(|print| {
                        Some((folder_stamp(&dir, links_kept[shoot.inbox])?, print))
                    });
                    (shoot, print, stamp, real)
                })
                .collect::<Vec<_>>()
        })
        .await
        .unwrap_or_default();
        for (shoot, print, settled, real) in checked {
            if !real {
                self.look_again.insert(shoot.inbox);
            }
            match (print, settled) {
                (None, _) => {
                    self.pending.remove(&shoot);
                    self.known.remove(&shoot);
                    self.events.emit(&shoot.folder, None, EventKind::Vanished);
                }
                (Some(_), Some((stamp, print))) => {
                    self.pending.remove(&shoot);
                    let mark = FolderMark { stamp, print };
                    self.known.insert(shoot.clone(), mark);
                    if self
                        .settled
                        .send(Found::Settled(shoot, mark))
                        .await
                        .is_err()
                    {
                        return Err(());
                    }
                }
                (Some(print), None) => {
                    if let Some(pending) = self.pending.get_mut(&shoot) {
                        pending.fingerprint = Some(print);
                    }
                }
            }
        }
        self.counter.store(self.pending.len(), Ordering::Relaxed);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_map_to_the_shoot_folder_they_happen_in() {
        let inboxes = [PathBuf::from("/a/Inbox"), PathBuf::from("/b/Inbox")];
        assert_eq!(
            shoot_of(&inboxes, Path::new("/b/Inbox/123 Main/K/x.jpg")),
            Some((1, "123 Main".into()))
        );
        assert_eq!(shoot_of(&inboxes, Path::new("/a/Inbox/.DS_Store")), None);
        assert_eq!(shoot_of(&inboxes, Path::new("/a/Inbox")), None);
        assert_eq!(shoot_of(&inboxes, Path::new("/c/x")), None);
    }
}
