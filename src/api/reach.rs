//! Whether Imagen answers, as every request of a [`super::Client`] finds it, and the
//! watchdog that cuts a request which moves no bytes. A refused connection says at once
//! that Imagen cannot be reached; a request silent for [`SILENT_AFTER`] says Imagen is
//! not answering, and at [`CUT_AFTER`] it is cut (a transient network error, so it is
//! retried and its photo resumes). Any answer, even a refusal, says Imagen is back.
//! Clones of a client share one reach.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use super::ApiError;

/// Silence on a request for this long shows Imagen as not answering.
pub const SILENT_AFTER: Duration = Duration::from_secs(15);
/// Silence on a request for this long cuts it.
pub const CUT_AFTER: Duration = Duration::from_secs(30);

/// How a cut request's error begins (its reason), for the words that tell it apart.
pub(super) const CUT_REASON: &str = "nothing moved for";

/// What the latest requests found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    Answering,
    /// Connections are refused or cannot be made (no network, the host down).
    Unreachable {
        since: Instant,
    },
    /// Connections are open but nothing moves on them.
    Silent {
        since: Instant,
    },
}

impl Reach {
    pub fn is_answering(self) -> bool {
        self == Reach::Answering
    }

    /// Since when Imagen has not been answering.
    pub fn since(self) -> Option<Instant> {
        match self {
            Reach::Answering => None,
            Reach::Unreachable { since } | Reach::Silent { since } => Some(since),
        }
    }
}

/// The shared record of [`Reach`], to watch, and the watchdog's two thresholds.
#[derive(Debug, Clone)]
pub(super) struct ReachRecord {
    reach: Arc<watch::Sender<Reach>>,
    silent_after: Duration,
    cut_after: Duration,
}

impl Default for ReachRecord {
    fn default() -> Self {
        ReachRecord::with_thresholds(SILENT_AFTER, CUT_AFTER)
    }
}

impl ReachRecord {
    fn with_thresholds(silent_after: Duration, cut_after: Duration) -> Self {
        ReachRecord {
            reach: Arc::new(watch::channel(Reach::Answering).0),
            silent_after,
            cut_after,
        }
    }

    pub(super) fn subscribe(&self) -> watch::Receiver<Reach> {
        self.reach.subscribe()
    }

    pub(super) fn answered(&self) {
        self.reach.send_if_modified(|reach| {
            let changed = !reach.is_answering();
            *reach = Reach::Answering;
            changed
        });
    }

    /// A lost connection counts over a silent one (it says more), and an ongoing
    /// outage keeps its start.
    fn lost(&self, silent: bool) {
        self.reach.send_if_modified(|reach| {
            let since = reach.since().unwrap_or_else(Instant::now);
            let next = match (silent, *reach) {
                (true, Reach::Unreachable { .. }) => return false,
                (true, _) => Reach::Silent { since },
                (false, _) => Reach::Unreachable { since },
            };
            let changed = next != *reach;
            *reach = next;
            changed
        });
    }

    /// Runs one request under the watchdog: `moved` is touched whenever bytes move
    /// (none given: the request must answer within [`CUT_AFTER`] of being sent).
    /// What came of it is recorded.
    pub(super) async fn watch<T>(
        &self,
        during: &str,
        moved: Option<&Moved>,
        request: impl Future<Output = Result<T, ApiError>>,
    ) -> Result<T, ApiError> {
        let started = Moved::default();
        let moved = moved.unwrap_or(&started);
        moved.touch();
        let (silent_after, cut_after) = (self.silent_after, self.cut_after);
        let watchdog = async {
            loop {
                let silent_for = moved.silent_for();
                if silent_for >= cut_after {
                    return;
                }
                if silent_for >= silent_after {
                    self.lost(true);
                }
                let next = if silent_for < silent_after {
                    silent_after - silent_for
                } else {
                    cut_after - silent_for
                };
                tokio::time::sleep(next.max(Duration::from_millis(10))).await;
            }
        };
        tokio::select! {
            outcome = request => {
                match &outcome {
                    Err(ApiError::Network { unreachable: true, .. }) => self.lost(false),
                    Err(ApiError::Network { .. }) => {}
                    // Any other outcome is an answer (a local file's problem aside).
                    Err(ApiError::Io { .. } | ApiError::FileChanged { .. }) => {}
                    _ => self.answered(),
                }
                outcome
            }
            () = watchdog => Err(ApiError::Network {
                during: during.to_owned(),
                reason: format!("{CUT_REASON} {} s", cut_after.as_secs()),
                unreachable: false,
            }),
        }
    }
}

