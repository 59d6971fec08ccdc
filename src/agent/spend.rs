//! The spend guard: a runaway (a sync tool writing into the inbox, an outbox that
//! reaches back into it) must not turn into an unbounded bill. Before a shoot's project
//! is created, the photos sent in the last 24 hours and the follow-up projects of the
//! same shoot folder are counted from the journal (so the count survives restarts);
//! past a limit the shoot is held, not created, until the window allows it again or
//! the user says "Send anyway".

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::config::SpendLimits;
use crate::journal::{JournalError, JournalView, ShootRecord};

/// The window the daily limits count over.
pub const WINDOW: Duration = Duration::from_secs(24 * 3600);

/// Why creating `shoot`'s project now would pass a limit, or `None` when it may go.
/// A shoot the user sent anyway, or whose project may already exist, always goes.
pub fn over_limit(
    journal: &dyn JournalView,
    shoot: &ShootRecord,
    limits: SpendLimits,
) -> Result<Option<String>, JournalError> {
    if shoot.allow_over_limit || shoot.create_attempted {
        return Ok(None);
    }
    let since = SystemTime::now()
        .checked_sub(WINDOW)
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_millis() as i64);
    let spent = journal.spend_since(since, &shoot.inbox, &shoot.folder)?;
    // Each place it is shown adds its own way to send it now (see `Surface`).
    let send_anyway = "It goes on by itself when the limit allows, or now with Send anyway";
    if shoot.follow_up && limits.daily_follow_ups > 0 && spent.follow_ups >= limits.daily_follow_ups
    {
        return Ok(Some(format!(
            "the daily limit of {} follow-up projects for this shoot folder is reached ({} in \
             the last 24 hours; the follow-up limit is in Settings, daily_follow_up_limit), so \
             nothing was sent. New photos keep arriving in this shoot a few at a time, so it \
             looks like a live shoot (an event, a camera sending over Wi-Fi or FTP): to have \
             its photos edited in batches as they arrive, switch on \"Live shoots\" for this \
             hot folder in the dashboard's Settings, or add live = true to its [[folders]] \
             block in the config. If nothing should be adding photos, look for a sync tool \
             copying into the inbox. {send_anyway}.",
            limits.daily_follow_ups, spent.follow_ups
        )));
    }
    let photos = journal.files(shoot.id)?.len() as u64;
    if limits.daily_photos > 0 && spent.photos + photos > limits.daily_photos {
        return Ok(Some(format!(
            "the daily limit of {} photos would be passed by its {} ({} sent in the last 24 \
             hours; the limit is in Settings, daily_photo_limit), so nothing was sent. {send_anyway}.",
            limits.daily_photos,
            crate::words::count(photos, "photo", "photos"),
            spent.photos
        )));
    }
    if limits.confirm_above > 0 && photos > limits.confirm_above {
        return Ok(Some(format!(
            "{} is more than the {} to confirm before sending, so it waits for you: Send \
             anyway sends it, or move it out of the inbox",
            crate::words::count(photos, "photo", "photos"),
            limits.confirm_above
        )));
    }
    Ok(None)
}
