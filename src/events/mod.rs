//! One progress stream for everything that shows progress: logs and the terminal now,
//! the tray and the notifications. Emitting never blocks; a slow listener only misses
//! old events.

pub mod activity;
pub mod webhook;

use std::path::PathBuf;

use serde::Serialize;
use tokio::sync::broadcast;

use crate::journal::{FailureKind, ShootId};

/// How far a shoot's upload is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct UploadProgress {
    pub files_done: u64,
    pub files_total: u64,
    pub bytes_done: u64,
    pub bytes_total: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    /// A new shoot folder (or new files in a finished one) was seen.
    Discovered,
    /// Waiting for the folder to be quiet and its files to stop changing.
    Settling,
    Uploading(UploadProgress),
    Editing {
        status: String,
    },
    Downloading {
        done: u64,
        total: u64,
    },
    Done {
        photos: u64,
        /// With HDR merge: how many photos were sent, merged into `photos`.
        #[serde(skip_serializing_if = "Option::is_none")]
        merged_from: Option<u64>,
        outbox: PathBuf,
        /// The outputs that could not be delivered, one line each ("done with problems").
        problems: Vec<String>,
        /// A batch of a live shoot (the shoot goes on; its end is told apart).
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        live: bool,
    },
    /// A live shoot as it is now: photos arrived and not sent yet, when the newest
    /// arrived (Unix ms), and whether it is still open (its end not told yet).
    LiveShoot(LiveNow),
    /// A live shoot had no new photo for its idle time and every batch has finished:
    /// told once per end, with the totals of all its batches.
    LiveEnded(LiveTotals),
    Failed {
        reason: String,
        kind: FailureKind,
    },
    /// Nothing in the folder could be uploaded; the report says why.
    Skipped {
        reason: String,
    },
    /// A settled folder held nothing new (a known shoot seen again after a restart).
    NothingNew,
    /// A folder went away (moved, deleted) before it settled.
    Vanished,
    /// The spend guard holds the shoot before its project is created.
    Held {
        reason: String,
    },
    /// A configured inbox is not there (an unmounted drive); it is waited for, never
    /// made.
    InboxMissing {
        inbox: PathBuf,
    },
    InboxBack {
        inbox: PathBuf,
    },
    /// A hot folder stopped taking shoots: its outbox now reaches into an inbox, or
    /// another agent serves it (`inbox` is then empty when that is every hot folder).
    FolderStopped {
        inbox: PathBuf,
        reason: String,
    },
    /// A problem the agent keeps retrying through (network down, key rejected...).
    Waiting {
        reason: String,
        cause: WaitCause,
        /// When the next try is due (Unix ms), for a countdown that counts.
        #[serde(skip_serializing_if = "Option::is_none")]
        retry_at_ms: Option<i64>,
    },
    /// The studio's shared journal can be reached again, after a `JournalAway` wait.
    JournalBack,
    /// Imagen (its API or storage) cannot be reached, or is not answering; told when it
    /// starts and again once it has lasted a minute.
    ImagenAway {
        silent: bool,
        for_a_minute: bool,
    },
    /// Imagen answers again.
    ImagenBack,
    /// The dashboard's port was taken by another program: it listens on `port`.
    DashboardMoved {
        wanted: u16,
        port: u16,
    },
    Paused,
    Resumed,
    /// Uploads wait: the connection is metered or the machine on battery.
    UploadsHeld {
        reason: crate::platform::costs::HoldReason,
    },
    /// Uploads go on again (the network or power changed, or "Resume anyway").
    UploadsFree,
    /// The config (or key file) was read and is now in force.
    ConfigApplied,
    /// An edit of the config could not be used; the last good config stays in force
    /// (or, on a first start, nothing runs until it is fixed).
    ConfigRejected {
        reason: String,
    },
    /// There is no API key yet; `how` tells the user where to put it.
    NeedsApiKey {
        how: String,
    },
}

/// A live shoot as the agent follows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct LiveNow {
    pub waiting: u64,
    pub last_photo_ms: i64,
    pub open: bool,
}

/// A live shoot's totals over all its batches.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LiveTotals {
    pub batches: u64,
    /// Photos sent for editing; edited photos delivered.
    pub sent: u64,
    pub delivered: u64,
    /// The outputs that could not be delivered, one line each.
    pub problems: Vec<String>,
    /// Batches that failed, with why.
    pub failures: Vec<String>,
    /// With HDR merge: how many photos were sent, merged into `delivered`.
    pub merged: bool,
    pub outbox: PathBuf,
}

impl LiveTotals {
    /// The totals of a live shoot's batches (its projects, each type and option set).
    pub fn of(batches: &[crate::journal::ShootSummary]) -> LiveTotals {
        LiveTotals {
            batches: batches.len() as u64,
            sent: batches.iter().map(|b| b.files).sum(),
            delivered: batches.iter().map(|b| b.outputs).sum(),
            problems: (batches.iter())
                .flat_map(|b| b.shoot.problems.iter().cloned())
                .collect(),
            failures: (batches.iter())
                .filter(|b| b.shoot.state == crate::journal::ShootState::Failed)
                .filter_map(|b| b.shoot.error_words().map(str::to_owned))
                .collect(),
            merged: batches.iter().any(|b| b.shoot.options.hdr_merge),
            outbox: batches
                .first()
                .map(|b| b.shoot.outbox.clone())
                .unwrap_or_default(),
        }
    }
}

