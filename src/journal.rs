//! The journal: an SQLite database (WAL) that is the agent's single source of truth.
//! Every shoot, its project name and uuid, options, state and per-file progress are
//! recorded *before* the side effect they guard, so a restart after a crash at any point
//! resumes where it stopped and never bills a shoot twice. `status` opens it read-only
//! while the agent runs.
//!
//! The interface is narrow on purpose (shoots in, steps recorded, shoots out), so a
//! shared PostgreSQL claim table can stand behind the same calls later.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::api::EditOptions;
use crate::scan::{Batch, PhotoKind};

pub type ShootId = i64;

/// Where a shoot is. Stored as text; the order is the pipeline's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ShootState {
    /// Scanned and named; the project may or may not exist yet (see `create_attempted`).
    Planned,
    Uploading,
    /// /edit was (or is about to be) requested; polling until Completed.
    Editing,
    Downloading,
    Done,
    Failed,
    /// Not sent: a new project would pass the spend guard's limits. Goes on by itself
    /// when the limits allow it again, or when the user says "Send anyway".
    Held,
}

impl ShootState {
    pub fn as_str(self) -> &'static str {
        match self {
            ShootState::Planned => "planned",
            ShootState::Uploading => "uploading",
            ShootState::Editing => "editing",
            ShootState::Downloading => "downloading",
            ShootState::Done => "done",
            ShootState::Failed => "failed",
            ShootState::Held => "held",
        }
    }

    fn parse(text: &str) -> Option<ShootState> {
        Some(match text {
            "planned" => ShootState::Planned,
            "uploading" => ShootState::Uploading,
            "editing" => ShootState::Editing,
            "downloading" => ShootState::Downloading,
            "done" => ShootState::Done,
            "failed" => ShootState::Failed,
            "held" => ShootState::Held,
            _ => return None,
        })
    }

    pub fn is_active(self) -> bool {
        !matches!(
            self,
            ShootState::Done | ShootState::Failed | ShootState::Held
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("journal database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("cannot create the data folder {path:?}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no shoot with id {0}")]
    NoSuchShoot(ShootId),
    #[error(
        "the journal was written by a newer imagen-sync (schema {found}, this one knows {known}); \
         upgrade imagen-sync to use it"
    )]
    Newer { found: i64, known: i64 },
}

type Result<T> = std::result::Result<T, JournalError>;

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
    /// The user said "Send anyway": the spend guard lets this one through.
    pub allow_over_limit: bool,
    pub last_error: Option<String>,
    pub created_ms: i64,
    pub updated_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRecord {
    pub relative: PathBuf,
    pub upload_name: String,
    pub size: u64,
    pub uploaded: bool,
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

/// What the spend guard counts over a period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Spend {
    /// Photos in projects created (or attempted) in the period.
    pub photos: u64,
    /// Follow-up projects of one shoot folder created in the period.
    pub follow_ups: u64,
}

/// A row of `imagen-sync status`.
#[derive(Debug, Clone, Serialize)]
pub struct ShootSummary {
    #[serde(flatten)]
    pub shoot: ShootRecord,
    pub files: u64,
    pub uploaded: u64,
    pub outputs: u64,
}

/// Which failed shoots `retry` sends again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryScope<'a> {
    All,
    /// Every failed shoot of that folder name.
    Folder(&'a str),
    Shoot(ShootId),
}

impl RetryScope<'_> {
    /// The folder and id to filter on (`None`: any).
    fn filters(&self) -> (Option<&str>, Option<ShootId>) {
        match *self {
            RetryScope::All => (None, None),
            RetryScope::Folder(folder) => (Some(folder), None),
            RetryScope::Shoot(id) => (None, Some(id)),
        }
    }
}

