//! The tray menu as plain data: which entries it shows for the current state, and the
//! action behind each one. The toolkit only draws this model and hands back the id
//! of the clicked entry, so everything here is tested without a display.

use std::path::Path;

use crate::config::{BandwidthPlan, FolderPair, NetworkSettings, rate_words};
use crate::journal::{FailureKind, NotSent, ShootGroup, ShootId, ShootState};
use crate::ui::glance::{Glance, shorten};
use crate::words::printable;

/// How many shoots "Recent shoots" lists.
pub const RECENT_SHOOTS: usize = 5;

/// What a menu entry does when clicked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MenuAction {
    Pause,
    Resume,
    /// Uploads waiting for an unmetered network or mains power go on, until it changes.
    ResumeAnyway,
    /// The inbox of the folder pair at this index in the config.
    OpenInbox(usize),
    OpenOutbox(usize),
    /// Open a shoot's outbox folder.
    OpenShoot(ShootId),
    RetryShoot(ShootId),
    /// Past the spend guard's limits, for a held shoot.
    SendAnyway(ShootId),
    /// Set `[network] upload_limit` to this many bytes per second (0: off).
    LimitUpload(u64),
    Settings,
    OpenLog,
    About,
    Quit,
}

impl MenuAction {
    /// A stable id for the toolkit's menu item.
    pub fn id(&self) -> String {
        match self {
            MenuAction::Pause => "pause".into(),
            MenuAction::Resume => "resume".into(),
            MenuAction::ResumeAnyway => "resume-anyway".into(),
            MenuAction::OpenInbox(i) => format!("open-inbox:{i}"),
            MenuAction::OpenOutbox(i) => format!("open-outbox:{i}"),
            MenuAction::OpenShoot(id) => format!("open-shoot:{id}"),
            MenuAction::RetryShoot(id) => format!("retry-shoot:{id}"),
            MenuAction::SendAnyway(id) => format!("send-anyway:{id}"),
            MenuAction::LimitUpload(rate) => format!("limit-upload:{rate}"),
            MenuAction::Settings => "settings".into(),
            MenuAction::OpenLog => "open-log".into(),
            MenuAction::About => "about".into(),
            MenuAction::Quit => "quit".into(),
        }
    }

