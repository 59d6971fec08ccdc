//! Intake: a settled shoot folder becomes shoots in the journal. The folder is scanned
//! (photos by their signature, safe upload names, RAW+JPEG twins), files the journal
//! already holds and the agent's own outputs are left out, what is not sent is
//! recorded and reported in the outbox, and the rest is recorded as one shoot per
//! photo type. A hot folder whose outbox reaches into its inbox stops instead.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

use super::pipeline::Context;
use super::report::{self, REPORT_NAME};
use super::scan::{self, ShootContents, Skipped};
use super::unusable::UnusableFolder;
use super::watch::Settled;
use crate::config::{Config, FolderPair};
use crate::events::EventKind;
use crate::journal::{self, Arrival, FolderMark, ShootId, ShootQueue};

/// What intake remembers between settled folders: the hot folders stopped because
/// their outbox reaches into an inbox (told once, until it is fixed), and the folders
/// it could not record (the journal away), to take again: the watcher reports a folder
/// once, until it changes.
#[derive(Default)]
pub(super) struct Intake {
    stopped: HashSet<usize>,
    again: Vec<Settled>,
    /// The unusable folders recorded, by inbox.
    unusable: HashMap<usize, Vec<UnusableFolder>>,
    /// The last problem logged while taking folders again.
    told_again: Option<String>,
}

impl Intake {
    /// Records the folders of an inbox that cannot be shoots as folders not sent (so
    /// every surface shows them with what to do) and forgets those fixed since. On the
    /// first report for an inbox, folder notes left from before a restart whose folder
    /// is gone are forgotten too.
    pub(super) async fn note_unusable(
        &mut self,
        ctx: &Context,
        queue: &Arc<dyn ShootQueue>,
        config: &Config,
        inbox: usize,
        folders: Vec<UnusableFolder>,
    ) {
        let path = config.folders[inbox].inbox.clone();
        let before = self.unusable.insert(inbox, folders.clone());
        let new: Vec<UnusableFolder> = folders
            .iter()
            .filter(|f| !before.as_ref().is_some_and(|b| b.contains(f)))
            .cloned()
            .collect();
        let fixed: Vec<String> = match &before {
            Some(before) => (before.iter())
                .filter(|f| !folders.iter().any(|now| now.name == f.name))
                .map(|f| f.name.clone())
                .collect(),
            None => Vec::new(),
        };
        let first = before.is_none();
        let (at, recorded) = (path.clone(), new.clone());
        let written = journal::off_worker(queue, move |q| {
            let mut forget = fixed;
            if first {
                forget.extend(
                    (q.not_sent()?.into_iter())
                        .filter(|n| {
                            n.file.is_empty()
                                && std::fs::symlink_metadata(at.join(&n.folder)).is_err()
                        })
                        .filter(|n| !recorded.iter().any(|f| f.name == n.folder))
                        .map(|n| n.folder),
                );
            }
            for folder in forget {
                q.record_not_sent(&at, &folder, &[])?;
            }
            for folder in &recorded {
                let why = folder.why.words().to_owned();
                q.record_not_sent(&at, &folder.name, &[(String::new(), why)])?;
            }
            Ok(())
        })
        .await;
        if let Err(error) = written {
            tracing::error!(%error, "could not record the folders that cannot be shoots");
            self.unusable.remove(&inbox);
            return;
        }
        for folder in new {
            let reason = format!("cannot be a shoot: {}", folder.why.words());
            ctx.events
                .emit(&folder.name, None, EventKind::Skipped { reason });
        }
    }

    /// A settled folder to take later (the journal cannot be used now).
    pub(super) fn take_later(&mut self, shoot: Settled) {
        if !self.again.contains(&shoot) {
            self.again.push(shoot);
        }
    }

    /// Whether some folder waits to be recorded again.
    pub(super) fn has_pending(&self) -> bool {
        !self.again.is_empty()
    }

