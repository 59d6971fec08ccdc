//! The agent's state at a glance, computed once from the event stream for every
//! surface: the tray's icon and line ("123 Main St — uploading 18/42 photos, 64%", "3
//! shoots editing", "Paused"), the dashboard's banner and live rows, and (written
//! down) `status`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::events::activity::{Activity, ShootsNow};
use crate::events::{Event, EventKind, WaitCause};
use crate::platform::costs::HoldReason;

/// The faces of the tray icon: one per phase of the work, paused, offline, and a
/// problem to act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IconKind {
    Idle,
    Uploading,
    /// Waiting for Imagen to finish editing.
    Editing,
    Downloading,
    Paused,
    /// Imagen cannot be reached or is not answering.
    Offline,
    Error,
}

impl IconKind {
    pub const ALL: [IconKind; 7] = [
        IconKind::Idle,
        IconKind::Uploading,
        IconKind::Editing,
        IconKind::Downloading,
        IconKind::Paused,
        IconKind::Offline,
        IconKind::Error,
    ];

    pub fn name(self) -> &'static str {
        match self {
            IconKind::Idle => "idle",
            IconKind::Uploading => "uploading",
            IconKind::Editing => "editing",
            IconKind::Downloading => "downloading",
            IconKind::Paused => "paused",
            IconKind::Offline => "offline",
            IconKind::Error => "error",
        }
    }
}

/// An agent-wide problem the user has to act on (or at least know about).
#[derive(Debug, Clone, PartialEq)]
enum Trouble {
    NeedsKey,
    KeyRejected,
    ConfigRejected,
    /// The studio's shared journal cannot be reached.
    JournalAway,
}

/// The agent's state at one moment, computed once from the event stream (and the
/// journal's counts) for every surface: the tray's icon and line, the dashboard's
/// banner and live rows.
#[derive(Debug, Default, Clone)]
pub struct Glance {
    shoots: ShootsNow,
    /// Shoot folders being copied in, not yet a shoot (by name, since when).
    settling: BTreeMap<String, Instant>,
    paused: bool,
    /// Why uploads wait (a metered network, battery), while they do.
    uploads_held: Option<HoldReason>,
    trouble: Option<Trouble>,
    /// Imagen away: whether it is silent (or unreachable), and since when (Unix ms).
    offline: Option<(bool, i64)>,
    failed_shoots: usize,
    held_shoots: usize,
    /// A hot folder that cannot take shoots (its inbox missing, its outbox reaching
    /// into an inbox), as the user reads it.
    folder_problem: Option<String>,
    /// Photos sent for editing today and this month, from the journal.
    sent: Option<crate::journal::SentForEditing>,
    /// Live shoots open now, by folder name.
    live: BTreeMap<String, crate::events::LiveNow>,
}

/// A folder that never settles (deleted half-way) stops being shown after this.
const SETTLING_FORGOTTEN_AFTER: Duration = Duration::from_secs(30 * 60);

