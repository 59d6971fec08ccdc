//! Linux: a `sleep:idle` block inhibitor from systemd-logind on the system bus (what
//! `systemd-inhibit` takes; desktops' automatic suspend and logind's own idle action
//! both respect it, the lid switch does not), held as the file descriptor logind hands
//! out and let go by closing it. `DBUS_SYSTEM_BUS_ADDRESS` chooses another bus.

use tokio::sync::watch;
use zbus::zvariant::OwnedFd;

#[zbus::proxy(
    interface = "org.freedesktop.login1.Manager",
    default_service = "org.freedesktop.login1",
    default_path = "/org/freedesktop/login1"
)]
trait LoginManager {
    fn inhibit(&self, what: &str, who: &str, why: &str, mode: &str) -> zbus::Result<OwnedFd>;
}

/// Holds the inhibitor while `wanted` says there is work, until its sender is gone.
pub(super) async fn follow(mut wanted: watch::Receiver<Option<String>>) {
    let mut connection: Option<zbus::Connection> = None;
    let mut held: Option<OwnedFd> = None;
    let mut said_unavailable = false;
    loop {
        let why = wanted.borrow_and_update().clone();
        match why {
            Some(why) if held.is_none() => match inhibit(&mut connection, &why).await {
                Ok(lock) => {
                    tracing::info!("keeping the machine awake: {why}");
                    held = Some(lock);
                }
                Err(error) => {
                    if !std::mem::replace(&mut said_unavailable, true) {
                        tracing::info!(
                            "the machine cannot be kept awake ({error}): if it sleeps on its \
                             own, the work goes on when it wakes"
                        );
                    }
                    connection = None;
                }
            },
            None if held.is_some() => {
                held = None;
                tracing::info!("the machine may sleep again: no work under way");
            }
            _ => {}
        }
        if wanted.changed().await.is_err() {
            return;
        }
    }
}

async fn inhibit(connection: &mut Option<zbus::Connection>, why: &str) -> zbus::Result<OwnedFd> {
    let bus = match connection {
        Some(bus) => bus.clone(),
        None => connection.insert(zbus::Connection::system().await?).clone(),
    };
    let manager = LoginManagerProxy::new(&bus).await?;
    manager
        .inhibit("sleep:idle", "imagen-sync", why, "block")
        .await
}
