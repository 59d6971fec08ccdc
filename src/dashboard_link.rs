//! Where the dashboard is, for those who open it rather than serve it (the CLI's
//! `open`, the tray's Settings): the address the running dashboard wrote down, whether
//! it answers, the install's access token, and the link made of them. The dashboard
//! records its address and reads the token through here too, so no front-end depends
//! on another.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crate::config::Config;

/// The file holding the running dashboard's address.
pub fn address_file(data_dir: &Path) -> PathBuf {
    data_dir.join("dashboard.addr")
}

/// Writes down where the dashboard now listens, for `open` and the tray.
pub fn record_address(data_dir: &Path, addr: SocketAddr) -> std::io::Result<()> {
    std::fs::create_dir_all(data_dir)?;
    crate::atomic_file::write_text(&address_file(data_dir), &addr.to_string())
}

/// The address the last dashboard started on this data folder wrote down.
fn recorded_address(data_dir: &Path) -> Option<SocketAddr> {
    std::fs::read_to_string(address_file(data_dir))
        .ok()
        .and_then(|text| text.trim().parse().ok())
}

/// Whether a dashboard is being served for this config now: its address file is there
/// and something answers on it (a file left by a killed agent answers nothing).
pub fn is_served(config_path: &Path) -> bool {
    let config = Config::load(config_path).unwrap_or_else(|_| crate::config::default_config());
    let Some(addr) = recorded_address(&config.agent.data_dir) else {
        return false;
    };
    let target = match addr.ip().is_unspecified() {
        true => SocketAddr::from(([127, 0, 0, 1], addr.port())),
        false => addr,
    };
    std::net::TcpStream::connect_timeout(&target, std::time::Duration::from_secs(2)).is_ok()
}

/// The link that opens the dashboard (the running one's address when it is known),
/// with the access token. `page` is "" or "settings".
pub fn link(config_path: &Path, page: &str) -> anyhow::Result<String> {
    let config = Config::load(config_path).unwrap_or_else(|_| crate::config::default_config());
    let token = access_token(config_path)?;
    let running = recorded_address(&config.agent.data_dir);
    let port = running.map_or(config.dashboard.port, |addr| addr.port());
    Ok(format!("http://127.0.0.1:{port}/{page}?token={token}"))
}

/// Where the access token lives: next to the config, readable only by the user.
pub fn token_path(config_path: &Path) -> PathBuf {
    config_path
        .parent()
        .unwrap_or(Path::new("."))
        .join("dashboard-token")
}

/// Reads the install's token, making one on first use.
pub fn access_token(config_path: &Path) -> std::io::Result<String> {
    let path = token_path(config_path);
    if let Ok(token) = std::fs::read_to_string(&path)
        && token.trim().len() >= 32
    {
        return Ok(token.trim().to_owned());
    }
    let token = hex::encode(rand::random::<[u8; 32]>());
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    // write_text's temp file is created user-only, and keeps that mode when renamed.
    crate::atomic_file::write_text(&path, &token)?;
    Ok(token)
}
