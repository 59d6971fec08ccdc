//! The shoots page: the agent's state with its pause button, and the shoots (and
//! folders settling or skipped) with their progress, kept current by the page's
//! script. It lists every shoot working or needing something and a page of the newest
//! finished ones, older pages and a search by name a link away: only what is shown is
//! read, however many years of shoots the journal holds.

use std::collections::HashSet;

use axum::extract::State;
use axum::response::Html;
use maud::{Markup, html};

use super::pages::{Tab, layout, post_button};
use super::{AppState, journal};
use crate::events::EventKind;
use crate::events::activity::Activity;
use crate::journal::{
    AgentSeen, NotSent, ShootGroup, ShootRecord, ShootState, ShootSummary, ShootsPage, ShootsWanted,
};

/// How many finished shoots a page lists (newest first).
const LISTED: usize = 50;

#[derive(serde::Deserialize)]
pub(super) struct PageQuery {
    /// Just back from the welcome page: what Imagen said of the key.
    welcome: Option<String>,
}

/// Which shoots the page lists: a search by name, and which page of finished ones.
#[derive(serde::Deserialize, Default, Clone)]
pub(super) struct Listing {
    /// Only shoots whose folder name holds this.
    #[serde(default)]
    q: Option<String>,
    /// The page of finished shoots, from 1 (the newest).
    #[serde(default)]
    page: Option<usize>,
}

impl Listing {
    fn page(&self) -> usize {
        self.page.unwrap_or(1).max(1)
    }

    fn search(&self) -> Option<&str> {
        self.q.as_deref().map(str::trim).filter(|q| !q.is_empty())
    }

    fn wanted(&self) -> ShootsWanted<'_> {
        ShootsWanted::unfinished_and_newest(LISTED)
            .skip((self.page() - 1) * LISTED)
            .search(self.search())
    }

    /// The address of another page of this listing.
    fn link_to(&self, page: usize) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        if let Some(search) = self.search() {
            query.append_pair("q", search);
        }
        if page > 1 {
            query.append_pair("page", &page.to_string());
        }
        format!("/?{}", query.finish())
    }
}

pub(super) async fn page(
    State(state): State<AppState>,
    axum::extract::Query(query): axum::extract::Query<PageQuery>,
    axum::extract::Query(listing): axum::extract::Query<Listing>,
) -> Html<String> {
    let agents = journal(&state)
        .and_then(|j| j.agents().ok())
        .unwrap_or_default();
    let listing = &listing;
    let (rows, page) = rows_html(&state, listing);
    let finished = page.paged_total;
    let shown_to = (listing.page() * LISTED).min(finished);
    let body = html! {
        @if let Some(welcome) = &query.welcome {
            div.banner.ok #welcomed {
                "You are set. "
                @match welcome.as_str() {
                    "accepted" => { "Imagen accepted the key. " }
                    "unchecked" => { "Imagen could not be reached to check the key; the agent checks it once it answers. " }
                    _ => {}
                }
                "Drop a shoot's folder into the inbox and follow it here."
            }
        }
        (status_banner(&state))
        @if !agents.is_empty() { (studio_agents(&agents)) }
        section.card {
            div.card-head {
                h2 { "Shoots" }
                form.search method="get" action="/" role="search" {
                    input type="search" name="q" value=[listing.search()]
                        placeholder="Find a shoot by name" aria-label="Find a shoot by name";
                    button type="submit" { "Find" }
                    @if listing.search().is_some() { a href="/" { "Show all" } }
                }
            }
            table.shoots.stacking {
                thead {
                    tr {
                        th { "Shoot" } th { "State" } th { "Progress" } th { "Photos" }
                        th { "Updated" } th {}
                    }
                }
                tbody #shoot-rows { (rows) }
            }
            @if finished > LISTED || listing.page() > 1 {
                nav.pager #shoot-pages {
                    span.muted {
                        @if finished == 0 {
                            "No finished shoots on this page."
                        } @else {
                            "Finished shoots " ((listing.page() - 1) * LISTED + 1) "–" (shown_to)
                            " of " (finished) "."
                        }
                    }
                    @if listing.page() > 1 {
                        a href=(listing.link_to(listing.page() - 1)) { "← Newer" }
                    }
                    @if page.after(&listing.wanted()) > 0 {
                        a href=(listing.link_to(listing.page() + 1)) { "Older →" }
                    }
                }
            }
        }
    };
    layout("Shoots", Tab::Shoots, body)
}