impl Glance {
    pub fn observe(&mut self, event: &Event) {
        self.shoots.observe(event);
        match &event.kind {
            EventKind::Settling => {
                self.settling.insert(event.shoot.clone(), Instant::now());
            }
            EventKind::Discovered
            | EventKind::Skipped { .. }
            | EventKind::NothingNew
            | EventKind::Vanished => {
                self.settling.remove(&event.shoot);
            }
            EventKind::Waiting { cause, .. } => match cause {
                WaitCause::KeyRejected => self.trouble = Some(Trouble::KeyRejected),
                WaitCause::JournalAway => self.trouble = Some(Trouble::JournalAway),
                WaitCause::Network | WaitCause::Server | WaitCause::Other => {}
            },
            EventKind::ImagenAway { silent, .. } => {
                let since = self
                    .offline
                    .map_or_else(crate::journal::now_ms, |(_, at)| at);
                self.offline = Some((*silent, since));
                self.shoots.forget_pace();
            }
            EventKind::ImagenBack => self.offline = None,
            EventKind::InboxMissing { inbox } => {
                self.folder_problem = Some(format!(
                    "Inbox {} is missing — is the drive mounted?",
                    crate::words::printable_path(inbox)
                ));
            }
            EventKind::FolderStopped { reason, .. } => {
                self.folder_problem = Some(format!("Stopped: {}", shorten(reason, 90)));
            }
            EventKind::InboxBack { .. } => self.folder_problem = None,
            EventKind::JournalBack if self.trouble == Some(Trouble::JournalAway) => {
                self.trouble = None;
            }
            EventKind::LiveShoot(now) if now.open => {
                self.live.insert(event.shoot.clone(), now.clone());
            }
            EventKind::LiveShoot(_) | EventKind::LiveEnded(_) => {
                self.live.remove(&event.shoot);
            }
            EventKind::Paused => self.paused = true,
            EventKind::Resumed => self.paused = false,
            EventKind::UploadsHeld { reason } => self.uploads_held = Some(*reason),
            EventKind::UploadsFree => self.uploads_held = None,
            EventKind::ConfigApplied => {
                self.trouble = None;
                self.folder_problem = None;
            }
            EventKind::ConfigRejected { .. } => self.trouble = Some(Trouble::ConfigRejected),
            EventKind::NeedsApiKey { .. } => self.trouble = Some(Trouble::NeedsKey),
            _ => {}
        }
        if event.kind.shows_work_moving() && self.trouble == Some(Trouble::KeyRejected) {
            self.trouble = None;
        }
        self.settling
            .retain(|_, since| since.elapsed() < SETTLING_FORGOTTEN_AFTER);
    }

    /// The journal is the truth about pause and failures (the CLI or another window
    /// may have changed them); the surfaces refresh these from it.
    pub fn set_from_journal(&mut self, paused: bool, failed_shoots: usize, held_shoots: usize) {
        self.paused = paused;
        self.failed_shoots = failed_shoots;
        self.held_shoots = held_shoots;
    }

    pub fn set_sent(&mut self, sent: Option<crate::journal::SentForEditing>) {
        self.sent = sent;
    }

    /// Photos sent for editing today and this month (what Imagen bills).
    pub fn sent(&self) -> Option<crate::journal::SentForEditing> {
        self.sent
    }

    pub fn is_paused(&self) -> bool {
        self.paused
    }

    pub fn uploads_held(&self) -> Option<HoldReason> {
        self.uploads_held
    }

    /// The shoots in flight, with what each is doing.
    pub fn shoots(&self) -> &ShootsNow {
        &self.shoots
    }

    /// The shoot folders being copied in, by name.
    pub fn settling(&self) -> impl Iterator<Item = &str> {
        self.settling.keys().map(String::as_str)
    }

    fn open_live(&self) -> impl Iterator<Item = (&String, &crate::events::LiveNow)> {
        self.live.iter().filter(|(_, now)| now.open)
    }

    /// The live shoots open now, by folder name.
    pub fn live(&self) -> &BTreeMap<String, crate::events::LiveNow> {
        &self.live
    }

    pub fn is_settling(&self, folder: &str) -> bool {
        self.settling.contains_key(folder)
    }

    /// Whether Imagen refused the key in force (until work moves again).
    pub fn key_rejected(&self) -> bool {
        self.trouble == Some(Trouble::KeyRejected)
    }

    /// Whether Imagen is away: `Some((silent, since Unix ms))`.
    pub fn offline(&self) -> Option<(bool, i64)> {
        self.offline
    }

    /// How the photographer should read the state: fine, a wait, or something to fix.
    pub fn tone(&self) -> Tone {
        if self.needs_the_user() {
            Tone::Problem
        } else if self.paused || self.offline.is_some() || self.uploads_held.is_some() {
            Tone::Waiting
        } else {
            Tone::Fine
        }
    }

    fn needs_the_user(&self) -> bool {
        self.trouble.is_some()
            || self.failed_shoots > 0
            || self.held_shoots > 0
            || self.folder_problem.is_some()
    }

