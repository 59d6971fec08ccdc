//! Where a journal is: the SQLite file in the data folder, or the studio's shared
//! PostgreSQL database with this agent's name and the hot folders it knows by id.

use std::path::{Path, PathBuf};

use crate::config::{Config, JournalSettings};

#[derive(Debug, Clone, PartialEq)]
pub enum Location {
    DataFolder(PathBuf),
    Shared(SharedPlace),
}

/// The studio's journal as one agent sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct SharedPlace {
    pub settings: JournalSettings,
    /// Each hot folder's id with its inbox and outbox on this machine: shoots are stored
    /// by id and path inside, so machines that mount the share elsewhere agree.
    pub folders: Vec<(String, PathBuf, PathBuf)>,
}

impl Location {
    pub fn of(config: &Config) -> Location {
        if !config.journal.is_shared() {
            return Location::DataFolder(config.agent.data_dir.clone());
        }
        Location::Shared(SharedPlace {
            settings: config.journal.clone(),
            folders: config
                .folders
                .iter()
                .filter_map(|f| Some((f.id.clone()?, f.inbox.clone(), f.outbox.clone())))
                .collect(),
        })
    }

    /// What to name in a message about this journal (never a password).
    pub fn describe(&self) -> String {
        match self {
            Location::DataFolder(dir) => format!("the journal in {}", dir.display()),
            Location::Shared(place) => format!(
                "the studio's journal at {}",
                place.settings.url_for_display().unwrap_or_default()
            ),
        }
    }

    pub fn data_folder(&self) -> Option<&Path> {
        match self {
            Location::DataFolder(dir) => Some(dir),
            Location::Shared(_) => None,
        }
    }
}
