//! Who may use the dashboard. Every request must name this machine in its Host header
//! (a DNS-rebinding page cannot), and carry the install's access token: once in the
//! link the tray or `imagen-sync open` opens, then as a session cookie derived from it.
//! Requests that change something also carry a CSRF token derived from it. Opened
//! beyond this machine, a password (HTTP Basic) is asked as well.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::AppState;

const COOKIE: &str = "imagen_sync_session";

/// The install's access token and what is derived from it.
pub struct Secret {
    token: String,
}

impl Secret {
    pub fn new(token: String) -> Secret {
        Secret { token }
    }

    fn derive(&self, purpose: &str) -> String {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(self.token.as_bytes()).expect("any key length");
        mac.update(purpose.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// The cookie value: proves the token was given, without being the token.
    pub fn session(&self) -> String {
        self.derive("session")
    }

    /// Put in every form; checked on every change.
    pub fn csrf(&self) -> String {
        self.derive("csrf")
    }

    fn is_token(&self, given: &str) -> bool {
        constant_time_eq(given.as_bytes(), self.token.as_bytes())
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Checks every request: Host, password (when open to the network), token or session.
pub async fn check(State(state): State<AppState>, request: Request, next: Next) -> Response {
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
    let given_token = request.uri().query().and_then(|query| {
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(name, _)| name == "token")
            .map(|(_, value)| value.into_owned())
    });
    if let Some(token) = given_token {
        if !state.secret.is_token(&token) {
            return refuse(StatusCode::UNAUTHORIZED, NO_ACCESS);
        }
        // Trade the token for a cookie, and take it out of the address bar.
        let path = request.uri().path().to_owned();
        let mut response = Redirect::to(&path).into_response();
        let cookie = format!(
            "{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict",
            state.secret.session()
        );
        response.headers_mut().insert(
            header::SET_COOKIE,
            cookie.parse().expect("a valid header value"),
        );
        return response;
    }
    if !has_session(headers, &state.secret.session()) {
        return refuse(StatusCode::UNAUTHORIZED, NO_ACCESS);
    }
    next.run(request).await
}

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

fn has_session(headers: &HeaderMap, session: &str) -> bool {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .any(|(name, value)| {
            name == COOKIE && constant_time_eq(value.as_bytes(), session.as_bytes())
        })
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
pub fn csrf_ok(state: &AppState, given: Option<&String>) -> bool {
    given.is_some_and(|given| constant_time_eq(given.as_bytes(), state.secret.csrf().as_bytes()))
}
