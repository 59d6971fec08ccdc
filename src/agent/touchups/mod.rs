//! Touch-ups synced back (`[[folders]] sync_touchups = true`): when the photographer
//! saves a retouched version over an edited photo of a finished shoot, Imagen's copy is
//! replaced with it through the override endpoint (`get_upload_link`, then a PUT).
//!
//! Each delivered output's size and time are in the journal ([`crate::files::overlap::stamp`]).
//! A file that no longer matches is waited on until it has not changed for the settle
//! time and is a whole JPEG; then it is hashed, and sent only when its bytes differ
//! from the ones last sent (the journal keeps that hash), so each change goes up once.
//! The change is recorded as pending before the PUT and confirmed after it, so a crash
//! or a refused PUT sends it again later. Changes made while the agent was stopped are
//! found at the first look. A deleted or renamed output never touches the server.
//!
//! Only the outputs a change event named are looked at ([`outboxes`]), with those
//! still settling or waiting to be sent, so following years of shoots costs nothing
//! while they are left alone.

mod outboxes;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::following::Following;
use super::pipeline::Context;
use crate::config::Config;
use crate::journal::{self, Delivered, ShootId};
use outboxes::{OutboxChanges, Wanted};

/// How often the delivered outputs are looked at.
const LOOK_EVERY: Duration = Duration::from_secs(2);
/// Longest wait before a refused or failed send is tried again.
const MAX_BACKOFF: Duration = Duration::from_secs(600);

/// Starts following the outputs of the hot folders that sync touch-ups; `None` when
/// none does.
pub(super) fn spawn(config: &Config, ctx: Context) -> Option<Following> {
    let inboxes: HashSet<PathBuf> = config
        .folders
        .iter()
        .filter(|pair| pair.sync_touchups)
        .map(|pair| pair.inbox.clone())
        .collect();
    if inboxes.is_empty() {
        return None;
    }
    let followed_outboxes = (config.folders.iter())
        .filter(|pair| pair.sync_touchups)
        .map(|pair| {
            let polled = (super::network_fs::network_kind(&pair.outbox).is_some())
                .then(|| Duration::from_secs(pair.poll_seconds));
            (pair.outbox.clone(), polled)
        })
        .collect();
    let settle = Duration::from_secs(config.agent.settle_seconds);
    Some(Following::spawn(async move {
        let mut sync = TouchUps {
            ctx,
            inboxes,
            settle,
            changing: HashMap::new(),
            waiting: HashMap::new(),
            unfinished: HashSet::new(),
            told_not_whole: HashSet::new(),
        };
        let mut changes = OutboxChanges::follow(followed_outboxes);
        changes.arm().await;
        let mut every = tokio::time::interval(LOOK_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                () = changes.next_event() => {}
                // Nothing changed and nothing pending: no wake-ups at all.
                _ = every.tick(), if changes.has_work() || !sync.unfinished.is_empty() => {
                    changes.arm().await;
                    let wanted = changes.take(sync.unfinished.iter().cloned());
                    if let Err(error) = sync.look(wanted).await {
                        tracing::debug!(%error, "touch-ups: the journal cannot be read now");
                    }
                }
            }
        }
    }))
}

type OutputKey = (ShootId, String);

struct TouchUps {
    ctx: Context,
    inboxes: HashSet<PathBuf>,
    settle: Duration,
    /// Outputs seen changed: the stamp last seen, and since when it has not moved.
    changing: HashMap<OutputKey, (String, Instant)>,
    /// Sends that failed: not before this, and the wait after the next failure.
    waiting: HashMap<OutputKey, (Instant, Duration)>,
    /// Outputs not settled yet (changing, waiting, or sent but not confirmed), by path:
    /// looked at again at every look, with or without an event.
    unfinished: HashSet<PathBuf>,
    /// Settled saves that are not a whole JPEG, told once each (by their stamp).
    told_not_whole: HashSet<(OutputKey, String)>,
}

impl TouchUps {
    async fn look(&mut self, wanted: Wanted) -> journal::Result<()> {
        let (everything, paths) = match wanted {
            Wanted::Everything => (true, Vec::new()),
            Wanted::Paths(paths) if paths.is_empty() => return Ok(()),
            Wanted::Paths(paths) => (false, paths.into_iter().collect()),
        };
        let (inboxes, asked) = (self.inboxes.clone(), paths.clone());
        let followed = self
            .ctx
            .record(move |j| {
                let mut delivered = j.delivered_outputs((!everything).then_some(&asked[..]))?;
                delivered.retain(|item| inboxes.contains(&item.inbox));
                Ok(delivered)
            })
            .await?;
        // Every file stat'ed in one blocking call, not one task per file.
        let stamped: Vec<(Delivered, Option<String>)> = tokio::task::spawn_blocking(move || {
            followed
                .into_iter()
                .map(|item| {
                    let now = crate::files::overlap::stamp(&item.output.path);
                    (item, now)
                })
                .collect()
        })
        .await
        .unwrap_or_default();
        tracing::debug!(
            outputs = stamped.len(),
            all = everything,
            "touch-ups: looked at the outputs"
        );
        // An output no longer delivered (its shoot sent again, say) is not followed.
        if everything {
            self.unfinished.clear();
            let seen: HashSet<OutputKey> = (stamped.iter())
                .map(|(item, _)| (item.shoot, item.output.file_name.clone()))
                .collect();
            self.changing.retain(|key, _| seen.contains(key));
        } else {
            let found: HashSet<&Path> = (stamped.iter())
                .map(|(item, _)| item.output.path.as_path())
                .collect();
            for path in paths.iter().filter(|path| !found.contains(path.as_path())) {
                self.unfinished.remove(path);
            }
        }
        for (item, now) in stamped {
            let key = (item.shoot, item.output.file_name.clone());
            let path = item.output.path.clone();
            if self.look_at(item, key.clone(), now).await? {
                self.unfinished.remove(&path);
                self.changing.remove(&key);
            } else {
                self.unfinished.insert(path);
            }
        }
        Ok(())
    }

