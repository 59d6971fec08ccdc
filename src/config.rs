//! The TOML config: where it lives, its defaults, and validation that names the key and
//! line of every mistake. The key names are a contract other tools rely on:
//! `[api] base_url, key_file`, `[agent] data_dir, settle_seconds, max_active_shoots,
//! max_parallel_uploads, max_parallel_downloads`, and `[[folders]] inbox, outbox` with a
//! `[folders.edit]` table (`hdr_merge, perspective_correction, sky_replacement,
//! callback_url`).

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;
use url::Url;

use crate::api::{DEFAULT_BASE_URL, EditOptions};
use crate::redact::ApiKey;
use crate::shoot::PairPolicy;

pub const ENV_API_KEY: &str = "IMAGEN_API_KEY";
pub const ENV_BASE_URL: &str = "IMAGEN_API_BASE_URL";

/// `[agent] daily_photo_limit` and `daily_follow_up_limit`; 0 means no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpendLimits {
    pub daily_photos: u64,
    pub daily_follow_ups: u64,
}

pub const DEFAULT_DAILY_PHOTOS: u64 = 3000;
pub const DEFAULT_DAILY_FOLLOW_UPS: u64 = 5;

impl Default for SpendLimits {
    fn default() -> Self {
        SpendLimits {
            daily_photos: DEFAULT_DAILY_PHOTOS,
            daily_follow_ups: DEFAULT_DAILY_FOLLOW_UPS,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path:?}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A mistake in the file, located.
    #[error("{}:{line}:{column}: {}{message}", file.display(), key.as_deref().map(|k| format!("`{k}`: ")).unwrap_or_default())]
    Invalid {
        file: PathBuf,
        line: usize,
        column: usize,
        key: Option<String>,
        message: String,
    },
    #[error("{path:?} {problem}")]
    KeyFile { path: PathBuf, problem: String },
    #[error(
        "no API key: set the {ENV_API_KEY} environment variable, or put the key in a file \
         only you can read and name it as `key_file` under [api]"
    )]
    MissingKey,
}

/// The whole configuration, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub api: ApiSettings,
    pub agent: AgentSettings,
    pub folders: Vec<FolderPair>,
    pub notifications: NotificationSettings,
    pub dashboard: DashboardSettings,
}

/// The local dashboard (`[dashboard]`).
#[derive(Debug, Clone, PartialEq)]
pub struct DashboardSettings {
    pub port: u16,
    /// 127.0.0.1 unless the user explicitly opens it to the network.
    pub listen: std::net::IpAddr,
    /// Required when `listen` is not a loopback address: a private file holding the
    /// password browsers must give.
    pub password_file: Option<PathBuf>,
}

pub const DEFAULT_DASHBOARD_PORT: u16 = 7117;

impl Default for DashboardSettings {
    fn default() -> Self {
        DashboardSettings {
            port: DEFAULT_DASHBOARD_PORT,
            listen: std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
            password_file: None,
        }
    }
}

/// Which desktop notifications are shown (`[notifications]`; all on by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotificationSettings {
    /// "123 Main St: 42 photos ready".
    pub shoot_done: bool,
    /// A shoot failed, with why and what to do.
    pub shoot_failed: bool,
    /// The server refused the API key.
    pub key_rejected: bool,
    /// The network has been unreachable for a while, and when it is back.
    pub network: bool,
}

