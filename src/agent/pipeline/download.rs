//! Download: every output not in the outbox yet, each verified and renamed into place
//! next to where its source sits in the shoot's tree, recorded before and after the
//! rename so a crash between the two is recognised. Downloads run concurrently while
//! what has arrived is placed a group at a time (one journal transaction before the
//! group's renames, one after), so a shoot of thousands of small photos is not held to
//! one disk sync per photo. An output the server names in a way
//! that cannot be written safely is left out and reported; every other one is still
//! delivered, and the shoot ends "done with problems" (sending it again would bill it
//! twice).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use futures_util::{StreamExt, TryStreamExt, stream};

use super::{Context, ShootError};
use crate::agent::names;
use crate::agent::outbox::{self, OutboxError, VerifiedPhoto};
use crate::api::{ApiError, DownloadLink};
use crate::events::EventKind;
use crate::journal::{PlacedOutput, ShootRecord};

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
                    j.outputs_placed(id, &[PlacedOutput::at(&output.file_name, &output.path)])?;
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
    let pending: Vec<(DownloadLink, PathBuf)> = deliver
        .into_iter()
        .filter(|(l, _)| !placed.contains(&l.file_name))
        .collect();
    download_and_place(ctx, shoot, uuid, pending, (placed.len() as u64, total)).await?;
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

/// An output downloaded and verified, waiting to be placed.
struct Fetched {
    file_name: String,
    dir: PathBuf,
    name: String,
    photo: VerifiedPhoto,
}

/// Downloads `pending` concurrently while placing what has arrived, a group at a time:
/// each group's intents in one journal transaction, its renames, each folder synced
/// once, then its placements in one transaction. Every photo's data is on disk before
/// its rename, and the rename is recorded as intended before it happens, as one at a
/// time would be. `(done, total)` counts outputs for the progress told.
async fn download_and_place(
    ctx: &Context,
    shoot: &ShootRecord,
    uuid: &str,
    pending: Vec<(DownloadLink, PathBuf)>,
    (done, total): (u64, u64),
) -> Result<(), ShootError> {
    let parallel = ctx.limits.parallel_downloads.max(1);
    let (arrived, mut arrivals) = tokio::sync::mpsc::channel::<Fetched>(parallel * 2);
    let downloads = async move {
        let mut fetching = stream::iter(pending)
            .map(|(link, relative)| fetch_verified(ctx, shoot, uuid, link, relative))
            .buffer_unordered(parallel);
        while let Some(fetched) = fetching.try_next().await? {
            if arrived.send(fetched).await.is_err() {
                break;
            }
        }
        Ok::<(), ShootError>(())
    };
    let placing = async {
        let mut done = done;
        while let Some(first) = arrivals.recv().await {
            let mut group = vec![first];
            while group.len() < PLACED_TOGETHER {
                match arrivals.try_recv() {
                    Ok(next) => group.push(next),
                    Err(_) => break,
                }
            }
            done += group.len() as u64;
            place_group(ctx, shoot, group).await?;
            ctx.emit(shoot, EventKind::Downloading { done, total });
        }
        Ok::<(), ShootError>(())
    };
    tokio::try_join!(downloads, placing)?;
    Ok(())
}

/// Most outputs placed in one group (two journal transactions).
const PLACED_TOGETHER: usize = 64;

/// Places a group of downloaded outputs (see [`download_and_place`]). One whose name
/// was taken meanwhile (another project of the shoot placing into the same folder) is
/// placed on its own under the next free name.
async fn place_group(
    ctx: &Context,
    shoot: &ShootRecord,
    group: Vec<Fetched>,
) -> Result<(), ShootError> {
    let mut taken = HashSet::new();
    let mut intended = Vec::new();
    for fetched in group {
        // Recorded resolved, so intake knows the file under any path that reaches it.
        let dest = crate::files::overlap::resolve(&outbox::free_name_besides(
            &fetched.dir,
            &fetched.name,
            &taken,
        ));
        taken.insert(dest.clone());
        intended.push((fetched, dest));
    }
    // Every photo's bytes made durable at once: the disk commits them together.
    let syncs = (intended.iter()).map(|(fetched, _)| {
        let path = fetched.photo.path().to_owned();
        tokio::task::spawn_blocking(move || VerifiedPhoto::sync_at(&path))
    });
    for synced in futures_util::future::join_all(syncs).await {
        synced.map_err(|error| OutboxError::Io {
            path: shoot.outbox.clone(),
            during: "flushing to disk",
            source: std::io::Error::other(error),
        })??;
    }
    let id = shoot.id;
    let intents: Vec<(String, PathBuf)> = (intended.iter())
        .map(|(fetched, dest)| (fetched.file_name.clone(), dest.clone()))
        .collect();
    ctx.record(move |j| j.output_intents(id, &intents)).await?;
    let (placed, crowded) = tokio::task::spawn_blocking(move || {
        let (mut placed, mut crowded, mut folders) = (Vec::new(), Vec::new(), HashSet::new());
        for (fetched, dest) in intended {
            let Fetched {
                file_name,
                dir,
                name,
                photo,
            } = fetched;
            match photo.place_synced(&dest)? {
                Ok(()) => {
                    folders.extend(dest.parent().map(Path::to_owned));
                    placed.push((file_name, dest));
                }
                Err(photo) => crowded.push(Fetched {
                    file_name,
                    dir,
                    name,
                    photo,
                }),
            }
        }
        for folder in &folders {
            crate::files::atomic_file::sync_dir(folder);
        }
        Ok::<_, OutboxError>((placed, crowded))
    })
    .await
    .map_err(|error| OutboxError::Io {
        path: shoot.outbox.clone(),
        during: "moving into place",
        source: std::io::Error::other(error),
    })??;
    ctx.record(move |j| {
        let placed: Vec<PlacedOutput> = (placed.iter())
            .map(|(file_name, dest)| PlacedOutput::at(file_name, dest))
            .collect();
        j.outputs_placed(id, &placed)
    })
    .await?;
    for fetched in crowded {
        place_alone(ctx, shoot, fetched).await?;
    }
    Ok(())
}

/// Places one output under the first free name, recording its intent before each try.
async fn place_alone(
    ctx: &Context,
    shoot: &ShootRecord,
    fetched: Fetched,
) -> Result<(), ShootError> {
    let Fetched {
        file_name,
        dir,
        name,
        mut photo,
    } = fetched;
    loop {
        let dest = crate::files::overlap::resolve(&outbox::free_name(&dir, &name));
        let (id, intent) = (shoot.id, vec![(file_name.clone(), dest.clone())]);
        ctx.record(move |j| j.output_intents(id, &intent)).await?;
        match photo.place(&dest)? {
            Ok(()) => {
                let name = file_name.clone();
                ctx.record(move |j| j.outputs_placed(id, &[PlacedOutput::at(&name, &dest)]))
                    .await?;
                return Ok(());
            }
            Err(unplaced) => photo = unplaced,
        }
    }
}

/// Downloads one output into a hidden temp file in the folder its source sits in (in
/// the shoot's tree), synced and verified; a link run out is asked for again once, a
/// dropped connection retried.
async fn fetch_verified(
    ctx: &Context,
    shoot: &ShootRecord,
    uuid: &str,
    link: DownloadLink,
    relative: PathBuf,
) -> Result<Fetched, ShootError> {
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
    let photo = loop {
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
    Ok(Fetched {
        file_name: link.file_name,
        dir,
        name,
        photo,
    })
}
