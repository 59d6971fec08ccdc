//! The scheduler's side: shoots recorded, claimed, held and let go.

use super::*;

impl ShootQueue for PgJournal {
    fn record_batches(
        &self,
        inbox: &Path,
        folder: &str,
        outbox: &Path,
        batches: &[Batch],
        arrival: Arrival,
    ) -> Result<Vec<ShootId>> {
        let folder_id = self.places.id_of_inbox(inbox)?;
        let outbox_inside = self.places.outbox_inside(&folder_id, outbox);
        self.link.with(|client| {
            let mut transaction = client.transaction()?;
            // Several agents see a new folder settle at once: one records it, the others
            // find its photos known and record nothing.
            transaction.execute(
                "SELECT pg_advisory_xact_lock(hashtext($1 || '/' || $2))",
                &[&folder_id, &folder],
            )?;
            let known: HashSet<String> = transaction
                .query(
                    "SELECT f.relative FROM files f JOIN shoots s ON s.id = f.shoot_id \
                     WHERE s.folder_id = $1 AND s.folder = $2",
                    &[&folder_id, &folder],
                )?
                .iter()
                .map(|row| row.get(0))
                .collect();
            let row = transaction.query_one(
                "SELECT COUNT(*) > 0, COALESCE(MAX(batch) + 1, 0) FROM shoots \
                 WHERE folder_id = $1 AND folder = $2",
                &[&folder_id, &folder],
            )?;
            let (seen_before, first_batch): (bool, i64) = (row.get(0), row.get(1));
            let live = arrival == Arrival::Live;
            let follow_up = seen_before && !live;
            let fresh: Vec<Batch> = batches
                .iter()
                .map(|batch| Batch {
                    kind: batch.kind,
                    options: batch.options.clone(),
                    photos: batch
                        .photos
                        .iter()
                        .filter(|p| !known.contains(&text(&p.relative)))
                        .cloned()
                        .collect(),
                })
                .filter(|batch| !batch.photos.is_empty())
                .collect();
            let mut ids = Vec::new();
            for (batch_number, batch) in (first_batch..).zip(&fresh) {
                let kind = kind_text(batch.kind);
                let name = project_name(folder, batch_number, &fresh, batch);
                let options = serde_json::to_string(&batch.options).expect("options serialise");
                let id: i64 = transaction
                    .query_one(
                        &format!(
                            "INSERT INTO shoots (folder_id, folder, batch, kind, outbox_inside, \
                             options, state, project_name, created_ms, updated_ms, follow_up, \
                             live) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, {NOW_MS}, {NOW_MS}, $9, $10) \
                             RETURNING id"
                        ),
                        &[
                            &folder_id,
                            &folder,
                            &batch_number,
                            &kind,
                            &outbox_inside,
                            &options,
                            &ShootState::Planned.as_str(),
                            &name,
                            &follow_up,
                            &live,
                        ],
                    )?
                    .get(0);
                for photo in &batch.photos {
                    let (dev, ino) = identity_columns(photo.identity);
                    transaction.execute(
                        "INSERT INTO files (shoot_id, relative, upload_name, size, dev, ino) \
                         VALUES ($1, $2, $3, $4, $5, $6)",
                        &[
                            &id,
                            &text(&photo.relative),
                            &photo.upload_name,
                            &(photo.size as i64),
                            &dev,
                            &ino,
                        ],
                    )?;
                }
                ids.push(id);
            }
            transaction.commit()?;
            Ok(ids)
        })
    }

    fn end_live_shoot(&self, inbox: &Path, folder: &str, through: ShootId) -> Result<bool> {
        let folder_id = self.places.id_of_inbox(inbox)?;
        self.link.with(|client| {
            Ok(client.execute(
                "INSERT INTO live_ends (folder_id, folder, through_id) VALUES ($1, $2, $3) \
                 ON CONFLICT (folder_id, folder) DO UPDATE SET through_id = EXCLUDED.through_id \
                 WHERE live_ends.through_id < EXCLUDED.through_id",
                &[&folder_id, &folder, &through],
            )? > 0)
        })
    }

    fn folder_marks(&self, inbox: &Path) -> Result<HashMap<String, FolderMark>> {
        let folder_id = self.places.id_of_inbox(inbox)?;
        let rows = self.link.with(|client| {
            Ok(client.query(
                "SELECT folder, stamp, print FROM folder_marks WHERE folder_id = $1",
                &[&folder_id],
            )?)
        })?;
        Ok(rows
            .iter()
            .map(|row| {
                let mark = FolderMark {
                    stamp: row.get::<_, i64>(1) as u64,
                    print: row.get::<_, i64>(2) as u64,
                };
                (row.get::<_, String>(0), mark)
            })
            .collect())
    }

    fn record_folder_mark(&self, inbox: &Path, folder: &str, mark: FolderMark) -> Result<()> {
        let folder_id = self.places.id_of_inbox(inbox)?;
        let (stamp, print) = (mark.stamp as i64, mark.print as i64);
        self.link.with(|client| {
            client.execute(
                "INSERT INTO folder_marks (folder_id, folder, stamp, print) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (folder_id, folder) DO UPDATE SET stamp = EXCLUDED.stamp, print = EXCLUDED.print",
                &[&folder_id, &folder, &stamp, &print],
            )?;
            Ok(())
        })
    }

    fn known_files(&self, inbox: &Path, folder: &str) -> Result<HashSet<PathBuf>> {
        let folder_id = self.places.id_of_inbox(inbox)?;
        let rows = self.link.with(|client| {
            Ok(client.query(
                "SELECT f.relative FROM files f JOIN shoots s ON s.id = f.shoot_id \
                 WHERE s.folder_id = $1 AND s.folder = $2",
                &[&folder_id, &folder],
            )?)
        })?;
        Ok(rows
            .iter()
            .map(|row| PathBuf::from(row.get::<_, String>(0)))
            .collect())
    }