impl Default for NotificationSettings {
    fn default() -> Self {
        NotificationSettings {
            shoot_done: true,
            shoot_failed: true,
            key_rejected: true,
            network: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ApiSettings {
    pub base_url: Url,
    pub key_file: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AgentSettings {
    /// Journal and logs.
    pub data_dir: PathBuf,
    /// Quiet time a shoot folder needs before it is processed.
    pub settle_seconds: u64,
    /// How often every inbox is listed in full, for drives that send no change events.
    pub rescan_seconds: u64,
    pub max_active_shoots: usize,
    pub max_parallel_uploads: usize,
    pub max_parallel_downloads: usize,
    /// Which side of a RAW+JPEG twin goes up.
    pub raw_jpeg_pairs: PairPolicy,
    /// The spend guard's daily limits.
    pub spend: SpendLimits,
}

/// One hot folder: shoots dropped in `inbox` come out edited in `outbox`.
#[derive(Debug, Clone, PartialEq)]
pub struct FolderPair {
    pub inbox: PathBuf,
    pub outbox: PathBuf,
    pub edit: EditOptions,
}

// The file as written, with spans for the values checked beyond their type.
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
    notifications: NotificationSettings,
    #[serde(default)]
    dashboard: RawDashboard,
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
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFolder {
    inbox: Spanned<String>,
    outbox: Spanned<String>,
    #[serde(default)]
    edit: RawEdit,
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

/// The data folder for the commands that work on the journal (`status`, `pause`,
/// `resume`, `retry`), whatever state the config file is in: the valid config's, else
/// the `[agent] data_dir` a broken file still names, else the default. The note says
/// why the config was not used, when it was not.
pub fn data_dir_for_commands(path: &Path) -> (PathBuf, Option<String>) {
    let error = match Config::load(path) {
        Ok(config) => return (config.agent.data_dir, None),
        Err(error) => error,
    };
    let named = std::fs::read_to_string(path)
        .ok()
        .and_then(|text| text.parse::<toml::Table>().ok())
        .and_then(|table| {
            let dir = table.get("agent")?.get("data_dir")?.as_str()?.to_owned();
            Some(expand_home(&dir))
        });
    let note = match &error {
        ConfigError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            format!(
                "no config at {} (`imagen-sync init` writes one)",
                path.display()
            )
        }
        other => format!("the config has a mistake ({other})"),
    };
    (named.unwrap_or_else(default_data_dir), Some(note))
}

/// The platform's folders for config and data.
fn project_dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("ai", "imagen", "imagen-sync")
}

/// Where the config lives when `--config` is not given.
pub fn default_config_path() -> PathBuf {
    project_dirs()
        .map(|dirs| dirs.config_dir().join("config.toml"))
        .unwrap_or_else(|| PathBuf::from("imagen-sync.toml"))
}

/// Where the default config tells the user to put the API key.
pub fn default_key_file() -> PathBuf {
    project_dirs()
        .map(|dirs| dirs.config_dir().join("api-key"))
        .unwrap_or_else(|| PathBuf::from("imagen-sync-api-key"))
}

/// Where the journal and logs live when the config does not say.
pub fn default_data_dir() -> PathBuf {
    project_dirs()
        .map(|dirs| dirs.data_dir().to_owned())
        .unwrap_or_else(|| PathBuf::from("imagen-sync-data"))
}

/// `~/Imagen`, or under the platform's Pictures folder when there is one.
pub fn default_folders_root() -> PathBuf {
    let Some(user) = directories::UserDirs::new() else {
        return PathBuf::from("Imagen");
    };
    user.picture_dir()
        .unwrap_or_else(|| user.home_dir())
        .join("Imagen")
}

/// Expands a leading `~/` to the home folder.
fn expand_home(text: &str) -> PathBuf {
    match (text.strip_prefix("~/"), directories::UserDirs::new()) {
        (Some(rest), Some(user)) => user.home_dir().join(rest),
        _ => PathBuf::from(text),
    }
}

impl Config {
    /// Reads and validates `path`. `IMAGEN_API_BASE_URL` overrides `[api] base_url`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_owned(),
            source,
        })?;
        let base_url_override = std::env::var(ENV_BASE_URL).ok().filter(|v| !v.is_empty());
        Config::parse(&text, path, base_url_override.as_deref())
    }

