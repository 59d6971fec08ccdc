//! The controls of the agent's own process: the tray and the dashboard share one
//! journal handle (kept while the config names the same journal: one SQLite file or
//! one PostgreSQL connection, not one per click), and every control written through it
//! nudges this process's scheduler, which then acts at once instead of at its next
//! tick.

use std::sync::Arc;

use tokio::sync::Notify;

use super::{Control, ControlError, Surface};
use crate::config::Config;
use crate::journal::{self, JournalControls, Kept};

/// Cheap to clone: every clone shares the handle and the nudge.
#[derive(Clone, Default)]
pub struct Controls {
    journal: Arc<Kept<dyn JournalControls>>,
    nudge: Arc<Notify>,
}

impl Controls {
    /// The controls of the journal `config` names, for `surface`.
    pub fn for_config(&self, config: &Config, surface: Surface) -> Result<Control, ControlError> {
        let open = |location: &_| {
            journal::open(location).map(|journal| Some(journal as Arc<dyn JournalControls>))
        };
        let journal = (self.journal.get(config, open)?).expect("open always makes one");
        let mut control = Control::new(journal, surface);
        control.nudge = Some(self.nudge.clone());
        Ok(control)
    }

    /// What the scheduler waits on to act at once on a control.
    pub fn nudge(&self) -> Arc<Notify> {
        self.nudge.clone()
    }
}
