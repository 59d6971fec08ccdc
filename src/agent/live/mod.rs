//! Live shoots (`[[folders]] live = true`): a shoot folder that keeps receiving photos
//! for hours is edited in batches as they arrive. Each photo is followed from the
//! moment it shows up until it is settled: unchanged for 2 s once whole by its format
//! (a camera's transfer lands it whole), else for the settle time; `cut` says
//! when a batch goes up and which photos it takes (never half a bracket); the batch is
//! recorded in the journal before its project exists, like any shoot, so a kill loses
//! and doubles nothing. After `live_idle_minutes` without a new photo, once every batch
//! has finished, the shoot's end is told once (`LiveEnded`: one notification, one
//! webhook push with the totals); a photo arriving later reopens it.

pub mod capture;
pub mod cut;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::intake::record_found;
use super::pipeline::Context;
use super::scan::{self, ListedPhoto, Skipped};
use super::watch::Settled;
use crate::config::Config;
use crate::events::EventKind;
use crate::journal::{self, Arrival, ShootId, ShootQueue, ShootState};
use crate::shoot::PairPolicy;
use capture::Capture;
use cut::{CutRules, Waiting};

/// How often an idle live shoot is asked whether its end has come.
const END_CHECK_EVERY: Duration = Duration::from_secs(5);
/// Batches cut in one look at most (a burst of several hundred settled photos).
const CUTS_PER_LOOK: usize = 20;
/// A photo whole by its format (a JPEG up to its end marker, a RAW's container whole)
/// is settled after this long unchanged, as a camera's transfer lands it whole; one
/// that is not waits the full `settle_seconds`, as a slow copy may still be writing it.
const WHOLE_SETTLES_IN: Duration = Duration::from_secs(2);

/// Size and modification time: a file whose stamp moves is still being written.
type Stamp = (u64, Option<SystemTime>);

fn stamp_of(metadata: &std::fs::Metadata) -> Stamp {
    (metadata.len(), metadata.modified().ok())
}

/// Every live shoot folder the agent has seen, with its photos not sent yet.
#[derive(Default)]
pub(super) struct LiveShoots {
    folders: HashMap<Settled, LiveFolder>,
}

/// A live shoot as this agent follows it.
#[derive(Default)]
struct LiveFolder {
    /// Read from the journal at the first look (photos sent, the newest batch).
    loaded: bool,
    /// Photos recorded in the journal: sent, or being sent.
    known: HashSet<PathBuf>,
    waiting: HashMap<PathBuf, Tracked>,
    /// Photos refused as they were (not whole, unreadable), and why: looked at again
    /// once they change.
    refused: HashMap<PathBuf, (Stamp, Skipped)>,
    /// The folder's other files not sent (junk, twins), as last listed.
    listed_not_sent: Vec<Skipped>,
    /// When the newest photo arrived (Unix ms).
    last_arrival_ms: i64,
    /// The folder changed since it was last listed.
    changed: bool,
    newest_batch: Option<ShootId>,
    /// What the surfaces were last told of it.
    told: Option<crate::events::LiveNow>,
    /// The newest batch the end was asked for: the end is asked once per batch.
    end_asked_for: Option<ShootId>,
    end_checked: Option<Instant>,
}

#[derive(Debug, Clone)]
struct Tracked {
    kind: crate::shoot::PhotoKind,
    stamp: Stamp,
    steady_since: Instant,
    arrived_ms: i64,
    /// Capture time (or file time), once its headers could be read.
    taken_ms: Option<i64>,
    /// Whole by its format as last examined.
    whole: bool,
}

impl Tracked {
    /// The file changed: it settles again from now and is examined again.
    fn changed_to(&mut self, stamp: Stamp) {
        self.stamp = stamp;
        self.steady_since = Instant::now();
        self.taken_ms = None;
        self.whole = false;
    }

