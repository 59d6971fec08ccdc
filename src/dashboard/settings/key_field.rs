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
    if config::key_in_environment() {
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

/// What Imagen said of a key, asked with its cheapest call as soon as it is entered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum KeyCheck {
    Accepted,
    Rejected,
    /// Imagen could not be asked (offline, not answering): the key is kept, and the
    /// agent finds out when it starts.
    NotChecked,
}

/// How long the page waits for Imagen's word on a key.
const KEY_CHECK_WITHIN: std::time::Duration = std::time::Duration::from_secs(10);

pub(super) async fn check_key(base_url: &url::Url, key: &str) -> KeyCheck {
    let config = crate::api::ClientConfig::new(base_url.clone(), crate::redact::ApiKey::new(key));
    let Ok(client) = crate::api::Client::new(config) else {
        return KeyCheck::NotChecked;
    };
    match tokio::time::timeout(KEY_CHECK_WITHIN, client.probe()).await {
        Ok(Ok(())) => KeyCheck::Accepted,
        Ok(Err(crate::api::ApiError::Unauthorized { .. })) => KeyCheck::Rejected,
        Ok(Err(error)) => {
            tracing::info!("the new key could not be checked: {error}");
            KeyCheck::NotChecked
        }
        Err(_) => KeyCheck::NotChecked,
    }
}

impl KeyCheck {
    /// What the page says after saving a key.
    pub(super) fn words(&self) -> &'static str {
        match self {
            KeyCheck::Accepted => "Imagen accepted the key.",
            KeyCheck::Rejected => {
                "Imagen rejected this key: copy it again from your Imagen account (all of it)."
            }
            KeyCheck::NotChecked => {
                "The key is saved; Imagen could not be reached to check it, so the agent \
                 checks it once Imagen answers."
            }
        }
    }
}