/// The studio's agents with their last heartbeat: which machines are working.
fn studio_agents(agents: &[AgentSeen]) -> Markup {
    html! {
        section.card #studio-agents {
            h2 { "Studio agents" }
            table {
                thead { tr { th { "Agent" } th { "Holding" } th { "Last heard" } th { "Running since" } } }
                tbody {
                    @for agent in agents {
                        tr {
                            td { (agent.name) div.muted { "pid " (agent.pid) ", version " (agent.version) } }
                            td { (crate::words::count(agent.holding as u64, "shoot", "shoots")) }
                            td { (crate::words::ago(agent.seen_ms)) }
                            td.muted { (crate::words::ago(agent.started_ms)) }
                        }
                    }
                }
            }
        }
    }
}

/// Just the banner, for the page's live refresh.
pub(super) async fn banner(State(state): State<AppState>) -> Html<String> {
    Html(status_banner(&state).into_string())
}

/// Just the table rows, for the page's live refresh.
pub(super) async fn rows(
    State(state): State<AppState>,
    axum::extract::Query(listing): axum::extract::Query<Listing>,
) -> Html<String> {
    Html(rows_html(&state, &listing).0.into_string())
}

/// The agent's state, as the tray shows it: paused over everything (with the problems
/// listed), problems to act on, Imagen away, or running.
fn status_banner(state: &AppState) -> Markup {
    let csrf = state.secret.csrf();
    let Some(config) = state.config.borrow().clone() else {
        return html! {
            div.banner.bad #agent-status {
                "The settings file has a mistake, so nothing runs. "
                a href="/settings" { "Open Settings" } "."
            }
        };
    };
    let journal = journal(state);
    let mut glance = state.live.lock().expect("not poisoned").clone();
    if let Some(journal) = &journal {
        glance.set_from_journal(
            journal.paused().unwrap_or(glance.is_paused()),
            journal.count_in(ShootState::Failed).unwrap_or(0),
            journal.count_in(ShootState::Held).unwrap_or(0),
        );
    }
    let mut problems = glance.problems();
    // What the config names is checked here too: the event may predate this page.
    if config.api_key().is_err() && !problems.iter().any(|p| p.contains("API key")) {
        problems.insert(0, "Waiting for your Imagen API key".into());
    }
    for pair in &config.folders {
        let missing = format!(
            "Inbox {} is missing — is the drive mounted?",
            crate::words::printable_path(&pair.inbox)
        );
        if !pair.inbox.is_dir() && !problems.contains(&missing) {
            problems.push(missing);
        }
    }
    let (class, headline, button) = if glance.is_paused() {
        (
            "warn",
            "Paused: no new shoot or upload starts.".to_owned(),
            post_button("/resume", &csrf, "Resume", true),
        )
    } else {
        let pause = post_button("/pause", &csrf, "Pause", false);
        match (problems.is_empty(), glance.offline()) {
            (false, _) => ("bad", "Something needs you (see below):".to_owned(), pause),
            (true, Some((silent, _))) => (
                "warn",
                format!(
                    "{}: shoots wait and go on by themselves once it answers again.",
                    crate::words::imagen_away(silent)
                ),
                pause,
            ),
            (true, None) => match glance.uploads_held() {
                Some(reason) => (
                    "warn",
                    format!("{}: uploads wait.", reason.waiting_words()),
                    pause,
                ),
                None => (
                    "ok",
                    "Running: new shoots in the inbox are sent for editing.".to_owned(),
                    pause,
                ),
            },
        }
    };
    if glance.is_paused()
        && let Some((silent, _)) = glance.offline()
    {
        problems.push(crate::words::imagen_away(silent).to_owned());
    }
    let sent = journal
        .as_ref()
        .and_then(|j| crate::journal::SentForEditing::of(j.as_ref()).ok());
    html! {
        div class={ "banner " (class) " status-line" } #agent-status {
            div {
                span.headline { (headline) }
                @if let Some(sent) = sent { div.sent #sent-for-editing { (sent.words()) } }
                @if !problems.is_empty() {
                    ul.problems { @for problem in &problems { li { (problem) } } }
                }
                @if problems.iter().any(|p| p.contains("API key")) {
                    div { a href="/welcome" { "Add or check the key" } }
                }
            }
            (button)
        }
    }
}

