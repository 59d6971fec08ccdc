//! The SQLite journal in each of its roles.

mod controls;
mod queue;
mod steps;
mod view;

use std::collections::{HashMap, HashSet};
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
use crate::journal::{
    Arrival, Delivered, FolderMark, PlacedOutput, ShootsPage, ShootsWanted, Switch,
};
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
