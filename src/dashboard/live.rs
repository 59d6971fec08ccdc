//! What the dashboard knows beyond the journal, kept live from the event stream: the
//! same [`Glance`] the tray renders (folders settling, each shoot's transfer, Imagen
//! away, pause and problems); and the "something changed" stream the pages listen to.

use std::convert::Infallible;

use axum::extract::State;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures_util::Stream;
use tokio::sync::broadcast;

use super::AppState;
use crate::events::activity::Activity;
use crate::events::{Event, EventKind};
use crate::journal::ShootId;
pub(super) use crate::ui::glance::Glance;

/// A shoot's transfer or edit under way, for its row.
pub(super) fn progress(glance: &Glance, id: ShootId) -> Option<&Activity> {
    glance
        .shoots()
        .get(id)
        .filter(|activity| activity.is_transfer_or_edit() || activity.is_waiting())
}

/// Keeps the glance current for as long as the dashboard runs, and only then tells the
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
        EventKind::LiveEnded(_) => "live_ended",
        EventKind::LiveShoot(_) => "live_shoot",
        EventKind::Failed { .. } => "failed",
        EventKind::Skipped { .. } => "skipped",
        EventKind::NothingNew => "nothing_new",
        EventKind::Vanished => "vanished",
        EventKind::Held { .. } => "held",
        EventKind::InboxMissing { .. } => "inbox_missing",
        EventKind::InboxBack { .. } => "inbox_back",
        EventKind::FolderStopped { .. } => "folder_stopped",
        EventKind::Waiting { .. } => "waiting",
        EventKind::JournalBack => "journal_back",
        EventKind::ImagenAway { .. } => "imagen_away",
        EventKind::ImagenBack => "imagen_back",
        EventKind::DashboardMoved { .. } => "dashboard_moved",
        EventKind::Paused => "paused",
        EventKind::Resumed => "resumed",
        EventKind::UploadsHeld { .. } => "uploads_held",
        EventKind::UploadsFree => "uploads_free",
        EventKind::ConfigApplied => "config_applied",
        EventKind::ConfigRejected { .. } => "config_rejected",
        EventKind::NeedsApiKey { .. } => "needs_api_key",
    }
}
