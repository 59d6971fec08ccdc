//! Systems without a known way to hold off idle sleep: said once in the log.

pub(super) struct Held;

impl Held {
    pub(super) const THREAD_BOUND: bool = false;

    pub(super) async fn take(_why: &str) -> Result<Held, String> {
        Err("not supported on this system".into())
    }

    pub(super) async fn release(self) {}

    pub(super) fn by(&self) -> &'static str {
        ""
    }
}
