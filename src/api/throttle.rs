//! The bandwidth limiter every transfer of the agent shares, one for uploads and one
//! for downloads: a token bucket (governor's GCRA) over bytes. Its rate can change at
//! any moment (the timetable's times, a settings edit): transfers under way take their
//! next bytes at the new rate, nothing restarts.

use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};

use governor::{DefaultDirectRateLimiter, Quota};

/// The most bytes one wait covers: a large read is taken in pieces of this size.
const MAX_TAKE: u32 = 256 * 1024;

/// One direction's limiter; `None` inside is no limit.
#[derive(Debug, Default)]
pub struct Throttle {
    bucket: Mutex<Option<(u64, Arc<DefaultDirectRateLimiter>)>>,
}

impl Throttle {
    /// The rate in force, bytes per second (`None`: no limit).
    pub fn rate(&self) -> Option<u64> {
        self.bucket
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(|(rate, _)| *rate)
    }

    /// Puts `rate` in force from now (a rate already in force keeps its bucket).
    pub fn set(&self, rate: Option<u64>) {
        let mut bucket = self.bucket.lock().unwrap_or_else(|p| p.into_inner());
        if bucket.as_ref().map(|(current, _)| *current) == rate {
            return;
        }
        *bucket = rate.map(|rate| {
            let per_second = NonZeroU32::new(rate.clamp(1, u64::from(u32::MAX)) as u32)
                .expect("clamped above zero");
            // A burst of a fifth of a second, at least one piece: smooth, yet no piece
            // ever waits for more than the bucket holds.
            let burst = NonZeroU32::new((per_second.get() / 5).max(MAX_TAKE)).expect("non-zero");
            let limiter =
                DefaultDirectRateLimiter::direct(Quota::per_second(per_second).allow_burst(burst));
            // Start empty: a new limit holds from its first byte.
            let _ = limiter.check_n(burst);
            (rate, Arc::new(limiter))
        });
    }

    /// Waits until `bytes` may pass at the rate in force.
    pub async fn take(&self, bytes: usize) {
        let mut left = bytes as u64;
        while left > 0 {
            let piece = left.min(u64::from(MAX_TAKE)) as u32;
            let bucket = self
                .bucket
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .as_ref()
                .map(|(_, limiter)| limiter.clone());
            let Some(limiter) = bucket else {
                return;
            };
            if let Some(piece) = NonZeroU32::new(piece) {
                // The burst is never below MAX_TAKE, so a piece always fits.
                let _ = limiter.until_n_ready(piece).await;
            }
            left -= u64::from(piece);
        }
    }
}

/// The agent's two limiters, shared by every clone of the client.
#[derive(Debug, Clone, Default)]
pub struct Throttles {
    pub upload: Arc<Throttle>,
    pub download: Arc<Throttle>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[tokio::test]
    async fn a_limit_holds_transfers_to_its_rate_and_a_new_one_applies_at_once() {
        let throttle = Throttle::default();
        let started = Instant::now();
        throttle.take(10 << 20).await;
        assert!(
            started.elapsed() < Duration::from_millis(200),
            "no limit, no wait"
        );

        throttle.set(Some(1_000_000));
        let started = Instant::now();
        for _ in 0..8 {
            throttle.take(64 * 1024).await;
        }
        // 512 KiB at 1 MB/s, starting from an empty bucket: half a second at least.
        assert!(
            started.elapsed() >= Duration::from_millis(450),
            "{:?}",
            started.elapsed()
        );

        throttle.set(None);
        let started = Instant::now();
        throttle.take(10 << 20).await;
        assert!(
            started.elapsed() < Duration::from_millis(200),
            "lifted at once"
        );
        assert_eq!(throttle.rate(), None);
    }
}