/// When bytes last moved on one request. Time the agent itself holds the bytes back
/// (a bandwidth limit) is not silence.
#[derive(Debug)]
pub(super) struct Moved {
    base: Instant,
    millis: AtomicU64,
    held_back: AtomicBool,
}

impl Default for Moved {
    fn default() -> Self {
        Moved {
            base: Instant::now(),
            millis: AtomicU64::new(0),
            held_back: AtomicBool::new(false),
        }
    }
}

impl Moved {
    pub(super) fn touch(&self) {
        let now = self.base.elapsed().as_millis() as u64;
        self.millis.store(now, Ordering::Relaxed);
    }

    /// Runs `wait` (the agent's own bandwidth limit) without it counting as silence.
    pub(super) async fn held_back<T>(&self, wait: impl Future<Output = T>) -> T {
        self.held_back.store(true, Ordering::Relaxed);
        let outcome = wait.await;
        self.held_back.store(false, Ordering::Relaxed);
        self.touch();
        outcome
    }

    fn silent_for(&self) -> Duration {
        if self.held_back.load(Ordering::Relaxed) {
            self.touch();
        }
        let last = Duration::from_millis(self.millis.load(Ordering::Relaxed));
        self.base.elapsed().saturating_sub(last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The thresholds a hundred times shorter, so the tests run in real time.
    fn quick() -> ReachRecord {
        ReachRecord::with_thresholds(SILENT_AFTER / 100, CUT_AFTER / 100)
    }

    fn refused() -> ApiError {
        ApiError::Network {
            during: "x".into(),
            reason: "refused".into(),
            unreachable: true,
        }
    }

    #[tokio::test]
    async fn a_silent_request_shows_imagen_silent_then_is_cut() {
        let record = quick();
        let reach = record.subscribe();
        let outcome = record
            .watch(
                "polling",
                None,
                std::future::pending::<Result<(), ApiError>>(),
            )
            .await;
        assert!(
            matches!(outcome, Err(ApiError::Network { .. })),
            "{outcome:?}"
        );
        assert!(matches!(*reach.borrow(), Reach::Silent { .. }));
        record
            .watch("polling", None, async { Ok(()) })
            .await
            .unwrap();
        assert!(reach.borrow().is_answering());
    }

    #[tokio::test]
    async fn bytes_that_keep_moving_keep_a_long_request_alive() {
        let record = quick();
        let moved = Arc::new(Moved::default());
        let touching = moved.clone();
        let request = async move {
            for _ in 0..10 {
                tokio::time::sleep(CUT_AFTER / 300).await;
                touching.touch();
            }
            Ok(())
        };
        record
            .watch("uploading", Some(&moved), request)
            .await
            .unwrap();
        assert!(record.subscribe().borrow().is_answering());
    }

    #[tokio::test]
    async fn a_refused_connection_is_unreachable_and_keeps_its_start() {
        let record = quick();
        let reach = record.subscribe();
        let _ = record
            .watch("x", None, async { Err::<(), _>(refused()) })
            .await;
        let since = reach.borrow().since().unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        let _ = record
            .watch("x", None, async { Err::<(), _>(refused()) })
            .await;
        assert_eq!(reach.borrow().since(), Some(since));
        assert!(matches!(*reach.borrow(), Reach::Unreachable { .. }));
    }
}
