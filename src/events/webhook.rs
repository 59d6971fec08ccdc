//! The push when a shoot is ready: `[notifications] webhook_url` gets a POST when a shoot
//! is done, done with problems, or failed, also on a headless agent. As JSON, or in
//! ntfy's plain-text form (a title, tags and a priority in headers) so a phone gets it
//! through an ntfy topic.
//!
//! A shoot that became several projects (edit rules, RAW and JPEG) is told once, when
//! the last one finishes. Off the pipeline's path: each outcome is sent by a task of its
//! own, a few at a time, with retries and backoff, so a slow or dead webhook never
//! slows a shoot. The URL's
//! secrets (the topic, a token in the path or query) never reach the log: it is shown
//! as scheme and host, and request errors are stripped of their URL.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use serde_json::json;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;

use crate::config::{Config, WebhookFormat, WebhookSettings};
use crate::events::{Event, EventKind, Events};
use crate::journal::{ShootState, ShootSummary, ViewCache};

const SHOOT_FINISHED: &str = "shoot_finished";
const BATCH_FINISHED: &str = "batch_finished";

/// Deliveries under way at once; more wait their turn.
const AT_ONCE: usize = 4;
/// Tries per outcome, and the wait before the second (doubling after each).
const ATTEMPTS: u32 = 7;
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// One request's limit, connection included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// How a shoot ended, as the push tells it.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// `shoot_finished`, or `batch_finished` for a batch of a live shoot (whose end is
    /// a `shoot_finished` with the totals of all its batches).
    pub event: &'static str,
    pub shoot: String,
    pub state: OutcomeState,
    /// Photos sent for editing; edited photos in the outbox.
    pub sent: Option<u64>,
    pub delivered: u64,
    pub outbox: Option<PathBuf>,
    pub problems: Vec<String>,
    /// Why a failed shoot stopped.
    pub reason: Option<String>,
    pub project: Option<String>,
    pub agent: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutcomeState {
    Done,
    DoneWithProblems,
    Failed,
}

impl OutcomeState {
    fn as_str(self) -> &'static str {
        match self {
            OutcomeState::Done => "done",
            OutcomeState::DoneWithProblems => "done_with_problems",
            OutcomeState::Failed => "failed",
        }
    }
}

/// Starts the webhook's listener on `events`; it follows the config in force.
pub fn spawn(events: &Events, config: watch::Receiver<Option<Arc<Config>>>) -> JoinHandle<()> {
    let mut stream = events.subscribe();
    tokio::spawn(async move {
        let http = match reqwest::Client::builder()
            .user_agent(concat!("imagen-sync/", env!("CARGO_PKG_VERSION")))
            .timeout(REQUEST_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
        {
            Ok(http) => http,
            Err(error) => {
                tracing::warn!(error = %error.without_url(), "the webhook cannot start");
                return;
            }
        };
        let turns = Arc::new(Semaphore::new(AT_ONCE));
        let journals = Arc::new(ViewCache::default());
        let told = Arc::new(Mutex::new(HashSet::new()));
        loop {
            let event = match stream.recv().await {
                Ok(event) => event,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "the webhook fell behind the events");
                    continue;
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            };
            if !matches!(
                event.kind,
                EventKind::Done { .. } | EventKind::Failed { .. } | EventKind::LiveEnded(_)
            ) {
                continue;
            }
            let Some(config) = config.borrow().clone() else {
                continue;
            };
            let Some(settings) = config.webhook.clone() else {
                continue;
            };
            let (http, turns, journals, told) =
                (http.clone(), turns.clone(), journals.clone(), told.clone());
            tokio::spawn(async move {
                let Ok(_turn) = turns.acquire().await else {
                    return;
                };
                let outcome = tokio::task::spawn_blocking(move || {
                    outcome_of(&event, &config, &journals, &told)
                })
                .await;
                // A phone is told a live shoot's end, not each of its batches.
                if let Ok(Some(outcome)) = outcome
                    && (outcome.event == SHOOT_FINISHED || settings.format == WebhookFormat::Json)
                {
                    deliver(&http, &settings, &outcome).await;
                }
            });
        }
    })
}

