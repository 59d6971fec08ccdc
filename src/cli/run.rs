//! Running: the agent headless or with its tray (and the very first run before it),
//! the demo, and the simulator.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::{ALREADY_RUNNING, INBOX_TAKEN, load_config};
use crate::agent::data_folder::LockError;
use crate::config::Config;
use crate::logs;
use crate::sim::{Sim, SimConfig};

/// The agent without a tray. With `check_first` (`run --headless`), a wrong config or a
/// missing key stops it before anything starts (exit 2); otherwise (`imagen-sync` in a
/// headless build) it waits for them to be fixed. Later edits are picked up live.
pub async fn run_headless(config_path: &Path, check_first: bool) -> ExitCode {
    let checked = if check_first {
        let config = match load_config(config_path) {
            Ok(config) => config,
            Err(code) => return code,
        };
        if let Err(error) = config.api_key() {
            eprintln!("imagen-sync: {error}");
            return ExitCode::from(2);
        }
        Some(config)
    } else {
        None
    };
    let data_dir = checked.as_ref().map_or_else(
        || data_dir_of(config_path),
        |config| config.agent.data_dir.clone(),
    );
    let held = match crate::app::take_data_folder(&data_dir) {
        Ok(held) => held,
        Err(error @ LockError::Taken { .. }) => {
            eprintln!("imagen-sync: {error}. Nothing was started.");
            return ExitCode::from(ALREADY_RUNNING);
        }
        Err(error) => {
            eprintln!("imagen-sync: {error}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(config) = &checked {
        let taken = crate::agent::inbox_claim::taken_by_others(config);
        if !config.folders.is_empty() && taken.len() == config.folders.len() {
            for taken in taken {
                eprintln!("imagen-sync: {taken}.");
            }
            eprintln!("imagen-sync: no hot folder is left for this agent; nothing was started.");
            return ExitCode::from(INBOX_TAKEN);
        }
    }
    let _logs = logs::init("info", Some(&data_dir.join("logs")));
    match crate::app::run_until_stopped(config_path.to_owned(), held).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error:#}");
            ExitCode::FAILURE
        }
    }
}

/// The data folder the config names, or the default one while the config is unusable.
pub(super) fn data_dir_of(config_path: &Path) -> PathBuf {
    Config::load(config_path)
        .map(|c| c.agent.data_dir)
        .unwrap_or_else(|_| crate::config::default_data_dir())
}

/// The agent with its tray icon and notifications. Problems with the config or key are
/// shown there (and in the log) while it waits for them to be fixed.
#[cfg(feature = "desktop")]
pub fn run_desktop(config_path: &Path, _runtime: &tokio::runtime::Runtime) -> ExitCode {
    start_desktop(config_path, false)
}

/// The desktop app; `welcome` (a first start) opens the dashboard's welcome page.
#[cfg(feature = "desktop")]
fn start_desktop(config_path: &Path, welcome: bool) -> ExitCode {
    let data_dir = data_dir_of(config_path);
    let held = match crate::app::take_data_folder(&data_dir) {
        Ok(held) => held,
        Err(LockError::Taken { holder, .. }) => return show_running_one(config_path, holder),
        Err(error) => {
            eprintln!("imagen-sync: {error}");
            return ExitCode::FAILURE;
        }
    };
    let _logs = logs::init("info", Some(&data_dir.join("logs")));
    match crate::desktop::run(config_path.to_owned(), held, welcome) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error:#}");
            ExitCode::FAILURE
        }
    }
}

/// The app was started again (the autostart entry, then a click on its icon): the
/// running one goes on, and its dashboard opens instead of a second agent starting.
#[cfg(feature = "desktop")]
fn show_running_one(
    config_path: &Path,
    holder: Option<crate::agent::data_folder::AgentInfo>,
) -> ExitCode {
    let who = holder.map_or_else(|| "pid unknown".to_owned(), |info| info.describe());
    println!("imagen-sync is already running ({who}); opening its dashboard.");
    let opened = crate::dashboard::link::is_served(config_path)
        .then(|| crate::dashboard::link::link(config_path, "").ok())
        .flatten()
        .is_some_and(|link| crate::platform::open::in_desktop(Path::new(&link)).is_ok());
    if !opened {
        println!("Its dashboard cannot be opened; use its tray icon.");
    }
    ExitCode::SUCCESS
}

#[cfg(not(feature = "desktop"))]
pub fn run_desktop(config_path: &Path, runtime: &tokio::runtime::Runtime) -> ExitCode {
    runtime.block_on(run_headless(config_path, false))
}

/// `imagen-sync` alone: on the first run, writes the default config, makes the folders
/// and an empty private key file, and says how to add the key; then runs with the tray.
pub fn first_run_then_desktop(config_path: &Path, runtime: &tokio::runtime::Runtime) -> ExitCode {
    let first_start = !config_path.exists();
    if first_start {
        match crate::config::first_run_setup(config_path) {
            Ok(setup) => {
                println!(
                    "Welcome to imagen-sync. Settings: {}",
                    config_path.display()
                );
                for folder in &setup.folders {
                    println!("  made {}", folder.display());
                }
                println!(
                    "To start, add your Imagen API key on the welcome page that opens in \
                     your browser (or paste it into {}, which only you can read).",
                    setup.key_file.display()
                );
            }
            Err(error) => {
                eprintln!("imagen-sync: cannot write the first settings: {error}");
                return ExitCode::FAILURE;
            }
        }
    }
    #[cfg(feature = "desktop")]
    {
        let _ = runtime;
        start_desktop(config_path, first_start)
    }
    #[cfg(not(feature = "desktop"))]
    run_desktop(config_path, runtime)
}
pub async fn demo(dir: &Path, once: bool) -> ExitCode {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        crate::app::termination_signal().await;
        let _ = stop.send(true);
    });
    match crate::cli::demo::run(dir, once, stopped).await {
        Ok(outbox) => {
            println!("\nEdited photos are in {}", outbox.display());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("imagen-sync demo: {error:#}");
            ExitCode::FAILURE
        }
    }
}
pub async fn serve_sim(config: SimConfig, port: u16) -> ExitCode {
    let sim = match Sim::start(config, port).await {
        Ok(sim) => sim,
        Err(error) => {
            eprintln!(
                "imagen-sync sim: cannot listen on 127.0.0.1:{port}: {error}. Pick another --port, or 0 for any free one."
            );
            return ExitCode::FAILURE;
        }
    };
    println!("Imagen I2I simulator listening on {}", sim.base_url());
    crate::app::termination_signal().await;
    let counters = sim.counters();
    eprintln!(
        "simulator stopping: {} projects created, {} edits started, {} uploads",
        counters.projects_created,
        counters.edits_started,
        counters.total_uploads()
    );
    ExitCode::SUCCESS
}
