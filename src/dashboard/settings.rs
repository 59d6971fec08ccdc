//! The Settings page: folder pairs, their edit options and edit rules, settle time,
//! concurrency,
//! notifications, the API address and the API key. The key is write-only: the page
//! only says whether one is set; a new one goes into the key file (user-only). Input
//! is validated on the server by the config's own parser, so each mistake is shown
//! under its field; a good form is saved atomically and the running agent picks it up
//! (the supervisor watches the file).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::pages::{Tab, csrf_field, layout};
use super::{AppState, guard};
use crate::api::EditOptions;
use crate::config::{self, Config, ConfigError, FolderPair, Overrides};
use maud::{Markup, html};

/// What the form shows: the user's own text, so a mistake can be corrected in place.
struct FormValues {
    base_url: String,
    /// `[network]` limits as typed: (key, label, text).
    limits: Vec<(&'static str, &'static str, String)>,
    numbers: Vec<(&'static str, &'static str, String)>,
    /// On/off settings, the network's and the notifications': (key, label, on).
    switches: Vec<(&'static str, &'static str, bool)>,
    pairs: Vec<PairValues>,
    /// The empty pair at the end, for adding one.
    new_pair: PairValues,
}

#[derive(Default)]
struct PairValues {
    inbox: String,
    outbox: String,
    hdr_merge: bool,
    perspective_correction: bool,
    sky_replacement: bool,
    /// Its edit rules, then an empty one for adding a rule.
    rules: Vec<RuleValues>,
}

/// One edit rule as the form shows it: the glob, and per tool "" (as the folder),
/// "on" or "off".
#[derive(Default, Clone)]
struct RuleValues {
    pattern: String,
    tools: [String; 3],
}

/// The tools a rule can switch, as (config key, label).
const RULE_TOOLS: [(&str, &str); 3] = [
    ("hdr_merge", "HDR merge"),
    ("perspective_correction", "Perspective correction"),
    ("sky_replacement", "Sky replacement"),
];

impl RuleValues {
    fn of(rule: &config::EditRule) -> RuleValues {
        let word = |value: Option<bool>| match value {
            None => String::new(),
            Some(true) => "on".into(),
            Some(false) => "off".into(),
        };
        RuleValues {
            pattern: rule.pattern.clone(),
            tools: [
                word(rule.edit.hdr_merge),
                word(rule.edit.perspective_correction),
                word(rule.edit.sky_replacement),
            ],
        }
    }

    /// The overrides the form asks for; the template id (not on the form) is kept.
    fn overrides(&self, kept: Option<&config::EditRule>) -> config::EditOverrides {
        let value = |text: &str| match text {
            "on" => Some(true),
            "off" => Some(false),
            _ => None,
        };
        config::EditOverrides {
            hdr_merge: value(&self.tools[0]),
            perspective_correction: value(&self.tools[1]),
            sky_replacement: value(&self.tools[2]),
            sky_replacement_template_id: kept.and_then(|r| r.edit.sky_replacement_template_id),
        }
    }
}

const NUMBERS: [(&str, &str); 6] = [
    (
        "agent.settle_seconds",
        "Quiet time before a shoot starts (seconds)",
    ),
    ("agent.max_active_shoots", "Shoots at once"),
    ("agent.max_parallel_uploads", "Photos uploading at once"),
    ("agent.max_parallel_downloads", "Photos downloading at once"),
    (
        "agent.daily_photo_limit",
        "Spend guard: photos sent in 24 hours at most (0: no limit)",
    ),
    (
        "agent.daily_follow_up_limit",
        "Spend guard: follow-up projects of one shoot in 24 hours at most (0: no limit)",
    ),
];

const LIMITS: [(&str, &str); 2] = [
    (
        "network.upload_limit",
        "Upload limit (off, 2 MB/s, or 08:00,1MB/s 18:00,off)",
    ),
    ("network.download_limit", "Download limit"),
];

const SWITCHES: [(&str, &str); 6] = [
    (
        "network.pause_on_metered",
        "Uploads wait on a metered network (a phone's hotspot)",
    ),
    ("network.pause_on_battery", "Uploads wait while on battery"),
    ("notifications.shoot_done", "A shoot is ready"),
    ("notifications.shoot_failed", "A shoot failed"),
    ("notifications.key_rejected", "The API key was rejected"),
    ("notifications.network", "The network was lost, and is back"),
];