/// The outcome an event tells, for the whole shoot: a shoot of several projects (its
/// edit rules, RAW and JPEG) is told once, when the last of them finishes, with the
/// counts of all of them. `None` for events that are not an outcome, while another
/// project of the shoot is still under way, and for an outcome already told.
fn outcome_of(
    event: &Event,
    config: &Config,
    journals: &ViewCache,
    told: &Mutex<HashSet<String>>,
) -> Option<Outcome> {
    let mut outcome = Outcome {
        event: SHOOT_FINISHED,
        shoot: crate::words::printable(&event.shoot).into_owned(),
        state: OutcomeState::Done,
        sent: None,
        delivered: 0,
        outbox: None,
        problems: Vec::new(),
        reason: None,
        project: None,
        agent: config.journal.agent_name.clone(),
    };
    match &event.kind {
        EventKind::Done {
            photos,
            outbox,
            problems,
            ..
        } => {
            outcome.state = match problems.is_empty() {
                true => OutcomeState::Done,
                false => OutcomeState::DoneWithProblems,
            };
            outcome.delivered = *photos;
            outcome.outbox = Some(outbox.clone());
            outcome.problems = problems.clone();
        }
        EventKind::Failed { reason, .. } => {
            outcome.state = OutcomeState::Failed;
            outcome.reason = Some(reason.clone());
        }
        EventKind::LiveEnded(totals) => {
            outcome.state = if !totals.failures.is_empty() {
                OutcomeState::Failed
            } else if !totals.problems.is_empty() {
                OutcomeState::DoneWithProblems
            } else {
                OutcomeState::Done
            };
            outcome.sent = Some(totals.sent);
            outcome.delivered = totals.delivered;
            outcome.outbox = Some(totals.outbox.clone());
            outcome.problems = totals.problems.clone();
            outcome.reason = (!totals.failures.is_empty()).then(|| totals.failures.join("; "));
            return Some(outcome);
        }
        _ => return None,
    }
    let (Some(id), Some(journal)) = (event.shoot_id, journals.view(config)) else {
        return Some(outcome);
    };
    let Ok(shoot) = journal.shoot(id) else {
        return Some(outcome);
    };
    if shoot.live {
        let files = journal.files(id).map_or(0, |f| f.len() as u64);
        outcome.event = BATCH_FINISHED;
        outcome.sent = Some(files);
        outcome.outbox = Some(shoot.outbox.clone());
        outcome.project = Some(shoot.project_name.clone());
        return Some(outcome);
    }
    let mut projects = shoot.projects_in(journal.as_ref());
    if projects.is_empty() {
        return Some(outcome);
    }
    let unfinished =
        |row: &ShootSummary| row.shoot.state.is_active() || row.shoot.state == ShootState::Held;
    if projects.iter().any(unfinished) {
        return None;
    }
    projects.sort_by_key(|row| row.shoot.id);
    let key: Vec<String> = projects
        .iter()
        .map(|row| format!("{}:{}", row.shoot.id, row.shoot.state_words()))
        .collect();
    if !told
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(key.join(","))
    {
        return None;
    }
    let failed: Vec<&ShootSummary> = projects
        .iter()
        .filter(|row| row.shoot.state == ShootState::Failed)
        .collect();
    outcome.problems = projects
        .iter()
        .flat_map(|row| row.shoot.problems.clone())
        .collect();
    outcome.state = if !failed.is_empty() {
        OutcomeState::Failed
    } else if !outcome.problems.is_empty() {
        OutcomeState::DoneWithProblems
    } else {
        OutcomeState::Done
    };
    if !failed.is_empty() {
        let reasons: Vec<String> = failed
            .iter()
            .filter_map(|row| row.shoot.error_words().map(str::to_owned))
            .collect();
        outcome.reason = Some(reasons.join("; "));
    }
    outcome.sent = Some(projects.iter().map(|row| row.files).sum());
    outcome.delivered = projects.iter().map(|row| row.outputs).sum();
    outcome.outbox = Some(shoot.outbox.clone());
    let names: Vec<&str> = projects
        .iter()
        .map(|row| row.shoot.project_name.as_str())
        .collect();
    outcome.project = Some(names.join(", "));
    Some(outcome)
}

/// Sends `outcome`, trying again with backoff on a network error, a 5xx, 408 or 429.
async fn deliver(http: &reqwest::Client, settings: &WebhookSettings, outcome: &Outcome) {
    let shown = settings.url.shown();
    let mut backoff = FIRST_BACKOFF;
    for attempt in 1..=ATTEMPTS {
        let request = build(http, settings, outcome);
        let failure = match request.send().await {
            Ok(answer) if answer.status().is_success() => {
                tracing::info!(
                    shoot = outcome.shoot,
                    "webhook {shown} told: {}",
                    outcome.state.as_str()
                );
                return;
            }
            Ok(answer) => {
                let status = answer.status();
                let again = status.is_server_error()
                    || status == reqwest::StatusCode::REQUEST_TIMEOUT
                    || status == reqwest::StatusCode::TOO_MANY_REQUESTS;
                if !again {
                    tracing::warn!(
                        shoot = outcome.shoot,
                        "webhook {shown} refused the push ({status}); check webhook_url"
                    );
                    return;
                }
                format!("it answered {status}")
            }
            Err(error) => error.without_url().to_string(),
        };
        if attempt == ATTEMPTS {
            tracing::warn!(
                shoot = outcome.shoot,
                "webhook {shown} could not be told after {ATTEMPTS} tries: {failure}"
            );
            return;
        }
        tracing::debug!(shoot = outcome.shoot, attempt, "webhook {shown}: {failure}");
        tokio::time::sleep(backoff).await;
        backoff *= 2;
    }
}

