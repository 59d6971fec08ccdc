//! The `imagen-sync` command line: parses the arguments and hands each subcommand to
//! `imagen_sync::cli`. Exit codes: 0 done, 1 failed, 2 nothing started (bad config or
//! usage), 3 nothing started (another agent already works on the data folder).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use imagen_sync::sim::{Envelope, Faults, Hostile, SimConfig, Timings};
use imagen_sync::{cli, logs};

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
        /// Also the projects' names in Imagen and each problem's details.
        #[arg(long)]
        verbose: bool,
        /// Every shoot ever recorded (without it: those working or needing something,
        /// and the newest finished ones).
        #[arg(long)]
        all: bool,
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
    Resume {
        /// Also send now while on a metered network or battery (`[network]
        /// pause_on_metered`, `pause_on_battery`), until the network or power changes.
        #[arg(long)]
        anyway: bool,
    },
    /// Look after the journal (the agent's record of every shoot).
    Journal {
        #[command(subcommand)]
        action: JournalAction,
    },
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

#[derive(Subcommand)]
enum JournalAction {
    /// After the journal was damaged: keep it aside, go on from its safety copy (or an
    /// empty journal), paused. Run it with imagen-sync stopped.
    Restore,
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
    /// A per-key limit: after this many API calls the key is limited for
    /// --retry-after-secs, and every call meanwhile gets 429 (0: never).
    #[arg(long, default_value_t = 0)]
    key_limit_after: u32,
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
    /// Outputs keep their input's pixel size, HDR merges too (the real service caps
    /// those): for trying the agent with full-size photos.
    #[arg(long)]
    full_size_outputs: bool,
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
                key_limit_after: self.key_limit_after,
                storage_error_rate: self.storage_error_rate,
                max_latency_ms: self.latency_ms,
                drop_rate: self.drop_rate,
                fail_rate: self.fail_rate,
                fail_names_containing: self.fail_name,
                stale_links: 0,
                hostile: self.hostile,
            },
            multipart: !self.no_multipart,
            full_size_outputs: self.full_size_outputs,
            ..SimConfig::new("")
        }
    }
}

fn main() -> ExitCode {
    imagen_sync::platform::memory::return_big_buffers_at_once();
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
        None => return cli::first_run_then_desktop(&config_path, &runtime),
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
            let port = args.port;
            runtime.block_on(cli::serve_sim(args.into_config(), port))
        }
        Command::Demo { dir, once } => {
            // The progress bars say what matters; warnings still get through.
            let _logs = logs::init("warn", None);
            runtime.block_on(cli::demo(&dir, once))
        }
        Command::Init => cli::init(config_path),
        Command::Run { headless } if headless || !cfg!(feature = "desktop") => {
            runtime.block_on(cli::run_headless(&config_path, true))
        }
        Command::Run { .. } => cli::run_desktop(&config_path, &runtime),
        Command::Autostart { action } => cli::autostart(
            matches!(action, AutostartAction::Enable),
            cli.config.as_deref(),
        ),
        Command::Open { page } => cli::open_dashboard(
            &config_path,
            match page {
                DashboardPage::Shoots => "",
                DashboardPage::Settings => "settings",
            },
        ),
        Command::Status { json, verbose, all } => cli::status(&config_path, json, verbose, all),
        Command::Retry {
            shoot,
            all,
            allow_over_limit,
        } => cli::retry(&config_path, shoot.as_deref(), all, allow_over_limit),
        Command::Pause => cli::pause(&config_path),
        Command::Journal {
            action: JournalAction::Restore,
        } => cli::restore_journal(&config_path),
        Command::Resume { anyway } => cli::resume(&config_path, anyway),
    }
}
