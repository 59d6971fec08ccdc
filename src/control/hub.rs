//! The controls of the agent's own process: the tray and the dashboard share one
//! journal handle (kept while the config names the same journal: one SQLite file or
//! one PostgreSQL connection, not one per click), and every control written through it
//! nudges this process's scheduler, which then acts at once instead of at its next
//! tick.

use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use super::{Control, ControlError, Surface};
use crate::config::Config;
use crate::journal::{self, JournalControls, Location};

/// Cheap to clone: every clone shares the handle and the nudge.
#[derive(Clone, Default)]
pub struct Controls {
    journal: Arc<Mutex<Option<(Location, Arc<dyn JournalControls>)>>>,
    nudge: Arc<Notify>,
}

impl Controls {
    /// The controls of the journal `config` names, for `surface`.
    pub fn for_config(&self, config: &Config, surface: Surface) -> Result<Control, ControlError> {
        let location = Location::of(config);
        let mut held = self.journal.lock().unwrap_or_else(|p| p.into_inner());
        let journal = match held.as_ref() {
            Some((at, journal)) if *at == location => journal.clone(),
            _ => {
                let journal: Arc<dyn JournalControls> = journal::open(&location)?;
                *held = Some((location, journal.clone()));
                journal
            }
        };
        let mut control = Control::new(journal, surface);
        control.nudge = Some(self.nudge.clone());
        Ok(control)
    }

    /// What the scheduler waits on to act at once on a control.
    pub fn nudge(&self) -> Arc<Notify> {
        self.nudge.clone()
    }
}