fn build(
    http: &reqwest::Client,
    settings: &WebhookSettings,
    outcome: &Outcome,
) -> reqwest::RequestBuilder {
    let request = http.post(settings.url.expose().clone());
    match settings.format {
        WebhookFormat::Json => request
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(json_body(outcome).to_string()),
        WebhookFormat::Ntfy => {
            let (title, tags, priority, message) = ntfy_message(outcome);
            request
                .header("Title", header_text(&title))
                .header("Tags", tags)
                .header("Priority", priority)
                .header(reqwest::header::CONTENT_TYPE, "text/plain; charset=utf-8")
                .body(message)
        }
    }
}

/// The JSON form: everything a script needs to act on the outcome.
pub fn json_body(outcome: &Outcome) -> serde_json::Value {
    json!({
        "event": outcome.event,
        "shoot": outcome.shoot,
        "state": outcome.state.as_str(),
        "photos": {
            "sent": outcome.sent,
            "delivered": outcome.delivered,
            "not_delivered": outcome.problems.len(),
        },
        "outbox": outcome.outbox.as_ref().map(|p| p.display().to_string()),
        "problems": outcome.problems,
        "reason": outcome.reason,
        "project": outcome.project,
        "agent": outcome.agent,
    })
}

/// ntfy's form: (title, tags, priority, message).
pub fn ntfy_message(outcome: &Outcome) -> (String, &'static str, &'static str, String) {
    let photos = crate::words::count(outcome.delivered, "edited photo", "edited photos");
    let place = outcome
        .outbox
        .as_ref()
        .map(|p| format!(" in {}", p.display()))
        .unwrap_or_default();
    match outcome.state {
        OutcomeState::Done => (
            format!("{}: ready", outcome.shoot),
            "white_check_mark",
            "default",
            format!("{photos}{place}."),
        ),
        OutcomeState::DoneWithProblems => (
            format!("{}: done with problems", outcome.shoot),
            "warning",
            "high",
            format!(
                "{photos}{place}; {} could not be written (see \"{}\").",
                crate::words::count(outcome.problems.len() as u64, "output", "outputs"),
                crate::agent::REPORT_NAME
            ),
        ),
        OutcomeState::Failed => (
            format!("{}: failed", outcome.shoot),
            "x",
            "high",
            outcome.reason.clone().unwrap_or_default(),
        ),
    }
}

/// A header value any HTTP stack carries: ASCII as it is, anything else as an RFC 2047
/// encoded word, which ntfy decodes.
fn header_text(text: &str) -> String {
    if text.chars().all(|c| c.is_ascii() && !c.is_ascii_control()) {
        return text.to_owned();
    }
    format!(
        "=?UTF-8?B?{}?=",
        base64::engine::general_purpose::STANDARD.encode(text)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(state: OutcomeState) -> Outcome {
        Outcome {
            event: SHOOT_FINISHED,
            shoot: "12 Rue Müller".into(),
            state,
            sent: Some(8),
            delivered: 7,
            outbox: Some("/out/12 Rue Müller".into()),
            problems: vec![
                "\"../x.jpg\": not written, it climbs out of the shoot folder (..)".into(),
            ],
            reason: None,
            project: Some("12 Rue Müller [abcd1234]".into()),
            agent: "nas".into(),
        }
    }

    #[test]
    fn the_json_push_carries_shoot_state_counts_outbox_and_problems() {
        let body = json_body(&outcome(OutcomeState::DoneWithProblems));
        assert_eq!(body["state"], "done_with_problems");
        assert_eq!(body["photos"]["sent"], 8);
        assert_eq!(body["photos"]["delivered"], 7);
        assert_eq!(body["photos"]["not_delivered"], 1);
        assert_eq!(body["outbox"], "/out/12 Rue Müller");
        assert_eq!(body["problems"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn the_ntfy_push_has_a_title_tags_and_a_non_ascii_title_survives_the_header() {
        let (title, tags, priority, message) = ntfy_message(&outcome(OutcomeState::Done));
        assert_eq!(title, "12 Rue Müller: ready");
        assert_eq!((tags, priority), ("white_check_mark", "default"));
        assert_eq!(message, "7 edited photos in /out/12 Rue Müller.");
        let encoded = header_text(&title);
        assert!(
            encoded.starts_with("=?UTF-8?B?") && encoded.is_ascii(),
            "{encoded}"
        );
        assert_eq!(header_text("Plain: ready"), "Plain: ready");
        let failed = ntfy_message(&Outcome {
            reason: Some("Imagen reported the edit as Failed".into()),
            ..outcome(OutcomeState::Failed)
        });
        assert_eq!(
            (failed.1, failed.3.as_str()),
            ("x", "Imagen reported the edit as Failed")
        );
    }
}
