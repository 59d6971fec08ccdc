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
    crate::files::atomic_file::write_text(&address_file(data_dir), &addr.to_string())
}

/// Whether `file` still names `addr` (no newer dashboard wrote over it).
pub(super) fn address_file_holds(file: &Path, addr: SocketAddr) -> bool {
    std::fs::read_to_string(file).is_ok_and(|text| text.trim() == addr.to_string())
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
    served_address(&config.agent.data_dir).is_some()
}

/// Where the dashboard of the agent on `data_dir` answers now (on this machine).
pub fn served_address(data_dir: &Path) -> Option<SocketAddr> {
    let addr = recorded_address(data_dir)?;
    let target = match addr.ip().is_unspecified() {
        true => SocketAddr::from(([127, 0, 0, 1], addr.port())),
        false => addr,
    };
    std::net::TcpStream::connect_timeout(&target, std::time::Duration::from_secs(2))
        .is_ok()
        .then_some(target)
}

/// How long a link's one-time code may be used.
pub const CODE_LIFETIME: std::time::Duration = std::time::Duration::from_secs(60);

/// The link that opens the dashboard (the running one's address when it is known),
/// with a one-time code: it works once, within [`CODE_LIFETIME`], so the link a
/// browser is started with (and any other process may read on its command line) is
/// worthless soon after. The access token itself never leaves this machine's files.
/// `page` is "" or "settings".
pub fn link(config_path: &Path, page: &str) -> anyhow::Result<String> {
    let config = Config::load(config_path).unwrap_or_else(|_| crate::config::default_config());
    let token = access_token(config_path)?;
    let running = recorded_address(&config.agent.data_dir);
    let port = running.map_or(config.dashboard.port, |addr| addr.port());
    let expires = unix_now() + CODE_LIFETIME.as_secs();
    let nonce = hex::encode(rand::random::<[u8; 16]>());
    let code = format!("{nonce}.{expires}.{}", code_mac(&token, &nonce, expires));
    Ok(format!("http://127.0.0.1:{port}/{page}?code={code}"))
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The proof that a one-time code was made by someone who can read the token.
pub fn code_mac(token: &str, nonce: &str, expires: u64) -> String {
    use hmac::Mac;
    let mut mac =
        hmac::Hmac::<sha2::Sha256>::new_from_slice(token.as_bytes()).expect("any key length");
    mac.update(format!("open-code:{nonce}.{expires}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Where the access token lives: next to the config, readable only by the user.
pub fn token_path(config_path: &Path) -> PathBuf {
    config_path
        .parent()
        .unwrap_or(Path::new("."))
        .join("dashboard-token")
}

/// Reads the install's token, making one on first use. A token file other users may
/// read (or that another user owns) protects nothing: it is refused with what to do.
pub fn access_token(config_path: &Path) -> anyhow::Result<String> {
    let path = token_path(config_path);
    if let Ok(metadata) = std::fs::symlink_metadata(&path) {
        refuse_unless_private(&path, &metadata)?;
    }
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
    crate::files::atomic_file::write_text(&path, &token)?;
    Ok(token)
}

#[cfg(unix)]
fn refuse_unless_private(path: &Path, metadata: &std::fs::Metadata) -> anyhow::Result<()> {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    let shown = path.display();
    if !metadata.is_file() {
        anyhow::bail!(
            "the dashboard's token file {shown} is not a plain file; remove it (a new one is \
             made at the next start)"
        );
    }
    if metadata.uid() != me {
        anyhow::bail!(
            "the dashboard's token file {shown} belongs to another user, so it cannot protect \
             your dashboard; remove it (rm {shown}) and start imagen-sync again: a new private \
             one is made"
        );
    }
    if metadata.mode() & 0o077 != 0 {
        anyhow::bail!(
            "the dashboard's token file {shown} may be read by other users of this machine, so \
             it no longer protects your dashboard; remove it (rm {shown}) and start imagen-sync \
             again: a new one only you can read is made"
        );
    }
    Ok(())
}

#[cfg(not(unix))]
fn refuse_unless_private(_path: &Path, _metadata: &std::fs::Metadata) -> anyhow::Result<()> {
    Ok(())
}