pub struct Journal {
    connection: Connection,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

// One transaction, so a reader (`status`) never sees half a schema.
const SCHEMA: &str = r#"
BEGIN IMMEDIATE;
CREATE TABLE IF NOT EXISTS shoots (
    id INTEGER PRIMARY KEY,
    inbox TEXT NOT NULL,
    folder TEXT NOT NULL,
    batch INTEGER NOT NULL,
    kind TEXT NOT NULL,
    outbox TEXT NOT NULL,
    options TEXT NOT NULL,
    state TEXT NOT NULL,
    project_name TEXT NOT NULL UNIQUE,
    project_uuid TEXT,
    create_attempted INTEGER NOT NULL DEFAULT 0,
    edit_sent INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    UNIQUE (inbox, folder, batch)
);
CREATE INDEX IF NOT EXISTS shoots_by_state ON shoots(state);
CREATE TABLE IF NOT EXISTS files (
    shoot_id INTEGER NOT NULL REFERENCES shoots(id),
    relative TEXT NOT NULL,
    upload_name TEXT NOT NULL,
    size INTEGER NOT NULL,
    uploaded INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (shoot_id, upload_name)
);
CREATE INDEX IF NOT EXISTS files_by_folder ON files(relative);
CREATE TABLE IF NOT EXISTS outputs (
    shoot_id INTEGER NOT NULL REFERENCES shoots(id),
    file_name TEXT NOT NULL,
    path TEXT NOT NULL,
    placed INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (shoot_id, file_name)
);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
COMMIT;
"#;

/// Changes to the schema after the first release, in order; `PRAGMA user_version` says
/// how many a journal has. Each runs in one transaction with its version bump.
const MIGRATIONS: &[&str] = &[
    // 1: the spend guard, the agent's own outputs, files not sent.
    r#"
ALTER TABLE shoots ADD COLUMN follow_up INTEGER NOT NULL DEFAULT 0;
ALTER TABLE shoots ADD COLUMN allow_over_limit INTEGER NOT NULL DEFAULT 0;
ALTER TABLE shoots ADD COLUMN project_started_ms INTEGER;
CREATE INDEX shoots_by_project_start ON shoots(project_started_ms);
ALTER TABLE outputs ADD COLUMN dev INTEGER;
ALTER TABLE outputs ADD COLUMN ino INTEGER;
CREATE INDEX outputs_by_path ON outputs(path);
CREATE INDEX outputs_by_identity ON outputs(dev, ino);
CREATE TABLE not_sent (
    inbox TEXT NOT NULL,
    folder TEXT NOT NULL,
    file TEXT NOT NULL,
    reason TEXT NOT NULL,
    seen_ms INTEGER NOT NULL,
    PRIMARY KEY (inbox, folder, file)
);
"#,
];

const SHOOT_COLUMNS: &str = "id, inbox, folder, batch, kind, outbox, options, state, project_name, \
     project_uuid, create_attempted, last_error, created_ms, updated_ms, edit_sent, follow_up, \
     allow_over_limit";
/// How many columns `SHOOT_COLUMNS` reads (the summaries' counts come after them).
const SHOOT_COLUMN_COUNT: usize = 17;

/// A value the journal holds that this version cannot read: a loud error, never a
/// silent default.
fn unreadable(column: usize, what: &str, value: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        column,
        rusqlite::types::Type::Text,
        format!("the journal holds an unknown {what} {value:?}").into(),
    )
}

fn shoot_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<ShootRecord> {
    let kind: String = row.get(4)?;
    let options: String = row.get(6)?;
    let state: String = row.get(7)?;
    Ok(ShootRecord {
        id: row.get(0)?,
        inbox: PathBuf::from(row.get::<_, String>(1)?),
        folder: row.get(2)?,
        batch: row.get(3)?,
        kind: match kind.as_str() {
            "raw" => PhotoKind::Raw,
            "jpeg" => PhotoKind::Jpeg,
            _ => return Err(unreadable(4, "photo kind", &kind)),
        },
        outbox: PathBuf::from(row.get::<_, String>(5)?),
        options: serde_json::from_str(&options)
            .map_err(|_| unreadable(6, "set of edit options", &options))?,
        state: ShootState::parse(&state).ok_or_else(|| unreadable(7, "shoot state", &state))?,
        project_name: row.get(8)?,
        project_uuid: row.get(9)?,
        create_attempted: row.get(10)?,
        last_error: row.get(11)?,
        created_ms: row.get(12)?,
        updated_ms: row.get(13)?,
        edit_sent: row.get(14)?,
        follow_up: row.get(15)?,
        allow_over_limit: row.get(16)?,
    })
}

fn path_text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

