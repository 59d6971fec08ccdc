//! One shoot through the I2I flow, driven by the journal: create the project (exactly
//! once), upload what is not uploaded yet, start the edit, poll with an adaptive
//! schedule, download what is not in the outbox yet. Each step records its outcome
//! before the next starts, so [`drive`] picks up wherever a crash left a shoot.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::{StreamExt, TryStreamExt, stream};

use crate::api::{ApiError, Client, DownloadLink, ProjectStatus};
use crate::events::{EventKind, Events};
use crate::journal::{
    self, FailureKind, FileRecord, JournalError, ShootId, ShootRecord, ShootState, ShootSteps,
};
use crate::names;
use crate::outbox::{self, OutboxError};

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub parallel_uploads: usize,
    pub parallel_downloads: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            parallel_uploads: 4,
            parallel_downloads: 4,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ShootError {
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(
        "Imagen reported the edit as Failed; nothing was downloaded. Run `imagen-sync retry` to send it again as a new project"
    )]
    EditFailed,
    #[error("the shoot folder {0:?} is gone; the shoot was abandoned")]
    FolderGone(PathBuf),
    #[error("{0:?} changed after the shoot settled; its new version goes up once it is stable")]
    FileChanged(PathBuf),
    #[error(
        "the server named an output {0:?}, which could land outside the outbox; nothing was written for it"
    )]
    UnsafeOutputName(String),
    #[error("paused")]
    Paused,
    /// The spend guard holds the shoot (already recorded and told).
    #[error("{0}")]
    Held(String),
    /// The shoot's outbox reaches into an inbox: writing there would feed the agent its
    /// own outputs.
    #[error("its outbox {0}; nothing was written")]
    OutboxInInbox(String),
}

impl ShootError {
    /// Whether trying the same shoot again later may succeed without anyone acting.
    pub fn is_retryable(&self) -> bool {
        match self {
            ShootError::Api(error) => {
                error.is_transient() || matches!(error, ApiError::LinkExpired { .. })
            }
            // A full or read-only outbox (while the download is written, or while the
            // photo is placed): wait for space, then go on.
            ShootError::Outbox(OutboxError::Download(ApiError::Io { .. })) => true,
            ShootError::Outbox(OutboxError::Download(error)) => error.is_transient(),
            ShootError::Outbox(OutboxError::Io { .. }) => true,
            ShootError::Outbox(OutboxError::NotAJpeg { .. }) => true,
            ShootError::Journal(_) | ShootError::Paused | ShootError::FileChanged(_) => true,
            _ => false,
        }
    }

    /// Why a shoot stopped on this error, as the journal stores it.
    pub fn failure_kind(&self) -> FailureKind {
        match self {
            ShootError::EditFailed => FailureKind::EditFailed,
            ShootError::FolderGone(_) => FailureKind::FolderGone,
            ShootError::OutboxInInbox(_) => FailureKind::OutboxInInbox,
            ShootError::UnsafeOutputName(_) => FailureKind::UnsafeOutputName,
            ShootError::Api(_) => FailureKind::Refused,
            ShootError::Outbox(_) => FailureKind::Outbox,
            _ => FailureKind::Other,
        }
    }
}

/// When to poll: every `first` for the first `quick_for` (a short edit is noticed at
/// once), then backing off ×1.5 to the documented 30 s.
#[derive(Debug, Clone)]
pub struct PollSchedule {
    next: Duration,
    max: Duration,
    quick_left: Duration,
}

impl Default for PollSchedule {
    fn default() -> Self {
        PollSchedule::new(
            Duration::from_secs(1),
            Duration::from_secs(10),
            Duration::from_secs(30),
        )
    }
}

impl PollSchedule {
    pub fn new(first: Duration, quick_for: Duration, max: Duration) -> Self {
        PollSchedule {
            next: first,
            max,
            quick_left: quick_for,
        }
    }

    /// The wait before the next poll.
    pub fn next_wait(&mut self) -> Duration {
        let wait = self.next;
        if self.quick_left >= wait {
            self.quick_left -= wait;
        } else {
            self.next = self.next.mul_f64(1.5).min(self.max);
        }
        wait
    }
}

/// What every shoot's pipeline shares.
#[derive(Clone)]
pub struct Context {
    pub client: Client,
    pub journal: Arc<dyn ShootSteps>,
    pub events: Events,
    pub limits: Limits,
    pub polls: PollSchedule,
    /// `true` while paused: no new upload starts.
    pub paused: tokio::sync::watch::Receiver<bool>,
    pub spend: crate::config::SpendLimits,
    /// Every inbox of the config, which no output may be written into.
    pub inboxes: Arc<Vec<PathBuf>>,
}

