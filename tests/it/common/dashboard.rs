//! The agent's dashboard reached as a user does: started with the agent, entered through
//! the link `imagen-sync open` prints, then a signed-in HTTP session.

use std::time::Duration;

use super::agent::{Harness, wait_for};

const LONG: Duration = Duration::from_secs(60);

/// Starts the agent and waits for its dashboard; returns the address and the link
/// `imagen-sync open` gives.
pub(crate) async fn start_with_dashboard(agent: &mut Harness) -> (String, String) {
    start_with_dashboard_by(agent, Harness::start).await
}

/// [`start_with_dashboard`], the agent started by `start`.
pub(crate) async fn start_with_dashboard_by(
    agent: &mut Harness,
    start: fn(&mut Harness),
) -> (String, String) {
    let address_file = agent.dir.path().join("data/dashboard.addr");
    // A restart: the last run's address is not this one's.
    let _ = std::fs::remove_file(&address_file);
    start(agent);
    wait_for(agent, "the dashboard listening", LONG, || {
        address_file.exists()
    })
    .await;
    let address = std::fs::read_to_string(&address_file)
        .unwrap()
        .trim()
        .to_owned();
    let link = open_link(agent);
    let port = address.rsplit(':').next().unwrap();
    assert!(
        link.starts_with(&format!("http://127.0.0.1:{port}/?code=")),
        "{link}"
    );
    (address, link)
}

/// A fresh one-time link to the running agent's dashboard, as `imagen-sync open` prints.
pub(crate) fn open_link(agent: &Harness) -> String {
    let output = agent
        .command(&["open"])
        .env("BROWSER", "true")
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find(|l| l.starts_with("http://"))
        .unwrap_or_else(|| panic!("open printed no link: {output:?}"))
        .to_owned()
}

/// A signed-in HTTP session on the dashboard: the client, its address, the session
/// cookie and the Settings form's CSRF token.
pub(crate) async fn signed_in(
    address: &str,
    link: &str,
) -> (reqwest::Client, String, String, String) {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let entered = http.get(link).send().await.unwrap();
    let cookie = entered.headers()["set-cookie"].to_str().unwrap();
    let session = cookie.split(';').next().unwrap().to_owned();
    let base = format!("http://{address}");
    let html = settings_page(&http, &base, &session).await;
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    (http, base, session, csrf)
}

pub(crate) async fn settings_page(http: &reqwest::Client, base: &str, session: &str) -> String {
    page(http, base, session, "/settings").await
}

/// The text of the dashboard's page at `path`, signed in.
pub(crate) async fn page(http: &reqwest::Client, base: &str, session: &str, path: &str) -> String {
    http.get(format!("{base}{path}"))
        .header("cookie", session)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}
