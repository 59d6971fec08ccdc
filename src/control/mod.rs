//! The user's controls, written once for the CLI, the tray and the dashboard: pause,
//! resume, retry failed shoots and "Send anyway" for held ones. Each is a journal
//! write, so it survives restarts and reaches the whole studio; in the agent's own
//! process it also nudges the scheduler ([`Controls`]), which acts at once (another
//! process's agent notices within a second). A control that names a shoot or folder
//! that is not in the state it acts on says why, and changes nothing. Where its
//! explanations are read is its [`Surface`].

mod hub;
mod surface;

pub use hub::Controls;
pub use surface::Surface;

use std::path::PathBuf;
use std::sync::Arc;

use crate::journal::{
    self, JournalControls, JournalError, RetryScope, ShootId, ShootState, ShootsWanted,
};
use crate::words::{count, printable};

#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(
        "imagen-sync has no shoot folder named \"{}\"; {}",
        printable(.0),
        .1.shoot_list()
    )]
    UnknownFolder(String, Surface),
    /// The named shoot(s) exist but none is in the state the control acts on.
    #[error("{0}; nothing was changed")]
    NotApplicable(String),
}

/// What a retry or "Send anyway" did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    pub shoots: usize,
    /// `failed` or `held`: what kind of shoot went on.
    pub what: &'static str,
}

impl Sent {
    /// "2 failed shoots queued again.", for people.
    pub fn describe(&self) -> String {
        if self.shoots == 0 {
            return format!("No {} shoots: nothing to do.", self.what);
        }
        let shoots = count(
            self.shoots as u64,
            &format!("{} shoot", self.what),
            &format!("{} shoots", self.what),
        );
        match self.what {
            "held" => format!("{shoots} sent past the spend guard."),
            _ => format!("{shoots} queued again."),
        }
    }
}

pub struct Control {
    journal: Arc<dyn JournalControls>,
    /// Where its explanations are read.
    surface: Surface,
    /// Wakes this process's agent once a control is written (`None` from the CLI,
    /// whose agent is another process).
    nudge: Option<Arc<tokio::sync::Notify>>,
}

impl Control {
    pub fn new(journal: Arc<dyn JournalControls>, surface: Surface) -> Control {
        Control {
            journal,
            surface,
            nudge: None,
        }
    }

    /// Tells this process's agent that a control was written.
    fn nudge(&self) {
        if let Some(nudge) = &self.nudge {
            nudge.notify_one();
        }
    }

    /// The controls of the journal at `location` (made if there is none yet), for
    /// `surface`.
    pub fn open(location: &journal::Location, surface: Surface) -> Result<Control, ControlError> {
        Ok(Control::new(journal::open(location)?, surface))
    }

    /// Pause holds every new shoot and upload (in-flight requests finish); it is
    /// remembered across restarts.
    pub fn set_paused(&self, paused: bool) -> Result<(), ControlError> {
        self.journal.set_paused(paused)?;
        self.nudge();
        Ok(())
    }

    /// "Resume anyway": uploads waiting for an unmetered network or mains power go on
    /// until the network or power changes (the running agent reads it within a second).
    pub fn resume_anyway(&self) -> Result<(), ControlError> {
        self.journal
            .set_switch(journal::Switch::ResumeAnyway, true)?;
        self.nudge();
        Ok(())
    }

    /// Failed shoots go on: a failed edit as a new project, the rest where they stopped.
    pub fn retry(&self, which: RetryScope<'_>) -> Result<Sent, ControlError> {
        let shoots = self.journal.retry(which)?;
        self.nudge();
        self.explain_none(which, shoots, ShootState::Failed)
    }

    /// Held shoots go on past the spend guard's daily limits.
    pub fn send_anyway(&self, which: RetryScope<'_>) -> Result<Sent, ControlError> {
        let shoots = self.journal.send_anyway(which)?;
        self.nudge();
        self.explain_none(which, shoots, ShootState::Held)
    }

    /// The folder to show for a shoot: its outbox folder, or before its first photo
    /// lands (the folder does not exist yet) the outbox around it.
    pub fn outbox_folder(&self, id: ShootId) -> Result<PathBuf, ControlError> {
        let outbox = self.journal.shoot(id)?.outbox;
        Ok(match outbox.is_dir() {
            true => outbox,
            false => outbox.parent().map(PathBuf::from).unwrap_or_default(),
        })
    }

    /// When a control that named shoots found none in `wanted`, says what they are.
    fn explain_none(
        &self,
        which: RetryScope<'_>,
        shoots: usize,
        wanted: ShootState,
    ) -> Result<Sent, ControlError> {
        let what = wanted.as_str();
        if shoots > 0 || which == RetryScope::All {
            return Ok(Sent { shoots, what });
        }
        let (folder, id) = which.filters();
        let rows_wanted = match folder {
            Some(folder) => ShootsWanted::folder(folder),
            None => ShootsWanted::all(),
        };
        let named: Vec<_> = (self.journal.shoots(&rows_wanted)?.rows.into_iter())
            .map(|row| row.shoot)
            .filter(|s| folder.is_none_or(|f| s.folder == f) && id.is_none_or(|i| s.id == i))
            .collect();
        let Some(first) = named.first() else {
            return Err(match (folder, id) {
                (Some(folder), _) => ControlError::UnknownFolder(folder.to_owned(), self.surface),
                (_, Some(id)) => JournalError::NoSuchShoot(id).into(),
                _ => unreachable!("RetryScope::All returned above"),
            });
        };
        let states: Vec<&str> = named.iter().map(|s| s.state_words()).collect();
        let retrying = wanted == ShootState::Failed;
        let hint = if retrying && named.iter().any(|s| s.state == ShootState::Held) {
            format!(
                "; it is held by the spend guard: {} sends it",
                self.surface.send_anyway(&first.folder)
            )
        } else if retrying && named.iter().any(|s| s.is_done_with_problems()) {
            "; its good photos were delivered, and sending it again would bill it twice. \
             The report in its outbox folder names the outputs Imagen misnamed"
                .to_owned()
        } else {
            String::new()
        };
        let which_shoots = match states.len() {
            1 => "shoot is",
            _ => "shoots are",
        };
        Err(ControlError::NotApplicable(format!(
            "\"{}\" has no {what} shoot (its {which_shoots}: {}){hint}",
            printable(&first.folder),
            states.join(", ")
        )))
    }
}
