//! The dashboard's page frame: the layout around every page, and the style and script
//! it ships (served from the agent; nothing from a CDN). Pages are built with maud,
//! which escapes every value it is given: markup is only what a template spells out.

use axum::response::Html;
use maud::{DOCTYPE, Markup, html};

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Tab {
    Shoots,
    Settings,
}

/// A whole page: title bar with the two tabs, then `body`.
pub(super) fn layout(title: &str, tab: Tab, body: Markup) -> Html<String> {
    let class = |t: Tab| if t == tab { "tab active" } else { "tab" };
    document(
        &format!("{title} — imagen-sync"),
        html! {
            header.bar {
                span.brand { "imagen-sync" }
                nav {
                    a class=(class(Tab::Shoots)) href="/" { "Shoots" }
                    a class=(class(Tab::Settings)) href="/settings" { "Settings" }
                }
            }
            main { (body) }
            script src="/static/app.js" {}
        },
    )
}

/// A page with one short message (refusals, errors).
pub(super) fn message_page(title: &str, message: &str) -> Html<String> {
    document(
        title,
        html! { main { section.card { h1 { (title) } p { (message) } } } },
    )
}

/// The HTML document around a page's `body`.
fn document(title: &str, body: Markup) -> Html<String> {
    Html(
        html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { (title) }
                    link rel="stylesheet" href="/static/app.css";
                }
                body { (body) }
            }
        }
        .into_string(),
    )
}

/// A hidden CSRF field for a form.
pub(super) fn csrf_field(csrf: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(csrf); }
}

/// A button that posts to `action` (with the CSRF field).
pub(super) fn post_button(action: &str, csrf: &str, label: &str, primary: bool) -> Markup {
    html! {
        form.inline method="post" action=(action) {
            (csrf_field(csrf))
            button class=[primary.then_some("primary")] { (label) }
        }
    }
}

pub(super) const STYLE: &str = include_str!("static/app.css");
pub(super) const SCRIPT: &str = include_str!("static/app.js");