    pub fn from_id(id: &str) -> Option<MenuAction> {
        let (name, argument) = match id.split_once(':') {
            Some((name, argument)) => (name, Some(argument)),
            None => (id, None),
        };
        let index = || argument.and_then(|a| a.parse::<usize>().ok());
        let shoot = || argument.and_then(|a| a.parse::<ShootId>().ok());
        Some(match name {
            "pause" => MenuAction::Pause,
            "resume" => MenuAction::Resume,
            "resume-anyway" => MenuAction::ResumeAnyway,
            "open-inbox" => MenuAction::OpenInbox(index()?),
            "open-outbox" => MenuAction::OpenOutbox(index()?),
            "open-shoot" => MenuAction::OpenShoot(shoot()?),
            "retry-shoot" => MenuAction::RetryShoot(shoot()?),
            "send-anyway" => MenuAction::SendAnyway(shoot()?),
            "limit-upload" => MenuAction::LimitUpload(argument?.parse().ok()?),
            "settings" => MenuAction::Settings,
            "open-log" => MenuAction::OpenLog,
            "about" => MenuAction::About,
            "quit" => MenuAction::Quit,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum MenuEntry {
    /// Text that cannot be clicked (the status line, a failure's reason).
    Label(String),
    Item {
        label: String,
        action: MenuAction,
    },
    Submenu {
        label: String,
        entries: Vec<MenuEntry>,
    },
    Separator,
}

impl MenuEntry {
    fn item(label: impl Into<String>, action: MenuAction) -> MenuEntry {
        MenuEntry::Item {
            label: label.into(),
            action,
        }
    }
}

/// The quick choices of "Upload limit", bytes per second (0: off).
pub const QUICK_UPLOAD_LIMITS: [u64; 5] = [0, 500_000, 1_000_000, 2_000_000, 5_000_000];

/// The whole menu for this moment.
pub fn build(
    glance: &Glance,
    folders: &[FolderPair],
    network: Option<&NetworkSettings>,
    recent: &[ShootGroup],
    not_sent: &[NotSent],
) -> Vec<MenuEntry> {
    let mut menu = vec![MenuEntry::Label(glance.status_line())];
    if let Some(sent) = glance.sent() {
        menu.push(MenuEntry::Label(sent.words()));
    }
    menu.push(MenuEntry::Separator);
    menu.push(match glance.is_paused() {
        true => MenuEntry::item("Resume", MenuAction::Resume),
        false => MenuEntry::item("Pause", MenuAction::Pause),
    });
    if glance.uploads_held().is_some() && !glance.is_paused() {
        menu.push(MenuEntry::item("Resume anyway", MenuAction::ResumeAnyway));
    }
    menu.push(MenuEntry::Separator);
    menu.extend(folder_entries(folders));
    menu.push(MenuEntry::Submenu {
        label: "Recent shoots".into(),
        entries: recent_entries(glance, recent, not_sent),
    });
    if let Some(network) = network {
        menu.push(upload_limit_entry(&network.upload_limit));
    }
    menu.push(MenuEntry::Separator);
    menu.push(MenuEntry::item("Settings…", MenuAction::Settings));
    menu.push(MenuEntry::item("Open log", MenuAction::OpenLog));
    menu.push(MenuEntry::item(
        format!("About imagen-sync {}", env!("CARGO_PKG_VERSION")),
        MenuAction::About,
    ));
    menu.push(MenuEntry::Separator);
    menu.push(MenuEntry::item("Quit", MenuAction::Quit));
    menu
}

/// "Upload limit: 1 MB/s": the limit in force, and quick choices to change it.
fn upload_limit_entry(plan: &BandwidthPlan) -> MenuEntry {
    let mut entries = Vec::new();
    if let BandwidthPlan::Timetable(_) = plan {
        entries.push(MenuEntry::Label(format!("Timetable: {plan}")));
        entries.push(MenuEntry::Label("A choice below replaces it".into()));
    }
    for rate in QUICK_UPLOAD_LIMITS {
        let in_force = match plan {
            BandwidthPlan::Off => rate == 0,
            BandwidthPlan::Rate(current) => *current == rate,
            BandwidthPlan::Timetable(_) => false,
        };
        let words = match rate {
            0 => "No limit".to_owned(),
            rate => format!("Limit upload to {}", rate_words(rate)),
        };
        let mark = if in_force { "✓ " } else { "" };
        entries.push(MenuEntry::item(
            format!("{mark}{words}"),
            MenuAction::LimitUpload(rate),
        ));
    }
    MenuEntry::Submenu {
        label: format!("Upload limit: {}", plan.describe_now()),
        entries,
    }
}

/// "Open Inbox" and "Open Outbox", or one pair of entries per hot folder.
fn folder_entries(folders: &[FolderPair]) -> Vec<MenuEntry> {
    if let [_] = folders {
        return vec![
            MenuEntry::item("Open Inbox", MenuAction::OpenInbox(0)),
            MenuEntry::item("Open Outbox", MenuAction::OpenOutbox(0)),
        ];
    }
    let mut entries = Vec::new();
    for (index, pair) in folders.iter().enumerate() {
        entries.push(MenuEntry::item(
            format!("Open Inbox: {}", short_name(&pair.inbox)),
            MenuAction::OpenInbox(index),
        ));
        entries.push(MenuEntry::item(
            format!("Open Outbox: {}", short_name(&pair.outbox)),
            MenuAction::OpenOutbox(index),
        ));
    }
    entries
}

/// A folder's last two components ("Interiors/Inbox"): enough to tell pairs apart.
fn short_name(path: &Path) -> String {
    let parts: Vec<_> = path.components().rev().take(2).collect();
    let parts: Vec<String> = parts
        .iter()
        .rev()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    parts.join("/")
}

/// " by office-nas": the studio's agent that holds an active shoot.
fn held_by(shoot: &crate::journal::ShootRecord) -> String {
    shoot
        .holder
        .as_deref()
        .map(|holder| format!(" by {}", printable(holder)))
        .unwrap_or_default()
}

fn recent_entries(glance: &Glance, recent: &[ShootGroup], not_sent: &[NotSent]) -> Vec<MenuEntry> {
    if recent.is_empty() && not_sent.is_empty() {
        return vec![MenuEntry::Label("No shoots yet".into())];
    }
    let mut entries: Vec<MenuEntry> = recent
        .iter()
        .map(|group| {
            let row = &group.lead;
            let shoot = &row.shoot;
            let open = MenuAction::OpenShoot(shoot.id);
            let folder = printable(&shoot.folder);
            match shoot.state {
                // One line for the whole live shoot, while none of its batches needs you.
                ShootState::Held | ShootState::Failed => {}
                _ if group.is_live() => {
                    let now = glance.live().get(&shoot.folder);
                    return MenuEntry::item(group.live_words(now), open);
                }
                _ => {}
            }
            match shoot.state {
                ShootState::Held => needs_you(
                    format!("{folder} — held by the spend guard"),
                    shoot.error_words().unwrap_or("held"),
                    vec![MenuEntry::item(
                        "Send anyway",
                        MenuAction::SendAnyway(shoot.id),
                    )],
                ),
                ShootState::Done if shoot.is_done_with_problems() => needs_you(
                    format!("{folder} — done with problems"),
                    &format!(
                        "{} delivered; {} not written",
                        crate::words::count(row.outputs, "photo", "photos"),
                        crate::words::count(shoot.problems.len() as u64, "output", "outputs")
                    ),
                    shoot
                        .problems
                        .iter()
                        .take(3)
                        .map(|problem| MenuEntry::Label(shorten(problem, 70)))
                        .chain([
                            MenuEntry::Label(format!(
                                "\"{}\" in the outbox says which",
                                crate::agent::REPORT_NAME
                            )),
                            MenuEntry::item("Open outbox folder", open),
                        ])
                        .collect(),
                ),
                ShootState::Done => MenuEntry::item(
                    format!(
                        "{} — done, {}",
                        folder,
                        crate::words::count(row.outputs, "photo", "photos")
                    ),
                    open,
                ),
                ShootState::Failed => needs_you(
                    format!("{folder} — failed"),
                    shoot.error_words().unwrap_or("failed"),
                    shoot
                        .failure
                        .and_then(FailureKind::retry_hint)
                        .map(|hint| MenuEntry::Label(hint.into()))
                        .into_iter()
                        .chain([
                            MenuEntry::item("Retry", MenuAction::RetryShoot(shoot.id)),
                            MenuEntry::item("Open outbox folder", open),
                        ])
                        .collect(),
                ),
                ShootState::Uploading => MenuEntry::item(
                    format!(
                        "{} — uploading {}/{}{}",
                        folder,
                        row.uploaded,
                        row.files,
                        held_by(shoot)
                    ),
                    open,
                ),
                state => MenuEntry::item(
                    format!("{folder} — {}{}", state.as_str(), held_by(shoot)),
                    open,
                ),
            }
        })
        .collect();
    if !not_sent.is_empty() {
        entries.push(MenuEntry::Separator);
        entries.push(MenuEntry::Label("Not sent for editing:".into()));
        for item in not_sent {
            let what = match item.file.is_empty() {
                true => format!("{} — skipped", printable(&item.folder)),
                false => format!("{}/{}", printable(&item.folder), printable(&item.file)),
            };
            entries.push(MenuEntry::Label(shorten(
                &format!("{what}: {}", item.reason),
                90,
            )));
        }
    }
    entries
}

/// A shoot that needs the user: a submenu with why on its first line, then what to do.
fn needs_you(label: String, reason: &str, actions: Vec<MenuEntry>) -> MenuEntry {
    let mut entries = vec![MenuEntry::Label(shorten(reason, 70))];
    entries.extend(actions);
    MenuEntry::Submenu { label, entries }
}

/// Every action reachable from a menu, submenus included (for tests and lookups).
pub fn actions(menu: &[MenuEntry]) -> Vec<(String, MenuAction)> {
    let mut found = Vec::new();
    for entry in menu {
        match entry {
            MenuEntry::Item { label, action } => found.push((label.clone(), *action)),
            MenuEntry::Submenu { entries, .. } => found.extend(actions(entries)),
            MenuEntry::Label(_) | MenuEntry::Separator => {}
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_survives_its_id() {
        let all = [
            MenuAction::Pause,
            MenuAction::Resume,
            MenuAction::ResumeAnyway,
            MenuAction::OpenInbox(2),
            MenuAction::OpenOutbox(0),
            MenuAction::OpenShoot(41),
            MenuAction::RetryShoot(7),
            MenuAction::SendAnyway(9),
            MenuAction::LimitUpload(1_000_000),
            MenuAction::Settings,
            MenuAction::OpenLog,
            MenuAction::About,
            MenuAction::Quit,
        ];
        for action in all {
            assert_eq!(MenuAction::from_id(&action.id()), Some(action));
        }
        assert_eq!(MenuAction::from_id("open-shoot:x"), None);
        assert_eq!(MenuAction::from_id("format-disk"), None);
    }

    #[test]
    fn the_upload_limit_in_force_is_shown_and_ticked_among_the_quick_choices() {
        let MenuEntry::Submenu { label, entries } =
            upload_limit_entry(&BandwidthPlan::Rate(1_000_000))
        else {
            panic!("a submenu");
        };
        assert_eq!(label, "Upload limit: 1 MB/s");
        let ticked: Vec<&MenuEntry> = entries
            .iter()
            .filter(|e| matches!(e, MenuEntry::Item { label, .. } if label.starts_with('✓')))
            .collect();
        assert_eq!(
            ticked,
            [&MenuEntry::item(
                "✓ Limit upload to 1 MB/s",
                MenuAction::LimitUpload(1_000_000)
            )]
        );
        let MenuEntry::Submenu { label, entries } =
            upload_limit_entry(&BandwidthPlan::parse("00:00,2MB/s").unwrap())
        else {
            panic!("a submenu");
        };
        assert_eq!(label, "Upload limit: 2 MB/s now (timetable 00:00,2MB/s)");
        assert_eq!(
            entries[1],
            MenuEntry::Label("A choice below replaces it".into())
        );
    }

    #[test]
    fn short_names_tell_folder_pairs_apart() {
        assert_eq!(
            short_name(Path::new("/home/ann/Imagen/Interiors/Inbox")),
            "Interiors/Inbox"
        );
    }
}
