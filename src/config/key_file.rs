//! Secret files (the API key, a studio database's password): each must exist, hold the
//! secret, and be readable by its owner alone.

use std::path::Path;

use super::ConfigError;
use crate::redact::ApiKey;

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

/// Reads a key file: a private file of the user's holding the key on one line.
pub fn read_key_file(path: &Path) -> Result<ApiKey, ConfigError> {
    let key = read_private_file(path, "your Imagen API key")?;
    if key.contains(char::is_whitespace) {
        return Err(ConfigError::KeyFile {
            path: path.to_owned(),
            problem: "holds spaces, which an API key never has: copy it again from your \
                      Imagen account"
                .into(),
        });
    }
    Ok(ApiKey::new(key))
}

/// Reads a file holding `what` (a secret) on one line: it must be the user's own, hold
/// nothing else, and be readable by its owner alone. A file that is not such a file
/// (a system file named by mistake) is refused with words that say so, never with
/// advice to change its mode.
pub fn read_private_file(path: &Path, what: &str) -> Result<String, ConfigError> {
    let problem = |problem: String| ConfigError::KeyFile {
        path: path.to_owned(),
        problem,
    };
    let metadata = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => problem(format!(
            "does not exist yet: paste {what} into it{}",
            private_file_step(path)
        )),
        _ => problem(format!("cannot be read: {e}")),
    })?;
    let not_a_key =
        format!("is not a file holding only {what}; name a file of yours with {what} on one line");
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        // SAFETY: geteuid has no preconditions.
        if metadata.uid() != unsafe { libc::geteuid() } {
            return Err(problem(format!("belongs to another user: it {not_a_key}")));
        }
    }
    let secret = super::bounded::read_small_text(path, super::bounded::SECRET_LIMIT).map_err(
        |e| match e {
            super::bounded::BoundedReadError::Io(e) => problem(format!("cannot be read: {e}")),
            other => problem(format!("{other}: it {not_a_key}")),
        },
    )?;
    let secret = secret.trim();
    if secret.is_empty() {
        return Err(problem(format!("is empty: paste {what} into it")));
    }
    if secret.lines().count() > 1 {
        return Err(problem(format!(
            "holds {} lines, but {what} is one line: it {not_a_key}",
            secret.lines().count()
        )));
    }
    if secret.chars().any(char::is_control) {
        return Err(problem(format!(
            "holds control characters, which {what} never has: write it again"
        )));
    }
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
    Ok(secret.to_owned())
}
