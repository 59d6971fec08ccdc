//! The welcome page a first start opens: the API key (checked with Imagen as soon as
//! it is entered), the inbox and outbox with their full paths, and whether the
//! photographer shoots brackets (which sets HDR merge). Saved like Settings: the config
//! and the key file, each atomically, and the agent takes them up at once.

use std::path::PathBuf;

use super::key_field::{KeyCheck, check_key};
use super::*;

/// What the welcome form holds, as typed.
#[derive(Default)]
struct WelcomeValues {
    inbox: String,
    outbox: String,
    /// "yes", "no", or not answered yet.
    brackets: Option<String>,
}

pub(in crate::dashboard) async fn page(State(state): State<AppState>) -> Response {
    let (config, _) = current(&state);
    let pair = config.folders.first();
    let values = WelcomeValues {
        inbox: pair
            .map(|p| p.inbox.display().to_string())
            .unwrap_or_default(),
        outbox: pair
            .map(|p| p.outbox.display().to_string())
            .unwrap_or_default(),
        brackets: None,
    };
    render_welcome(&state, &config, &values, &FieldErrors::new()).into_response()
}

pub(in crate::dashboard) async fn save(
    State(state): State<AppState>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !guard::csrf_ok(&state, form.get("csrf")) {
        return (
            StatusCode::FORBIDDEN,
            super::super::pages::message_page(
                "Refused",
                "This form is stale; reload the page and try again.",
            ),
        )
            .into_response();
    }
    let (mut config, problem) = current(&state);
    let text = |key: &str| {
        form.get(key)
            .map(|v| v.trim().to_owned())
            .unwrap_or_default()
    };
    let values = WelcomeValues {
        inbox: text("inbox"),
        outbox: text("outbox"),
        brackets: form.get("brackets").cloned(),
    };
    let mut errors = FieldErrors::new();
    if let Some(problem) = problem {
        errors.insert(
            "general".into(),
            format!("the settings file has a mistake of its own ({problem}); fix it first"),
        );
    }
    let mut folder = |field: &str, typed: &str| {
        let path = PathBuf::from(typed);
        if !path.is_absolute() {
            errors.insert(
                field.into(),
                "must be a full path to a folder, like /home/you/Pictures/Imagen/Inbox".into(),
            );
        }
        path
    };
    let (inbox, outbox) = (
        folder("inbox", &values.inbox),
        folder("outbox", &values.outbox),
    );
    let hdr_merge = match values.brackets.as_deref() {
        Some("yes") => true,
        Some("no") => false,
        _ => {
            errors.insert("brackets".into(), "needs an answer".into());
            false
        }
    };
    let typed_key = form
        .get("api_key")
        .map(|k| k.trim())
        .filter(|k| !k.is_empty());
    if typed_key.is_none() && config.api_key().is_err() {
        errors.insert(
            "api_key".into(),
            "is needed: paste it from your Imagen account".into(),
        );
    }
    let key_check = match (errors.is_empty(), typed_key) {
        (true, Some(key)) if !config::key_in_environment() => {
            Some(check_key(&config.api.base_url, key).await)
        }
        _ => None,
    };
    if key_check == Some(KeyCheck::Rejected) {
        errors.insert("api_key".into(), KeyCheck::Rejected.words().into());
    }
    if errors.is_empty() {
        let kept = config.folders.first().cloned();
        let pair = match kept {
            Some(pair) => FolderPair {
                inbox: inbox.clone(),
                outbox: outbox.clone(),
                edit: EditOptions {
                    hdr_merge,
                    ..pair.edit.clone()
                },
                ..pair
            },
            None => FolderPair::new(
                inbox.clone(),
                outbox.clone(),
                EditOptions {
                    hdr_merge,
                    ..EditOptions::default()
                },
            ),
        };
        match config.folders.first_mut() {
            Some(first) => *first = pair,
            None => config.folders.push(pair),
        }
        // The photographer chose these folders here: they are made for them.
        for (field, path) in [("inbox", &inbox), ("outbox", &outbox)] {
            if let Err(error) = std::fs::create_dir_all(path) {
                errors.insert(
                    field.into(),
                    crate::words::io_problem_plain(path, "making it", &error),
                );
            }
        }
    }
    if errors.is_empty() {
        match store(&state, &mut config, typed_key) {
            Ok(()) => {
                let key = match key_check {
                    Some(KeyCheck::Accepted) => "?welcome=accepted",
                    Some(_) => "?welcome=unchecked",
                    None => "?welcome=saved",
                };
                return Redirect::to(&format!("/{key}")).into_response();
            }
            Err(error) => {
                errors.insert("api_key".into(), error);
            }
        }
    }
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        render_welcome(&state, &config, &values, &errors),
    )
        .into_response()
}

