//! The `imagen-sync` command line: parses arguments and hands each subcommand to the
//! library. `sim` is complete; the agent's commands arrive with the agent.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use imagen_sync::sim::{Envelope, Faults, Sim, SimConfig, Timings};

#[derive(Parser)]
#[command(
    name = "imagen-sync",
    version,
    about = "Hot-folder agent for Imagen AI's Smart Editing (I2I) API"
)]
struct Cli {
    /// Config file (default: the platform config dir).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Watch the inboxes and process shoots.
    Run {
        /// No tray icon or notifications.
        #[arg(long)]
        headless: bool,
    },
    /// Try it with no setup: an embedded simulator, a sample shoot, a live outbox.
    Demo {
        /// Where to make inbox/ and outbox/.
        #[arg(long, default_value = "imagen-demo")]
        dir: PathBuf,
        /// Exit once the sample shoot is done.
        #[arg(long)]
        once: bool,
    },
    /// Serve the I2I API simulator on loopback.
    Sim(SimArgs),
    /// Show every shoot's state.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Write a commented default config.
    Init,
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
            },
            multipart: !self.no_multipart,
            ..SimConfig::new("")
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("imagen-sync: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match cli.command {
        Command::Sim(args) => runtime.block_on(serve_sim(args)),
        Command::Demo { dir, once } => runtime.block_on(demo(&dir, once)),
        Command::Init => init(cli.config),
        Command::Run { .. } | Command::Status { .. } => {
            eprintln!(
                "imagen-sync: this command arrives with the agent (watch folders, journal, pipeline). \
                 Today `imagen-sync sim` serves the API simulator."
            );
            ExitCode::from(2)
        }
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("IMAGEN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn init(config: Option<PathBuf>) -> ExitCode {
    let path = config.unwrap_or_else(imagen_sync::config::default_config_path);
    match imagen_sync::config::write_default(&path) {
        Ok(()) => {
            println!("Wrote {}", path.display());
            println!(
                "Next: set {} (or a key_file), check the folders in it, then `imagen-sync run`.",
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

async fn demo(dir: &std::path::Path, once: bool) -> ExitCode {
    match imagen_sync::demo::run(dir).await {
        Ok(outboxes) => {
            println!("\nDone. Edited photos are in:");
            for outbox in outboxes {
                println!("  {}", outbox.display());
            }
            if !once {
                println!(
                    "\nWatching the inbox for new shoot folders arrives with the agent; \
                     until then, add folders to the inbox and run the demo again."
                );
            }
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
    wait_for_shutdown().await;
    let counters = sim.counters();
    eprintln!(
        "simulator stopping: {} projects created, {} edits started, {} uploads",
        counters.projects_created,
        counters.edits_started,
        counters.total_uploads()
    );
    ExitCode::SUCCESS
}

async fn wait_for_shutdown() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