    /// Paused wins over everything (the click on Pause must show); then a problem to
    /// act on, Imagen away, and the phase of the work.
    pub fn icon(&self) -> IconKind {
        if self.paused {
            IconKind::Paused
        } else if self.needs_the_user() {
            IconKind::Error
        } else if self.offline.is_some() {
            IconKind::Offline
        } else {
            let phase = |kind: fn(&EventKind) -> bool| {
                self.shoots
                    .iter()
                    .any(|(_, activity)| kind(activity.kind()))
            };
            if phase(|k| matches!(k, EventKind::Uploading(_))) {
                IconKind::Uploading
            } else if phase(|k| matches!(k, EventKind::Downloading { .. })) {
                IconKind::Downloading
            } else if phase(|k| matches!(k, EventKind::Editing { .. })) {
                IconKind::Editing
            } else if !self.shoots.is_empty() || !self.settling.is_empty() {
                IconKind::Uploading
            } else {
                IconKind::Idle
            }
        }
    }

    /// The problems that need the user, in words (for the banner's list and the line).
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        match self.trouble {
            Some(Trouble::NeedsKey) => problems.push("Waiting for your Imagen API key".into()),
            Some(Trouble::KeyRejected) => {
                problems.push("Imagen rejected the API key — check it in Settings".into());
            }
            Some(Trouble::ConfigRejected) => problems
                .push("The settings file has a mistake — the last good settings are in use".into()),
            Some(Trouble::JournalAway) => {
                problems.push("The studio's database cannot be reached — new work waits".into())
            }
            None => {}
        }
        if let Some(problem) = &self.folder_problem {
            problems.push(problem.clone());
        }
        if let Some(shoots) = self.stopped_shoots() {
            problems.push(shoots);
        }
        problems
    }

    /// "1 shoot failed", "2 shoots held by the spend guard": shoots that wait for the
    /// photographer (each surface says where to act on them).
    fn stopped_shoots(&self) -> Option<String> {
        match (self.failed_shoots, self.held_shoots) {
            (0, 0) => None,
            (n, 0) => Some(shoots(n, "failed")),
            (0, h) => Some(format!("{} by the spend guard", shoots(h, "held"))),
            (n, h) => Some(format!("{n} failed, {h} held")),
        }
    }

    /// The problems as the tray tells them: where to act on stopped shoots is its own
    /// Recent shoots menu.
    fn tray_problems(&self) -> Vec<String> {
        let mut problems = self.problems();
        if let (Some(last), Some(_)) = (problems.last_mut(), self.stopped_shoots()) {
            last.push_str(" — see Recent shoots");
        }
        problems
    }

    /// The shoots in flight counted as the photographer counts them: the projects of
    /// one folder are one shoot.
    fn active_shoots(&self) -> Vec<(&str, &Activity)> {
        let mut seen = std::collections::HashSet::new();
        self.shoots
            .iter()
            .filter(|(name, _)| seen.insert(*name))
            .collect()
    }

    /// One line for the tooltip and the top of the menu.
    pub fn status_line(&self) -> String {
        let problems = self.tray_problems();
        let active = self.active_shoots();
        if self.paused {
            let waiting = match active.len() + self.settling.len() {
                0 => "Paused".to_owned(),
                n => format!("Paused — {}", shoots(n, "waiting")),
            };
            return match problems.first() {
                Some(problem) => format!("{waiting}; {problem}"),
                None => waiting,
            };
        }
        if let Some(problem) = problems.first()
            && (self.trouble.is_some() || self.folder_problem.is_some())
        {
            return problem.clone();
        }
        if let Some((silent, _)) = self.offline {
            let away = crate::words::imagen_away(silent);
            return match active.as_slice() {
                [] => away.to_owned(),
                [(name, _)] => format!("{away} — {name} waits"),
                many => format!("{away} — {} wait", shoots(many.len(), "")),
            };
        }
        if let Some(reason) = self.uploads_held {
            let waiting = reason.waiting_words();
            return match active.len() {
                0 => format!("Up to date — uploads will be {}", waiting.to_lowercase()),
                _ => format!("{waiting} — Resume anyway sends the photos now"),
            };
        }
        let extra = match problems.first() {
            Some(problem) => format!(" ({problem})"),
            None => String::new(),
        };
        let settling = self.settling.len();
        let line = match active.as_slice() {
            [] if settling == 1 => format!(
                "{} — waiting for the copy to finish",
                crate::words::printable(self.settling.keys().next().expect("one"))
            ),
            [] if settling > 1 => format!(
                "{} — waiting for the copies to finish",
                shoots(settling, "arriving")
            ),
            [] if self.open_live().next().is_some() => {
                let open: Vec<_> = self.open_live().collect();
                match open.as_slice() {
                    [(name, now)] if now.waiting > 0 => format!(
                        "{} — live: {} arrived, going up in the next batch",
                        crate::words::printable(name),
                        crate::words::count(now.waiting, "new photo", "new photos")
                    ),
                    [(name, _)] => format!(
                        "{} — live, waiting for the next photo",
                        crate::words::printable(name)
                    ),
                    many => format!("{} live shoots — waiting for photos", many.len()),
                }
            }
            [] => match problems.first() {
                Some(problem) => return problem.clone(),
                None => return "Up to date — watching for new shoots".into(),
            },
            [(name, activity)] => format!("{name} — {}", describe(activity)),
            many => {
                let verb = many[0].1.verb();
                if many.iter().all(|(_, p)| p.verb() == verb) {
                    shoots(many.len(), verb)
                } else {
                    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
                    for (_, phase) in many {
                        *counts.entry(phase.verb()).or_default() += 1;
                    }
                    let parts: Vec<String> = counts
                        .iter()
                        .map(|(verb, n)| format!("{n} {verb}"))
                        .collect();
                    format!(
                        "{} in progress ({})",
                        shoots(many.len(), ""),
                        parts.join(", ")
                    )
                    .replace("  ", " ")
                }
            }
        };
        format!("{line}{extra}")
    }
}

