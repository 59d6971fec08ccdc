//! Atomic writes, for everything the agent writes: a hidden temp file beside the
//! destination (a dot-file not ending in .jpg, so no gallery or sync tool picks it
//! up), fsynced, then renamed into place; the folder is synced so the rename lasts.
//! The outbox's photos, the settings page's config and key, the autostart entry and
//! the thumbnail cache all go through here.
//!
//! Who may read the result is chosen per write ([`Access`]): the agent's own files stay
//! private; what it delivers to the user gets the mode any file the user makes there
//! would get (the process umask decides, as for every other program).

use std::path::Path;

const TEMP_PREFIX: &str = ".imagen-";
const TEMP_SUFFIX: &str = ".partial";

/// Who may read a file the agent writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// The agent's own files (config, key, journal side files, caches): the user only.
    Private,
    /// What it delivers (photos, reports in the outbox): as any file the user creates
    /// there, 0644 under the usual umask 022, 0600 under 077.
    LikeUserFiles,
}

/// A new hidden temp file in `dir`, removed when dropped unless persisted.
pub fn temp_in(dir: &Path, access: Access) -> std::io::Result<tempfile::NamedTempFile> {
    let mut builder = tempfile::Builder::new();
    let prefix = format!("{TEMP_PREFIX}{}.{}.", std::process::id(), this_host());
    builder.prefix(&prefix).suffix(TEMP_SUFFIX);
    #[cfg(unix)]
    if access == Access::LikeUserFiles {
        use std::os::unix::fs::PermissionsExt;
        // Asked for at creation, so the kernel applies the umask as it does for any
        // program's new file; the rename keeps the mode.
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    #[cfg(not(unix))]
    let _ = access;
    builder.tempfile_in(dir)
}

/// Writes (or replaces) a small text file of the agent's own, atomically.
pub fn write_text(path: &Path, text: &str) -> std::io::Result<()> {
    write_bytes(path, text.as_bytes())
}

/// Writes `bytes` to `path` atomically: a user-only temp file beside it, synced, then
/// renamed over it.
pub fn write_bytes(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_with(path, bytes, Access::Private)
}

/// Writes `bytes` to `path` atomically, readable as `access` says.
pub fn write_with(path: &Path, bytes: &[u8], access: Access) -> std::io::Result<()> {
    write_then(path, bytes, access, |temp| {
        temp.persist(path).map(drop).map_err(|e| e.error)
    })
}

/// Writes `bytes` to `path` atomically, never over an existing file (`AlreadyExists`).
pub fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_then(path, bytes, Access::Private, |temp| {
        temp.persist_noclobber(path).map(drop).map_err(|e| e.error)
    })
}

fn write_then(
    path: &Path,
    bytes: &[u8],
    access: Access,
    place: impl FnOnce(tempfile::NamedTempFile) -> std::io::Result<()>,
) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut temp = temp_in(dir, access)?;
    temp.write_all(bytes)?;
    temp.as_file().sync_all()?;
    place(temp)?;
    sync_dir(dir);
    Ok(())
}

/// A temp file not written to for this long was left by a killed process: a write in
/// flight touches its file far more often (a stalled download is cut after 30 s). One
/// whose writer (named in it) is a process of this machine that is gone goes at once.
const STALE_TEMP_AFTER: std::time::Duration = std::time::Duration::from_secs(10 * 60);

/// Removes temp files a killed process left below `dir` (they are only ever ours).
/// Only stale ones: other downloads of this agent (another batch of a live shoot, a
/// project of the same shoot) or of another studio agent may be writing beside them.
pub fn remove_stale_temp_files(dir: &Path) {
    remove_temp_files_idle_for(dir, STALE_TEMP_AFTER);
}

fn remove_temp_files_idle_for(dir: &Path, idle: std::time::Duration) {
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
                Ok(kind)
                    if kind.is_file() && is_temp_name(&name) && is_stale(&name, &entry, idle) =>
                {
                    let _ = std::fs::remove_file(entry.path());
                }
                _ => {}
            }
        }
    }
}

/// Its writer, named in it, is a process of this machine that is gone; or (a writer
/// elsewhere, or not named) it was not written to for `idle`.
fn is_stale(name: &str, entry: &std::fs::DirEntry, idle: std::time::Duration) -> bool {
    let writer_gone = writer_of(name).is_some_and(|(pid, host)| {
        host == this_host() && pid != std::process::id() && !crate::platform::process_alive(pid)
    });
    writer_gone || idle_for(entry, idle)
}

/// The process and machine a temp file's name says wrote it.
fn writer_of(name: &str) -> Option<(u32, &str)> {
    let mut parts = name.strip_prefix(TEMP_PREFIX)?.splitn(3, '.');
    let pid = parts.next()?.parse().ok()?;
    Some((pid, parts.next()?))
}

/// This machine's name as it goes into temp file names (letters, digits and dashes).
fn this_host() -> String {
    let host = crate::config::host_name();
    host.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

fn idle_for(entry: &std::fs::DirEntry, idle: std::time::Duration) -> bool {
    let modified = entry.metadata().and_then(|m| m.modified());
    modified.is_ok_and(|at| at.elapsed().is_ok_and(|since| since >= idle))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_temp_files_left_idle_by_a_killed_process_are_removed_not_those_being_written() {
        let dir = tempfile::tempdir().unwrap();
        let shoot = dir.path().join("Smith Wedding");
        std::fs::create_dir_all(&shoot).unwrap();
        let being_written = temp_in(&shoot, Access::LikeUserFiles).unwrap();
        let (left_by_a_kill, left_path) = temp_in(&shoot, Access::LikeUserFiles)
            .unwrap()
            .keep()
            .unwrap();
        let an_hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        left_by_a_kill.set_modified(an_hour_ago).unwrap();
        std::fs::write(shoot.join("IMG_0001.jpg"), b"photo").unwrap();

        remove_stale_temp_files(dir.path());

        assert!(being_written.path().exists(), "a write in flight is kept");
        assert!(!left_path.exists(), "a stale temp file is removed");
        assert!(
            shoot.join("IMG_0001.jpg").exists(),
            "photos are never touched"
        );
    }

    #[test]
    fn a_temp_file_whose_writer_on_this_machine_is_gone_is_removed_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut gone = std::process::Command::new("true").spawn().unwrap();
        let pid = gone.id();
        gone.wait().unwrap();
        let left = (dir.path()).join(format!(
            "{TEMP_PREFIX}{pid}.{}.abc123{TEMP_SUFFIX}",
            this_host()
        ));
        let elsewhere = (dir.path()).join(format!(
            "{TEMP_PREFIX}{pid}.another-machine.abc123{TEMP_SUFFIX}"
        ));
        std::fs::write(&left, b"half a photo").unwrap();
        std::fs::write(&elsewhere, b"half a photo").unwrap();

        remove_stale_temp_files(dir.path());

        assert!(!left.exists(), "its writer was killed");
        assert!(
            elsewhere.exists(),
            "another studio machine may be writing it"
        );
    }
}
