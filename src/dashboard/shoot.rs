//! One shoot's page: its state, why it stopped, and its photos before and after.

use std::collections::HashMap;
use std::path::PathBuf;

use axum::extract::{Path as UrlPath, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::html;

use super::pages::{Tab, layout, post_button};
use super::shoots::{problems_html, projects_html, retry_hint, state_pill};
use super::{AppState, journal, thumbs};
use crate::agent::names;
use crate::journal::{JournalView, ShootId, ShootState};
use crate::words::ago;

/// A shoot's photos, each input with the edited output made from it (if any).
struct PhotoPair {
    name: String,
    input: PathBuf,
    output: Option<PathBuf>,
    /// The photographer's touch-up of the output replaced Imagen's copy.
    touched_up: bool,
}

fn photo_pairs(journal: &dyn JournalView, id: ShootId) -> anyhow::Result<Vec<PhotoPair>> {
    let shoot = journal.shoot(id)?;
    let mut files = journal.files(id)?;
    files.sort_by(|a, b| a.relative.cmp(&b.relative));
    let stem = |path: &std::path::Path| path.with_extension("");
    let outputs: HashMap<PathBuf, (PathBuf, bool)> = journal
        .outputs(id)?
        .into_iter()
        .filter(|output| output.placed)
        .filter_map(|output| {
            let touched_up = output.touched_up();
            Some((
                stem(&names::decode(&output.file_name)?),
                (output.path, touched_up),
            ))
        })
        .collect();
    let folder = shoot.inbox.join(&shoot.folder);
    Ok(files
        .into_iter()
        .map(|file| PhotoPair {
            name: file.relative.display().to_string(),
            input: folder.join(&file.relative),
            output: outputs
                .get(&stem(&file.relative))
                .map(|(path, _)| path.clone()),
            touched_up: outputs
                .get(&stem(&file.relative))
                .is_some_and(|(_, touched)| *touched),
        })
        .collect())
}

pub(super) async fn shoot_page(
    State(state): State<AppState>,
    UrlPath(id): UrlPath<ShootId>,
) -> Response {
    let Some(journal) = journal(&state) else {
        return not_found();
    };
    let (Ok(shoot), Ok(pairs)) = (journal.shoot(id), photo_pairs(journal.as_ref(), id)) else {
        return not_found();
    };
    let csrf = state.secret.csrf();
    let projects = shoot.projects_in(journal.as_ref());
    let body = html! {
        section.card {
            div.status-line {
                h1 { (shoot.folder) }
                (state_pill(&shoot))
            }
            @if let Some(error) = shoot.error_words() { p.error { (error) } }
            (retry_hint(&shoot))
            (problems_html(&shoot))
            @if projects.len() > 1 {
                p { "This shoot became " (projects.len()) " projects:" }
                (projects_html(&projects))
            }
            div.grid {
                span.muted { "Project" } span { (shoot.project_name) }
                span.muted { "Photos" } span { (pairs.len()) }
                span.muted { "Started" } span { (ago(shoot.created_ms)) }
                span.muted { "Updated" } span { (ago(shoot.updated_ms)) }
                span.muted { "Outbox folder" } span { (shoot.outbox.display()) }
            }
            div.actions {
                @if shoot.state == ShootState::Failed {
                    (post_button(&format!("/shoots/{id}/retry"), &csrf, "Retry", true))
                }
                (post_button(&format!("/shoots/{id}/open"), &csrf, "Open outbox folder", false))
            }
        }
        section.card {
            h2 { "Before and after" }
            div.photos {
                @for (index, pair) in pairs.iter().enumerate() {
                    figure.photo {
                        img src={ "/shoots/" (id) "/thumb/" (index) "/before" } alt="before" loading="lazy";
                        figcaption { "Before · " (pair.name) }
                    }
                    figure.photo {
                        @if pair.output.is_some() {
                            img src={ "/shoots/" (id) "/thumb/" (index) "/after" } alt="after" loading="lazy";
                        } @else {
                            div.none {}
                        }
                        figcaption {
                            "After"
                            @if pair.output.is_none() { " · not edited yet" }
                            @if pair.touched_up { " · " span.touched { "touched up, synced" } }
                        }
                    }
                }
            }
        }
    };
    layout(&shoot.folder, Tab::Shoots, body).into_response()
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        super::pages::message_page("Not found", "There is no such shoot."),
    )
        .into_response()
}

pub(super) async fn thumbnail(
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
    match thumbs::thumbnail_in_turn(source, state.thumbs_dir.clone()).await {
        Ok(bytes) => (
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
