//! `[notifications] webhook_url` and `webhook_format`: where a push goes when a shoot
//! finishes, for a phone (through an ntfy topic) or any service that takes JSON. The
//! URL often carries a secret (an ntfy topic is a password; a token in the path or
//! query), so it prints as scheme and host only.

use std::fmt;

use serde::Deserialize;
use url::Url;

/// What the POST carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WebhookFormat {
    /// A JSON object: shoot, state, photo counts, outbox folder, problems.
    #[default]
    Json,
    /// ntfy's form: the message as plain text, with Title, Tags and Priority headers.
    Ntfy,
}

impl WebhookFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookFormat::Json => "json",
            WebhookFormat::Ntfy => "ntfy",
        }
    }
}

/// The webhook's address. `Debug` and `Display` show scheme, host and port only.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookUrl(Url);

impl WebhookUrl {
    /// An http or https URL with a host; the error never repeats the URL's secret parts.
    pub fn parse(text: &str) -> Result<WebhookUrl, crate::words::Refusal> {
        let example = "for example \"https://ntfy.sh/my-secret-topic\"";
        let url = Url::parse(text.trim())
            .map_err(|error| format!("is not a URL ({error}); {example}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!(
                "must be an http:// or https:// address, not {}://; {example}",
                url.scheme()
            )
            .into());
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(format!("has no host; {example}").into());
        }
        Ok(WebhookUrl(url))
    }

    /// The full URL, for the request and the config file only.
    pub fn expose(&self) -> &Url {
        &self.0
    }

    /// What is safe to show: scheme, host and port.
    pub fn shown(&self) -> String {
        let url = &self.0;
        let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
        format!(
            "{}://{}{port}/…",
            url.scheme(),
            url.host_str().unwrap_or("?")
        )
    }
}

impl fmt::Debug for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WebhookUrl({})", self.shown())
    }
}

impl fmt::Display for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown())
    }
}

/// Where shoot outcomes are pushed, and in which form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSettings {
    pub url: WebhookUrl,
    pub format: WebhookFormat,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_webhook_url_prints_without_its_topic_or_token() {
        let url =
            WebhookUrl::parse("https://ntfy.example.com:8443/secret-topic?auth=tok3n").unwrap();
        for shown in [format!("{url}"), format!("{url:?}")] {
            assert!(
                !shown.contains("secret") && !shown.contains("tok3n"),
                "{shown}"
            );
            assert!(shown.contains("ntfy.example.com:8443"), "{shown}");
        }
        for bad in ["ntfy.sh/topic", "ftp://h/x", "https://"] {
            let refused = WebhookUrl::parse(bad).unwrap_err();
            assert!(refused.contains("https://ntfy.sh/"), "{bad}: {refused}");
        }
    }
}
