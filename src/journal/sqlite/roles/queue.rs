//! The scheduler's side: shoots recorded, claimed, held and let go.

use super::*;

impl ShootQueue for SqliteJournal {
    fn record_batches(
        &self,
        inbox: &Path,
        folder: &str,
        outbox: &Path,
        batches: &[Batch],
        arrival: Arrival,
    ) -> Result<Vec<ShootId>> {
        let mut connection = self.connection();
        let transaction = connection.transaction()?;
        let (seen_before, first_batch): (bool, i64) = transaction.query_row(
            "SELECT COUNT(*) > 0, COALESCE(MAX(batch) + 1, 0) FROM shoots \
             WHERE inbox = ?1 AND folder = ?2",
            params![path_text(inbox), folder],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )?;
        let live = arrival == Arrival::Live;
        let follow_up = seen_before && !live;
        let mut ids = Vec::new();
        for (batch_number, batch) in (first_batch..).zip(batches) {
            let now = now_ms();
            let options = serde_json::to_string(&batch.options).expect("options serialise");
            let kind = kind_text(batch.kind);
            let name = project_name(folder, batch_number, batches, batch);
            transaction.execute(
                "INSERT INTO shoots (inbox, folder, batch, kind, outbox, options, state, \
                 project_name, created_ms, updated_ms, follow_up, live) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?10, ?11)",
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
                    follow_up,
                    live
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

    fn end_live_shoot(&self, inbox: &Path, folder: &str, through: ShootId) -> Result<bool> {
        let changed = self.connection().execute(
            "INSERT INTO live_ends (inbox, folder, through_id) VALUES (?1, ?2, ?3) \
             ON CONFLICT (inbox, folder) DO UPDATE SET through_id = excluded.through_id \
             WHERE live_ends.through_id < excluded.through_id",
            params![path_text(inbox), folder, through],
        )?;
        Ok(changed > 0)
    }

    fn folder_marks(&self, inbox: &Path) -> Result<HashMap<String, FolderMark>> {
        let connection = self.connection();
        let mut statement = connection
            .prepare_cached("SELECT folder, stamp, print FROM folder_marks WHERE inbox = ?1")?;
        let rows = statement.query_map(params![path_text(inbox)], |row| {
            let (stamp, print) = (row.get::<_, i64>(1)?, row.get::<_, i64>(2)?);
            let mark = FolderMark {
                stamp: stamp as u64,
                print: print as u64,
            };
            Ok((row.get::<_, String>(0)?, mark))
        })?;
        rows.map(|r| r.map_err(JournalError::from)).collect()
    }

    fn record_folder_mark(&self, inbox: &Path, folder: &str, mark: FolderMark) -> Result<()> {
        self.connection().execute(
            "INSERT INTO folder_marks (inbox, folder, stamp, print) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (inbox, folder) DO UPDATE SET stamp = excluded.stamp, print = excluded.print",
            params![path_text(inbox), folder, mark.stamp as i64, mark.print as i64],
        )?;
        Ok(())
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
