//! The Shoots page (every shoot, live), a shoot's own page (its photos before and
//! after), and the actions on them: retry, pause, resume, open the outbox folder. The
//! page follows the agent's event stream over server-sent events and redraws its rows.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Form, Path as UrlPath, State};
use axum::http::{StatusCode, header};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Redirect, Response};
use futures_util::Stream;
use tokio::sync::broadcast;

use super::pages::{Tab, csrf_field, escape, layout};
use super::{AppState, guard, thumbs};
use crate::activity::{Activity, ShootsNow};
use crate::agent::names;
use crate::control::Control;
use crate::events::{Event, EventKind};
use crate::journal::{JournalView, NotSent, RetryScope, ShootId, ShootState, ShootSummary};

/// How many shoots the page lists (newest first).
const LISTED: usize = 300;
/// A folder that never settles (deleted half-way) stops being shown after this.
const SETTLING_FORGOTTEN_AFTER: Duration = Duration::from_secs(30 * 60);

/// What the journal does not know yet: folders settling, and live progress.
#[derive(Default)]
pub struct Live {
    settling: BTreeMap<String, Instant>,
    shoots: ShootsNow,
}

impl Live {
    pub fn observe(&mut self, event: &Event) {
        self.shoots.observe(event);
        match &event.kind {
            EventKind::Settling => {
                self.settling.insert(event.shoot.clone(), Instant::now());
            }
            EventKind::Discovered | EventKind::Skipped { .. } | EventKind::NothingNew => {
                self.settling.remove(&event.shoot);
            }
            _ => {}
        }
        self.settling
            .retain(|_, since| since.elapsed() < SETTLING_FORGOTTEN_AFTER);
    }

    /// A shoot's transfer or edit under way, for its row.
    fn progress(&self, id: ShootId) -> Option<&Activity> {
        self.shoots
            .get(id)
            .filter(|activity| activity.is_transfer_or_edit())
    }
}

