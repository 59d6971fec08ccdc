//! One shoot through the I2I flow: create the project, upload its photos (bounded
//! parallelism, streamed), start the edit, poll with an adaptive schedule until it is
//! Completed, and download every output into the outbox through [`crate::outbox`].
//!
//! This is the flow without memory: the agent's journal (which makes it resumable and
//! exactly-once across crashes) wraps these steps.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{StreamExt, TryStreamExt, stream};

use crate::api::{ApiError, Client, DownloadLink, EditOptions, ProjectStatus};
use crate::outbox::{self, OutboxError};

/// A photo of a shoot and the unique name it is uploaded under.
#[derive(Debug, Clone)]
pub struct ShootFile {
    pub path: PathBuf,
    pub upload_name: String,
    pub size: u64,
}

#[derive(Debug, Clone)]
pub struct Shoot {
    /// The project name: unique per account.
    pub project_name: String,
    pub files: Vec<ShootFile>,
    pub outbox: PathBuf,
    pub options: EditOptions,
}

/// Where a shoot is, for progress displays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    Created { project_uuid: String },
    UploadedBytes { bytes: u64 },
    UploadedFile { done: usize, total: usize },
    Editing { status: String },
    Downloaded { done: usize, total: usize },
}

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
    #[error("Imagen reported the edit as Failed; nothing was downloaded")]
    EditFailed,
    #[error("the server named an output {0:?}, which is not a plain file name; it was skipped")]
    UnsafeOutputName(String),
}

/// When to poll: soon after the edit starts, then backing off ×1.5 to the documented 30 s.
#[derive(Debug, Clone)]
pub struct PollSchedule {
    next: Duration,
    max: Duration,
}

impl Default for PollSchedule {
    fn default() -> Self {
        PollSchedule {
            next: Duration::from_secs(2),
            max: Duration::from_secs(30),
        }
    }
}

impl PollSchedule {
    pub fn starting_at(first: Duration, max: Duration) -> Self {
        PollSchedule { next: first, max }
    }

    /// The wait before the next poll.
    pub fn next_wait(&mut self) -> Duration {
        let wait = self.next;
        self.next = self.next.mul_f64(1.5).min(self.max);
        wait
    }
}

pub type ProgressFn = Arc<dyn Fn(Progress) + Send + Sync>;

/// Runs `shoot` from create to the last output in the outbox; returns the written paths.
pub async fn process(
    client: &Client,
    shoot: &Shoot,
    limits: Limits,
    mut polls: PollSchedule,
    progress: ProgressFn,
) -> Result<Vec<PathBuf>, ShootError> {
    let uuid = client.create_project(Some(&shoot.project_name)).await?;
    progress(Progress::Created {
        project_uuid: uuid.clone(),
    });

    let total = shoot.files.len();
    let bytes_sink: crate::api::ProgressSink = {
        let progress = progress.clone();
        Arc::new(move |bytes| progress(Progress::UploadedBytes { bytes }))
    };
    let done = std::sync::atomic::AtomicUsize::new(0);
    stream::iter(&shoot.files)
        .map(|file| {
            let sink = bytes_sink.clone();
            let uuid = &uuid;
            async move {
                client
                    .upload_file(uuid, &file.path, &file.upload_name, false, Some(sink))
                    .await
            }
        })
        .buffer_unordered(limits.parallel_uploads.max(1))
        .try_for_each(|_| {
            let done = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            progress(Progress::UploadedFile { done, total });
            async { Ok(()) }
        })
        .await?;

    client.edit(&uuid, &shoot.options).await?;
    loop {
        tokio::time::sleep(polls.next_wait()).await;
        let status = client.project(&uuid).await?.status;
        progress(Progress::Editing {
            status: status.as_str().to_owned(),
        });
        match status {
            ProjectStatus::Completed => break,
            ProjectStatus::Failed => return Err(ShootError::EditFailed),
            _ => {}
        }
    }

    let links = client.download_links(&uuid).await?;
    let total = links.len();
    let done = std::sync::atomic::AtomicUsize::new(0);
    stream::iter(&links)
        .map(|link| download_one(client, &uuid, link, &shoot.outbox))
        .buffer_unordered(limits.parallel_downloads.max(1))
        .inspect_ok(|_| {
            let done = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            progress(Progress::Downloaded { done, total });
        })
        .try_collect()
        .await
}

async fn download_one(
    client: &Client,
    uuid: &str,
    link: &DownloadLink,
    outbox: &Path,
) -> Result<PathBuf, ShootError> {
    let name = safe_file_name(&link.file_name)?;
    let mut fresh_link = None;
    loop {
        let url = fresh_link.as_ref().unwrap_or(&link.download_link);
        let written = outbox::write_photo(outbox, name, |mut file| async move {
            client.download_to(url, &mut file).await?;
            Ok(file)
        })
        .await;
        match written {
            Err(OutboxError::Download(ApiError::LinkExpired { .. })) if fresh_link.is_none() => {
                fresh_link = Some(client.download_link(uuid, &link.file_name).await?);
            }
            other => return Ok(other?),
        }
    }
}

/// An output name must be one plain path component: no folders, no `..`, no NUL.
fn safe_file_name(name: &str) -> Result<&str, ShootError> {
    let mut components = Path::new(name).components();
    match (components.next(), components.next()) {
        (Some(Component::Normal(_)), None) if !name.contains(['\0', '/', '\\']) => Ok(name),
        _ => Err(ShootError::UnsafeOutputName(name.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polling_starts_soon_and_backs_off_to_thirty_seconds() {
        let mut schedule = PollSchedule::default();
        let waits: Vec<u64> = (0..12).map(|_| schedule.next_wait().as_secs()).collect();
        assert_eq!(waits[0], 2);
        assert!(waits.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(*waits.last().unwrap(), 30);
    }

    #[test]
    fn output_names_that_would_escape_the_outbox_are_refused() {
        assert!(safe_file_name("DSC_0001.jpg").is_ok());
        for bad in [
            "../x.jpg",
            "/etc/passwd",
            "a/b.jpg",
            "..",
            "",
            "a\0.jpg",
            "a\\b.jpg",
        ] {
            assert!(safe_file_name(bad).is_err(), "{bad:?}");
        }
    }
}
