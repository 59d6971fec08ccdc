//! `retry`, `pause`, `resume` and `journal restore`: acting on the shoots in the
//! journal of the data folder the config names, whatever state the config is in.

use std::path::Path;
use std::process::ExitCode;

use super::{CommandResult, print_out, with_data_dir};
use crate::control::Control;
use crate::control::Surface;
use crate::journal::{self, RetryScope};

/// `retry [NAME | --all] [--allow-over-limit]`.
pub fn retry(
    config_path: &Path,
    shoot: Option<&str>,
    all: bool,
    allow_over_limit: bool,
) -> ExitCode {
    with_data_dir(config_path, |_, location| {
        let control = Control::open(location, Surface::Cli)?;
        retry_on(&control, shoot, all, allow_over_limit)
    })
}

/// `pause`.
pub fn pause(config_path: &Path) -> ExitCode {
    with_data_dir(config_path, |_, location| {
        Control::open(location, Surface::Cli)?.set_paused(true)?;
        print_out("Paused: no new shoot or upload starts (in-flight requests finish).\n")
    })
}

/// `journal restore`: a damaged journal kept aside, its safety copy (or an empty
/// journal) in its place, paused. Refused while an agent runs on the data folder, and
/// for a studio (its journal is PostgreSQL's to back up).
pub fn restore_journal(config_path: &Path) -> ExitCode {
    with_data_dir(config_path, |data_dir, location| {
        if let journal::Location::Shared(_) = location {
            return Err("a studio's journal is in PostgreSQL: restore it from the \
                        database's own backups (pg_dump / point-in-time recovery)"
                .into());
        }
        let _lock = crate::agent::data_folder::RunningLock::acquire(data_dir)?;
        let restored = journal::restore(data_dir)?;
        print_out(&restored.describe())
    })
}

/// `resume`, and with `anyway` past a metered network or battery too.
pub fn resume(config_path: &Path, anyway: bool) -> ExitCode {
    with_data_dir(config_path, |_, location| {
        let control = Control::open(location, Surface::Cli)?;
        control.set_paused(false)?;
        if !anyway {
            return print_out("Resumed.\n");
        }
        control.resume_anyway()?;
        print_out(
            "Resumed. Uploads waiting for an unmetered network or mains power go on until \
             the network or power changes.\n",
        )
    })
}

/// `retry`: failed shoots (or, with `allow_over_limit`, held ones) go on. A shoot that
/// is unknown or not in that state is named, and the command fails.
fn retry_on(
    control: &Control,
    shoot: Option<&str>,
    all: bool,
    allow_over_limit: bool,
) -> CommandResult {
    let scope = match (shoot, all) {
        (Some(folder), _) => RetryScope::Folder(folder),
        (None, true) => RetryScope::All,
        (None, false) => {
            return Err(
                "name the shoot folder to retry (as `imagen-sync status` shows it), \
                        or pass --all"
                    .into(),
            );
        }
    };
    let sent = match allow_over_limit {
        true => control.send_anyway(scope)?,
        false => control.retry(scope)?,
    };
    print_out(&format!("{}\n", sent.describe()))
}
