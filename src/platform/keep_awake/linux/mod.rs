//! Linux: with a desktop session, the inhibitor the desktop honours for its automatic
//! suspend (the XDG desktop portal's, else GNOME's session manager's, on the session
//! bus); headless, logind's `idle` block inhibitor on the system bus (what logind's own
//! `IdleAction` respects). None of them stops a suspend the user asks for or the lid
//! switch. `DBUS_SESSION_BUS_ADDRESS` and `DBUS_SYSTEM_BUS_ADDRESS` choose other buses.

mod desktop;
mod logind;

/// One inhibitor taken.
pub(super) struct Held(Taken);

/// Which service gave it.
enum Taken {
    Desktop(desktop::Inhibitor),
    Logind(logind::Inhibitor),
}

impl Held {
    pub(super) const THREAD_BOUND: bool = false;

    pub(super) async fn take(why: &str) -> Result<Held, String> {
        let desktop = match desktop::Inhibitor::take(why).await {
            Ok(held) => return Ok(Held(Taken::Desktop(held))),
            Err(error) => error,
        };
        match logind::Inhibitor::take(why).await {
            Ok(held) => Ok(Held(Taken::Logind(held))),
            Err(error) => Err(format!("no desktop session ({desktop}); logind: {error}")),
        }
    }

    pub(super) async fn release(self) {
        match self.0 {
            Taken::Desktop(held) => held.release().await,
            Taken::Logind(held) => held.release(),
        }
    }

    pub(super) fn by(&self) -> &'static str {
        match &self.0 {
            Taken::Desktop(held) => held.by(),
            Taken::Logind(_) => "logind",
        }
    }
}
