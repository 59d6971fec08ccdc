//! The command line's subcommands, each a function of plain arguments (`main.rs` only
//! parses the arguments and picks one). Exit codes: 0 done, 1 failed, 2 nothing
//! started (bad config or usage), 3 nothing started (another agent already works on
//! the data folder).

pub mod demo;
mod run;
mod setup;
mod shoots;
mod status;

use std::path::Path;
use std::process::ExitCode;

use crate::config::Config;

/// The exit code of a `run` that found another agent on its data folder.
pub const ALREADY_RUNNING: u8 = 3;
/// The exit code of a `run` whose every hot folder another agent serves (outside a
/// studio): the same "another agent has it" as [`ALREADY_RUNNING`].
pub const INBOX_TAKEN: u8 = ALREADY_RUNNING;

pub use run::{demo, first_run_then_desktop, run_desktop, run_headless, serve_sim};
pub use setup::{autostart, init, open_dashboard};
pub use shoots::{pause, restore_journal, resume, retry};
pub use status::status;

type CommandResult = Result<(), Box<dyn std::error::Error>>;
/// Writes to stdout; a reader that went away (`status | head -1`) ends it quietly.
pub fn print_out(text: &str) -> CommandResult {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => Err(error.into()),
        _ => Ok(()),
    }
}
/// Loads the config, or explains what is wrong with it (exit code 2: nothing started).
pub fn load_config(path: &Path) -> Result<Config, ExitCode> {
    if !path.exists() {
        eprintln!(
            "imagen-sync: no config at {}. Run `imagen-sync init` to write one, or pass --config FILE.",
            path.display()
        );
        return Err(ExitCode::from(2));
    }
    Config::load(path).map_err(|error| {
        eprintln!("imagen-sync: invalid config: {error}");
        ExitCode::from(2)
    })
}
/// Runs `action` on the data folder the config names, whatever state the config is in
/// (a broken one is said, not fatal: these commands are what a user reaches for when
/// something is wrong).
pub fn with_data_dir(
    config_path: &Path,
    action: impl FnOnce(&Path, &crate::journal::Location) -> CommandResult,
) -> ExitCode {
    let (data_dir, note) = crate::config::data_dir_for_commands(config_path);
    // A studio's journal is named by the config; a broken config falls back to the
    // data folder's own journal.
    let location = Config::load(config_path)
        .map(|config| crate::journal::Location::of(&config))
        .unwrap_or_else(|_| crate::journal::Location::DataFolder(data_dir.clone()));
    if let Some(note) = note {
        eprintln!(
            "imagen-sync: note: {note}; using the journal in {}",
            data_dir.display()
        );
    }
    match action(&data_dir, &location) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("imagen-sync: {error}");
            ExitCode::FAILURE
        }
    }
}
