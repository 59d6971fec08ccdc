//! The scheduler: the agent's main loop for one config, as a type with one method per
//! thing it reacts to. It feeds settled folders to intake, drives active shoots through
//! the pipeline with bounded concurrency, retries failures with backoff or records them
//! (with their kind, see `outcome`), lets held shoots go when the spend guard allows,
//! keeps a studio's claims alive (`claims`), and follows pause (kept in the journal, so
//! it survives restarts and reaches the CLI's and the dashboard's changes).

mod claims;
mod letting_go;
mod outcome;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use tokio::sync::{mpsc, watch};
use tokio::task::{AbortHandle, JoinError, JoinSet};
use tokio::time::Interval;

use super::AgentOptions;
use super::intake::Intake;
use super::live::LiveShoots;
use super::pipeline::{self, Context, Limits, ShootError};
use super::watch::{Found, InboxWatcher};
use crate::api::Client;
use crate::config::Config;
use crate::events::{EventKind, Events};
use crate::journal::{self, Journal, ShootId, ShootQueue};
use claims::{Beat, Claims};
use letting_go::{HELD_CHECK_EVERY, release_held, take_resume_anyway};
use outcome::{Backoff, folder_gone_grace, settle_outcome};

/// How often live shoots are looked at while photos wait or an end may be due.
const LIVE_LOOK_EVERY: Duration = Duration::from_secs(1);
/// How often a scheduler left alone looks at the journal for other processes' changes.
const IDLE_LOOK_EVERY: Duration = Duration::from_secs(5);

/// Runs until `shutdown` turns true (or, with `exit_when_idle`, when all work is done).
pub(super) async fn run(
    config: Config,
    client: Client,
    journal: Arc<dyn Journal>,
    events: Events,
    options: AgentOptions,
    gate: super::upload_hold::UploadGate,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    super::outbox::make_every(&config)?;
    let (mut scheduler, mut inputs) =
        Scheduler::start(config, client, journal, events, options, gate).await?;
    loop {
        tokio::select! {
            _ = shutdown.changed() => {
                if *shutdown.borrow() {
                    tracing::debug!("agent: shutdown requested");
                    break;
                }
            }
            _ = inputs.heartbeat.tick(), if scheduler.lease.is_some() && !scheduler.claims.beating => {
                scheduler.send_heartbeat(&inputs.beat_sender);
            }
            Some(beat) = inputs.beats.recv() => scheduler.on_heartbeat(beat).await,
            _ = scheduler.claims.run_out(scheduler.lease), if !scheduler.running.is_empty() => {
                scheduler.on_claims_running_out();
            }
            _ = inputs.live_look.tick(), if scheduler.claims.away.is_none() && scheduler.live.has_work() => {
                if scheduler.on_live_look().await {
                    inputs.tick.reset_immediately();
                }
            }
            _ = inputs.held_check.tick(), if scheduler.claims.away.is_none() => {
                scheduler.on_held_check().await;
            }
            Some(found) = inputs.found.recv() => {
                scheduler.on_found(found).await;
                inputs.tick.reset_immediately();
            }
            Some(finished) = scheduler.workers.join_next(), if !scheduler.workers.is_empty() => {
                if scheduler.on_worker_finished(finished).await {
                    inputs.tick.reset_immediately();
                }
            }
            Ok(()) = inputs.reach.changed() => {
                if inputs.reach.borrow_and_update().is_answering() {
                    scheduler.on_imagen_back();
                    inputs.tick.reset_immediately();
                }
            }
            _ = scheduler.options.nudge.notified() => {
                scheduler.must_look = true;
                inputs.tick.reset_immediately();
            }
            _ = inputs.tick.tick() => {
                if scheduler.on_tick().await == Next::Stop {
                    break;
                }
                if scheduler.left_alone() {
                    inputs.tick.reset_after(IDLE_LOOK_EVERY);
                }
            }
        }
        scheduler.keep_awake_while_working();
    }
    scheduler.stop().await;
    Ok(())
}

/// What the loop does after a tick.
#[derive(Debug, PartialEq, Eq)]
enum Next {
    GoOn,
    /// All work is done (`exit_when_idle`).
    Stop,
}

