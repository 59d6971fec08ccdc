//! Which desktop notifications to show, decided from the event stream: shoot done,
//! shoot failed, key rejected or missing, settings not applied, network lost and back.
//! Shoots that finish (or fail) close together are told in one notification, so 50
//! shoots finishing at once make one, not 50. Each kind can be switched off.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::config::NotificationSettings;
use crate::events::{Event, EventKind, WaitCause};
use crate::ui::glance::shorten;
use crate::words::count;

/// Finishes this close together make one notification.
pub const COALESCE_WINDOW: Duration = Duration::from_secs(2);
/// A live shoot tells its new photos at most this often.
pub const LIVE_NOTICE_EVERY: Duration = Duration::from_secs(10 * 60);
/// The network must be gone this long before anyone is bothered.
pub const OFFLINE_NOTICE_AFTER: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeKind {
    ShootsDone,
    /// A shoot finished, but some edited photos could not be written.
    DoneWithProblems,
    ShootsFailed,
    KeyRejected,
    NeedsKey,
    ConfigRejected,
    NetworkLost,
    NetworkBack,
    /// The studio's shared journal cannot be reached, and when it is back.
    JournalAway,
    JournalBack,
    /// The spend guard held a shoot.
    ShootHeld,
    /// An inbox is missing (an unmounted drive?).
    InboxMissing,
    /// A hot folder stopped: its outbox reaches into an inbox.
    FolderStopped,
    /// Something the user asked for (About, the outcome of a menu action).
    About,
}

/// One notification, ready to show.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub kind: NoticeKind,
    pub summary: String,
    pub body: String,
    /// What a click on the notification opens.
    pub open: Option<Opens>,
}

/// What a notification's click opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opens {
    Folder(PathBuf),
    /// A page of the dashboard ("welcome", "settings", "" for the shoots).
    Dashboard(&'static str),
}

/// A batch of same-kind events waiting for the coalescing window to close.
#[derive(Debug, Default)]
struct Batch<T> {
    items: Vec<T>,
    since: Option<Instant>,
}

impl<T> Batch<T> {
    fn add(&mut self, item: T, now: Instant) {
        self.since.get_or_insert(now);
        self.items.push(item);
    }

    fn deadline(&self, window: Duration) -> Option<Instant> {
        self.since.map(|since| since + window)
    }

    fn take_if_due(&mut self, now: Instant, window: Duration) -> Option<Vec<T>> {
        if self.deadline(window)? > now {
            return None;
        }
        self.since = None;
        Some(std::mem::take(&mut self.items))
    }
}

#[derive(Debug)]
pub struct Notices {
    settings: NotificationSettings,
    window: Duration,
    offline_after: Duration,
    done: Batch<(String, Ready, PathBuf)>,
    failed: Batch<(String, String)>,
    ready: Vec<Notice>,
    key_rejected_told: bool,
    offline_since: Option<Instant>,
    /// Whether Imagen was silent (connections open, nothing moving) rather than gone.
    offline_silent: bool,
    offline_told: bool,
    /// Live shoots with photos ready, by name: told at most every [`LIVE_NOTICE_EVERY`].
    live: std::collections::HashMap<String, LiveReady>,
}

/// A live shoot's photos ready and not told yet.
#[derive(Debug)]
struct LiveReady {
    outbox: PathBuf,
    unsaid: Ready,
    /// Photos told so far (the next says "more").
    told: u64,
    last_told: Option<Instant>,
}

impl Notices {
    pub fn new(settings: NotificationSettings) -> Notices {
        Notices::with_timing(settings, COALESCE_WINDOW, OFFLINE_NOTICE_AFTER)
    }

    pub fn with_timing(
        settings: NotificationSettings,
        window: Duration,
        offline_after: Duration,
    ) -> Notices {
        Notices {
            settings,
            window,
            offline_after,
            done: Batch::default(),
            failed: Batch::default(),
            ready: Vec::new(),
            key_rejected_told: false,
            offline_since: None,
            offline_silent: false,
            offline_told: false,
            live: Default::default(),
        }
    }

    /// The config was reloaded: its switches apply from now on.
    pub fn set_settings(&mut self, settings: NotificationSettings) {
        self.settings = settings;
    }

