//! The shared journal in each of its roles.

mod controls;
mod queue;
mod steps;
mod view;

use std::collections::{HashMap, HashSet};
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
use crate::journal::{
    Arrival, Delivered, FolderMark, PlacedOutput, ShootsPage, ShootsWanted, Switch,
};
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