/// The timers and channels the loop waits on, apart from the state they change.
struct Inputs {
    found: mpsc::Receiver<Found>,
    /// Whether Imagen answers, from the client.
    reach: watch::Receiver<crate::api::reach::Reach>,
    beats: mpsc::Receiver<Beat>,
    beat_sender: mpsc::Sender<Beat>,
    heartbeat: Interval,
    tick: Interval,
    held_check: Interval,
    /// Live shoots are looked at this often while they have something to follow.
    live_look: Interval,
}

/// The agent's state for one config, between the events it reacts to.
struct Scheduler {
    config: Config,
    options: AgentOptions,
    ctx: Context,
    queue: Arc<dyn ShootQueue>,
    journal: Arc<dyn Journal>,
    gate: super::upload_hold::UploadGate,
    paused: watch::Sender<bool>,
    /// The studio's lease (`None`: the embedded journal, nobody to share with).
    lease: Option<Duration>,
    claims: Claims,
    intake: Intake,
    live: LiveShoots,
    keep_awake: crate::platform::keep_awake::KeepAwake,
    watcher: InboxWatcher,
    _touchups: Option<super::following::Following>,
    /// Tells the surfaces whether Imagen answers, and probes it while it does not.
    _imagen_reach: super::following::Following,
    workers: JoinSet<(ShootId, Result<(), ShootError>)>,
    running: HashMap<ShootId, AbortHandle>,
    backoff: HashMap<ShootId, Backoff>,
    /// The key was rejected: all work waits until then.
    auth_blocked: Option<Backoff>,
    did_work: bool,
    /// The journal's change mark at the last look, to skip looks when nothing changed.
    seen_version: Option<i64>,
    /// Look at the journal at the next tick even if its change mark did not move.
    must_look: bool,
}

impl Scheduler {
    /// Reads the pause state, wires the pipeline's context, and starts the watcher and
    /// the touch-up sync.
    async fn start(
        config: Config,
        client: Client,
        journal: Arc<dyn Journal>,
        events: Events,
        options: AgentOptions,
        gate: super::upload_hold::UploadGate,
    ) -> anyhow::Result<(Scheduler, Inputs)> {
        let queue: Arc<dyn ShootQueue> = journal.clone();
        let lease = queue.lease();
        let mut claims = Claims::default();
        let initially_paused = match journal::off_worker(&queue, |q| q.paused()).await {
            Ok(paused) => paused,
            // The studio's database may come back: wait for it, holding all work.
            Err(error) if lease.is_some() => {
                claims.journal_lost(&error, &events);
                false
            }
            Err(error) => {
                return Err(error).context("cannot read the journal in the data folder");
            }
        };
        let (paused, paused_now) = watch::channel(initially_paused);
        if initially_paused {
            events.emit("", None, EventKind::Paused);
        }
        let ctx = Context {
            client,
            journal: journal.clone(),
            events: events.clone(),
            limits: Limits {
                parallel_uploads: config.agent.max_parallel_uploads,
                parallel_downloads: config.agent.max_parallel_downloads,
            },
            polls: options.polls.clone(),
            paused: paused_now,
            uploads_held: gate.hold.clone(),
            spend: config.agent.spend,
            inboxes: Arc::new(config.folders.iter().map(|f| f.inbox.clone()).collect()),
            callbacks: Arc::new(
                (config.folders.iter())
                    .filter_map(|f| f.edit.callback_url.clone())
                    .map(|real| (crate::redact::redact_url_text(&real), real))
                    .collect(),
            ),
        };
        let (found_sender, found) = mpsc::channel(256);
        let mut inboxes = Vec::new();
        for pair in &config.folders {
            let (mut inbox, how) = super::watch::Inbox::of(pair);
            tracing::info!(inbox = %pair.inbox.display(), "new shoots are found by {how}");
            if !inbox.live {
                let path = pair.inbox.clone();
                let asked = Instant::now();
                // Without them (the studio's database away) every folder is read once.
                inbox.known = journal::off_worker(&queue, move |q| q.folder_marks(&path))
                    .await
                    .unwrap_or_default();
                tracing::debug!(
                    folders = inbox.known.len(),
                    "the journal's marks of the inbox read in {} ms",
                    asked.elapsed().as_millis()
                );
            }
            inboxes.push(inbox);
        }
        let touchups = super::touchups::spawn(&config, ctx.clone());
        let watcher = super::watch::spawn(inboxes, options.watch.clone(), events, found_sender);
        let (beat_sender, beats) = mpsc::channel::<Beat>(2);
        let every = |period: Duration, missed| {
            let mut interval = tokio::time::interval(period);
            interval.set_missed_tick_behavior(missed);
            interval
        };
        use tokio::time::MissedTickBehavior::{Delay, Skip};
        let inputs = Inputs {
            reach: ctx.client.reach(),
            found,
            beats,
            beat_sender,
            heartbeat: every(lease.map_or(Duration::from_secs(3600), |l| l / 3), Delay),
            tick: every(options.tick, Skip),
            held_check: every(HELD_CHECK_EVERY, Skip),
            live_look: every(LIVE_LOOK_EVERY, Skip),
        };
        let imagen_reach = super::following::Following::spawn(super::imagen_reach::follow(
            ctx.client.clone(),
            ctx.events.clone(),
        ));
        let keep_awake = crate::platform::keep_awake::KeepAwake::start(config.agent.keep_awake);
        let scheduler = Scheduler {
            config,
            options,
            ctx,
            queue,
            journal,
            gate,
            paused,
            lease,
            claims,
            intake: Intake::default(),
            live: LiveShoots::default(),
            keep_awake,
            watcher,
            _touchups: touchups,
            _imagen_reach: imagen_reach,
            workers: JoinSet::new(),
            running: HashMap::new(),
            backoff: HashMap::new(),
            auth_blocked: None,
            did_work: false,
            seen_version: None,
            must_look: true,
        };
        Ok((scheduler, inputs))
    }

