//! Live shoots (`[[folders]] live = true`): a shoot folder that keeps receiving photos
//! for hours is edited in batches as they arrive. Each photo is followed from the
//! moment it shows up until it is settled: unchanged for 2 s once whole by its format
//! (a camera's transfer lands it whole), else for the settle time; `cut` says
//! when a batch goes up and which photos it takes (never half a bracket); the batch is
//! recorded in the journal before its project exists, like any shoot, so a kill loses
//! and doubles nothing. After `live_idle_minutes` without a new photo, once every batch
//! has finished, the shoot's end is told once (`LiveEnded`: one notification, one
//! webhook push with the totals); a photo arriving later reopens it.

mod arrivals;
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
use arrivals::{Stamp, Tracked};
use cut::{CutRules, Waiting};

/// How often an idle live shoot is asked whether its end has come.
const END_CHECK_EVERY: Duration = Duration::from_secs(5);
/// Batches cut in one look at most (a burst of several hundred settled photos).
const CUTS_PER_LOOK: usize = 20;
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

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
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
            let newest = (q.projects_of(&inbox, &folder)?.into_iter())
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
            let batches = q.projects_of(&inbox, &folder)?;
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
