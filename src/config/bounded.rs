//! Reading a small text file the user points at (the config, a key or password file)
//! without trusting it: it must be a regular file (a FIFO or `/dev/zero` never blocks
//! or fills memory: it is opened with `O_NONBLOCK` and checked on the descriptor) and
//! at most `limit` bytes.

use std::io::Read;
use std::path::Path;

/// How large a config file may be.
pub const CONFIG_LIMIT: u64 = 1024 * 1024;
/// How large a key or password file may be.
pub const SECRET_LIMIT: u64 = 16 * 1024;

/// Why a small text file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BoundedReadError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("is not a regular file (a pipe, a device or a folder); name a text file")]
    NotAFile,
    #[error(
        "is {size} bytes, more than the {limit} bytes such a file ever needs; is it the right file?"
    )]
    TooBig { size: u64, limit: u64 },
    #[error("is not text (UTF-8); is it the right file?")]
    NotText,
}

/// Reads `path` whole, refusing anything but a regular file of at most `limit` bytes.
pub fn read_small_text(path: &Path, limit: u64) -> Result<String, BoundedReadError> {
    let file = open_without_blocking(path)?;
    let metadata = file.metadata()?;
    if !metadata.is_file() {
        return Err(BoundedReadError::NotAFile);
    }
    if metadata.len() > limit {
        return Err(BoundedReadError::TooBig {
            size: metadata.len(),
            limit,
        });
    }
    let mut bytes = Vec::new();
    // Grown since the stat: still bounded.
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(BoundedReadError::TooBig {
            size: bytes.len() as u64,
            limit,
        });
    }
    String::from_utf8(bytes).map_err(|_| BoundedReadError::NotText)
}

#[cfg(unix)]
fn open_without_blocking(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
}

#[cfg(not(unix))]
fn open_without_blocking(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::File::open(path)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn a_fifo_a_device_or_a_huge_file_is_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("config.toml");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        assert!(matches!(
            read_small_text(&fifo, CONFIG_LIMIT),
            Err(BoundedReadError::NotAFile)
        ));
        assert!(matches!(
            read_small_text(Path::new("/dev/zero"), CONFIG_LIMIT),
            Err(BoundedReadError::NotAFile)
        ));
        let big = dir.path().join("big.toml");
        std::fs::File::create(&big)
            .unwrap()
            .set_len(CONFIG_LIMIT + 1)
            .unwrap();
        let refused = read_small_text(&big, CONFIG_LIMIT).unwrap_err().to_string();
        assert!(refused.contains("more than the 1048576 bytes"), "{refused}");
        std::fs::write(&big, "[agent]\n").unwrap();
        assert_eq!(read_small_text(&big, CONFIG_LIMIT).unwrap(), "[agent]\n");
    }
}
