//! Reading answers: bounded bodies, the two envelopes (payload at the root or under a
//! sole `data` key), and turning an error status into a typed [`ApiError`].

use std::time::Duration;

use futures_util::StreamExt;
use reqwest::{Response, StatusCode, header};
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// No sane JSON answer is larger; a hostile or broken server is cut off here.
pub(super) const MAX_JSON_BODY: usize = 16 * 1024 * 1024;
/// Error bodies are only ever shown to a person: keep the first part.
const MAX_ERROR_BODY: usize = 64 * 1024;
const MAX_DETAIL_CHARS: usize = 300;

/// Reads at most `limit` bytes of a body; more is a protocol error, not a memory spike.
pub(crate) async fn read_limited(
    response: Response,
    limit: usize,
    during: &str,
) -> Result<Vec<u8>, ApiError> {
    if let Some(len) = response.content_length()
        && len > limit as u64
    {
        return Err(ApiError::protocol(
            during,
            format!("answer of {len} bytes is larger than the {limit}-byte limit"),
        ));
    }
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ApiError::network(during, e))?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::protocol(
                during,
                format!("answer is larger than the {limit}-byte limit"),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Removes a sole `data` wrapper, if present.
pub fn unwrap_envelope(value: serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(mut map) if map.len() == 1 && map.contains_key("data") => {
            map.remove("data").unwrap_or(serde_json::Value::Null)
        }
        other => other,
    }
}

/// Parses a JSON answer in either envelope into `T`.
pub fn parse_payload<T: DeserializeOwned>(body: &[u8], during: &str) -> Result<T, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::protocol(during, format!("answer is not JSON ({e})")))?;
    serde_json::from_value(unwrap_envelope(value))
        .map_err(|e| ApiError::protocol(during, format!("answer has an unexpected shape ({e})")))
}

/// Consumes a non-success response into the matching typed error.
pub(crate) async fn error_from_response(response: Response, during: &str) -> ApiError {
    let status = response.status();
    let retry_after = retry_after(response.headers());
    let body = read_limited_lossy(response).await;
    let (code, detail) = describe_error_body(&body);
    classify(status, code.as_deref(), detail, retry_after, during)
}

fn classify(
    status: StatusCode,
    code: Option<&str>,
    detail: String,
    retry_after: Option<Duration>,
    during: &str,
) -> ApiError {
    let detail = if detail.is_empty() {
        format!("no detail given while {during}")
    } else {
        detail
    };
    match status {
        StatusCode::UNAUTHORIZED => ApiError::Unauthorized { detail },
        StatusCode::CONFLICT => ApiError::NameTaken { detail },
        StatusCode::NOT_FOUND => ApiError::NotFound { detail },
        StatusCode::TOO_MANY_REQUESTS => ApiError::RateLimited {
            retry_after,
            detail,
        },
        StatusCode::FORBIDDEN if code == Some("AccessDenied") && detail.contains("expired") => {
            ApiError::LinkExpired { detail }
        }
        StatusCode::SERVICE_UNAVAILABLE if retry_after.is_some() => ApiError::RateLimited {
            retry_after,
            detail,
        },
        _ => ApiError::Server { status, detail },
    }
}

async fn read_limited_lossy(response: Response) -> String {
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(Ok(chunk)) = stream.next().await {
        let room = MAX_ERROR_BODY.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if room <= chunk.len() {
            break;
        }
    }
    String::from_utf8_lossy(&body).into_owned()
}

/// The server's own words: `error.message`, else `detail`, else an S3 XML
/// `<Code>`/`<Message>`, else the raw text. Returns (S3 code, detail).
pub fn describe_error_body(body: &str) -> (Option<String>, String) {
    let trimmed = body.trim();
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(trimmed) {
        let value = unwrap_envelope(value);
        let message = value
            .pointer("/error/message")
            .or_else(|| value.get("detail"))
            .or_else(|| value.get("message"))
            .or_else(|| value.get("error"));
        if let Some(message) = message {
            let text = match message {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            return (None, shorten(&text));
        }
    }
    if trimmed.starts_with('<') {
        let code = xml_element(trimmed, "Code");
        let message = xml_element(trimmed, "Message").unwrap_or_default();
        let detail = match &code {
            Some(code) => format!("{code}: {message}"),
            None => message,
        };
        return (code, shorten(&detail));
    }
    (None, shorten(trimmed))
}

fn xml_element(xml: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{name}>"))? + start;
    Some(xml[start..end].to_owned())
}

fn shorten(text: &str) -> String {
    let mut chars = text.chars();
    let mut short: String = chars.by_ref().take(MAX_DETAIL_CHARS).collect();
    if chars.next().is_some() {
        short.push('…');
    }
    short
}

/// Retry-After in seconds (the HTTP-date form is rare for APIs and treated as absent).
pub(crate) fn retry_after(headers: &header::HeaderMap) -> Option<Duration> {
    headers
        .get(header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|secs| secs.is_finite() && *secs >= 0.0)
        .map(Duration::from_secs_f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Created {
        project_uuid: String,
    }

    #[test]
    fn both_envelopes_and_extra_fields_parse() {
        let wrapped = br#"{"data": {"project_uuid": "a", "extra": 1}}"#;
        let root = br#"{"project_uuid": "a", "data": "not the envelope"}"#;
        for body in [&wrapped[..], &root[..]] {
            let created: Created = parse_payload(body, "test").unwrap();
            assert_eq!(created.project_uuid, "a");
        }
    }

    #[test]
    fn error_detail_prefers_error_message_then_detail_then_xml_then_text() {
        assert_eq!(
            describe_error_body(r#"{"error": {"message": "m"}, "detail": "d"}"#).1,
            "m"
        );
        assert_eq!(describe_error_body(r#"{"detail": "d"}"#).1, "d");
        let (code, detail) = describe_error_body(
            "<?xml version=\"1.0\"?><Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>",
        );
        assert_eq!(code.as_deref(), Some("AccessDenied"));
        assert_eq!(detail, "AccessDenied: Request has expired");
        assert_eq!(describe_error_body("plain words").1, "plain words");
    }
}
