//! Keeps the bandwidth limits in force: the rate each `[network]` limit gives now (a
//! fixed rate, or the timetable's entry for this minute by the local clock) is put into
//! the client's shared limiters, and again at every minute and whenever the settings
//! change. Transfers under way go on at the new rate.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::following::Following;
use crate::api::throttle::{Throttle, Throttles};
use crate::config::{BandwidthPlan, NetworkSettings, rate_words};

/// Applies `settings` now, then follows the clock and its changes.
pub(super) fn follow(
    throttles: Throttles,
    mut settings: watch::Receiver<NetworkSettings>,
) -> Following {
    Following::spawn(async move {
        loop {
            let now = settings.borrow_and_update().clone();
            apply("upload", &throttles.upload, &now.upload_limit);
            apply("download", &throttles.download, &now.download_limit);
            tokio::select! {
                changed = settings.changed() => {
                    if changed.is_err() {
                        return;
                    }
                }
                _ = tokio::time::sleep(until_next_minute()) => {}
            }
        }
    })
}

fn apply(direction: &str, throttle: &Arc<Throttle>, plan: &BandwidthPlan) {
    let rate = plan.rate_now();
    if throttle.rate() == rate {
        return;
    }
    throttle.set(rate);
    match rate {
        Some(rate) => tracing::info!("{direction} limit now {}", rate_words(rate)),
        None => tracing::info!("{direction} limit now off"),
    }
}

/// Timetable entries are in whole minutes: look again as the next one starts.
fn until_next_minute() -> Duration {
    use chrono::Timelike;
    let now = chrono::Local::now();
    let into_minute = Duration::from_secs(u64::from(now.second()))
        + Duration::from_nanos(u64::from(now.nanosecond() % 1_000_000_000));
    Duration::from_secs(60).saturating_sub(into_minute) + Duration::from_millis(50)
}