    fn settled(&self, settle: Duration) -> bool {
        let settle = match self.whole {
            true => settle.min(WHOLE_SETTLES_IN),
            false => settle,
        };
        self.steady_since.elapsed() >= settle
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn file_ms(time: Option<SystemTime>) -> Option<i64> {
    Some(time?.duration_since(UNIX_EPOCH).ok()?.as_millis() as i64)
}

/// What a look at a folder found, off the async workers.
struct Looked {
    /// `None`: the folder is gone.
    listing: Option<scan::Listing>,
    /// Stamps of the waiting photos (when the folder was not listed).
    stamps: Vec<(PathBuf, Option<std::fs::Metadata>)>,
}

impl LiveShoots {
    /// Something changed in a live shoot folder: it is listed at the next look.
    pub(super) fn touch(&mut self, shoot: Settled) {
        self.folders.entry(shoot).or_default().changed = true;
    }

    /// Whether a live shoot is open: photos wait, or the last one arrived less than the
    /// idle time ago (the machine should stay awake).
    pub(super) fn any_open(&self, config: &Config) -> bool {
        let now = now_ms();
        self.folders.iter().any(|(shoot, folder)| {
            let idle = config.folders[shoot.inbox].live.idle().as_millis() as i64;
            !folder.waiting.is_empty()
                || (folder.last_arrival_ms > 0 && now - folder.last_arrival_ms < idle)
        })
    }

    /// Whether the next look has something to do (a folder changed, or photos wait).
    pub(super) fn has_work(&self) -> bool {
        self.folders
            .values()
            .any(|f| f.changed || !f.waiting.is_empty() || f.end_asked_for != f.newest_batch)
    }

    /// Looks at every live shoot: follows its photos, cuts the batches that are due,
    /// and tells the end of those gone quiet. Returns whether a batch was recorded.
    pub(super) async fn look(
        &mut self,
        ctx: &Context,
        queue: &Arc<dyn ShootQueue>,
        config: &Config,
    ) -> bool {
        let mut recorded = false;
        let shoots: Vec<Settled> = self.folders.keys().cloned().collect();
        for shoot in shoots {
            let Some(pair) = config.folders.get(shoot.inbox) else {
                self.folders.remove(&shoot);
                continue;
            };
            if !pair.live.on {
                self.folders.remove(&shoot);
                continue;
            }
            let mut folder = self.folders.remove(&shoot).unwrap_or_default();
            let batches_before = folder.newest_batch;
            let looked = folder.look(ctx, queue, config, &shoot).await;
            recorded |= folder.newest_batch != batches_before;
            match looked {
                Ok(true) => {
                    self.folders.insert(shoot, folder);
                }
                Ok(false) => {
                    tracing::debug!(shoot = shoot.folder, "the live shoot's folder is gone");
                }
                Err(error) => {
                    tracing::warn!(shoot = shoot.folder, %error, "could not follow this live shoot now; trying again");
                    self.folders.insert(shoot, folder);
                }
            }
        }
        recorded
    }
}

impl LiveFolder {
    /// One look; `Ok(false)` when the folder is gone.
    async fn look(
        &mut self,
        ctx: &Context,
        queue: &Arc<dyn ShootQueue>,
        config: &Config,
        shoot: &Settled,
    ) -> anyhow::Result<bool> {
        let pair = &config.folders[shoot.inbox];
        let dir = pair.inbox.join(&shoot.folder);
        if !self.loaded {
            self.load(queue, &pair.inbox, &shoot.folder).await?;
        }
        let brackets =
            pair.edit.hdr_merge || pair.rules.iter().any(|r| r.edit.hdr_merge == Some(true));
        if !self
            .follow(&dir, brackets, config.agent.raw_jpeg_pairs)
            .await
        {
            return Ok(false);
        }
        let settle = Duration::from_secs(config.agent.settle_seconds.max(1));
        let rules = CutRules::new(pair.live.batch(), brackets);
        for _ in 0..CUTS_PER_LOOK {
            let now = now_ms();
            let waiting: Vec<Waiting> = self
                .waiting
                .iter()
                .map(|(relative, tracked)| Waiting {
                    relative: relative.clone(),
                    ready: tracked.settled(settle),
                    arrived_ms: tracked.arrived_ms,
                    taken_ms: tracked.taken_ms,
                })
                .collect();
            let Some(taken) = cut::cut(&waiting, now, self.last_arrival_ms, rules) else {
                break;
            };
            self.send(ctx, queue, config, shoot, taken).await?;
        }
        self.tell_end_when_due(ctx, queue, config, shoot).await?;
        let now = crate::events::LiveNow {
            waiting: self.waiting.len() as u64,
            last_photo_ms: self.last_arrival_ms,
            open: !(self.waiting.is_empty() && self.end_asked_for == self.newest_batch),
        };
        if self.told.as_ref() != Some(&now) {
            ctx.events
                .emit(&shoot.folder, None, EventKind::LiveShoot(now.clone()));
            self.told = Some(now);
        }
        Ok(true)
    }

    /// Reads what the journal holds of the folder: its photos, its newest batch.
    async fn load(
        &mut self,
        queue: &Arc<dyn ShootQueue>,
        inbox: &Path,
        folder: &str,
    ) -> anyhow::Result<()> {
        let (inbox, folder) = (inbox.to_owned(), folder.to_owned());
        let (known, newest) = journal::off_worker(queue, move |q| {
            let known = q.known_files(&inbox, &folder)?;
            let newest = (q.summaries(Some(500))?.into_iter())
                .filter(|row| row.shoot.inbox == inbox && row.shoot.folder == folder)
                .map(|row| (row.shoot.id, row.shoot.created_ms))
                .max();
            Ok((known, newest))
        })
        .await?;
        self.known = known;
        self.newest_batch = newest.map(|(id, _)| id);
        self.last_arrival_ms = newest.map_or(0, |(_, created)| created);
        self.loaded = true;
        Ok(())
    }

    /// Lists the folder when it changed (else re-reads the waiting photos' stamps) and
    /// follows each photo not sent; `false` when the folder is gone.
    async fn follow(&mut self, dir: &Path, brackets: bool, pairs: PairPolicy) -> bool {
        let changed = std::mem::take(&mut self.changed);
        let (list_dir, waiting) = (
            dir.to_owned(),
            self.waiting.keys().cloned().collect::<Vec<_>>(),
        );
        let looked = tokio::task::spawn_blocking(move || match changed {
            true => Looked {
                listing: scan::list(&list_dir).ok(),
                stamps: Vec::new(),
            },
            false => Looked {
                listing: Some(scan::Listing::default()),
                stamps: waiting
                    .into_iter()
                    .map(|relative| {
                        let metadata = list_dir.join(&relative).symlink_metadata().ok();
                        (relative, metadata)
                    })
                    .collect(),
            },
        })
        .await;
        let Ok(Looked { listing, stamps }) = looked else {
            self.changed = true;
            return true;
        };
        let Some(listing) = listing else {
            return false;
        };
        let now = now_ms();
        if changed {
            self.take_listing(listing, now, pairs);
        } else {
            for (relative, metadata) in stamps {
                match metadata {
                    Some(metadata) if metadata.is_file() => {
                        let stamp = stamp_of(&metadata);
                        if let Some(tracked) = self.waiting.get_mut(&relative)
                            && tracked.stamp != stamp
                        {
                            tracked.changed_to(stamp);
                        }
                    }
                    _ => {
                        self.waiting.remove(&relative);
                    }
                }
            }
        }
        self.examine(dir, brackets).await;
        true
    }

    /// Takes a fresh listing: new photos are followed from now, changed ones start
    /// settling again, gone ones are forgotten; junk and twins are noted as not sent.
    fn take_listing(&mut self, listing: scan::Listing, now: i64, pairs: PairPolicy) {
        let scan::Listing { photos, skipped } = listing;
        let twins = scan::twins_left_out(&photos, pairs);
        let twin_paths: HashSet<PathBuf> = twins.iter().map(|t| t.relative.clone()).collect();
        self.listed_not_sent = skipped.into_iter().chain(twins).collect();
        let mut present = HashSet::new();
        for ListedPhoto {
            relative,
            kind,
            metadata,
        } in photos
        {
            present.insert(relative.clone());
            if self.known.contains(&relative) || twin_paths.contains(&relative) {
                continue;
            }
            let stamp = stamp_of(&metadata);
            if self
                .refused
                .get(&relative)
                .is_some_and(|(was, _)| *was == stamp)
            {
                continue;
            }
            self.refused.remove(&relative);
            match self.waiting.get_mut(&relative) {
                Some(tracked) if tracked.stamp == stamp => {}
                Some(tracked) => tracked.changed_to(stamp),
                None => {
                    self.last_arrival_ms = self.last_arrival_ms.max(now);
                    self.waiting.insert(
                        relative,
                        Tracked {
                            kind,
                            stamp,
                            steady_since: Instant::now(),
                            arrived_ms: now,
                            taken_ms: None,
                            whole: false,
                        },
                    );
                }
            }
        }
        self.waiting
            .retain(|relative, _| present.contains(relative));
        self.refused
            .retain(|relative, _| present.contains(relative));
    }

    /// Examines each waiting photo not examined since it last changed: its capture time
    /// (its file time when it has none, or when brackets do not matter), and whether it
    /// is whole by its format.
    async fn examine(&mut self, dir: &Path, brackets: bool) {
        let unexamined: Vec<(PathBuf, Stamp)> = (self.waiting.iter())
            .filter(|(_, t)| t.taken_ms.is_none() || !t.whole)
            .map(|(relative, t)| (relative.clone(), t.stamp))
            .collect();
        if unexamined.is_empty() {
            return;
        }
        let dir = dir.to_owned();
        let examined = tokio::task::spawn_blocking(move || {
            (unexamined.into_iter())
                .map(|(relative, (size, modified))| {
                    let file_time = file_ms(modified).or(Some(0));
                    let ext = (relative.extension().and_then(|e| e.to_str()))
                        .unwrap_or("")
                        .to_ascii_lowercase();
                    let Ok(file) = super::checked_open::open_no_follow(&dir, &relative) else {
                        return (relative, file_time, false);
                    };
                    let whole = super::whole::check(&ext, &file, size).is_ok_and(|w| w.is_ok());
                    let taken = match brackets {
                        false => file_time,
                        true => match capture::read(&ext, &file, size) {
                            Ok(Capture::At(ms)) => Some(ms),
                            Ok(Capture::None) | Err(_) => file_time,
                            Ok(Capture::NotYet) => None,
                        },
                    };
                    (relative, taken, whole)
                })
                .collect::<Vec<_>>()
        })
        .await
        .unwrap_or_default();
        for (relative, taken, whole) in examined {
            if let Some(tracked) = self.waiting.get_mut(&relative) {
                tracked.taken_ms = taken;
                tracked.whole = whole;
            }
        }
    }

    /// Sends the photos a cut took as one batch: each is opened and checked as any
    /// shoot's photo is; those refused are noted and looked at again once they change.
    async fn send(
        &mut self,
        ctx: &Context,
        queue: &Arc<dyn ShootQueue>,
        config: &Config,
        shoot: &Settled,
        taken: Vec<PathBuf>,
    ) -> anyhow::Result<()> {
        let pair = config.folders[shoot.inbox].clone();
        let dir = pair.inbox.join(&shoot.folder);
        let pairs = config.agent.raw_jpeg_pairs;
        let kinds: Vec<(PathBuf, crate::shoot::PhotoKind)> = (taken.iter())
            .filter_map(|r| Some((r.clone(), self.waiting.get(r)?.kind)))
            .collect();
        let (check_dir, rules) = (dir.clone(), pair.clone());
        let mut contents = tokio::task::spawn_blocking(move || {
            let listed: Vec<ListedPhoto> = kinds
                .into_iter()
                .filter_map(|(relative, kind)| {
                    let metadata = check_dir.join(&relative).symlink_metadata().ok()?;
                    Some(ListedPhoto {
                        relative,
                        kind,
                        metadata,
                    })
                })
                .collect();
            scan::contents_of(&check_dir, listed, Vec::new(), pairs, &|relative| {
                rules.options_for(relative)
            })
        })
        .await?;
        let sent: HashSet<PathBuf> = (contents.batches.iter())
            .flat_map(|b| b.photos.iter().map(|p| p.relative.clone()))
            .collect();
        for refused in std::mem::take(&mut contents.skipped) {
            if let Some(tracked) = self.waiting.remove(&refused.relative) {
                (self.refused).insert(refused.relative.clone(), (tracked.stamp, refused));
            }
        }
        contents.skipped = self.not_sent();
        let ids = record_found(
            ctx,
            queue,
            &pair,
            &shoot.folder,
            contents,
            &self.known,
            Arrival::Live,
        )
        .await?;
        for relative in &taken {
            if sent.contains(relative) {
                self.waiting.remove(relative);
                self.known.insert(relative.clone());
            } else {
                // Gone since the cut: forgotten; listed again if it comes back.
                self.waiting.remove(relative);
            }
        }
        if let Some(&newest) = ids.iter().max() {
            self.newest_batch = Some(newest);
        }
        Ok(())
    }

    /// The folder's files not sent: junk and twins as listed, photos refused.
    fn not_sent(&self) -> Vec<Skipped> {
        let mut all: Vec<Skipped> = (self.listed_not_sent.iter().cloned())
            .chain(self.refused.values().map(|(_, skipped)| skipped.clone()))
            .collect();
        all.sort_by(|a, b| a.relative.cmp(&b.relative));
        all
    }

    /// Once the shoot has been quiet for the idle time and every batch has finished,
    /// tells its end, once.
    async fn tell_end_when_due(
        &mut self,
        ctx: &Context,
        queue: &Arc<dyn ShootQueue>,
        config: &Config,
        shoot: &Settled,
    ) -> anyhow::Result<()> {
        let pair = &config.folders[shoot.inbox];
        let idle = pair.live.idle().as_millis() as i64;
        let Some(newest) = self.newest_batch else {
            return Ok(());
        };
        if !self.waiting.is_empty()
            || self.end_asked_for == Some(newest)
            || now_ms() - self.last_arrival_ms < idle
            || self
                .end_checked
                .is_some_and(|at| at.elapsed() < END_CHECK_EVERY)
        {
            return Ok(());
        }
        self.end_checked = Some(Instant::now());
        let (inbox, folder) = (pair.inbox.clone(), shoot.folder.clone());
        let ended = journal::off_worker(queue, move |q| {
            let batches: Vec<_> = (q.summaries(Some(5000))?.into_iter())
                .filter(|row| row.shoot.inbox == inbox && row.shoot.folder == folder)
                .collect();
            let unfinished = batches
                .iter()
                .any(|row| row.shoot.state.is_active() || row.shoot.state == ShootState::Held);
            if unfinished || !q.end_live_shoot(&inbox, &folder, newest)? {
                return Ok((unfinished, None));
            }
            Ok((false, Some(batches)))
        })
        .await?;
        match ended {
            (true, _) => {}
            (false, None) => self.end_asked_for = Some(newest),
            (false, Some(batches)) => {
                self.end_asked_for = Some(newest);
                let kind = EventKind::LiveEnded(crate::events::LiveTotals::of(&batches));
                ctx.events.emit(&shoot.folder, Some(newest), kind);
            }
        }
        Ok(())
    }
}
