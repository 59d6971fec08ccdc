//! A shoot's pipeline: each step recorded as it is taken.

use super::*;

impl ShootSteps for PgJournal {
    fn mark_create_attempted(&self, id: ShootId) -> Result<()> {
        self.step(id, |t| {
            touch(
                t,
                id,
                &format!(
                    "create_attempted = TRUE, \
                     project_started_ms = COALESCE(project_started_ms, {NOW_MS})"
                ),
                &[],
            )
        })
    }

    fn set_project(&self, id: ShootId, uuid: &str) -> Result<()> {
        self.step(id, |t| {
            move_shoot(t, id, ShootState::Uploading, "project_uuid = $3", &[&uuid])
        })
    }

    fn update_file_size(&self, id: ShootId, upload_name: &str, size: u64) -> Result<()> {
        self.step(id, |t| {
            t.execute(
                "UPDATE files SET size = $3 WHERE shoot_id = $1 AND upload_name = $2",
                &[&id, &upload_name, &(size as i64)],
            )?;
            Ok(())
        })
    }

    fn forget_file(
        &self,
        id: ShootId,
        upload_name: &str,
        left_out_because: Option<&str>,
    ) -> Result<()> {
        self.step(id, |t| {
            if let Some(reason) = left_out_because {
                t.execute(
                    "INSERT INTO not_sent (folder_id, folder, file, reason, seen_ms) \
                     SELECT s.folder_id, s.folder, f.relative, $3, $4 FROM files f \
                     JOIN shoots s ON s.id = f.shoot_id \
                     WHERE f.shoot_id = $1 AND f.upload_name = $2 AND NOT f.uploaded \
                     ON CONFLICT (folder_id, folder, file) \
                     DO UPDATE SET reason = excluded.reason, seen_ms = excluded.seen_ms",
                    &[&id, &upload_name, &reason, &now_ms()],
                )?;
            }
            t.execute(
                "DELETE FROM files WHERE shoot_id = $1 AND upload_name = $2 AND NOT uploaded",
                &[&id, &upload_name],
            )?;
            Ok(())
        })
    }

    fn mark_uploaded(&self, id: ShootId, upload_name: &str) -> Result<()> {
        self.step(id, |t| {
            t.execute(
                "UPDATE files SET uploaded = TRUE WHERE shoot_id = $1 AND upload_name = $2",
                &[&id, &upload_name],
            )?;
            Ok(())
        })
    }

    fn advance(&self, id: ShootId, to: ShootState) -> Result<()> {
        self.step(id, |t| {
            move_shoot(t, id, to, "last_error = NULL, failure = NULL", &[])
        })
    }

    fn mark_edit_sent(&self, id: ShootId) -> Result<()> {
        self.step(id, |t| touch(t, id, "edit_sent = TRUE", &[]))
    }

    fn output_intents(&self, id: ShootId, intents: &[(String, PathBuf)]) -> Result<()> {
        let mut inside = Vec::new();
        for (file_name, path) in intents {
            let (_, within) = self.places.inside_outbox(path).ok_or_else(|| {
                crate::journal::JournalError::Shared(format!(
                    "the output {} is in no outbox of the config",
                    path.display()
                ))
            })?;
            inside.push((file_name, text(within)));
        }
        self.step(id, |t| {
            for (file_name, within) in &inside {
                t.execute(
                    "INSERT INTO outputs (shoot_id, file_name, path_inside, placed) \
                     VALUES ($1, $2, $3, FALSE) ON CONFLICT (shoot_id, file_name) \
                     DO UPDATE SET path_inside = excluded.path_inside, placed = FALSE",
                    &[&id, file_name, within],
                )?;
            }
            Ok(())
        })
    }

    fn outputs_placed(&self, id: ShootId, placed: &[PlacedOutput]) -> Result<()> {
        self.step(id, |t| {
            for output in placed {
                let (dev, ino) = identity_columns(output.identity);
                t.execute(
                    "UPDATE outputs SET placed = TRUE, placed_by = $3, dev = $4, ino = $5, \
                     stamp = $6 WHERE shoot_id = $1 AND file_name = $2",
                    &[
                        &id,
                        &output.file_name,
                        &self.agent,
                        &dev,
                        &ino,
                        &output.stamp,
                    ],
                )?;
            }
            Ok(())
        })
    }

    fn delivered_outputs(&self, at: Option<&[PathBuf]>) -> Result<Vec<Delivered>> {
        let delivered = format!(
            "SELECT {OUTPUT_COLUMNS}, s.id, s.project_uuid FROM outputs o \
             JOIN shoots s ON s.id = o.shoot_id \
             WHERE s.state = 'done' AND o.placed AND s.project_uuid IS NOT NULL"
        );
        let rows = self.link.with(|client| match at {
            None => Ok(client.query(&delivered, &[])?),
            Some(paths) => {
                let statement = client.prepare(&format!(
                    "{delivered} AND s.folder_id = $1 AND o.path_inside = $2"
                ))?;
                let mut rows = Vec::new();
                // A path in no outbox of this config is no output of it.
                for (folder_id, inside) in paths.iter().filter_map(|p| self.places.inside_outbox(p))
                {
                    rows.extend(client.query(&statement, &[&folder_id, &text(inside)])?);
                }
                Ok(rows)
            }
        })?;
        Ok(rows
            .iter()
            .map(|row| {
                let (inbox, _) = self.places.local(row.get(6));
                Delivered {
                    output: self.output_from_row(row),
                    shoot: row.get(7),
                    inbox,
                    project_uuid: row.get(8),
                }
            })
            .collect())
    }

    fn record_touchup(
        &self,
        id: ShootId,
        file_name: &str,
        stamp: &str,
        hash: Option<&str>,
        pending: bool,
    ) -> Result<()> {
        // A finished shoot is nobody's claim: any agent of the studio may record it.
        self.link.with(|client| {
            client.execute(
                "UPDATE outputs SET stamp = $3, synced_hash = COALESCE($4, synced_hash), \
                 sync_pending = $5 WHERE shoot_id = $1 AND file_name = $2",
                &[&id, &file_name, &stamp, &hash, &pending],
            )?;
            Ok(())
        })
    }

    fn hold(&self, id: ShootId, reason: &str) -> Result<()> {
        self.step(id, |t| {
            move_shoot(t, id, ShootState::Held, "last_error = $3", &[&reason])
        })
    }

    fn fail(&self, id: ShootId, kind: FailureKind, reason: &str) -> Result<()> {
        self.step(id, |t| {
            move_shoot(
                t,
                id,
                ShootState::Failed,
                "last_error = $3, failure = $4",
                &[&reason, &kind.as_str()],
            )
        })
    }

    fn note(&self, id: ShootId, note: Option<&str>) -> Result<()> {
        self.step(id, |t| touch(t, id, "last_error = $2", &[&note]))
    }

    fn finish(&self, id: ShootId, problems: &[String]) -> Result<()> {
        let problems = problems_text(problems);
        self.step(id, |t| {
            move_shoot(
                t,
                id,
                ShootState::Done,
                "last_error = NULL, failure = NULL, problems = $3",
                &[&problems],
            )
        })
    }
}
