//! The glance written down for other processes: the agent keeps `now.json` in its data
//! folder current with what only it knows (folders being copied in, Imagen away), so
//! `imagen-sync status` says the same as the tray and the dashboard. Written atomically
//! and only when it changed; gone with the agent that wrote it (status checks that an
//! agent runs before it reads the file).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, watch};

use crate::config::Config;
use crate::events::Event;
use crate::ui::glance::Glance;

/// What `status` reads of the agent's glance.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Shoot folders being copied in, not yet shoots.
    pub settling: Vec<String>,
    /// "No connection to Imagen" / "Imagen is not answering", while it lasts.
    pub imagen_away: Option<Away>,
    /// Live shoots open now, by folder name.
    #[serde(default)]
    pub live: std::collections::BTreeMap<String, crate::events::LiveNow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Away {
    pub words: String,
    pub since_ms: i64,
}

impl Snapshot {
    pub fn of(glance: &Glance) -> Snapshot {
        Snapshot {
            settling: glance.settling().map(str::to_owned).collect(),
            imagen_away: glance.offline().map(|(silent, since_ms)| Away {
                words: crate::words::imagen_away(silent).to_owned(),
                since_ms,
            }),
            live: glance.live().clone(),
        }
    }

    fn file(data_dir: &Path) -> PathBuf {
        data_dir.join("now.json")
    }

    /// What the agent on `data_dir` last wrote (nothing when it never did).
    pub fn read(data_dir: &Path) -> Snapshot {
        std::fs::read(Snapshot::file(data_dir))
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }
}

/// Keeps `now.json` current from the events, in the data folder of the config in
/// force, for as long as the agent runs.
pub fn keep(
    mut events: broadcast::Receiver<Event>,
    config: watch::Receiver<Option<Arc<Config>>>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut glance = Glance::default();
        let mut written = Snapshot::default();
        loop {
            match events.recv().await {
                Ok(event) => glance.observe(&event),
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return,
            }
            let now = Snapshot::of(&glance);
            let data_dir = config.borrow().as_ref().map(|c| c.agent.data_dir.clone());
            if let (true, Some(data_dir)) = (now != written, data_dir) {
                let text = serde_json::to_string(&now).unwrap_or_default();
                match crate::files::atomic_file::write_text(&Snapshot::file(&data_dir), &text) {
                    Ok(()) => written = now,
                    Err(error) => tracing::debug!(%error, "cannot write the glance for status"),
                }
            }
        }
    })
}
