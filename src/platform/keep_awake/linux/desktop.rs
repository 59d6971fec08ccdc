//! The desktop session's inhibitor for suspend, on the session bus: the XDG desktop
//! portal's `Inhibit` (GNOME, KDE and the others that ship a portal), let go by closing
//! the request it returns; where there is no portal, GNOME's session manager, let go
//! with `Uninhibit` and the cookie it returned. Either service also lets go by itself
//! when the agent's connection ends.

use std::collections::HashMap;

use zbus::zvariant::{OwnedObjectPath, Value};

/// The portal's and the session manager's flag for "suspending the session".
const SUSPEND: u32 = 4;

#[zbus::proxy(
    interface = "org.freedesktop.portal.Inhibit",
    default_service = "org.freedesktop.portal.Desktop",
    default_path = "/org/freedesktop/portal/desktop"
)]
trait Portal {
    fn inhibit(
        &self,
        window: &str,
        flags: u32,
        options: HashMap<&str, Value<'_>>,
    ) -> zbus::Result<OwnedObjectPath>;
}

#[zbus::proxy(
    interface = "org.freedesktop.portal.Request",
    default_service = "org.freedesktop.portal.Desktop"
)]
trait PortalRequest {
    fn close(&self) -> zbus::Result<()>;
}

#[zbus::proxy(
    interface = "org.gnome.SessionManager",
    default_service = "org.gnome.SessionManager",
    default_path = "/org/gnome/SessionManager"
)]
trait SessionManager {
    fn inhibit(
        &self,
        app_id: &str,
        toplevel_xid: u32,
        reason: &str,
        flags: u32,
    ) -> zbus::Result<u32>;
    fn uninhibit(&self, cookie: u32) -> zbus::Result<()>;
}

pub(super) struct Inhibitor {
    bus: zbus::Connection,
    lock: Lock,
}

enum Lock {
    Portal(OwnedObjectPath),
    SessionManager(u32),
}

impl Inhibitor {
    pub(super) async fn take(why: &str) -> zbus::Result<Inhibitor> {
        let bus = zbus::Connection::session().await?;
        let options = HashMap::from([("reason", Value::from(why))]);
        let portal = match PortalProxy::new(&bus)
            .await?
            .inhibit("", SUSPEND, options)
            .await
        {
            Ok(request) => {
                return Ok(Inhibitor {
                    bus,
                    lock: Lock::Portal(request),
                });
            }
            Err(error) => error,
        };
        let manager = SessionManagerProxy::new(&bus).await?;
        match manager.inhibit("imagen-sync", 0, why, SUSPEND).await {
            Ok(cookie) => Ok(Inhibitor {
                bus,
                lock: Lock::SessionManager(cookie),
            }),
            Err(error) => Err(zbus::Error::Failure(format!(
                "portal: {portal}; session manager: {error}"
            ))),
        }
    }

    pub(super) async fn release(self) {
        let released = match &self.lock {
            Lock::Portal(request) => match PortalRequestProxy::new(&self.bus, request).await {
                Ok(request) => request.close().await,
                Err(error) => Err(error),
            },
            Lock::SessionManager(cookie) => match SessionManagerProxy::new(&self.bus).await {
                Ok(manager) => manager.uninhibit(*cookie).await,
                Err(error) => Err(error),
            },
        };
        if let Err(error) = released {
            // The service drops the inhibitor with the connection, which goes with `self`.
            tracing::debug!("letting go of the desktop's inhibitor: {error}");
        }
    }

    pub(super) fn by(&self) -> &'static str {
        match self.lock {
            Lock::Portal(_) => "desktop portal",
            Lock::SessionManager(_) => "session manager",
        }
    }
}