    /// Looks at one output; says whether it is settled (nothing left to do for it).
    async fn look_at(
        &mut self,
        item: Delivered,
        key: OutputKey,
        now: Option<String>,
    ) -> journal::Result<bool> {
        let path = item.output.path.clone();
        let Some(now) = now else {
            // Gone (deleted, renamed, or its drive away): nothing is sent for it.
            return Ok(true);
        };
        let recorded = item.output.stamp.clone();
        let Some(recorded) = recorded else {
            // Placed by a release that kept no stamp: today's file is the baseline.
            let (id, name) = key.clone();
            self.ctx
                .record(move |j| j.record_touchup(id, &name, &now, None, false))
                .await?;
            return Ok(true);
        };
        if now == recorded && !item.output.sync_pending {
            return Ok(true);
        }
        if now == recorded {
            // Recorded as pending but never confirmed: send the same bytes again.
            let hash = item.output.synced_hash.clone().unwrap_or_default();
            return self.send(&item, key, now, hash).await;
        }
        let since = match self.changing.get(&key) {
            Some((last, since)) if *last == now => *since,
            _ => {
                self.changing.insert(key, (now, Instant::now()));
                return Ok(false);
            }
        };
        if since.elapsed() < self.settle {
            return Ok(false);
        }
        let checked = path.clone();
        let whole = tokio::task::spawn_blocking(move || {
            super::outbox::verify_jpeg(&checked)
                .map_err(String::from)
                .and_then(|()| hash_of(&checked))
        })
        .await
        .unwrap_or_else(|error| Err(error.to_string()));
        let hash = match whole {
            Ok(hash) => hash,
            Err(reason) => {
                if self.told_not_whole.insert((key, now)) {
                    tracing::warn!(
                        file = %crate::words::printable_path(&path),
                        "a touch-up saved over this photo is not a whole JPEG ({reason}); \
                         it is sent once it is saved as one"
                    );
                }
                return Ok(false);
            }
        };
        self.changing.remove(&key);
        let (id, name) = key.clone();
        if item.output.synced_hash.as_deref() == Some(hash.as_str()) {
            // Saved again with the same bytes: nothing new to send.
            self.ctx
                .record(move |j| j.record_touchup(id, &name, &now, None, false))
                .await?;
            return Ok(true);
        }
        let (pending_stamp, pending_hash) = (now.clone(), hash.clone());
        self.ctx
            .record(move |j| j.record_touchup(id, &name, &pending_stamp, Some(&pending_hash), true))
            .await?;
        self.send(&item, key, now, hash).await
    }

    /// Replaces Imagen's copy with the file, then confirms it in the journal; says
    /// whether it was (paused, or refused, it is sent at a later look).
    async fn send(
        &mut self,
        item: &Delivered,
        key: OutputKey,
        stamp: String,
        hash: String,
    ) -> journal::Result<bool> {
        if *self.ctx.paused.borrow() {
            return Ok(false);
        }
        if let Some((after, _)) = self.waiting.get(&key)
            && Instant::now() < *after
        {
            return Ok(false);
        }
        let output = &item.output;
        let sent = self
            .ctx
            .client
            .override_output(&item.project_uuid, &output.file_name, &output.path)
            .await;
        let shown = crate::words::printable_path(&output.path);
        match sent {
            Ok(()) => {
                self.waiting.remove(&key);
                tracing::info!(file = %shown, "touch-up synced: Imagen's copy was replaced");
                let (id, name) = key;
                self.ctx
                    .record(move |j| j.record_touchup(id, &name, &stamp, Some(&hash), false))
                    .await?;
                Ok(true)
            }
            Err(error) => {
                let wait = self
                    .waiting
                    .get(&key)
                    .map_or(self.settle.max(LOOK_EVERY), |w| w.1);
                tracing::warn!(
                    file = %shown,
                    "touch-up not synced ({error}); trying again in {} s",
                    wait.as_secs()
                );
                self.waiting
                    .insert(key, (Instant::now() + wait, (wait * 2).min(MAX_BACKOFF)));
                Ok(false)
            }
        }
    }
}

/// The SHA-256 of a file's bytes, in hex.
fn hash_of(path: &Path) -> Result<String, String> {
    let mut file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).map_err(|e| e.to_string())?;
    Ok(hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect())
}
