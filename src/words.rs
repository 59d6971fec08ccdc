//! How counts and names are written for people: "1 photo" and "2 photos", and names
//! from the file system with their control characters escaped, so a folder named with a
//! newline cannot break a table or forge a log line.

use std::borrow::Cow;

/// "1 photo", "3 photos".
pub fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `text` with control characters written as escapes (`\n`, `\t`, `\u{7}`).
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| match c {
                c if c.is_control() => c.escape_default().to_string(),
                c => c.to_string(),
            })
            .collect(),
    )
}

/// A path with its control characters escaped.
pub fn printable_path(path: &std::path::Path) -> String {
    printable(&path.display().to_string()).into_owned()
}

/// A value refused, with why in words that say what to write or do instead. Parsers
/// and checks return it; their callers place it (a config key, a link) and show it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refusal(pub String);

impl From<String> for Refusal {
    fn from(why: String) -> Self {
        Refusal(why)
    }
}

impl std::ops::Deref for Refusal {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<Refusal> for String {
    fn from(refusal: Refusal) -> Self {
        refusal.0
    }
}

impl From<&str> for Refusal {
    fn from(why: &str) -> Self {
        Refusal(why.to_owned())
    }
}

/// A failed read or write of `path` while `during`, in words that say what to do when
/// the cause is one the user can fix (a full disk, a read-only drive, a permission),
/// with the system's own words for the log.
pub fn io_problem(path: &std::path::Path, during: &str, error: &std::io::Error) -> String {
    io_words(path, during, error, true)
}

/// [`io_problem`] for a photographer's eyes: without the system's error text.
pub fn io_problem_plain(path: &std::path::Path, during: &str, error: &std::io::Error) -> String {
    io_words(path, during, error, false)
}

fn io_words(path: &std::path::Path, during: &str, error: &std::io::Error, detail: bool) -> String {
    let path = printable_path(path);
    let advice = match error.kind() {
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => {
            " — the disk is full: free some space there; the shoot goes on by itself"
        }
        std::io::ErrorKind::ReadOnlyFilesystem => {
            " — the drive is read-only: make it writable; the shoot goes on by itself"
        }
        std::io::ErrorKind::PermissionDenied => {
            " — permission denied: let imagen-sync's user write there"
        }
        std::io::ErrorKind::NotFound => " — it is not there (moved or deleted?)",
        _ => "",
    };
    match detail {
        true => format!("{path}: {error} (while {during}){advice}"),
        false if advice.is_empty() => format!("{path} could not be used (while {during})"),
        false => format!("{path}{advice}"),
    }
}

/// The agent-wide words for Imagen away: no connection at all, or connections that
/// stay silent.
pub fn imagen_away(silent: bool) -> &'static str {
    if silent {
        "Imagen is not answering"
    } else {
        "No connection to Imagen"
    }
}

/// A live shoot's state in words: "live: 212 photos, 190 ready, last photo 1 min ago",
/// or "live shoot finished: …" once its end was told.
pub fn live_progress(photos: u64, ready: u64, last_photo_ms: i64, open: bool) -> String {
    let state = if open { "live" } else { "live shoot finished" };
    format!(
        "{state}: {}, {ready} ready, last photo {}",
        count(photos, "photo", "photos"),
        ago(last_photo_ms)
    )
}

/// Words that stand on their own, starting with a capital: "Live: 12 photos, …".
pub fn sentence(words: &str) -> String {
    let mut chars = words.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

/// "just now", "5 min ago", "3 h ago", "2 days ago": how long since `ms` (Unix ms).
pub fn ago(ms: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let seconds = ((now - ms) / 1000).max(0);
    match seconds {
        0..60 => "just now".into(),
        60..3600 => format!("{} min ago", seconds / 60),
        3600..86400 => format!("{} h ago", seconds / 3600),
        _ => format!("{} days ago", seconds / 86400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_agree_and_control_characters_are_escaped() {
        assert_eq!(count(1, "photo", "photos"), "1 photo");
        assert_eq!(count(0, "photo", "photos"), "0 photos");
        assert_eq!(printable("12 Oak\nLane\t\u{7}"), "12 Oak\\nLane\\t\\u{7}");
        assert!(matches!(printable("Main St"), Cow::Borrowed(_)));
    }
}
