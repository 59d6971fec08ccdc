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

/// Reads a key file, refusing one that other users can read.
pub fn read_key_file(path: &Path) -> Result<ApiKey, ConfigError> {
    read_private_file(path, "your Imagen API key").map(ApiKey::new)
}

/// Reads a file holding `what` (a secret), refusing one that other users can read.
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
    let secret =
        std::fs::read_to_string(path).map_err(|e| problem(format!("cannot be read: {e}")))?;
    if secret.trim().is_empty() {
        return Err(problem(format!("is empty: paste {what} into it")));
    }
    Ok(secret)
}
