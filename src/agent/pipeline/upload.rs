//! Upload: every photo of the shoot not uploaded yet, a few at a time, each recorded
//! once it is up. Their upload links are asked for together, up to 100 a call. A photo rewritten since the folder settled waits and goes up again;
//! one deleted before it went up is left out.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures_util::{StreamExt, TryStreamExt, stream};

use super::{Context, ShootError, shoot_dir};
use crate::agent::checked_open::{self, Refused};
use crate::agent::scan::{SkipReason, Skipped};
use crate::api::ApiError;
use crate::api::transfer::LocalFile;
use crate::events::{EventKind, UploadProgress};
use crate::journal::{FileRecord, ShootRecord, ShootState};

pub(super) async fn upload_all(ctx: &Context, shoot: &ShootRecord) -> Result<(), ShootError> {
    let uuid = shoot
        .project_uuid
        .clone()
        .expect("uploading shoots have a project");
    let folder = shoot_dir(shoot);
    if !folder.is_dir() {
        return Err(folder_gone(shoot));
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
            EventKind::Uploading(UploadProgress {
                files_done: files_done.load(Ordering::Relaxed),
                files_total,
                bytes_done: bytes,
                bytes_total,
            }),
        )
    };
    emit_progress(bytes_done.load(Ordering::Relaxed));
    // One call for up to 100 links instead of one per photo; a file above the multipart
    // threshold asks for its parts itself.
    let single: Vec<String> = pending
        .iter()
        .filter(|f| f.size <= ctx.client.config().multipart_threshold)
        .map(|f| f.upload_name.clone())
        .collect();
    // Links are asked for once uploads may go: a long wait would outlive them.
    ctx.upload_turn().await?;
    let links = match single.is_empty() {
        true => std::collections::HashMap::new(),
        false => ctx.client.upload_links_for(&uuid, &single).await?,
    };
    let links = &links;
    let (files_done, emit_progress) = (&files_done, &emit_progress);
    stream::iter(pending)
        .map(|file: FileRecord| {
            let uuid = &uuid;
            let folder = &folder;
            let bytes_done = bytes_done.clone();
            async move {
                ctx.upload_turn().await?;
                let path = folder.join(&file.relative);
                let resize = |size: u64| {
                    let name = file.upload_name.clone();
                    ctx.record(move |j| j.update_file_size(id, &name, size))
                };
                let (dir, relative, scanned) = (folder.clone(), file.relative.clone(), file.identity);
                let opened = tokio::task::spawn_blocking(move || {
                    checked_open::open_photo(&dir, &relative, scanned)
                })
                .await
                .map_err(|e| ApiError::io(&path, "opening for upload", std::io::Error::other(e)))?;
                let checked = match opened {
                    Ok(checked) if checked.size == file.size => checked,
                    Err(_) if !folder.is_dir() => return Err(folder_gone(shoot)),
                    Ok(checked) => {
                        // Rewritten since it settled: wait, then send the new version.
                        resize(checked.size).await?;
                        return Err(ShootError::FileChanged(file.relative.clone()));
                    }
                    Err(Refused::Gone) => {
                        tracing::warn!(shoot = shoot.folder, file = %crate::words::printable_path(&file.relative), "deleted before it was uploaded; left out");
                        let name = file.upload_name.clone();
                        ctx.record(move |j| j.forget_file(id, &name, None)).await?;
                        files_done.fetch_add(1, Ordering::Relaxed);
                        return Ok(());
                    }
                    Err(Refused::Skip(reason)) => {
                        leave_out(ctx, shoot, &file, reason).await?;
                        files_done.fetch_add(1, Ordering::Relaxed);
                        return Ok(());
                    }
                };
                let before = checked.modified;
                let source = LocalFile::opened(&path, checked.file, checked.size);
                // Bytes sent by this file's attempts, so retries are not counted twice.
                let attempt = Arc::new(AtomicU64::new(0));
                let sink: crate::api::ProgressSink = {
                    let (attempt, bytes_done) = (attempt.clone(), bytes_done.clone());
                    Arc::new(move |bytes| {
                        attempt.fetch_add(bytes, Ordering::Relaxed);
                        bytes_done.fetch_add(bytes, Ordering::Relaxed);
                    })
                };
                let link = links.get(&file.upload_name).cloned();
                let outcome = ctx
                    .client
                    .upload_local(uuid, &source, &file.upload_name, false, link, Some(sink))
                    .await;
                let counted = attempt.load(Ordering::Relaxed);
                if let Err(error) = outcome {
                    bytes_done.fetch_sub(counted, Ordering::Relaxed);
                    if let ApiError::FileChanged { .. } | ApiError::Io { .. } = error {
                        // Moved, deleted or rewritten while it was being read.
                        if !folder.is_dir() {
                            return Err(folder_gone(shoot));
                        }
                        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
                        resize(size).await?;
                        return Err(ShootError::FileChanged(file.relative.clone()));
                    }
                    return Err(error.into());
                }
                bytes_done.fetch_sub(counted.saturating_sub(file.size), Ordering::Relaxed);
                // Rewritten while it was being read: what went up may be a mix. Send again.
                let after = source.stat().ok();
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

/// A photo that may not go up as it is now (a link, another file, not a photo any more):
/// left out of the project, listed among the files not sent and in the shoot's report.
async fn leave_out(
    ctx: &Context,
    shoot: &ShootRecord,
    file: &FileRecord,
    reason: SkipReason,
) -> Result<(), ShootError> {
    let words = reason.to_string();
    tracing::warn!(
        shoot = shoot.folder,
        file = %crate::words::printable_path(&file.relative),
        "left out: {words}"
    );
    let (id, name, because) = (shoot.id, file.upload_name.clone(), words);
    ctx.record(move |j| j.forget_file(id, &name, Some(&because)))
        .await?;
    let item = Skipped {
        relative: file.relative.clone(),
        reason,
    };
    let (outbox, folder) = (shoot.outbox.clone(), shoot.folder.clone());
    let _ = tokio::task::spawn_blocking(move || {
        crate::agent::report::add_left_out(&outbox, &folder, &item)
    })
    .await;
    Ok(())
}

/// The shoot's folder is not there: the whole inbox is away (waited for), or the folder
/// itself is gone (waited for a while, see the scheduler).
fn folder_gone(shoot: &ShootRecord) -> ShootError {
    match shoot.inbox.is_dir() {
        true => ShootError::FolderGone(shoot_dir(shoot)),
        false => ShootError::InboxMissing(shoot.inbox.clone()),
    }
}
