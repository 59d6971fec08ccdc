//! The studio's settings: `[journal]` (the embedded SQLite journal, or one PostgreSQL
//! journal shared by several agents) and how each hot folder is known and watched
//! (`[[folders]] id, watch, poll_seconds`).

use std::path::PathBuf;

use serde::Deserialize;
use toml::Spanned;

pub const ENV_JOURNAL_URL: &str = "IMAGEN_JOURNAL_URL";
pub const DEFAULT_LEASE_SECONDS: u64 = 30;
pub const DEFAULT_POLL_SECONDS: u64 = 5;

/// `[journal]`: where the agent keeps its memory of every shoot.
#[derive(Clone, PartialEq)]
pub struct JournalSettings {
    /// A PostgreSQL URL the studio's agents share; `None` keeps the embedded journal in
    /// the data folder.
    pub url: Option<String>,
    /// A private file holding the database password (never written in the URL).
    pub password_file: Option<PathBuf>,
    /// This agent's name in the studio (who holds which shoot); the host name by default.
    pub agent_name: String,
    /// How long a claim on a shoot lasts unless renewed (renewed every third of it).
    pub lease_seconds: u64,
}

impl JournalSettings {
    pub fn is_shared(&self) -> bool {
        self.url.is_some()
    }

    /// The URL as logs and errors may show it: without its password.
    pub fn url_for_display(&self) -> Option<String> {
        self.url.as_deref().map(url_without_password)
    }
}

impl Default for JournalSettings {
    fn default() -> Self {
        JournalSettings {
            url: None,
            password_file: None,
            agent_name: host_name(),
            lease_seconds: DEFAULT_LEASE_SECONDS,
        }
    }
}

// The URL may carry a password: Debug (and so every log of the config) hides it.
impl std::fmt::Debug for JournalSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JournalSettings")
            .field("url", &self.url_for_display())
            .field("password_file", &self.password_file)
            .field("agent_name", &self.agent_name)
            .field("lease_seconds", &self.lease_seconds)
            .finish()
    }
}

/// `postgres://user:secret@host/db` as `postgres://user:***@host/db`.
pub fn url_without_password(text: &str) -> String {
    match url::Url::parse(text) {
        Ok(mut url) => {
            if url.password().is_some() {
                let _ = url.set_password(Some("***"));
            }
            // libpq takes a password (and a key's) in the query too.
            let secret = |name: &str| {
                let name = name.to_ascii_lowercase();
                ["password", "sslpassword", "pass", "token", "secret"].contains(&name.as_str())
            };
            if url.query_pairs().any(|(name, _)| secret(&name)) {
                let pairs: Vec<(String, String)> = url
                    .query_pairs()
                    .map(|(name, value)| {
                        let value = if secret(&name) {
                            "***".into()
                        } else {
                            value.into_owned()
                        };
                        (name.into_owned(), value)
                    })
                    .collect();
                url.query_pairs_mut().clear().extend_pairs(pairs);
            }
            url.to_string()
        }
        Err(_) => "(a URL that does not parse)".into(),
    }
}

/// This machine's name, for `agent_name`.
pub fn host_name() -> String {
    let from_file = std::fs::read_to_string("/etc/hostname").ok();
    from_file
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "imagen-sync".into())
}

/// `[[folders]] watch`: how new shoots in an inbox are noticed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WatchMode {
    /// Poll an inbox on a network filesystem, take change events on a local one.
    #[default]
    Auto,
    /// The operating system's change events (plus the slow full rescan).
    Events,
    /// List the inbox every `poll_seconds`: for shares other machines write to, whose
    /// writes send no events here.
    Poll,
}

impl WatchMode {
    pub fn as_str(self) -> &'static str {
        match self {
            WatchMode::Auto => "auto",
            WatchMode::Events => "events",
            WatchMode::Poll => "poll",
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawJournal {
    url: Option<Spanned<String>>,
    password_file: Option<Spanned<String>>,
    agent_name: Option<Spanned<String>>,
    lease_seconds: Option<Spanned<u64>>,
}

/// Where a mistake is: the span in the file (or `None`: the environment), the key, and
/// what to write.
pub(super) type Mistake = (Option<std::ops::Range<usize>>, String, String);

impl RawJournal {
    /// The settings; `url_override` (from `IMAGEN_JOURNAL_URL`) wins over `url`.
    pub(super) fn settings(
        &self,
        url_override: Option<&str>,
        expand_home: impl Fn(&str) -> PathBuf,
    ) -> Result<JournalSettings, Mistake> {
        let mut settings = JournalSettings::default();
        let url = match (url_override, &self.url) {
            (Some(url), _) => Some((None, url.to_owned())),
            (None, Some(url)) => Some((Some(url.span()), url.get_ref().clone())),
            (None, None) => None,
        };
        if let Some((span, url)) = url {
            check_journal_url(&url).map_err(|m| (span, "journal.url".to_owned(), m))?;
            settings.url = Some(url);
        }
        settings.password_file = self
            .password_file
            .as_ref()
            .map(|p| expand_home(p.get_ref()));
        if let Some(name) = &self.agent_name {
            let name = name.get_ref().trim();
            if name.is_empty() || name.len() > 64 || name.chars().any(char::is_control) {
                return Err((
                    self.agent_name.as_ref().map(Spanned::span),
                    "journal.agent_name".into(),
                    "must be a short name (1 to 64 characters), like \"office-nas\"".into(),
                ));
            }
            settings.agent_name = name.to_owned();
        }
        if let Some(lease) = &self.lease_seconds {
            if !(5..=600).contains(lease.get_ref()) {
                return Err((
                    Some(lease.span()),
                    "journal.lease_seconds".into(),
                    "must be between 5 and 600".into(),
                ));
            }
            settings.lease_seconds = *lease.get_ref();
        }
        Ok(settings)
    }
}

/// A shared journal's URL: PostgreSQL's, parsed the way the connection will parse it.
fn check_journal_url(url: &str) -> Result<(), String> {
    const EXAMPLE: &str = "like \"postgres://imagen@nas.local/imagen_studio\"";
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err(format!("must be a PostgreSQL URL, {EXAMPLE}"));
    }
    let parsed: postgres::Config = url
        .parse()
        .map_err(|error| format!("is not a PostgreSQL URL ({error}); write it {EXAMPLE}"))?;
    if parsed.get_hosts().is_empty() {
        return Err(format!("names no server; write it {EXAMPLE}"));
    }
    if parsed.get_dbname().is_none() {
        return Err(format!("names no database; write it {EXAMPLE}"));
    }
    Ok(())
}

/// A hot folder's `id`: the same on every machine of a studio, whatever path the share
/// is mounted at there.
pub(super) fn check_folder_id(id: &str) -> Result<(), String> {
    let fine = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if fine {
        Ok(())
    } else {
        Err("must be a short name of letters, digits, '-', '_' or '.', like \"listings\"".into())
    }
}
