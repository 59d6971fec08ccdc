//! One rate-limit gate for everything a [`super::Client`] sends. Imagen's limit is per
//! account, so a 429 (or a 503 with Retry-After) holds every API call of the key until
//! the time has passed, across shoots and tasks, not only the request that got it. S3's
//! `503 SlowDown` holds the storage host that said it. Clones of a client share it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug, Clone, Default)]
pub(super) struct Gate(Arc<Mutex<Holds>>);

#[derive(Debug, Default)]
struct Holds {
    api: Option<Instant>,
    hosts: HashMap<String, Instant>,
}

/// What a hold is on.
#[derive(Debug, Clone, Copy)]
pub(super) enum Held<'a> {
    /// Every API call of the key.
    Api,
    /// Presigned requests to this storage host.
    Host(&'a str),
}

impl Gate {
    /// Waits until nothing holds `what`.
    pub(super) async fn pass(&self, what: Held<'_>) {
        loop {
            let until = {
                let holds = self.0.lock().unwrap_or_else(|p| p.into_inner());
                match what {
                    Held::Api => holds.api,
                    Held::Host(host) => holds.hosts.get(host).copied(),
                }
            };
            match until {
                Some(until) if until > Instant::now() => tokio::time::sleep_until(until).await,
                _ => return,
            }
        }
    }

    /// Holds `what` for `wait` from now (a longer hold already in force stays).
    pub(super) fn hold(&self, what: Held<'_>, wait: Duration) {
        let until = Instant::now() + wait;
        let mut holds = self.0.lock().unwrap_or_else(|p| p.into_inner());
        match what {
            Held::Api => {
                if holds.api.is_none_or(|current| current < until) {
                    tracing::info!(
                        seconds = wait.as_secs_f32(),
                        "Imagen asked to slow down: every API call waits"
                    );
                    holds.api = Some(until);
                }
            }
            Held::Host(host) => {
                let now = Instant::now();
                holds.hosts.retain(|_, held| *held > now);
                let current = holds.hosts.entry(host.to_owned()).or_insert(until);
                if *current < until {
                    *current = until;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hold_keeps_every_caller_waiting_until_it_ends_and_hosts_are_held_apart() {
        let gate = Gate::default();
        let started = Instant::now();
        gate.hold(Held::Api, Duration::from_millis(300));
        gate.hold(Held::Api, Duration::from_millis(100));
        gate.hold(Held::Host("s3.example"), Duration::from_millis(500));
        let (a, b) = (gate.clone(), gate.clone());
        tokio::join!(a.pass(Held::Api), b.pass(Held::Api));
        assert!(
            started.elapsed() >= Duration::from_millis(300),
            "the longer hold stays"
        );
        let other = Instant::now();
        gate.pass(Held::Host("other.example")).await;
        assert!(
            other.elapsed() < Duration::from_millis(100),
            "another host is not held"
        );
        gate.pass(Held::Host("s3.example")).await;
        assert!(started.elapsed() >= Duration::from_millis(500));
    }
}
