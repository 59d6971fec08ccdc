//! What a menu action does to the supervisor: pause, resume and retry are journal writes
//! through the process's shared [`Controls`], which nudge its agent at once; the rest
//! name a folder or file to open, or ask the app to quit. Kept apart from the toolkit
//! so the mapping is tested without a display.

use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::control::Controls;
use crate::control::Surface;
use crate::journal::RetryScope;
use crate::ui::menu::MenuAction;

/// What the app does after an action ran.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Done; the next refresh shows the result.
    Done,
    /// Show this folder or file with the desktop's default application.
    Open(PathBuf),
    /// Open this address in the default browser.
    Browse(String),
    /// Tell the user something (About).
    Tell {
        summary: String,
        body: String,
    },
    Quit,
}

/// Runs `action` against the journal and config in force.
pub fn apply(
    action: MenuAction,
    config: &Config,
    config_path: &Path,
    controls: &Controls,
) -> anyhow::Result<Effect> {
    let control = || controls.for_config(config, Surface::Tray);
    let pair = |index: usize| {
        config
            .folders
            .get(index)
            .ok_or_else(|| anyhow::anyhow!("that folder pair is no longer in the settings"))
    };
    Ok(match action {
        MenuAction::Pause => {
            control()?.set_paused(true)?;
            Effect::Done
        }
        MenuAction::Resume => {
            control()?.set_paused(false)?;
            Effect::Done
        }
        MenuAction::ResumeAnyway => {
            control()?.resume_anyway()?;
            Effect::Done
        }
        MenuAction::RetryShoot(id) => {
            control()?.retry(RetryScope::Shoot(id))?;
            Effect::Done
        }
        MenuAction::SendAnyway(id) => {
            control()?.send_anyway(RetryScope::Shoot(id))?;
            Effect::Done
        }
        MenuAction::OpenInbox(index) => Effect::Open(pair(index)?.inbox.clone()),
        MenuAction::OpenOutbox(index) => Effect::Open(pair(index)?.outbox.clone()),
        MenuAction::OpenShoot(id) => Effect::Open(control()?.outbox_folder(id)?),
        MenuAction::LimitUpload(rate) => {
            let mut changed = config.clone();
            changed.network.upload_limit = match rate {
                0 => crate::config::BandwidthPlan::Off,
                rate => crate::config::BandwidthPlan::Rate(rate),
            };
            // The supervisor sees the file change and applies it without a restart.
            crate::files::atomic_file::write_text(config_path, &crate::config::render(&changed))?;
            Effect::Done
        }
        MenuAction::Settings => settings(config_path),
        MenuAction::OpenLog => Effect::Open(newest_log(&config.agent.data_dir.join("logs"))),
        MenuAction::About => Effect::Tell {
            summary: format!("imagen-sync {}", env!("CARGO_PKG_VERSION")),
            body: "Hot-folder agent for Imagen AI's Smart Editing: drop a shoot into the \
                   inbox, find the edited photos in the outbox."
                .into(),
        },
        MenuAction::Quit => Effect::Quit,
    })
}

/// The dashboard's Settings page (or, if no link can be made, the config file).
pub fn settings(config_path: &Path) -> Effect {
    match crate::dashboard::link::link(config_path, "settings") {
        Ok(link) => Effect::Browse(link),
        Err(error) => {
            tracing::warn!("cannot make the dashboard link ({error:#}); opening the config file");
            Effect::Open(config_path.to_owned())
        }
    }
}

/// The newest log file in `dir`, or the folder itself when there is none.
fn newest_log(dir: &Path) -> PathBuf {
    let newest = std::fs::read_dir(dir).ok().and_then(|entries| {
        entries
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .max_by_key(|e| e.metadata().and_then(|m| m.modified()).ok())
            .map(|e| e.path())
    });
    newest.unwrap_or_else(|| dir.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::BandwidthPlan;

    #[test]
    fn limit_upload_from_the_tray_writes_the_limit_into_the_settings_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let mut config = crate::config::default_config();
        config.agent.data_dir = dir.path().join("data");
        std::fs::write(&path, crate::config::render(&config)).unwrap();

        let effect = apply(
            MenuAction::LimitUpload(2_000_000),
            &config,
            &path,
            &Controls::default(),
        )
        .unwrap();
        assert_eq!(effect, Effect::Done);
        let written = Config::parse(
            &std::fs::read_to_string(&path).unwrap(),
            &path,
            &Default::default(),
        )
        .unwrap();
        assert_eq!(written.network.upload_limit, BandwidthPlan::Rate(2_000_000));
        assert_eq!(written.folders, config.folders, "nothing else changed");

        apply(
            MenuAction::LimitUpload(0),
            &written,
            &path,
            &Controls::default(),
        )
        .unwrap();
        let lifted = Config::parse(
            &std::fs::read_to_string(&path).unwrap(),
            &path,
            &Default::default(),
        )
        .unwrap();
        assert_eq!(lifted.network.upload_limit, BandwidthPlan::Off);
    }
}
