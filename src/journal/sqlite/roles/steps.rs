//! A shoot's pipeline: each step recorded as it is taken.

use super::*;

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

    fn output_intents(&self, id: ShootId, intents: &[(String, PathBuf)]) -> Result<()> {
        let mut connection = self.connection();
        let transaction = connection.transaction()?;
        for (file_name, path) in intents {
            transaction.execute(
                "INSERT INTO outputs (shoot_id, file_name, path, placed) VALUES (?1, ?2, ?3, 0) \
                 ON CONFLICT (shoot_id, file_name) DO UPDATE SET path = excluded.path, placed = 0",
                params![id, file_name, path_text(path)],
            )?;
        }
        transaction.commit()?;
        Ok(())
    }

    fn outputs_placed(&self, id: ShootId, placed: &[PlacedOutput]) -> Result<()> {
        let mut connection = self.connection();
        let transaction = connection.transaction()?;
        for output in placed {
            let (dev, ino) = identity_columns(output.identity);
            transaction.execute(
                "UPDATE outputs SET placed = 1, dev = ?3, ino = ?4, stamp = ?5 \
                 WHERE shoot_id = ?1 AND file_name = ?2",
                params![id, output.file_name, dev, ino, output.stamp],
            )?;
        }
        transaction.commit()?;
        Ok(())
    }

    fn delivered_outputs(&self, at: Option<&[PathBuf]>) -> Result<Vec<Delivered>> {
        const DELIVERED: &str = "SELECT o.file_name, o.path, o.placed, o.stamp, o.synced_hash, \
             o.sync_pending, s.id, s.inbox, s.project_uuid FROM outputs o \
             JOIN shoots s ON s.id = o.shoot_id \
             WHERE s.state = 'done' AND o.placed = 1 AND s.project_uuid IS NOT NULL";
        let from_row = |row: &rusqlite::Row<'_>| {
            Ok(Delivered {
                output: output_from_row(row, 0)?,
                shoot: row.get(6)?,
                inbox: PathBuf::from(row.get::<_, String>(7)?),
                project_uuid: row.get(8)?,
            })
        };
        let connection = self.connection();
        let Some(paths) = at else {
            let mut statement = connection.prepare_cached(DELIVERED)?;
            let rows = statement.query_map([], from_row)?;
            return Ok(rows.collect::<rusqlite::Result<_>>()?);
        };
        let mut statement = connection.prepare_cached(&format!("{DELIVERED} AND o.path = ?1"))?;
        let mut delivered = Vec::new();
        for path in paths {
            let rows = statement.query_map([path.to_string_lossy()], from_row)?;
            delivered.extend(rows.collect::<rusqlite::Result<Vec<_>>>()?);
        }
        Ok(delivered)
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
