//! The Settings page's HTML: the form with each mistake under its field.

use super::form::{PairValues, RULE_TOOLS, RuleValues};
use super::*;

/// What a field is called on the page, for the sentences about its mistakes.
pub(super) fn label_of(field: &str, values: &FormValues) -> String {
    let labelled = (values.numbers.iter().chain(&values.limits))
        .find(|(key, _, _)| *key == field)
        .map(|(_, label, _)| (*label).to_owned());
    if let Some(label) = labelled {
        // "Upload limit (off, 2 MB/s, …)": the name without its hint.
        return label.split(" (").next().unwrap_or(&label).to_owned();
    }
    let pair_field = field
        .strip_prefix("folders[")
        .and_then(|rest| rest.split_once("]."))
        .and_then(|(index, name)| Some((index.parse::<usize>().ok()?, name)));
    match (field, pair_field) {
        ("api.base_url", _) => "The API address".into(),
        ("api_key", _) => "The API key".into(),
        (_, Some((index, name))) => {
            let pair = match index == values.pairs.len() {
                true => "the new hot folder".to_owned(),
                false => format!("hot folder {}", index + 1),
            };
            match name {
                "inbox" => format!("The inbox of {pair}"),
                "outbox" => format!("The outbox of {pair}"),
                rule => {
                    let number = rule
                        .strip_prefix("rules[")
                        .and_then(|r| r.split_once(']'))
                        .and_then(|(n, _)| n.parse::<usize>().ok())
                        .map_or(1, |n| n + 1);
                    format!("The subfolder pattern of rule {number} of {pair}")
                }
            }
        }
        _ => "This setting".into(),
    }
}

/// A mistake as a whole sentence, naming its field: "Shoots at once must be a whole
/// number."
pub(super) fn mistake_sentence(field: &str, message: &str, values: &FormValues) -> String {
    let label = label_of(field, values);
    let message = message.trim_end_matches('.');
    match message.chars().next() {
        Some(first) if first.is_lowercase() => format!("{label} {message}."),
        _ => format!("{label}: {message}."),
    }
}

/// The banner over a form with mistakes: how many, each a link to its field.
pub(super) fn mistakes_banner(errors: &FieldErrors, values: &FormValues) -> Markup {
    let fields: Vec<(&String, &String)> = errors
        .iter()
        .filter(|(field, _)| *field != "general")
        .collect();
    html! {
        div.banner.bad #mistakes role="alert" {
            "Nothing was saved: "
            @match fields.len() {
                0 => { "please correct the mistake below." }
                1 => { "please correct this mistake:" }
                n => { "please correct these " (n) " mistakes:" }
            }
            @if !fields.is_empty() {
                ul.problems {
                    @for (field, message) in &fields {
                        li { a href={ "#" (field) } { (mistake_sentence(field, message, values)) } }
                    }
                }
            }
        }
    }
}

/// A hot folder's edit rules: a row per rule (clear its pattern to remove it), and an
/// empty row to add one.
pub(super) fn rules_html(
    index: usize,
    rules: &[RuleValues],
    error_for: &dyn Fn(&str) -> Markup,
) -> Markup {
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
            table.stacking {
                thead { tr { th { "Subfolders" } @for (_, label) in RULE_TOOLS { th { (label) } } } }
                @for (number, rule) in rules.iter().enumerate() {
                    tr {
                        td data-label="Subfolders" {
                            input type="text" name=(field(number, "match")) value=(rule.pattern)
                                id=(field(number, "match"))
                                placeholder="Exterior*";
                            (error_for(&field(number, "match")))
                        }
                        @for (tool, (key, label)) in RULE_TOOLS.iter().enumerate() {
                            td data-label=(label) { (choice(field(number, key), &rule.tools[tool])) }
                        }
                    }
                }
            }
        }
    }
}

pub(super) fn render(
    state: &AppState,
    config: &Config,
    values: &FormValues,
    errors: &FieldErrors,
    banner: Markup,
) -> axum::response::Html<String> {
    let error_for = |field: &str| {
        html! {
            @if let Some(message) = errors.get(field) {
                p.field-error data-field=(field) id={ (field) "-error" } {
                    (mistake_sentence(field, message, values))
                }
            }
        }
    };
    let text_input = |field: &str, label: &str, value: &str, kind: &str| {
        let wrong = errors.contains_key(field);
        let id = field;
        html! {
            label for=(id) { (label) }
            input type=(kind) id=(id) name=(field) value=(value) class=[wrong.then_some("invalid")]
                aria-invalid=[wrong.then_some("true")]
                aria-describedby=[wrong.then(|| format!("{id}-error"))];
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
                    span { "Live shoots" }
                    span.checks {
                        (check(&field("live"), "Edit photos in batches as they arrive", pair.live))
                        span.muted.hint {
                            "For an event or a camera sending over Wi-Fi or FTP: each shoot folder \
                             keeps taking photos for hours."
                        }
                    }
                    (text_input(&field("live_batch_seconds"), "Batch every (seconds)", &pair.live_batch_seconds, "number"))
                    (text_input(&field("live_idle_minutes"), "Finished after (minutes without a photo)", &pair.live_idle_minutes, "text"))
                    span {}
                    span.checks {
                        @if !is_new { (check(&field("remove"), "Remove this pair", false)) }
                    }
                }
                @if !is_new { (rules_html(index, &pair.rules, &error_for)) }
            }
        }
    };
    let rejected = state.live.lock().expect("not poisoned").key_rejected();
    let key_state = match (
        config::key_in_environment(),
        config.api_key().is_ok(),
        rejected,
    ) {
        (true, _, _) => "set (from the IMAGEN_API_KEY environment variable, which wins)",
        (false, true, true) => "set, but Imagen rejected it",
        (false, true, false) => "set",
        (false, false, _) => "not set",
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
                    "These settings are kept in " (state.config_path.display())
                    "; the agent takes a saved change up at once."
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
                    @if rejected {
                        p.field-error data-field="api_key" {
                            "Imagen rejected the key in use: paste the key from your Imagen account again."
                        }
                    }
                    (error_for("api_key"))
                }
            }
            div.actions { button.primary type="submit" { "Save" } }
        }
    };
    layout("Settings", Tab::Settings, body)
}
