//! What the journal holds, as plain values every backend reads and writes.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::state::{FailureKind, ShootState};
use crate::api::EditOptions;
use crate::shoot::PhotoKind;

pub type ShootId = i64;

/// How a shoot folder's photos came to be recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// The folder settled whole: its first photos are a shoot, later ones follow-ups.
    Settled,
    /// A batch of a live shoot, cut as its photos arrive.
    Live,
}

/// One project's worth of a shoot folder.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShootRecord {
    pub id: ShootId,
    /// The inbox the shoot folder is in, and the folder's name in it.
    pub inbox: PathBuf,
    pub folder: String,
    /// 0 for the first project of a folder; follow-ups and type splits count up.
    pub batch: i64,
    pub kind: PhotoKind,
    pub outbox: PathBuf,
    pub options: EditOptions,
    pub state: ShootState,
    pub project_name: String,
    pub project_uuid: Option<String>,
    pub create_attempted: bool,
    /// /edit answered; from here on only polling is needed.
    pub edit_sent: bool,
    /// New photos in a folder whose first photos were already recorded.
    pub follow_up: bool,
    /// A batch of a live shoot (photos edited as they arrive): never a follow-up.
    pub live: bool,
    /// The user said "Send anyway": the spend guard lets this one through.
    pub allow_over_limit: bool,
    /// Why a failed shoot stopped; `None` unless it failed.
    pub failure: Option<FailureKind>,
    /// The agent of the studio that holds the shoot now (a shared journal only).
    pub holder: Option<String>,
    /// The failure's or hold's reason, or a note on a problem being waited out: plain
    /// words on the first line, the details (for the log and `status --verbose`) after
    /// a blank line. [`ShootRecord::error_words`] is what a photographer is shown.
    pub last_error: Option<String>,
    /// What a finished shoot could not deliver, one line each ("name: why"): a shoot
    /// done with these is "done with problems".
    pub problems: Vec<String>,
    pub created_ms: i64,
    pub updated_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRecord {
    pub relative: PathBuf,
    pub upload_name: String,
    pub size: u64,
    pub uploaded: bool,
    /// The (device, inode) it had when the shoot was taken in; `None` in journals older
    /// than that record. Only the inode is compared: another machine of a studio sees
    /// the share under another device number.
    pub identity: Option<crate::files::overlap::FileIdentity>,
}

/// An edited photo of a shoot: recorded before it is renamed into the outbox, marked
/// placed after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputRecord {
    pub file_name: String,
    pub path: PathBuf,
    pub placed: bool,
    /// Its size and modification time ([`crate::files::overlap::stamp`]) as placed or as last
    /// synced: a file that no longer matches was changed by someone.
    pub stamp: Option<String>,
    /// The hash of the touch-up last sent to Imagen in its place.
    pub synced_hash: Option<String>,
    /// A touch-up recorded but not yet confirmed sent.
    pub sync_pending: bool,
}

impl OutputRecord {
    /// A touch-up of it was sent to Imagen.
    pub fn touched_up(&self) -> bool {
        self.synced_hash.is_some() && !self.sync_pending
    }
}

/// An edited photo of a finished shoot, as touch-up sync follows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    pub shoot: ShootId,
    /// The inbox of its shoot (which says the hot folder, and so whether it syncs).
    pub inbox: PathBuf,
    pub project_uuid: String,
    pub output: OutputRecord,
}

/// A file of a shoot folder that was not sent for editing, worth the user's eye (junk
/// the user expects to be left, like `.DS_Store` or sidecars, is not listed). A folder
/// with nothing to send has one entry with an empty `file`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NotSent {
    pub folder: String,
    pub file: String,
    pub reason: String,
    pub seen_ms: i64,
}

/// An output renamed into place: its name from the server; `identity` is its file's
/// (device, inode), so intake knows it again under any path, and `stamp` its size and
/// time, so a later change to it (a touch-up) is noticed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacedOutput {
    pub file_name: String,
    pub identity: Option<crate::files::overlap::FileIdentity>,
    pub stamp: Option<String>,
}

impl PlacedOutput {
    /// The output `file_name` as it is now at `path`.
    pub fn at(file_name: &str, path: &Path) -> PlacedOutput {
        PlacedOutput {
            file_name: file_name.to_owned(),
            identity: crate::files::overlap::identity(path),
            stamp: crate::files::overlap::stamp(path),
        }
    }
}

/// What a shoot folder was known by when it was last taken in: its change stamp (its
/// folders' times) and its fingerprint (its files' sizes and times), both stable hashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FolderMark {
    pub stamp: u64,
    pub print: u64,
}

/// What the spend guard counts over a period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Spend {
    /// Photos in projects created (or attempted) in the period.
    pub photos: u64,
    /// Follow-up projects of one shoot folder created in the period.
    pub follow_ups: u64,
}

