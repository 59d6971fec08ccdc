//! The Settings page: folder pairs, their edit options and edit rules, settle time,
//! concurrency,
//! notifications, the API address and the API key. The key is write-only: the page
//! only says whether one is set; a new one goes into the key file (user-only). Input
//! is validated on the server by the config's own parser, so each mistake is shown
//! under its field; a good form is saved atomically and the running agent picks it up
//! (the supervisor watches the file).

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::pages::{Tab, csrf_field, layout};
use super::{AppState, guard};
use crate::api::EditOptions;
use crate::config::{self, Config, ConfigError, FolderPair, Overrides};
use maud::{Markup, html};

mod form;
mod key_field;
mod view;
pub(super) mod welcome;

use form::{FormValues, apply, form_field};
use key_field::{KeyCheck, check_key, key_file_to_replace};
use view::render;

/// How long a save waits to see the agent take the new settings up.
const APPLIED_WITHIN: std::time::Duration = std::time::Duration::from_secs(3);

/// Field name → message.
type FieldErrors = BTreeMap<String, String>;

#[derive(serde::Deserialize)]
pub(super) struct PageQuery {
    saved: Option<String>,
    /// What Imagen said of a key just saved: "accepted" or "unchecked".
    key: Option<String>,
}

pub(super) async fn page(
    State(state): State<AppState>,
    Query(query): Query<PageQuery>,
) -> Response {
    let (config, problem) = current(&state);
    let missing: Vec<String> = (config.folders.iter())
        .filter(|pair| !pair.inbox.is_dir())
        .map(|pair| crate::words::printable_path(&pair.inbox))
        .collect();
    let banner = html! {
        @match (query.saved.as_deref(), problem) {
            (_, Some(problem)) => {
                div.banner.bad { "The settings file cannot be used: " (problem) }
            }
            (Some("applied"), None) => {
                div.banner.ok #saved { "Saved. The agent now works with these settings." }
            }
            (Some(_), None) => {
                div.banner.ok #saved { "Saved. The agent takes these settings up in a moment." }
            }
            (None, None) => {}
        }
        @match query.key.as_deref() {
            Some("accepted") => { div.banner.ok #key-check { (KeyCheck::Accepted.words()) } }
            Some(_) => { div.banner.warn #key-check { (KeyCheck::NotChecked.words()) } }
            None => {}
        }
        @for inbox in &missing {
            div.banner.warn.missing-inbox {
                "The inbox " (inbox) " does not exist — is the drive mounted? Shoots dropped there are sent once it is back; imagen-sync never creates it."
            }
        }
    };
    render(
        &state,
        &config,
        &FormValues::of(&config),
        &FieldErrors::new(),
        banner,
    )
    .into_response()
}

/// The config as saved in the file (what the page shows, read back after a save),
/// and what is wrong with the file when it cannot be used: a hand edit with a mistake,
/// which saving from the page would undo; the config in force is shown then.
fn current(state: &AppState) -> (Config, Option<String>) {
    let in_force = state.config.borrow().clone();
    match Config::load(&state.config_path) {
        Ok(config) => (config, None),
        Err(error) => (
            in_force.map_or_else(config::default_config, |c| (*c).clone()),
            Some(error.to_string()),
        ),
    }
}

pub(super) async fn save(
    State(state): State<AppState>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !guard::csrf_ok(&state, form.get("csrf")) {
        return (
            StatusCode::FORBIDDEN,
            super::pages::message_page(
                "Refused",
                "This form is stale; reload the page and try again.",
            ),
        )
            .into_response();
    }
    let (mut config, problem) = current(&state);
    if let Some(problem) = problem {
        // Saving now would write the last good settings over the hand edit.
        let banner = html! {
            div.banner.bad {
                "Nothing was saved: the settings file has a mistake of its own (" (problem)
                "). Fix it in the file first; your edit of it is kept as it is."
            }
        };
        let values = FormValues::of(&config);
        return (
            StatusCode::CONFLICT,
            render(&state, &config, &values, &FieldErrors::new(), banner),
        )
            .into_response();
    }
    let pair_count = form
        .get("folder_count")
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(0)
        .min(64);
    let values = FormValues::from_form(&form, pair_count);
    let mut errors = FieldErrors::new();
    let previous = config.clone();
    apply(&values, &form, &mut config, &mut errors);
    let checked = check_whole(&state, &config, &previous, &values, &form, &mut errors);
    let typed_key = form
        .get("api_key")
        .map(|k| k.trim())
        .filter(|k| !k.is_empty());
    // A key the environment overrides is refused when stored, unchecked.
    let from_environment = config::key_in_environment();
    let key_check = match (
        errors.is_empty() && checked.is_ok() && !from_environment,
        typed_key,
    ) {
        (true, Some(key)) => Some(check_key(&config.api.base_url, key).await),
        _ => None,
    };
    if key_check == Some(KeyCheck::Rejected) {
        errors.insert("api_key".into(), KeyCheck::Rejected.words().into());
    }
    if errors.is_empty() {
        match checked {
            Ok(()) => {
                let mut in_force = state.config.clone();
                in_force.mark_unchanged();
                if let Err(error) = store(&state, &mut config, typed_key) {
                    errors.insert("api_key".into(), error);
                } else {
                    // The agent watches the file: say "now works with" only once it does.
                    let applied = tokio::time::timeout(APPLIED_WITHIN, in_force.changed()).await;
                    let saved = match applied {
                        Ok(Ok(())) => "applied",
                        _ => "1",
                    };
                    let key = match key_check {
                        Some(KeyCheck::Accepted) => "&key=accepted",
                        Some(_) => "&key=unchecked",
                        None => "",
                    };
                    return Redirect::to(&format!("/settings?saved={saved}{key}")).into_response();
                }
            }
            Err(error) => {
                errors.insert("general".into(), error);
            }
        }
    }
    let banner = view::mistakes_banner(&errors, &values);
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        render(&state, &config, &values, &errors, banner),
    )
        .into_response()
}

/// Every mistake the config's own parser finds in the whole form, each under its
/// field: after one, the part of the config it is in is put back as it was and the
/// form checked again, so one save shows them all. A mistake with no field to show
/// it under is returned.
fn check_whole(
    state: &AppState,
    config: &Config,
    previous: &Config,
    values: &FormValues,
    form: &HashMap<String, String>,
    errors: &mut FieldErrors,
) -> Result<(), String> {
    let mut trial = config.clone();
    for _ in 0..16 {
        let text = config::render(&trial);
        match Config::parse(&text, &state.config_path, &Overrides::from_env()) {
            Ok(_) => return Ok(()),
            Err(ConfigError::Invalid {
                key: Some(key),
                message,
                ..
            }) => {
                errors
                    .entry(form_field(&key, values, form))
                    .or_insert(message);
                if !put_back(&mut trial, previous, &key) {
                    return Ok(());
                }
            }
            Err(error) => return Err(error.to_string()),
        }
    }
    Ok(())
}

/// Puts the part of `config` that `key` names back as `previous` has it; false when
/// it cannot (the same mistake would be found again).
fn put_back(config: &mut Config, previous: &Config, key: &str) -> bool {
    if let Some(rest) = key.strip_prefix("folders[")
        && let Some(index) = rest
            .split_once(']')
            .and_then(|(i, _)| i.parse::<usize>().ok())
        && index < config.folders.len()
    {
        match previous.folders.get(index) {
            Some(pair) if config.folders[index] != *pair => config.folders[index] = pair.clone(),
            _ => {
                config.folders.remove(index);
            }
        }
        return true;
    }
    let (section, _) = key.split_once('.').unwrap_or((key, ""));
    let before = config.clone();
    match section {
        "agent" => config.agent = previous.agent.clone(),
        "network" => config.network = previous.network.clone(),
        "api" => config.api = previous.api.clone(),
        "notifications" => config.notifications = previous.notifications,
        "dashboard" => config.dashboard = previous.dashboard.clone(),
        _ => return false,
    }
    *config != before
}

/// Writes the new key (if one was typed) and the config, each atomically.
fn store(state: &AppState, config: &mut Config, new_key: Option<&str>) -> Result<(), String> {
    if let Some(key) = new_key {
        let key_file = config
            .api
            .key_file
            .get_or_insert_with(config::default_key_file)
            .clone();
        key_file_to_replace(state, &key_file, key)?;
        if let Some(parent) = key_file.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot make {}: {e}", parent.display()))?;
        }
        crate::files::atomic_file::write_text(&key_file, &format!("{key}\n"))
            .map_err(|e| format!("cannot write the key file {}: {e}", key_file.display()))?;
    }
    crate::files::atomic_file::write_text(&state.config_path, &config::render(config))
        .map_err(|e| format!("cannot save {}: {e}", state.config_path.display()))
}
