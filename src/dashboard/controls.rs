//! The dashboard's buttons: pause, resume, retry, "Send anyway" and "Open outbox
//! folder", each a form post checked against the CSRF token and run through the one
//! [`Control`].

use std::collections::HashMap;

use axum::extract::{Form, Path as UrlPath, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::{AppState, guard};
use crate::control::Control;
use crate::journal::{RetryScope, ShootId};

fn control(state: &AppState) -> anyhow::Result<Control> {
    let config = state
        .config
        .borrow()
        .clone()
        .ok_or_else(|| anyhow::anyhow!("the settings are not valid yet"))?;
    Ok(state
        .controls
        .for_config(&config, crate::control::Surface::Dashboard)?)
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

pub(super) async fn retry(
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
pub(super) async fn send_anyway(
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

pub(super) async fn pause(State(state): State<AppState>, Form(form): FormFields) -> Response {
    change(&state, &form, "/", |control| Ok(control.set_paused(true)?)).await
}

pub(super) async fn resume(State(state): State<AppState>, Form(form): FormFields) -> Response {
    change(&state, &form, "/", |control| Ok(control.set_paused(false)?)).await
}

/// Opens the shoot's outbox folder on this machine's desktop.
pub(super) async fn open_outbox(
    State(state): State<AppState>,
    UrlPath(id): UrlPath<ShootId>,
    Form(form): FormFields,
) -> Response {
    change(&state, &form, &format!("/shoots/{id}"), move |control| {
        crate::platform::open::in_desktop(&control.outbox_folder(id)?)?;
        Ok(())
    })
    .await
}
