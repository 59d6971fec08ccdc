//! The shared journal in each of its roles.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::link::Failure;
use super::schema::NOW_MS;
use super::{PgJournal, SHOOT_COLUMNS, fenced, move_shoot, text, touch};
use crate::files::overlap::FileIdentity;
use crate::journal::records::{GoOn, kind_text, problems_text};
use crate::journal::{
    AgentSeen, FailureKind, FileRecord, JournalControls, JournalView, NotSent, OutputRecord,
    Result, RetryScope, ShootId, ShootQueue, ShootRecord, ShootState, ShootSteps, ShootSummary,
    Spend, now_ms, project_name,
};
use crate::journal::{Delivered, Switch};
use crate::shoot::Batch;

use crate::journal::records::{identity_columns, identity_from};

/// Shoots in `state` (of those `which` names), oldest first, locked for the transaction.
fn shoots_in(
    journal: &PgJournal,
    client: &mut impl postgres::GenericClient,
    state: ShootState,
    which: RetryScope<'_>,
) -> std::result::Result<Vec<ShootRecord>, Failure> {
    let (folder, id) = which.filters();
    let rows = client.query(
        &format!(
            "SELECT {SHOOT_COLUMNS} FROM shoots WHERE state = $1 \
             AND ($2::TEXT IS NULL OR folder = $2) AND ($3::BIGINT IS NULL OR id = $3) \
             ORDER BY id FOR UPDATE"
        ),
        &[&state.as_str(), &folder, &id],
    )?;
    journal.shoots_from_rows(&rows).map_err(Failure::Journal)
}

