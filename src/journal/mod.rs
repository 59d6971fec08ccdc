//! The journal: the agent's single source of truth. Every shoot, its project name and
//! uuid, options, state and per-file progress are recorded *before* the side effect they
//! guard, so a restart after a crash at any point resumes where it stopped and never
//! bills a shoot twice.
//!
//! Code outside this module sees the journal only through its roles:
//! - [`JournalView`]: what status, the tray and the dashboard read;
//! - [`ShootQueue`]: what intake and the scheduler do to the line of shoots;
//! - [`ShootSteps`]: what the pipeline records of one shoot's steps;
//! - [`JournalControls`]: pause, resume, retry and "Send anyway".
//!
//! Two backends: `sqlite`, a file in the data folder (one agent), and `postgres`, one
//! database a studio's agents share, where each shoot is claimed by one agent under a
//! lease. [`Location`] says which; [`open`] opens it. A shoot's legal moves between
//! states live in `state`, and every backend checks them.

mod location;
mod pages;
mod postgres;
mod records;
mod sent;
mod sqlite;
mod state;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use location::{Location, SharedPlace};
pub use pages::{ShootsPage, ShootsWanted};
pub use records::{
    AgentSeen, Arrival, Delivered, FileRecord, FolderMark, NotSent, OutputRecord, PlacedOutput,
    RetryScope, ShootGroup, ShootId, ShootRecord, ShootSummary, Spend, plain_part,
    reason_with_details,
};
pub use sent::SentForEditing;
pub use state::{FailureKind, ShootState};

use crate::files::overlap::FileIdentity;
use crate::shoot::Batch;

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("journal database error: {0}")]
    Database(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("cannot create the data folder {path:?}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no shoot with id {0}")]
    NoSuchShoot(ShootId),
    #[error("shoot {id} cannot go from {} to {}", from.as_str(), to.as_str())]
    IllegalMove {
        id: ShootId,
        from: ShootState,
        to: ShootState,
    },
    #[error(
        "the journal was written by a newer imagen-sync (schema {found}, this one knows {known}); \
         upgrade imagen-sync to use it"
    )]
    Newer { found: i64, known: i64 },
    #[error("a journal call was cut short: {0}")]
    Interrupted(String),
    /// This agent's claim on the shoot ran out and another agent may hold it now: the
    /// step was not recorded, and this agent lets the shoot go.
    #[error("shoot {0} is no longer this agent's to drive (its claim ran out)")]
    LeaseLost(ShootId),
    /// The studio's shared journal cannot be used: said with what to do.
    #[error("{0}")]
    Shared(String),
    /// The studio's shared journal cannot be reached now (down, or the network is).
    #[error("{0}")]
    Unreachable(String),
    /// The journal file is damaged: said with where its safety copy is and what to do.
    #[error("{}", sqlite::backup::damage_advice(data_dir.as_deref(), detail))]
    Damaged {
        data_dir: Option<PathBuf>,
        detail: String,
    },
}

pub type Result<T> = std::result::Result<T, JournalError>;

