//! What each shoot is doing now, read from the event stream in one place for the
//! tray's glance, the dashboard's live rows and the demo's progress bars. An upload's
//! rate and the time it has left are measured over its last few seconds.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use crate::events::{Event, EventKind, UploadProgress};
use crate::journal::ShootId;

/// What one shoot in flight is doing: the last event that said so (found, uploading,
/// editing, downloading, or waiting a problem out), and while uploading, how fast.
#[derive(Debug, Clone, PartialEq)]
pub struct Activity(EventKind, Option<Speed>);

/// An upload's pace: bytes per second over the last few seconds, and the time left at it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Speed {
    pub bytes_per_second: u64,
    pub left: Duration,
}

/// How far back an upload's rate is measured.
const RATE_WINDOW: Duration = Duration::from_secs(15);

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
        says.then(|| Activity(kind.clone(), None))
    }

    /// The event it was read from.
    pub fn kind(&self) -> &EventKind {
        &self.0
    }

    /// An upload's pace, once measured.
    pub fn speed(&self) -> Option<Speed> {
        self.1
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

    /// Whether the shoot waits a problem out (and tries again by itself).
    pub fn is_waiting(&self) -> bool {
        matches!(self.0, EventKind::Waiting { .. })
    }

    /// Whether the shoot is moving data or waiting on Imagen's edit.
    pub fn is_transfer_or_edit(&self) -> bool {
        matches!(
            self.0,
            EventKind::Uploading(_) | EventKind::Editing { .. } | EventKind::Downloading { .. }
        )
    }

    /// The words for it: "uploading 3/10 photos", "Imagen is editing",
    /// "downloading 2/10 edited photos", "waiting: …".
    pub fn words(&self) -> String {
        match &self.0 {
            EventKind::Uploading(UploadProgress {
                files_done,
                files_total,
                ..
            }) => match self.1 {
                Some(speed) => format!(
                    "uploading {files_done}/{files_total}, {}, {}",
                    crate::config::rate_words(speed.bytes_per_second),
                    time_left(speed.left)
                ),
                None => format!("uploading {files_done}/{files_total} photos"),
            },
            EventKind::Editing { .. } => "Imagen is editing".into(),
            EventKind::Downloading { done, total } => {
                format!("downloading {done}/{total} edited photos")
            }
            EventKind::Waiting {
                reason,
                retry_at_ms,
                ..
            } => match retry_at_ms.map(retry_words) {
                Some(retry) => format!("waiting: {reason}; {retry}"),
                None => format!("waiting: {reason}"),
            },
            _ => "queued".into(),
        }
    }
}

/// "trying again in 12 s", "trying again now": from the time the next try is due.
pub fn retry_words(at_ms: i64) -> String {
    let seconds = (at_ms - crate::journal::now_ms()).div_euclid(1000);
    match seconds {
        ..1 => "trying again now".into(),
        1..120 => format!("trying again in {seconds} s"),
        _ => format!("trying again in {} min", (seconds + 59) / 60),
    }
}

/// "about 4 min left", "about 40 s left", "about 2 h left".
fn time_left(left: Duration) -> String {
    let seconds = left.as_secs();
    match seconds {
        0..60 => format!("about {} s left", seconds.max(1)),
        60..3600 => format!("about {} min left", seconds.div_ceil(60)),
        _ => format!("about {:.1} h left", seconds as f64 / 3600.0),
    }
}

/// Every shoot in flight, by id, with its name as people read it.
#[derive(Debug, Default, Clone)]
pub struct ShootsNow {
    shoots: BTreeMap<ShootId, (String, Activity)>,
    /// Each uploading shoot's recent (when, bytes sent) samples.
    samples: BTreeMap<ShootId, VecDeque<(Instant, u64)>>,
}

impl ShootsNow {
    pub fn observe(&mut self, event: &Event) {
        self.observe_at(event, Instant::now());
    }

    /// [`ShootsNow::observe`], at `now` (tests drive the clock).
    pub fn observe_at(&mut self, event: &Event, now: Instant) {
        let Some(id) = event.shoot_id else { return };
        if Activity::ends(&event.kind) {
            self.shoots.remove(&id);
            self.samples.remove(&id);
        } else if let Some(mut activity) = Activity::after(&event.kind) {
            match &event.kind {
                EventKind::Uploading(progress) => activity.1 = self.pace(id, progress, now),
                _ => {
                    self.samples.remove(&id);
                }
            }
            let name = crate::words::printable(&event.shoot).into_owned();
            self.shoots.insert(id, (name, activity));
        }
    }

    /// The upload's rate over its last seconds, once there is a second of them.
    fn pace(&mut self, id: ShootId, progress: &UploadProgress, now: Instant) -> Option<Speed> {
        let samples = self.samples.entry(id).or_default();
        samples.push_back((now, progress.bytes_done));
        while samples.len() > 2
            && samples
                .get(1)
                .is_some_and(|(at, _)| now.duration_since(*at) >= RATE_WINDOW)
        {
            samples.pop_front();
        }
        let (since, from) = *samples.front()?;
        let elapsed = now.duration_since(since);
        let sent = progress.bytes_done.checked_sub(from)?;
        if elapsed < Duration::from_secs(1) || sent == 0 {
            return None;
        }
        let bytes_per_second = (sent as f64 / elapsed.as_secs_f64()) as u64;
        let remaining = progress.bytes_total.saturating_sub(progress.bytes_done);
        Some(Speed {
            bytes_per_second,
            left: Duration::from_secs_f64(remaining as f64 / bytes_per_second.max(1) as f64),
        })
    }

    /// Forgets every upload's pace: with nothing moving, a rate or a time left would
    /// be a guess (it is measured again once bytes move).
    pub fn forget_pace(&mut self) {
        self.samples.clear();
        for (_, activity) in self.shoots.values_mut() {
            activity.1 = None;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn uploading(files_done: u64, bytes_done: u64) -> Event {
        Event {
            shoot: "123 Main St".into(),
            shoot_id: Some(1),
            kind: EventKind::Uploading(UploadProgress {
                files_done,
                files_total: 42,
                bytes_done,
                bytes_total: 42 * 10_000_000,
            }),
        }
    }

    #[test]
    fn an_upload_says_its_rate_and_time_left_once_it_has_a_second_of_history() {
        let mut now = ShootsNow::default();
        let start = Instant::now();
        now.observe_at(&uploading(0, 0), start);
        assert_eq!(now.get(1).unwrap().words(), "uploading 0/42 photos");
        now.observe_at(&uploading(18, 180_000_000), start + Duration::from_secs(58));
        // 180 MB in 58 s: 3.1 MB/s; 240 MB left: about 78 s, said in minutes.
        assert_eq!(
            now.get(1).unwrap().words(),
            "uploading 18/42, 3.1 MB/s, about 2 min left"
        );
        // Nothing moving (Imagen away): no rate or time left is claimed.
        now.forget_pace();
        assert_eq!(now.get(1).unwrap().words(), "uploading 18/42 photos");
    }
}