    /// Renews this agent's claims in the studio's journal, off the loop.
    fn send_heartbeat(&mut self, answer: &mpsc::Sender<Beat>) {
        self.claims.beating = true;
        let drives: Vec<ShootId> = self.running.keys().copied().collect();
        let (queue, sender) = (self.queue.clone(), answer.clone());
        tokio::spawn(async move {
            let started = Instant::now();
            let asked = drives.clone();
            let outcome = journal::off_worker(&queue, move |q| q.heartbeat(&asked)).await;
            let _ = sender
                .send(Beat {
                    started,
                    drives,
                    outcome,
                })
                .await;
        });
    }

    /// A heartbeat's answer: the claims it renewed, and those another agent holds now.
    async fn on_heartbeat(&mut self, beat: Beat) {
        self.claims.beating = false;
        match beat.outcome {
            Ok(held) => {
                self.claims.valid_until = self.lease.map(|lease| beat.started + lease);
                if self.claims.journal_back(&self.ctx.events) {
                    self.intake
                        .take_again(&self.ctx, &self.queue, &self.config)
                        .await;
                }
                for id in beat.drives.iter().filter(|id| !held.contains(id)) {
                    if let Some(worker) = self.running.remove(id) {
                        worker.abort();
                        tracing::warn!(
                            id,
                            "another agent of the studio holds this shoot now: this one lets it go"
                        );
                    }
                }
            }
            Err(error) => self.claims.journal_lost(&error, &self.ctx.events),
        }
        self.must_look = true;
    }

    /// No renewal got through in time: another agent may take these shoots over any
    /// moment, so this one stops touching them now.
    fn on_claims_running_out(&mut self) {
        tracing::warn!(
            shoots = self.running.len(),
            "the claims on this agent's shoots could not be renewed in time; \
             stopping their work so that no other agent's is doubled"
        );
        for (_, worker) in self.running.drain() {
            worker.abort();
        }
        self.claims.valid_until = None;
    }

    /// Imagen answers again: shoots that waited for it go on now.
    fn on_imagen_back(&mut self) {
        self.backoff.retain(|_, wait| !wait.until_imagen_answers);
        self.must_look = true;
    }

