//! Shows notifications with the platform's notification service (notify-rust). A
//! missing service (no daemon on a bare Linux session) is reported once in the log and
//! is never fatal: the tray and the log still say everything.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::ui::notices::{Notice, Opens};

static UNAVAILABLE_REPORTED: AtomicBool = AtomicBool::new(false);

/// Ties notifications to the app's bundle id (macOS shows them under its name).
pub(super) fn register_app() {
    #[cfg(target_os = "macos")]
    if let Err(error) = notify_rust::set_application("ai.imagen.sync") {
        tracing::debug!(%error, "cannot set the notification bundle id");
    }
}

/// Shows `notice`; blocks until the service took it (call it off the UI thread). A
/// dashboard page a click opens is reached through the config at `config_path`.
pub(super) fn show(notice: &Notice, config_path: &std::path::Path) {
    let mut notification = notify_rust::Notification::new();
    notification
        .appname("imagen-sync")
        .summary(&notice.summary)
        .body(&notice.body);
    #[cfg(windows)]
    notification.app_id("ai.imagen.sync");
    #[cfg(all(unix, not(target_os = "macos")))]
    {
        notification.icon("imagen-sync");
        match &notice.open {
            Some(Opens::Folder(_)) => {
                notification.action("default", "Open folder");
            }
            Some(Opens::Dashboard(_)) => {
                notification.action("default", "Open the dashboard");
            }
            None => {}
        }
    }
    let shown = notification.show();
    if let Err(error) = &shown {
        if !UNAVAILABLE_REPORTED.swap(true, Ordering::Relaxed) {
            tracing::warn!(%error, "desktop notifications are unavailable; the tray and log still report everything");
        }
        return;
    }
    tracing::debug!(summary = notice.summary, "notification shown");
    // Only the freedesktop daemons report clicks back.
    #[cfg(all(unix, not(target_os = "macos")))]
    if let (Ok(handle), Some(opens)) = (shown, notice.open.clone()) {
        let config_path = config_path.to_owned();
        // Waits for a click or the close; a thread per open notification is cheap.
        std::thread::spawn(move || {
            handle.wait_for_action(|action| {
                if action == "default" {
                    open(&opens, &config_path);
                }
            })
        });
    }
}

/// Opens what a clicked notification points at (a dashboard page through a fresh
/// one-time link, made at the click).
#[cfg(all(unix, not(target_os = "macos")))]
fn open(opens: &Opens, config_path: &std::path::Path) {
    let target = match opens {
        Opens::Folder(folder) => folder.clone(),
        Opens::Dashboard(page) => match crate::dashboard::link::link(config_path, page) {
            Ok(link) => std::path::PathBuf::from(link),
            Err(error) => {
                tracing::warn!("cannot open the dashboard: {error:#}");
                return;
            }
        },
    };
    if let Err(error) = crate::platform::open::in_desktop(&target) {
        tracing::warn!(%error, "cannot open what the notification points at");
    }
}
