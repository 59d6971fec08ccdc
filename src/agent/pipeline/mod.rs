//! One shoot through the I2I flow, driven by the journal: create the project (exactly
//! once), upload what is not uploaded yet, start the edit, poll with an adaptive
//! schedule, download what is not in the outbox yet. Each step records its outcome
//! before the next starts, so [`drive`] picks up wherever a crash left a shoot.

mod download;
mod edit;
mod upload;

use std::path::PathBuf;
use std::sync::Arc;

use super::outbox::OutboxError;
use crate::api::{ApiError, Client};

use crate::events::{EventKind, Events};
use crate::journal::{
    self, FailureKind, JournalError, ShootId, ShootRecord, ShootState, ShootSteps,
};
pub use edit::PollSchedule;
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
    #[error("Imagen reported the edit as Failed; nothing was downloaded")]
    EditFailed,
    #[error("the shoot folder {0:?} is gone (moved, renamed or deleted)")]
    FolderGone(PathBuf),
    /// The whole inbox is away (a drive or share not mounted): waited for, never failed.
    #[error("the inbox {0:?} is missing — is the drive mounted? The shoot goes on once it is back")]
    InboxMissing(PathBuf),
    #[error("{0:?} changed after the shoot settled; its new version goes up once it is stable")]
    FileChanged(PathBuf),
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
    /// What went wrong as a photographer reads it (the log keeps the details).
    pub fn plain(&self) -> String {
        match self {
            ShootError::Api(error) | ShootError::Outbox(OutboxError::Download(error)) => {
                error.plain()
            }
            ShootError::Outbox(OutboxError::Io {
                path,
                during,
                source,
            }) => crate::words::io_problem_plain(path, during, source),
            ShootError::Outbox(OutboxError::NotAJpeg { name, .. }) => format!(
                "the edited photo for {} came back damaged; it is downloaded again",
                crate::words::printable(name)
            ),
            ShootError::Journal(_) => {
                "imagen-sync could not write its records in its data folder; it tries again".into()
            }
            ShootError::FolderGone(path) => format!(
                "the shoot folder {} is gone (moved, renamed or deleted)",
                crate::words::printable_path(path)
            ),
            ShootError::InboxMissing(path) => format!(
                "the inbox {} is missing — is the drive mounted? The shoot goes on once it is back",
                crate::words::printable_path(path)
            ),
            ShootError::FileChanged(path) => format!(
                "{} changed after the shoot settled; its new version goes up once it is stable",
                crate::words::printable_path(path)
            ),
            other => other.to_string(),
        }
    }

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
            ShootError::Journal(_)
            | ShootError::Paused
            | ShootError::FileChanged(_)
            | ShootError::InboxMissing(_) => true,
            _ => false,
        }
    }

    /// Why a shoot stopped on this error, as the journal stores it.
    pub fn failure_kind(&self) -> FailureKind {
        match self {
            ShootError::EditFailed => FailureKind::EditFailed,
            ShootError::FolderGone(_) => FailureKind::FolderGone,
            ShootError::OutboxInInbox(_) => FailureKind::OutboxInInbox,
            ShootError::Api(_) => FailureKind::Refused,
            ShootError::Outbox(_) => FailureKind::Outbox,
            _ => FailureKind::Other,
        }
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
    /// Set while uploads wait for an unmetered network or mains power.
    pub uploads_held: tokio::sync::watch::Receiver<Option<crate::platform::costs::HoldReason>>,
    pub spend: crate::config::SpendLimits,
    /// Every inbox of the config, which no output may be written into.
    pub inboxes: Arc<Vec<PathBuf>>,
    /// The webhook addresses (`callback_url`) of the config, by the redacted form the
    /// journal keeps of them: a token in one never reaches the journal or `status`.
    pub callbacks: Arc<std::collections::HashMap<String, String>>,
}

impl Context {
    /// `options` as `/edit` takes them: the webhook address the journal holds redacted
    /// is put back from the config (a journal older than that holds it whole).
    pub fn options_to_send(&self, options: &crate::api::EditOptions) -> crate::api::EditOptions {
        let mut options = options.clone();
        if let Some(real) = options
            .callback_url
            .as_ref()
            .and_then(|shown| self.callbacks.get(shown))
        {
            options.callback_url = Some(real.clone());
        }
        options
    }

    /// Runs a journal call off the async workers (a write waits for an fsync).
    pub async fn record<T: Send + 'static>(
        &self,
        call: impl FnOnce(&(dyn ShootSteps + 'static)) -> journal::Result<T> + Send + 'static,
    ) -> journal::Result<T> {
        journal::off_worker(&self.journal, call).await
    }

    /// Waits while uploads are held (a metered network, battery). Pausing meanwhile
    /// ends the wait with [`ShootError::Paused`].
    pub async fn upload_turn(&self) -> Result<(), ShootError> {
        let (mut held, mut paused) = (self.uploads_held.clone(), self.paused.clone());
        loop {
            if *paused.borrow_and_update() {
                return Err(ShootError::Paused);
            }
            if held.borrow_and_update().is_none() {
                return Ok(());
            }
            tokio::select! {
                open = held.changed() => if open.is_err() { return Ok(()) },
                open = paused.changed() => if open.is_err() { return Err(ShootError::Paused) },
            }
        }
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
                        let over = super::spend::over_limit(j, &held, spend)?;
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
            ShootState::Uploading => upload::upload_all(ctx, &shoot).await?,
            ShootState::Editing => edit::edit_and_wait(ctx, &shoot).await?,
            ShootState::Downloading => download::download_all(ctx, &shoot).await?,
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