    /// Takes again the folders that could not be recorded before.
    pub(super) async fn take_again(
        &mut self,
        ctx: &Context,
        queue: &Arc<dyn ShootQueue>,
        config: &Config,
    ) {
        for shoot in std::mem::take(&mut self.again) {
            match self.take_settled(ctx, queue, config, &shoot, None).await {
                // Tried every tick: a problem is logged when it changes, not each time.
                Err(error) if self.told_again.as_ref() != Some(&error.to_string()) => {
                    tracing::warn!(folder = shoot.folder, %error, "still cannot record this shoot; trying again every second");
                    self.told_again = Some(error.to_string());
                }
                Err(error) => {
                    tracing::debug!(folder = shoot.folder, %error, "still cannot record this shoot")
                }
                Ok(()) => self.told_again = None,
            }
        }
    }

    /// Takes a settled folder, unless its hot folder's outbox (or any) reaches into its
    /// inbox now (a symlink made while running): then the hot folder stops, said once.
    /// Once taken, the folder is kept in the journal as `mark` knew it.
    pub(super) async fn take_settled(
        &mut self,
        ctx: &Context,
        queue: &Arc<dyn ShootQueue>,
        config: &Config,
        shoot: &Settled,
        mark: Option<FolderMark>,
    ) -> anyhow::Result<()> {
        let inbox = config.folders[shoot.inbox].inbox.clone();
        let outboxes: Vec<_> = config.folders.iter().map(|f| f.outbox.clone()).collect();
        let problem = tokio::task::spawn_blocking(move || {
            outboxes.iter().find_map(|outbox| {
                let how = crate::files::overlap::overlap(outbox, &inbox)?;
                Some(format!(
                    "the outbox {} {}",
                    outbox.display(),
                    how.describe(&inbox)
                ))
            })
        })
        .await?;
        match problem {
            Some(reason) => {
                if self.stopped.insert(shoot.inbox) {
                    ctx.events.emit(
                        "",
                        None,
                        EventKind::FolderStopped {
                            inbox: config.folders[shoot.inbox].inbox.clone(),
                            reason: format!(
                                "{reason}. Nothing in this inbox is sent until the folders \
                                 are apart again"
                            ),
                        },
                    );
                }
                Ok(())
            }
            None => {
                self.stopped.remove(&shoot.inbox);
                let taken = scan_and_record(ctx, queue, config, shoot, mark).await;
                if taken.is_err() {
                    self.take_later(shoot.clone());
                }
                taken
            }
        }
    }
}

/// Scans a settled folder and records its new photos as shoots (one per photo type),
/// then what the folder was known by.
async fn scan_and_record(
    ctx: &Context,
    queue: &Arc<dyn ShootQueue>,
    config: &Config,
    shoot: &Settled,
    mark: Option<FolderMark>,
) -> anyhow::Result<()> {
    let pair = &config.folders[shoot.inbox];
    let dir = pair.inbox.join(&shoot.folder);
    let pairs = config.agent.raw_jpeg_pairs;
    let (scan_dir, rules) = (dir.clone(), pair.clone());
    let contents = match tokio::task::spawn_blocking(move || {
        scan::scan(&scan_dir, pairs, &|relative| rules.options_for(relative))
    })
    .await?
    {
        Ok(contents) => contents,
        Err(error) if !dir.exists() => {
            tracing::debug!(%error, "folder vanished before it was scanned");
            return Ok(());
        }
        Err(error) => return Err(error.into()),
    };
    let (inbox, folder) = (pair.inbox.clone(), shoot.folder.clone());
    let known = journal::off_worker(queue, move |q| q.known_files(&inbox, &folder)).await?;
    record_found(
        ctx,
        queue,
        pair,
        &shoot.folder,
        contents,
        &known,
        Arrival::Settled,
    )
    .await?;
    if let Some(mark) = mark {
        let (inbox, folder) = (pair.inbox.clone(), shoot.folder.clone());
        journal::off_worker(queue, move |q| q.record_folder_mark(&inbox, &folder, mark)).await?;
    }
    Ok(())
}

