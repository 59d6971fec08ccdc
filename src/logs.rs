//! Logging: tracing to stderr, and for the agent also to a daily rolling file in the
//! data folder. Nothing logged carries a secret: keys and presigned links are redacted
//! types (see [`crate::redact`]). `IMAGEN_LOG` sets the filter (default `info`).

use std::path::Path;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, fmt};

/// Keeps the file writer flushing; drop it last.
pub struct LogGuard {
    _flush_on_drop: Option<tracing_appender::non_blocking::WorkerGuard>,
}

fn filter(default: &str) -> EnvFilter {
    EnvFilter::try_from_env("IMAGEN_LOG").unwrap_or_else(|_| EnvFilter::new(default))
}

/// Colour only for a person at a terminal: not in a pipe, a file or the systemd journal,
/// and not when `NO_COLOR` is set.
fn colours_on_stderr() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// Starts logging to stderr at `stderr_level` (unless `IMAGEN_LOG` says otherwise) and,
/// with `log_dir`, at info level to `log_dir/imagen-sync.<date>.log`.
pub fn init(stderr_level: &str, log_dir: Option<&Path>) -> LogGuard {
    let stderr = fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(colours_on_stderr())
        .with_filter(filter(stderr_level));
    let (file, guard) =
        match log_dir.and_then(|dir| std::fs::create_dir_all(dir).ok().map(|()| dir)) {
            Some(dir) => {
                let appender = tracing_appender::rolling::Builder::new()
                    .rotation(tracing_appender::rolling::Rotation::DAILY)
                    .filename_prefix("imagen-sync")
                    .filename_suffix("log")
                    .max_log_files(14)
                    .build(dir);
                match appender {
                    Ok(appender) => {
                        // 8,192 lines waiting for the disk (256 KB), not the default
                        // 128,000, which took 4 MB of an idle agent's memory.
                        let (writer, guard) =
                            tracing_appender::non_blocking::NonBlockingBuilder::default()
                                .buffered_lines_limit(8192)
                                .finish(appender);
                        let layer = fmt::layer()
                            .with_writer(writer)
                            .with_ansi(false)
                            .with_filter(filter("info"));
                        (Some(layer), Some(guard))
                    }
                    Err(error) => {
                        eprintln!(
                            "imagen-sync: cannot write logs to {}: {error}",
                            dir.display()
                        );
                        (None, None)
                    }
                }
            }
            None => (None, None),
        };
    let _ = tracing_subscriber::registry()
        .with(stderr)
        .with(file)
        .try_init();
    LogGuard {
        _flush_on_drop: guard,
    }
}
