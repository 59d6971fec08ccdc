//! Follows whether Imagen answers (the client's [`Reach`]) for the whole agent: tells
//! the surfaces when it stops and starts answering, and while it does not, probes it
//! with one cheap call every few seconds (with jitter), so work resumes within seconds
//! of the connection coming back rather than at the end of each shoot's backoff.

use std::path::{Path, PathBuf};
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

/// Runs for as long as the agent does (dropped with it). While Imagen is away, a note
/// in `data_dir` says so to `status` (another process).
pub(super) async fn follow(client: Client, events: Events, data_dir: PathBuf) {
    let mut reach = client.reach();
    loop {
        let away = *reach.borrow_and_update();
        if let Some(since) = away.since() {
            tell_away(&events, away, false);
            note_away(&data_dir, Some(away));
            while_away(&client, &events, &mut reach, &data_dir, since).await;
            note_away(&data_dir, None);
            events.emit("", None, EventKind::ImagenBack);
        }
        if reach.changed().await.is_err() {
            return;
        }
    }
}

/// The note `status` reads: the words of the outage and when it began.
fn note_away(data_dir: &Path, away: Option<Reach>) {
    let file = away_note(data_dir);
    let outcome = match away {
        Some(reach) => {
            let began_ms = crate::journal::now_ms()
                - reach
                    .since()
                    .map_or(0, |since| since.elapsed().as_millis() as i64);
            let words = crate::words::imagen_away(matches!(reach, Reach::Silent { .. }));
            crate::files::atomic_file::write_text(&file, &format!("{began_ms}\n{words}\n"))
        }
        None => match std::fs::remove_file(&file) {
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
            other => other,
        },
    };
    if let Err(error) = outcome {
        tracing::debug!(%error, "cannot note whether Imagen answers for status");
    }
}

/// Where an agent notes that Imagen is away.
pub fn away_note(data_dir: &Path) -> PathBuf {
    data_dir.join("imagen-away")
}

/// What the note of the agent on `data_dir` says: since when (Unix ms) and its words.
pub fn read_away_note(data_dir: &Path) -> Option<(i64, String)> {
    let text = std::fs::read_to_string(away_note(data_dir)).ok()?;
    let (began, words) = text.split_once('\n')?;
    Some((began.trim().parse().ok()?, words.trim().to_owned()))
}

/// Probes until Imagen answers again; says so once more after a minute away.
async fn while_away(
    client: &Client,
    events: &Events,
    reach: &mut watch::Receiver<Reach>,
    data_dir: &Path,
    since: Instant,
) {
    let mut told_again = false;
    let mut shown = *reach.borrow();
    loop {
        let pause = PROBE_EVERY.mul_f64(rand::rng().random_range(0.6..1.4));
        tokio::time::sleep(pause).await;
        // The probe's outcome reaches `reach` through the client itself. A probe left
        // hanging (a silent server) is dropped early, so the next one is not late.
        let _ = tokio::time::timeout(PROBE_EVERY, client.probe()).await;
        let now = *reach.borrow_and_update();
        if now.is_answering() {
            return;
        }
        let minute_passed = since.elapsed() >= TOLD_AGAIN_AFTER;
        if now != shown && std::mem::discriminant(&now) != std::mem::discriminant(&shown)
            || (minute_passed && !told_again)
        {
            told_again |= minute_passed;
            shown = now;
            tell_away(events, now, minute_passed);
            note_away(data_dir, Some(now));
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
