//! The form's values: what the page shows (the user's own text, so a mistake is
//! corrected in place) and how they go into a config, noting what cannot be read.

use std::collections::HashMap;
use std::path::PathBuf;

use super::*;

/// What the form shows: the user's own text, so a mistake can be corrected in place.
pub(super) struct FormValues {
    pub(super) base_url: String,
    /// `[network]` limits as typed: (key, label, text).
    pub(super) limits: Vec<(&'static str, &'static str, String)>,
    pub(super) numbers: Vec<(&'static str, &'static str, String)>,
    /// On/off settings, the network's and the notifications': (key, label, on).
    pub(super) switches: Vec<(&'static str, &'static str, bool)>,
    pub(super) pairs: Vec<PairValues>,
    /// The empty pair at the end, for adding one.
    pub(super) new_pair: PairValues,
}

#[derive(Default)]
pub(super) struct PairValues {
    pub(super) inbox: String,
    pub(super) outbox: String,
    pub(super) hdr_merge: bool,
    pub(super) perspective_correction: bool,
    pub(super) sky_replacement: bool,
    /// Live shoots: on, the batch window (seconds) and the idle time (minutes), as typed.
    pub(super) live: bool,
    pub(super) live_batch_seconds: String,
    pub(super) live_idle_minutes: String,
    /// Its edit rules, then an empty one for adding a rule.
    pub(super) rules: Vec<RuleValues>,
}

impl PairValues {
    /// The empty pair for adding one: a hot folder that is not live, with the live
    /// defaults ready should it be switched on.
    pub(super) fn new() -> PairValues {
        let live = config::LiveSettings::default();
        PairValues {
            live_batch_seconds: live.batch_seconds.to_string(),
            live_idle_minutes: live.idle_minutes.to_string(),
            ..PairValues::default()
        }
    }

    /// Its live settings, or the fields that cannot be read (`kept` for a form from
    /// before the live fields were shown).
    fn live_settings(
        &self,
        index: usize,
        form: &HashMap<String, String>,
        kept: config::LiveSettings,
        errors: &mut FieldErrors,
    ) -> config::LiveSettings {
        let field = |name: &str| format!("folders[{index}].{name}");
        if !form.contains_key(&field("live_batch_seconds")) {
            return kept;
        }
        let batch = (self.live_batch_seconds.parse::<u64>())
            .map_err(|_| "must be a whole number of seconds")
            .and_then(config::LiveSettings::check_batch_seconds);
        let idle = (self.live_idle_minutes.parse::<f64>())
            .map_err(|_| "must be a number of minutes")
            .and_then(config::LiveSettings::check_idle_minutes);
        let mut note = |name: &str, wrong: &str, like: &str| {
            errors.insert(field(name), format!("{wrong}, like {like}"));
        };
        if let Err(wrong) = batch {
            note("live_batch_seconds", wrong, "60");
        }
        if let Err(wrong) = idle {
            note("live_idle_minutes", wrong, "30");
        }
        config::LiveSettings {
            on: self.live,
            batch_seconds: batch.unwrap_or(kept.batch_seconds),
            idle_minutes: idle.unwrap_or(kept.idle_minutes),
        }
    }
}

/// One edit rule as the form shows it: the glob, and per tool "" (as the folder),
/// "on" or "off".
#[derive(Default, Clone)]
pub(super) struct RuleValues {
    pub(super) pattern: String,
    pub(super) tools: [String; 3],
}

/// The tools a rule can switch, as (config key, label).
pub(super) const RULE_TOOLS: [(&str, &str); 3] = [
    ("hdr_merge", "HDR merge"),
    ("perspective_correction", "Perspective correction"),
    ("sky_replacement", "Sky replacement"),
];

impl RuleValues {
    pub(super) fn of(rule: &config::EditRule) -> RuleValues {
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
    pub(super) fn overrides(&self, kept: Option<&config::EditRule>) -> config::EditOverrides {
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

pub(super) const NUMBERS: [(&str, &str); 7] = [
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
    (
        "agent.confirm_above",
        "Ask before sending a shoot of more photos than (0: never ask)",
    ),
];

pub(super) const LIMITS: [(&str, &str); 2] = [
    (
        "network.upload_limit",
        "Upload limit (off, 2 MB/s, or 08:00,1MB/s 18:00,off)",
    ),
    ("network.download_limit", "Download limit"),
];

pub(super) const SWITCHES: [(&str, &str); 6] = [
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
    pub(super) fn of(config: &Config) -> FormValues {
        let agent = &config.agent;
        let numbers = [
            agent.settle_seconds as usize,
            agent.max_active_shoots,
            agent.max_parallel_uploads,
            agent.max_parallel_downloads,
            agent.spend.daily_photos as usize,
            agent.spend.daily_follow_ups as usize,
            agent.spend.confirm_above as usize,
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
                    live: pair.live.on,
                    live_batch_seconds: pair.live.batch_seconds.to_string(),
                    live_idle_minutes: pair.live.idle_minutes.to_string(),
                    rules: pair
                        .rules
                        .iter()
                        .map(RuleValues::of)
                        .chain([RuleValues::default()])
                        .collect(),
                })
                .collect(),
            new_pair: PairValues::new(),
        }
    }

    pub(super) fn from_form(form: &HashMap<String, String>, pairs: usize) -> FormValues {
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
            live: on(&format!("folders[{i}].live")),
            live_batch_seconds: text(&format!("folders[{i}].live_batch_seconds")),
            live_idle_minutes: text(&format!("folders[{i}].live_idle_minutes")),
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

/// Puts the form's values into `config`, noting what cannot be read.
pub(super) fn apply(
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
            "agent.confirm_above" => agent.spend.confirm_above = number,
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
        let live = pair.live_settings(index, form, kept.live, errors);
        config.folders.push(FolderPair {
            inbox,
            outbox,
            live,
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
pub(super) fn form_field(key: &str, values: &FormValues, form: &HashMap<String, String>) -> String {
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