/// Why a shoot is waiting, for the tray and notifications to tell apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WaitCause {
    /// The API or storage could not be reached.
    Network,
    /// The server refused the API key.
    KeyRejected,
    /// The server answered with an error or asked us to slow down.
    Server,
    /// The studio's shared journal (its database) cannot be reached: no new work starts.
    JournalAway,
    /// Anything else (a full outbox, a file still changing...).
    Other,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// The shoot folder's name ("123 Main St"); empty for agent-wide events.
    pub shoot: String,
    pub shoot_id: Option<ShootId>,
    #[serde(flatten)]
    pub kind: EventKind,
}

#[derive(Debug, Clone)]
pub struct Events {
    sender: broadcast::Sender<Event>,
}

impl EventKind {
    /// Whether the event shows work moving (so the network and the key are fine).
    pub fn shows_work_moving(&self) -> bool {
        matches!(
            self,
            EventKind::Uploading(_)
                | EventKind::Editing { .. }
                | EventKind::Downloading { .. }
                | EventKind::Done { .. }
        )
    }
}

impl Default for Events {
    fn default() -> Self {
        Events {
            sender: broadcast::channel(1024).0,
        }
    }
}

impl Events {
    pub fn emit(&self, shoot: &str, shoot_id: Option<ShootId>, kind: EventKind) {
        let event = Event {
            shoot: shoot.to_owned(),
            shoot_id,
            kind,
        };
        log(&event);
        let _ = self.sender.send(event);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.sender.subscribe()
    }
}

/// The log line for an event (byte-level upload progress stays at debug level).
fn log(event: &Event) {
    let shoot = event.shoot.as_str();
    match &event.kind {
        EventKind::Uploading(UploadProgress {
            files_done,
            files_total,
            ..
        }) => {
            tracing::debug!(shoot, "uploading {files_done}/{files_total} photos")
        }
        EventKind::Downloading { done, total } => {
            tracing::debug!(shoot, "downloading {done}/{total} photos")
        }
        EventKind::Editing { status } => tracing::debug!(shoot, "editing: {status}"),
        EventKind::Discovered => tracing::info!(shoot, "new shoot"),
        EventKind::Settling => tracing::debug!(shoot, "settling"),
        EventKind::Done {
            photos,
            outbox,
            problems,
            ..
        } => {
            let photos = crate::words::count(*photos, "photo", "photos");
            let outbox = crate::words::printable_path(outbox);
            match problems.len() {
                0 => tracing::info!(shoot, "done: {photos} in {outbox}"),
                n => tracing::warn!(
                    shoot,
                    "done with problems: {photos} in {outbox}; {} not delivered (see the report)",
                    crate::words::count(n as u64, "output", "outputs")
                ),
            }
        }
        EventKind::LiveShoot(now) => tracing::debug!(
            shoot,
            waiting = now.waiting,
            open = now.open,
            "live shoot followed"
        ),
        EventKind::LiveEnded(totals) => tracing::info!(
            shoot,
            "live shoot finished: {} sent, {} delivered in {} ({})",
            crate::words::count(totals.sent, "photo", "photos"),
            totals.delivered,
            crate::words::printable_path(&totals.outbox),
            crate::words::count(totals.batches, "batch", "batches")
        ),
        EventKind::Failed { reason, .. } => tracing::error!(shoot, "failed: {reason}"),
        EventKind::Skipped { reason } => tracing::warn!(shoot, "skipped: {reason}"),
        EventKind::NothingNew => tracing::debug!(shoot, "nothing new"),
        EventKind::Vanished => tracing::info!(shoot, "the folder went away before it settled"),
        EventKind::Held { reason } => tracing::warn!(shoot, "held: {reason}"),
        EventKind::InboxMissing { inbox } => tracing::warn!(
            "Inbox {} is missing — is the drive mounted? Shoots in it wait until it is back \
             (imagen-sync never creates it)",
            crate::words::printable_path(inbox)
        ),
        EventKind::InboxBack { inbox } => {
            tracing::info!(
                "Inbox {} is back: watching it again",
                crate::words::printable_path(inbox)
            )
        }
        EventKind::FolderStopped { inbox, reason } if inbox.as_os_str().is_empty() => {
            tracing::error!(
                "no hot folder is left to this agent: {}",
                crate::words::printable(reason)
            )
        }
        EventKind::FolderStopped { inbox, reason } => tracing::error!(
            "the hot folder {} stopped taking shoots: {}",
            crate::words::printable_path(inbox),
            crate::words::printable(reason)
        ),
        EventKind::Waiting { reason, .. } => tracing::warn!(shoot, "waiting: {reason}"),
        EventKind::JournalBack => tracing::info!("the studio's journal is back: work goes on"),
        EventKind::ImagenAway {
            silent,
            for_a_minute,
        } => tracing::warn!(
            "{}{}: uploads, edits and downloads wait and go on by themselves once it is back",
            crate::words::imagen_away(*silent),
            if *for_a_minute {
                " for a minute now"
            } else {
                ""
            }
        ),
        EventKind::ImagenBack => tracing::info!("Imagen answers again: work goes on"),
        EventKind::DashboardMoved { .. } => {}
        EventKind::Paused => tracing::info!("paused"),
        EventKind::Resumed => tracing::info!("resumed"),
        EventKind::UploadsHeld { reason } => tracing::info!(
            "uploads wait: {} (\"Resume anyway\" in the tray sends them now)",
            reason.waiting_words().to_lowercase()
        ),
        EventKind::UploadsFree => tracing::info!("uploads go on"),
        EventKind::ConfigApplied => tracing::info!("config in force"),
        EventKind::ConfigRejected { reason } => {
            tracing::error!("config not applied: {reason}")
        }
        EventKind::NeedsApiKey { how } => tracing::warn!("no API key yet: {how}"),
    }
}