/// What views read: status, the tray and the dashboard.
pub trait JournalView: Send + Sync {
    fn shoot(&self, id: ShootId) -> Result<ShootRecord>;
    fn files(&self, id: ShootId) -> Result<Vec<FileRecord>>;
    /// Outputs in the outbox, or whose rename may have happened just before a crash.
    fn outputs(&self, id: ShootId) -> Result<Vec<OutputRecord>>;
    /// The projects of the shoot folders `wanted` names, with their counts, newest
    /// first; only those folders' rows are read.
    fn shoots(&self, wanted: &ShootsWanted<'_>) -> Result<ShootsPage>;
    /// The projects of one shoot folder, newest first.
    fn projects_of(&self, inbox: &Path, folder: &str) -> Result<Vec<ShootSummary>> {
        let mut rows = self.shoots(&ShootsWanted::folder(folder))?.rows;
        rows.retain(|row| row.shoot.inbox == inbox);
        Ok(rows)
    }
    fn count_in(&self, state: ShootState) -> Result<usize>;
    /// Every file not sent, newest first.
    fn not_sent(&self) -> Result<Vec<NotSent>>;
    /// What was spent since `since_ms`: photos in every project started, and follow-up
    /// projects of the shoot folder `folder` in `inbox`.
    fn spend_since(&self, since_ms: i64, inbox: &Path, folder: &str) -> Result<Spend>;
    /// Whether one of the user's switches is on.
    fn switch(&self, switch: Switch) -> Result<bool>;
    fn paused(&self) -> Result<bool> {
        self.switch(Switch::Paused)
    }
    /// The studio's agents with their last heartbeat (none for a journal of one agent).
    fn agents(&self) -> Result<Vec<AgentSeen>>;
    /// Changes whenever another process (the CLI's pause, resume or retry) commits: a
    /// near-free way for an idle reader to know whether to look again.
    fn change_mark(&self) -> Result<i64>;
}

/// What intake and the scheduler do to the line of shoots.
pub trait ShootQueue: JournalView {
    /// Records the batches of a settled shoot folder at once, each with its edit options:
    /// each project's name is chosen and stored here, before any project exists.
    fn record_batches(
        &self,
        inbox: &Path,
        folder: &str,
        outbox: &Path,
        batches: &[Batch],
        arrival: Arrival,
    ) -> Result<Vec<ShootId>>;
    /// Marks the live shoot of a folder finished after its batches up to `through`;
    /// `true` only for the first caller (an agent, or the same after a restart), so the
    /// end is told once.
    fn end_live_shoot(&self, inbox: &Path, folder: &str, through: ShootId) -> Result<bool>;
    /// What each folder of an inbox was known by when it was last taken in, so a
    /// start-up does not read a finished shoot left alone again.
    fn folder_marks(&self, inbox: &Path) -> Result<std::collections::HashMap<String, FolderMark>>;
    /// Keeps what a folder was known by as it was taken in (replacing the last).
    fn record_folder_mark(&self, inbox: &Path, folder: &str, mark: FolderMark) -> Result<()>;
    /// Relative paths of every file of a folder that some shoot already holds.
    fn known_files(&self, inbox: &Path, folder: &str) -> Result<HashSet<PathBuf>>;
    /// Whether the file at `path` (resolved) or with `identity` is an output this agent
    /// placed: such a file is never taken as a new photo.
    fn is_own_output(&self, path: &Path, identity: Option<FileIdentity>) -> Result<bool>;
    /// The files of a shoot folder not sent, replacing what an earlier scan found.
    fn record_not_sent(&self, inbox: &Path, folder: &str, items: &[(String, String)])
    -> Result<()>;
    /// Shoots still to be driven forward, oldest first.
    fn active_shoots(&self) -> Result<Vec<ShootRecord>>;
    /// Claims up to `up_to` active shoots for this agent to drive, oldest first, leaving
    /// out those in `skip` (driven already, or backing off) and those another agent's
    /// lease holds.
    fn claim(&self, skip: &[ShootId], up_to: usize) -> Result<Vec<ShootRecord>>;
    /// How long a claim lasts unless renewed; `None`: this journal has one agent, and
    /// claims never run out.
    fn lease(&self) -> Option<std::time::Duration>;
    /// Says this agent is alive and renews its claims on the shoots it `drives`; returns
    /// those it still holds (a shoot missing was taken over after its lease ran out).
    fn heartbeat(&self, drives: &[ShootId]) -> Result<Vec<ShootId>>;
    /// Ends this agent's claims on `shoots` now (a clean stop): another agent may take
    /// them at once instead of after the lease.
    fn let_go(&self, shoots: &[ShootId]) -> Result<()>;
    /// The shoots the spend guard holds, oldest first.
    fn held_shoots(&self) -> Result<Vec<ShootRecord>>;
    /// A held shoot the limits allow again goes back in line.
    fn release(&self, id: ShootId) -> Result<()>;
}

/// What the pipeline records of one shoot's steps.
pub trait ShootSteps: JournalView {
    /// Recorded right before `POST /projects`: after a crash, look the name up first.
    /// It also counts the project for the spend guard from this moment on.
    fn mark_create_attempted(&self, id: ShootId) -> Result<()>;
    /// The project exists: upload next.
    fn set_project(&self, id: ShootId, uuid: &str) -> Result<()>;
    /// A file that changed after the shoot settled: upload its new size next time.
    fn update_file_size(&self, id: ShootId, upload_name: &str, size: u64) -> Result<()>;
    /// A file deleted before it was uploaded: no longer part of the shoot. With
    /// `left_out_because`, it is still there but may not go up (replaced by a link or
    /// by another file): it is listed among the files not sent, with that reason.
    fn forget_file(
        &self,
        id: ShootId,
        upload_name: &str,
        left_out_because: Option<&str>,
    ) -> Result<()>;
    fn mark_uploaded(&self, id: ShootId, upload_name: &str) -> Result<()>;
    /// The next step of the pipeline (a legal move, see [`ShootState::may_become`]).
    fn advance(&self, id: ShootId, to: ShootState) -> Result<()>;
    fn mark_edit_sent(&self, id: ShootId) -> Result<()>;
    /// Recorded, in one transaction, right before outputs are renamed into place: each
    /// output's name from the server and the path it goes to.
    fn output_intents(&self, id: ShootId, intents: &[(String, PathBuf)]) -> Result<()>;
    /// The outputs are in place, recorded in one transaction.
    fn outputs_placed(&self, id: ShootId, placed: &[PlacedOutput]) -> Result<()>;
    /// The outputs in place of finished shoots with a project: every one (`None`), or
    /// those at the given paths only (found by index).
    fn delivered_outputs(&self, at: Option<&[PathBuf]>) -> Result<Vec<Delivered>>;
    /// An output as touch-up sync now knows it: its `stamp`, and (when it was hashed)
    /// the `hash` of its bytes, `pending` until they are confirmed sent.
    fn record_touchup(
        &self,
        id: ShootId,
        file_name: &str,
        stamp: &str,
        hash: Option<&str>,
        pending: bool,
    ) -> Result<()>;
    /// The spend guard stops a shoot before its project is created.
    fn hold(&self, id: ShootId, reason: &str) -> Result<()>;
    fn fail(&self, id: ShootId, kind: FailureKind, reason: &str) -> Result<()>;
    /// Every output that could be delivered is: the shoot is done, with `problems` (one
    /// line each) for those that could not.
    fn finish(&self, id: ShootId, problems: &[String]) -> Result<()>;
    /// A problem worth showing that does not stop the shoot (it will be retried).
    fn note(&self, id: ShootId, note: Option<&str>) -> Result<()>;
}

/// A flag the user's controls set and the running agent reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Switch {
    /// No new shoot or upload starts.
    Paused,
    /// "Resume anyway": uploads held by a metered network or battery go on until the
    /// network or power changes. The agent turns it off once it has read it.
    ResumeAnyway,
}

