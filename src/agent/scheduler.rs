//! The scheduler: the agent's main loop for one config. It feeds settled folders to
//! intake, drives active shoots through the pipeline with bounded concurrency, retries
//! failures with backoff or records them (with their kind), lets held shoots go when
//! the spend guard allows, and follows pause (kept in the journal, so it survives
//! restarts and reaches the CLI's and the dashboard's changes).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use tokio::sync::{mpsc, watch};
use tokio::task::{AbortHandle, JoinSet};

use super::AgentOptions;
use super::intake::Intake;
use super::outbox::OutboxError;
use super::pipeline::{self, Context, Limits, ShootError};
use super::watch::Found;
use crate::api::{ApiError, Client};
use crate::config::Config;
use crate::events::{EventKind, Events, WaitCause};
use crate::journal::{self, Journal, JournalError, ShootId, ShootQueue};

/// Per-shoot backoff after a retryable failure.
struct Backoff {
    until: Instant,
    failures: u32,
    /// When the first failure of this run of them happened.
    since: Instant,
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
        }
    }
}

/// How long a shoot folder may be gone (renamed and renamed back, a sync client
/// replacing it) before its shoot fails: ten settle times, at least half a minute.
fn folder_gone_grace(settle: Duration) -> Duration {
    settle.saturating_mul(10).max(Duration::from_secs(30))
}