/// Keeps `Live` current for as long as the dashboard runs, and only then tells the
/// pages, so a page that fetches its rows on hearing of a change sees that change.
pub async fn follow(state: AppState, mut events: broadcast::Receiver<Event>) {
    loop {
        match events.recv().await {
            Ok(event) => {
                state.live.lock().expect("not poisoned").observe(&event);
                // Nobody listening (no page open) is not an error.
                let _ = state.changes.send(change_message(&event));
            }
            Err(broadcast::error::RecvError::Lagged(_)) => {}
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

/// What a page hears of an event: which shoot and what happened (no path, no secret).
fn change_message(event: &Event) -> String {
    serde_json::json!({
        "shoot": event.shoot,
        "shoot_id": event.shoot_id,
        "event": kind_name(&event.kind),
    })
    .to_string()
}

fn journal(state: &AppState) -> Option<Arc<dyn JournalView>> {
    let config = state.config.borrow().clone()?;
    crate::journal::open_read_only(&config.agent.data_dir)
        .ok()
        .flatten()
}

fn control(state: &AppState) -> anyhow::Result<Control> {
    let config = state
        .config
        .borrow()
        .clone()
        .ok_or_else(|| anyhow::anyhow!("the settings are not valid yet"))?;
    Ok(Control::open(&config.agent.data_dir)?)
}

pub async fn page(State(state): State<AppState>) -> Html<String> {
    let banner = status_banner(&state);
    let body = format!(
        r#"{banner}
<section class="card">
  <h2>Shoots</h2>
  <table>
    <thead><tr><th>Shoot</th><th>State</th><th>Progress</th><th>Photos</th><th>Updated</th><th></th></tr></thead>
    <tbody id="shoot-rows">{rows}</tbody>
  </table>
</section>"#,
        rows = rows_html(&state),
    );
    layout("Shoots", Tab::Shoots, &body)
}

/// Just the table rows, for the page's live refresh.
pub async fn rows(State(state): State<AppState>) -> Html<String> {
    Html(rows_html(&state))
}

fn status_banner(state: &AppState) -> String {
    let csrf = csrf_field(&state.secret.csrf());
    let Some(config) = state.config.borrow().clone() else {
        return "<div class=\"banner bad\">The settings file has a mistake, so nothing runs. \
                <a href=\"/settings\">Open Settings</a>.</div>"
            .into();
    };
    let key_missing = config.api_key().is_err();
    let paused = journal(state)
        .and_then(|j| j.paused().ok())
        .unwrap_or(false);
    let (class, text, button) = if key_missing {
        (
            "warn",
            "Waiting for your Imagen API key: add it in <a href=\"/settings\">Settings</a>.",
            String::new(),
        )
    } else if paused {
        (
            "warn",
            "Paused: no new shoot or upload starts.",
            format!(
                "<form class=\"inline\" method=\"post\" action=\"/resume\">{csrf}<button class=\"primary\">Resume</button></form>"
            ),
        )
    } else {
        (
            "ok",
            "Running: new shoots in the inbox are sent for editing.",
            format!(
                "<form class=\"inline\" method=\"post\" action=\"/pause\">{csrf}<button>Pause</button></form>"
            ),
        )
    };
    format!(
        "<div class=\"banner {class} status-line\" id=\"agent-status\"><span>{text}</span>{button}</div>"
    )
}

fn rows_html(state: &AppState) -> String {
    let journal = journal(state);
    let summaries = journal
        .as_ref()
        .and_then(|j| j.summaries(Some(LISTED)).ok())
        .unwrap_or_default();
    let not_sent = journal
        .as_ref()
        .and_then(|j| j.not_sent().ok())
        .unwrap_or_default();
    let live = state.live.lock().expect("not poisoned");
    let mut html = String::new();
    // A folder appears once: settling gets a row of its own only when the journal has
    // none for it yet (new photos in a known shoot are noted on its newest row).
    let known: HashSet<&str> = summaries.iter().map(|r| r.shoot.folder.as_str()).collect();
    for folder in live.settling.keys().filter(|f| !known.contains(f.as_str())) {
        html.push_str(&format!(
            "<tr data-folder=\"{f}\"><td>{f}</td><td><span class=\"pill settling\">Settling</span></td>\
             <td class=\"muted\">waiting for the copy to finish</td><td></td><td></td><td></td></tr>",
            f = escape(folder)
        ));
    }
    for item in not_sent.iter().filter(|n| n.file.is_empty()) {
        if known.contains(item.folder.as_str()) || live.settling.contains_key(&item.folder) {
            continue;
        }
        html.push_str(&format!(
            "<tr data-folder=\"{f}\"><td>{f}</td><td><span class=\"pill failed\">Skipped</span>\
             <div class=\"error\">{reason}</div></td><td></td><td>0</td><td class=\"muted\">{updated}</td><td></td></tr>",
            f = escape(&item.folder),
            reason = escape(&item.reason),
            updated = ago(item.seen_ms),
        ));
    }
    let csrf = csrf_field(&state.secret.csrf());
    let mut noted: HashSet<&str> = HashSet::new();
    for row in &summaries {
        let folder = row.shoot.folder.as_str();
        // Folder-wide notes go on the folder's newest row (the list is newest first).
        let notes = match noted.insert(folder) {
            true => FolderNotes {
                settling: live.settling.contains_key(folder),
                not_sent: not_sent
                    .iter()
                    .filter(|n| n.folder == folder && !n.file.is_empty())
                    .collect(),
            },
            false => FolderNotes::default(),
        };
        html.push_str(&row_html(row, live.progress(row.shoot.id), &notes, &csrf));
    }
    if html.is_empty() {
        html.push_str(
            "<tr><td colspan=\"6\" class=\"muted\">No shoots yet: drop a folder of photos into the inbox.</td></tr>",
        );
    }
    html
}

fn state_label(state: ShootState) -> &'static str {
    match state {
        ShootState::Planned => "Queued",
        ShootState::Uploading => "Uploading",
        ShootState::Editing => "Editing",
        ShootState::Downloading => "Downloading",
        ShootState::Done => "Done",
        ShootState::Failed => "Failed",
        ShootState::Held => "Held",
    }
}

/// What a shoot folder's newest row also says.
#[derive(Default)]
struct FolderNotes<'a> {
    /// New photos are being copied in.
    settling: bool,
    not_sent: Vec<&'a NotSent>,
}

fn row_html(
    row: &ShootSummary,
    live: Option<&Activity>,
    notes: &FolderNotes,
    csrf: &str,
) -> String {
    let shoot = &row.shoot;
    let id = shoot.id;
    let progress = match (shoot.state, live) {
        (state, Some(activity)) if state.is_active() => {
            let bar = match activity.percent() {
                Some(p) => {
                    format!("<span class=\"progress\"><span style=\"width:{p}%\"></span></span>")
                }
                None => String::new(),
            };
            format!("{bar}{}", escape(&activity.words()))
        }
        (ShootState::Done, _) => crate::words::count(row.outputs, "edited photo", "edited photos"),
        (ShootState::Uploading, _) => format!("uploaded {}/{}", row.uploaded, row.files),
        (ShootState::Downloading, _) => format!("downloaded {}", row.outputs),
        _ => String::new(),
    };
    let mut note = match &shoot.last_error {
        Some(error) => format!("<div class=\"error\">{}</div>", escape(error)),
        None => String::new(),
    };
    note.push_str(&retry_hint(shoot));
    if notes.settling {
        note.push_str(
            "<div class=\"muted\">New photos arriving: waiting for the copy to finish</div>",
        );
    }
    if !notes.not_sent.is_empty() {
        let items: Vec<String> = notes
            .not_sent
            .iter()
            .map(|n| format!("<li>{}: {}</li>", escape(&n.file), escape(&n.reason)))
            .collect();
        note.push_str(&format!(
            "<div class=\"error not-sent\">{} not sent:<ul>{}</ul></div>",
            crate::words::count(notes.not_sent.len() as u64, "file", "files"),
            items.join("")
        ));
    }
    let action = match shoot.state {
        ShootState::Failed => format!(
            "<form class=\"inline\" method=\"post\" action=\"/shoots/{id}/retry\">{csrf}<button>Retry</button></form>"
        ),
        ShootState::Held => format!(
            "<form class=\"inline\" method=\"post\" action=\"/shoots/{id}/send-anyway\">{csrf}<button>Send anyway</button></form>"
        ),
        _ => String::new(),
    };
    format!(
        "<tr data-shoot=\"{id}\"><td><a href=\"/shoots/{id}\">{folder}</a><div class=\"muted\">{project}</div></td>\
         <td><span class=\"pill {class}\">{label}</span>{note}</td><td>{progress}</td><td>{files}</td>\
         <td class=\"muted\">{updated}</td><td>{action}</td></tr>",
        folder = escape(&shoot.folder),
        project = escape(&shoot.project_name),
        class = shoot.state.as_str(),
        label = state_label(shoot.state),
        files = row.files,
        updated = ago(shoot.updated_ms),
    )
}

/// "just now", "5 min ago", "3 h ago", "2 days ago".
fn ago(ms: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let seconds = ((now - ms) / 1000).max(0);
    match seconds {
        0..60 => "just now".into(),
        60..3600 => format!("{} min ago", seconds / 60),
        3600..86400 => format!("{} h ago", seconds / 3600),
        _ => format!("{} days ago", seconds / 86400),
    }
}

/// A shoot's photos, each input with the edited output made from it (if any).
struct PhotoPair {
    name: String,
    input: PathBuf,
    output: Option<PathBuf>,
}

fn photo_pairs(journal: &dyn JournalView, id: ShootId) -> anyhow::Result<Vec<PhotoPair>> {
    let shoot = journal.shoot(id)?;
    let mut files = journal.files(id)?;
    files.sort_by(|a, b| a.relative.cmp(&b.relative));
    let stem = |path: &std::path::Path| path.with_extension("");
    let outputs: HashMap<PathBuf, PathBuf> = journal
        .outputs(id)?
        .into_iter()
        .filter(|output| output.placed)
        .filter_map(|output| Some((stem(&names::decode(&output.file_name)?), output.path)))
        .collect();
    let folder = shoot.inbox.join(&shoot.folder);
    Ok(files
        .into_iter()
        .map(|file| PhotoPair {
            name: file.relative.display().to_string(),
            input: folder.join(&file.relative),
            output: outputs.get(&stem(&file.relative)).cloned(),
        })
        .collect())
}

pub async fn shoot_page(State(state): State<AppState>, UrlPath(id): UrlPath<ShootId>) -> Response {
    let Some(journal) = journal(&state) else {
        return not_found();
    };
    let (Ok(shoot), Ok(pairs)) = (journal.shoot(id), photo_pairs(journal.as_ref(), id)) else {
        return not_found();
    };
    let csrf = csrf_field(&state.secret.csrf());
    let mut photos = String::new();
    for (index, pair) in pairs.iter().enumerate() {
        let after = match &pair.output {
            Some(_) => format!(
                "<img src=\"/shoots/{id}/thumb/{index}/after\" alt=\"after\" loading=\"lazy\">"
            ),
            None => "<div class=\"none\"></div>".into(),
        };
        photos.push_str(&format!(
            "<figure class=\"photo\"><img src=\"/shoots/{id}/thumb/{index}/before\" alt=\"before\" loading=\"lazy\">\
             <figcaption>Before · {name}</figcaption></figure>\
             <figure class=\"photo\">{after}<figcaption>After{done}</figcaption></figure>",
            name = escape(&pair.name),
            done = if pair.output.is_some() { "" } else { " · not edited yet" },
        ));
    }
    let retry = match shoot.state {
        ShootState::Failed => format!(
            "<form class=\"inline\" method=\"post\" action=\"/shoots/{id}/retry\">{csrf}<button class=\"primary\">Retry</button></form>"
        ),
        _ => String::new(),
    };
    let error = match &shoot.last_error {
        Some(error) => format!("<p class=\"error\">{}</p>", escape(error)),
        None => String::new(),
    } + &retry_hint(&shoot);
    let body = format!(
        r#"<section class="card">
  <div class="status-line"><h1>{folder}</h1><span class="pill {class}">{label}</span></div>
  {error}
  <div class="grid">
    <span class="muted">Project</span><span>{project}</span>
    <span class="muted">Photos</span><span>{files}</span>
    <span class="muted">Started</span><span>{created}</span>
    <span class="muted">Updated</span><span>{updated}</span>
    <span class="muted">Outbox folder</span><span>{outbox}</span>
  </div>
  <div class="actions">{retry}
    <form class="inline" method="post" action="/shoots/{id}/open">{csrf}<button>Open outbox folder</button></form>
  </div>
</section>
<section class="card"><h2>Before and after</h2><div class="photos">{photos}</div></section>"#,
        folder = escape(&shoot.folder),
        class = shoot.state.as_str(),
        label = state_label(shoot.state),
        project = escape(&shoot.project_name),
        files = pairs.len(),
        created = ago(shoot.created_ms),
        updated = ago(shoot.updated_ms),
        outbox = escape(&shoot.outbox.display().to_string()),
    );
    layout(&shoot.folder, Tab::Shoots, &body).into_response()
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        super::pages::message_page("Not found", "There is no such shoot."),
    )
        .into_response()
}