    fn is_own_output(&self, path: &Path, identity: Option<FileIdentity>) -> Result<bool> {
        let (folder_id, inside): (Option<String>, Option<String>) = self
            .places
            .inside_outbox(path)
            .map(|(id, inside)| (id.to_owned(), text(inside)))
            .unzip();
        let (dev, ino) = identity_columns(identity);
        // A file's (device, inode) means something only on the machine that placed it.
        self.link.with(|client| {
            Ok(client
                .query_one(
                    "SELECT EXISTS (SELECT 1 FROM outputs o JOIN shoots s ON s.id = o.shoot_id \
                       WHERE $1::TEXT IS NOT NULL AND s.folder_id = $1 AND o.path_inside = $2) \
                     OR EXISTS (SELECT 1 FROM outputs WHERE $3::BIGINT IS NOT NULL \
                       AND dev = $3 AND ino = $4 AND placed_by = $5)",
                    &[&folder_id, &inside, &dev, &ino, &self.agent],
                )?
                .get(0))
        })
    }

    fn record_not_sent(
        &self,
        inbox: &Path,
        folder: &str,
        items: &[(String, String)],
    ) -> Result<()> {
        let folder_id = self.places.id_of_inbox(inbox)?;
        self.link.with(|client| {
            let mut transaction = client.transaction()?;
            transaction.execute(
                "DELETE FROM not_sent WHERE folder_id = $1 AND folder = $2",
                &[&folder_id, &folder],
            )?;
            let now = now_ms();
            for (file, reason) in items {
                transaction.execute(
                    "INSERT INTO not_sent (folder_id, folder, file, reason, seen_ms) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (folder_id, folder, file) \
                     DO UPDATE SET reason = excluded.reason, seen_ms = excluded.seen_ms",
                    &[&folder_id, &folder, file, reason, &now],
                )?;
            }
            transaction.commit()?;
            Ok(())
        })
    }

    fn active_shoots(&self) -> Result<Vec<ShootRecord>> {
        self.read_shoots(
            &format!(
                "SELECT {SHOOT_COLUMNS} FROM shoots WHERE state IN ({}) ORDER BY id",
                ShootState::active_sql()
            ),
            &[],
        )
    }

    fn claim(&self, skip: &[ShootId], up_to: usize) -> Result<Vec<ShootRecord>> {
        let lease_ms = self.lease.as_millis() as i64;
        let (folders, up_to) = (self.places.ids(), up_to as i64);
        self.read_shoots(
            &format!(
                "UPDATE shoots SET holder = $1, claim_token = $2, \
                   lease_until_ms = {NOW_MS} + $3 \
                 WHERE id IN (SELECT id FROM shoots WHERE state IN ({active}) \
                   AND folder_id = ANY($4) AND NOT (id = ANY($5)) \
                   AND (claim_token IS NULL OR claim_token = $2 OR lease_until_ms < {NOW_MS}) \
                   ORDER BY id LIMIT $6 FOR UPDATE SKIP LOCKED) \
                 RETURNING {SHOOT_COLUMNS}",
                active = ShootState::active_sql()
            ),
            &[
                &self.agent,
                &self.session,
                &lease_ms,
                &folders,
                &skip,
                &up_to,
            ],
        )
        .map(|mut claimed| {
            claimed.sort_by_key(|shoot| shoot.id);
            claimed
        })
    }

    fn lease(&self) -> Option<Duration> {
        Some(self.lease)
    }

    fn heartbeat(&self, drives: &[ShootId]) -> Result<Vec<ShootId>> {
        let lease_ms = self.lease.as_millis() as i64;
        let pid = std::process::id() as i64;
        self.link.with(|client| {
            let mut transaction = client.transaction()?;
            transaction.execute(
                &format!(
                    "INSERT INTO agents (session, name, pid, version, started_ms, seen_ms) \
                     VALUES ($1, $2, $3, $4, {NOW_MS}, {NOW_MS}) \
                     ON CONFLICT (session) DO UPDATE SET seen_ms = excluded.seen_ms"
                ),
                &[&self.session, &self.agent, &pid, &env!("CARGO_PKG_VERSION")],
            )?;
            // Agents not heard from for a day are gone.
            transaction.execute(
                &format!("DELETE FROM agents WHERE seen_ms < {NOW_MS} - 86400000"),
                &[],
            )?;
            let held = transaction
                .query(
                    &format!(
                        "UPDATE shoots SET lease_until_ms = {NOW_MS} + $2 \
                         WHERE claim_token = $1 AND id = ANY($3) RETURNING id"
                    ),
                    &[&self.session, &lease_ms, &drives],
                )?
                .iter()
                .map(|row| row.get(0))
                .collect();
            transaction.commit()?;
            Ok(held)
        })
    }

    fn let_go(&self, shoots: &[ShootId]) -> Result<()> {
        self.link.with(|client| {
            client.execute(
                "UPDATE shoots SET lease_until_ms = 0 WHERE claim_token = $1 AND id = ANY($2)",
                &[&self.session, &shoots],
            )?;
            Ok(())
        })
    }

    fn held_shoots(&self) -> Result<Vec<ShootRecord>> {
        self.read_shoots(
            &format!("SELECT {SHOOT_COLUMNS} FROM shoots WHERE state = 'held' ORDER BY id"),
            &[],
        )
    }

    fn release(&self, id: ShootId) -> Result<()> {
        self.link.with(|client| {
            move_shoot(
                client,
                id,
                ShootState::Planned,
                "last_error = NULL, allow_over_limit = FALSE",
                &[],
            )
        })
    }
}