    /// Validates config text; `file` only labels the errors.
    pub fn parse(
        text: &str,
        file: &Path,
        base_url_override: Option<&str>,
    ) -> Result<Config, ConfigError> {
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

        let base_url = match (base_url_override, &raw.api.base_url) {
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
            },
        };

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
                .filter_map(|other| Some(crate::overlap::overlap(&outbox, other)?.describe(other)))
                .next()
            {
                return Err(at(folder.outbox.span(), &key("outbox"), problem));
            }
            if let Some((other, problem)) = folders.iter().enumerate().find_map(|(other, f)| {
                Some((
                    other,
                    crate::overlap::overlap(&f.outbox, &inbox)?.describe(&inbox),
                ))
            }) {
                return Err(at(
                    folder.inbox.span(),
                    &key("inbox"),
                    format!("the outbox of folders[{other}] {problem}"),
                ));
            }
            let resolved = crate::overlap::resolve(&inbox);
            if let Some(other) = folders
                .iter()
                .position(|f| crate::overlap::resolve(&f.inbox) == resolved)
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
            folders.push(FolderPair {
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

        Ok(Config {
            api: ApiSettings {
                base_url,
                key_file: raw.api.key_file.as_ref().map(|k| expand_home(k.get_ref())),
            },
            agent: settings,
            folders,
            notifications: raw.notifications,
            dashboard,
        })
    }

    /// The API key: `IMAGEN_API_KEY`, else the key file (which must be private).
    pub fn api_key(&self) -> Result<ApiKey, ConfigError> {
        if let Ok(key) = std::env::var(ENV_API_KEY)
            && !key.trim().is_empty()
        {
            return Ok(ApiKey::new(key));
        }
        let Some(path) = &self.api.key_file else {
            return Err(ConfigError::MissingKey);
        };
        read_key_file(path)
    }
}

/// The step that makes a file readable by its owner alone, as a clause to append
/// (", then run `chmod 600 …`"). Empty on Windows, where a file in the user's profile
/// already is.
pub fn private_file_step(path: &Path) -> String {
    if cfg!(unix) {
        format!(", then run `chmod 600 {}`", path.display())
    } else {
        String::new()
    }
}

/// Reads a key file, refusing one that other users can read.
pub fn read_key_file(path: &Path) -> Result<ApiKey, ConfigError> {
    let problem = |problem: String| ConfigError::KeyFile {
        path: path.to_owned(),
        problem,
    };
    let metadata = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => problem(format!(
            "does not exist yet: paste your Imagen API key into it{}",
            private_file_step(path)
        )),
        _ => problem(format!("cannot be read: {e}")),
    })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = metadata.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(problem(format!(
                "can be read by other users (mode {:o}); run `chmod 600 {}` and start again",
                mode & 0o777,
                path.display()
            )));
        }
    }
    #[cfg(not(unix))]
    let _ = metadata;
    let key = std::fs::read_to_string(path).map_err(|e| problem(format!("cannot be read: {e}")))?;
    if key.trim().is_empty() {
        return Err(problem(
            "is empty: paste your Imagen API key into it".into(),
        ));
    }
    Ok(ApiKey::new(key))
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

/// A value of the wrong type, in plain words with an example: the key (with its
/// section) and what it must be. `None` for other mistakes.
fn type_mistake(text: &str, offset: usize, message: &str) -> Option<(String, String)> {
    let expected = message
        .strip_prefix("invalid type: ")?
        .split(", expected ")
        .nth(1)?;
    let before = &text[..offset.min(text.len())];
    let line = before.rsplit('\n').next()?;
    let name = line.split('=').next()?.trim();
    let section = before
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('['))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim());
    let key = match section {
        Some(section) if !name.is_empty() => format!("{section}.{name}"),
        _ => name.to_owned(),
    };
    let plain = match (name, expected) {
        ("settle_seconds" | "rescan_seconds", _) => {
            "must be a whole number of seconds, like 10".to_owned()
        }
        (_, "u64" | "usize" | "u16" | "u32" | "i64") => {
            format!("must be a whole number without quotes, like {name} = 4")
        }
        (_, "a boolean") => format!("must be true or false, like {name} = true"),
        (_, "a string") => format!("must be text in quotes, like {name} = \"...\""),
        _ => format!("has the wrong type: {message}"),
    };
    Some((key, plain))
}