pub async fn thumbnail(
    State(state): State<AppState>,
    UrlPath((id, index, side)): UrlPath<(ShootId, usize, String)>,
) -> Response {
    let Some(journal) = journal(&state) else {
        return not_found();
    };
    let Some(pair) = photo_pairs(journal.as_ref(), id)
        .ok()
        .and_then(|mut p| (index < p.len()).then(|| p.swap_remove(index)))
    else {
        return not_found();
    };
    let source = match side.as_str() {
        "before" => pair.input,
        "after" => match pair.output {
            Some(output) => output,
            None => return not_found(),
        },
        _ => return not_found(),
    };
    let cache = state.thumbs_dir.clone();
    match tokio::task::spawn_blocking(move || thumbs::thumbnail(&source, &cache)).await {
        Ok(Ok(bytes)) => (
            [
                (header::CONTENT_TYPE, "image/jpeg"),
                (header::CACHE_CONTROL, "private, max-age=300"),
            ],
            bytes,
        )
            .into_response(),
        _ => not_found(),
    }
}

type FormFields = Form<HashMap<String, String>>;

fn refused() -> Response {
    (
        StatusCode::FORBIDDEN,
        super::pages::message_page(
            "Refused",
            "This form is stale; reload the page and try again.",
        ),
    )
        .into_response()
}