/// The rows of the shoots `listing` names, and what was read of the journal.
fn rows_html(state: &AppState, listing: &Listing) -> (Markup, ShootsPage) {
    let journal = journal(state);
    let page = journal
        .as_ref()
        .and_then(|j| j.shoots(&listing.wanted()).ok())
        .unwrap_or_default();
    let summaries = &page.rows;
    // Folders not recorded yet belong on the first page, and to a search naming them.
    let first_page = listing.page() == 1;
    let matches = |folder: &str| {
        listing
            .search()
            .is_none_or(|q| folder.to_lowercase().contains(&q.to_lowercase()))
    };
    let not_sent = journal
        .as_ref()
        .and_then(|j| j.not_sent().ok())
        .unwrap_or_default();
    let live = state.live.lock().expect("not poisoned");
    // A folder appears once: settling gets a row of its own only when the journal has
    // none for it yet (new photos in a known shoot are noted on its newest row).
    let known: HashSet<&str> = summaries.iter().map(|r| r.shoot.folder.as_str()).collect();
    let settling: Vec<&str> = (live.settling())
        .filter(|f| first_page && matches(f) && !known.contains(f))
        .collect();
    let skipped: Vec<&NotSent> = not_sent
        .iter()
        .filter(|n| n.file.is_empty() && first_page && matches(&n.folder))
        .filter(|n| !known.contains(n.folder.as_str()) && !live.is_settling(&n.folder))
        .collect();
    let csrf = state.secret.csrf();
    let mut noted: HashSet<&str> = HashSet::new();
    let groups = ShootGroup::of(summaries.clone());
    let rows: Vec<Markup> = groups
        .iter()
        .map(|group| {
            let row = &group.lead;
            let folder = row.shoot.folder.as_str();
            // Folder-wide notes go on the folder's newest row (the list is newest first).
            let notes = match noted.insert(folder) {
                true => FolderNotes {
                    settling: live.is_settling(folder),
                    not_sent: not_sent
                        .iter()
                        .filter(|n| n.folder == folder && !n.file.is_empty())
                        .collect(),
                },
                false => FolderNotes::default(),
            };
            let progress = super::live::progress(&live, row.shoot.id);
            let away = live
                .offline()
                .map(|(silent, _)| crate::words::imagen_away(silent));
            let live_now = live.live().get(folder);
            row_html(group, progress.map(|a| (a, away)), live_now, &notes, &csrf)
        })
        .collect();
    let markup = html! {
        @for folder in &settling {
            tr data-folder=(folder) {
                td data-label="Shoot" { (folder) }
                td data-label="State" { span.pill.settling { "Settling" } }
                td.muted data-label="Progress" { "waiting for the copy to finish" }
                td.empty {} td.empty {} td.empty {}
            }
        }
        @for item in &skipped {
            tr data-folder=(item.folder) {
                td data-label="Shoot" { (item.folder) }
                td data-label="State" { span.pill.failed { "Skipped" } div.error { (item.reason) } }
                td.empty {}
                td data-label="Photos" { "0" }
                td.muted data-label="Updated" { (crate::words::ago(item.seen_ms)) }
                td.empty {}
            }
        }
        @for row in rows { (row) }
        @if settling.is_empty() && skipped.is_empty() && summaries.is_empty() {
            @match listing.search() {
                Some(search) => tr { td colspan="6" class="muted" { "No shoot's name holds “" (search) "”." } },
                None => tr { td colspan="6" class="muted" { "No shoots yet: drop a folder of photos into the inbox." } },
            }
        }
    };
    (markup, page)
}

/// The shoot's state as a pill: its label, and the class that colours it.
pub(super) fn state_pill(shoot: &ShootRecord) -> Markup {
    let (class, label) = match shoot.state {
        _ if shoot.is_done_with_problems() => ("problems", "Done with problems"),
        ShootState::Planned => ("planned", "Queued"),
        ShootState::Uploading => ("uploading", "Uploading"),
        ShootState::Editing => ("editing", "Editing"),
        ShootState::Downloading => ("downloading", "Downloading"),
        ShootState::Done => ("done", "Done"),
        ShootState::Failed => ("failed", "Failed"),
        ShootState::Held => ("held", "Held"),
    };
    html! { span class={ "pill " (class) } { (label) } }
}

/// The edited photos a finished shoot could not deliver, and why no retry is offered.
pub(super) fn problems_html(shoot: &ShootRecord) -> Markup {
    html! {
        @if !shoot.problems.is_empty() {
            div class="error problems" {
                (crate::words::count(shoot.problems.len() as u64, "edited photo", "edited photos"))
                " not delivered (every other one was):"
                ul { @for problem in &shoot.problems { li { (problem) } } }
            }
            div.muted {
                "Imagen named them in a way that cannot be written safely. Sending the shoot \
                 again would bill it twice, so there is no Retry; \""
                (crate::agent::REPORT_NAME) "\" in its outbox folder lists them."
            }
        }
    }
}

/// What a shoot folder's newest row also says.
#[derive(Default)]
struct FolderNotes<'a> {
    /// New photos are being copied in.
    settling: bool,
    not_sent: Vec<&'a NotSent>,
}

