//! Follows whether Imagen answers (the client's [`Reach`]) for the whole agent: tells
//! the surfaces when it stops and starts answering, and while it does not, probes it
//! with one cheap call every few seconds (with jitter), so work resumes within seconds
//! of the connection coming back rather than at the end of each shoot's backoff.

use std::time::Duration;

use rand::Rng;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::api::Client;
use crate::api::reach::Reach;
use crate::events::{EventKind, Events};

/// The pause between probes while Imagen is away, before jitter.
const PROBE_EVERY: Duration = Duration::from_secs(4);
/// An outage that lasts this long is told again (the desktop notifies then).
const TOLD_AGAIN_AFTER: Duration = Duration::from_secs(60);

/// Runs for as long as the agent does (dropped with it).
pub(super) async fn follow(client: Client, events: Events) {
    let mut reach = client.reach();
    loop {
        let away = *reach.borrow_and_update();
        if let Some(since) = away.since() {
            tell_away(&events, away, false);
            while_away(&client, &events, &mut reach, since).await;
            events.emit("", None, EventKind::ImagenBack);
        }
        if reach.changed().await.is_err() {
            return;
        }
    }
}

/// Probes until Imagen answers again; says so once more after a minute away.
async fn while_away(
    client: &Client,
    events: &Events,
    reach: &mut watch::Receiver<Reach>,
    since: Instant,
) {
    let mut told_again = false;
    let mut shown = *reach.borrow();
    loop {
        let pause = PROBE_EVERY.mul_f64(rand::rng().random_range(0.6..1.4));
        tokio::select! {
            () = tokio::time::sleep(pause) => {
                // The probe's outcome reaches `reach` through the client itself. A
                // probe left hanging (a silent server) is dropped early, so the next
                // one is not late.
                let _ = tokio::time::timeout(PROBE_EVERY, client.probe()).await;
            }
            // A shoot's own request may find Imagen back first.
            changed = reach.changed() => if changed.is_err() { return },
        }
        let now = *reach.borrow_and_update();
        if now.is_answering() {
            return;
        }
        let minute_passed = since.elapsed() >= TOLD_AGAIN_AFTER;
        let kind_changed = std::mem::discriminant(&now) != std::mem::discriminant(&shown);
        if kind_changed || (minute_passed && !told_again) {
            told_again |= minute_passed;
            shown = now;
            tell_away(events, now, minute_passed);
        }
    }
}

fn tell_away(events: &Events, reach: Reach, for_a_minute: bool) {
    events.emit(
        "",
        None,
        EventKind::ImagenAway {
            silent: matches!(reach, Reach::Silent { .. }),
            for_a_minute,
        },
    );
}
