//! Who may use the dashboard. Every request must name this machine in its Host header
//! (a DNS-rebinding page cannot), and carry a session: the link the tray or
//! `imagen-sync open` opens holds a one-time code (made with the install's access
//! token, good once and for a minute, see [`crate::dashboard::link::link`]), traded here
//! for a fresh session cookie that expires. Requests that change something also carry
//! a CSRF token derived from the access token. Opened beyond this machine, a password
//! (HTTP Basic) is asked as well.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::AppState;

const COOKIE: &str = "imagen_sync_session";
/// How long a session lasts after the code that opened it.
const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 3600);
/// Sessions kept at most; opening the dashboard again past this ends the oldest.
const MAX_SESSIONS: usize = 32;

/// The install's access token, what is derived from it, the sessions it opened and the
/// codes already used.
pub(super) struct Secret {
    token: String,
    sessions: Mutex<HashMap<String, Instant>>,
    /// Codes traded already (by nonce), with when they expire: each works once.
    used: Mutex<HashMap<String, u64>>,
}

impl Secret {
    pub(super) fn new(token: String) -> Secret {
        Secret {
            token,
            sessions: Mutex::default(),
            used: Mutex::default(),
        }
    }

    fn derive(&self, purpose: &str) -> String {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(self.token.as_bytes()).expect("any key length");
        mac.update(purpose.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// Trades a one-time code for a new session; `None` when the code is forged,
    /// expired or used already.
    fn open_session(&self, code: &str) -> Option<String> {
        let mut parts = code.splitn(3, '.');
        let (nonce, expires, mac) = (parts.next()?, parts.next()?, parts.next()?);
        let expires: u64 = expires.parse().ok()?;
        let expected = crate::dashboard::link::code_mac(&self.token, nonce, expires);
        let now = crate::dashboard::link::unix_now();
        let lifetime = crate::dashboard::link::CODE_LIFETIME.as_secs();
        if !constant_time_eq(mac.as_bytes(), expected.as_bytes())
            || expires < now
            || expires > now + lifetime
        {
            return None;
        }
        let mut used = self.used.lock().unwrap_or_else(|p| p.into_inner());
        used.retain(|_, until| *until >= now);
        if used.insert(nonce.to_owned(), expires).is_some() {
            return None;
        }
        let session = hex::encode(rand::random::<[u8; 32]>());
        let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        sessions.retain(|_, until| *until > Instant::now());
        if sessions.len() >= MAX_SESSIONS
            && let Some(oldest) = sessions
                .iter()
                .min_by_key(|(_, until)| **until)
                .map(|(s, _)| s.clone())
        {
            sessions.remove(&oldest);
        }
        sessions.insert(session.clone(), Instant::now() + SESSION_LIFETIME);
        Some(session)
    }

    /// Whether `given` is a session this dashboard opened and that has not expired.
    fn is_session(&self, given: &str) -> bool {
        let sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        sessions.iter().any(|(session, until)| {
            constant_time_eq(given.as_bytes(), session.as_bytes()) && *until > Instant::now()
        })
    }

    /// Put in every form; checked on every change.
    pub(super) fn csrf(&self) -> String {
        self.derive("csrf")
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Checks every request: Host, password (when open to the network), token or session.
pub(super) async fn check(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    if !host_allowed(headers, &state) {
        return refuse(
            StatusCode::FORBIDDEN,
            "This address is not the imagen-sync dashboard's. Open it from the tray (Settings…) or with `imagen-sync open`.",
        );
    }
    if let Some(password) = &state.password
        && !basic_auth_matches(headers, password)
    {
        return Response::builder()
            .status(StatusCode::UNAUTHORIZED)
            .header(header::WWW_AUTHENTICATE, "Basic realm=\"imagen-sync\"")
            .body("The dashboard password is needed.".into())
            .expect("a valid response");
    }
    // The style and script hold nothing private; refusal pages use them too.
    if request.uri().path().starts_with("/static/") {
        return next.run(request).await;
    }
    let given_code = request.uri().query().and_then(|query| {
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(name, _)| name == "code")
            .map(|(_, value)| value.into_owned())
    });
    if let Some(code) = given_code {
        let target = own_path(request.uri().path());
        let Some(session) = state.secret.open_session(&code) else {
            // An old link opened again in a browser signed in already: just go there.
            if has_session(headers, &state.secret) {
                return Redirect::to(target).into_response();
            }
            return refuse(StatusCode::UNAUTHORIZED, USED_LINK);
        };
        // Trade the code for a cookie, and take it out of the address bar.
        let mut response = Redirect::to(target).into_response();
        let cookie = format!("{COOKIE}={session}; Path=/; HttpOnly; SameSite=Strict");
        response.headers_mut().insert(
            header::SET_COOKIE,
            cookie.parse().expect("a valid header value"),
        );
        return response;
    }
    if !has_session(headers, &state.secret) {
        return refuse(StatusCode::UNAUTHORIZED, NO_ACCESS);
    }
    next.run(request).await
}

/// Where a trade may send the browser: one of the dashboard's own paths, never
/// `//elsewhere/` (which a browser reads as another site) or a backslash trick.
fn own_path(path: &str) -> &str {
    let foreign = !path.starts_with('/')
        || path.starts_with("//")
        || path.contains('\\')
        || path.chars().any(char::is_control);
    if foreign { "/" } else { path }
}

const USED_LINK: &str = "This dashboard link was used already or is more than a minute old. Open the dashboard again from the tray (Settings…) or by running imagen-sync open in a terminal.";
const NO_ACCESS: &str = "This dashboard needs its access link. Open it from the tray (Settings…) or run `imagen-sync open`.";

fn refuse(status: StatusCode, message: &str) -> Response {
    let body = super::pages::message_page("imagen-sync", message);
    (status, body).into_response()
}

fn host_allowed(headers: &HeaderMap, state: &AppState) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let port = state.port;
    if [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
    ]
    .iter()
    .any(|allowed| allowed.eq_ignore_ascii_case(host))
    {
        return true;
    }
    // Opened to the network: any IP address literal of ours, never a name.
    state.password.is_some()
        && host.rsplit_once(':').is_some_and(|(ip, p)| {
            p == port.to_string()
                && ip
                    .trim_matches(['[', ']'])
                    .parse::<std::net::IpAddr>()
                    .is_ok()
        })
}

fn has_session(headers: &HeaderMap, secret: &Secret) -> bool {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .any(|(name, value)| name == COOKIE && secret.is_session(value))
}

fn basic_auth_matches(headers: &HeaderMap, password: &str) -> bool {
    use base64::Engine;
    let Some(encoded) = headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Basic "))
    else {
        return false;
    };
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
        return false;
    };
    let decoded = String::from_utf8_lossy(&decoded);
    let given = decoded.split_once(':').map_or("", |(_, p)| p);
    constant_time_eq(given.as_bytes(), password.as_bytes())
}

/// Whether a submitted form carries this install's CSRF token.
pub(super) fn csrf_ok(state: &AppState, given: Option<&String>) -> bool {
    given.is_some_and(|given| constant_time_eq(given.as_bytes(), state.secret.csrf().as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code_for(token: &str, expires: u64) -> String {
        let nonce = hex::encode(rand::random::<[u8; 16]>());
        format!(
            "{nonce}.{expires}.{}",
            crate::dashboard::link::code_mac(token, &nonce, expires)
        )
    }

    #[test]
    fn a_code_opens_one_session_once_and_a_forged_or_old_one_none() {
        let secret = Secret::new("t".repeat(64));
        let now = crate::dashboard::link::unix_now();
        let code = code_for(&"t".repeat(64), now + 30);
        let session = secret.open_session(&code).expect("a fresh code works");
        assert!(secret.is_session(&session));
        assert!(secret.open_session(&code).is_none(), "a code works once");
        assert!(
            secret
                .open_session(&code_for(&"u".repeat(64), now + 30))
                .is_none()
        );
        assert!(
            secret
                .open_session(&code_for(&"t".repeat(64), now - 1))
                .is_none()
        );
        assert!(
            secret
                .open_session(&code_for(&"t".repeat(64), now + 3600))
                .is_none()
        );
        let second = secret
            .open_session(&code_for(&"t".repeat(64), now + 30))
            .unwrap();
        assert_ne!(session, second, "each trade opens a new session");
        assert!(
            !secret.is_session(&"t".repeat(64)),
            "the token is no session"
        );
    }

    #[test]
    fn a_trade_redirects_only_to_the_dashboards_own_paths() {
        assert_eq!(own_path("/settings"), "/settings");
        assert_eq!(own_path("//evil.com/"), "/");
        assert_eq!(own_path("/\\evil.com"), "/");
    }
}
