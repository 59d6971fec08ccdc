//! The key field: which key file the page may write a typed key into, and why not.

use std::path::Path;

use super::*;

/// Whether the page may write `key` into `key_file`: never when `IMAGEN_API_KEY` is in
/// force (the typed key would not be used), and only into a key file of the agent's
/// own: in the config's folder (or the default one), and, when it exists, the user's
/// private file with one line in it. Any other file `key_file` names (a system file
/// named by mistake) is left untouched, with why.
pub(super) fn key_file_to_replace(
    state: &AppState,
    key_file: &Path,
    key: &str,
) -> Result<(), String> {
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
