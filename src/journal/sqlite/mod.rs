//! The journal in an SQLite file (WAL, synchronous FULL) in the data folder. `status`
//! and the tray open it read-only while the agent writes.

pub(crate) mod backup;
mod roles;
mod schema;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use super::records::{parse_kind, parse_problems};
use super::{FailureKind, JournalError, Result, ShootId, ShootRecord, ShootState, now_ms};
use schema::{MIGRATIONS, SCHEMA};

pub(super) struct SqliteJournal {
    connection: Mutex<Connection>,
    /// Where the journal and its safety copy are.
    data_dir: PathBuf,
    copies: backup::Refresher,
}

impl From<rusqlite::Error> for JournalError {
    fn from(error: rusqlite::Error) -> Self {
        match backup::is_damage(&error) {
            true => JournalError::Damaged {
                data_dir: None,
                detail: error.to_string(),
            },
            false => JournalError::Database(Box::new(error)),
        }
    }
}

/// Names the data folder in a damage found while opening its journal.
fn located(data_dir: &Path) -> impl FnOnce(JournalError) -> JournalError + '_ {
    move |error| match error {
        JournalError::Damaged { detail, .. } => JournalError::Damaged {
            data_dir: Some(data_dir.to_owned()),
            detail,
        },
        other => other,
    }
}

impl SqliteJournal {
    /// The journal file inside a data folder.
    pub(super) fn path_in(data_dir: &Path) -> PathBuf {
        data_dir.join("journal.sqlite3")
    }

    pub(super) fn open(data_dir: &Path) -> Result<SqliteJournal> {
        create_private_dir(data_dir)?;
        // Told before opening, which may make the write-ahead log anew.
        let copy_is_current = backup::copy_is_current(data_dir);
        let connection = Connection::open(SqliteJournal::path_in(data_dir))
            .map_err(JournalError::from)
            .and_then(|connection| {
                connection.busy_timeout(Duration::from_secs(5))?;
                connection.pragma_update(None, "journal_mode", "WAL")?;
                // FULL: a shoot's recorded step survives power loss, not just a crash.
                connection.pragma_update(None, "synchronous", "FULL")?;
                // 512 KB of pages, not 2 MB: an agent idles for hours after reading
                // years of shoots once, and the system keeps the file cached anyway.
                connection.pragma_update(None, "cache_size", -512)?;
                connection.execute_batch(SCHEMA)?;
                migrate(&connection)?;
                Ok(connection)
            })
            .map_err(located(data_dir))?;
        let journal = SqliteJournal {
            connection: Mutex::new(connection),
            data_dir: data_dir.to_owned(),
            copies: backup::Refresher::default(),
        };
        if !copy_is_current {
            journal.copies.request_after(data_dir, backup::AFTER_START);
        }
        Ok(journal)
    }

    pub(super) fn open_read_only(data_dir: &Path) -> Result<Option<SqliteJournal>> {
        SqliteJournal::open_to_read(data_dir).map_err(located(data_dir))
    }

    fn open_to_read(data_dir: &Path) -> Result<Option<SqliteJournal>> {
        let path = SqliteJournal::path_in(data_dir);
        if !path.exists() {
            return Ok(None);
        }
        let connection = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        connection.busy_timeout(Duration::from_secs(5))?;
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
        let known = MIGRATIONS.len() as i64;
        if version > known {
            return Err(JournalError::Newer {
                found: version,
                known,
            });
        }
        if version < known {
            // Written by an older agent that has not run since the upgrade: bring it up
            // to date first (a reader cannot).
            drop(connection);
            return SqliteJournal::open(data_dir).map(Some);
        }
        Ok(Some(SqliteJournal {
            connection: Mutex::new(connection),
            data_dir: data_dir.to_owned(),
            copies: backup::Refresher::default(),
        }))
    }

    fn connection(&self) -> MutexGuard<'_, Connection> {
        self.connection
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

const SHOOT_COLUMNS: &str = "id, inbox, folder, batch, kind, outbox, options, state, project_name, \
     project_uuid, create_attempted, last_error, created_ms, updated_ms, edit_sent, follow_up, \
     allow_over_limit, failure, problems, live";
/// How many columns `SHOOT_COLUMNS` reads (the summaries' counts come after them).
const SHOOT_COLUMN_COUNT: usize = 20;

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
    let failure: Option<String> = row.get(17)?;
    Ok(ShootRecord {
        id: row.get(0)?,
        inbox: PathBuf::from(row.get::<_, String>(1)?),
        folder: row.get(2)?,
        batch: row.get(3)?,
        kind: parse_kind(&kind).ok_or_else(|| unreadable(4, "photo kind", &kind))?,
        outbox: PathBuf::from(row.get::<_, String>(5)?),
        options: serde_json::from_str(&options)
            .map_err(|_| unreadable(6, "set of edit options", &options))?,
        state: ShootState::parse(&state).ok_or_else(|| unreadable(7, "shoot state", &state))?,
        project_name: row.get(8)?,
        project_uuid: row.get(9)?,
        create_attempted: row.get(10)?,
        last_error: row.get(11)?,
        problems: parse_problems(row.get(18)?),
        created_ms: row.get(12)?,
        updated_ms: row.get(13)?,
        edit_sent: row.get(14)?,
        follow_up: row.get(15)?,
        live: row.get(19)?,
        allow_over_limit: row.get(16)?,
        holder: None,
        failure: match failure {
            None => None,
            Some(text) => Some(
                FailureKind::parse(&text).ok_or_else(|| unreadable(17, "failure kind", &text))?,
            ),
        },
    })
}

fn path_text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// Updates a shoot's columns (`set`, with `?2` and `?3` bound to `values`).
fn touch(
    connection: &Connection,
    id: ShootId,
    set: &str,
    values: (&dyn rusqlite::ToSql, &dyn rusqlite::ToSql),
) -> Result<()> {
    let changed = connection.execute(
        &format!("UPDATE shoots SET {set}, updated_ms = ?4 WHERE id = ?1"),
        params![id, values.0, values.1, now_ms()],
    )?;
    if changed == 0 {
        return Err(JournalError::NoSuchShoot(id));
    }
    Ok(())
}

/// Moves a shoot to state `to` (with more columns in `set`, `?2` and `?3` bound to
/// `values`), if [`ShootState::may_become`] allows it from where it is.
fn move_shoot(
    connection: &Connection,
    id: ShootId,
    to: ShootState,
    set: &str,
    values: (&dyn rusqlite::ToSql, &dyn rusqlite::ToSql),
) -> Result<()> {
    let changed = connection.execute(
        &format!(
            "UPDATE shoots SET state = ?5, {set}, updated_ms = ?4 \
             WHERE id = ?1 AND state IN ({})",
            ShootState::sources_sql(to)
        ),
        params![id, values.0, values.1, now_ms(), to.as_str()],
    )?;
    if changed == 1 {
        return Ok(());
    }
    let from: Option<String> = connection
        .query_row("SELECT state FROM shoots WHERE id = ?1", [id], |row| {
            row.get(0)
        })
        .optional()?;
    match from.as_deref().map(ShootState::parse) {
        None => Err(JournalError::NoSuchShoot(id)),
        Some(Some(from)) => Err(JournalError::IllegalMove { id, from, to }),
        Some(None) => Err(unreadable(7, "shoot state", from.as_deref().unwrap_or("")).into()),
    }
}

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
mod tests;
