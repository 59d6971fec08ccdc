//! Secrets that must never reach a log, a `Debug` dump or an error text: the API key and
//! presigned links (whose query string is a bearer credential). Both types print a
//! redacted form everywhere; the raw value is reachable only where a request is built.

use std::fmt;

use url::Url;

/// The account's API key. `Debug` and `Display` print `ApiKey(<redacted>)`.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key, trimming the whitespace a key file usually ends with.
    pub fn new(key: impl Into<String>) -> Self {
        ApiKey(key.into().trim().to_owned())
    }

    /// The raw key, for the `x-api-key` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted api key>")
    }
}

/// A presigned storage link. Prints as `https://host/path?<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub struct PresignedUrl(Url);

impl PresignedUrl {
    /// Parses a link received from the API. It is refused unless it is https, or http
    /// to this machine: a broken or hostile server must not send photos (or fetch
    /// outputs) anywhere else. The error never carries the link's query.
    pub fn parse(link: &str) -> Result<Self, crate::words::Refusal> {
        let url = Url::parse(link).map_err(|e| format!("not a valid link ({e})"))?;
        check_transport(&url)?;
        Ok(PresignedUrl(url))
    }

    /// The full link, for building the request only.
    pub fn expose(&self) -> &Url {
        &self.0
    }

    /// Scheme, host, port and path: what is safe to show.
    pub fn redacted(&self) -> String {
        redact_url(&self.0)
    }
}

/// Plain http is for loopback only (the simulator); anything else must be https.
pub fn check_transport(url: &Url) -> Result<(), crate::words::Refusal> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        "http" => Err(format!(
            "refusing plain http to {}: only https, or http to a loopback address, is allowed",
            redact_url(url)
        )
        .into()),
        other => Err(format!("refusing the {other}:// scheme: only https is allowed").into()),
    }
}

/// A presigned link the API handed out: [`check_transport`], and never to this machine
/// (another service on 127.0.0.1 would receive a PUT or answer a GET) unless the API
/// itself is on this machine at that very address (the simulator serves its storage).
pub fn check_link(link: &Url, api: &Url) -> Result<(), crate::words::Refusal> {
    check_transport(link)?;
    let on_this_machine = |url: &Url| {
        is_loopback(url)
            || matches!(url.host(), Some(url::Host::Ipv4(ip)) if ip.is_unspecified())
            || matches!(url.host(), Some(url::Host::Ipv6(ip)) if ip.is_unspecified())
    };
    let same_place = |a: &Url, b: &Url| {
        a.host_str() == b.host_str() && a.port_or_known_default() == b.port_or_known_default()
    };
    if on_this_machine(link) && !(on_this_machine(api) && same_place(link, api)) {
        return Err(format!(
            "refusing a storage link to {} on this machine: only the API's own address may \
             be on this machine",
            redact_url(link)
        )
        .into());
    }
    Ok(())
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Drops query string and fragment (and any userinfo) from a URL for display.
pub fn redact_url(url: &Url) -> String {
    let mut shown = format!("{}://{}", url.scheme(), url.host_str().unwrap_or("?"));
    if let Some(port) = url.port() {
        shown.push_str(&format!(":{port}"));
    }
    shown.push_str(url.path());
    if url.query().is_some() {
        shown.push_str("?<redacted>");
    }
    shown
}

/// A URL given as text, for display and records: [`redact_url`] (no userinfo, no
/// query, no fragment), or a note when it does not parse.
pub fn redact_url_text(text: &str) -> String {
    match Url::parse(text) {
        Ok(url) => redact_url(&url),
        Err(_) => "(a URL that does not parse)".to_owned(),
    }
}

impl fmt::Debug for PresignedUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PresignedUrl({})", self.redacted())
    }
}

impl fmt::Display for PresignedUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl<'de> serde::Deserialize<'de> for PresignedUrl {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        PresignedUrl::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_storage_link_to_another_port_of_this_machine_is_refused() {
        let url = |text: &str| Url::parse(text).unwrap();
        let real_api = url("https://api.imagen-ai.com/v1");
        let simulator = url("http://127.0.0.1:4010/v1");
        assert!(check_link(&url("https://s3.amazonaws.com/b/a.jpg?sig=1"), &real_api).is_ok());
        for local in [
            "https://127.0.0.1:8443/a.jpg",
            "http://127.0.0.1:5432/a.jpg",
            "https://localhost/a.jpg",
            "https://0.0.0.0:4010/a.jpg",
        ] {
            assert!(check_link(&url(local), &real_api).is_err(), "{local}");
        }
        assert!(check_link(&url("http://127.0.0.1:4010/storage/a.jpg"), &simulator).is_ok());
        assert!(check_link(&url("http://127.0.0.1:6379/a.jpg"), &simulator).is_err());
    }

    #[test]
    fn links_elsewhere_than_https_or_this_machine_are_refused() {
        for link in [
            "http://storage.example.com/in/a.jpg?X-Amz-Signature=abc",
            "ftp://127.0.0.1/a.jpg",
            "file:///etc/passwd",
            "javascript:alert(1)",
        ] {
            let refused = PresignedUrl::parse(link).unwrap_err();
            assert!(refused.contains("refusing"), "{link}: {refused}");
            assert!(!refused.contains("abc"), "{refused}");
        }
        assert!(PresignedUrl::parse("https://s3.example.com/a.jpg?X-Amz-Signature=abc").is_ok());
        assert!(PresignedUrl::parse("http://localhost:9/a.jpg").is_ok());
    }

    #[test]
    fn presigned_links_print_without_their_signature() {
        let link = PresignedUrl::parse(
            "http://127.0.0.1:9/s3/up/p/a.jpg?X-Amz-Expires=1&X-Amz-Signature=deadbeef",
        )
        .unwrap();
        for shown in [format!("{link}"), format!("{link:?}")] {
            assert!(!shown.contains("deadbeef"), "{shown}");
            assert!(shown.contains("/s3/up/p/a.jpg"), "{shown}");
        }
    }

    #[test]
    fn api_keys_print_redacted() {
        let key = ApiKey::new("sekrit-key\n");
        assert_eq!(key.expose(), "sekrit-key");
        assert!(!format!("{key:?} {key}").contains("sekrit"));
    }
}
