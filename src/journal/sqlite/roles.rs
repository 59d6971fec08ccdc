//! The SQLite journal in each of its roles.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{
    SHOOT_COLUMN_COUNT, SHOOT_COLUMNS, SqliteJournal, move_shoot, path_text, shoot_from_row, touch,
};
use crate::files::overlap::FileIdentity;
use crate::journal::records::{GoOn, kind_text, problems_text};
use crate::journal::{
    AgentSeen, FailureKind, FileRecord, JournalControls, JournalError, JournalView, NotSent,
    OutputRecord, Result, RetryScope, ShootId, ShootQueue, ShootRecord, ShootState, ShootSteps,
    ShootSummary, Spend, now_ms, project_name,
};
use crate::journal::{Delivered, Switch};
use crate::shoot::Batch;

use crate::journal::records::{identity_columns, identity_from};

/// Shoots in `state` (of those `which` names), oldest first.
fn shoots_in(
    connection: &Connection,
    state: ShootState,
    which: RetryScope<'_>,
) -> Result<Vec<ShootRecord>> {
    let (folder, id) = which.filters();
    let mut statement = connection.prepare_cached(&format!(
        "SELECT {SHOOT_COLUMNS} FROM shoots WHERE state = ?1 \
         AND (?2 IS NULL OR folder = ?2) AND (?3 IS NULL OR id = ?3) ORDER BY id"
    ))?;
    let rows = statement.query_map(params![state.as_str(), folder, id], shoot_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

impl JournalView for SqliteJournal {
    fn shoot(&self, id: ShootId) -> Result<ShootRecord> {
        self.connection()
            .query_row(
                &format!("SELECT {SHOOT_COLUMNS} FROM shoots WHERE id = ?1"),
                [id],
                shoot_from_row,
            )
            .optional()?
            .ok_or(JournalError::NoSuchShoot(id))
    }

    fn files(&self, id: ShootId) -> Result<Vec<FileRecord>> {
        let connection = self.connection();
        let mut statement = connection.prepare_cached(
            "SELECT relative, upload_name, size, uploaded, dev, ino FROM files WHERE shoot_id = ?1 \
             ORDER BY upload_name",
        )?;
        let rows = statement.query_map([id], |row| {
            Ok(FileRecord {
                relative: PathBuf::from(row.get::<_, String>(0)?),
                upload_name: row.get(1)?,
                size: row.get::<_, i64>(2)? as u64,
                uploaded: row.get(3)?,
                identity: identity_from(row.get(4)?, row.get(5)?),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn outputs(&self, id: ShootId) -> Result<Vec<OutputRecord>> {
        let connection = self.connection();
        let mut statement = connection.prepare_cached(
            "SELECT file_name, path, placed, stamp, synced_hash, sync_pending FROM outputs \
             WHERE shoot_id = ?1",
        )?;
        let rows = statement.query_map([id], |row| output_from_row(row, 0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn summaries(&self, newest: Option<usize>) -> Result<Vec<ShootSummary>> {
        let connection = self.connection();
        let mut statement = connection.prepare_cached(&format!(
            "SELECT {SHOOT_COLUMNS}, \
             (SELECT COUNT(*) FROM files f WHERE f.shoot_id = s.id), \
             (SELECT COUNT(*) FROM files f WHERE f.shoot_id = s.id AND f.uploaded = 1), \
             (SELECT COUNT(*) FROM outputs o WHERE o.shoot_id = s.id AND o.placed = 1) \
             FROM shoots s ORDER BY id DESC LIMIT ?1"
        ))?;
        let limit = newest.map_or(i64::MAX, |n| n as i64);
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

    fn count_in(&self, state: ShootState) -> Result<usize> {
        let count: i64 = self.connection().query_row(
            "SELECT COUNT(*) FROM shoots WHERE state = ?1",
            [state.as_str()],
            |row| row.get(0),
        )?;
        Ok(count as usize)
    }

    fn not_sent(&self) -> Result<Vec<NotSent>> {
        let connection = self.connection();
        let mut statement = connection.prepare_cached(
            "SELECT folder, file, reason, seen_ms FROM not_sent \
             ORDER BY seen_ms DESC, folder, file",
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

    fn spend_since(&self, since_ms: i64, inbox: &Path, folder: &str) -> Result<Spend> {
        let (photos, follow_ups): (i64, i64) = self.connection().query_row(
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

    fn switch(&self, switch: Switch) -> Result<bool> {
        Ok(self
            .connection()
            .query_row(
                "SELECT value FROM settings WHERE key = ?1",
                [switch.key(None)],
                |row| row.get::<_, String>(0),
            )
            .optional()?
            .is_some_and(|v| v == "true"))
    }

    fn agents(&self) -> Result<Vec<AgentSeen>> {
        Ok(Vec::new())
    }

    fn change_mark(&self) -> Result<i64> {
        Ok(self
            .connection()
            .query_row("PRAGMA data_version", [], |row| row.get(0))?)
    }
}

impl ShootQueue for SqliteJournal {
    fn record_batches(
        &self,
        inbox: &Path,
        folder: &str,
        outbox: &Path,
        batches: &[Batch],
    ) -> Result<Vec<ShootId>> {
        let mut connection = self.connection();
        let transaction = connection.transaction()?;
        let (follow_up, first_batch): (bool, i64) = transaction.query_row(
            "SELECT COUNT(*) > 0, COALESCE(MAX(batch) + 1, 0) FROM shoots \
             WHERE inbox = ?1 AND folder = ?2",
            params![path_text(inbox), folder],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )?;
        let mut ids = Vec::new();
        for (batch_number, batch) in (first_batch..).zip(batches) {
            let now = now_ms();
            let options = serde_json::to_string(&batch.options).expect("options serialise");
            let kind = kind_text(batch.kind);
            let name = project_name(folder, batch_number, batches, batch);
            transaction.execute(
                "INSERT INTO shoots (inbox, folder, batch, kind, outbox, options, state, \
                 project_name, created_ms, updated_ms, follow_up) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?10)",
                params![
                    path_text(inbox),
                    folder,
                    batch_number,
                    kind,
                    path_text(outbox),
                    options,
                    ShootState::Planned.as_str(),
                    name,
                    now,
                    follow_up
                ],
            )?;
            let id = transaction.last_insert_rowid();
            for photo in &batch.photos {
                let (dev, ino) = identity_columns(photo.identity);
                transaction.execute(
                    "INSERT INTO files (shoot_id, relative, upload_name, size, dev, ino) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![
                        id,
                        path_text(&photo.relative),
                        photo.upload_name,
                        photo.size as i64,
                        dev,
                        ino
                    ],
                )?;
            }
            ids.push(id);
        }
        transaction.commit()?;
        Ok(ids)
    }

    fn known_files(&self, inbox: &Path, folder: &str) -> Result<HashSet<PathBuf>> {
        let connection = self.connection();
        let mut statement = connection.prepare_cached(
            "SELECT files.relative FROM files JOIN shoots ON shoots.id = files.shoot_id \
             WHERE shoots.inbox = ?1 AND shoots.folder = ?2",
        )?;
        let rows = statement.query_map(params![path_text(inbox), folder], |row| {
            row.get::<_, String>(0)
        })?;
        rows.map(|r| r.map(PathBuf::from).map_err(JournalError::from))
            .collect()
    }

    fn is_own_output(&self, path: &Path, identity: Option<FileIdentity>) -> Result<bool> {
        let (dev, ino) = identity_columns(identity);
        Ok(self.connection().query_row(
            "SELECT EXISTS (SELECT 1 FROM outputs WHERE path = ?1) \
             OR EXISTS (SELECT 1 FROM outputs WHERE ?2 IS NOT NULL AND dev = ?2 AND ino = ?3)",
            params![path_text(path), dev, ino],
            |row| row.get(0),
        )?)
    }

    fn record_not_sent(
        &self,
        inbox: &Path,
        folder: &str,
        items: &[(String, String)],
    ) -> Result<()> {
        let mut connection = self.connection();
        let transaction = connection.transaction()?;
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

    fn active_shoots(&self) -> Result<Vec<ShootRecord>> {
        let connection = self.connection();
        let mut statement = connection.prepare_cached(&format!(
            "SELECT {SHOOT_COLUMNS} FROM shoots WHERE state IN ({}) ORDER BY id",
            ShootState::active_sql()
        ))?;
        let rows = statement.query_map([], shoot_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    // The data folder's lock makes this agent the only one: every active shoot is its.
    fn claim(&self, skip: &[ShootId], up_to: usize) -> Result<Vec<ShootRecord>> {
        let mut active = self.active_shoots()?;
        active.retain(|shoot| !skip.contains(&shoot.id));
        active.truncate(up_to);
        Ok(active)
    }

    fn lease(&self) -> Option<std::time::Duration> {
        None
    }

    fn heartbeat(&self, drives: &[ShootId]) -> Result<Vec<ShootId>> {
        Ok(drives.to_vec())
    }

    fn let_go(&self, _shoots: &[ShootId]) -> Result<()> {
        Ok(())
    }

    fn held_shoots(&self) -> Result<Vec<ShootRecord>> {
        shoots_in(&self.connection(), ShootState::Held, RetryScope::All)
    }

    fn release(&self, id: ShootId) -> Result<()> {
        move_shoot(
            &self.connection(),
            id,
            ShootState::Planned,
            "last_error = NULL, allow_over_limit = ?2",
            (&false, &0),
        )
    }
}

impl ShootSteps for SqliteJournal {
    fn mark_create_attempted(&self, id: ShootId) -> Result<()> {
        touch(
            &self.connection(),
            id,
            "create_attempted = 1, project_started_ms = COALESCE(project_started_ms, ?2)",
            (&now_ms(), &0),
        )
    }

    fn set_project(&self, id: ShootId, uuid: &str) -> Result<()> {
        move_shoot(
            &self.connection(),
            id,
            ShootState::Uploading,
            "project_uuid = ?2",
            (&uuid, &0),
        )
    }

    fn update_file_size(&self, id: ShootId, upload_name: &str, size: u64) -> Result<()> {
        self.connection().execute(
            "UPDATE files SET size = ?3 WHERE shoot_id = ?1 AND upload_name = ?2",
            params![id, upload_name, size as i64],
        )?;
        Ok(())
    }

    fn forget_file(
        &self,
        id: ShootId,
        upload_name: &str,
        left_out_because: Option<&str>,
    ) -> Result<()> {
        let mut connection = self.connection();
        let transaction = connection.transaction()?;
        if let Some(reason) = left_out_because {
            transaction.execute(
                "INSERT OR REPLACE INTO not_sent (inbox, folder, file, reason, seen_ms) \
                 SELECT s.inbox, s.folder, f.relative, ?3, ?4 FROM files f \
                 JOIN shoots s ON s.id = f.shoot_id \
                 WHERE f.shoot_id = ?1 AND f.upload_name = ?2 AND f.uploaded = 0",
                params![id, upload_name, reason, now_ms()],
            )?;
        }
        transaction.execute(
            "DELETE FROM files WHERE shoot_id = ?1 AND upload_name = ?2 AND uploaded = 0",
            params![id, upload_name],
        )?;
        transaction.commit()?;
        Ok(())
    }

    fn mark_uploaded(&self, id: ShootId, upload_name: &str) -> Result<()> {
        self.connection().execute(
            "UPDATE files SET uploaded = 1 WHERE shoot_id = ?1 AND upload_name = ?2",
            params![id, upload_name],
        )?;
        Ok(())
    }

    fn advance(&self, id: ShootId, to: ShootState) -> Result<()> {
        move_shoot(
            &self.connection(),
            id,
            to,
            "last_error = NULL, failure = ?2",
            (&None::<String>, &0),
        )
    }

    fn mark_edit_sent(&self, id: ShootId) -> Result<()> {
        touch(&self.connection(), id, "edit_sent = ?2", (&true, &0))
    }

    fn output_intent(&self, id: ShootId, file_name: &str, path: &Path) -> Result<()> {
        self.connection().execute(
            "INSERT INTO outputs (shoot_id, file_name, path, placed) VALUES (?1, ?2, ?3, 0) \
             ON CONFLICT (shoot_id, file_name) DO UPDATE SET path = excluded.path, placed = 0",
            params![id, file_name, path_text(path)],
        )?;
        Ok(())
    }

    fn output_placed(
        &self,
        id: ShootId,
        file_name: &str,
        identity: Option<FileIdentity>,
        stamp: Option<&str>,
    ) -> Result<()> {
        let (dev, ino) = identity_columns(identity);
        self.connection().execute(
            "UPDATE outputs SET placed = 1, dev = ?3, ino = ?4, stamp = ?5 \
             WHERE shoot_id = ?1 AND file_name = ?2",
            params![id, file_name, dev, ino, stamp],
        )?;
        Ok(())
    }

    fn delivered_outputs(&self) -> Result<Vec<Delivered>> {
        let connection = self.connection();
        let mut statement = connection.prepare_cached(
            "SELECT o.file_name, o.path, o.placed, o.stamp, o.synced_hash, o.sync_pending, \
             s.id, s.inbox, s.project_uuid FROM outputs o JOIN shoots s ON s.id = o.shoot_id \
             WHERE s.state = 'done' AND o.placed = 1 AND s.project_uuid IS NOT NULL",
        )?;
        let rows = statement.query_map([], |row| {
            Ok(Delivered {
                output: output_from_row(row, 0)?,
                shoot: row.get(6)?,
                inbox: PathBuf::from(row.get::<_, String>(7)?),
                project_uuid: row.get(8)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn record_touchup(
        &self,
        id: ShootId,
        file_name: &str,
        stamp: &str,
        hash: Option<&str>,
        pending: bool,
    ) -> Result<()> {
        self.connection().execute(
            "UPDATE outputs SET stamp = ?3, synced_hash = COALESCE(?4, synced_hash), \
             sync_pending = ?5 WHERE shoot_id = ?1 AND file_name = ?2",
            params![id, file_name, stamp, hash, pending],
        )?;
        Ok(())
    }

    fn hold(&self, id: ShootId, reason: &str) -> Result<()> {
        move_shoot(
            &self.connection(),
            id,
            ShootState::Held,
            "last_error = ?2",
            (&reason, &0),
        )
    }

    fn fail(&self, id: ShootId, kind: FailureKind, reason: &str) -> Result<()> {
        move_shoot(
            &self.connection(),
            id,
            ShootState::Failed,
            "last_error = ?2, failure = ?3",
            (&reason, &kind.as_str()),
        )
    }

    fn note(&self, id: ShootId, note: Option<&str>) -> Result<()> {
        touch(&self.connection(), id, "last_error = ?2", (&note, &0))
    }

    fn finish(&self, id: ShootId, problems: &[String]) -> Result<()> {
        move_shoot(
            &self.connection(),
            id,
            ShootState::Done,
            "last_error = NULL, failure = NULL, problems = ?2",
            (&problems_text(problems), &0),
        )?;
        // A finished shoot is what a safety copy must not forget.
        self.copies.request(&self.data_dir);
        Ok(())
    }
}

impl JournalControls for SqliteJournal {
    fn set_switch(&self, switch: Switch, on: bool) -> Result<()> {
        self.connection().execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [switch.key(None).as_ref(), if on { "true" } else { "false" }],
        )?;
        Ok(())
    }

    fn retry(&self, which: RetryScope<'_>) -> Result<usize> {
        self.go_on(ShootState::Failed, which, ShootRecord::retry)
    }

    fn send_anyway(&self, which: RetryScope<'_>) -> Result<usize> {
        self.go_on(ShootState::Held, which, |_| GoOn::send_anyway())
    }
}

impl SqliteJournal {
    /// Lets the shoots `which` names that are in state `from` go on, each as `how` says.
    fn go_on(
        &self,
        from: ShootState,
        which: RetryScope<'_>,
        how: impl Fn(&ShootRecord) -> GoOn,
    ) -> Result<usize> {
        let mut connection = self.connection();
        // Read and change in one write transaction: the agent may move a shoot between.
        let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let shoots = shoots_in(&transaction, from, which)?;
        for shoot in &shoots {
            let go_on = how(shoot);
            let set = go_on.set_columns("?2");
            move_shoot(
                &transaction,
                shoot.id,
                go_on.to,
                &set,
                (&go_on.new_project, &0),
            )?;
            for statement in go_on.forget_sent("?1") {
                transaction.execute(&statement, [shoot.id])?;
            }
        }
        transaction.commit()?;
        Ok(shoots.len())
    }
}

/// An output from `file_name, path, placed, stamp, synced_hash, sync_pending` at `at`.
fn output_from_row(row: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<OutputRecord> {
    Ok(OutputRecord {
        file_name: row.get(at)?,
        path: PathBuf::from(row.get::<_, String>(at + 1)?),
        placed: row.get(at + 2)?,
        stamp: row.get(at + 3)?,
        synced_hash: row.get(at + 4)?,
        sync_pending: row.get(at + 5)?,
    })
}
