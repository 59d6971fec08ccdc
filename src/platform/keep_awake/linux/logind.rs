//! systemd-logind's `idle` block inhibitor on the system bus (what `systemd-inhibit
//! --what=idle` takes), held as the file descriptor logind hands out and let go by
//! closing it.

use zbus::zvariant::OwnedFd;

#[zbus::proxy(
    interface = "org.freedesktop.login1.Manager",
    default_service = "org.freedesktop.login1",
    default_path = "/org/freedesktop/login1"
)]
trait LoginManager {
    fn inhibit(&self, what: &str, who: &str, why: &str, mode: &str) -> zbus::Result<OwnedFd>;
}

pub(super) struct Inhibitor {
    _lock: OwnedFd,
}

impl Inhibitor {
    pub(super) async fn take(why: &str) -> zbus::Result<Inhibitor> {
        let bus = zbus::Connection::system().await?;
        let manager = LoginManagerProxy::new(&bus).await?;
        let lock = manager.inhibit("idle", "imagen-sync", why, "block").await?;
        Ok(Inhibitor { _lock: lock })
    }

    pub(super) fn release(self) {}
}
