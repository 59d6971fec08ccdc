//! What a finished worker's outcome does: a shoot done or paused clears its backoff; a
//! retryable failure waits (doubling, capped) and says why; a rejected key holds all
//! work; anything else is recorded as failed, with its kind.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::agent::outbox::OutboxError;
use crate::agent::pipeline::{Context, ShootError};
use crate::api::ApiError;
use crate::events::{EventKind, WaitCause};
use crate::journal::{JournalError, ShootId};

/// Per-shoot backoff after a retryable failure.
pub(super) struct Backoff {
    pub(super) until: Instant,
    failures: u32,
    /// When the first failure of this run of them happened.
    since: Instant,
    /// Imagen could not be reached: the wait ends as soon as it answers again.
    pub(super) until_imagen_answers: bool,
}

impl Backoff {
    /// The next wait after one more failure: `base`, doubling, capped at `max`.
    fn after(previous: Option<&Backoff>, base: Duration, max: Duration) -> Backoff {
        let failures = previous.map_or(0, |b| b.failures + 1);
        let wait = base.saturating_mul(1 << failures.min(16)).min(max);
        Backoff {
            until: Instant::now() + wait,
            failures,
            since: previous.map_or_else(Instant::now, |b| b.since),
            until_imagen_answers: false,
        }
    }
}

/// How long a shoot folder may be gone (renamed and renamed back, a sync client
/// replacing it) before its shoot fails: ten settle times, at least half a minute.
pub(super) fn folder_gone_grace(settle: Duration) -> Duration {
    settle.saturating_mul(10).max(Duration::from_secs(30))
}

pub(super) async fn settle_outcome(
    ctx: &Context,
    id: ShootId,
    outcome: Result<(), ShootError>,
    backoff: &mut HashMap<ShootId, Backoff>,
    auth_blocked: &mut Option<Backoff>,
    folder_gone_grace: Duration,
) {
    let error = match outcome {
        Err(ShootError::Journal(JournalError::LeaseLost(_))) => {
            tracing::warn!(
                id,
                "this agent's claim on the shoot ran out: another agent of the studio goes on with it"
            );
            backoff.remove(&id);
            return;
        }
        Ok(()) | Err(ShootError::Paused) => {
            backoff.remove(&id);
            *auth_blocked = None;
            return;
        }
        // Recorded and told already; `release_held` lets it go on.
        Err(ShootError::Held(_)) => {
            backoff.remove(&id);
            return;
        }
        Err(error) => error,
    };
    let folder = ctx
        .record(move |j| j.shoot(id))
        .await
        .map(|s| s.folder)
        .unwrap_or_default();
    let report_waiting = async |next: &Backoff| {
        let wait = next.until.saturating_duration_since(Instant::now());
        tracing::warn!(
            shoot = folder,
            "{error}; trying again in {} s",
            wait.as_secs().max(1)
        );
        let reason = error.plain();
        let note = crate::journal::reason_with_details(&reason, &error.to_string());
        let _ = ctx.record(move |j| j.note(id, Some(&note))).await;
        let cause = wait_cause(&error);
        let retry_at_ms = crate::journal::now_ms() + wait.as_millis() as i64;
        let waiting = EventKind::Waiting {
            reason,
            cause,
            retry_at_ms: Some(retry_at_ms),
        };
        ctx.events.emit(&folder, Some(id), waiting);
    };
    if let ShootError::Api(ApiError::Unauthorized { .. }) = error {
        // The key is wrong for every shoot: hold all work, not just this one.
        let next = Backoff::after(
            auth_blocked.as_ref(),
            Duration::from_secs(30),
            Duration::from_secs(600),
        );
        report_waiting(&next).await;
        *auth_blocked = Some(next);
        return;
    }
    // A shoot folder gone for a moment comes back; gone for good, the shoot fails.
    let folder_may_return = matches!(error, ShootError::FolderGone(_))
        && backoff
            .get(&id)
            .is_none_or(|b| b.since.elapsed() < folder_gone_grace);
    if error.is_retryable() || folder_may_return {
        let mut next = Backoff::after(
            backoff.get(&id),
            Duration::from_secs(2),
            Duration::from_secs(300),
        );
        next.until_imagen_answers = wait_cause(&error) == WaitCause::Network;
        report_waiting(&next).await;
        backoff.insert(id, next);
        return;
    }
    backoff.remove(&id);
    tracing::warn!(shoot = folder, "{error}");
    let (reason, kind) = (error.plain(), error.failure_kind());
    let recorded_reason = crate::journal::reason_with_details(&reason, &error.to_string());
    let recorded = ctx
        .record(move |j| j.fail(id, kind, &recorded_reason))
        .await;
    if let Err(journal_error) = recorded {
        tracing::error!(%journal_error, "cannot record a failure");
    }
    ctx.events
        .emit(&folder, Some(id), EventKind::Failed { reason, kind });
}

/// What a retryable failure says about the world outside the shoot.
fn wait_cause(error: &ShootError) -> WaitCause {
    let api_error = match error {
        ShootError::Api(error) | ShootError::Outbox(OutboxError::Download(error)) => error,
        _ => return WaitCause::Other,
    };
    match api_error {
        ApiError::Network { .. } => WaitCause::Network,
        ApiError::Unauthorized { .. } => WaitCause::KeyRejected,
        ApiError::RateLimited { .. } | ApiError::Server { .. } => WaitCause::Server,
        _ => WaitCause::Other,
    }
}