/// Runs until `shutdown` turns true (or, with `exit_when_idle`, when all work is done).
pub async fn run(
    config: Config,
    client: Client,
    journal: Arc<dyn Journal>,
    events: Events,
    options: AgentOptions,
    gate: super::upload_hold::UploadGate,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    // An inbox is never made here: a missing one is an unmounted drive, waited for
    // (the watcher says so), not replaced by an empty local folder.
    for folder in &config.folders {
        let outbox = &folder.outbox;
        std::fs::create_dir_all(outbox).with_context(|| {
            format!(
                "cannot make the outbox {}: check that its drive is connected and that \
                 you may write there, or choose another folder",
                outbox.display()
            )
        })?;
    }
    let queue: Arc<dyn ShootQueue> = journal.clone();
    let switches = journal.clone();
    let lease = queue.lease();
    let mut claims = Claims::default();
    let initially_paused = match journal::off_worker(&queue, |q| q.paused()).await {
        Ok(paused) => paused,
        // The studio's database may come back: wait for it, holding all work.
        Err(error) if lease.is_some() => {
            claims.journal_lost(&error, &events);
            false
        }
        Err(error) => return Err(error).context("cannot read the journal in the data folder"),
    };
    let (paused_sender, paused) = watch::channel(initially_paused);
    if initially_paused {
        events.emit("", None, EventKind::Paused);
    }
    let ctx = Context {
        client,
        journal,
        events: events.clone(),
        limits: Limits {
            parallel_uploads: config.agent.max_parallel_uploads,
            parallel_downloads: config.agent.max_parallel_downloads,
        },
        polls: options.polls.clone(),
        paused,
        uploads_held: gate.hold,
        spend: config.agent.spend,
        inboxes: Arc::new(config.folders.iter().map(|f| f.inbox.clone()).collect()),
        callbacks: Arc::new(
            config
                .folders
                .iter()
                .filter_map(|f| f.edit.callback_url.clone())
                .map(|real| (crate::redact::redact_url_text(&real), real))
                .collect(),
        ),
    };
    let mut intake = Intake::default();
    let (settled_sender, mut settled) = mpsc::channel(256);
    let inboxes = config
        .folders
        .iter()
        .map(|pair| {
            let (inbox, how) = super::watch::Inbox::of(pair);
            tracing::info!(inbox = %pair.inbox.display(), "new shoots are found by {how}");
            inbox
        })
        .collect();
    let _touchups = super::touchups::spawn(&config, ctx.clone());
    let watcher = super::watch::spawn(
        inboxes,
        options.watch.clone(),
        events.clone(),
        settled_sender,
    );

    let mut workers: JoinSet<(ShootId, Result<(), ShootError>)> = JoinSet::new();
    let mut running: HashMap<ShootId, AbortHandle> = HashMap::new();
    let (beat_sender, mut beats) = mpsc::channel::<Beat>(2);
    let mut heartbeat = tokio::time::interval(lease.map_or(Duration::from_secs(3600), |l| l / 3));
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut backoff: HashMap<ShootId, Backoff> = HashMap::new();
    let mut auth_blocked: Option<Backoff> = None;
    let mut did_work = false;
    let mut seen_version: Option<i64> = None;
    let mut must_look = true;
    let mut tick = tokio::time::interval(options.tick);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut held_check = tokio::time::interval(HELD_CHECK_EVERY);
    held_check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);

    loop {
        tokio::select! {
            _ = shutdown.changed() => {
                if *shutdown.borrow() {
                    tracing::debug!("agent: shutdown requested");
                    break;
                }
            }
            _ = heartbeat.tick(), if lease.is_some() && !claims.beating => {
                claims.beating = true;
                let drives: Vec<ShootId> = running.keys().copied().collect();
                let (queue, sender) = (queue.clone(), beat_sender.clone());
                tokio::spawn(async move {
                    let started = Instant::now();
                    let asked = drives.clone();
                    let outcome = journal::off_worker(&queue, move |q| q.heartbeat(&asked)).await;
                    let _ = sender.send(Beat { started, drives, outcome }).await;
                });
            }
            Some(beat) = beats.recv() => {
                claims.beating = false;
                match beat.outcome {
                    Ok(held) => {
                        claims.valid_until = lease.map(|lease| beat.started + lease);
                        if claims.journal_back(&events) {
                            intake.take_again(&ctx, &queue, &config).await;
                        }
                        for id in beat.drives.iter().filter(|id| !held.contains(id)) {
                            if let Some(worker) = running.remove(id) {
                                worker.abort();
                                tracing::warn!(id, "another agent of the studio holds this shoot now: this one lets it go");
                            }
                        }
                    }
                    Err(error) => claims.journal_lost(&error, &events),
                }
                must_look = true;
            }
            _ = claims.run_out(lease), if !running.is_empty() => {
                // No renewal got through in time: another agent may take these shoots
                // over any moment, so this one stops touching them now.
                tracing::warn!(
                    shoots = running.len(),
                    "the claims on this agent's shoots could not be renewed in time; \
                     stopping their work so that no other agent's is doubled"
                );
                for (_, worker) in running.drain() {
                    worker.abort();
                }
                claims.valid_until = None;
            }
            _ = held_check.tick(), if claims.away.is_none() => {
                if let Err(error) = release_held(&ctx, &queue).await {
                    tracing::error!(%error, "cannot look at held shoots");
                }
                intake.take_again(&ctx, &queue, &config).await;
                must_look = true;
            }
            Some(found) = settled.recv() => {
                match found {
                    Found::Unusable { inbox, folders } => {
                        intake.note_unusable(&ctx, &queue, &config, inbox, folders).await;
                    }
                    Found::Settled(shoot) if claims.away.is_some() => intake.take_later(shoot),
                    Found::Settled(shoot) => {
                        if let Err(error) = intake.take_settled(&ctx, &queue, &config, &shoot).await {
                            tracing::error!(folder = shoot.folder, %error, "could not record a shoot; trying again later");
                        }
                    }
                }
                must_look = true;
                tick.reset_immediately();
            }
            Some(finished) = workers.join_next(), if !workers.is_empty() => {
                let Ok((id, outcome)) = finished else { continue };
                if running.remove(&id).is_none() {
                    continue; // let go after its claim ran out; nothing to settle
                }
                did_work = true;
                let grace = folder_gone_grace(options.watch.settle);
                settle_outcome(&ctx, id, outcome, &mut backoff, &mut auth_blocked, grace).await;
                must_look = true;
                tick.reset_immediately();
            }
            _ = tick.tick() => {
                // The studio's database is away: the heartbeat looks for it.
                if claims.away.is_some() {
                    continue;
                }
                // Folders that could not be recorded (a full data folder): try each tick.
                if intake.has_pending() {
                    intake.take_again(&ctx, &queue, &config).await;
                    must_look = true;
                }
                // Idle and nothing changed since the last look: skip the journal queries.
                let version = journal::off_worker(&queue, |q| q.change_mark()).await.ok();
                let nothing_new = version.is_some() && version == seen_version && !must_look
                    && backoff.is_empty() && auth_blocked.is_none() && !options.exit_when_idle;
                if nothing_new {
                    continue;
                }
                seen_version = version;
                must_look = false;
                let now_paused = journal::off_worker(&queue, |q| q.paused())
                    .await
                    .unwrap_or(*ctx.paused.borrow());
                if now_paused != *paused_sender.borrow() {
                    let _ = paused_sender.send(now_paused);
                    events.emit("", None, if now_paused { EventKind::Paused } else { EventKind::Resumed });
                }
                if take_resume_anyway(&switches).await {
                    gate.resume_anyway.notify_one();
                }
                if now_paused || auth_blocked.as_ref().is_some_and(|b| b.until > Instant::now()) {
                    continue;
                }
                if options.exit_when_idle && did_work && running.is_empty() && watcher.settling() == 0 {
                    let active = journal::off_worker(&queue, |q| q.active_shoots()).await;
                    if active.is_ok_and(|active| active.is_empty()) {
                        tracing::debug!("agent: all work done");
                        break;
                    }
                }
                let slots = config.agent.max_active_shoots.saturating_sub(running.len());
                if slots == 0 {
                    continue;
                }
                let now = Instant::now();
                let skip: Vec<ShootId> = running
                    .keys()
                    .copied()
                    .chain(backoff.iter().filter(|(_, b)| b.until > now).map(|(id, _)| *id))
                    .collect();
                let claimed = journal::off_worker(&queue, move |q| q.claim(&skip, slots)).await;
                let claimed = match claimed {
                    Ok(claimed) => claimed,
                    Err(error) if lease.is_some() => {
                        claims.journal_lost(&error, &events);
                        continue;
                    }
                    Err(error) => {
                        // A full data folder, say: look again at the next tick, not only
                        // once something else changes.
                        tracing::error!(%error, "cannot use the journal in the data folder; trying again");
                        must_look = true;
                        continue;
                    }
                };
                if let (Some(lease), false) = (lease, claimed.is_empty()) {
                    claims.valid_until.get_or_insert(now + lease);
                }
                for shoot in claimed {
                    if let Some(holder) = &shoot.holder {
                        tracing::info!(shoot = shoot.folder, id = shoot.id, "claimed for {holder}");
                    }
                    let ctx = ctx.clone();
                    let worker = workers.spawn(async move { (shoot.id, pipeline::drive(&ctx, shoot.id).await) });
                    running.insert(shoot.id, worker);
                }
            }
        }
    }
    // Dropping in-flight work is safe: the journal holds every finished step, and an
    // unfinished download's temp file is removed when its task is dropped.
    workers.shutdown().await;
    if lease.is_some() && !running.is_empty() {
        let held: Vec<ShootId> = running.keys().copied().collect();
        if let Err(error) = journal::off_worker(&queue, move |q| q.let_go(&held)).await {
            tracing::warn!(%error, "could not hand this agent's shoots over; others take them after the lease");
        }
    }
    drop(watcher);
    Ok(())
}

