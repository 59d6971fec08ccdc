//! What the tray says at a glance: which icon, and one line of status ("123 Main St —
//! uploading 18/42 photos, 64%", "3 shoots editing", "Paused"), kept current from the
//! event stream.

use std::collections::BTreeMap;

use crate::events::activity::{Activity, ShootsNow};
use crate::events::{Event, EventKind, WaitCause};
use crate::platform::costs::HoldReason;

/// The four faces of the tray icon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IconKind {
    Idle,
    Working,
    Paused,
    Error,
}

impl IconKind {
    pub const ALL: [IconKind; 4] = [
        IconKind::Idle,
        IconKind::Working,
        IconKind::Paused,
        IconKind::Error,
    ];

    pub fn name(self) -> &'static str {
        match self {
            IconKind::Idle => "idle",
            IconKind::Working => "working",
            IconKind::Paused => "paused",
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

#[derive(Debug, Default, Clone)]
pub struct Glance {
    shoots: ShootsNow,
    paused: bool,
    /// Why uploads wait (a metered network, battery), while they do.
    uploads_held: Option<HoldReason>,
    trouble: Option<Trouble>,
    offline: bool,
    failed_shoots: usize,
    held_shoots: usize,
    /// A hot folder that cannot take shoots (its inbox missing, its outbox reaching
    /// into an inbox), as the user reads it.
    folder_problem: Option<String>,
}

impl Glance {
    pub fn observe(&mut self, event: &Event) {
        self.shoots.observe(event);
        match &event.kind {
            EventKind::Waiting { cause, .. } => match cause {
                WaitCause::Network => self.offline = true,
                WaitCause::KeyRejected => self.trouble = Some(Trouble::KeyRejected),
                WaitCause::JournalAway => self.trouble = Some(Trouble::JournalAway),
                WaitCause::Server | WaitCause::Other => {}
            },
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
        if event.kind.shows_work_moving() {
            self.offline = false;
            if self.trouble == Some(Trouble::KeyRejected) {
                self.trouble = None;
            }
        }
    }

    /// The journal is the truth about pause and failures (the CLI or another window
    /// may have changed them); the tray refreshes these from it.
    pub fn set_from_journal(&mut self, paused: bool, failed_shoots: usize, held_shoots: usize) {
        self.paused = paused;
        self.failed_shoots = failed_shoots;
        self.held_shoots = held_shoots;
    }

    pub fn is_paused(&self) -> bool {
        self.paused
    }

    pub fn uploads_held(&self) -> Option<HoldReason> {
        self.uploads_held
    }

    pub fn icon(&self) -> IconKind {
        if self.trouble.is_some()
            || self.failed_shoots > 0
            || self.held_shoots > 0
            || self.folder_problem.is_some()
        {
            IconKind::Error
        } else if self.paused {
            IconKind::Paused
        } else if self.shoots.is_empty() {
            IconKind::Idle
        } else {
            IconKind::Working
        }
    }

    /// One line for the tooltip and the top of the menu.
    pub fn status_line(&self) -> String {
        match self.trouble {
            Some(Trouble::NeedsKey) => return "Waiting for your Imagen API key".into(),
            Some(Trouble::KeyRejected) => {
                return "Imagen rejected the API key — check it in Settings".into();
            }
            Some(Trouble::ConfigRejected) => {
                return "Settings file has a mistake — the last good settings are in use".into();
            }
            Some(Trouble::JournalAway) => {
                return "The studio's database cannot be reached — new work waits".into();
            }
            None => {}
        }
        if let Some(problem) = &self.folder_problem {
            return problem.clone();
        }
        let active = self.shoots.len();
        if self.paused {
            return match active {
                0 => "Paused".into(),
                n => format!("Paused — {}", shoots(n, "waiting")),
            };
        }
        if let Some(reason) = self.uploads_held {
            let waiting = reason.waiting_words();
            return match active {
                0 => format!("Up to date — uploads will be {}", waiting.to_lowercase()),
                _ => format!("{waiting} — Resume anyway sends the photos now"),
            };
        }
        if self.offline && active > 0 {
            return format!(
                "Offline — {} for the network",
                shoots(active, if active == 1 { "waits" } else { "wait" })
            );
        }
        let failed = match (self.failed_shoots, self.held_shoots) {
            (0, 0) => String::new(),
            (n, 0) => format!(" ({n} failed — see Recent shoots)"),
            (0, h) => format!(" ({h} held by the spend guard — see Recent shoots)"),
            (n, h) => format!(" ({n} failed, {h} held — see Recent shoots)"),
        };
        let line = match self.shoots.iter().collect::<Vec<_>>().as_slice() {
            [] => match (self.failed_shoots, self.held_shoots) {
                (0, 0) => return "Up to date — watching for new shoots".into(),
                (n, 0) => return format!("{} — see Recent shoots", shoots(n, "failed")),
                (0, h) => {
                    return format!(
                        "{} by the spend guard — see Recent shoots",
                        shoots(h, "held")
                    );
                }
                (n, h) => return format!("{n} failed, {h} held — see Recent shoots"),
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
        format!("{line}{failed}")
    }
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
        EventKind::Editing { .. } => "editing".into(),
        EventKind::Waiting { reason, .. } => format!("waiting: {}", shorten(reason, 80)),
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
    fn one_shoot_uploading_shows_its_name_photos_and_percent() {
        let mut glance = Glance::default();
        glance.observe(&event("123 Main St", Some(1), uploading(18, 42, 64)));
        assert_eq!(
            glance.status_line(),
            "123 Main St — uploading 18/42 photos, 64%"
        );
        assert_eq!(glance.icon(), IconKind::Working);
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
        };
        glance.observe(&event("A", Some(1), rejected));
        assert_eq!(glance.icon(), IconKind::Error);
        assert!(glance.status_line().contains("rejected the API key"));
        glance.observe(&event("A", Some(1), uploading(1, 2, 10)));
        assert_eq!(glance.icon(), IconKind::Working);
    }

    #[test]
    fn finished_shoots_leave_the_glance_and_failures_are_counted() {
        let mut glance = Glance::default();
        glance.observe(&event("A", Some(1), uploading(1, 2, 10)));
        let done = EventKind::Done {
            photos: 2,
            outbox: "/o/A".into(),
            problems: Vec::new(),
        };
        glance.observe(&event("A", Some(1), done));
        assert_eq!(glance.status_line(), "Up to date — watching for new shoots");
        glance.set_from_journal(false, 1, 0);
        assert_eq!(glance.icon(), IconKind::Error);
        assert_eq!(glance.status_line(), "1 shoot failed — see Recent shoots");
    }

    #[test]
    fn long_reasons_are_cut_to_one_short_line() {
        assert_eq!(shorten("short", 10), "short");
        assert_eq!(shorten("first line\nsecond", 40), "first line");
        assert_eq!(shorten("abcdefghijkl", 6), "abcde…");
    }
}