impl FormValues {
    fn of(config: &Config) -> FormValues {
        let agent = &config.agent;
        let numbers = [
            agent.settle_seconds as usize,
            agent.max_active_shoots,
            agent.max_parallel_uploads,
            agent.max_parallel_downloads,
            agent.spend.daily_photos as usize,
            agent.spend.daily_follow_ups as usize,
        ];
        let n = &config.notifications;
        let switches = [
            config.network.pause_on_metered,
            config.network.pause_on_battery,
            n.shoot_done,
            n.shoot_failed,
            n.key_rejected,
            n.network,
        ];
        let limits = [&config.network.upload_limit, &config.network.download_limit];
        FormValues {
            base_url: config.api.base_url.to_string(),
            limits: LIMITS
                .iter()
                .zip(limits)
                .map(|(&(key, label), plan)| (key, label, plan.to_string()))
                .collect(),
            numbers: NUMBERS
                .iter()
                .zip(numbers)
                .map(|(&(key, label), value)| (key, label, value.to_string()))
                .collect(),
            switches: SWITCHES
                .iter()
                .zip(switches)
                .map(|(&(key, label), on)| (key, label, on))
                .collect(),
            pairs: config
                .folders
                .iter()
                .map(|pair| PairValues {
                    inbox: pair.inbox.display().to_string(),
                    outbox: pair.outbox.display().to_string(),
                    hdr_merge: pair.edit.hdr_merge,
                    perspective_correction: pair.edit.perspective_correction,
                    sky_replacement: pair.edit.sky_replacement,
                    rules: pair
                        .rules
                        .iter()
                        .map(RuleValues::of)
                        .chain([RuleValues::default()])
                        .collect(),
                })
                .collect(),
            new_pair: PairValues::default(),
        }
    }

    fn from_form(form: &HashMap<String, String>, pairs: usize) -> FormValues {
        let text = |key: &str| {
            form.get(key)
                .map(|v| v.trim().to_owned())
                .unwrap_or_default()
        };
        let on = |key: &str| form.contains_key(key);
        let rule = |i: usize, r: usize| RuleValues {
            pattern: text(&format!("folders[{i}].rules[{r}].match")),
            tools: RULE_TOOLS.map(|(key, _)| text(&format!("folders[{i}].rules[{r}].{key}"))),
        };
        let pair = |i: usize| PairValues {
            inbox: text(&format!("folders[{i}].inbox")),
            outbox: text(&format!("folders[{i}].outbox")),
            hdr_merge: on(&format!("folders[{i}].hdr_merge")),
            perspective_correction: on(&format!("folders[{i}].perspective_correction")),
            sky_replacement: on(&format!("folders[{i}].sky_replacement")),
            rules: (0..=text(&format!("folders[{i}].rule_count"))
                .parse::<usize>()
                .unwrap_or(0)
                .min(64))
                .map(|r| rule(i, r))
                .collect(),
        };
        FormValues {
            base_url: text("api.base_url"),
            limits: LIMITS
                .iter()
                .map(|&(key, label)| (key, label, text(key)))
                .collect(),
            numbers: NUMBERS
                .iter()
                .map(|&(key, label)| (key, label, text(key)))
                .collect(),
            switches: SWITCHES
                .iter()
                .map(|&(key, label)| (key, label, on(key)))
                .collect(),
            pairs: (0..pairs).map(pair).collect(),
            new_pair: pair(pairs),
        }
    }
}

/// Field name → message.
type FieldErrors = BTreeMap<String, String>;

#[derive(serde::Deserialize)]
pub(super) struct PageQuery {
    saved: Option<String>,
}

