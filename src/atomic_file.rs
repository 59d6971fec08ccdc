//! Atomic writes, for everything the agent writes: a hidden temp file beside the
//! destination (a dot-file not ending in .jpg, so no gallery or sync tool picks it
//! up), fsynced, then renamed into place; the folder is synced so the rename lasts.
//! The outbox's photos, the settings page's config and key, the autostart entry and
//! the thumbnail cache all go through here.

use std::path::Path;

const TEMP_PREFIX: &str = ".imagen-";
const TEMP_SUFFIX: &str = ".partial";

/// A new hidden temp file in `dir`, removed when dropped unless persisted.
pub fn temp_in(dir: &Path) -> std::io::Result<tempfile::NamedTempFile> {
    tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .suffix(TEMP_SUFFIX)
        .tempfile_in(dir)
}

/// Writes (or replaces) a small text file of the agent's own, atomically.
pub fn write_text(path: &Path, text: &str) -> std::io::Result<()> {
    write_bytes(path, text.as_bytes())
}

/// Writes `bytes` to `path` atomically: a user-only temp file beside it, synced, then
/// renamed over it.
pub fn write_bytes(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_then(path, bytes, |temp| {
        temp.persist(path).map(drop).map_err(|e| e.error)
    })
}

/// Writes `bytes` to `path` atomically, never over an existing file (`AlreadyExists`).
pub fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_then(path, bytes, |temp| {
        temp.persist_noclobber(path).map(drop).map_err(|e| e.error)
    })
}

fn write_then(
    path: &Path,
    bytes: &[u8],
    place: impl FnOnce(tempfile::NamedTempFile) -> std::io::Result<()>,
) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut temp = temp_in(dir)?;
    temp.write_all(bytes)?;
    temp.as_file().sync_all()?;
    place(temp)?;
    sync_dir(dir);
    Ok(())
}

/// Removes temp files a killed process left below `dir` (they are only ever ours).
pub fn remove_stale_temp_files(dir: &Path) {
    let mut pending = vec![dir.to_owned()];
    while let Some(current) = pending.pop() {
        let Ok(listing) = std::fs::read_dir(&current) else {
            continue;
        };
        for entry in listing.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            match entry.file_type() {
                Ok(kind) if kind.is_dir() => pending.push(entry.path()),
                Ok(kind) if kind.is_file() && is_temp_name(&name) => {
                    let _ = std::fs::remove_file(entry.path());
                }
                _ => {}
            }
        }
    }
}

fn is_temp_name(name: &str) -> bool {
    name.starts_with(TEMP_PREFIX) && name.ends_with(TEMP_SUFFIX)
}

/// Makes the rename itself durable (best effort: not every platform can fsync a folder).
pub fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(handle) = std::fs::File::open(dir) {
        let _ = handle.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}