    /// Held shoots the limits allow now go on; folders not recorded are tried again.
    async fn on_held_check(&mut self) {
        if let Err(error) = release_held(&self.ctx, &self.queue).await {
            tracing::error!(%error, "cannot look at held shoots");
        }
        self.intake
            .take_again(&self.ctx, &self.queue, &self.config)
            .await;
        self.must_look = true;
    }

    /// What the watcher found: a settled shoot folder, or the folders that cannot be.
    async fn on_found(&mut self, found: Found) {
        let (ctx, queue, config) = (&self.ctx, &self.queue, &self.config);
        match found {
            Found::Unusable { inbox, folders } => {
                self.intake
                    .note_unusable(ctx, queue, config, inbox, folders)
                    .await;
            }
            Found::Live(shoot) => self.live.touch(shoot),
            Found::Settled(shoot, _) if self.claims.away.is_some() => self.intake.take_later(shoot),
            Found::Settled(shoot, mark) => {
                let taken = (self.intake)
                    .take_settled(ctx, queue, config, &shoot, Some(mark))
                    .await;
                if let Err(error) = taken {
                    tracing::error!(folder = shoot.folder, %error, "could not record a shoot; trying again later");
                }
            }
        }
        self.must_look = true;
    }

    /// Live shoots followed: batches due are recorded, ends told. Returns whether a
    /// batch may have been recorded (new work to drive).
    async fn on_live_look(&mut self) -> bool {
        let recorded = self.live.look(&self.ctx, &self.queue, &self.config).await;
        self.must_look |= recorded;
        recorded
    }

    /// A worker ended; returns whether its outcome was the scheduler's to settle (not a
    /// shoot let go after its claim ran out).
    async fn on_worker_finished(
        &mut self,
        finished: Result<(ShootId, Result<(), ShootError>), JoinError>,
    ) -> bool {
        let Ok((id, outcome)) = finished else {
            return false;
        };
        if self.running.remove(&id).is_none() {
            return false;
        }
        self.did_work = true;
        let grace = folder_gone_grace(self.options.watch.settle);
        settle_outcome(
            &self.ctx,
            id,
            outcome,
            &mut self.backoff,
            &mut self.auth_blocked,
            grace,
        )
        .await;
        self.must_look = true;
        true
    }

    /// Nothing to do until something happens: no shoot being driven or waiting to be
    /// tried again, nothing for intake to retry, the journal this agent's own. What
    /// happens in this process (a shoot found, the tray or the dashboard) wakes it at
    /// once; only another process's change (the CLI's retry) waits for the slower look.
    fn left_alone(&self) -> bool {
        self.running.is_empty()
            && self.backoff.is_empty()
            && self.auth_blocked.is_none()
            && !self.intake.has_pending()
            && !self.live.has_work()
            && self.lease.is_none()
            && !self.options.exit_when_idle
    }

    /// Holds off idle sleep while shoots are being sent or edited, or a live shoot is
    /// open (its next photo is expected); not while paused.
    fn keep_awake_while_working(&self) {
        let why = if *self.paused.borrow() {
            None
        } else if !self.running.is_empty() {
            Some("photos are being sent to Imagen for editing")
        } else if self.live.any_open(&self.config) {
            Some("a live shoot is open: its next photos are expected")
        } else {
            None
        };
        self.keep_awake.want(why);
    }

    /// The periodic look: folders to record again, pause and "Resume anyway" from the
    /// journal, the end of the work (`exit_when_idle`), and new shoots to drive.
    async fn on_tick(&mut self) -> Next {
        // The studio's database is away: the heartbeat looks for it.
        if self.claims.away.is_some() {
            return Next::GoOn;
        }
        // Folders that could not be recorded (a full data folder): try each tick.
        if self.intake.has_pending() {
            self.intake
                .take_again(&self.ctx, &self.queue, &self.config)
                .await;
            self.must_look = true;
        }
        if !self.anything_new().await {
            return Next::GoOn;
        }
        let paused = self.follow_switches().await;
        if paused
            || self
                .auth_blocked
                .as_ref()
                .is_some_and(|b| b.until > Instant::now())
        {
            return Next::GoOn;
        }
        if self.all_work_done().await {
            tracing::debug!("agent: all work done");
            return Next::Stop;
        }
        self.drive_more().await;
        Next::GoOn
    }