impl PgJournal {
    /// A read of shoots: `query` selects `SHOOT_COLUMNS`.
    fn read_shoots(
        &self,
        query: &str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<Vec<ShootRecord>> {
        let rows = self.link.with(|client| Ok(client.query(query, params)?))?;
        self.shoots_from_rows(&rows)
    }

    /// A write of one shoot's step, only while this agent's lease on it holds.
    fn step(
        &self,
        id: ShootId,
        write: impl FnOnce(&mut postgres::Transaction<'_>) -> std::result::Result<(), Failure> + Send,
    ) -> Result<()> {
        self.link
            .with(|client| fenced(client, id, &self.session, write))
    }
}

impl JournalView for PgJournal {
    fn shoot(&self, id: ShootId) -> Result<ShootRecord> {
        self.read_shoots(
            &format!("SELECT {SHOOT_COLUMNS} FROM shoots WHERE id = $1"),
            &[&id],
        )?
        .pop()
        .ok_or(crate::journal::JournalError::NoSuchShoot(id))
    }

    fn files(&self, id: ShootId) -> Result<Vec<FileRecord>> {
        let rows = self.link.with(|client| {
            Ok(client.query(
                "SELECT relative, upload_name, size, uploaded, dev, ino FROM files WHERE shoot_id = $1 \
                 ORDER BY upload_name",
                &[&id],
            )?)
        })?;
        Ok(rows
            .iter()
            .map(|row| FileRecord {
                relative: PathBuf::from(row.get::<_, String>(0)),
                upload_name: row.get(1),
                size: row.get::<_, i64>(2) as u64,
                uploaded: row.get(3),
                identity: identity_from(row.get(4), row.get(5)),
            })
            .collect())
    }

    fn outputs(&self, id: ShootId) -> Result<Vec<OutputRecord>> {
        let rows = self.link.with(|client| {
            Ok(client.query(
                &format!(
                    "SELECT {OUTPUT_COLUMNS} FROM outputs o \
                     JOIN shoots s ON s.id = o.shoot_id WHERE o.shoot_id = $1"
                ),
                &[&id],
            )?)
        })?;
        Ok(rows.iter().map(|row| self.output_from_row(row)).collect())
    }

    fn summaries(&self, newest: Option<usize>) -> Result<Vec<ShootSummary>> {
        let limit = newest.map_or(i64::MAX, |n| n as i64);
        let rows = self.link.with(|client| {
            Ok(client.query(
                &format!(
                    "SELECT {SHOOT_COLUMNS}, \
                     (SELECT COUNT(*) FROM files f WHERE f.shoot_id = s.id), \
                     (SELECT COUNT(*) FROM files f WHERE f.shoot_id = s.id AND f.uploaded), \
                     (SELECT COUNT(*) FROM outputs o WHERE o.shoot_id = s.id AND o.placed) \
                     FROM shoots s ORDER BY id DESC LIMIT $1"
                ),
                &[&limit],
            )?)
        })?;
        let now = now_ms();
        let counts = super::SHOOT_COLUMN_COUNT;
        rows.iter()
            .map(|row| {
                Ok(ShootSummary {
                    shoot: self.shoot_from_row(row, now)?,
                    files: row.get::<_, i64>(counts) as u64,
                    uploaded: row.get::<_, i64>(counts + 1) as u64,
                    outputs: row.get::<_, i64>(counts + 2) as u64,
                })
            })
            .collect()
    }

    fn count_in(&self, state: ShootState) -> Result<usize> {
        let count: i64 = self.link.with(|client| {
            Ok(client
                .query_one(
                    "SELECT COUNT(*) FROM shoots WHERE state = $1",
                    &[&state.as_str()],
                )?
                .get(0))
        })?;
        Ok(count as usize)
    }

    fn not_sent(&self) -> Result<Vec<NotSent>> {
        let rows = self.link.with(|client| {
            Ok(client.query(
                "SELECT folder, file, reason, seen_ms FROM not_sent \
                 ORDER BY seen_ms DESC, folder, file",
                &[],
            )?)
        })?;
        Ok(rows
            .iter()
            .map(|row| NotSent {
                folder: row.get(0),
                file: row.get(1),
                reason: row.get(2),
                seen_ms: row.get(3),
            })
            .collect())
    }

    fn spend_since(&self, since_ms: i64, inbox: &Path, folder: &str) -> Result<Spend> {
        let folder_id = self.places.id_of_inbox(inbox)?;
        let row = self.link.with(|client| {
            Ok(client.query_one(
                "SELECT \
                   (SELECT COUNT(*) FROM files f JOIN shoots s ON s.id = f.shoot_id \
                      WHERE s.project_started_ms >= $1), \
                   (SELECT COUNT(*) FROM shoots WHERE project_started_ms >= $1 AND follow_up \
                      AND folder_id = $2 AND folder = $3)",
                &[&since_ms, &folder_id, &folder],
            )?)
        })?;
        Ok(Spend {
            photos: row.get::<_, i64>(0) as u64,
            follow_ups: row.get::<_, i64>(1) as u64,
        })
    }

    fn switch(&self, switch: Switch) -> Result<bool> {
        let key = switch.key(Some(&self.agent));
        let value: Option<String> = self.link.with(|client| {
            Ok(client
                .query_opt(
                    "SELECT value FROM settings WHERE key = $1",
                    &[&key.as_ref()],
                )?
                .map(|row| row.get(0)))
        })?;
        Ok(value.is_some_and(|v| v == "true"))
    }

    fn agents(&self) -> Result<Vec<AgentSeen>> {
        let rows = self.link.with(|client| {
            Ok(client.query(
                &format!(
                    "SELECT a.name, a.pid, a.version, a.started_ms, a.seen_ms, \
                     (SELECT COUNT(*) FROM shoots s WHERE s.claim_token = a.session \
                        AND s.lease_until_ms > {NOW_MS} AND s.state IN ({})) \
                     FROM agents a ORDER BY a.name, a.started_ms",
                    ShootState::active_sql()
                ),
                &[],
            )?)
        })?;
        Ok(rows
            .iter()
            .map(|row| AgentSeen {
                name: row.get(0),
                pid: row.get(1),
                version: row.get(2),
                started_ms: row.get(3),
                seen_ms: row.get(4),
                holding: row.get(5),
            })
            .collect())
    }

    fn change_mark(&self) -> Result<i64> {
        self.link.with(|client| {
            Ok(client
                .query_one("SELECT last_value FROM journal_changes", &[])?
                .get(0))
        })
    }
}

impl ShootQueue for PgJournal {
    fn record_batches(
        &self,
        inbox: &Path,
        folder: &str,
        outbox: &Path,
        batches: &[Batch],
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
            let (follow_up, first_batch): (bool, i64) = (row.get(0), row.get(1));
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
                             options, state, project_name, created_ms, updated_ms, follow_up) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, {NOW_MS}, {NOW_MS}, $9) \
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

    fn output_intent(&self, id: ShootId, file_name: &str, path: &Path) -> Result<()> {
        let inside = self
            .places
            .inside_outbox(path)
            .map(|(_, inside)| text(inside))
            .ok_or_else(|| {
                crate::journal::JournalError::Shared(format!(
                    "the output {} is in no outbox of the config",
                    path.display()
                ))
            })?;
        self.step(id, |t| {
            t.execute(
                "INSERT INTO outputs (shoot_id, file_name, path_inside, placed) \
                 VALUES ($1, $2, $3, FALSE) ON CONFLICT (shoot_id, file_name) \
                 DO UPDATE SET path_inside = excluded.path_inside, placed = FALSE",
                &[&id, &file_name, &inside],
            )?;
            Ok(())
        })
    }

    fn output_placed(
        &self,
        id: ShootId,
        file_name: &str,
        identity: Option<FileIdentity>,
        stamp: Option<&str>,
    ) -> Result<()> {
        let (dev, ino) = identity_columns(identity);
        self.step(id, |t| {
            t.execute(
                "UPDATE outputs SET placed = TRUE, placed_by = $3, dev = $4, ino = $5, \
                 stamp = $6 WHERE shoot_id = $1 AND file_name = $2",
                &[&id, &file_name, &self.agent, &dev, &ino, &stamp],
            )?;
            Ok(())
        })
    }

    fn delivered_outputs(&self) -> Result<Vec<Delivered>> {
        let rows = self.link.with(|client| {
            Ok(client.query(
                &format!(
                    "SELECT {OUTPUT_COLUMNS}, s.id, s.project_uuid FROM outputs o \
                     JOIN shoots s ON s.id = o.shoot_id \
                     WHERE s.state = 'done' AND o.placed AND s.project_uuid IS NOT NULL"
                ),
                &[],
            )?)
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

impl JournalControls for PgJournal {
    fn set_switch(&self, switch: Switch, on: bool) -> Result<()> {
        let value = if on { "true" } else { "false" };
        let key = switch.key(Some(&self.agent));
        self.link.with(|client| {
            client.execute(
                "INSERT INTO settings (key, value) VALUES ($1, $2) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                &[&key.as_ref(), &value],
            )?;
            Ok(())
        })
    }

    fn retry(&self, which: RetryScope<'_>) -> Result<usize> {
        self.go_on(ShootState::Failed, which, ShootRecord::retry)
    }

    fn send_anyway(&self, which: RetryScope<'_>) -> Result<usize> {
        self.go_on(ShootState::Held, which, |_| GoOn::send_anyway())
    }
}

impl PgJournal {
    /// Lets the shoots `which` names that are in state `from` go on, each as `how` says.
    fn go_on(
        &self,
        from: ShootState,
        which: RetryScope<'_>,
        how: impl Fn(&ShootRecord) -> GoOn + Sync,
    ) -> Result<usize> {
        self.link.with(|client| {
            let mut transaction = client.transaction()?;
            let shoots = shoots_in(self, &mut transaction, from, which)?;
            for shoot in &shoots {
                let go_on = how(shoot);
                let set = go_on.set_columns("$3");
                let name: Vec<&(dyn postgres::types::ToSql + Sync)> =
                    go_on.new_project.iter().map(|n| n as _).collect();
                move_shoot(&mut transaction, shoot.id, go_on.to, &set, &name)?;
                for statement in go_on.forget_sent("$1") {
                    transaction.execute(statement.as_str(), &[&shoot.id])?;
                }
            }
            transaction.commit()?;
            Ok(shoots.len())
        })
    }
}

/// An output's columns, `o` the outputs and `s` its shoot; the shoot's folder id last.
const OUTPUT_COLUMNS: &str =
    "o.file_name, o.path_inside, o.placed, o.stamp, o.synced_hash, o.sync_pending, s.folder_id";

impl PgJournal {
    /// An output from `OUTPUT_COLUMNS`, its path on this machine.
    fn output_from_row(&self, row: &postgres::Row) -> OutputRecord {
        let (_, outbox) = self.places.local(row.get(6));
        OutputRecord {
            file_name: row.get(0),
            path: outbox.join(row.get::<_, String>(1)),
            placed: row.get(2),
            stamp: row.get(3),
            synced_hash: row.get(4),
            sync_pending: row.get(5),
        }
    }
}
