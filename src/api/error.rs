//! The client's typed errors. Each keeps what the server said (`detail`) and never the
//! API key or a presigned query string.

use std::path::PathBuf;
use std::time::Duration;

use reqwest::StatusCode;

/// Everything a call to the I2I API or to presigned storage can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 401: the API key is missing or wrong. Retrying will not help.
    #[error("the API key was rejected (401): {detail}. Check IMAGEN_API_KEY or the key file")]
    Unauthorized { detail: String },

    /// 409 on create: the account already has a project with this name.
    #[error("a project with this name already exists (409): {detail}")]
    NameTaken { detail: String },

    /// 404: the project, file or endpoint does not exist.
    #[error("not found (404): {detail}")]
    NotFound { detail: String },

    /// 429: slow down; `retry_after` is the server's Retry-After when it sent one.
    #[error("rate limited (429){}: {detail}", retry_after.map(|d| format!(", retry after {}s", d.as_secs())).unwrap_or_default())]
    RateLimited {
        retry_after: Option<Duration>,
        detail: String,
    },

    /// A presigned link is past its expiry: ask the API for a fresh one.
    #[error("the presigned link has expired: {detail}")]
    LinkExpired { detail: String },

    /// Any other 4xx/5xx, from the API or from storage (S3 answers in XML; its code is kept).
    #[error("server answered {status}: {detail}")]
    Server { status: StatusCode, detail: String },

    /// The request never got a complete answer (refused, reset, timed out, cut short).
    /// `unreachable`: no connection could be made at all (refused, no route, no DNS).
    #[error("network error while {during}: {reason}")]
    Network {
        during: String,
        reason: String,
        unreachable: bool,
    },

    /// The server answered something that breaks the contract (bad JSON, wrong length...).
    #[error("unexpected answer while {during}: {reason}")]
    Protocol { during: String, reason: String },

    /// A local file could not be read or written.
    #[error("{}", crate::words::io_problem(path, during, source))]
    Io {
        path: PathBuf,
        during: String,
        #[source]
        source: std::io::Error,
    },

    /// The file changed size while it was being uploaded: it is still being written.
    #[error(
        "{path:?} changed while it was being uploaded (expected {expected} bytes, read {read})"
    )]
    FileChanged {
        path: PathBuf,
        expected: u64,
        read: u64,
    },
}

impl ApiError {
    /// What went wrong as a photographer reads it, with what to do where there is
    /// something: no status codes, server texts or system errors (the log keeps those).
    pub fn plain(&self) -> String {
        match self {
            ApiError::Unauthorized { .. } => {
                "Imagen rejected the API key: check it in Settings".into()
            }
            ApiError::NameTaken { .. } => {
                "Imagen already has a project with this shoot's name".into()
            }
            ApiError::NotFound { .. } => {
                "Imagen no longer has this shoot's project (was it deleted in Imagen?)".into()
            }
            ApiError::RateLimited { .. } => "Imagen asked to slow down for a moment".into(),
            ApiError::LinkExpired { .. } => "an upload link ran out before it was used".into(),
            ApiError::Server { status, .. } if status.is_server_error() => {
                "Imagen had a problem on its side".into()
            }
            ApiError::Server { .. } => "Imagen refused a request".into(),
            ApiError::Network {
                unreachable: true, ..
            } => crate::words::imagen_away(false).into(),
            ApiError::Network { reason, .. } if reason.starts_with(super::reach::CUT_REASON) => {
                crate::words::imagen_away(true).into()
            }
            ApiError::Network { .. } => "the connection to Imagen broke off".into(),
            ApiError::Protocol { .. } => "Imagen answered something unexpected".into(),
            ApiError::Io {
                path,
                during,
                source,
            } => crate::words::io_problem_plain(path, during, source),
            ApiError::FileChanged { path, .. } => format!(
                "{} changed while it was being uploaded; it goes up again once it is stable",
                path.file_name()
                    .map_or_else(String::new, |n| crate::words::printable(
                        &n.to_string_lossy()
                    )
                    .into_owned())
            ),
        }
    }

    /// Whether repeating the same idempotent request may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            ApiError::RateLimited { .. } | ApiError::Network { .. } => true,
            ApiError::Server { status, .. } => {
                status.is_server_error() || *status == StatusCode::REQUEST_TIMEOUT
            }
            _ => false,
        }
    }

    /// A malformed answer or an unexpected redirect: once is a glitch (a proxy, a load
    /// balancer mid-deploy), so the request is tried again like a 5xx; should it last,
    /// the shoot fails with it (unlike a transient error, waited out for ever).
    pub fn is_odd_answer(&self) -> bool {
        match self {
            ApiError::Protocol { .. } => true,
            ApiError::Server { status, .. } => status.is_redirection(),
            _ => false,
        }
    }

    /// Turns a reqwest failure into `Network`, stripping the URL (it may be presigned).
    pub(crate) fn network(during: &str, err: reqwest::Error) -> Self {
        let err = err.without_url();
        let unreachable = err.is_connect();
        let mut reason = err.to_string();
        let mut source = std::error::Error::source(&err);
        while let Some(inner) = source {
            reason.push_str(": ");
            reason.push_str(&inner.to_string());
            source = inner.source();
        }
        ApiError::Network {
            during: during.to_owned(),
            reason,
            unreachable,
        }
    }

    pub(crate) fn protocol(during: &str, reason: impl Into<String>) -> Self {
        ApiError::Protocol {
            during: during.to_owned(),
            reason: reason.into(),
        }
    }

    pub(crate) fn io(path: &std::path::Path, during: &str, source: std::io::Error) -> Self {
        ApiError::Io {
            path: path.to_owned(),
            during: during.to_owned(),
            source,
        }
    }
}
