//! The TOML config: the settings as the agent uses them, and where each job on them
//! lives: [`parse`] (validation that names the key and line of every mistake),
//! [`render`] (the commented file `init` and the dashboard write), [`paths`] (platform
//! folders), [`key_file`] (the private API key file) and [`first_run`].
//! The key names are a contract other tools rely on:
//! `[api] base_url, key_file`, `[agent] data_dir, settle_seconds, max_active_shoots,
//! max_parallel_uploads, max_parallel_downloads`, and `[[folders]] inbox, outbox` with a
//! `[folders.edit]` table (`hdr_merge, perspective_correction, sky_replacement,
//! callback_url`).

mod bandwidth;
pub mod bounded;
mod first_run;
mod key_file;
mod live;
mod located;
mod parse;
mod paths;
mod render;
mod rules;
mod studio;
mod webhook;

use std::path::{Path, PathBuf};

use url::Url;

use crate::api::EditOptions;
use crate::redact::ApiKey;
use crate::shoot::PairPolicy;

pub use bandwidth::{BandwidthPlan, rate_words};
pub use first_run::{FirstRun, first_run_setup, write_default};
pub use key_file::{private_file_step, read_key_file, read_private_file};
pub use live::{DEFAULT_LIVE_BATCH_SECONDS, DEFAULT_LIVE_IDLE_MINUTES, LiveSettings};
pub use paths::{
    data_dir_for_commands, default_config_path, default_data_dir, default_folders_root,
    default_key_file,
};
pub use render::{default_config, default_config_text, render};
pub use rules::{EditOverrides, EditRule};
pub use studio::{
    DEFAULT_LEASE_SECONDS, DEFAULT_POLL_SECONDS, ENV_JOURNAL_URL, JournalSettings, WatchMode,
    host_name, url_without_password,
};
pub use webhook::{WebhookFormat, WebhookSettings, WebhookUrl};

pub const ENV_API_KEY: &str = "IMAGEN_API_KEY";

/// Whether `IMAGEN_API_KEY` holds a key (which wins over any key file).
pub fn key_in_environment() -> bool {
    std::env::var(ENV_API_KEY).is_ok_and(|key| !key.trim().is_empty())
}
pub const ENV_BASE_URL: &str = "IMAGEN_API_BASE_URL";

/// `[agent] daily_photo_limit`, `daily_follow_up_limit` and `confirm_above`; 0 means
/// no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpendLimits {
    pub daily_photos: u64,
    pub daily_follow_ups: u64,
    /// A shoot of more photos than this waits for "Send" before its project is made.
    pub confirm_above: u64,
}

pub const DEFAULT_DAILY_PHOTOS: u64 = 3000;
pub const DEFAULT_DAILY_FOLLOW_UPS: u64 = 5;
pub const DEFAULT_CONFIRM_ABOVE: u64 = 500;

impl Default for SpendLimits {
    fn default() -> Self {
        SpendLimits {
            daily_photos: DEFAULT_DAILY_PHOTOS,
            daily_follow_ups: DEFAULT_DAILY_FOLLOW_UPS,
            confirm_above: DEFAULT_CONFIRM_ABOVE,
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
    /// `IMAGEN_API_KEY` holds something no key holds (a line break, a space).
    #[error(
        "the {ENV_API_KEY} environment variable holds spaces or a line break, which an API key \
         never has: set it again to the key alone"
    )]
    BadEnvKey,
}

/// The whole configuration, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub api: ApiSettings,
    pub agent: AgentSettings,
    pub folders: Vec<FolderPair>,
    pub notifications: NotificationSettings,
    /// Where a push goes when a shoot finishes (`[notifications] webhook_url`).
    pub webhook: Option<WebhookSettings>,
    pub network: NetworkSettings,
    pub dashboard: DashboardSettings,
    pub journal: JournalSettings,
}

/// Values the environment gives in place of the file's.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `IMAGEN_API_BASE_URL`
    pub base_url: Option<String>,
    /// `IMAGEN_JOURNAL_URL`
    pub journal_url: Option<String>,
}