pub(super) async fn page(
    State(state): State<AppState>,
    Query(query): Query<PageQuery>,
) -> Response {
    let (config, problem) = current(&state);
    let banner = match (query.saved.is_some(), problem) {
        (_, Some(problem)) => {
            html! { div.banner.bad { "The settings file cannot be used: " (problem) } }
        }
        (true, None) => {
            html! { div.banner.ok { "Saved. The agent now works with these settings." } }
        }
        (false, None) => html! {},
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

/// The config in force (or the defaults), and what is wrong with the file when it
/// cannot be used: a hand edit with a mistake, which saving from the page would undo.
fn current(state: &AppState) -> (Config, Option<String>) {
    let in_force = state.config.borrow().clone();
    match Config::load(&state.config_path) {
        Ok(config) => (in_force.map_or(config, |c| (*c).clone()), None),
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
    apply(&values, &form, &mut config, &mut errors);
    if errors.is_empty() {
        let text = config::render(&config);
        match Config::parse(&text, &state.config_path, &Overrides::from_env()) {
            Ok(_) => {
                if let Err(error) = store(&state, &mut config, form.get("api_key")) {
                    errors.insert("api_key".into(), error);
                } else {
                    return Redirect::to("/settings?saved=1").into_response();
                }
            }
            Err(ConfigError::Invalid {
                key: Some(key),
                message,
                ..
            }) => {
                errors.insert(form_field(&key, &values, &form), message);
            }
            Err(error) => {
                errors.insert("general".into(), error.to_string());
            }
        }
    }
    let banner = html! {
        div.banner.bad { "Nothing was saved: please correct the fields marked below." }
    };
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        render(&state, &config, &values, &errors, banner),
    )
        .into_response()
}

/// Puts the form's values into `config`, noting what cannot be read.
fn apply(
    values: &FormValues,
    form: &HashMap<String, String>,
    config: &mut Config,
    errors: &mut FieldErrors,
) {
    match url::Url::parse(&values.base_url) {
        Ok(url) => config.api.base_url = url,
        Err(_) => {
            errors.insert(
                "api.base_url".into(),
                "must be a URL, like https://api.imagen-ai.com/v1".into(),
            );
        }
    }
    for (key, _, text) in &values.numbers {
        // A form from before a field existed keeps that setting as it is.
        if !form.contains_key(*key) {
            continue;
        }
        let Ok(number) = text.parse::<u64>() else {
            errors.insert((*key).into(), "must be a whole number".into());
            continue;
        };
        let agent = &mut config.agent;
        match *key {
            "agent.settle_seconds" => agent.settle_seconds = number,
            "agent.max_active_shoots" => agent.max_active_shoots = number as usize,
            "agent.max_parallel_uploads" => agent.max_parallel_uploads = number as usize,
            "agent.daily_photo_limit" => agent.spend.daily_photos = number,
            "agent.daily_follow_up_limit" => agent.spend.daily_follow_ups = number,
            _ => agent.max_parallel_downloads = number as usize,
        }
    }
    for (key, _, text) in &values.limits {
        // A form from before the limits existed keeps them as they are.
        if !form.contains_key(*key) {
            continue;
        }
        match config::BandwidthPlan::parse(text) {
            Ok(plan) if *key == "network.upload_limit" => config.network.upload_limit = plan,
            Ok(plan) => config.network.download_limit = plan,
            Err(message) => {
                errors.insert((*key).into(), message.into());
            }
        }
    }
    let switch = |key: &str| values.switches.iter().any(|(k, _, on)| *k == key && *on);
    // A form from before the network's switches existed keeps them as they are.
    if form.contains_key("network.switches_shown") {
        config.network.pause_on_metered = switch("network.pause_on_metered");
        config.network.pause_on_battery = switch("network.pause_on_battery");
    }
    config.notifications.shoot_done = switch("notifications.shoot_done");
    config.notifications.shoot_failed = switch("notifications.shoot_failed");
    config.notifications.key_rejected = switch("notifications.key_rejected");
    config.notifications.network = switch("notifications.network");

    let previous = std::mem::take(&mut config.folders);
    let all = values.pairs.iter().chain(std::iter::once(&values.new_pair));
    for (index, pair) in all.enumerate() {
        let is_new = index == values.pairs.len();
        if form.contains_key(&format!("folders[{index}].remove"))
            || (is_new && pair.inbox.is_empty() && pair.outbox.is_empty())
        {
            continue;
        }
        let mut folder = |field: &str, text: &str| -> Option<PathBuf> {
            let path = PathBuf::from(text);
            if text.is_empty() || !path.is_absolute() {
                errors.insert(
                    format!("folders[{index}].{field}"),
                    "must be a full path to a folder, like /home/you/Pictures/Imagen/Inbox".into(),
                );
                return None;
            }
            Some(path)
        };
        let (Some(inbox), Some(outbox)) =
            (folder("inbox", &pair.inbox), folder("outbox", &pair.outbox))
        else {
            continue;
        };
        // What the form does not show (template, callback, id, watch mode) is kept.
        let kept = previous.get(index).cloned().unwrap_or_else(|| {
            FolderPair::new(inbox.clone(), outbox.clone(), EditOptions::default())
        });
        // A rule whose pattern is cleared is removed.
        let mut rules = Vec::new();
        for (number, rule) in pair.rules.iter().enumerate() {
            if rule.pattern.is_empty() {
                continue;
            }
            let overrides = rule.overrides(kept.rules.get(number));
            match config::EditRule::new(&rule.pattern, overrides) {
                Ok(rule) => rules.push(rule),
                Err(message) => {
                    errors.insert(
                        format!("folders[{index}].rules[{number}].match"),
                        message.into(),
                    );
                }
            }
        }
        config.folders.push(FolderPair {
            inbox,
            outbox,
            edit: EditOptions {
                hdr_merge: pair.hdr_merge,
                perspective_correction: pair.perspective_correction,
                sky_replacement: pair.sky_replacement,
                ..kept.edit.clone()
            },
            rules,
            ..kept
        });
    }
}

/// The form field a config key points at (folder indexes shift when pairs are removed).
fn form_field(key: &str, values: &FormValues, form: &HashMap<String, String>) -> String {
    let Some(rest) = key.strip_prefix("folders[") else {
        return key.to_owned();
    };
    let Some((index, field)) = rest.split_once("].") else {
        return key.to_owned();
    };
    let Ok(index) = index.parse::<usize>() else {
        return key.to_owned();
    };
    let kept: Vec<usize> = (0..=values.pairs.len())
        .filter(|i| !form.contains_key(&format!("folders[{i}].remove")))
        .filter(|&i| {
            i < values.pairs.len()
                || !values.new_pair.inbox.is_empty()
                || !values.new_pair.outbox.is_empty()
        })
        .collect();
    let form_index = kept.get(index).copied().unwrap_or(index);
    format!("folders[{form_index}].{field}")
}

/// Writes the new key (if one was typed) and the config, each atomically.
fn store(state: &AppState, config: &mut Config, new_key: Option<&String>) -> Result<(), String> {
    if let Some(key) = new_key.map(|k| k.trim()).filter(|k| !k.is_empty()) {
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

/// Whether the page may write `key` into `key_file`: never when `IMAGEN_API_KEY` is in
/// force (the typed key would not be used), and only into a key file of the agent's
/// own: in the config's folder (or the default one), and, when it exists, the user's
/// private file with one line in it. Any other file `key_file` names (a system file
/// named by mistake) is left untouched, with why.
fn key_file_to_replace(state: &AppState, key_file: &Path, key: &str) -> Result<(), String> {
    if std::env::var(config::ENV_API_KEY).is_ok_and(|k| !k.trim().is_empty()) {
        return Err(format!(
            "the key comes from the {} environment variable, so a key typed here would \
             not be used; change it where that variable is set (nothing was saved)",
            config::ENV_API_KEY
        ));
    }
    if key.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err("an API key is one word, with no spaces or line breaks; paste it again".into());
    }
    let config_dir = state
        .config_path
        .parent()
        .map(crate::files::overlap::resolve);
    let place = key_file.parent().map(crate::files::overlap::resolve);
    let ours = place.is_some() && (place == config_dir || key_file == config::default_key_file());
    let refuse = |why: &str| {
        format!(
            "key_file names {}, {why}; the page writes only a key file of its own. Write the \
             key into that file yourself, or remove key_file from the config to let the page \
             keep it (nothing was saved)",
            key_file.display()
        )
    };
    if !ours {
        return Err(refuse("which is outside the settings folder"));
    }
    match std::fs::symlink_metadata(key_file) {
        Err(_) => Ok(()),
        Ok(metadata) if metadata.file_type().is_symlink() => Err(refuse("which is a link")),
        Ok(_) => match config::read_key_file(key_file) {
            Ok(_) => Ok(()),
            Err(ConfigError::KeyFile { problem, .. }) if problem.starts_with("is empty") => Ok(()),
            Err(ConfigError::KeyFile { problem, .. }) => Err(refuse(&format!("which {problem}"))),
            Err(error) => Err(refuse(&error.to_string())),
        },
    }
}

/// A hot folder's edit rules: a row per rule (clear its pattern to remove it), and an
/// empty row to add one.
fn rules_html(index: usize, rules: &[RuleValues], error_for: &dyn Fn(&str) -> Markup) -> Markup {
    let field = |rule: usize, name: &str| format!("folders[{index}].rules[{rule}].{name}");
    let choice = |name: String, value: &str| {
        html! {
            select name=(name) {
                option value="" selected[value.is_empty()] { "as the folder" }
                option value="on" selected[value == "on"] { "on" }
                option value="off" selected[value == "off"] { "off" }
            }
        }
    };
    // The form always ends with one empty rule for adding one.
    let count = rules.len().saturating_sub(1);
    html! {
        div.rules {
            h3 { "Edit rules for subfolders" }
            p.muted {
                "Photos in subfolders matching a pattern (ignoring case; \"Exterior*\" covers \
                 Exteriors/ and Exteriors/Pool/) get these tools instead; the first matching \
                 rule wins. Clear a pattern to remove its rule."
            }
            input type="hidden" name={ "folders[" (index) "].rule_count" } value=(count);
            table {
                tr { th { "Subfolders" } @for (_, label) in RULE_TOOLS { th { (label) } } }
                @for (number, rule) in rules.iter().enumerate() {
                    tr {
                        td {
                            input type="text" name=(field(number, "match")) value=(rule.pattern)
                                placeholder="Exterior*";
                            (error_for(&field(number, "match")))
                        }
                        @for (tool, (key, _)) in RULE_TOOLS.iter().enumerate() {
                            td { (choice(field(number, key), &rule.tools[tool])) }
                        }
                    }
                }
            }
        }
    }
}

fn render(
    state: &AppState,
    config: &Config,
    values: &FormValues,
    errors: &FieldErrors,
    banner: Markup,
) -> axum::response::Html<String> {
    let error_for = |field: &str| {
        html! {
            @if let Some(message) = errors.get(field) {
                p.field-error data-field=(field) { (message) }
            }
        }
    };
    let text_input = |field: &str, label: &str, value: &str, kind: &str| {
        html! {
            label for=(field) { (label) }
            input type=(kind) id=(field) name=(field) value=(value);
            (error_for(field))
        }
    };
    let switches_of = |prefix: &'static str| {
        values
            .switches
            .iter()
            .filter(move |(key, _, _)| key.starts_with(prefix))
    };
    let check = |field: &str, label: &str, on: bool| {
        html! { label { input type="checkbox" name=(field) checked[on]; " " (label) } }
    };
    let pair_html = |index: usize, pair: &PairValues, is_new: bool| {
        let field = |name: &str| format!("folders[{index}].{name}");
        html! {
            div.pair {
                h2 {
                    @if is_new { "Add a hot folder" } @else { "Hot folder " (index + 1) }
                }
                div.grid {
                    (text_input(&field("inbox"), "Inbox", &pair.inbox, "text"))
                    (text_input(&field("outbox"), "Outbox", &pair.outbox, "text"))
                    span { "Edits" }
                    span.checks {
                        (check(&field("hdr_merge"), "HDR merge", pair.hdr_merge))
                        (check(
                            &field("perspective_correction"),
                            "Perspective correction",
                            pair.perspective_correction,
                        ))
                        (check(&field("sky_replacement"), "Sky replacement", pair.sky_replacement))
                    }
                    span {}
                    span.checks {
                        @if !is_new { (check(&field("remove"), "Remove this pair", false)) }
                    }
                }
                @if !is_new { (rules_html(index, &pair.rules, &error_for)) }
            }
        }
    };
    let key_state = match (
        std::env::var(config::ENV_API_KEY).is_ok_and(|k| !k.trim().is_empty()),
        config.api_key().is_ok(),
    ) {
        (true, _) => "set (from the IMAGEN_API_KEY environment variable, which wins)",
        (false, true) => "set",
        (false, false) => "not set",
    };
    let body = html! {
        (banner)
        @if let Some(message) = errors.get("general") { div.banner.bad { (message) } }
        form method="post" action="/settings" #settings {
            (csrf_field(&state.secret.csrf()))
            input type="hidden" name="folder_count" value=(values.pairs.len());
            section.card {
                h1 { "Settings" }
                p.muted {
                    "Saved to " (state.config_path.display()) ". The agent picks changes up at once."
                }
            }
            section.card {
                @for (index, pair) in values.pairs.iter().enumerate() {
                    (pair_html(index, pair, false))
                }
                (pair_html(values.pairs.len(), &values.new_pair, true))
            }
            section.card {
                h2 { "Processing" }
                div.grid {
                    @for (key, label, value) in &values.numbers {
                        (text_input(key, label, value, "number"))
                    }
                }
            }
            section.card {
                h2 { "Network" }
                div.grid {
                    @for (key, label, value) in &values.limits {
                        (text_input(key, label, value, "text"))
                    }
                }
                div.checks {
                    input type="hidden" name="network.switches_shown" value="1";
                    @for (position, (key, label, on)) in switches_of("network.").enumerate() {
                        @if position > 0 { br; }
                        (check(key, label, *on))
                    }
                }
            }
            section.card {
                h2 { "Notifications" }
                div.checks {
                    @for (position, (key, label, on)) in switches_of("notifications.").enumerate() {
                        @if position > 0 { br; }
                        (check(key, label, *on))
                    }
                }
            }
            section.card {
                h2 { "Imagen account" }
                div.grid {
                    (text_input("api.base_url", "API address", &values.base_url, "url"))
                    label for="api_key" { "API key" }
                    input type="password" #api_key name="api_key" autocomplete="off"
                        placeholder={ (key_state) " — type a new key to replace it" };
                    (error_for("api_key"))
                }
            }
            div.actions { button.primary type="submit" { "Save" } }
        }
    };
    layout("Settings", Tab::Settings, body)
}
