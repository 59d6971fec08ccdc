//! What each shoot is doing now, read from the event stream in one place for the
//! tray's glance, the dashboard's live rows and the demo's progress bars.

use std::collections::BTreeMap;

use crate::events::{Event, EventKind, UploadProgress};
use crate::journal::ShootId;

/// What one shoot in flight is doing: the last event that said so (found, uploading,
/// editing, downloading, or waiting a problem out).
#[derive(Debug, Clone, PartialEq)]
pub struct Activity(EventKind);

impl Activity {
    /// What a shoot is doing after `kind`; `None` when the event does not say.
    pub fn after(kind: &EventKind) -> Option<Activity> {
        let says = matches!(
            kind,
            EventKind::Discovered
                | EventKind::Uploading(_)
                | EventKind::Editing { .. }
                | EventKind::Downloading { .. }
                | EventKind::Waiting { .. }
        );
        says.then(|| Activity(kind.clone()))
    }

    /// The event it was read from.
    pub fn kind(&self) -> &EventKind {
        &self.0
    }

    /// Whether `kind` ends a shoot's activity: done, failed, skipped or held.
    pub fn ends(kind: &EventKind) -> bool {
        matches!(
            kind,
            EventKind::Done { .. }
                | EventKind::Failed { .. }
                | EventKind::Skipped { .. }
                | EventKind::Held { .. }
        )
    }

    /// One word for what it is doing, to count shoots by ("3 shoots uploading").
    pub fn verb(&self) -> &'static str {
        match self.0 {
            EventKind::Discovered => "queued",
            EventKind::Uploading(_) => "uploading",
            EventKind::Editing { .. } => "editing",
            EventKind::Downloading { .. } => "downloading",
            _ => "waiting",
        }
    }

    /// How far a transfer is, when one is under way.
    pub fn percent(&self) -> Option<u64> {
        match self.0 {
            EventKind::Uploading(UploadProgress {
                bytes_done,
                bytes_total,
                ..
            }) => Some((bytes_done * 100).checked_div(bytes_total).unwrap_or(0)),
            EventKind::Downloading { done, total } => {
                Some((done * 100).checked_div(total).unwrap_or(0))
            }
            _ => None,
        }
    }

    /// Whether the shoot is moving data or waiting on Imagen's edit.
    pub fn is_transfer_or_edit(&self) -> bool {
        matches!(
            self.0,
            EventKind::Uploading(_) | EventKind::Editing { .. } | EventKind::Downloading { .. }
        )
    }

    /// The words for it: "uploading 3/10 photos", "editing (Pending)",
    /// "downloading 2/10 edited photos", "waiting: …".
    pub fn words(&self) -> String {
        match &self.0 {
            EventKind::Uploading(UploadProgress {
                files_done,
                files_total,
                ..
            }) => format!("uploading {files_done}/{files_total} photos"),
            EventKind::Editing { status } => format!("editing ({status})"),
            EventKind::Downloading { done, total } => {
                format!("downloading {done}/{total} edited photos")
            }
            EventKind::Waiting { reason, .. } => format!("waiting: {reason}"),
            _ => "queued".into(),
        }
    }
}

/// Every shoot in flight, by id, with its name as people read it.
#[derive(Debug, Default, Clone)]
pub struct ShootsNow {
    shoots: BTreeMap<ShootId, (String, Activity)>,
}

impl ShootsNow {
    pub fn observe(&mut self, event: &Event) {
        let Some(id) = event.shoot_id else { return };
        if Activity::ends(&event.kind) {
            self.shoots.remove(&id);
        } else if let Some(activity) = Activity::after(&event.kind) {
            let name = crate::words::printable(&event.shoot).into_owned();
            self.shoots.insert(id, (name, activity));
        }
    }

    pub fn get(&self, id: ShootId) -> Option<&Activity> {
        self.shoots.get(&id).map(|(_, activity)| activity)
    }

    /// Name and activity of each shoot in flight, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Activity)> {
        self.shoots
            .values()
            .map(|(name, activity)| (name.as_str(), activity))
    }

    pub fn len(&self) -> usize {
        self.shoots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.shoots.is_empty()
    }
}
