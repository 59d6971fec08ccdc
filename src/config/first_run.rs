//! The very first run: the default config, its inbox and outbox, and an empty private
//! key file ready for the key to be pasted in.

use std::path::{Path, PathBuf};

use super::paths::default_key_file;
use super::{Config, ConfigError, render::default_config_text};

/// Writes the default config to `path`, never over an existing file.
pub fn write_default(path: &Path) -> std::io::Result<()> {
    crate::files::atomic_file::write_new(path, default_config_text().as_bytes())
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