    pub fn observe(&mut self, event: &Event, now: Instant) {
        let shoot = crate::words::printable(&event.shoot).into_owned();
        match &event.kind {
            EventKind::Done {
                photos,
                outbox,
                problems,
                ..
            } if !problems.is_empty() && self.settings.shoot_failed => self.ready.push(Notice {
                kind: NoticeKind::DoneWithProblems,
                summary: format!("{shoot}: done with problems"),
                body: format!(
                    "{} delivered; {} could not be written (Imagen misnamed {}). \
                     \"{}\" in the outbox says which. Sending it again would bill it twice, \
                     so it is not offered.",
                    count(*photos, "edited photo", "edited photos"),
                    count(problems.len() as u64, "output", "outputs"),
                    if problems.len() == 1 { "it" } else { "them" },
                    crate::agent::REPORT_NAME,
                ),
                open: Some(Opens::Folder(outbox.clone())),
            }),
            EventKind::Done {
                photos,
                merged_from,
                outbox,
                live: true,
                ..
            } if self.settings.shoot_done => {
                let live = self.live.entry(shoot).or_insert_with(|| LiveReady {
                    outbox: outbox.clone(),
                    unsaid: Ready::default(),
                    told: 0,
                    last_told: None,
                });
                live.unsaid.sent += merged_from.unwrap_or(*photos);
                live.unsaid.ready += photos;
            }
            EventKind::LiveEnded(totals) if self.settings.shoot_done => {
                self.live.remove(&shoot);
                let ready = Ready {
                    sent: totals.sent,
                    ready: totals.delivered,
                };
                let problems = match (totals.failures.len(), totals.problems.len()) {
                    (0, 0) => String::new(),
                    (0, n) => format!(
                        "; {} could not be written (see \"{}\")",
                        count(n as u64, "output", "outputs"),
                        crate::agent::REPORT_NAME
                    ),
                    (n, _) => format!(
                        "; {} failed: Retry it from Recent shoots",
                        count(n as u64, "batch", "batches")
                    ),
                };
                self.ready.push(Notice {
                    kind: NoticeKind::ShootsDone,
                    summary: format!("{shoot}: finished, {}", ready.words()),
                    body: format!(
                        "No new photo for a while, so the live shoot is finished{problems}. \
                         Edited photos are in {}",
                        totals.outbox.display()
                    ),
                    open: Some(Opens::Folder(totals.outbox.clone())),
                });
            }
            EventKind::Done {
                photos,
                merged_from,
                outbox,
                ..
            } if self.settings.shoot_done => {
                let sent = merged_from.unwrap_or(*photos);
                // Projects of one shoot (its edit rules, RAW and JPEG) finishing together
                // are told as the one shoot they are.
                match self
                    .done
                    .items
                    .iter_mut()
                    .find(|(name, _, at)| *name == shoot && at == outbox)
                {
                    Some((_, count, _)) => {
                        count.sent += sent;
                        count.ready += photos;
                    }
                    None => {
                        let count = Ready {
                            sent,
                            ready: *photos,
                        };
                        self.done.add((shoot, count, outbox.clone()), now);
                    }
                }
            }
            EventKind::Failed { reason, kind } if self.settings.shoot_failed => {
                let reason = match kind.retry_hint() {
                    Some(hint) => format!("{reason}. {hint}"),
                    None => reason.clone(),
                };
                self.failed.add((shoot, reason), now);
            }
            EventKind::Waiting { cause, .. } => match cause {
                WaitCause::KeyRejected if !self.key_rejected_told => {
                    self.key_rejected_told = true;
                    if self.settings.key_rejected {
                        self.ready.push(Notice {
                            kind: NoticeKind::KeyRejected,
                            summary: "Imagen rejected the API key".into(),
                            body: "No shoot moves until the key is fixed. Click to check it \
                                   in Settings; imagen-sync tries again by itself."
                                .into(),
                            open: Some(Opens::Dashboard("settings")),
                        });
                    }
                }
                WaitCause::JournalAway if self.settings.network => self.ready.push(Notice {
                    kind: NoticeKind::JournalAway,
                    summary: "The studio's database cannot be reached".into(),
                    body: "No new shoot starts until it is back; nothing is lost, and \
                           everything goes on by itself."
                        .into(),
                    open: None,
                }),
                _ => {}
            },
            EventKind::ImagenAway { silent, .. } => {
                self.offline_since.get_or_insert(now);
                self.offline_silent = *silent;
            }
            EventKind::ImagenBack => self.back_online(),
            EventKind::DashboardMoved { wanted, port } => self.ready.push(Notice {
                kind: NoticeKind::About,
                summary: format!("The dashboard is on port {port}"),
                body: format!(
                    "Port {wanted} is taken by another program. Settings… in the tray and \
                     imagen-sync open find the dashboard where it is."
                ),
                open: None,
            }),
            EventKind::JournalBack if self.settings.network => self.ready.push(Notice {
                kind: NoticeKind::JournalBack,
                summary: "The studio's database is back".into(),
                body: "Shoots are moving again.".into(),
                open: None,
            }),
            EventKind::NeedsApiKey { how } => self.ready.push(Notice {
                kind: NoticeKind::NeedsKey,
                summary: "Add your Imagen API key".into(),
                body: format!(
                    "imagen-sync starts as soon as it has one: click to add it on the \
                     dashboard's welcome page (or Settings… in the tray).\n{how}"
                ),
                open: Some(Opens::Dashboard("welcome")),
            }),
            EventKind::ConfigRejected { reason } => self.ready.push(Notice {
                kind: NoticeKind::ConfigRejected,
                summary: "Settings not applied".into(),
                body: format!(
                    "{}\nThe last good settings stay in use until the file is fixed.",
                    shorten(reason, 200)
                ),
                open: None,
            }),
            EventKind::ConfigApplied => self.key_rejected_told = false,
            EventKind::Skipped { reason } if self.settings.shoot_failed => {
                self.ready.push(Notice {
                    kind: NoticeKind::ShootsFailed,
                    summary: format!("{shoot}: nothing to send"),
                    body: shorten(reason, 240),
                    open: None,
                })
            }
            EventKind::Held { reason } if self.settings.shoot_failed => self.ready.push(Notice {
                kind: NoticeKind::ShootHeld,
                summary: format!("{shoot}: waiting for you before it is sent"),
                body: format!(
                    "{}\nClick to open the dashboard: Send anyway sends it, or leave it held. \
                     It is in the tray's Recent shoots too.",
                    shorten(reason, 200)
                ),
                open: Some(Opens::Dashboard("")),
            }),
            EventKind::InboxMissing { inbox } => self.ready.push(Notice {
                kind: NoticeKind::InboxMissing,
                summary: "An inbox is missing".into(),
                body: format!(
                    "Inbox {} is missing — is the drive mounted? Shoots in it wait until it \
                     is back; imagen-sync does not create it.",
                    crate::words::printable_path(inbox)
                ),
                open: None,
            }),
            EventKind::FolderStopped { reason, .. } => self.ready.push(Notice {
                kind: NoticeKind::FolderStopped,
                summary: "A hot folder stopped".into(),
                body: shorten(reason, 240),
                open: None,
            }),
            _ => {}
        }
        if event.kind.shows_work_moving() {
            self.key_rejected_told = false;
        }
    }

