//! Setting up: `init` (the default config), `autostart` (start at login) and `open`
//! (the dashboard in the browser).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// `open`: the dashboard's `page` ("" for the shoots, or "settings") in the browser.
pub fn open_dashboard(config_path: &Path, page: &str) -> ExitCode {
    if !crate::dashboard::link::is_served(config_path) {
        eprintln!(
            "imagen-sync open: no agent is running, so the dashboard is not being served. \
             Start it with `imagen-sync` (or `imagen-sync run --headless`), then open it again."
        );
        return ExitCode::FAILURE;
    }
    let link = match crate::dashboard::link::link(config_path, page) {
        Ok(link) => link,
        Err(error) => {
            eprintln!("imagen-sync open: {error:#}");
            return ExitCode::FAILURE;
        }
    };
    // The link carries the access token: printed for the terminal's user only.
    println!("{link}");
    if let Err(error) = crate::platform::open::in_desktop(Path::new(&link)) {
        eprintln!("imagen-sync open: no browser could be started ({error}); open the link above.");
    }
    ExitCode::SUCCESS
}

/// `autostart enable|disable`: start at login (with `config` when one was named).
pub fn autostart(enable: bool, config: Option<&Path>) -> ExitCode {
    let outcome = match enable {
        true => std::env::current_exe()
            .map_err(anyhow::Error::from)
            .and_then(|binary| {
                let config = config.map(std::path::absolute).transpose()?;
                crate::platform::autostart::enable(&binary, config.as_deref())
            })
            .map(|place| println!("imagen-sync now starts when you log in ({place}).")),
        false => crate::platform::autostart::disable()
            .map(|()| println!("imagen-sync no longer starts when you log in.")),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("imagen-sync autostart: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// `init`: the commented default config at `path`, never over an existing file.
pub fn init(path: PathBuf) -> ExitCode {
    match crate::config::write_default(&path) {
        Ok(()) => {
            println!("Wrote {}", path.display());
            let key_file = crate::config::default_key_file();
            println!(
                "Next: put your API key in {}{} (or set {}), check the folders in the config, \
                 then `imagen-sync run`.",
                key_file.display(),
                crate::config::private_file_step(&key_file),
                crate::config::ENV_API_KEY
            );
            ExitCode::SUCCESS
        }
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
            eprintln!(
                "imagen-sync init: {} already exists; it was left as it is.",
                path.display()
            );
            ExitCode::from(2)
        }
        Err(error) => {
            eprintln!("imagen-sync init: cannot write {}: {error}", path.display());
            ExitCode::FAILURE
        }
    }
}