    /// Whether the journal may hold something new since the last look (its change mark
    /// moved, or something asked for a look); idle, the queries are skipped.
    async fn anything_new(&mut self) -> bool {
        let version = journal::off_worker(&self.queue, |q| q.change_mark())
            .await
            .ok();
        let nothing_new = version.is_some()
            && version == self.seen_version
            && !self.must_look
            && self.backoff.is_empty()
            && self.auth_blocked.is_none()
            && !self.options.exit_when_idle;
        self.seen_version = version;
        self.must_look = false;
        !nothing_new
    }

    /// Follows pause and takes a "Resume anyway" from the journal; returns whether
    /// the agent is paused.
    async fn follow_switches(&mut self) -> bool {
        let now_paused = journal::off_worker(&self.queue, |q| q.paused())
            .await
            .unwrap_or(*self.ctx.paused.borrow());
        if now_paused != *self.paused.borrow() {
            let _ = self.paused.send(now_paused);
            let told = if now_paused {
                EventKind::Paused
            } else {
                EventKind::Resumed
            };
            self.ctx.events.emit("", None, told);
        }
        if take_resume_anyway(&self.journal).await {
            self.gate.resume_anyway.notify_one();
        }
        now_paused
    }

    /// With `exit_when_idle`: whether something was done and nothing is left.
    async fn all_work_done(&self) -> bool {
        if !(self.options.exit_when_idle
            && self.did_work
            && self.running.is_empty()
            && self.watcher.settling() == 0)
        {
            return false;
        }
        let active = journal::off_worker(&self.queue, |q| q.active_shoots()).await;
        active.is_ok_and(|active| active.is_empty())
    }

    /// Claims as many shoots as there are free slots (none waiting out a backoff) and
    /// starts a worker for each.
    async fn drive_more(&mut self) {
        let slots = (self.config.agent.max_active_shoots).saturating_sub(self.running.len());
        if slots == 0 {
            return;
        }
        let now = Instant::now();
        let skip: Vec<ShootId> = (self.running.keys().copied())
            .chain(
                self.backoff
                    .iter()
                    .filter(|(_, b)| b.until > now)
                    .map(|(id, _)| *id),
            )
            .collect();
        let claimed = journal::off_worker(&self.queue, move |q| q.claim(&skip, slots)).await;
        let claimed = match claimed {
            Ok(claimed) => claimed,
            Err(error) if self.lease.is_some() => {
                self.claims.journal_lost(&error, &self.ctx.events);
                return;
            }
            Err(error) => {
                // A full data folder, say: look again at the next tick, not only once
                // something else changes.
                tracing::error!(%error, "cannot use the journal in the data folder; trying again");
                self.must_look = true;
                return;
            }
        };
        if let (Some(lease), false) = (self.lease, claimed.is_empty()) {
            self.claims.valid_until.get_or_insert(now + lease);
        }
        for shoot in claimed {
            if let Some(holder) = &shoot.holder {
                tracing::info!(shoot = shoot.folder, id = shoot.id, "claimed for {holder}");
            }
            let ctx = self.ctx.clone();
            let id = shoot.id;
            let worker = self
                .workers
                .spawn(async move { (id, pipeline::drive(&ctx, id).await) });
            self.running.insert(id, worker);
        }
    }

    /// Stops every worker and, in a studio, hands their shoots over at once. Dropping
    /// in-flight work is safe: the journal holds every finished step, and an
    /// unfinished download's temp file is removed when its task is dropped.
    async fn stop(mut self) {
        self.workers.shutdown().await;
        if self.lease.is_some() && !self.running.is_empty() {
            let held: Vec<ShootId> = self.running.keys().copied().collect();
            if let Err(error) = journal::off_worker(&self.queue, move |q| q.let_go(&held)).await {
                tracing::warn!(%error, "could not hand this agent's shoots over; others take them after the lease");
            }
        }
    }
}