/// A shoot's row; `live` is what it is doing now, with Imagen's absence in words
/// while Imagen is away.
fn row_html(
    group: &ShootGroup,
    live: Option<(&Activity, Option<&str>)>,
    live_now: Option<&crate::events::LiveNow>,
    notes: &FolderNotes,
    csrf: &str,
) -> Markup {
    let row = &group.lead;
    let shoot = &row.shoot;
    let id = shoot.id;
    let (live, away) = (live.map(|(a, _)| a), live.and_then(|(_, away)| away));
    let progress = match (shoot.state, live) {
        (state, Some(activity)) if state.is_active() => html! {
            (activity_html(activity))
            @if let (Some(away), false) = (away, activity.is_waiting()) {
                div.error { "Stopped: " (away) "; it goes on by itself" }
            }
        },
        (ShootState::Done, _) => {
            html! { (crate::words::count(row.outputs, "edited photo", "edited photos")) }
        }
        (ShootState::Uploading, _) => html! { "uploaded " (row.uploaded) "/" (row.files) },
        (ShootState::Downloading, _) => html! { "downloaded " (row.outputs) },
        _ => html! {},
    };
    // A live shoot's batches come and go: its line says where the shoot as a whole is.
    let live_line = || crate::words::sentence(&group.live_progress(live_now));
    let progress = match (group.is_live(), shoot.state) {
        (true, ShootState::Done) => html! { (live_line()) },
        (true, _) => html! { (progress) div.live-line { (live_line()) } },
        (false, _) => progress,
    };
    let open_live = group.is_live() && live_now.is_some_and(|now| now.open);
    let action = match shoot.state {
        ShootState::Failed => Some(post_button(
            &format!("/shoots/{id}/retry"),
            csrf,
            "Retry",
            false,
        )),
        ShootState::Held => Some(post_button(
            &format!("/shoots/{id}/send-anyway"),
            csrf,
            "Send anyway",
            false,
        )),
        _ => None,
    };
    html! {
        tr data-shoot=(id) {
            td data-label="Shoot" {
                a href={ "/shoots/" (id) } { (shoot.folder) }
            }
            td data-label="State" {
                @if open_live { span.pill.live { "Live" } } @else { (state_pill(shoot)) }
                @if let Some(holder) = &shoot.holder { div.muted.holder { "by " (holder) } }
                // While a wait is live, its words (with the countdown) are in Progress.
                @if let (Some(error), false) = (shoot.error_words(), live.is_some_and(Activity::is_waiting)) {
                    div.error { (error) }
                }
                (retry_hint(shoot))
                (problems_html(shoot))
                @if group.projects.len() > 1 { (projects_html(&group.projects)) }
                @if notes.settling {
                    div.muted { "New photos arriving: waiting for the copy to finish" }
                }
                @if !notes.not_sent.is_empty() {
                    div class="error not-sent" {
                        (crate::words::count(notes.not_sent.len() as u64, "file", "files")) " not sent:"
                        ul { @for n in &notes.not_sent { li { (n.file) ": " (n.reason) } } }
                    }
                }
            }
            td data-label="Progress" { (progress) }
            td data-label="Photos" { (row.files) }
            td.muted data-label="Updated" { (crate::words::ago(shoot.updated_ms)) }
            td.action { @if let Some(action) = action { (action) } }
        }
    }
}

/// What a shoot in flight is doing: a bar for a transfer (a `<progress>`, which the
/// page's style policy lets through, unlike an inline width), and a wait's reason with
/// a countdown the page's script keeps counting.
pub(super) fn activity_html(activity: &Activity) -> Markup {
    match activity.kind() {
        EventKind::Waiting {
            reason,
            retry_at_ms,
            ..
        } => html! {
            span.error { "Waiting: " (reason) }
            @if let Some(at) = retry_at_ms {
                " " span.countdown data-until=(at) { (crate::events::activity::retry_words(*at)) }
            }
        },
        _ => html! {
            @if let Some(percent) = activity.percent() {
                progress.bar value=(percent) max="100" { (percent) "%" }
            }
            (activity.words())
        },
    }
}

/// The projects a shoot became (its edit rules, or RAW and JPEG; a live shoot's
/// batches), each with its state.
pub(super) fn projects_html(projects: &[ShootSummary]) -> Markup {
    html! {
        ul.muted.projects {
            @for project in projects {
                li {
                    a href={ "/shoots/" (project.shoot.id) } { (project_label(&project.shoot)) }
                    " — " (project.shoot.state_words()) ", "
                    (crate::words::count(project.files, "photo", "photos"))
                }
            }
        }
    }
}

/// How one project of a shoot is named in its list: a live shoot's batch by number.
pub(super) fn project_label(shoot: &ShootRecord) -> String {
    match shoot.live {
        true => format!("Batch {}", shoot.batch + 1),
        false => shoot.options.described(),
    }
}

/// What to know before retrying, from why the shoot stopped.
pub(super) fn retry_hint(shoot: &ShootRecord) -> Markup {
    html! {
        @if let Some(hint) = shoot.failure.and_then(crate::journal::FailureKind::retry_hint) {
            div.muted { (hint) }
        }
    }
}