/// 1-based line and column of a byte offset.
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// The config a first run writes: the defaults, one hot folder under
/// `default_folders_root()`, and the key file named.
pub fn default_config() -> Config {
    let mut config =
        Config::parse("", Path::new("defaults"), None).expect("the defaults are valid");
    config.api.key_file = Some(default_key_file());
    let root = default_folders_root();
    config.folders = vec![FolderPair {
        inbox: root.join("Inbox"),
        outbox: root.join("Outbox"),
        edit: EditOptions {
            perspective_correction: true,
            ..EditOptions::default()
        },
    }];
    config
}

/// The commented config `imagen-sync init` writes.
pub fn default_config_text() -> String {
    render(&default_config())
}

/// The whole config as commented TOML: what `init` writes and what the dashboard saves.
/// `Config::parse(&render(c))` gives `c` back.
pub fn render(config: &Config) -> String {
    use std::fmt::Write;
    let s = |text: &str| toml_string(text);
    let p = |path: &Path| toml_string(&path.display().to_string());
    let agent = &config.agent;
    let mut out = format!(
        r#"# imagen-sync configuration. A running agent picks up changes as soon as the file is
# saved; if an edit is invalid, it says so and keeps the last good settings. Saving
# the dashboard's Settings page rewrites this file.

[api]
# The Imagen API. IMAGEN_API_BASE_URL overrides it.
base_url = {base_url}
# Your API key: paste it into this file, which only you may read.
# The IMAGEN_API_KEY environment variable, when set, is used instead.
{key_file}

[agent]
# Where the journal (the agent's memory of every shoot) and logs live.
data_dir = {data_dir}
# A shoot starts once its folder has been quiet this many seconds.
settle_seconds = {settle}
# Every inbox is also listed in full this often, for network drives that send no
# change events (local disks report changes at once).
rescan_seconds = {rescan}
# Shoots processed at once, and photos moving at once per shoot.
max_active_shoots = {shoots}
max_parallel_uploads = {uploads}
max_parallel_downloads = {downloads}
# RAW+JPEG twins (same name, same folder): upload "raw", "jpeg" or "both".
raw_jpeg_pairs = {pairs}
# The spend guard: past either limit new projects are held (not created) until the
# next 24 hours allow them, or you say "Send anyway". 0 means no limit.
# Photos sent for editing in any 24 hours:
daily_photo_limit = {daily_photos}
# Follow-up projects of one shoot folder in 24 hours (photos added to a finished shoot):
daily_follow_up_limit = {daily_follow_ups}

[dashboard]
# The local dashboard (`imagen-sync open`). It listens on this machine only; another
# address needs password_file too.
port = {port}
listen = {listen}
{password_file}

# Desktop notifications, each of which can be switched off.
[notifications]
shoot_done = {done}
shoot_failed = {failed}
key_rejected = {rejected}
network = {network}

# One [[folders]] block per hot folder. Each direct subfolder of an inbox is one shoot.
"#,
        base_url = s(config.api.base_url.as_str()),
        key_file = match &config.api.key_file {
            Some(path) => format!("key_file = {}", p(path)),
            None => format!("# key_file = {}", p(&default_key_file())),
        },
        data_dir = p(&agent.data_dir),
        settle = agent.settle_seconds,
        rescan = agent.rescan_seconds,
        shoots = agent.max_active_shoots,
        uploads = agent.max_parallel_uploads,
        downloads = agent.max_parallel_downloads,
        pairs = s(match agent.raw_jpeg_pairs {
            PairPolicy::Raw => "raw",
            PairPolicy::Jpeg => "jpeg",
            PairPolicy::Both => "both",
        }),
        daily_photos = agent.spend.daily_photos,
        daily_follow_ups = agent.spend.daily_follow_ups,
        port = config.dashboard.port,
        listen = s(&config.dashboard.listen.to_string()),
        password_file = match &config.dashboard.password_file {
            Some(path) => format!("password_file = {}", p(path)),
            None => "# password_file = \"~/.config/imagen-sync/dashboard-password\"".into(),
        },
        done = config.notifications.shoot_done,
        failed = config.notifications.shoot_failed,
        rejected = config.notifications.key_rejected,
        network = config.notifications.network,
    );
    for pair in &config.folders {
        let edit = &pair.edit;
        let _ = write!(
            out,
            "[[folders]]\ninbox = {}\noutbox = {}\n[folders.edit]\nhdr_merge = {}\n\
             perspective_correction = {}\nsky_replacement = {}\n",
            p(&pair.inbox),
            p(&pair.outbox),
            edit.hdr_merge,
            edit.perspective_correction,
            edit.sky_replacement,
        );
        if let Some(template) = edit.sky_replacement_template_id {
            let _ = writeln!(out, "sky_replacement_template_id = {template}");
        }
        match &edit.callback_url {
            Some(url) => {
                let _ = writeln!(out, "callback_url = {}", s(url));
            }
            None => out.push_str("# callback_url = \"https://example.com/imagen-done\"\n"),
        }
        out.push('\n');
    }
    out.push_str(
        "# Another hot folder (e.g. for exteriors with sky replacement): add another\n\
         # [[folders]] block like the one above.\n",
    );
    out
}