impl Journal {
    /// The journal file inside a data folder.
    pub fn path_in(data_dir: &Path) -> PathBuf {
        data_dir.join("journal.sqlite3")
    }

    /// Opens (creating if needed) the agent's journal for writing.
    pub fn open(data_dir: &Path) -> Result<Journal> {
        create_private_dir(data_dir)?;
        let connection = Connection::open(Journal::path_in(data_dir))?;
        connection.busy_timeout(std::time::Duration::from_secs(5))?;
        connection.pragma_update(None, "journal_mode", "WAL")?;
        // FULL: a shoot's recorded step survives power loss, not just a crash.
        connection.pragma_update(None, "synchronous", "FULL")?;
        connection.execute_batch(SCHEMA)?;
        migrate(&connection)?;
        Ok(Journal { connection })
    }

    /// Opens the journal read-only (for `status` while the agent runs); `None` when the
    /// agent has not written one yet.
    pub fn open_read_only(data_dir: &Path) -> Result<Option<Journal>> {
        let path = Journal::path_in(data_dir);
        if !path.exists() {
            return Ok(None);
        }
        let connection = Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        connection.busy_timeout(std::time::Duration::from_secs(5))?;
        let has_schema: bool = connection.query_row(
            "SELECT COUNT(*) = 4 FROM sqlite_master WHERE type = 'table' \
             AND name IN ('shoots', 'files', 'outputs', 'settings')",
            [],
            |row| row.get(0),
        )?;
        if !has_schema {
            return Ok(None);
        }
        let version = schema_version(&connection)?;
        if version > MIGRATIONS.len() as i64 {
            return Err(JournalError::Newer {
                found: version,
                known: MIGRATIONS.len() as i64,
            });
        }
        if version < MIGRATIONS.len() as i64 {
            // Written by an older agent that has not run since the upgrade: bring it up
            // to date first (a reader cannot).
            drop(connection);
            return Journal::open(data_dir).map(Some);
        }
        Ok(Some(Journal { connection }))
    }

    /// Records the batches of a settled shoot folder in one transaction: the project name
    /// is chosen and stored here, before any project exists.
    pub fn record_batches(
        &mut self,
        inbox: &Path,
        folder: &str,
        outbox: &Path,
        options: &EditOptions,
        batches: &[Batch],
    ) -> Result<Vec<ShootId>> {
        let transaction = self.connection.transaction()?;
        let follow_up: bool = transaction.query_row(
            "SELECT EXISTS (SELECT 1 FROM shoots WHERE inbox = ?1 AND folder = ?2)",
            params![path_text(inbox), folder],
            |row| row.get(0),
        )?;
        let first_batch: i64 = transaction.query_row(
            "SELECT COALESCE(MAX(batch) + 1, 0) FROM shoots WHERE inbox = ?1 AND folder = ?2",
            params![path_text(inbox), folder],
            |row| row.get(0),
        )?;
        let options = serde_json::to_string(options).expect("options serialise");
        let mut ids = Vec::new();
        for (batch_number, batch) in (first_batch..).zip(batches) {
            let now = now_ms();
            let kind = match batch.kind {
                PhotoKind::Raw => "raw",
                PhotoKind::Jpeg => "jpeg",
            };
            let tag = &uuid::Uuid::new_v4().simple().to_string()[..8];
            // The folder's name as people read it: no control character reaches the
            // server's project list.
            let name = crate::words::printable(folder);
            let project_name = match (batch_number, batches.len()) {
                (0, 1) => format!("{name} [{tag}]"),
                _ => format!("{name} ({kind} {}) [{tag}]", batch_number + 1),
            };
            transaction.execute(
                "INSERT INTO shoots (inbox, folder, batch, kind, outbox, options, state, project_name, created_ms, updated_ms, follow_up) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'planned', ?7, ?8, ?8, ?9)",
                params![path_text(inbox), folder, batch_number, kind, path_text(outbox), options, project_name, now, follow_up],
            )?;
            let id = transaction.last_insert_rowid();
            for photo in &batch.photos {
                transaction.execute(
                    "INSERT INTO files (shoot_id, relative, upload_name, size) VALUES (?1, ?2, ?3, ?4)",
                    params![id, path_text(&photo.relative), photo.upload_name, photo.size as i64],
                )?;
            }
            ids.push(id);
        }
        transaction.commit()?;
        Ok(ids)
    }