/// Records the photos found in a shoot folder, less those `known` to the journal and
/// the agent's own outputs, as one shoot per photo type and set of options; the files
/// not sent (`contents.skipped`: the folder's whole list) are recorded and reported in
/// the outbox. Returns the shoots recorded.
pub(super) async fn record_found(
    ctx: &Context,
    queue: &Arc<dyn ShootQueue>,
    pair: &FolderPair,
    folder_name: &str,
    contents: ShootContents,
    known: &HashSet<PathBuf>,
    arrival: Arrival,
) -> anyhow::Result<Vec<ShootId>> {
    let dir = pair.inbox.join(folder_name);
    let outbox = pair.outbox.join(folder_name);
    let ShootContents {
        batches,
        mut skipped,
    } = contents;
    let mut fresh: Vec<crate::shoot::Batch> = Vec::new();
    for mut batch in batches {
        batch.photos.retain(|p| !known.contains(&p.relative));
        // Never an output of ours, whatever path led here: that is how a loop starts.
        let (photos, shoot_dir) = (batch.photos.clone(), dir.clone());
        let own: Vec<_> = journal::off_worker(queue, move |q| {
            let mut own = Vec::new();
            for photo in photos {
                let path = crate::files::overlap::resolve(&shoot_dir.join(&photo.relative));
                if q.is_own_output(&path, photo.identity)? {
                    own.push(photo.relative);
                }
            }
            Ok(own)
        })
        .await?;
        if !own.is_empty() {
            tracing::error!(
                shoot = folder_name,
                files = own.len(),
                "found edited photos imagen-sync wrote itself in the inbox; they are not sent again"
            );
            batch.photos.retain(|p| !own.contains(&p.relative));
            skipped.extend(own.into_iter().map(|relative| Skipped {
                relative,
                reason: scan::SkipReason::OwnOutput,
            }));
        }
        if !batch.photos.is_empty() {
            fresh.push(batch);
        }
    }
    let mixes_kinds = fresh.iter().any(|b| b.kind != fresh[0].kind);
    let reported = report::write_not_sent(&outbox, folder_name, &skipped, mixes_kinds);
    let mut not_sent: Vec<(String, String)> = skipped
        .iter()
        .filter(|s| s.reason.is_notable())
        .map(|s| {
            (
                crate::words::printable_path(&s.relative),
                s.reason.to_string(),
            )
        })
        .collect();
    // Nothing to send, now or before: the folder as a whole is skipped.
    let folder_skipped = (fresh.is_empty() && known.is_empty()).then(|| {
        let others = crate::words::count(skipped.len() as u64, "other file", "other files");
        match reported {
            true => format!(
                "no JPEG or RAW photos to upload ({others}; see \"{REPORT_NAME}\" in the outbox)"
            ),
            false => format!("no JPEG or RAW photos to upload ({others}, none of them a picture)"),
        }
    });
    if let Some(reason) = &folder_skipped {
        not_sent.insert(0, (String::new(), reason.clone()));
    }
    let (inbox, folder) = (pair.inbox.clone(), folder_name.to_owned());
    journal::off_worker(queue, move |q| {
        q.record_not_sent(&inbox, &folder, &not_sent)
    })
    .await?;
    if fresh.is_empty() {
        let kind = match folder_skipped {
            Some(reason) => EventKind::Skipped { reason },
            None => EventKind::NothingNew,
        };
        ctx.events.emit(folder_name, None, kind);
        return Ok(Vec::new());
    }
    if mixes_kinds {
        tracing::warn!(
            shoot = folder_name,
            "the folder mixes RAW and JPEG photos: it is split into one project per type"
        );
    }
    if fresh.iter().any(|b| b.options != fresh[0].options) {
        tracing::info!(
            shoot = folder_name,
            projects = fresh.len(),
            "its subfolders have their own edit rules: one project per set of options"
        );
    }
    // The journal (and so `status`) keeps a webhook address without its query: a token
    // there is put back from the config when `/edit` is sent.
    for batch in &mut fresh {
        batch.options.callback_url = batch
            .options
            .callback_url
            .as_deref()
            .map(crate::redact::redact_url_text);
    }
    let (inbox, folder, shoot_outbox) =
        (pair.inbox.clone(), folder_name.to_owned(), outbox.clone());
    let ids = journal::off_worker(queue, move |q| {
        q.record_batches(&inbox, &folder, &shoot_outbox, &fresh, arrival)
    })
    .await?;
    let kind = match arrival {
        Arrival::Live => "batch of a live shoot",
        Arrival::Settled if known.is_empty() => "new shoot",
        Arrival::Settled => "follow-up of a finished shoot",
    };
    for &id in &ids {
        tracing::info!(shoot = folder_name, id, "{kind} recorded");
        ctx.events
            .emit(folder_name, Some(id), EventKind::Discovered);
    }
    Ok(ids)
}
