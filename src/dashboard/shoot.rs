//! One shoot's page: its state, why it stopped, and its photos before and after.

use std::collections::HashMap;
use std::path::PathBuf;

use axum::extract::{Path as UrlPath, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::html;

use super::pages::{Tab, layout, post_button};
use super::shoots::{problems_html, project_label, projects_html, retry_hint, state_pill};
use super::{AppState, journal, thumbs};
use crate::agent::names;
use crate::journal::{JournalView, ShootId, ShootState};
use crate::words::ago;

/// One edited photo with the frames it was made from (several for an HDR merge), or
/// one photo not edited (yet).
struct PhotoGroup {
    frames: Vec<Frame>,
    output: Option<PathBuf>,
    /// The photographer's touch-up of the output replaced Imagen's copy.
    touched_up: bool,
}

struct Frame {
    name: String,
    input: PathBuf,
}

fn photo_groups(journal: &dyn JournalView, id: ShootId) -> anyhow::Result<Vec<PhotoGroup>> {
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
    let matched: Vec<Option<&(PathBuf, bool)>> = files
        .iter()
        .map(|file| outputs.get(&stem(&file.relative)))
        .collect();
    let starts = match shoot.options.hdr_merge {
        true => bracket_starts(&matched),
        false => (0..files.len()).collect(),
    };
    let mut groups: Vec<PhotoGroup> = Vec::with_capacity(starts.len());
    for (index, file) in files.into_iter().enumerate() {
        if starts.contains(&index) || groups.is_empty() {
            groups.push(PhotoGroup {
                frames: Vec::new(),
                output: None,
                touched_up: false,
            });
        }
        let group = groups.last_mut().expect("one was pushed");
        if let Some((path, touched_up)) = matched[index] {
            group.output = Some(path.clone());
            group.touched_up = *touched_up;
        }
        group.frames.push(Frame {
            name: file.relative.display().to_string(),
            input: folder.join(&file.relative),
        });
    }
    Ok(groups)
}

/// Where each bracket of a merged shoot starts, in the frames sorted by name. Each
/// merged photo is named after one frame of its bracket: when those frames are evenly
/// spaced, the brackets are that size (whichever frame names them); otherwise each
/// frame goes with the merged photo named before it. Before any output, every frame
/// stands alone.
fn bracket_starts(matched: &[Option<&(PathBuf, bool)>]) -> Vec<usize> {
    let named: Vec<usize> = (0..matched.len())
        .filter(|&i| matched[i].is_some())
        .collect();
    let frames = matched.len();
    let (Some(&first), false) = (named.first(), named.is_empty()) else {
        return (0..frames).collect();
    };
    let size = frames / named.len();
    let even = size > 0
        && frames.is_multiple_of(named.len())
        && first < size
        && named
            .iter()
            .enumerate()
            .all(|(n, &at)| at == first + n * size);
    match even {
        true => (0..named.len()).map(|n| n * size).collect(),
        false => std::iter::once(0)
            .chain(named.into_iter().skip(1))
            .collect(),
    }
}

pub(super) async fn shoot_page(
    State(state): State<AppState>,
    UrlPath(id): UrlPath<ShootId>,
) -> Response {
    let Some(journal) = journal(&state) else {
        return not_found();
    };
    let (Ok(shoot), Ok(groups)) = (journal.shoot(id), photo_groups(journal.as_ref(), id)) else {
        return not_found();
    };
    let csrf = state.secret.csrf();
    let projects = shoot.projects_in(journal.as_ref());
    let live_open = shoot.live
        && (state.live.lock().expect("not poisoned").live())
            .get(&shoot.folder)
            .is_some_and(|now| now.open);
    let live_line = match shoot.live {
        true => {
            let glance = state.live.lock().expect("not poisoned");
            (crate::journal::ShootGroup::of(projects.clone()).first())
                .map(|group| group.live_progress(glance.live().get(&shoot.folder)))
                .map(|line| crate::words::sentence(&line))
        }
        false => None,
    };
    let frames: usize = groups.iter().map(|g| g.frames.len()).sum();
    let merged = groups.iter().filter(|g| g.frames.len() > 1).count();
    let finished = matches!(shoot.state, ShootState::Done);
    // Each group's first frame, counted over the whole shoot (how frames are fetched).
    let first_frames: Vec<usize> = groups
        .iter()
        .scan(0, |next, group| {
            let first = *next;
            *next += group.frames.len();
            Some(first)
        })
        .collect();
    let body = html! {
        section.card {
            div.status-line {
                h1 { (shoot.folder) }
                @if live_open { span.pill.live { "Live" } } @else { (state_pill(&shoot)) }
            }
            @if let Some(error) = shoot.error_words() { p.error { (error) } }
            (retry_hint(&shoot))
            (problems_html(&shoot))
            @if let Some(line) = &live_line {
                p.live-line { (line) }
                p { "Its photos go up in batches as they arrive; each batch is a project:" }
                (projects_html(&projects))
            } @else if projects.len() > 1 {
                p { "This shoot became " (projects.len()) " projects:" }
                (projects_html(&projects))
            }
            div.grid {
                span.muted {
                    @if shoot.live { "Photos in " (project_label(&shoot).to_lowercase()) } @else { "Photos" }
                }
                span {
                    (frames)
                    @if merged > 0 {
                        " → " (crate::words::count(groups.len() as u64, "HDR photo", "HDR photos"))
                    }
                }
                span.muted { "Edits" } span { (shoot.options.described()) }
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
            p.muted { "Click a pair to compare it larger." }
            div.photos {
                @for (index, group) in groups.iter().enumerate() {
                    a.pair-link href={ "/shoots/" (id) "/compare/" (index) } {
                        figure.photo {
                            div class=(if group.frames.len() > 1 { "frames" } else { "frame" }) {
                                @for n in 0..group.frames.len() {
                                    img src={ "/shoots/" (id) "/thumb/" (first_frames[index] + n) "/before" }
                                        alt="before" loading="lazy";
                                }
                            }
                            figcaption {
                                "Before · " (group.frames[0].name)
                                @if group.frames.len() > 1 {
                                    " · " (group.frames.len()) " frames → 1 photo"
                                }
                            }
                        }
                        figure.photo {
                            @if group.output.is_some() {
                                img src={ "/shoots/" (id) "/thumb/" (index) "/after" } alt="after" loading="lazy";
                            } @else {
                                div.none {}
                            }
                            figcaption {
                                "After"
                                @if group.output.is_none() {
                                    @if finished { " · not delivered" } @else { " · not edited yet" }
                                }
                                @if group.touched_up { " · " span.touched { "touched up, synced" } }
                            }
                        }
                    }
                }
            }
        }
    };
    layout(&shoot.folder, Tab::Shoots, body).into_response()
}

/// One pair larger: the frame (the middle one of a bracket) and the edited photo side
/// by side, and the same two under a before/after slider.
pub(super) async fn compare_page(
    State(state): State<AppState>,
    UrlPath((id, index)): UrlPath<(ShootId, usize)>,
) -> Response {
    let Some(journal) = journal(&state) else {
        return not_found();
    };
    let (Ok(shoot), Ok(groups)) = (journal.shoot(id), photo_groups(journal.as_ref(), id)) else {
        return not_found();
    };
    let Some(group) = groups.get(index) else {
        return not_found();
    };
    let first_frame: usize = groups[..index].iter().map(|g| g.frames.len()).sum();
    let shown_frame = first_frame + group.frames.len() / 2;
    let before = format!("/shoots/{id}/large/{shown_frame}/before");
    let after = format!("/shoots/{id}/large/{index}/after");
    let body = html! {
        section.card {
            div.status-line {
                h1 { (shoot.folder) }
                a.button href={ "/shoots/" (id) } { "Back to the shoot" }
            }
            p.muted {
                @for (n, frame) in group.frames.iter().enumerate() {
                    @if n > 0 { ", " } (frame.name)
                }
                @if group.frames.len() > 1 { " → 1 photo" }
            }
            @if group.output.is_some() {
                div.compare {
                    div.compare-frame #compare {
                        img.compare-before src=(before) alt="before";
                        div.compare-after #compare-after { img src=(after) alt="after"; }
                    }
                    input #compare-slider type="range" min="0" max="100" value="50"
                        aria-label="Slide between after (left) and before (right)";
                    p.muted { "After on the left, before on the right: slide to compare." }
                }
            }
            div.photos.side-by-side {
                figure.photo { img src=(before) alt="before, large"; figcaption { "Before" } }
                figure.photo {
                    @if group.output.is_some() {
                        img src=(after) alt="after, large";
                    } @else { div.none {} }
                    figcaption { "After" }
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
    state: State<AppState>,
    UrlPath((id, index, side)): UrlPath<(ShootId, usize, String)>,
) -> Response {
    picture(state, id, index, &side, thumbs::THUMB_EDGE).await
}

pub(super) async fn large(
    state: State<AppState>,
    UrlPath((id, index, side)): UrlPath<(ShootId, usize, String)>,
) -> Response {
    picture(state, id, index, &side, thumbs::VIEW_EDGE).await
}

/// A frame ("before", by its place in the shoot) or an edited photo ("after", by its
/// group), at most `edge` pixels long.
async fn picture(
    State(state): State<AppState>,
    id: ShootId,
    index: usize,
    side: &str,
    edge: u32,
) -> Response {
    let Some(journal) = journal(&state) else {
        return not_found();
    };
    let Ok(groups) = photo_groups(journal.as_ref(), id) else {
        return not_found();
    };
    let source = match side {
        "before" => groups
            .into_iter()
            .flat_map(|g| g.frames)
            .nth(index)
            .map(|frame| frame.input),
        "after" => groups.into_iter().nth(index).and_then(|g| g.output),
        _ => None,
    };
    let Some(source) = source else {
        return not_found();
    };
    match thumbs::thumbnail_in_turn(source, state.thumbs_dir.clone(), edge).await {
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

#[cfg(test)]
mod tests {
    use super::bracket_starts;
    use std::path::PathBuf;

    fn named(pattern: &str) -> Vec<Option<&'static (PathBuf, bool)>> {
        static OUTPUT: std::sync::LazyLock<(PathBuf, bool)> =
            std::sync::LazyLock::new(|| (PathBuf::from("out.jpg"), false));
        pattern
            .chars()
            .map(|c| (c == 'o').then(|| &*OUTPUT))
            .collect()
    }

    #[test]
    fn brackets_are_found_whichever_frame_names_the_merged_photo() {
        assert_eq!(bracket_starts(&named("o..o..o..")), vec![0, 3, 6]);
        assert_eq!(bracket_starts(&named(".o..o..o.")), vec![0, 3, 6]);
        assert_eq!(bracket_starts(&named("..o..o..o")), vec![0, 3, 6]);
        assert_eq!(bracket_starts(&named("o....o..")), vec![0, 5]);
        assert_eq!(bracket_starts(&named("...")), vec![0, 1, 2]);
    }
}