/// What to know before retrying, from why the shoot stopped.
fn retry_hint(shoot: &crate::journal::ShootRecord) -> String {
    match shoot
        .failure
        .and_then(crate::journal::FailureKind::retry_hint)
    {
        Some(hint) => format!("<div class=\"muted\">{}</div>", escape(hint)),
        None => String::new(),
    }
}

/// Runs a control from a form post (off the async workers: it waits for the journal's
/// fsync), then goes back to `back`.
async fn change(
    state: &AppState,
    form: &HashMap<String, String>,
    back: &str,
    action: impl FnOnce(&Control) -> anyhow::Result<()> + Send + 'static,
) -> Response {
    if !guard::csrf_ok(state, form.get("csrf")) {
        return refused();
    }
    let done = match control(state) {
        Ok(control) => tokio::task::spawn_blocking(move || action(&control))
            .await
            .unwrap_or_else(|error| Err(error.into())),
        Err(error) => Err(error),
    };
    match done {
        Ok(()) => Redirect::to(back).into_response(),
        Err(error) => (
            StatusCode::CONFLICT,
            super::pages::message_page("That did not work", &format!("{error:#}")),
        )
            .into_response(),
    }
}

pub async fn retry(
    State(state): State<AppState>,
    UrlPath(id): UrlPath<ShootId>,
    Form(form): FormFields,
) -> Response {
    change(&state, &form, &format!("/shoots/{id}"), move |control| {
        control.retry(RetryScope::Shoot(id))?;
        Ok(())
    })
    .await
}