/// How a surface colours the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Fine,
    /// Nothing to fix, but work waits (paused, offline, a metered network).
    Waiting,
    /// Something needs the photographer.
    Problem,
}

/// "1 shoot editing", "3 shoots editing".
fn shoots(n: usize, what: &str) -> String {
    let noun = if n == 1 { "shoot" } else { "shoots" };
    format!("{n} {noun} {what}").trim_end().to_owned()
}

/// What the one shoot in flight is doing, in the few words a tooltip has room for.
fn describe(activity: &Activity) -> String {
    match activity.kind() {
        // With its pace known, the rate and time left say more than a percentage.
        EventKind::Uploading(_) if activity.speed().is_some() => activity.words(),
        EventKind::Uploading(_) => {
            format!("{}, {}%", activity.words(), activity.percent().unwrap_or(0))
        }
        // With its countdown ("…; trying again in 12 s"), redrawn as it counts.
        EventKind::Waiting { .. } => shorten(&activity.words(), 110),
        _ => activity.words(),
    }
}

/// Cuts `text` to at most `max` characters, marking the cut.
pub fn shorten(text: &str, max: usize) -> String {
    let first_line = text.lines().next().unwrap_or_default();
    if first_line.chars().count() <= max {
        return first_line.to_owned();
    }
    let cut: String = first_line.chars().take(max.saturating_sub(1)).collect();
    format!("{}…", cut.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(shoot: &str, id: Option<crate::journal::ShootId>, kind: EventKind) -> Event {
        Event {
            shoot: shoot.into(),
            shoot_id: id,
            kind,
        }
    }

    fn uploading(done: u64, total: u64, bytes: u64) -> EventKind {
        EventKind::Uploading(crate::events::UploadProgress {
            files_done: done,
            files_total: total,
            bytes_done: bytes,
            bytes_total: 100,
        })
    }

    #[test]
    fn an_open_live_shoot_between_batches_says_it_waits_for_photos_not_up_to_date() {
        let mut glance = Glance::default();
        let live = |waiting, open| {
            EventKind::LiveShoot(crate::events::LiveNow {
                waiting,
                last_photo_ms: 0,
                open,
            })
        };
        glance.observe(&event("Smith Wedding", None, live(3, true)));
        assert_eq!(
            glance.status_line(),
            "Smith Wedding — live: 3 new photos arrived, going up in the next batch"
        );
        glance.observe(&event("Smith Wedding", None, live(0, true)));
        assert_eq!(
            glance.status_line(),
            "Smith Wedding — live, waiting for the next photo"
        );
        glance.observe(&event("Smith Wedding", None, live(0, false)));
        assert_eq!(glance.status_line(), "Up to date — watching for new shoots");
    }

    #[test]
    fn one_shoot_uploading_shows_its_name_photos_and_percent() {
        let mut glance = Glance::default();
        glance.observe(&event("123 Main St", Some(1), uploading(18, 42, 64)));
        assert_eq!(
            glance.status_line(),
            "123 Main St — uploading 18/42 photos, 64%"
        );
        assert_eq!(glance.icon(), IconKind::Uploading);
    }

    #[test]
    fn several_shoots_in_the_same_phase_are_counted() {
        let mut glance = Glance::default();
        for id in 1..=3 {
            let kind = EventKind::Editing {
                status: "In Progress".into(),
            };
            glance.observe(&event(&format!("Shoot {id}"), Some(id), kind));
        }
        assert_eq!(glance.status_line(), "3 shoots editing");
        glance.observe(&event("Shoot 4", Some(4), uploading(1, 2, 50)));
        assert_eq!(
            glance.status_line(),
            "4 shoots in progress (3 editing, 1 uploading)"
        );
    }

    #[test]
    fn paused_shows_paused_and_the_paused_icon() {
        let mut glance = Glance::default();
        glance.observe(&event("", None, EventKind::Paused));
        assert_eq!(glance.status_line(), "Paused");
        assert_eq!(glance.icon(), IconKind::Paused);
        glance.observe(&event("", None, EventKind::Resumed));
        assert_eq!(glance.icon(), IconKind::Idle);
    }

    #[test]
    fn a_metered_network_says_uploads_wait_and_how_to_send_anyway() {
        use crate::platform::costs::HoldReason;
        let mut glance = Glance::default();
        glance.observe(&event(
            "",
            None,
            EventKind::UploadsHeld {
                reason: HoldReason::Metered,
            },
        ));
        assert_eq!(
            glance.status_line(),
            "Up to date — uploads will be waiting for an unmetered network"
        );
        glance.observe(&event("123 Main St", Some(1), uploading(0, 42, 0)));
        assert_eq!(
            glance.status_line(),
            "Waiting for an unmetered network — Resume anyway sends the photos now"
        );
        let menu = crate::ui::menu::build(&glance, &[], None, &[], &[]);
        assert!(
            menu.iter().any(|entry| matches!(
                entry,
                crate::ui::menu::MenuEntry::Item {
                    action: crate::ui::menu::MenuAction::ResumeAnyway,
                    ..
                }
            )),
            "{menu:?}"
        );
        glance.observe(&event("", None, EventKind::UploadsFree));
        assert!(glance.status_line().starts_with("123 Main St — uploading"));
    }

    #[test]
    fn the_studio_database_away_turns_the_icon_red_until_it_is_back() {
        let mut glance = Glance::default();
        let away = EventKind::Waiting {
            reason: "cannot reach the studio's journal".into(),
            cause: WaitCause::JournalAway,
            retry_at_ms: None,
        };
        glance.observe(&event("", None, away));
        assert_eq!(glance.icon(), IconKind::Error);
        assert!(glance.status_line().contains("database cannot be reached"));
        glance.observe(&event("", None, EventKind::JournalBack));
        assert_eq!(glance.icon(), IconKind::Idle);
    }

    #[test]
    fn a_rejected_key_turns_the_icon_red_until_work_moves_again() {
        let mut glance = Glance::default();
        let rejected = EventKind::Waiting {
            reason: "the API key was rejected".into(),
            cause: WaitCause::KeyRejected,
            retry_at_ms: None,
        };
        glance.observe(&event("A", Some(1), rejected));
        assert_eq!(glance.icon(), IconKind::Error);
        assert!(glance.status_line().contains("rejected the API key"));
        glance.observe(&event("A", Some(1), uploading(1, 2, 10)));
        assert_eq!(glance.icon(), IconKind::Uploading);
    }

    #[test]
    fn finished_shoots_leave_the_glance_and_failures_are_counted() {
        let mut glance = Glance::default();
        glance.observe(&event("A", Some(1), uploading(1, 2, 10)));
        let done = EventKind::Done {
            photos: 2,
            merged_from: None,
            outbox: "/o/A".into(),
            problems: Vec::new(),
            live: false,
        };
        glance.observe(&event("A", Some(1), done));
        assert_eq!(glance.status_line(), "Up to date — watching for new shoots");
        glance.set_from_journal(false, 1, 0);
        assert_eq!(glance.icon(), IconKind::Error);
        assert_eq!(glance.status_line(), "1 shoot failed — see Recent shoots");
    }

    #[test]
    fn a_card_copy_shows_as_arriving_not_up_to_date() {
        let mut glance = Glance::default();
        glance.observe(&event("14 Pine Street", None, EventKind::Settling));
        assert_eq!(
            glance.status_line(),
            "14 Pine Street — waiting for the copy to finish"
        );
        assert_eq!(glance.icon(), IconKind::Uploading);
        glance.observe(&event("14 Pine Street", Some(1), EventKind::Discovered));
        assert!(glance.settling().next().is_none());
    }

    #[test]
    fn imagen_away_has_its_own_icon_and_no_time_left() {
        let mut glance = Glance::default();
        glance.observe(&event("14 Pine Street", Some(1), uploading(4, 12, 30)));
        let away = EventKind::ImagenAway {
            silent: true,
            for_a_minute: false,
        };
        glance.observe(&event("", None, away));
        assert_eq!(glance.icon(), IconKind::Offline);
        assert_eq!(
            glance.status_line(),
            "Imagen is not answering — 14 Pine Street waits"
        );
        assert_eq!(glance.tone(), Tone::Waiting);
        glance.observe(&event("", None, EventKind::ImagenBack));
        assert_eq!(glance.icon(), IconKind::Uploading);
    }

    #[test]
    fn pause_shows_as_paused_over_a_failed_shoot_and_still_lists_it() {
        let mut glance = Glance::default();
        glance.set_from_journal(false, 1, 0);
        assert_eq!(glance.icon(), IconKind::Error);
        glance.set_from_journal(true, 1, 0);
        assert_eq!(glance.icon(), IconKind::Paused);
        assert_eq!(
            glance.status_line(),
            "Paused; 1 shoot failed — see Recent shoots"
        );
    }

    #[test]
    fn one_shoot_split_into_projects_counts_as_one_shoot() {
        let mut glance = Glance::default();
        glance.observe(&event("9 Elm Court", Some(1), uploading(1, 6, 10)));
        glance.observe(&event("9 Elm Court", Some(2), uploading(1, 4, 10)));
        assert!(
            glance.status_line().starts_with("9 Elm Court — uploading"),
            "{}",
            glance.status_line()
        );
    }

    #[test]
    fn the_phases_have_their_own_icons() {
        let mut glance = Glance::default();
        let editing = EventKind::Editing {
            status: "In Progress".into(),
        };
        glance.observe(&event("A", Some(1), editing));
        assert_eq!(glance.icon(), IconKind::Editing);
        assert_eq!(glance.status_line(), "A — Imagen is editing");
        let downloading = EventKind::Downloading { done: 1, total: 4 };
        glance.observe(&event("B", Some(2), downloading));
        assert_eq!(glance.icon(), IconKind::Downloading);
    }

    #[test]
    fn long_reasons_are_cut_to_one_short_line() {
        assert_eq!(shorten("short", 10), "short");
        assert_eq!(shorten("first line\nsecond", 40), "first line");
        assert_eq!(shorten("abcdefghijkl", 6), "abcde…");
    }
}
