//! What the dashboard knows beyond the journal, kept live from the event stream: the
//! folders settling and each shoot's transfer; and the "something changed" stream the
//! pages listen to.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures_util::Stream;
use tokio::sync::broadcast;

use super::AppState;
use crate::events::activity::{Activity, ShootsNow};
use crate::events::{Event, EventKind};
use crate::journal::ShootId;

/// A folder that never settles (deleted half-way) stops being shown after this.
const SETTLING_FORGOTTEN_AFTER: Duration = Duration::from_secs(30 * 60);

/// What the journal does not know yet: folders settling, and live progress.
#[derive(Default)]
pub(super) struct Live {
    pub(super) settling: BTreeMap<String, Instant>,
    shoots: ShootsNow,
}

impl Live {
    pub(super) fn observe(&mut self, event: &Event) {
        self.shoots.observe(event);
        match &event.kind {
            EventKind::Settling => {
                self.settling.insert(event.shoot.clone(), Instant::now());
            }
            EventKind::Discovered | EventKind::Skipped { .. } | EventKind::NothingNew => {
                self.settling.remove(&event.shoot);
            }
            _ => {}
        }
        self.settling
            .retain(|_, since| since.elapsed() < SETTLING_FORGOTTEN_AFTER);
    }

    /// A shoot's transfer or edit under way, for its row.
    pub(super) fn progress(&self, id: ShootId) -> Option<&Activity> {
        self.shoots
            .get(id)
            .filter(|activity| activity.is_transfer_or_edit())
    }
}

/// Keeps `Live` current for as long as the dashboard runs, and only then tells the
/// pages, so a page that fetches its rows on hearing of a change sees that change.
pub(super) async fn follow(state: AppState, mut events: broadcast::Receiver<Event>) {
    loop {
        match events.recv().await {
            Ok(event) => {
                state.live.lock().expect("not poisoned").observe(&event);
                // Nobody listening (no page open) is not an error.
                let _ = state.changes.send(change_message(&event));
            }
            Err(broadcast::error::RecvError::Lagged(_)) => {}
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

/// What a page hears of an event: which shoot and what happened (no path, no secret).
fn change_message(event: &Event) -> String {
    serde_json::json!({
        "shoot": event.shoot,
        "shoot_id": event.shoot_id,
        "event": kind_name(&event.kind),
    })
    .to_string()
}

/// The agent's events as server-sent events (the page only needs to know "something
/// changed"; no path or secret is in them).
pub(super) async fn events(
    State(state): State<AppState>,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let receiver = state.changes.subscribe();
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        let data = match receiver.recv().await {
            Ok(data) => data,
            // Some changes were dropped: the page still needs to hear that it is stale.
            Err(broadcast::error::RecvError::Lagged(_)) => r#"{"event":"lagged"}"#.to_owned(),
            Err(broadcast::error::RecvError::Closed) => return None,
        };
        Some((Ok(SseEvent::default().data(data)), receiver))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

fn kind_name(kind: &EventKind) -> &'static str {
    match kind {
        EventKind::Discovered => "discovered",
        EventKind::Settling => "settling",
        EventKind::Uploading(_) => "uploading",
        EventKind::Editing { .. } => "editing",
        EventKind::Downloading { .. } => "downloading",
        EventKind::Done { .. } => "done",
        EventKind::Failed { .. } => "failed",
        EventKind::Skipped { .. } => "skipped",
        EventKind::NothingNew => "nothing_new",
        EventKind::Held { .. } => "held",
        EventKind::InboxMissing { .. } => "inbox_missing",
        EventKind::InboxBack { .. } => "inbox_back",
        EventKind::FolderStopped { .. } => "folder_stopped",
        EventKind::Waiting { .. } => "waiting",
        EventKind::JournalBack => "journal_back",
        EventKind::Paused => "paused",
        EventKind::Resumed => "resumed",
        EventKind::UploadsHeld { .. } => "uploads_held",
        EventKind::UploadsFree => "uploads_free",
        EventKind::ConfigApplied => "config_applied",
        EventKind::ConfigRejected { .. } => "config_rejected",
        EventKind::NeedsApiKey { .. } => "needs_api_key",
    }
}
