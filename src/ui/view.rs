//! The tray's whole picture at one moment: icon, status line and menu, built from the
//! event stream (live progress) and the journal (pause, failures, recent shoots). The
//! journal is read only when something changed, so an idle tray costs nothing.

use std::sync::Arc;

use crate::config::Config;
use crate::events::Event;
use crate::journal::{self, JournalView, ShootState, ShootsWanted};
use crate::ui::glance::{Glance, IconKind};
use crate::ui::menu::{self, MenuEntry, RECENT_SHOOTS};

#[derive(Debug, Clone, PartialEq)]
pub struct TrayView {
    pub icon: IconKind,
    pub status: String,
    pub menu: Vec<MenuEntry>,
}

#[derive(Default)]
pub struct ViewSource {
    glance: Glance,
    /// None until the agent has made the journal.
    journal: journal::ViewCache,
}

impl ViewSource {
    pub fn observe(&mut self, event: &Event) {
        self.glance.observe(event);
    }

    /// The journal's change counter, to tell whether another process wrote to it.
    pub fn journal_version(&mut self, config: &Config) -> Option<i64> {
        self.journal(config)?.change_mark().ok()
    }

    fn journal(&mut self, config: &Config) -> Option<Arc<dyn JournalView>> {
        self.journal.view(config)
    }

    pub fn view(&mut self, config: Option<&Config>) -> TrayView {
        let mut recent = Vec::new();
        let mut not_sent = Vec::new();
        let was_paused = self.glance.is_paused();
        if let Some(config) = config
            && let Some(journal) = self.journal(config)
        {
            let paused = journal.paused().unwrap_or(was_paused);
            let failed = journal.count_in(ShootState::Failed).unwrap_or(0);
            let held = journal.count_in(ShootState::Held).unwrap_or(0);
            // A shoot of several projects is one entry, told by the one that needs the
            // user most: the newest folders are read, each with all its projects.
            let rows = (journal.shoots(&ShootsWanted::newest(RECENT_SHOOTS)))
                .map(|page| page.rows)
                .unwrap_or_default();
            recent = journal::ShootGroup::of(rows)
                .into_iter()
                .take(RECENT_SHOOTS)
                .collect();
            not_sent = journal.not_sent().unwrap_or_default();
            not_sent.truncate(RECENT_SHOOTS);
            self.glance.set_from_journal(paused, failed, held);
            self.glance
                .set_sent(journal::SentForEditing::of(journal.as_ref()).ok());
        }
        let folders = config.map(|c| c.folders.as_slice()).unwrap_or_default();
        TrayView {
            icon: self.glance.icon(),
            status: self.glance.status_line(),
            menu: menu::build(
                &self.glance,
                folders,
                config.map(|c| &c.network),
                &recent,
                &not_sent,
            ),
        }
    }
}
