//! This agent's claims in a studio's shared journal: the heartbeat that renews them,
//! until when they are sure to be its own, and whether the journal can be reached.

use std::time::{Duration, Instant};

use crate::events::{EventKind, Events, WaitCause};
use crate::journal::{self, JournalError, ShootId};

/// A heartbeat's answer: which of the shoots it renewed are still this agent's.
pub(super) struct Beat {
    pub(super) started: Instant,
    pub(super) drives: Vec<ShootId>,
    pub(super) outcome: journal::Result<Vec<ShootId>>,
}

/// This agent's claims in a shared journal, and whether the journal can be reached.
#[derive(Default)]
pub(super) struct Claims {
    /// A heartbeat is under way (one at a time).
    pub(super) beating: bool,
    /// Until when every claim this agent holds is sure to be its: the start of the last
    /// heartbeat that got through, plus the lease.
    pub(super) valid_until: Option<Instant>,
    /// Why the journal cannot be reached, once told (until it is back).
    pub(super) away: Option<String>,
}

impl Claims {
    /// Resolves shortly before the claims may run out (never without a deadline).
    pub(super) async fn run_out(&self, lease: Option<Duration>) {
        match (self.valid_until, lease) {
            (Some(until), Some(lease)) => {
                let margin = (lease / 6).min(Duration::from_secs(5));
                tokio::time::sleep_until((until - margin).into()).await;
            }
            _ => std::future::pending().await,
        }
    }

    /// Says once that the studio's journal is away: new work waits for it.
    pub(super) fn journal_lost(&mut self, error: &JournalError, events: &Events) {
        if self.away.is_some() {
            return;
        }
        let reason = format!(
            "{error}. New work waits until it is back; shoots under way stop before \
             another agent could take them over"
        );
        events.emit(
            "",
            None,
            EventKind::Waiting {
                reason: reason.clone(),
                cause: WaitCause::JournalAway,
                retry_at_ms: None,
            },
        );
        self.away = Some(reason);
    }

    /// Says the journal is back, if it was away; returns whether it was.
    pub(super) fn journal_back(&mut self, events: &Events) -> bool {
        let was_away = self.away.take().is_some();
        if was_away {
            events.emit("", None, EventKind::JournalBack);
        }
        was_away
    }
}