impl Switch {
    /// Its key in the journal's settings table, for the agent named `agent` in a
    /// studio. Pause is the whole studio's; "Resume anyway" is a one-shot request of
    /// one machine's network or power, so it is keyed by the agent it is meant for.
    pub fn key(self, agent: Option<&str>) -> std::borrow::Cow<'static, str> {
        match (self, agent) {
            (Switch::Paused, _) => "paused".into(),
            (Switch::ResumeAnyway, None) => "resume_anyway".into(),
            (Switch::ResumeAnyway, Some(agent)) => format!("resume_anyway/{agent}").into(),
        }
    }
}

/// What the user's controls do: pause, resume, retry, "Send anyway".
pub trait JournalControls: JournalView {
    fn set_switch(&self, switch: Switch, on: bool) -> Result<()>;
    fn set_paused(&self, paused: bool) -> Result<()> {
        self.set_switch(Switch::Paused, paused)
    }
    /// Puts failed shoots back in line. One whose failure needs a new project
    /// ([`FailureKind::retry_starts_over`]) gets one (a new name); others resume.
    fn retry(&self, which: RetryScope<'_>) -> Result<usize>;
    /// Held shoots go on past the spend guard's limits.
    fn send_anyway(&self, which: RetryScope<'_>) -> Result<usize>;
}

/// Every role at once: what the app opens and hands out, role by role.
pub trait Journal: ShootQueue + ShootSteps + JournalControls {}
impl<T: ShootQueue + ShootSteps + JournalControls> Journal for T {}

/// Opens (creating if needed) the journal for the agent and its controls.
pub fn open(location: &Location) -> Result<Arc<dyn Journal>> {
    Ok(match location {
        Location::DataFolder(dir) => Arc::new(sqlite::SqliteJournal::open(dir)?),
        Location::Shared(place) => Arc::new(postgres::PgJournal::open(place)?),
    })
}

/// Opens the journal to read while the agent runs; `None` when there is none yet.
pub fn open_read_only(location: &Location) -> Result<Option<Arc<dyn JournalView>>> {
    Ok(match location {
        Location::DataFolder(dir) => sqlite::SqliteJournal::open_read_only(dir)?
            .map(|journal| Arc::new(journal) as Arc<dyn JournalView>),
        Location::Shared(place) => Some(Arc::new(postgres::PgJournal::open(place)?)),
    })
}

/// A journal handle kept while the config names the same journal (a studio's is a
/// database connection, not worth making per request or per click).
pub struct Kept<J: ?Sized>(std::sync::Mutex<Option<(Location, Arc<J>)>>);

impl<J: ?Sized> Default for Kept<J> {
    fn default() -> Self {
        Kept(std::sync::Mutex::new(None))
    }
}

impl<J: ?Sized> Kept<J> {
    /// The handle of the journal `config` names: the one kept, or one `open` makes
    /// (`None`: there is none to open now).
    pub fn get(
        &self,
        config: &crate::config::Config,
        open: impl FnOnce(&Location) -> Result<Option<Arc<J>>>,
    ) -> Result<Option<Arc<J>>> {
        let location = Location::of(config);
        let mut kept = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((at, journal)) = kept.as_ref()
            && *at == location
        {
            return Ok(Some(journal.clone()));
        }
        let Some(journal) = open(&location)? else {
            return Ok(None);
        };
        *kept = Some((location, journal.clone()));
        Ok(Some(journal))
    }
}

/// The journal a config names, opened to read, for the views (tray, dashboard,
/// webhook).
#[derive(Default)]
pub struct ViewCache(Kept<dyn JournalView>);

impl ViewCache {
    /// The journal `config` names; `None` while there is none yet (or it cannot be
    /// opened now).
    pub fn view(&self, config: &crate::config::Config) -> Option<Arc<dyn JournalView>> {
        self.0.get(config, open_read_only).ok().flatten()
    }
}

pub use sqlite::backup::Restored;

/// After damage: the data folder's journal kept aside, its safety copy (or an empty
/// journal) in its place, paused. No agent may run on the folder meanwhile.
pub fn restore(data_dir: &Path) -> Result<Restored> {
    sqlite::backup::restore(data_dir)
}

/// Whether an agent has made a journal in `data_dir` yet.
pub fn exists_in(data_dir: &Path) -> bool {
    sqlite::SqliteJournal::path_in(data_dir).exists()
}

/// Runs a journal call on a blocking thread: a write waits for an fsync, which must
/// not stall the async workers that carry the transfers.
pub async fn off_worker<J, T, F>(journal: &Arc<J>, call: F) -> Result<T>
where
    J: ?Sized + Send + Sync + 'static,
    T: Send + 'static,
    F: FnOnce(&J) -> Result<T> + Send + 'static,
{
    let journal = journal.clone();
    tokio::task::spawn_blocking(move || call(&journal))
        .await
        .map_err(|error| JournalError::Interrupted(error.to_string()))?
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The longest project name sent. The reference names no limit and the simulator
/// refuses more than 255 characters; a name this long is already more than the web
/// app's project list shows.
pub(crate) const PROJECT_NAME_MAX_CHARS: usize = 120;

/// A project's name: the folder's name as people read it (no control character reaches
/// the server's project list, and a long name is shortened to fit), which batch it is
/// when the folder makes several (with its tools when the folder's edit rules split
/// it), and a random tag that makes it unique.
fn project_name(folder: &str, number: i64, batches: &[Batch], batch: &Batch) -> String {
    let tag = &uuid::Uuid::new_v4().simple().to_string()[..8];
    let kind = records::kind_text(batch.kind);
    let by_rules = batches.iter().any(|b| b.options != batch.options);
    let which = match (number, batches.len(), by_rules) {
        (0, 1, _) => String::new(),
        (_, _, true) => format!(" ({}, {kind} {})", batch.options.described(), number + 1),
        _ => format!(" ({kind} {})", number + 1),
    };
    let suffix = format!("{which} [{tag}]");
    let room = PROJECT_NAME_MAX_CHARS.saturating_sub(suffix.chars().count());
    format!("{}{suffix}", fit(&crate::words::printable(folder), room))
}

/// `name` cut to at most `room` characters, the cut marked with an ellipsis.
fn fit(name: &str, room: usize) -> String {
    if name.chars().count() <= room {
        return name.to_owned();
    }
    let kept: String = name.chars().take(room.saturating_sub(1)).collect();
    format!("{}…", kept.trim_end())
}

/// The same project name with a fresh tag, for a shoot sent again as a new project.
fn renamed(project_name: &str) -> String {
    let tag = &uuid::Uuid::new_v4().simple().to_string()[..8];
    let base = project_name
        .rsplit_once(" [")
        .map_or(project_name, |(base, _)| base);
    format!("{base} [{tag}]")
}
