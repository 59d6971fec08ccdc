//! `[[folders]] live = true`: a hot folder whose shoots arrive photo by photo over hours
//! (a camera over Wi-Fi or FTP, an event), edited in batches as they come; and
//! `[agent] keep_awake`, the machine kept from idle sleep while work is under way.

use std::time::Duration;

pub const DEFAULT_LIVE_BATCH_SECONDS: u64 = 60;
pub const DEFAULT_LIVE_IDLE_MINUTES: f64 = 30.0;

/// How a hot folder takes its shoots: whole once settled, or live in batches.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LiveSettings {
    /// Every shoot folder of this hot folder is live.
    pub on: bool,
    /// A batch goes up at most this long after its first photo arrived.
    pub batch_seconds: u64,
    /// A live shoot is finished after this long without a new photo.
    pub idle_minutes: f64,
}

impl Default for LiveSettings {
    fn default() -> Self {
        LiveSettings {
            on: false,
            batch_seconds: DEFAULT_LIVE_BATCH_SECONDS,
            idle_minutes: DEFAULT_LIVE_IDLE_MINUTES,
        }
    }
}

impl LiveSettings {
    pub fn batch(&self) -> Duration {
        Duration::from_secs(self.batch_seconds)
    }

    pub fn idle(&self) -> Duration {
        Duration::from_secs_f64(self.idle_minutes * 60.0)
    }

    /// A batch window as given, or what is wrong with it.
    pub fn check_batch_seconds(seconds: u64) -> Result<u64, &'static str> {
        match (1..=3600).contains(&seconds) {
            true => Ok(seconds),
            false => Err("must be between 1 and 3600 seconds"),
        }
    }

    /// An idle time as given, or what is wrong with it.
    pub fn check_idle_minutes(minutes: f64) -> Result<f64, &'static str> {
        match (0.05..=24.0 * 60.0).contains(&minutes) {
            true => Ok(minutes),
            false => Err("must be between 0.05 and 1440 minutes"),
        }
    }

    /// The lines of a `[[folders]]` block, commented out while they are the defaults of
    /// a hot folder that is not live.
    pub fn render(&self) -> String {
        let comment = if *self == LiveSettings::default() {
            "# "
        } else {
            ""
        };
        format!(
            "# Live shoots (an event, a camera sending over Wi-Fi or FTP): photos are edited in\n\
             # batches as they arrive; a batch goes up at most live_batch_seconds after its\n\
             # first photo, and the shoot is finished after live_idle_minutes without a photo.\n\
             {comment}live = {}\n{comment}live_batch_seconds = {}\n{comment}live_idle_minutes = {}\n",
            if comment.is_empty() { self.on } else { true },
            self.batch_seconds,
            self.idle_minutes,
        )
    }
}
