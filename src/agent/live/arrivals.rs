//! What a live shoot folder holds that is not sent yet: each photo followed from when
//! it shows up until it is settled (unchanged for 2 s once whole by its format, else
//! for the settle time), with its capture time read for brackets.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::capture::{self, Capture};
use super::{LiveFolder, now_ms};
use crate::agent::scan::{self, ListedPhoto};
use crate::shoot::PairPolicy;

/// A photo whole by its format (a JPEG up to its end marker, a RAW's container whole)
/// is settled after this long unchanged, as a camera's transfer lands it whole; one
/// that is not waits the full `settle_seconds`, as a slow copy may still be writing it.
const WHOLE_SETTLES_IN: Duration = Duration::from_secs(2);

/// Size and modification time: a file whose stamp moves is still being written.
pub(super) type Stamp = (u64, Option<SystemTime>);

pub(super) fn stamp_of(metadata: &std::fs::Metadata) -> Stamp {
    (metadata.len(), metadata.modified().ok())
}

#[derive(Debug, Clone)]
pub(super) struct Tracked {
    pub(super) kind: crate::shoot::PhotoKind,
    pub(super) stamp: Stamp,
    pub(super) steady_since: Instant,
    pub(super) arrived_ms: i64,
    /// Capture time (or file time), once its headers could be read.
    pub(super) taken_ms: Option<i64>,
    /// Whole by its format as last examined.
    pub(super) whole: bool,
}

impl Tracked {
    /// The file changed: it settles again from now and is examined again.
    fn changed_to(&mut self, stamp: Stamp) {
        self.stamp = stamp;
        self.steady_since = Instant::now();
        self.taken_ms = None;
        self.whole = false;
    }

    pub(super) fn settled(&self, settle: Duration) -> bool {
        let settle = match self.whole {
            true => settle.min(WHOLE_SETTLES_IN),
            false => settle,
        };
        self.steady_since.elapsed() >= settle
    }
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

impl LiveFolder {
    /// Lists the folder when it changed (else re-reads the waiting photos' stamps) and
    /// follows each photo not sent; `false` when the folder is gone.
    pub(super) async fn follow(&mut self, dir: &Path, brackets: bool, pairs: PairPolicy) -> bool {
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
                    let Ok(file) = crate::agent::checked_open::open_no_follow(&dir, &relative)
                    else {
                        return (relative, file_time, false);
                    };
                    let whole =
                        crate::agent::whole::check(&ext, &file, size).is_ok_and(|w| w.is_ok());
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
}