    /// Imagen answers again: the outage is over, and said to be once it was told.
    fn back_online(&mut self) {
        self.offline_since = None;
        if std::mem::take(&mut self.offline_told) && self.settings.network {
            self.ready.push(Notice {
                kind: NoticeKind::NetworkBack,
                summary: "Imagen answers again".into(),
                body: "Shoots are moving again.".into(),
                open: None,
            });
        }
    }

    /// Notifications whose time has come.
    pub fn due(&mut self, now: Instant) -> Vec<Notice> {
        let mut due = std::mem::take(&mut self.ready);
        if let Some(done) = self.done.take_if_due(now, self.window) {
            due.push(done_notice(done));
        }
        if let Some(failed) = self.failed.take_if_due(now, self.window) {
            due.push(failed_notice(failed));
        }
        for (shoot, live) in &mut self.live {
            let waited = live
                .last_told
                .is_none_or(|at| now >= at + LIVE_NOTICE_EVERY);
            if live.unsaid.ready == 0 || !waited {
                continue;
            }
            let more = if live.told > 0 { " more" } else { "" };
            let words = std::mem::take(&mut live.unsaid).words();
            due.push(Notice {
                kind: NoticeKind::ShootsDone,
                summary: format!(
                    "{shoot}: {}",
                    words.replacen(" photo", &format!("{more} photo"), 1)
                ),
                body: format!(
                    "The live shoot goes on; edited photos are in {}",
                    live.outbox.display()
                ),
                open: Some(Opens::Folder(live.outbox.clone())),
            });
            live.told += 1;
            live.last_told = Some(now);
        }
        if let Some(since) = self.offline_since
            && !self.offline_told
            && now >= since + self.offline_after
        {
            self.offline_told = true;
            if self.settings.network {
                due.push(Notice {
                    kind: NoticeKind::NetworkLost,
                    summary: crate::words::imagen_away(self.offline_silent).into(),
                    body: "For a minute now. Shoots wait and carry on by themselves when \
                           Imagen answers again; nothing is lost."
                        .into(),
                    open: None,
                });
            }
        }
        due
    }

