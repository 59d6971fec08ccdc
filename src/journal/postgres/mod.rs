//! The studio's journal in PostgreSQL, shared by several agents. Shoots are stored by
//! hot-folder id and path inside it (each machine maps them to its own mount points).
//! An agent drives a shoot only while it holds a lease on it: claimed with
//! `FOR UPDATE SKIP LOCKED`, renewed by its heartbeat, and checked under a row lock by
//! every step it records, so an agent whose lease ran out records nothing more.

mod link;
mod roles;
mod schema;

use std::path::{Path, PathBuf};
use std::time::Duration;

use postgres::Row;
use postgres::types::ToSql;

use super::records::{parse_kind, parse_problems};
use super::{FailureKind, JournalError, Result, SharedPlace, ShootId, ShootRecord, ShootState};
use link::Link;
use schema::NOW_MS;

pub(super) struct PgJournal {
    link: Link,
    places: Places,
    /// This agent's name, shown as the holder of its shoots.
    agent: String,
    /// This run of the agent: claims are its, so a restarted agent of the same name
    /// never mistakes its previous run's claims for live ones.
    session: String,
    lease: Duration,
}

impl PgJournal {
    pub(super) fn open(place: &SharedPlace) -> Result<PgJournal> {
        let link = Link::new(&place.settings, schema_ready)?;
        // A database that is away now may come back (the agent waits for it); one that
        // refuses this agent will not, and is said now.
        match link.with(|_| Ok(())) {
            Ok(()) | Err(JournalError::Unreachable(_)) => {}
            Err(error) => return Err(error),
        }
        Ok(PgJournal {
            link,
            places: Places {
                folders: place.folders.clone(),
            },
            agent: place.settings.agent_name.clone(),
            session: uuid::Uuid::new_v4().simple().to_string(),
            lease: Duration::from_secs(place.settings.lease_seconds),
        })
    }
}

/// Checks the database is ours (or empty) and brings its schema up to date; refuses one
/// made by a newer version.
fn schema_ready(client: &mut postgres::Client) -> std::result::Result<(), link::Failure> {
    let mut transaction = client.transaction()?;
    transaction.execute(
        "SELECT pg_advisory_xact_lock($1)",
        &[&schema::MIGRATION_LOCK],
    )?;
    let ours: bool = transaction
        .query_one("SELECT to_regclass('imagen_sync_schema') IS NOT NULL", &[])?
        .get(0);
    if !ours {
        let others: i64 = transaction
            .query_one(
                "SELECT COUNT(*) FROM information_schema.tables \
                 WHERE table_schema = current_schema()",
                &[],
            )?
            .get(0);
        if others > 0 {
            return Err(link::Failure::Refused(
                "this database holds tables that are not imagen-sync's; give the studio's \
                 journal a database of its own (createdb imagen_studio)"
                    .into(),
            ));
        }
        transaction.batch_execute(
            "CREATE TABLE imagen_sync_schema (version BIGINT NOT NULL); \
             INSERT INTO imagen_sync_schema VALUES (0);",
        )?;
    }
    let found: i64 = transaction
        .query_one("SELECT version FROM imagen_sync_schema", &[])?
        .get(0);
    let known = schema::MIGRATIONS.len() as i64;
    if found > known {
        return Err(link::Failure::Journal(JournalError::Newer { found, known }));
    }
    for migration in &schema::MIGRATIONS[found as usize..] {
        transaction.batch_execute(migration)?;
    }
    transaction.execute("UPDATE imagen_sync_schema SET version = $1", &[&known])?;
    transaction.commit()?;
    Ok(())
}

/// The hot folders this agent knows, by id: how stored places become local paths.
struct Places {
    folders: Vec<(String, PathBuf, PathBuf)>,
}

impl Places {
    fn ids(&self) -> Vec<String> {
        self.folders.iter().map(|(id, _, _)| id.clone()).collect()
    }

    /// The id of the hot folder whose inbox is `inbox`.
    fn id_of_inbox(&self, inbox: &Path) -> Result<String> {
        self.folders
            .iter()
            .find(|(_, known, _)| known == inbox)
            .map(|(id, _, _)| id.clone())
            .ok_or_else(|| {
                JournalError::Shared(format!(
                    "the inbox {} has no id in the config",
                    inbox.display()
                ))
            })
    }

    /// The hot folder and the path inside its outbox that `path` is, if it is in one.
    fn inside_outbox<'p>(&self, path: &'p Path) -> Option<(&str, &'p Path)> {
        self.folders
            .iter()
            .find_map(|(id, _, outbox)| Some((id.as_str(), path.strip_prefix(outbox).ok()?)))
    }

    /// The local inbox and outbox of a stored hot folder id; a folder this agent does
    /// not have is shown by its id.
    fn local(&self, id: &str) -> (PathBuf, PathBuf) {
        match self.folders.iter().find(|(known, _, _)| known == id) {
            Some((_, inbox, outbox)) => (inbox.clone(), outbox.clone()),
            None => {
                let elsewhere = PathBuf::from(format!("[{id}]"));
                (elsewhere.clone(), elsewhere)
            }
        }
    }
}

fn text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

const SHOOT_COLUMNS: &str = "id, folder_id, folder, batch, kind, outbox_inside, options, state, \
     project_name, project_uuid, create_attempted, last_error, created_ms, updated_ms, edit_sent, \
     follow_up, allow_over_limit, failure, holder, lease_until_ms, problems, live";
/// How many columns `SHOOT_COLUMNS` reads (the summaries' counts come after them).
const SHOOT_COLUMN_COUNT: usize = 22;

