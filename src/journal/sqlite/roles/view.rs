//! What views read: status, the tray and the dashboard.

use super::*;

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

    fn shoots(&self, wanted: &ShootsWanted<'_>) -> Result<ShootsPage> {
        // Each folder once, with its newest project and whether any is not done.
        const FOLDERS: &str = "WITH folders AS (\
             SELECT inbox, folder, MAX(id) AS newest, MAX(state != 'done') AS open FROM shoots \
             WHERE (?1 IS NULL OR folder = ?1) \
             AND (?2 IS NULL OR instr(lower(folder), lower(?2)) > 0) \
             GROUP BY inbox, folder)";
        let connection = self.connection();
        let (limit, offset) = wanted.limit_and_offset();
        let filters = params![wanted.folder, wanted.search, wanted.unfinished];
        let paged_total: i64 = connection
            .prepare_cached(&format!(
                "{FOLDERS} SELECT COUNT(*) FROM folders WHERE NOT (?3 AND open)"
            ))?
            .query_row(filters, |row| row.get(0))?;
        let mut statement = connection.prepare_cached(&format!(
            "{FOLDERS}, listed AS (\
             SELECT inbox, folder FROM folders WHERE ?3 AND open \
             UNION ALL SELECT inbox, folder FROM (SELECT inbox, folder FROM folders \
             WHERE NOT (?3 AND open) ORDER BY newest DESC LIMIT ?4 OFFSET ?5)) \
             SELECT {SHOOT_COLUMNS}, \
             (SELECT COUNT(*) FROM files f WHERE f.shoot_id = s.id), \
             (SELECT COUNT(*) FROM files f WHERE f.shoot_id = s.id AND f.uploaded = 1), \
             (SELECT COUNT(*) FROM outputs o WHERE o.shoot_id = s.id AND o.placed = 1) \
             FROM shoots s WHERE (inbox, folder) IN (SELECT inbox, folder FROM listed) \
             ORDER BY id DESC"
        ))?;
        let page = params![
            wanted.folder,
            wanted.search,
            wanted.unfinished,
            limit,
            offset
        ];
        let rows = statement.query_map(page, |row| {
            let count = |n: usize| row.get::<_, i64>(SHOOT_COLUMN_COUNT + n).map(|c| c as u64);
            Ok(ShootSummary {
                shoot: shoot_from_row(row)?,
                files: count(0)?,
                uploaded: count(1)?,
                outputs: count(2)?,
            })
        })?;
        Ok(ShootsPage {
            rows: rows.collect::<rusqlite::Result<_>>()?,
            paged_total: paged_total as usize,
        })
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
