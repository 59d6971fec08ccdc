//! Where things live on this platform: the config file, the key file, the data folder
//! and the default hot folders; and the data folder for commands run on a broken config.

use std::path::{Path, PathBuf};

use super::{Config, ConfigError};

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
pub(super) fn expand_home(text: &str) -> PathBuf {
    match (text.strip_prefix("~/"), directories::UserDirs::new()) {
        (Some(rest), Some(user)) => user.home_dir().join(rest),
        _ => PathBuf::from(text),
    }
}