/// A value the journal holds that this version cannot read: a loud error.
fn unreadable(what: &str, value: &str) -> JournalError {
    JournalError::Shared(format!(
        "the studio's journal holds an unknown {what} {value:?}: is an agent of a newer \
         imagen-sync writing to it? Upgrade this one"
    ))
}

impl PgJournal {
    fn shoot_from_row(&self, row: &Row, now_ms: i64) -> Result<ShootRecord> {
        let folder_id: String = row.get(1);
        let folder: String = row.get(2);
        let kind: String = row.get(4);
        let outbox_inside: String = row.get(5);
        let options: String = row.get(6);
        let state: String = row.get(7);
        let failure: Option<String> = row.get(17);
        let lease_until: Option<i64> = row.get(19);
        let state = ShootState::parse(&state).ok_or_else(|| unreadable("shoot state", &state))?;
        let (inbox, outbox) = self.places.local(&folder_id);
        Ok(ShootRecord {
            id: row.get(0),
            inbox,
            outbox: outbox.join(outbox_inside),
            folder,
            batch: row.get(3),
            kind: parse_kind(&kind).ok_or_else(|| unreadable("photo kind", &kind))?,
            options: serde_json::from_str(&options)
                .map_err(|_| unreadable("set of edit options", &options))?,
            state,
            project_name: row.get(8),
            project_uuid: row.get(9),
            create_attempted: row.get(10),
            last_error: row.get(11),
            problems: parse_problems(row.get(20)),
            created_ms: row.get(12),
            updated_ms: row.get(13),
            edit_sent: row.get(14),
            follow_up: row.get(15),
            live: row.get(21),
            allow_over_limit: row.get(16),
            failure: match failure {
                None => None,
                Some(text) => Some(
                    FailureKind::parse(&text).ok_or_else(|| unreadable("failure kind", &text))?,
                ),
            },
            holder: row
                .get::<_, Option<String>>(18)
                .filter(|_| state.is_active() && lease_until.is_some_and(|until| until > now_ms)),
        })
    }

    fn shoots_from_rows(&self, rows: &[Row]) -> Result<Vec<ShootRecord>> {
        let now = super::now_ms();
        rows.iter()
            .map(|row| self.shoot_from_row(row, now))
            .collect()
    }
}

/// Runs `write` on shoot `id` only while this agent's lease on it holds: the shoot's row
/// stays locked until the write commits, so no other agent can claim it in between.
fn fenced<T>(
    client: &mut postgres::Client,
    id: ShootId,
    session: &str,
    write: impl FnOnce(&mut postgres::Transaction<'_>) -> std::result::Result<T, link::Failure>,
) -> std::result::Result<T, link::Failure> {
    let mut transaction = client.transaction()?;
    let row = transaction.query_opt(
        &format!(
            "SELECT claim_token = $2 AND lease_until_ms > {NOW_MS} FROM shoots \
             WHERE id = $1 FOR UPDATE"
        ),
        &[&id, &session],
    )?;
    match row.map(|row| row.get::<_, Option<bool>>(0)) {
        None => return Err(link::Failure::Journal(JournalError::NoSuchShoot(id))),
        Some(Some(true)) => {}
        Some(_) => return Err(link::Failure::Journal(JournalError::LeaseLost(id))),
    }
    let value = write(&mut transaction)?;
    transaction.commit()?;
    Ok(value)
}

/// Moves shoot `id` to `to` (with more columns in `set`, from `$3` on bound to `values`)
/// if [`ShootState::may_become`] allows it from where it is.
fn move_shoot(
    client: &mut impl postgres::GenericClient,
    id: ShootId,
    to: ShootState,
    set: &str,
    values: &[&(dyn ToSql + Sync)],
) -> std::result::Result<(), link::Failure> {
    let state = to.as_str();
    let mut params: Vec<&(dyn ToSql + Sync)> = vec![&id, &state];
    params.extend_from_slice(values);
    let changed = client.execute(
        &format!(
            "UPDATE shoots SET state = $2, {set}, updated_ms = {NOW_MS} \
             WHERE id = $1 AND state IN ({})",
            ShootState::sources_sql(to)
        ),
        &params,
    )?;
    if changed == 1 {
        return Ok(());
    }
    let from = client.query_opt("SELECT state FROM shoots WHERE id = $1", &[&id])?;
    let error = match from.map(|row| row.get::<_, String>(0)) {
        None => JournalError::NoSuchShoot(id),
        Some(from) => match ShootState::parse(&from) {
            Some(from) => JournalError::IllegalMove { id, from, to },
            None => unreadable("shoot state", &from),
        },
    };
    Err(link::Failure::Journal(error))
}

/// Updates shoot `id`'s columns (`set`, from `$2` on bound to `values`).
fn touch(
    client: &mut impl postgres::GenericClient,
    id: ShootId,
    set: &str,
    values: &[&(dyn ToSql + Sync)],
) -> std::result::Result<(), link::Failure> {
    let mut params: Vec<&(dyn ToSql + Sync)> = vec![&id];
    params.extend_from_slice(values);
    let changed = client.execute(
        &format!("UPDATE shoots SET {set}, updated_ms = {NOW_MS} WHERE id = $1"),
        &params,
    )?;
    if changed == 0 {
        return Err(link::Failure::Journal(JournalError::NoSuchShoot(id)));
    }
    Ok(())
}

impl Places {
    /// The path of a shoot's outbox inside its hot folder's outbox, as stored.
    fn outbox_inside(&self, id: &str, outbox: &Path) -> String {
        let (_, root) = self.local(id);
        text(outbox.strip_prefix(&root).unwrap_or(outbox))
    }
}