    /// Relative paths of every file of a folder that some shoot already holds.
    pub fn known_files(
        &self,
        inbox: &Path,
        folder: &str,
    ) -> Result<std::collections::HashSet<PathBuf>> {
        let mut statement = self.connection.prepare_cached(
            "SELECT files.relative FROM files JOIN shoots ON shoots.id = files.shoot_id \
             WHERE shoots.inbox = ?1 AND shoots.folder = ?2",
        )?;
        let rows = statement.query_map(params![path_text(inbox), folder], |row| {
            row.get::<_, String>(0)
        })?;
        rows.map(|r| r.map(PathBuf::from).map_err(JournalError::from))
            .collect()
    }

    pub fn shoot(&self, id: ShootId) -> Result<ShootRecord> {
        self.connection
            .query_row(
                &format!("SELECT {SHOOT_COLUMNS} FROM shoots WHERE id = ?1"),
                [id],
                shoot_from_row,
            )
            .optional()?
            .ok_or(JournalError::NoSuchShoot(id))
    }

    /// Shoots still to be driven forward, oldest first.
    pub fn active_shoots(&self) -> Result<Vec<ShootRecord>> {
        self.shoots_where("state NOT IN ('done', 'failed', 'held')")
    }

    /// Shoots matching a fixed SQL condition, oldest first.
    fn shoots_where(&self, condition: &'static str) -> Result<Vec<ShootRecord>> {
        let mut statement = self.connection.prepare_cached(&format!(
            "SELECT {SHOOT_COLUMNS} FROM shoots WHERE {condition} ORDER BY id"
        ))?;
        let rows = statement.query_map([], shoot_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn files(&self, id: ShootId) -> Result<Vec<FileRecord>> {
        let mut statement = self.connection.prepare_cached(
            "SELECT relative, upload_name, size, uploaded FROM files WHERE shoot_id = ?1 ORDER BY upload_name",
        )?;
        let rows = statement.query_map([id], |row| {
            Ok(FileRecord {
                relative: PathBuf::from(row.get::<_, String>(0)?),
                upload_name: row.get(1)?,
                size: row.get::<_, i64>(2)? as u64,
                uploaded: row.get(3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn touch(&self, id: ShootId, sql: &str, value: &dyn rusqlite::ToSql) -> Result<()> {
        let changed = self.connection.execute(
            &format!("UPDATE shoots SET {sql}, updated_ms = ?3 WHERE id = ?1"),
            params![id, value, now_ms()],
        )?;
        if changed == 0 {
            return Err(JournalError::NoSuchShoot(id));
        }
        Ok(())
    }

    /// Recorded right before `POST /projects`: after a crash, look the name up first.
    /// It also counts the project for the spend guard from this moment on.
    pub fn mark_create_attempted(&self, id: ShootId) -> Result<()> {
        self.touch(
            id,
            "create_attempted = 1, project_started_ms = COALESCE(project_started_ms, ?2)",
            &now_ms(),
        )
    }

    /// What was spent since `since_ms`: photos in every project started, and follow-up
    /// projects of the shoot folder `folder` in `inbox`.
    pub fn spend_since(&self, since_ms: i64, inbox: &Path, folder: &str) -> Result<Spend> {
        let (photos, follow_ups): (i64, i64) = self.connection.query_row(
            "SELECT \
               (SELECT COUNT(*) FROM files f JOIN shoots s ON s.id = f.shoot_id \
                  WHERE s.project_started_ms >= ?1), \
               (SELECT COUNT(*) FROM shoots WHERE project_started_ms >= ?1 AND follow_up = 1 \
                  AND inbox = ?2 AND folder = ?3)",
            params![since_ms, path_text(inbox), folder],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )?;
        Ok(Spend {
            photos: photos as u64,
            follow_ups: follow_ups as u64,
        })
    }

    /// The spend guard stops a shoot before its project is created.
    pub fn hold(&self, id: ShootId, reason: &str) -> Result<()> {
        self.touch(id, "state = 'held', last_error = ?2", &reason)
    }

    /// The shoots the spend guard holds, oldest first.
    pub fn held_shoots(&self) -> Result<Vec<ShootRecord>> {
        self.shoots_where("state = 'held'")
    }

    /// "Send anyway": held shoots (by folder, one, or all) go on past the limits.
    pub fn send_anyway(&self, which: RetryScope<'_>) -> Result<usize> {
        let (folder, id) = which.filters();
        Ok(self.connection.execute(
            "UPDATE shoots SET state = 'planned', allow_over_limit = 1, last_error = NULL, \
             updated_ms = ?3 WHERE state = 'held' AND (?1 IS NULL OR folder = ?1) \
             AND (?2 IS NULL OR id = ?2)",
            params![folder, id, now_ms()],
        )?)
    }

    /// A held shoot the limits allow again goes back in line.
    pub fn release(&self, id: ShootId) -> Result<()> {
        self.touch(
            id,
            "state = 'planned', last_error = NULL, allow_over_limit = ?2",
            &false,
        )
    }

    /// The files of a shoot folder not sent for editing, replacing what an earlier scan
    /// of the folder found.
    pub fn record_not_sent(
        &mut self,
        inbox: &Path,
        folder: &str,
        items: &[(String, String)],
    ) -> Result<()> {
        let transaction = self.connection.transaction()?;
        transaction.execute(
            "DELETE FROM not_sent WHERE inbox = ?1 AND folder = ?2",
            params![path_text(inbox), folder],
        )?;
        let now = now_ms();
        for (file, reason) in items {
            transaction.execute(
                "INSERT OR REPLACE INTO not_sent (inbox, folder, file, reason, seen_ms) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![path_text(inbox), folder, file, reason, now],
            )?;
        }
        transaction.commit()?;
        Ok(())
    }

    /// Every file not sent, newest first.
    pub fn not_sent(&self) -> Result<Vec<NotSent>> {
        let mut statement = self.connection.prepare_cached(
            "SELECT folder, file, reason, seen_ms FROM not_sent ORDER BY seen_ms DESC, folder, file",
        )?;
        let rows = statement.query_map([], |row| {
            Ok(NotSent {
                folder: row.get(0)?,
                file: row.get(1)?,
                reason: row.get(2)?,
                seen_ms: row.get(3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn set_project(&self, id: ShootId, uuid: &str) -> Result<()> {
        self.touch(id, "project_uuid = ?2, state = 'uploading'", &uuid)
    }

    pub fn mark_edit_sent(&self, id: ShootId) -> Result<()> {
        self.touch(id, "edit_sent = ?2", &true)
    }

    pub fn set_state(&self, id: ShootId, state: ShootState) -> Result<()> {
        self.touch(id, "state = ?2, last_error = NULL", &state.as_str())
    }

    pub fn set_failed(&self, id: ShootId, error: &str) -> Result<()> {
        self.touch(id, "state = 'failed', last_error = ?2", &error)
    }

    /// A problem worth showing that does not stop the shoot (it will be retried).
    pub fn set_note(&self, id: ShootId, note: Option<&str>) -> Result<()> {
        self.touch(id, "last_error = ?2", &note)
    }

    pub fn mark_uploaded(&self, id: ShootId, upload_name: &str) -> Result<()> {
        self.connection.execute(
            "UPDATE files SET uploaded = 1 WHERE shoot_id = ?1 AND upload_name = ?2",
            params![id, upload_name],
        )?;
        Ok(())
    }

    /// A file that changed after the shoot settled: upload its new size next time.
    pub fn update_file_size(&self, id: ShootId, upload_name: &str, size: u64) -> Result<()> {
        self.connection.execute(
            "UPDATE files SET size = ?3 WHERE shoot_id = ?1 AND upload_name = ?2",
            params![id, upload_name, size as i64],
        )?;
        Ok(())
    }

    /// A file deleted before it was uploaded: no longer part of the shoot.
    pub fn forget_file(&self, id: ShootId, upload_name: &str) -> Result<()> {
        self.connection.execute(
            "DELETE FROM files WHERE shoot_id = ?1 AND upload_name = ?2 AND uploaded = 0",
            params![id, upload_name],
        )?;
        Ok(())
    }

    /// Recorded right before an output is renamed into place at `path`.
    pub fn output_intent(&self, id: ShootId, file_name: &str, path: &Path) -> Result<()> {
        self.connection.execute(
            "INSERT INTO outputs (shoot_id, file_name, path, placed) VALUES (?1, ?2, ?3, 0) \
             ON CONFLICT (shoot_id, file_name) DO UPDATE SET path = excluded.path, placed = 0",
            params![id, file_name, path_text(path)],
        )?;
        Ok(())
    }

    /// The output is in place; `identity` is its file's (device, inode), so intake
    /// knows it again under any path.
    pub fn output_placed(
        &self,
        id: ShootId,
        file_name: &str,
        identity: Option<crate::overlap::FileIdentity>,
    ) -> Result<()> {
        let (dev, ino) = identity.map(|(d, i)| (d as i64, i as i64)).unzip();
        self.connection.execute(
            "UPDATE outputs SET placed = 1, dev = ?3, ino = ?4 WHERE shoot_id = ?1 AND file_name = ?2",
            params![id, file_name, dev, ino],
        )?;
        Ok(())
    }

    /// Whether the file at `path` (resolved) or with `identity` is an output this agent
    /// placed: such a file is never taken as a new photo.
    pub fn is_own_output(
        &self,
        path: &Path,
        identity: Option<crate::overlap::FileIdentity>,
    ) -> Result<bool> {
        let (dev, ino) = identity.map(|(d, i)| (d as i64, i as i64)).unzip();
        Ok(self.connection.query_row(
            "SELECT EXISTS (SELECT 1 FROM outputs WHERE path = ?1) \
             OR EXISTS (SELECT 1 FROM outputs WHERE ?2 IS NOT NULL AND dev = ?2 AND ino = ?3)",
            params![path_text(path), dev, ino],
            |row| row.get(0),
        )?)
    }

    /// Outputs already in the outbox, or whose rename may have happened just before a
    /// crash: (file name, path, placed).
    pub fn outputs(&self, id: ShootId) -> Result<Vec<(String, PathBuf, bool)>> {
        let mut statement = self
            .connection
            .prepare_cached("SELECT file_name, path, placed FROM outputs WHERE shoot_id = ?1")?;
        let rows = statement.query_map([id], |row| {
            Ok((
                row.get(0)?,
                PathBuf::from(row.get::<_, String>(1)?),
                row.get(2)?,
            ))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Puts failed shoots of a folder (by folder name, or all with `None`) back in line.
    /// A shoot whose edit failed gets a fresh project (new name); others resume.
    pub fn retry(&self, which: RetryScope<'_>) -> Result<usize> {
        let (folder, id) = which.filters();
        let failed: Vec<ShootRecord> = {
            let mut statement = self.connection.prepare(&format!(
                "SELECT {SHOOT_COLUMNS} FROM shoots WHERE state = 'failed' \
                 AND (?1 IS NULL OR folder = ?1) AND (?2 IS NULL OR id = ?2)"
            ))?;
            let rows = statement.query_map(params![folder, id], shoot_from_row)?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        for shoot in &failed {
            let edit_failed = shoot
                .last_error
                .as_deref()
                .is_some_and(|e| e.contains(EDIT_FAILED_MARK));
            if edit_failed {
                let tag = &uuid::Uuid::new_v4().simple().to_string()[..8];
                let base = shoot
                    .project_name
                    .rsplit_once(" [")
                    .map_or(shoot.project_name.as_str(), |(b, _)| b);
                self.connection.execute(
                    "UPDATE shoots SET state = 'planned', project_uuid = NULL, create_attempted = 0, edit_sent = 0, \
                     project_name = ?2, last_error = NULL, updated_ms = ?3 WHERE id = ?1",
                    params![shoot.id, format!("{base} [{tag}]"), now_ms()],
                )?;
                self.connection.execute(
                    "UPDATE files SET uploaded = 0 WHERE shoot_id = ?1",
                    [shoot.id],
                )?;
                self.connection.execute(
                    "DELETE FROM outputs WHERE shoot_id = ?1 AND placed = 0",
                    [shoot.id],
                )?;
            } else {
                let resume = if shoot.project_uuid.is_some() {
                    "uploading"
                } else {
                    "planned"
                };
                self.touch(shoot.id, "state = ?2, last_error = NULL", &resume)?;
            }
        }
        Ok(failed.len())
    }

    /// Every shoot with its counts, newest first: what `status` shows.
    pub fn summaries(&self) -> Result<Vec<ShootSummary>> {
        self.newest_summaries(i64::MAX)
    }

    /// The `limit` newest shoots with their counts (the tray's Recent shoots).
    pub fn newest_summaries(&self, limit: i64) -> Result<Vec<ShootSummary>> {
        let mut statement = self.connection.prepare(&format!(
            "SELECT {SHOOT_COLUMNS}, \
             (SELECT COUNT(*) FROM files f WHERE f.shoot_id = s.id), \
             (SELECT COUNT(*) FROM files f WHERE f.shoot_id = s.id AND f.uploaded = 1), \
             (SELECT COUNT(*) FROM outputs o WHERE o.shoot_id = s.id AND o.placed = 1) \
             FROM shoots s ORDER BY id DESC LIMIT ?1"
        ))?;
        let rows = statement.query_map([limit], |row| {
            let count = |n: usize| row.get::<_, i64>(SHOOT_COLUMN_COUNT + n).map(|c| c as u64);
            Ok(ShootSummary {
                shoot: shoot_from_row(row)?,
                files: count(0)?,
                uploaded: count(1)?,
                outputs: count(2)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// How many shoots are failed (and not yet retried).
    pub fn failed_count(&self) -> Result<usize> {
        self.count_in(ShootState::Failed)
    }

    /// How many shoots the spend guard holds.
    pub fn held_count(&self) -> Result<usize> {
        self.count_in(ShootState::Held)
    }

    fn count_in(&self, state: ShootState) -> Result<usize> {
        let count: i64 = self.connection.query_row(
            "SELECT COUNT(*) FROM shoots WHERE state = ?1",
            [state.as_str()],
            |row| row.get(0),
        )?;
        Ok(count as usize)
    }

    /// Changes whenever another connection (the CLI's pause, resume or retry) commits:
    /// a near-free way for the idle agent to know whether to look again.
    pub fn data_version(&self) -> Result<i64> {
        Ok(self
            .connection
            .query_row("PRAGMA data_version", [], |row| row.get(0))?)
    }

    pub fn paused(&self) -> Result<bool> {
        Ok(self
            .connection
            .query_row(
                "SELECT value FROM settings WHERE key = 'paused'",
                [],
                |row| row.get::<_, String>(0),
            )
            .optional()?
            .is_some_and(|v| v == "true"))
    }

    pub fn set_paused(&self, paused: bool) -> Result<()> {
        self.connection.execute(
            "INSERT INTO settings (key, value) VALUES ('paused', ?1) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [if paused { "true" } else { "false" }],
        )?;
        Ok(())
    }
}

/// The text a failed edit's error carries, so `retry` knows to start a new project.
pub const EDIT_FAILED_MARK: &str = "Imagen reported the edit as Failed";

fn schema_version(connection: &Connection) -> Result<i64> {
    Ok(connection.query_row("PRAGMA user_version", [], |row| row.get(0))?)
}

/// Brings the schema up to date; refuses a journal from a newer version.
fn migrate(connection: &Connection) -> Result<()> {
    let known = MIGRATIONS.len() as i64;
    let found = schema_version(connection)?;
    if found > known {
        return Err(JournalError::Newer { found, known });
    }
    // Another process may migrate at the same moment: read the version again inside
    // each write transaction.
    loop {
        connection.execute_batch("BEGIN IMMEDIATE")?;
        let version = schema_version(connection)?;
        let Some(migration) = MIGRATIONS.get(version as usize) else {
            connection.execute_batch("COMMIT")?;
            return Ok(());
        };
        let applied = connection.execute_batch(&format!(
            "{migration}; PRAGMA user_version = {};",
            version + 1
        ));
        if let Err(error) = applied {
            let _ = connection.execute_batch("ROLLBACK");
            return Err(error.into());
        }
        connection.execute_batch("COMMIT")?;
    }
}

/// The data folder holds the journal and logs: readable by its owner only.
fn create_private_dir(dir: &Path) -> Result<()> {
    let io = |source| JournalError::Io {
        path: dir.to_owned(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::Photo;

    fn batch(kind: PhotoKind, names: &[&str]) -> Batch {
        Batch {
            kind,
            photos: names
                .iter()
                .map(|n| Photo {
                    relative: PathBuf::from(n),
                    upload_name: crate::names::encode(Path::new(n)).unwrap(),
                    size: 10,
                    modified: None,
                    identity: None,
                })
                .collect(),
        }
    }

    #[test]
    fn a_shoot_is_recorded_with_its_name_before_any_project_and_progress_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let (inbox, outbox) = (Path::new("/in"), Path::new("/out/123 Main St"));
        let id = {
            let mut journal = Journal::open(dir.path()).unwrap();
            let ids = journal
                .record_batches(
                    inbox,
                    "123 Main St",
                    outbox,
                    &EditOptions::default(),
                    &[batch(PhotoKind::Jpeg, &["a.jpg", "K/b.jpg"])],
                )
                .unwrap();
            let id = ids[0];
            journal.mark_create_attempted(id).unwrap();
            journal.set_project(id, "uuid-1").unwrap();
            journal.mark_uploaded(id, "K~b.jpg").unwrap();
            id
        };
        let journal = Journal::open(dir.path()).unwrap();
        let shoot = journal.shoot(id).unwrap();
        assert!(shoot.project_name.starts_with("123 Main St ["));
        assert_eq!(shoot.state, ShootState::Uploading);
        assert!(shoot.create_attempted);
        let uploaded: Vec<bool> = journal
            .files(id)
            .unwrap()
            .iter()
            .map(|f| f.uploaded)
            .collect();
        assert_eq!(uploaded, [true, false]);
        assert_eq!(journal.known_files(inbox, "123 Main St").unwrap().len(), 2);

        // A follow-up batch of the same folder gets the next batch number and its own name.
        let mut journal = journal;
        let follow_up = journal
            .record_batches(
                inbox,
                "123 Main St",
                outbox,
                &EditOptions::default(),
                &[batch(PhotoKind::Jpeg, &["c.jpg"])],
            )
            .unwrap()[0];
        let follow_up = journal.shoot(follow_up).unwrap();
        assert_eq!(follow_up.batch, 1);
        assert_ne!(follow_up.project_name, shoot.project_name);
    }

    #[test]
    fn retry_gives_a_failed_edit_a_new_project_and_resumes_other_failures() {
        let dir = tempfile::tempdir().unwrap();
        let mut journal = Journal::open(dir.path()).unwrap();
        let ids = journal
            .record_batches(
                Path::new("/in"),
                "A",
                Path::new("/out/A"),
                &EditOptions::default(),
                &[batch(PhotoKind::Raw, &["x.nef"])],
            )
            .unwrap();
        let a = ids[0];
        journal.set_project(a, "u").unwrap();
        journal
            .set_failed(a, &format!("{EDIT_FAILED_MARK}; nothing was downloaded"))
            .unwrap();
        let before = journal.shoot(a).unwrap().project_name;
        assert_eq!(journal.retry(RetryScope::Folder("A")).unwrap(), 1);
        let after = journal.shoot(a).unwrap();
        assert_eq!(after.state, ShootState::Planned);
        assert_eq!(after.project_uuid, None);
        assert_ne!(after.project_name, before);

        journal.set_project(a, "u2").unwrap();
        journal.set_failed(a, "network error").unwrap();
        journal.retry(RetryScope::All).unwrap();
        let resumed = journal.shoot(a).unwrap();
        assert_eq!(
            (resumed.state, resumed.project_uuid.as_deref()),
            (ShootState::Uploading, Some("u2"))
        );
    }

    #[test]
    fn pause_is_remembered() {
        let dir = tempfile::tempdir().unwrap();
        Journal::open(dir.path()).unwrap().set_paused(true).unwrap();
        let reader = Journal::open_read_only(dir.path()).unwrap().unwrap();
        assert!(reader.paused().unwrap());
        assert!(
            Journal::open_read_only(&dir.path().join("none"))
                .unwrap()
                .is_none()
        );
    }
}