/// A shoot with its counts: a row of `imagen-sync status`, the tray and the dashboard.
#[derive(Debug, Clone, Serialize)]
pub struct ShootSummary {
    #[serde(flatten)]
    pub shoot: ShootRecord,
    pub files: u64,
    pub uploaded: u64,
    pub outputs: u64,
}

/// A shoot folder as people see it: one shoot, with the projects it became (one per
/// photo type and per set of edit options, and one per follow-up).
#[derive(Debug, Clone, Serialize)]
pub struct ShootGroup {
    /// The project that speaks for the shoot (the one most in need of the user, else
    /// the least advanced), with the counts of all its projects added up.
    pub lead: ShootSummary,
    /// Newest first, as listed.
    pub projects: Vec<ShootSummary>,
}

impl ShootGroup {
    /// Whether the shoot is a live one (its projects are its batches).
    pub fn is_live(&self) -> bool {
        self.projects.iter().all(|row| row.shoot.live)
    }

    /// When its newest batch was recorded (Unix ms).
    pub fn newest_ms(&self) -> i64 {
        self.projects
            .iter()
            .map(|row| row.shoot.created_ms)
            .max()
            .unwrap_or(0)
    }

    /// A live shoot's line, with what the agent knows of it now (`None`: not running).
    pub fn live_words(&self, now: Option<&crate::events::LiveNow>) -> String {
        let name = crate::words::printable(&self.lead.shoot.folder);
        format!("{name} — {}", self.live_progress(now))
    }

    /// The same line without the shoot's name: "live: 212 photos, 190 ready, …".
    pub fn live_progress(&self, now: Option<&crate::events::LiveNow>) -> String {
        crate::words::live_progress(
            self.lead.files + now.map_or(0, |n| n.waiting),
            self.lead.outputs,
            now.map_or_else(
                || self.newest_ms(),
                |n| n.last_photo_ms.max(self.newest_ms()),
            ),
            now.is_some_and(|n| n.open),
        )
    }

    /// Groups rows (newest first) by shoot folder, in the order folders first appear.
    pub fn of(rows: Vec<ShootSummary>) -> Vec<ShootGroup> {
        let mut groups: Vec<ShootGroup> = Vec::new();
        let mut index: std::collections::HashMap<(PathBuf, String), usize> = Default::default();
        for row in rows {
            let key = (row.shoot.inbox.clone(), row.shoot.folder.clone());
            match index.get(&key) {
                Some(&at) => groups[at].projects.push(row),
                None => {
                    index.insert(key, groups.len());
                    groups.push(ShootGroup {
                        lead: row.clone(),
                        projects: vec![row],
                    });
                }
            }
        }
        for group in &mut groups {
            let lead = group
                .projects
                .iter()
                .min_by_key(|row| urgency(&row.shoot))
                .expect("a group has a project");
            group.lead = ShootSummary {
                shoot: lead.shoot.clone(),
                files: group.projects.iter().map(|r| r.files).sum(),
                uploaded: group.projects.iter().map(|r| r.uploaded).sum(),
                outputs: group.projects.iter().map(|r| r.outputs).sum(),
            };
        }
        groups
    }
}

impl ShootRecord {
    /// The reason as a photographer reads it: the recorded text's plain first part.
    pub fn error_words(&self) -> Option<&str> {
        self.last_error.as_deref().map(plain_part)
    }
    /// Every project of this shoot's folder, newest first.
    pub fn projects_in(&self, journal: &dyn super::JournalView) -> Vec<ShootSummary> {
        (journal.projects_of(&self.inbox, &self.folder)).unwrap_or_default()
    }
}

/// Which project of a shoot speaks for it: lower first.
fn urgency(shoot: &ShootRecord) -> u8 {
    match shoot.state {
        ShootState::Failed => 0,
        ShootState::Held => 1,
        ShootState::Planned => 2,
        ShootState::Uploading => 3,
        ShootState::Editing => 4,
        ShootState::Downloading => 5,
        ShootState::Done if shoot.is_done_with_problems() => 6,
        ShootState::Done => 7,
    }
}

/// Which shoots a control acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryScope<'a> {
    All,
    /// Every shoot of that folder name.
    Folder(&'a str),
    Shoot(ShootId),
}

impl RetryScope<'_> {
    /// The folder and id to filter on (`None`: any).
    pub fn filters(&self) -> (Option<&str>, Option<ShootId>) {
        match *self {
            RetryScope::All => (None, None),
            RetryScope::Folder(folder) => (Some(folder), None),
            RetryScope::Shoot(id) => (None, Some(id)),
        }
    }
}

/// Problems as the journal stores them: one per line (each made printable, so none
/// holds a line break).
pub(super) fn problems_text(problems: &[String]) -> Option<String> {
    (!problems.is_empty()).then(|| problems.join("\n"))
}