/// Whether the user asked for "Resume anyway" since the last look (the request is
/// taken: it counts once, for the network and power of now).
async fn take_resume_anyway(switches: &Arc<dyn Journal>) -> bool {
    use crate::journal::Switch;
    let asked = journal::off_worker(switches, |q| {
        let asked = q.switch(Switch::ResumeAnyway)?;
        if asked {
            q.set_switch(Switch::ResumeAnyway, false)?;
        }
        Ok(asked)
    });
    asked.await.unwrap_or(false)
}

async fn settle_outcome(
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
        let reason = format!("{error}; trying again in {}s", wait.as_secs().max(1));
        let note = reason.clone();
        let _ = ctx.record(move |j| j.note(id, Some(&note))).await;
        let cause = wait_cause(&error);
        ctx.events
            .emit(&folder, Some(id), EventKind::Waiting { reason, cause });
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
        let next = Backoff::after(
            backoff.get(&id),
            Duration::from_secs(2),
            Duration::from_secs(300),
        );
        report_waiting(&next).await;
        backoff.insert(id, next);
        return;
    }
    backoff.remove(&id);
    let (reason, kind) = (error.to_string(), error.failure_kind());
    let recorded_reason = reason.clone();
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

/// A heartbeat's answer: which of the shoots it renewed are still this agent's.
struct Beat {
    started: Instant,
    drives: Vec<ShootId>,
    outcome: journal::Result<Vec<ShootId>>,
}

/// This agent's claims in a shared journal, and whether the journal can be reached.
#[derive(Default)]
struct Claims {
    /// A heartbeat is under way (one at a time).
    beating: bool,
    /// Until when every claim this agent holds is sure to be its: the start of the last
    /// heartbeat that got through, plus the lease.
    valid_until: Option<Instant>,
    /// Why the journal cannot be reached, once told (until it is back).
    away: Option<String>,
}

impl Claims {
    /// Resolves shortly before the claims may run out (never without a deadline).
    async fn run_out(&self, lease: Option<Duration>) {
        match (self.valid_until, lease) {
            (Some(until), Some(lease)) => {
                let margin = (lease / 6).min(Duration::from_secs(5));
                tokio::time::sleep_until((until - margin).into()).await;
            }
            _ => std::future::pending().await,
        }
    }

    /// Says once that the studio's journal is away: new work waits for it.
    fn journal_lost(&mut self, error: &JournalError, events: &Events) {
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
            },
        );
        self.away = Some(reason);
    }

    /// Says the journal is back, if it was away; returns whether it was.
    fn journal_back(&mut self, events: &Events) -> bool {
        let was_away = self.away.take().is_some();
        if was_away {
            events.emit("", None, EventKind::JournalBack);
        }
        was_away
    }
}

/// How often held shoots are looked at again (the 24-hour window moves on).
const HELD_CHECK_EVERY: Duration = Duration::from_secs(60);

/// Held shoots the spend guard's limits allow now go back in line.
async fn release_held(ctx: &Context, queue: &Arc<dyn ShootQueue>) -> anyhow::Result<()> {
    let spend = ctx.spend;
    let released = journal::off_worker(queue, move |q| {
        let mut released = Vec::new();
        for shoot in q.held_shoots()? {
            if super::spend::over_limit(q, &shoot, spend)?.is_none() {
                q.release(shoot.id)?;
                released.push(shoot);
            }
        }
        Ok(released)
    })
    .await?;
    for shoot in released {
        tracing::info!(
            shoot = shoot.folder,
            "the spend guard's limits allow it again"
        );
        ctx.events
            .emit(&shoot.folder, Some(shoot.id), EventKind::Discovered);
    }
    Ok(())
}
