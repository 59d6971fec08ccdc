//! Download: every output not in the outbox yet, each verified and renamed into place
//! next to where its source sits in the shoot's tree, recorded before and after the
//! rename so a crash between the two is recognised. An output the server names in a way
//! that cannot be written safely is left out and reported; every other one is still
//! delivered, and the shoot ends "done with problems" (sending it again would bill it
//! twice).

use std::collections::HashSet;
use std::path::PathBuf;

use std::sync::atomic::{AtomicU64, Ordering};

use futures_util::{StreamExt, TryStreamExt, stream};

use super::{Context, ShootError};
use crate::agent::names;
use crate::agent::outbox::{self, OutboxError};
use crate::api::{ApiError, DownloadLink};
use crate::events::EventKind;
use crate::journal::ShootRecord;

pub(super) async fn download_all(ctx: &Context, shoot: &ShootRecord) -> Result<(), ShootError> {
    let uuid = shoot
        .project_uuid
        .as_deref()
        .expect("downloading shoots have a project");
    let inboxes = ctx.inboxes.clone();
    let outbox = shoot.outbox.clone();
    let reaches_inbox = tokio::task::spawn_blocking(move || {
        inboxes.iter().find_map(|inbox| {
            crate::files::overlap::overlap(&outbox, inbox).map(|how| how.describe(inbox))
        })
    })
    .await
    .unwrap_or_default();
    if let Some(problem) = reaches_inbox {
        return Err(ShootError::OutboxInInbox(problem));
    }
    let links = ctx.client.download_links(uuid).await?;
    let outbox_root = shoot.outbox.clone();
    tokio::task::spawn_blocking(move || {
        crate::files::atomic_file::remove_stale_temp_files(&outbox_root)
    })
    .await
    .ok();
    let mut placed = HashSet::new();
    let id = shoot.id;
    let recorded = ctx
        .record(move |j| {
            let mut placed = HashSet::new();
            for output in j.outputs(id)? {
                let on_disk = output.path.symlink_metadata().is_ok();
                // Renamed into place just before a crash, but not yet recorded as such.
                if !output.placed && on_disk {
                    let identity = crate::files::overlap::identity(&output.path);
                    let stamp = crate::files::overlap::stamp(&output.path);
                    j.output_placed(id, &output.file_name, identity, stamp.as_deref())?;
                }
                if output.placed || on_disk {
                    placed.insert(output.file_name);
                }
            }
            Ok(placed)
        })
        .await?;
    placed.extend(recorded);
    let Outputs { deliver, problems } = sort_outputs(links);
    for problem in &problems {
        tracing::warn!(shoot = shoot.folder, "not delivered: {problem}");
    }
    let total = deliver.len() as u64;
    let done = &AtomicU64::new(placed.len() as u64);
    let pending: Vec<(DownloadLink, PathBuf)> = deliver
        .into_iter()
        .filter(|(l, _)| !placed.contains(&l.file_name))
        .collect();
    stream::iter(pending)
        .map(|(link, relative)| async move {
            download_one(ctx, shoot, uuid, &link, &relative).await?;
            let done = done.fetch_add(1, Ordering::Relaxed) + 1;
            ctx.emit(shoot, EventKind::Downloading { done, total });
            Ok::<(), ShootError>(())
        })
        .buffer_unordered(ctx.limits.parallel_downloads.max(1))
        .try_collect::<Vec<()>>()
        .await?;
    if !problems.is_empty() {
        let (outbox, folder, problems) =
            (shoot.outbox.clone(), shoot.folder.clone(), problems.clone());
        tokio::task::spawn_blocking(move || {
            crate::agent::report::add_delivery_problems(&outbox, &folder, &problems)
        })
        .await
        .ok();
    }
    let recorded = problems.clone();
    ctx.record(move |j| j.finish(id, &recorded)).await?;
    let merged_from = match shoot.options.hdr_merge {
        true => ctx
            .record(move |j| j.files(id))
            .await
            .ok()
            .map(|f| f.len() as u64),
        false => None,
    };
    ctx.emit(
        shoot,
        EventKind::Done {
            photos: total,
            merged_from: merged_from.filter(|&sent| sent > total),
            outbox: shoot.outbox.clone(),
            problems,
            live: shoot.live,
        },
    );
    Ok(())
}

/// A download list sorted: the outputs to write, each with its path inside the shoot,
/// and a line for each one that cannot be written ("name: why").
struct Outputs {
    deliver: Vec<(DownloadLink, PathBuf)>,
    problems: Vec<String>,
}

fn sort_outputs(links: Vec<DownloadLink>) -> Outputs {
    let mut deliver = Vec::new();
    let mut problems = Vec::new();
    let mut seen = HashSet::new();
    for link in links {
        let shown = crate::words::printable(&link.file_name).into_owned();
        match names::decode(&link.file_name) {
            None => problems.push(format!(
                "\"{shown}\": not written, {}",
                names::why_unsafe(&link.file_name)
            )),
            Some(_) if !seen.insert(link.file_name.clone()) => problems.push(format!(
                "\"{shown}\": named twice by the server; the first one was delivered"
            )),
            Some(relative) => deliver.push((link, relative)),
        }
    }
    Outputs { deliver, problems }
}

/// Downloads one output next to where its source sits in the shoot's tree.
async fn download_one(
    ctx: &Context,
    shoot: &ShootRecord,
    uuid: &str,
    link: &DownloadLink,
    relative: &std::path::Path,
) -> Result<(), ShootError> {
    let dir = match relative.parent() {
        Some(parent) => shoot.outbox.join(parent),
        None => shoot.outbox.clone(),
    };
    // `decode` gives a path of plain UTF-8 components, so it always has a name.
    let name = relative
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(&link.file_name)
        .to_owned();
    let mut url = link.download_link.clone();
    let mut refreshed = false;
    let retry = &ctx.client.config().retry;
    let mut attempt = 1;
    let mut photo = loop {
        let (target, into) = (&url, &dir);
        let prepared = outbox::prepare_photo(&dir, &name, |mut file| async move {
            ctx.client.download_to(target, &mut file, into).await?;
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
                let wait = retry.delay_after(attempt, &error);
                ctx.client.pause_before_retry(wait, &error).await;
                attempt += 1;
            }
            other => break other?,
        }
    };
    loop {
        // Recorded resolved, so intake knows the file under any path that reaches it.
        let dest = crate::files::overlap::resolve(&outbox::free_name(&dir, &name));
        let (id, file_name, intended) = (shoot.id, link.file_name.clone(), dest.clone());
        ctx.record(move |j| j.output_intent(id, &file_name, &intended))
            .await?;
        match photo.place(&dest)? {
            Ok(()) => {
                let (file_name, placed) = (link.file_name.clone(), dest);
                ctx.record(move |j| {
                    let identity = crate::files::overlap::identity(&placed);
                    let stamp = crate::files::overlap::stamp(&placed);
                    j.output_placed(id, &file_name, identity, stamp.as_deref())
                })
                .await?;
                return Ok(());
            }
            Err(unplaced) => photo = unplaced,
        }
    }
}
