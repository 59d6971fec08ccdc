//! What views read: status, the tray and the dashboard.

use super::*;

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

    fn shoots(&self, wanted: &ShootsWanted<'_>) -> Result<ShootsPage> {
        // Each folder once, with its newest project and whether any is not done.
        const FOLDERS: &str = "WITH folders AS (\
             SELECT folder_id, folder, MAX(id) AS newest, BOOL_OR(state <> 'done') AS open \
             FROM shoots WHERE ($1::TEXT IS NULL OR folder = $1) \
             AND ($2::TEXT IS NULL OR strpos(lower(folder), lower($2)) > 0) \
             GROUP BY folder_id, folder)";
        let (limit, offset) = wanted.limit_and_offset();
        let (folder, search) = (wanted.folder, wanted.search);
        let (total, rows) = self.link.with(|client| {
            let total: i64 = client
                .query_one(
                    &format!("{FOLDERS} SELECT COUNT(*) FROM folders WHERE NOT ($3 AND open)"),
                    &[&folder, &search, &wanted.unfinished],
                )?
                .get(0);
            let rows = client.query(
                &format!(
                    "{FOLDERS}, listed AS (\
                     SELECT folder_id, folder FROM folders WHERE $3 AND open \
                     UNION ALL (SELECT folder_id, folder FROM folders \
                     WHERE NOT ($3 AND open) ORDER BY newest DESC LIMIT $4 OFFSET $5)) \
                     SELECT {SHOOT_COLUMNS}, \
                     (SELECT COUNT(*) FROM files f WHERE f.shoot_id = s.id), \
                     (SELECT COUNT(*) FROM files f WHERE f.shoot_id = s.id AND f.uploaded), \
                     (SELECT COUNT(*) FROM outputs o WHERE o.shoot_id = s.id AND o.placed) \
                     FROM shoots s WHERE (folder_id, folder) IN (SELECT folder_id, folder FROM listed) \
                     ORDER BY id DESC"
                ),
                &[&folder, &search, &wanted.unfinished, &limit, &offset],
            )?;
            Ok((total, rows))
        })?;
        let now = now_ms();
        let counts = super::super::SHOOT_COLUMN_COUNT;
        let rows = rows
            .iter()
            .map(|row| {
                Ok(ShootSummary {
                    shoot: self.shoot_from_row(row, now)?,
                    files: row.get::<_, i64>(counts) as u64,
                    uploaded: row.get::<_, i64>(counts + 1) as u64,
                    outputs: row.get::<_, i64>(counts + 2) as u64,
                })
            })
            .collect::<Result<_>>()?;
        Ok(ShootsPage {
            rows,
            paged_total: total as usize,
        })
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