/// A TOML basic string, quotes included.
fn toml_string(text: &str) -> String {
    let mut quoted = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            c if c.is_control() => quoted.push_str(&format!("\\u{:04X}", c as u32)),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

/// Writes the default config to `path`, never over an existing file.
pub fn write_default(path: &Path) -> std::io::Result<()> {
    crate::atomic_file::write_new(path, default_config_text().as_bytes())
}

/// What the first run made.
#[derive(Debug)]
pub struct FirstRun {
    pub folders: Vec<PathBuf>,
    pub key_file: PathBuf,
}

/// The first run: the default config at `path`, its inbox and outbox folders, and an
/// empty key file only the user can read, ready for the key to be pasted in.
pub fn first_run_setup(path: &Path) -> Result<FirstRun, ConfigError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| ConfigError::Io { path, source }
    };
    write_default(path).map_err(io(path))?;
    let config = Config::load(path)?;
    let mut folders = Vec::new();
    for pair in &config.folders {
        for folder in [&pair.inbox, &pair.outbox] {
            std::fs::create_dir_all(folder).map_err(io(folder))?;
            folders.push(folder.clone());
        }
    }
    let key_file = config.api.key_file.clone().unwrap_or_else(default_key_file);
    if !key_file.exists() {
        if let Some(parent) = key_file.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        options.open(&key_file).map_err(io(&key_file))?;
    }
    Ok(FirstRun { folders, key_file })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("config.toml"), None)
    }

    #[test]
    fn the_default_config_parses_to_the_documented_defaults() {
        let config = parse(&default_config_text()).unwrap();
        assert_eq!(config.api.base_url.as_str(), "https://api.imagen-ai.com/v1");
        assert_eq!(config.agent.settle_seconds, 10);
        assert_eq!(config.folders.len(), 1);
        assert!(config.folders[0].edit.perspective_correction);
        assert!(config.folders[0].inbox.ends_with("Imagen/Inbox"));
    }

    #[test]
    fn a_rendered_config_parses_back_to_itself() {
        let mut config = default_config();
        config.agent.settle_seconds = 3;
        config.agent.raw_jpeg_pairs = PairPolicy::Both;
        config.agent.spend.daily_photos = 0;
        config.agent.spend.daily_follow_ups = 2;
        config.notifications.network = false;
        config.dashboard.port = 9000;
        config.folders.push(FolderPair {
            inbox: PathBuf::from("/photos/Ext \"quoted\" \\ In"),
            outbox: PathBuf::from("/photos/Ext Out"),
            edit: EditOptions {
                sky_replacement: true,
                sky_replacement_template_id: Some(12),
                callback_url: Some("https://hooks.example.com/done".into()),
                ..EditOptions::default()
            },
        });
        config.api.key_file = None;
        let text = render(&config);
        assert_eq!(parse(&text).unwrap(), config, "{text}");
    }

    #[test]
    fn the_dashboard_stays_on_this_machine_unless_a_password_guards_it() {
        let open = error_of("[dashboard]\nlisten = \"0.0.0.0\"\n");
        assert!(
            open.starts_with("config.toml:2:") && open.contains("password_file"),
            "{open}"
        );
        let guarded = parse("[dashboard]\nlisten = \"0.0.0.0\"\npassword_file = \"/k\"\n").unwrap();
        assert!(!guarded.dashboard.listen.is_loopback());
        assert!(error_of("[dashboard]\nlisten = \"localhost\"\n").contains("IP address"));
    }

    #[test]
    fn several_folder_pairs_carry_their_own_edit_options() {
        let config = parse(
            r#"
[[folders]]
inbox = "/photos/Interiors In"
outbox = "/photos/Interiors Out"
[folders.edit]
perspective_correction = true

[[folders]]
inbox = "/photos/Exteriors In"
outbox = "/photos/Exteriors Out"
[folders.edit]
sky_replacement = true
callback_url = "https://hooks.example.com/done"
"#,
        )
        .unwrap();
        assert_eq!(config.folders.len(), 2);
        assert!(
            config.folders[0].edit.perspective_correction
                && !config.folders[0].edit.sky_replacement
        );
        assert!(config.folders[1].edit.sky_replacement);
        assert_eq!(
            config.folders[1].edit.callback_url.as_deref(),
            Some("https://hooks.example.com/done")
        );
    }

    fn error_of(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    #[test]
    fn mistakes_are_reported_with_their_key_and_line() {
        let wrong_type = error_of("[agent]\nsettle_seconds = \"ten\"\n");
        assert!(wrong_type.starts_with("config.toml:2:"), "{wrong_type}");
        assert!(
            wrong_type
                .contains("`agent.settle_seconds`: must be a whole number of seconds, like 10"),
            "{wrong_type}"
        );
        let flag = error_of("[notifications]\nshoot_done = \"yes\"\n");
        assert!(flag.contains("must be true or false"), "{flag}");

        let typo = error_of("[agent]\nsettle_secs = 5\n");
        assert!(
            typo.starts_with("config.toml:2:") && typo.contains("settle_secs"),
            "{typo}"
        );

        let zero = error_of("[agent]\n\nmax_parallel_uploads = 0\n");
        assert!(
            zero.starts_with("config.toml:3:") && zero.contains("`agent.max_parallel_uploads`"),
            "{zero}"
        );

        let nested = error_of("[[folders]]\ninbox = \"/a/in\"\noutbox = \"/a/in/out\"\n");
        assert!(
            nested.starts_with("config.toml:3:") && nested.contains("`folders[0].outbox`"),
            "{nested}"
        );

        let http = error_of("[api]\nbase_url = \"http://api.example.com/v1\"\n");
        assert!(
            http.starts_with("config.toml:2:") && http.contains("only https"),
            "{http}"
        );
        assert!(parse("[api]\nbase_url = \"http://127.0.0.1:8321/v1\"\n").is_ok());

        let callback = error_of(
            "[[folders]]\ninbox = \"/i\"\noutbox = \"/o\"\n[folders.edit]\ncallback_url = \"http://x\"\n",
        );
        assert!(callback.starts_with("config.toml:5:"), "{callback}");
    }

    #[cfg(unix)]
    #[test]
    fn a_key_file_others_can_read_is_refused_with_the_fix() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("api-key");
        std::fs::write(&path, "secret-key\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let refused = read_key_file(&path).unwrap_err().to_string();
        assert!(refused.contains("chmod 600"), "{refused}");
        assert!(!refused.contains("secret-key"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(read_key_file(&path).unwrap().expose(), "secret-key");
    }
}
