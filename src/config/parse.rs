//! Reading the TOML text into a validated [`Config`]: every mistake is located by file,
//! line and column, named by its key, and said in plain words with what to write.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;
use url::Url;

use super::located::{line_and_column, type_mistake};
use super::paths::expand_home;
use super::studio::{RawJournal, check_folder_id};
use super::*;
use crate::api::DEFAULT_BASE_URL;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    api: RawApi,
    #[serde(default)]
    agent: RawAgent,
    #[serde(default)]
    folders: Vec<RawFolder>,
    #[serde(default)]
    notifications: RawNotifications,
    #[serde(default)]
    dashboard: RawDashboard,
    #[serde(default)]
    journal: RawJournal,
    #[serde(default)]
    network: RawNetwork,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawNetwork {
    upload_limit: Option<Spanned<String>>,
    download_limit: Option<Spanned<String>>,
    pause_on_metered: Option<bool>,
    pause_on_battery: Option<bool>,
}

/// `[notifications]`: the desktop's switches, and the webhook beside them.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawNotifications {
    shoot_done: Option<bool>,
    shoot_failed: Option<bool>,
    key_rejected: Option<bool>,
    network: Option<bool>,
    webhook_url: Option<Spanned<String>>,
    webhook_format: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDashboard {
    port: Option<u16>,
    listen: Option<Spanned<String>>,
    password_file: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawApi {
    base_url: Option<Spanned<String>>,
    key_file: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawAgent {
    data_dir: Option<Spanned<String>>,
    settle_seconds: Option<Spanned<u64>>,
    rescan_seconds: Option<Spanned<u64>>,
    max_active_shoots: Option<Spanned<usize>>,
    max_parallel_uploads: Option<Spanned<usize>>,
    max_parallel_downloads: Option<Spanned<usize>>,
    raw_jpeg_pairs: Option<PairPolicy>,
    daily_photo_limit: Option<u64>,
    daily_follow_up_limit: Option<u64>,
    confirm_above: Option<u64>,
    keep_awake: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFolder {
    id: Option<Spanned<String>>,
    inbox: Spanned<String>,
    outbox: Spanned<String>,
    #[serde(default)]
    watch: WatchMode,
    poll_seconds: Option<Spanned<u64>>,
    #[serde(default)]
    sync_touchups: bool,
    #[serde(default)]
    live: bool,
    live_batch_seconds: Option<Spanned<u64>>,
    live_idle_minutes: Option<Spanned<f64>>,
    #[serde(default)]
    edit: RawEdit,
    #[serde(default)]
    rules: Vec<RawRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    #[serde(rename = "match")]
    pattern: Spanned<String>,
    #[serde(default)]
    edit: EditOverrides,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawEdit {
    #[serde(default)]
    hdr_merge: bool,
    #[serde(default)]
    perspective_correction: bool,
    #[serde(default)]
    sky_replacement: bool,
    sky_replacement_template_id: Option<i64>,
    callback_url: Option<Spanned<String>>,
}

impl Config {
    /// Validates config text; `file` only labels the errors.
    pub fn parse(text: &str, file: &Path, overrides: &Overrides) -> Result<Config, ConfigError> {
        let at = |span: std::ops::Range<usize>, key: &str, message: String| {
            let (line, column) = line_and_column(text, span.start);
            ConfigError::Invalid {
                file: file.to_owned(),
                line,
                column,
                key: Some(key.to_owned()),
                message,
            }
        };
        let raw: RawConfig = toml::from_str(text).map_err(|error| {
            let offset = error.span().map_or(0, |s| s.start);
            let (line, column) = line_and_column(text, offset);
            let message = error.message().trim();
            let (key, message) = match type_mistake(text, offset, message) {
                Some((key, plain)) => (Some(key), plain),
                None => (None, message.to_owned()),
            };
            ConfigError::Invalid {
                file: file.to_owned(),
                line,
                column,
                key,
                message,
            }
        })?;

        let base_url = match (overrides.base_url.as_deref(), &raw.api.base_url) {
            (Some(url), _) => parse_base_url(url).map_err(|m| ConfigError::Invalid {
                file: PathBuf::from(format!("${ENV_BASE_URL}")),
                line: 1,
                column: 1,
                key: None,
                message: m,
            })?,
            (None, Some(url)) => {
                parse_base_url(url.get_ref()).map_err(|m| at(url.span(), "api.base_url", m))?
            }
            (None, None) => Url::parse(DEFAULT_BASE_URL).expect("the default URL parses"),
        };

        let agent = &raw.agent;
        let positive = |value: &Option<Spanned<usize>>, key: &str, default: usize| match value {
            None => Ok(default),
            Some(v) if *v.get_ref() >= 1 && *v.get_ref() <= 64 => Ok(*v.get_ref()),
            Some(v) => Err(at(
                v.span(),
                key,
                format!("must be between 1 and 64, not {}", v.get_ref()),
            )),
        };
        let settle_seconds = match &agent.settle_seconds {
            None => 10,
            Some(v) if *v.get_ref() <= 24 * 3600 => *v.get_ref(),
            Some(v) => {
                return Err(at(
                    v.span(),
                    "agent.settle_seconds",
                    "must be at most 86400 (one day)".into(),
                ));
            }
        };
        let rescan_seconds = match &agent.rescan_seconds {
            None => 120,
            Some(v) if (5..=24 * 3600).contains(v.get_ref()) => *v.get_ref(),
            Some(v) => {
                return Err(at(
                    v.span(),
                    "agent.rescan_seconds",
                    "must be between 5 and 86400".into(),
                ));
            }
        };
        let settings = AgentSettings {
            data_dir: agent
                .data_dir
                .as_ref()
                .map_or_else(default_data_dir, |d| expand_home(d.get_ref())),
            settle_seconds,
            rescan_seconds,
            max_active_shoots: positive(&agent.max_active_shoots, "agent.max_active_shoots", 2)?,
            max_parallel_uploads: positive(
                &agent.max_parallel_uploads,
                "agent.max_parallel_uploads",
                4,
            )?,
            max_parallel_downloads: positive(
                &agent.max_parallel_downloads,
                "agent.max_parallel_downloads",
                4,
            )?,
            raw_jpeg_pairs: agent.raw_jpeg_pairs.unwrap_or_default(),
            spend: SpendLimits {
                daily_photos: agent.daily_photo_limit.unwrap_or(DEFAULT_DAILY_PHOTOS),
                daily_follow_ups: agent
                    .daily_follow_up_limit
                    .unwrap_or(DEFAULT_DAILY_FOLLOW_UPS),
                confirm_above: agent.confirm_above.unwrap_or(DEFAULT_CONFIRM_ABOVE),
            },
            keep_awake: agent.keep_awake.unwrap_or(true),
        };

        let journal = raw
            .journal
            .settings(overrides.journal_url.as_deref(), expand_home)
            .map_err(|(span, key, message)| match span {
                Some(span) => at(span, &key, message),
                None => ConfigError::Invalid {
                    file: PathBuf::from(format!("${ENV_JOURNAL_URL}")),
                    line: 1,
                    column: 1,
                    key: None,
                    message,
                },
            })?;

        let mut folders: Vec<FolderPair> = Vec::new();
        for (index, folder) in raw.folders.iter().enumerate() {
            let key = |field: &str| format!("folders[{index}].{field}");
            let inbox = non_empty_path(&folder.inbox)
                .map_err(|m| at(folder.inbox.span(), &key("inbox"), m))?;
            let outbox = non_empty_path(&folder.outbox)
                .map_err(|m| at(folder.outbox.span(), &key("outbox"), m))?;
            // Every outbox against every inbox, this pair's own included: an outbox
            // reaching into any inbox feeds the agent its own outputs.
            let inboxes = folders.iter().map(|f| &f.inbox).chain([&inbox]);
            if let Some(problem) = inboxes
                .filter_map(|other| {
                    Some(crate::files::overlap::overlap(&outbox, other)?.describe(other))
                })
                .next()
            {
                return Err(at(folder.outbox.span(), &key("outbox"), problem));
            }
            if let Some((other, problem)) = folders.iter().enumerate().find_map(|(other, f)| {
                Some((
                    other,
                    crate::files::overlap::overlap(&f.outbox, &inbox)?.describe(&inbox),
                ))
            }) {
                return Err(at(
                    folder.inbox.span(),
                    &key("inbox"),
                    format!("the outbox of folders[{other}] {problem}"),
                ));
            }
            let resolved = crate::files::overlap::resolve(&inbox);
            if let Some(other) = folders
                .iter()
                .position(|f| crate::files::overlap::resolve(&f.inbox) == resolved)
            {
                return Err(at(
                    folder.inbox.span(),
                    &key("inbox"),
                    format!("is already the inbox of folders[{other}]"),
                ));
            }
            let callback_url = match &folder.edit.callback_url {
                None => None,
                Some(url)
                    if url.get_ref().starts_with("https://")
                        && Url::parse(url.get_ref()).is_ok() =>
                {
                    Some(url.get_ref().clone())
                }
                Some(url) => {
                    return Err(at(
                        url.span(),
                        &key("edit.callback_url"),
                        "must be an https:// URL".into(),
                    ));
                }
            };
            let id = match &folder.id {
                Some(id) => {
                    check_folder_id(id.get_ref()).map_err(|m| at(id.span(), &key("id"), m))?;
                    if folders.iter().any(|f| f.id.as_ref() == Some(id.get_ref())) {
                        return Err(at(
                            id.span(),
                            &key("id"),
                            "is the id of another hot folder; give each its own".into(),
                        ));
                    }
                    Some(id.get_ref().clone())
                }
                None if journal.is_shared() => {
                    return Err(at(
                        folder.inbox.span(),
                        &key("id"),
                        "a studio's shared journal knows hot folders by id: add a line like \
                         `id = \"listings\"` to this [[folders]] block, the same on every \
                         machine of the studio"
                            .into(),
                    ));
                }
                None => None,
            };
            let poll_seconds = match &folder.poll_seconds {
                None => DEFAULT_POLL_SECONDS,
                Some(v) if (1..=3600).contains(v.get_ref()) => *v.get_ref(),
                Some(v) => {
                    return Err(at(
                        v.span(),
                        &key("poll_seconds"),
                        "must be between 1 and 3600".into(),
                    ));
                }
            };
            let live_batch_seconds = match &folder.live_batch_seconds {
                None => DEFAULT_LIVE_BATCH_SECONDS,
                Some(v) => LiveSettings::check_batch_seconds(*v.get_ref()).map_err(|wrong| {
                    at(
                        v.span(),
                        &key("live_batch_seconds"),
                        format!("{wrong}, like live_batch_seconds = 60"),
                    )
                })?,
            };
            let live_idle_minutes = match &folder.live_idle_minutes {
                None => DEFAULT_LIVE_IDLE_MINUTES,
                Some(v) => LiveSettings::check_idle_minutes(*v.get_ref()).map_err(|wrong| {
                    at(
                        v.span(),
                        &key("live_idle_minutes"),
                        format!("{wrong}, like live_idle_minutes = 30"),
                    )
                })?,
            };
            let mut rules = Vec::new();
            for (number, rule) in folder.rules.iter().enumerate() {
                rules.push(
                    EditRule::new(rule.pattern.get_ref(), rule.edit.clone()).map_err(|m| {
                        at(
                            rule.pattern.span(),
                            &key(&format!("rules[{number}].match")),
                            m.into(),
                        )
                    })?,
                );
            }
            folders.push(FolderPair {
                id,
                rules,
                sync_touchups: folder.sync_touchups,
                live: LiveSettings {
                    on: folder.live,
                    batch_seconds: live_batch_seconds,
                    idle_minutes: live_idle_minutes,
                },
                watch: folder.watch,
                poll_seconds,
                inbox,
                outbox,
                edit: EditOptions {
                    hdr_merge: folder.edit.hdr_merge,
                    perspective_correction: folder.edit.perspective_correction,
                    sky_replacement: folder.edit.sky_replacement,
                    sky_replacement_template_id: folder.edit.sky_replacement_template_id,
                    callback_url,
                },
            });
        }

        let mut dashboard = DashboardSettings {
            port: raw.dashboard.port.unwrap_or(DEFAULT_DASHBOARD_PORT),
            password_file: raw
                .dashboard
                .password_file
                .as_ref()
                .map(|p| expand_home(p.get_ref())),
            ..DashboardSettings::default()
        };
        if let Some(listen) = &raw.dashboard.listen {
            dashboard.listen = listen.get_ref().trim().parse().map_err(|_| {
                at(
                    listen.span(),
                    "dashboard.listen",
                    "must be an IP address, like 127.0.0.1".into(),
                )
            })?;
            if !dashboard.listen.is_loopback() && dashboard.password_file.is_none() {
                return Err(at(
                    listen.span(),
                    "dashboard.listen",
                    "opening the dashboard beyond this machine needs `password_file` \
                     (a file only you can read, holding the password to ask for)"
                        .into(),
                ));
            }
        }

        let limit = |value: &Option<Spanned<String>>, key: &str| match value {
            None => Ok(BandwidthPlan::Off),
            Some(text) => BandwidthPlan::parse(text.get_ref())
                .map_err(|m| at(text.span(), &format!("network.{key}"), m.into())),
        };
        let network = NetworkSettings {
            upload_limit: limit(&raw.network.upload_limit, "upload_limit")?,
            download_limit: limit(&raw.network.download_limit, "download_limit")?,
            pause_on_metered: raw
                .network
                .pause_on_metered
                .unwrap_or(NetworkSettings::default().pause_on_metered),
            pause_on_battery: raw
                .network
                .pause_on_battery
                .unwrap_or(NetworkSettings::default().pause_on_battery),
        };
        let notifications = &raw.notifications;
        let webhook = match &notifications.webhook_url {
            None => None,
            Some(url) if url.get_ref().trim().is_empty() => None,
            Some(url) => Some(WebhookSettings {
                url: WebhookUrl::parse(url.get_ref())
                    .map_err(|m| at(url.span(), "notifications.webhook_url", m.into()))?,
                format: match &notifications.webhook_format {
                    None => WebhookFormat::default(),
                    Some(format) => match format.get_ref().as_str() {
                        "json" => WebhookFormat::Json,
                        "ntfy" => WebhookFormat::Ntfy,
                        other => {
                            return Err(at(
                                format.span(),
                                "notifications.webhook_format",
                                format!(
                                    "is \"{}\"; write \"json\" (a JSON object) or \"ntfy\" \
                                     (ntfy's plain text with a title, for a phone)",
                                    crate::words::printable(other)
                                ),
                            ));
                        }
                    },
                },
            }),
        };

        Ok(Config {
            api: ApiSettings {
                base_url,
                key_file: raw.api.key_file.as_ref().map(|k| expand_home(k.get_ref())),
            },
            agent: settings,
            folders,
            notifications: NotificationSettings {
                shoot_done: notifications.shoot_done.unwrap_or(true),
                shoot_failed: notifications.shoot_failed.unwrap_or(true),
                key_rejected: notifications.key_rejected.unwrap_or(true),
                network: notifications.network.unwrap_or(true),
            },
            webhook,
            network,
            dashboard,
            journal,
        })
    }
}

fn parse_base_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|e| format!("is not a URL ({e})"))?;
    crate::redact::check_transport(&url)?;
    Ok(url)
}

fn non_empty_path(value: &Spanned<String>) -> Result<PathBuf, String> {
    let text = value.get_ref().trim();
    if text.is_empty() {
        return Err("must name a folder".into());
    }
    Ok(expand_home(text))
}
