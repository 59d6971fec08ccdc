//! The `imagen-sync` command line: parses arguments and hands each subcommand to the
//! library. Exit codes: 0 done, 1 failed, 2 nothing started (bad config or usage).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use imagen_sync::config::Config;
use imagen_sync::control::Control;
use imagen_sync::dashboard::DashboardContext;
use imagen_sync::engine;
use imagen_sync::events::Events;
use imagen_sync::journal::{self, JournalView, RetryScope};
use imagen_sync::logs;
use imagen_sync::sim::{Envelope, Faults, Hostile, Sim, SimConfig, Timings};

#[derive(Parser)]
#[command(
    name = "imagen-sync",
    version,
    about = "Hot-folder agent for Imagen AI's Smart Editing (I2I) API"
)]
struct Cli {
    /// Config file (default: the platform config dir). Not used by `demo` and `sim`.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Without one: start the agent with its tray icon; on the very first run, write
    /// the default settings and folders first.
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Watch the inboxes and process shoots (with a tray icon on a desktop).
    Run {
        /// No tray icon or notifications (servers, NAS, service managers).
        #[arg(long)]
        headless: bool,
    },
    /// Try it with no setup: an embedded simulator, a sample shoot, a live outbox.
    /// Each run clears the demo's outbox and journal and starts fresh.
    Demo {
        /// Where to make inbox/ and outbox/.
        #[arg(long, default_value = "imagen-demo")]
        dir: PathBuf,
        /// Exit once everything in the inbox is done.
        #[arg(long)]
        once: bool,
    },
    /// Serve the I2I API simulator on loopback.
    Sim(SimArgs),
    /// Show whether the agent runs, every shoot's state, and files not sent (works
    /// whether or not the agent runs, and with a broken config).
    Status {
        /// Print it as JSON, for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Send failed shoots again: the named shoot folder, or all with --all. With
    /// --allow-over-limit, send shoots the spend guard holds instead.
    Retry {
        /// The shoot folder's name, as `status` shows it.
        shoot: Option<String>,
        /// Every failed (or, with --allow-over-limit, held) shoot.
        #[arg(long, conflicts_with = "shoot")]
        all: bool,
        /// Send held shoots past the spend guard's daily limits ("Send anyway").
        #[arg(long)]
        allow_over_limit: bool,
    },
    /// Stop starting new shoots and uploads (remembered across restarts).
    Pause,
    /// Carry on after `pause`.
    Resume,
    /// Write a commented default config.
    Init,
    /// Open the dashboard in the browser (shoots, or the settings page).
    Open {
        /// Which page to open.
        #[arg(value_enum, default_value_t = DashboardPage::Shoots)]
        page: DashboardPage,
    },
    /// Start imagen-sync when you log in, or stop doing so.
    Autostart {
        /// Enable or disable starting at login.
        #[arg(value_enum)]
        action: AutostartAction,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum DashboardPage {
    Shoots,
    Settings,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum AutostartAction {
    Enable,
    Disable,
}

#[derive(Args)]
struct SimArgs {
    /// Port on 127.0.0.1 (0 picks a free one; the address is printed).
    #[arg(long, default_value_t = 8321)]
    port: u16,
    /// An accepted API key (repeat for several accounts).
    #[arg(
        long = "api-key",
        env = "IMAGEN_API_KEY",
        required = true,
        value_delimiter = ',',
        hide_env_values = true
    )]
    api_keys: Vec<String>,
    /// Answer with the payload under `data` (the reference) or at the root.
    #[arg(long, value_enum, default_value_t = Envelope::Data)]
    envelope: Envelope,
    /// Seconds a project stays Pending after /edit.
    #[arg(long, default_value_t = 1.0)]
    pending_secs: f64,
    /// Seconds it then stays In Progress before Completed.
    #[arg(long, default_value_t = 5.0)]
    processing_secs: f64,
    /// Lifetime of presigned links, in seconds.
    #[arg(long, default_value_t = 3600)]
    link_lifetime_secs: u64,
    /// With hdr_merge, how many consecutive files form one bracket.
    #[arg(long, default_value_t = 3)]
    bracket_size: usize,
    /// Keep uploads and outputs here (default: a temp dir removed on exit).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Probability of a 5xx answer to an API call.
    #[arg(long, default_value_t = 0.0)]
    error_rate: f64,
    /// Probability of a 429 answer with Retry-After.
    #[arg(long, default_value_t = 0.0)]
    rate_limit_rate: f64,
    /// The Retry-After seconds a 429 answer asks for.
    #[arg(long, default_value_t = 1)]
    retry_after_secs: u64,
    /// Probability of a 5xx answer from storage (presigned links).
    #[arg(long, default_value_t = 0.0)]
    storage_error_rate: f64,
    /// Random extra latency per request, up to this many milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Probability that an answer is cut off mid-body.
    #[arg(long, default_value_t = 0.0)]
    drop_rate: f64,
    /// Probability that an edit ends Failed.
    #[arg(long, default_value_t = 0.0)]
    fail_rate: f64,
    /// Projects whose name contains this always end Failed (repeatable).
    #[arg(long)]
    fail_name: Vec<String>,
    /// Answer the multipart upload endpoints with 404, as a server without them would.
    #[arg(long)]
    no_multipart: bool,
    /// Misbehave on purpose, as a hostile or badly broken server would.
    #[arg(long, value_enum)]
    hostile: Option<Hostile>,
}

impl SimArgs {
    fn into_config(self) -> SimConfig {
        let seconds = |s: f64| Duration::from_secs_f64(s.max(0.0));
        SimConfig {
            api_keys: self.api_keys,
            envelope: self.envelope,
            timings: Timings {
                pending_for: seconds(self.pending_secs),
                processing_for: seconds(self.processing_secs),
            },
            link_lifetime: Duration::from_secs(self.link_lifetime_secs),
            bracket_size: self.bracket_size,
            data_dir: self.data_dir,
            faults: Faults {
                api_error_rate: self.error_rate,
                rate_limit_rate: self.rate_limit_rate,
                retry_after_secs: self.retry_after_secs,
                storage_error_rate: self.storage_error_rate,
                max_latency_ms: self.latency_ms,
                drop_rate: self.drop_rate,
                fail_rate: self.fail_rate,
                fail_names_containing: self.fail_name,
                stale_links: 0,
                hostile: self.hostile,
            },
            multipart: !self.no_multipart,
            ..SimConfig::new("")
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("imagen-sync: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let config_path = cli
        .config
        .clone()
        .unwrap_or_else(imagen_sync::config::default_config_path);
    let command = match cli.command {
        Some(command) => command,
        None => return first_run_then_desktop(&config_path, &runtime),
    };
    if cli.config.is_some() && matches!(command, Command::Demo { .. } | Command::Sim(_)) {
        eprintln!(
            "imagen-sync: `demo` and `sim` do not read a config file: leave out --config \
             (the demo makes its own settings in --dir; the simulator takes its flags)."
        );
        return ExitCode::from(2);
    }
    match command {
        Command::Sim(args) => {
            let _logs = logs::init("info", None);
            runtime.block_on(serve_sim(args))
        }
        Command::Demo { dir, once } => {
            // The progress bars say what matters; warnings still get through.
            let _logs = logs::init("warn", None);
            runtime.block_on(demo(&dir, once))
        }
        Command::Init => init(config_path),
        Command::Run { headless } if headless || !cfg!(feature = "desktop") => {
            runtime.block_on(run_headless(&config_path, true))
        }
        Command::Run { .. } => run_desktop(&config_path, &runtime),
        Command::Autostart { action } => autostart(action, cli.config.as_deref()),
        Command::Open { page } => open_dashboard(&config_path, page),
        Command::Status { json } => with_data_dir(&config_path, |data_dir| {
            status(
                journal::open_read_only(data_dir)?.as_deref(),
                data_dir,
                json,
            )
        }),
        Command::Retry {
            shoot,
            all,
            allow_over_limit,
        } => with_data_dir(&config_path, |data_dir| {
            let control = Control::open(data_dir)?;
            retry(&control, shoot.as_deref(), all, allow_over_limit)
        }),
        Command::Pause | Command::Resume => {
            let pause = matches!(command, Command::Pause);
            with_data_dir(&config_path, |data_dir| {
                Control::open(data_dir)?.set_paused(pause)?;
                print_out(if pause {
                    "Paused: no new shoot or upload starts (in-flight requests finish).\n"
                } else {
                    "Resumed.\n"
                })
            })
        }
    }
}

/// `retry`: failed shoots (or, with `allow_over_limit`, held ones) go on. A shoot that
/// is unknown or not in that state is named, and the command fails.
fn retry(
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

/// Writes to stdout; a reader that went away (`status | head -1`) ends it quietly.
fn print_out(text: &str) -> CommandResult {
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
fn load_config(path: &Path) -> Result<Config, ExitCode> {
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

type CommandResult = Result<(), Box<dyn std::error::Error>>;

/// Runs `action` on the data folder the config names, whatever state the config is in
/// (a broken one is said, not fatal: these commands are what a user reaches for when
/// something is wrong).
fn with_data_dir(config_path: &Path, action: impl FnOnce(&Path) -> CommandResult) -> ExitCode {
    let (data_dir, note) = imagen_sync::config::data_dir_for_commands(config_path);
    if let Some(note) = note {
        eprintln!(
            "imagen-sync: note: {note}; using the journal in {}",
            data_dir.display()
        );
    }
    match action(&data_dir) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("imagen-sync: {error}");
            ExitCode::FAILURE
        }
    }
}

fn status(journal: Option<&dyn JournalView>, data_dir: &Path, json: bool) -> CommandResult {
    use imagen_sync::words::printable;
    use std::fmt::Write;
    let agent = imagen_sync::running::running_agent(data_dir);
    let (paused, shoots, not_sent) = match journal {
        Some(journal) => (
            journal.paused()?,
            journal.summaries(None)?,
            journal.not_sent()?,
        ),
        None => (false, Vec::new(), Vec::new()),
    };
    if json {
        let agent = match &agent {
            Some(info) => serde_json::json!({
                "running": true, "pid": info.pid, "since": info.since_text(),
            }),
            None => serde_json::json!({ "running": false }),
        };
        let document = serde_json::json!({
            "agent": agent, "paused": paused, "shoots": shoots, "not_sent": not_sent,
        });
        return print_out(&format!("{}\n", serde_json::to_string_pretty(&document)?));
    }
    let mut out = match &agent {
        Some(info) => format!("Agent: running ({}).\n", info.describe()),
        None => "Agent: not running — nothing is moving. Start it with `imagen-sync` \
                 (or `imagen-sync run --headless`).\n"
            .to_owned(),
    };
    if paused {
        out.push_str("Paused (imagen-sync resume carries on).\n");
    }
    if shoots.is_empty() {
        out.push_str("No shoots yet.\n");
    }
    for row in &shoots {
        let shoot = &row.shoot;
        let mut state = shoot.state.as_str().to_owned();
        if agent.is_none() && shoot.state.is_active() {
            state.push_str(" (stopped)");
        }
        let _ = writeln!(
            out,
            "{:<28} {:<11} {:>3}/{:<3} uploaded {:>3} in outbox  {}",
            printable(&shoot.folder),
            state,
            row.uploaded,
            row.files,
            row.outputs,
            printable(&shoot.project_name),
        );
        if let Some(error) = &shoot.last_error {
            let _ = writeln!(out, "    {}", printable(error));
        }
    }
    if !not_sent.is_empty() {
        out.push_str("\nNot sent for editing:\n");
        for item in &not_sent {
            let place = match item.file.is_empty() {
                true => format!("{}/", printable(&item.folder)),
                false => format!("{}/{}", printable(&item.folder), printable(&item.file)),
            };
            let _ = writeln!(out, "  {place}: {}", printable(&item.reason));
        }
    }
    print_out(&out)
}

/// The agent without a tray. With `check_first` (`run --headless`), a wrong config or a
/// missing key stops it before anything starts (exit 2); otherwise (`imagen-sync` in a
/// headless build) it waits for them to be fixed. Later edits are picked up live.
async fn run_headless(config_path: &Path, check_first: bool) -> ExitCode {
    let data_dir = if check_first {
        let config = match load_config(config_path) {
            Ok(config) => config,
            Err(code) => return code,
        };
        if let Err(error) = config.api_key() {
            eprintln!("imagen-sync: {error}");
            return ExitCode::from(2);
        }
        config.agent.data_dir
    } else {
        data_dir_of(config_path)
    };
    let _logs = logs::init("info", Some(&data_dir.join("logs")));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        engine::termination_signal().await;
        tracing::info!("stopping: finished steps are in the journal");
        let _ = stop.send(true);
    });
    let (current, config) = tokio::sync::watch::channel(None);
    let events = Events::default();
    let _dashboard = imagen_sync::dashboard::serve_beside_agent(DashboardContext {
        config_path: config_path.to_owned(),
        config,
        events: events.clone(),
    })
    .await;
    match engine::run(config_path.to_owned(), events, current, stopped).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error:#}");
            ExitCode::FAILURE
        }
    }
}

/// The data folder the config names, or the default one while the config is unusable.
fn data_dir_of(config_path: &Path) -> PathBuf {
    Config::load(config_path)
        .map(|c| c.agent.data_dir)
        .unwrap_or_else(|_| imagen_sync::config::default_data_dir())
}

/// The agent with its tray icon and notifications. Problems with the config or key are
/// shown there (and in the log) while it waits for them to be fixed.
#[cfg(feature = "desktop")]
fn run_desktop(config_path: &Path, _runtime: &tokio::runtime::Runtime) -> ExitCode {
    let _logs = logs::init("info", Some(&data_dir_of(config_path).join("logs")));
    match imagen_sync::desktop::run(config_path.to_owned()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(not(feature = "desktop"))]
fn run_desktop(config_path: &Path, runtime: &tokio::runtime::Runtime) -> ExitCode {
    runtime.block_on(run_headless(config_path, false))
}

/// `imagen-sync` alone: on the first run, writes the default config, makes the folders
/// and an empty private key file, and says how to add the key; then runs with the tray.
fn first_run_then_desktop(config_path: &Path, runtime: &tokio::runtime::Runtime) -> ExitCode {
    if !config_path.exists() {
        match imagen_sync::config::first_run_setup(config_path) {
            Ok(setup) => {
                println!(
                    "Welcome to imagen-sync. Settings: {}",
                    config_path.display()
                );
                for folder in &setup.folders {
                    println!("  made {}", folder.display());
                }
                println!(
                    "To start, paste your Imagen API key into {} (only you can read it); \
                     imagen-sync picks it up at once.",
                    setup.key_file.display()
                );
            }
            Err(error) => {
                eprintln!("imagen-sync: cannot write the first settings: {error}");
                return ExitCode::FAILURE;
            }
        }
    }
    run_desktop(config_path, runtime)
}

fn open_dashboard(config_path: &Path, page: DashboardPage) -> ExitCode {
    if !imagen_sync::dashboard::is_served(config_path) {
        eprintln!(
            "imagen-sync open: no agent is running, so the dashboard is not being served. \
             Start it with `imagen-sync` (or `imagen-sync run --headless`), then open it again."
        );
        return ExitCode::FAILURE;
    }
    let page = match page {
        DashboardPage::Shoots => "",
        DashboardPage::Settings => "settings",
    };
    let link = match imagen_sync::dashboard::link(config_path, page) {
        Ok(link) => link,
        Err(error) => {
            eprintln!("imagen-sync open: {error:#}");
            return ExitCode::FAILURE;
        }
    };
    // The link carries the access token: printed for the terminal's user only.
    println!("{link}");
    if let Err(error) = imagen_sync::open::in_desktop(Path::new(&link)) {
        eprintln!("imagen-sync open: no browser could be started ({error}); open the link above.");
    }
    ExitCode::SUCCESS
}

fn autostart(action: AutostartAction, config: Option<&Path>) -> ExitCode {
    let outcome = match action {
        AutostartAction::Enable => std::env::current_exe()
            .map_err(anyhow::Error::from)
            .and_then(|binary| {
                let config = config.map(std::path::absolute).transpose()?;
                imagen_sync::autostart::enable(&binary, config.as_deref())
            })
            .map(|place| println!("imagen-sync now starts when you log in ({place}).")),
        AutostartAction::Disable => imagen_sync::autostart::disable()
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

fn init(path: PathBuf) -> ExitCode {
    match imagen_sync::config::write_default(&path) {
        Ok(()) => {
            println!("Wrote {}", path.display());
            let key_file = imagen_sync::config::default_key_file();
            println!(
                "Next: put your API key in {}{} (or set {}), check the folders in the config, \
                 then `imagen-sync run`.",
                key_file.display(),
                imagen_sync::config::private_file_step(&key_file),
                imagen_sync::config::ENV_API_KEY
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

async fn demo(dir: &Path, once: bool) -> ExitCode {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        engine::termination_signal().await;
        let _ = stop.send(true);
    });
    match imagen_sync::demo::run(dir, once, stopped).await {
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

async fn serve_sim(args: SimArgs) -> ExitCode {
    let port = args.port;
    let sim = match Sim::start(args.into_config(), port).await {
        Ok(sim) => sim,
        Err(error) => {
            eprintln!(
                "imagen-sync sim: cannot listen on 127.0.0.1:{port}: {error}. Pick another --port, or 0 for any free one."
            );
            return ExitCode::FAILURE;
        }
    };
    println!("Imagen I2I simulator listening on {}", sim.base_url());
    engine::termination_signal().await;
    let counters = sim.counters();
    eprintln!(
        "simulator stopping: {} projects created, {} edits started, {} uploads",
        counters.projects_created,
        counters.edits_started,
        counters.total_uploads()
    );
    ExitCode::SUCCESS
}