impl Overrides {
    pub fn from_env() -> Overrides {
        let read = |name| std::env::var(name).ok().filter(|v: &String| !v.is_empty());
        Overrides {
            base_url: read(ENV_BASE_URL),
            journal_url: read(ENV_JOURNAL_URL),
        }
    }
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

/// `[network]`: how much of the line transfers may take, and when uploads wait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkSettings {
    pub upload_limit: BandwidthPlan,
    pub download_limit: BandwidthPlan,
    /// Uploads wait while the connection is metered (a phone's hotspot, a data plan).
    pub pause_on_metered: bool,
    /// Uploads wait while the machine runs on battery.
    pub pause_on_battery: bool,
}

impl Default for NetworkSettings {
    fn default() -> Self {
        NetworkSettings {
            upload_limit: BandwidthPlan::Off,
            download_limit: BandwidthPlan::Off,
            pause_on_metered: true,
            pause_on_battery: false,
        }
    }
}

/// Which desktop notifications are shown (`[notifications]`; all on by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    /// The machine is kept from idle sleep while photos move or a live shoot is open.
    pub keep_awake: bool,
}

/// One hot folder: shoots dropped in `inbox` come out edited in `outbox`.
#[derive(Debug, Clone, PartialEq)]
pub struct FolderPair {
    /// The folder's name across a studio (required with a shared journal): shoots are
    /// known by it and their path inside the inbox, whatever the mount point.
    pub id: Option<String>,
    pub inbox: PathBuf,
    pub outbox: PathBuf,
    pub edit: EditOptions,
    /// Other options for photos in matching subfolders of a shoot; first match wins.
    pub rules: Vec<EditRule>,
    pub watch: WatchMode,
    /// How often a polled inbox is listed.
    pub poll_seconds: u64,
    /// A touch-up saved over an output of a finished shoot replaces Imagen's copy.
    pub sync_touchups: bool,
    /// Whether its shoots are live (edited in batches as photos arrive).
    pub live: LiveSettings,
}

impl FolderPair {
    /// A hot folder with the default id (none), watch mode and poll period.
    pub fn new(inbox: PathBuf, outbox: PathBuf, edit: EditOptions) -> FolderPair {
        FolderPair {
            id: None,
            inbox,
            outbox,
            edit,
            rules: Vec::new(),
            watch: WatchMode::Auto,
            poll_seconds: DEFAULT_POLL_SECONDS,
            sync_touchups: false,
            live: LiveSettings::default(),
        }
    }

    /// The options a photo at `relative` (inside its shoot folder) is edited with.
    pub fn options_for(&self, relative: &Path) -> EditOptions {
        rules::options_for(&self.edit, &self.rules, relative)
    }
}

// The file as written, with spans for the values checked beyond their type.
impl Config {
    /// Reads and validates `path`. `IMAGEN_API_BASE_URL` overrides `[api] base_url`,
    /// `IMAGEN_JOURNAL_URL` `[journal] url`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = bounded::read_small_text(path, bounded::CONFIG_LIMIT).map_err(|error| {
            ConfigError::Io {
                path: path.to_owned(),
                source: match error {
                    bounded::BoundedReadError::Io(source) => source,
                    other => std::io::Error::other(other.to_string()),
                },
            }
        })?;
        Config::parse(&text, path, &Overrides::from_env())
    }
    /// The API key: `IMAGEN_API_KEY`, else the key file (which must be private).
    pub fn api_key(&self) -> Result<ApiKey, ConfigError> {
        if let Ok(key) = std::env::var(ENV_API_KEY)
            && !key.trim().is_empty()
        {
            let key = key.trim();
            if key.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(ConfigError::BadEnvKey);
            }
            return Ok(ApiKey::new(key));
        }
        let Some(path) = &self.api.key_file else {
            return Err(ConfigError::MissingKey);
        };
        read_key_file(path)
    }
}

#[cfg(test)]
mod tests;