fn render_welcome(
    state: &AppState,
    config: &Config,
    values: &WelcomeValues,
    errors: &FieldErrors,
) -> axum::response::Html<String> {
    let label = |field: &str| match field {
        "api_key" => "The API key",
        "inbox" => "The inbox",
        "outbox" => "The outbox",
        "brackets" => "The question about brackets",
        _ => "This",
    };
    let error_for = |field: &str| {
        html! {
            @if let Some(message) = errors.get(field) {
                p.field-error data-field=(field) id={ (field) "-error" } {
                    (label(field)) " " (message.trim_end_matches('.')) "."
                }
            }
        }
    };
    let marked = |field: &str| errors.contains_key(field).then_some("invalid");
    let key_set = config.api_key().is_ok();
    let answered = |answer: &str| values.brackets.as_deref() == Some(answer);
    let body = html! {
        @if !errors.is_empty() {
            div.banner.bad #mistakes role="alert" {
                "Nothing was saved yet: please correct what is marked below."
                @if let Some(general) = errors.get("general") { " " (general) }
            }
        }
        form method="post" action="/welcome" #welcome {
            (csrf_field(&state.secret.csrf()))
            section.card {
                h1 { "Welcome to imagen-sync" }
                p {
                    "Three answers and it starts: every shoot folder dropped into the inbox is \
                     sent to Imagen for editing, and the edited photos come back to the outbox."
                }
            }
            section.card {
                h2 { "1. Your Imagen API key" }
                p.muted {
                    "It is in your Imagen account, under API keys. It is kept in a file only you \
                     can read, never shown again, and checked with Imagen as soon as you save."
                }
                input type="password" #api_key name="api_key" autocomplete="off" class=[marked("api_key")]
                    placeholder=(if key_set { "set — type a new key to replace it" } else { "paste your key here" });
                (error_for("api_key"))
            }
            section.card {
                h2 { "2. Where shoots go in and come out" }
                div.grid {
                    label for="inbox" { "Inbox: drop each shoot's folder here" }
                    input type="text" #inbox name="inbox" value=(values.inbox) class=[marked("inbox")];
                    (error_for("inbox"))
                    label for="outbox" { "Outbox: the edited photos land here" }
                    input type="text" #outbox name="outbox" value=(values.outbox) class=[marked("outbox")];
                    (error_for("outbox"))
                }
            }
            section.card #brackets {
                h2 { "3. Do you shoot brackets for HDR?" }
                p.muted {
                    "Real-estate photographers often take 3 or 5 exposures of each view. With \
                     brackets, the frames of each are merged into one HDR photo before editing."
                }
                div.checks {
                    label {
                        input type="radio" name="brackets" value="yes" checked[answered("yes")];
                        " Yes, merge my brackets into HDR photos"
                    }
                    br;
                    label {
                        input type="radio" name="brackets" value="no" checked[answered("no")];
                        " No, edit every photo on its own"
                    }
                }
                (error_for("brackets"))
            }
            div.actions { button.primary type="submit" { "Save and start" } }
        }
    };
    layout("Welcome", Tab::Settings, body)
}