pub(super) fn parse_problems(text: Option<String>) -> Vec<String> {
    text.map(|t| t.lines().map(str::to_owned).collect())
        .unwrap_or_default()
}

/// A photo kind as the journal stores it.
pub(super) fn kind_text(kind: PhotoKind) -> &'static str {
    match kind {
        PhotoKind::Raw => "raw",
        PhotoKind::Jpeg => "jpeg",
    }
}

pub(super) fn parse_kind(text: &str) -> Option<PhotoKind> {
    [PhotoKind::Raw, PhotoKind::Jpeg]
        .into_iter()
        .find(|kind| kind_text(*kind) == text)
}

/// An agent of the studio, as the shared journal last heard from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgentSeen {
    pub name: String,
    pub pid: i64,
    pub version: String,
    pub started_ms: i64,
    pub seen_ms: i64,
    /// Shoots it holds now.
    pub holding: i64,
}

/// What Retry and Send anyway change in a shoot they let go on: one value, which both
/// journals apply (each in its own SQL dialect, from the clauses below).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct GoOn {
    /// Back in line at this state.
    pub(super) to: ShootState,
    /// A new project under this name: every photo goes up again, and the outputs not yet
    /// placed are forgotten. `None`: it goes on with its project.
    pub(super) new_project: Option<String>,
    /// Past the spend guard's limits from now on ("Send anyway").
    pub(super) past_spend_guard: bool,
}

impl GoOn {
    /// "Send anyway": a held shoot goes on, past the limits.
    pub(super) fn send_anyway() -> GoOn {
        GoOn {
            to: ShootState::Planned,
            new_project: None,
            past_spend_guard: true,
        }
    }

    /// The shoot row's `SET` list (without the state, which each journal's move sets);
    /// `name` is the placeholder bound to [`GoOn::new_project`] when there is one.
    pub(super) fn set_columns(&self, name: &str) -> String {
        let mut set = vec!["last_error = NULL".to_owned(), "failure = NULL".to_owned()];
        if self.new_project.is_some() {
            set.extend([
                "project_uuid = NULL".to_owned(),
                "create_attempted = FALSE".to_owned(),
                "edit_sent = FALSE".to_owned(),
                format!("project_name = {name}"),
            ]);
        }
        if self.past_spend_guard {
            set.push("allow_over_limit = TRUE".to_owned());
        }
        set.join(", ")
    }

    /// The statements on the shoot's files and outputs, `id` the placeholder bound to
    /// the shoot's id: with a new project, nothing counts as sent any more.
    pub(super) fn forget_sent(&self, id: &str) -> Vec<String> {
        match self.new_project {
            Some(_) => vec![
                format!("UPDATE files SET uploaded = FALSE WHERE shoot_id = {id}"),
                format!("DELETE FROM outputs WHERE shoot_id = {id} AND NOT placed"),
            ],
            None => Vec::new(),
        }
    }
}

impl ShootRecord {
    /// Finished, with every output delivered that could be.
    pub fn is_done_with_problems(&self) -> bool {
        self.state == ShootState::Done && !self.problems.is_empty()
    }

    /// The state as people read it: "done with problems" for a done shoot that has them.
    pub fn state_words(&self) -> &'static str {
        match self.is_done_with_problems() {
            true => "done with problems",
            false => self.state.as_str(),
        }
    }

    /// What "Retry" does to this failed shoot: a failed edit starts over as a new
    /// project; any other failure goes on with its project (or makes one).
    pub(super) fn retry(&self) -> GoOn {
        if self.failure.is_some_and(FailureKind::retry_starts_over) {
            return GoOn {
                to: ShootState::Planned,
                new_project: Some(super::renamed(&self.project_name)),
                past_spend_guard: false,
            };
        }
        GoOn {
            to: match self.project_uuid {
                Some(_) => ShootState::Uploading,
                None => ShootState::Planned,
            },
            new_project: None,
            past_spend_guard: false,
        }
    }
}

/// A file's identity as two signed columns (SQLite and PostgreSQL integers are signed).
pub(super) fn identity_columns(
    identity: Option<crate::files::overlap::FileIdentity>,
) -> (Option<i64>, Option<i64>) {
    identity.map(|(d, i)| (d as i64, i as i64)).unzip()
}

/// The identity read back from its two columns.
pub(super) fn identity_from(
    dev: Option<i64>,
    ino: Option<i64>,
) -> Option<crate::files::overlap::FileIdentity> {
    Some((dev? as u64, ino? as u64))
}

/// A reason to record: the plain words, then the details after a blank line (when
/// they say more).
pub fn reason_with_details(plain: &str, details: &str) -> String {
    match plain == details {
        true => plain.to_owned(),
        false => format!("{plain}\n\n{details}"),
    }
}

/// The plain part of a recorded reason (all of it when it has no details).
pub fn plain_part(reason: &str) -> &str {
    reason.split_once("\n\n").map_or(reason, |(plain, _)| plain)
}