/// "Send anyway": a held shoot goes on past the spend guard's limits.
pub async fn send_anyway(
    State(state): State<AppState>,
    UrlPath(id): UrlPath<ShootId>,
    Form(form): FormFields,
) -> Response {
    change(&state, &form, "/", move |control| {
        control.send_anyway(RetryScope::Shoot(id))?;
        Ok(())
    })
    .await
}

pub async fn pause(State(state): State<AppState>, Form(form): FormFields) -> Response {
    change(&state, &form, "/", |control| Ok(control.set_paused(true)?)).await
}

pub async fn resume(State(state): State<AppState>, Form(form): FormFields) -> Response {
    change(&state, &form, "/", |control| Ok(control.set_paused(false)?)).await
}

/// Opens the shoot's outbox folder on this machine's desktop.
pub async fn open_outbox(
    State(state): State<AppState>,
    UrlPath(id): UrlPath<ShootId>,
    Form(form): FormFields,
) -> Response {
    change(&state, &form, &format!("/shoots/{id}"), move |control| {
        crate::open::in_desktop(&control.outbox_folder(id)?)?;
        Ok(())
    })
    .await
}

/// The agent's events as server-sent events (the page only needs to know "something
/// changed"; no path or secret is in them).
pub async fn events(
    State(state): State<AppState>,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let receiver = state.changes.subscribe();
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        let data = match receiver.recv().await {
            Ok(data) => data,
            // Some changes were dropped: the page still needs to hear that it is stale.
            Err(broadcast::error::RecvError::Lagged(_)) => r#"{"event":"lagged"}"#.to_owned(),
            Err(broadcast::error::RecvError::Closed) => return None,
        };
        Some((Ok(SseEvent::default().data(data)), receiver))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

fn kind_name(kind: &EventKind) -> &'static str {
    match kind {
        EventKind::Discovered => "discovered",
        EventKind::Settling => "settling",
        EventKind::Uploading(_) => "uploading",
        EventKind::Editing { .. } => "editing",
        EventKind::Downloading { .. } => "downloading",
        EventKind::Done { .. } => "done",
        EventKind::Failed { .. } => "failed",
        EventKind::Skipped { .. } => "skipped",
        EventKind::NothingNew => "nothing_new",
        EventKind::Held { .. } => "held",
        EventKind::InboxMissing { .. } => "inbox_missing",
        EventKind::InboxBack { .. } => "inbox_back",
        EventKind::FolderStopped { .. } => "folder_stopped",
        EventKind::Waiting { .. } => "waiting",
        EventKind::Paused => "paused",
        EventKind::Resumed => "resumed",
        EventKind::ConfigApplied => "config_applied",
        EventKind::ConfigRejected { .. } => "config_rejected",
        EventKind::NeedsApiKey { .. } => "needs_api_key",
    }
}