    /// When `due` next has something to say.
    pub fn next_deadline(&self) -> Option<Instant> {
        if !self.ready.is_empty() {
            return Some(Instant::now());
        }
        let offline = match self.offline_told {
            true => None,
            false => self.offline_since.map(|since| since + self.offline_after),
        };
        let live = (self.live.values())
            .filter(|live| live.unsaid.ready > 0)
            .map(|live| {
                live.last_told
                    .map_or_else(Instant::now, |at| at + LIVE_NOTICE_EVERY)
            });
        [
            self.done.deadline(self.window),
            self.failed.deadline(self.window),
            offline,
        ]
        .into_iter()
        .flatten()
        .chain(live)
        .min()
    }
}

/// How many names a coalesced notification lists before "and N more".
const NAMES_LISTED: usize = 4;

fn listed(names: impl Iterator<Item = String>, total: usize) -> String {
    let mut text: Vec<String> = names.take(NAMES_LISTED).collect();
    if total > NAMES_LISTED {
        text.push(format!("and {} more", total - NAMES_LISTED));
    }
    text.join("\n")
}

/// What a finished shoot sent and got back (fewer with HDR merge).
#[derive(Debug, Clone, Copy, Default)]
struct Ready {
    sent: u64,
    ready: u64,
}

impl Ready {
    /// "4 photos ready", or merged: "12 photos → 4 HDR photos ready".
    fn words(self) -> String {
        match self.sent > self.ready {
            true => format!(
                "{} → {} ready",
                count(self.sent, "photo", "photos"),
                count(self.ready, "HDR photo", "HDR photos")
            ),
            false => format!("{} ready", count(self.ready, "photo", "photos")),
        }
    }
}

fn done_notice(done: Vec<(String, Ready, PathBuf)>) -> Notice {
    if let [(shoot, ready, outbox)] = done.as_slice() {
        return Notice {
            kind: NoticeKind::ShootsDone,
            summary: format!("{shoot}: {}", ready.words()),
            body: format!("Edited photos are in {}", outbox.display()),
            open: Some(Opens::Folder(outbox.clone())),
        };
    }
    let photos: u64 = done.iter().map(|(_, n, _)| n.ready).sum();
    // A click opens the outbox they share (the parent of each shoot's folder).
    let parents: Vec<Option<PathBuf>> = done
        .iter()
        .map(|(_, _, outbox)| outbox.parent().map(PathBuf::from))
        .collect();
    let shared = parents
        .windows(2)
        .all(|w| w[0] == w[1])
        .then(|| parents[0].clone())
        .flatten();
    Notice {
        kind: NoticeKind::ShootsDone,
        summary: format!(
            "{} shoots ready: {}",
            done.len(),
            count(photos, "photo", "photos")
        ),
        body: listed(
            done.iter()
                .map(|(shoot, n, _)| format!("{shoot}: {}", n.words())),
            done.len(),
        ),
        open: shared.map(Opens::Folder),
    }
}

fn failed_notice(failed: Vec<(String, String)>) -> Notice {
    if let [(shoot, reason)] = failed.as_slice() {
        return Notice {
            kind: NoticeKind::ShootsFailed,
            summary: format!("{shoot} failed"),
            body: format!(
                "{}\nRetry it from Recent shoots in the tray menu.",
                shorten(reason, 160)
            ),
            open: None,
        };
    }
    Notice {
        kind: NoticeKind::ShootsFailed,
        summary: format!("{} shoots failed", failed.len()),
        body: format!(
            "{}\nRetry them from Recent shoots in the tray menu.",
            listed(
                failed
                    .iter()
                    .map(|(shoot, reason)| format!("{shoot}: {}", shorten(reason, 60))),
                failed.len()
            )
        ),
        open: None,
    }
}

#[cfg(test)]
mod tests;
