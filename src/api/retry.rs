//! The retry policy for idempotent calls: exponential backoff with full jitter, the
//! server's Retry-After honoured (within a cap), and a bounded number of attempts.

use std::future::Future;
use std::time::Duration;

use rand::Rng;

use super::error::ApiError;

#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts in all, the first included. 1 disables retrying.
    pub max_attempts: u32,
    /// The backoff before the second attempt; it doubles after each failure.
    pub base_delay: Duration,
    /// No backoff is longer than this, whatever the attempt number.
    pub max_delay: Duration,
    /// A server asking for a longer pause than this is waited for only this long per try.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// One attempt, no retry: for calls that are not safe to repeat.
    pub fn never() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// How long to wait after failed attempt number `attempt` (1-based) with `error`.
    pub fn delay_after(&self, attempt: u32, error: &ApiError) -> Duration {
        if let ApiError::RateLimited {
            retry_after: Some(wait),
            ..
        } = error
        {
            return (*wait).min(self.max_retry_after);
        }
        let exponent = attempt.saturating_sub(1).min(20);
        let ceiling = self
            .base_delay
            .saturating_mul(1u32 << exponent)
            .min(self.max_delay);
        // Full jitter: a fleet of agents that failed together does not retry together.
        let millis = ceiling.as_millis() as u64;
        Duration::from_millis(rand::rng().random_range(millis / 2..=millis.max(1)))
    }

    /// Runs `call` until it succeeds, fails permanently, or attempts run out.
    pub async fn run<T, F, Fut>(&self, what: &str, call: F) -> Result<T, ApiError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ApiError>>,
    {
        self.run_pausing(what, |wait, _| tokio::time::sleep(wait), call)
            .await
    }

    /// [`RetryPolicy::run`], waiting between attempts with `pause(wait, error)` (which
    /// may end sooner, when what failed is known to be back).
    pub async fn run_pausing<T, F, Fut, P, PFut>(
        &self,
        what: &str,
        pause: P,
        mut call: F,
    ) -> Result<T, ApiError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ApiError>>,
        P: Fn(Duration, &ApiError) -> PFut,
        PFut: Future<Output = ()>,
    {
        let mut attempt = 1;
        loop {
            match call().await {
                Ok(value) => return Ok(value),
                Err(error)
                    if (error.is_transient() || error.is_odd_answer())
                        && attempt < self.max_attempts =>
                {
                    let wait = self.delay_after(attempt, &error);
                    tracing::debug!(%error, attempt, ?wait, "{what}: transient failure, retrying");
                    pause(wait, &error).await;
                    attempt += 1;
                }
                Err(error) => return Err(error),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server_error() -> ApiError {
        ApiError::Server {
            status: reqwest::StatusCode::BAD_GATEWAY,
            detail: String::new(),
        }
    }

    #[test]
    fn backoff_grows_but_never_passes_the_cap() {
        let policy = RetryPolicy {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            ..RetryPolicy::default()
        };
        assert!(policy.delay_after(1, &server_error()) <= Duration::from_millis(100));
        assert!(policy.delay_after(3, &server_error()) >= Duration::from_millis(200));
        for attempt in 1..40 {
            assert!(policy.delay_after(attempt, &server_error()) <= Duration::from_secs(1));
        }
    }

    #[test]
    fn retry_after_is_honoured_up_to_the_cap() {
        let policy = RetryPolicy::default();
        let asked = |secs| ApiError::RateLimited {
            retry_after: Some(Duration::from_secs(secs)),
            detail: String::new(),
        };
        assert_eq!(policy.delay_after(1, &asked(7)), Duration::from_secs(7));
        assert_eq!(policy.delay_after(1, &asked(3600)), policy.max_retry_after);
    }

    #[tokio::test]
    async fn one_malformed_answer_or_redirect_is_tried_again_and_a_lasting_one_is_not_hidden() {
        let policy = RetryPolicy {
            base_delay: Duration::from_millis(1),
            max_attempts: 3,
            ..RetryPolicy::default()
        };
        let calls = std::cell::Cell::new(0);
        let odd = [
            ApiError::Protocol {
                during: "polling".into(),
                reason: "bad JSON".into(),
            },
            ApiError::Server {
                status: reqwest::StatusCode::FOUND,
                detail: String::new(),
            },
        ];
        for error in odd {
            calls.set(0);
            let once = std::cell::RefCell::new(Some(error));
            let outcome = policy
                .run("polling", || {
                    calls.set(calls.get() + 1);
                    let error = once.borrow_mut().take();
                    async move { error.map_or(Ok(7), Err) }
                })
                .await;
            assert_eq!(outcome.unwrap(), 7);
            assert_eq!(calls.get(), 2);
        }
        let lasting = policy
            .run("polling", || async {
                Err::<(), _>(ApiError::Protocol {
                    during: "polling".into(),
                    reason: "bad JSON".into(),
                })
            })
            .await;
        assert!(
            lasting.is_err_and(|e| !e.is_transient()),
            "the shoot then fails with it"
        );
    }
}