impl Context {
    /// Runs a journal call off the async workers (a write waits for an fsync).
    pub async fn record<T: Send + 'static>(
        &self,
        call: impl FnOnce(&(dyn ShootSteps + 'static)) -> journal::Result<T> + Send + 'static,
    ) -> journal::Result<T> {
        journal::off_worker(&self.journal, call).await
    }

    fn emit(&self, shoot: &ShootRecord, kind: EventKind) {
        self.events.emit(&shoot.folder, Some(shoot.id), kind);
    }
}

/// Drives shoot `id` forward until it is Done (or an error stops it).
pub async fn drive(ctx: &Context, id: ShootId) -> Result<(), ShootError> {
    loop {
        let shoot = ctx.record(move |j| j.shoot(id)).await?;
        match shoot.state {
            ShootState::Held => return Err(ShootError::Held(shoot.last_error.unwrap_or_default())),
            ShootState::Planned => {
                let (held, spend) = (shoot.clone(), ctx.spend);
                let over = ctx
                    .record(move |j| {
                        let over = crate::spend::over_limit(j, &held, spend)?;
                        if let Some(reason) = &over {
                            j.hold(id, reason)?;
                        }
                        Ok(over)
                    })
                    .await?;
                if let Some(reason) = over {
                    ctx.emit(
                        &shoot,
                        EventKind::Held {
                            reason: reason.clone(),
                        },
                    );
                    return Err(ShootError::Held(reason));
                }
                ensure_project(ctx, &shoot).await?
            }
            ShootState::Uploading => upload_all(ctx, &shoot).await?,
            ShootState::Editing => edit_and_wait(ctx, &shoot).await?,
            ShootState::Downloading => download_all(ctx, &shoot).await?,
            ShootState::Done | ShootState::Failed => return Ok(()),
        }
    }
}

/// Creates the project exactly once. The name was stored before the first attempt; after
/// an attempt with an unknown outcome the name is looked up instead of created again.
async fn ensure_project(ctx: &Context, shoot: &ShootRecord) -> Result<(), ShootError> {
    let client = &ctx.client;
    let name = &shoot.project_name;
    if shoot.create_attempted
        && let Some(existing) = client.find_project_by_name(name).await?
    {
        tracing::info!(
            shoot = shoot.folder,
            "found the project created before the restart"
        );
        let id = shoot.id;
        ctx.record(move |j| j.set_project(id, &existing.project_uuid))
            .await?;
        return Ok(());
    }
    let id = shoot.id;
    ctx.record(move |j| j.mark_create_attempted(id)).await?;
    let uuid = match client.create_project(Some(name)).await {
        Ok(uuid) => uuid,
        // Our names carry a random tag: a taken one is ours, from an answer we never got.
        Err(ApiError::NameTaken { detail }) => match client.find_project_by_name(name).await? {
            Some(project) => project.project_uuid,
            None => return Err(ApiError::NameTaken { detail }.into()),
        },
        Err(error) => return Err(error.into()),
    };
    ctx.record(move |j| j.set_project(id, &uuid)).await?;
    Ok(())
}

fn shoot_dir(shoot: &ShootRecord) -> PathBuf {
    shoot.inbox.join(&shoot.folder)
}

async fn upload_all(ctx: &Context, shoot: &ShootRecord) -> Result<(), ShootError> {
    let uuid = shoot
        .project_uuid
        .clone()
        .expect("uploading shoots have a project");
    let folder = shoot_dir(shoot);
    if !folder.is_dir() {
        return Err(ShootError::FolderGone(folder));
    }
    let id = shoot.id;
    let files = ctx.record(move |j| j.files(id)).await?;
    let files_total = files.len() as u64;
    let bytes_total: u64 = files.iter().map(|f| f.size).sum();
    let files_done = AtomicU64::new(files.iter().filter(|f| f.uploaded).count() as u64);
    let bytes_done = Arc::new(AtomicU64::new(
        files.iter().filter(|f| f.uploaded).map(|f| f.size).sum(),
    ));
    let pending: Vec<FileRecord> = files.iter().filter(|f| !f.uploaded).cloned().collect();
    let emit_progress = |bytes: u64| {
        ctx.emit(
            shoot,
            EventKind::Uploading {
                files_done: files_done.load(Ordering::Relaxed),
                files_total,
                bytes_done: bytes,
                bytes_total,
            },
        )
    };
    emit_progress(bytes_done.load(Ordering::Relaxed));
    let (files_done, emit_progress) = (&files_done, &emit_progress);
    stream::iter(pending)
        .map(|file: FileRecord| {
            let uuid = &uuid;
            let folder = &folder;
            let bytes_done = bytes_done.clone();
            async move {
                if *ctx.paused.borrow() {
                    return Err(ShootError::Paused);
                }
                let path = folder.join(&file.relative);
                let resize = |size: u64| {
                    let name = file.upload_name.clone();
                    ctx.record(move |j| j.update_file_size(id, &name, size))
                };
                let before = match std::fs::metadata(&path) {
                    Ok(metadata) if metadata.len() == file.size => metadata.modified().ok(),
                    _ if !folder.is_dir() => return Err(ShootError::FolderGone(folder.clone())),
                    Ok(metadata) => {
                        // Rewritten since it settled: wait, then send the new version.
                        resize(metadata.len()).await?;
                        return Err(ShootError::FileChanged(file.relative.clone()));
                    }
                    Err(_) => {
                        tracing::warn!(shoot = shoot.folder, file = %file.relative.display(), "deleted before it was uploaded; left out");
                        let name = file.upload_name.clone();
                        ctx.record(move |j| j.forget_file(id, &name)).await?;
                        files_done.fetch_add(1, Ordering::Relaxed);
                        return Ok(());
                    }
                };
                // Bytes sent by this file's attempts, so retries are not counted twice.
                let attempt = Arc::new(AtomicU64::new(0));
                let sink: crate::api::ProgressSink = {
                    let (attempt, bytes_done) = (attempt.clone(), bytes_done.clone());
                    Arc::new(move |bytes| {
                        attempt.fetch_add(bytes, Ordering::Relaxed);
                        bytes_done.fetch_add(bytes, Ordering::Relaxed);
                    })
                };
                let outcome = ctx
                    .client
                    .upload_file(uuid, &path, &file.upload_name, false, Some(sink))
                    .await;
                let counted = attempt.load(Ordering::Relaxed);
                if let Err(error) = outcome {
                    bytes_done.fetch_sub(counted, Ordering::Relaxed);
                    if let ApiError::FileChanged { .. } | ApiError::Io { .. } = error {
                        // Moved, deleted or rewritten while it was being read.
                        if !folder.is_dir() {
                            return Err(ShootError::FolderGone(folder.clone()));
                        }
                        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
                        resize(size).await?;
                        return Err(ShootError::FileChanged(file.relative.clone()));
                    }
                    return Err(error.into());
                }
                bytes_done.fetch_sub(counted.saturating_sub(file.size), Ordering::Relaxed);
                // Rewritten while it was being read: what went up may be a mix. Send again.
                let after = std::fs::metadata(&path).ok();
                if after.as_ref().map(|m| (m.len(), m.modified().ok())) != Some((file.size, before)) {
                    let size = after.map_or(0, |m| m.len());
                    resize(size).await?;
                    return Err(ShootError::FileChanged(file.relative.clone()));
                }
                let name = file.upload_name.clone();
                ctx.record(move |j| j.mark_uploaded(id, &name)).await?;
                files_done.fetch_add(1, Ordering::Relaxed);
                emit_progress(bytes_done.load(Ordering::Relaxed));
                Ok(())
            }
        })
        .buffer_unordered(ctx.limits.parallel_uploads.max(1))
        .try_collect::<Vec<()>>()
        .await?;
    ctx.record(move |j| j.advance(id, ShootState::Editing))
        .await?;
    Ok(())
}

async fn edit_and_wait(ctx: &Context, shoot: &ShootRecord) -> Result<(), ShootError> {
    let uuid = shoot
        .project_uuid
        .as_deref()
        .expect("editing shoots have a project");
    if !shoot.edit_sent {
        // /edit is idempotent: repeating it after a crash starts nothing new.
        ctx.client.edit(uuid, &shoot.options).await?;
        let id = shoot.id;
        ctx.record(move |j| j.mark_edit_sent(id)).await?;
    }
    let mut polls = ctx.polls.clone();
    loop {
        tokio::time::sleep(polls.next_wait()).await;
        let status = ctx.client.project(uuid).await?.status;
        ctx.emit(
            shoot,
            EventKind::Editing {
                status: status.as_str().to_owned(),
            },
        );
        match status {
            ProjectStatus::Completed => {
                let id = shoot.id;
                ctx.record(move |j| j.advance(id, ShootState::Downloading))
                    .await?;
                return Ok(());
            }
            ProjectStatus::Failed => return Err(ShootError::EditFailed),
            _ => {}
        }
    }
}

async fn download_all(ctx: &Context, shoot: &ShootRecord) -> Result<(), ShootError> {
    let uuid = shoot
        .project_uuid
        .as_deref()
        .expect("downloading shoots have a project");
    let inboxes = ctx.inboxes.clone();
    let outbox = shoot.outbox.clone();
    let reaches_inbox = tokio::task::spawn_blocking(move || {
        inboxes.iter().find_map(|inbox| {
            crate::overlap::overlap(&outbox, inbox).map(|how| how.describe(inbox))
        })
    })
    .await
    .unwrap_or_default();
    if let Some(problem) = reaches_inbox {
        return Err(ShootError::OutboxInInbox(problem));
    }
    let links = ctx.client.download_links(uuid).await?;
    let outbox_root = shoot.outbox.clone();
    tokio::task::spawn_blocking(move || crate::atomic_file::remove_stale_temp_files(&outbox_root))
        .await
        .ok();
    let mut placed = std::collections::HashSet::new();
    let id = shoot.id;
    let recorded = ctx
        .record(move |j| {
            let mut placed = std::collections::HashSet::new();
            for output in j.outputs(id)? {
                let on_disk = output.path.symlink_metadata().is_ok();
                // Renamed into place just before a crash, but not yet recorded as such.
                if !output.placed && on_disk {
                    let identity = crate::overlap::identity(&output.path);
                    j.output_placed(id, &output.file_name, identity)?;
                }
                if output.placed || on_disk {
                    placed.insert(output.file_name);
                }
            }
            Ok(placed)
        })
        .await?;
    placed.extend(recorded);
    let total = links.len() as u64;
    let done = &AtomicU64::new(placed.len() as u64);
    let pending: Vec<DownloadLink> = links
        .into_iter()
        .filter(|l| !placed.contains(&l.file_name))
        .collect();
    stream::iter(pending)
        .map(|link: DownloadLink| async move {
            download_one(ctx, shoot, uuid, &link).await?;
            let done = done.fetch_add(1, Ordering::Relaxed) + 1;
            ctx.emit(shoot, EventKind::Downloading { done, total });
            Ok::<(), ShootError>(())
        })
        .buffer_unordered(ctx.limits.parallel_downloads.max(1))
        .try_collect::<Vec<()>>()
        .await?;
    ctx.record(move |j| j.advance(id, ShootState::Done)).await?;
    ctx.emit(
        shoot,
        EventKind::Done {
            photos: total,
            outbox: shoot.outbox.clone(),
        },
    );
    Ok(())
}

/// Downloads one output next to where its source sits in the shoot's tree.
async fn download_one(
    ctx: &Context,
    shoot: &ShootRecord,
    uuid: &str,
    link: &DownloadLink,
) -> Result<(), ShootError> {
    let relative = names::decode(&link.file_name)
        .ok_or_else(|| ShootError::UnsafeOutputName(link.file_name.clone()))?;
    let dir = match relative.parent() {
        Some(parent) => shoot.outbox.join(parent),
        None => shoot.outbox.clone(),
    };
    let name = relative
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| ShootError::UnsafeOutputName(link.file_name.clone()))?
        .to_owned();
    let mut url = link.download_link.clone();
    let mut refreshed = false;
    let retry = &ctx.client.config().retry;
    let mut attempt = 1;
    let mut photo = loop {
        let target = &url;
        let prepared = outbox::prepare_photo(&dir, &name, |mut file| async move {
            ctx.client.download_to(target, &mut file).await?;
            Ok(file)
        })
        .await;
        match prepared {
            Err(OutboxError::Download(ApiError::LinkExpired { .. })) if !refreshed => {
                url = ctx.client.download_link(uuid, &link.file_name).await?;
                refreshed = true;
            }
            // A download is idempotent: a dropped connection just means fetching again.
            Err(OutboxError::Download(error))
                if error.is_transient() && attempt < retry.max_attempts =>
            {
                tokio::time::sleep(retry.delay_after(attempt, &error)).await;
                attempt += 1;
            }
            other => break other?,
        }
    };
    loop {
        // Recorded resolved, so intake knows the file under any path that reaches it.
        let dest = crate::overlap::resolve(&outbox::free_name(&dir, &name));
        let (id, file_name, intended) = (shoot.id, link.file_name.clone(), dest.clone());
        ctx.record(move |j| j.output_intent(id, &file_name, &intended))
            .await?;
        match photo.place(&dest)? {
            Ok(()) => {
                let (file_name, placed) = (link.file_name.clone(), dest);
                ctx.record(move |j| {
                    let identity = crate::overlap::identity(&placed);
                    j.output_placed(id, &file_name, identity)
                })
                .await?;
                return Ok(());
            }
            Err(unplaced) => photo = unplaced,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polling_is_quick_at_first_then_backs_off_to_thirty_seconds() {
        let mut schedule = PollSchedule::default();
        let waits: Vec<f64> = (0..24)
            .map(|_| schedule.next_wait().as_secs_f64())
            .collect();
        assert_eq!(&waits[..10], &[1.0; 10]);
        assert!(waits.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(*waits.last().unwrap(), 30.0);
    }
}
