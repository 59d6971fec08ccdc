//! What the watcher knows a folder by without reading it again: its change stamp (the
//! modification times of the folder and its subfolders, read from directories only)
//! and its fingerprint (every file's size and modification time). Both are stable
//! hashes of paths relative to the folder, so a mark kept in the journal still matches
//! after a restart, a new build, or on another studio agent that mounts the inbox
//! elsewhere.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

pub use crate::journal::FolderMark;

/// FNV-1a, 64 bits: stable across builds (unlike std's `DefaultHasher`), as the marks
/// outlive the process.
struct Stable(u64);

impl Stable {
    fn new() -> Stable {
        Stable(0xcbf2_9ce4_8422_2325)
    }

    fn bytes(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 ^= u64::from(*byte);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    fn path(&mut self, path: &Path) {
        self.bytes(path.as_os_str().as_encoded_bytes());
        // Ends the name, so ("ab", 1) and ("a", b1…) never hash alike.
        self.bytes(&[0xff]);
    }

    fn time(&mut self, time: Option<SystemTime>) {
        let since = time.and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok());
        let (seconds, nanos) = since.map_or((0, 0), |d| (d.as_secs(), d.subsec_nanos()));
        self.bytes(&seconds.to_le_bytes());
        self.bytes(&nanos.to_le_bytes());
    }
}

/// Size and mtime of every file below `dir`, hashed; `None` if the folder is gone.
pub fn fingerprint(dir: &Path) -> Option<u64> {
    let mut entries = Vec::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(relative) = pending.pop() {
        let listing = match std::fs::read_dir(dir.join(&relative)) {
            Ok(listing) => listing,
            Err(_) if relative.as_os_str().is_empty() => return None,
            Err(_) => continue,
        };
        for entry in listing.flatten() {
            let Ok(metadata) = entry.path().symlink_metadata() else {
                continue;
            };
            let inside = relative.join(entry.file_name());
            if metadata.is_dir() {
                pending.push(inside);
            } else {
                entries.push((inside, metadata.len(), metadata.modified().ok()));
            }
        }
    }
    entries.sort();
    let mut hash = Stable::new();
    for (path, size, modified) in &entries {
        hash.path(path);
        hash.bytes(&size.to_le_bytes());
        hash.time(*modified);
    }
    Some(hash.0)
}

/// A folder's own change stamp: its modification time and its subfolders', hashed (an
/// entry added, removed or renamed anywhere in it moves one). Only folders are stat'ed,
/// so a finished shoot of thousands of photos costs a stat or a few directory reads.
/// `None` if the folder is gone.
///
/// With `trust_link_count`, a folder whose link count says it has no subfolders is not
/// read at all (local Unix filesystems count them; btrfs and network shares may not,
/// and are read).
pub fn folder_stamp(dir: &Path, trust_link_count: bool) -> Option<u64> {
    let mut stamps = Vec::new();
    let there = each_folder(dir, trust_link_count, |relative, metadata| {
        stamps.push((relative.to_path_buf(), metadata.modified().ok()));
    });
    if !there {
        return None;
    }
    stamps.sort();
    let mut hash = Stable::new();
    for (path, modified) in &stamps {
        hash.path(path);
        hash.time(*modified);
    }
    Some(hash.0)
}

/// Visits `dir` and every folder below it (by its path relative to `dir`, and its own
/// metadata), reading only directories; symlinks are not followed. With
/// `trust_link_count`, a folder whose link count says it has no subfolders is not read.
/// Returns false if `dir` itself is gone.
pub(super) fn each_folder(
    dir: &Path,
    trust_link_count: bool,
    mut visit: impl FnMut(&Path, &std::fs::Metadata),
) -> bool {
    let mut pending = vec![PathBuf::new()];
    while let Some(relative) = pending.pop() {
        let current = dir.join(&relative);
        let Ok(metadata) = current.symlink_metadata() else {
            if relative.as_os_str().is_empty() {
                return false;
            }
            continue;
        };
        if !metadata.is_dir() {
            if relative.as_os_str().is_empty() {
                return false;
            }
            continue;
        }
        visit(&relative, &metadata);
        if trust_link_count && has_no_subfolders(&metadata) {
            continue;
        }
        let Ok(listing) = std::fs::read_dir(&current) else {
            continue;
        };
        for entry in listing.flatten() {
            if entry.file_type().is_ok_and(|kind| kind.is_dir()) {
                pending.push(relative.join(entry.file_name()));
            }
        }
    }
    true
}

/// A directory's link count is 2 (itself and its `.`) plus one per subfolder on the
/// filesystems that count them; exactly 2 says there is none.
#[cfg(unix)]
fn has_no_subfolders(metadata: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    metadata.is_dir() && metadata.nlink() == 2
}

#[cfg(not(unix))]
fn has_no_subfolders(_: &std::fs::Metadata) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_folder_stamp_moves_when_a_photo_is_added_anywhere_in_it_not_when_left_alone() {
        for trust in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let nested = dir.path().join("Kitchen");
            std::fs::create_dir(&nested).unwrap();
            std::fs::write(dir.path().join("IMG_1.jpg"), b"a").unwrap();
            let first = folder_stamp(dir.path(), trust).unwrap();
            assert_eq!(folder_stamp(dir.path(), trust), Some(first));
            // Directory times have a coarse clock on some filesystems.
            std::thread::sleep(Duration::from_millis(20));
            std::fs::write(nested.join("IMG_2.jpg"), b"b").unwrap();
            let second = folder_stamp(dir.path(), trust).unwrap();
            assert_ne!(
                second, first,
                "a photo added in a subfolder moves the stamp"
            );
            assert_eq!(folder_stamp(&dir.path().join("gone"), trust), None);
        }
    }

    #[test]
    fn marks_do_not_depend_on_where_the_inbox_is_mounted() {
        let (one, two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        for dir in [one.path(), two.path()] {
            std::fs::create_dir(dir.join("Kitchen")).unwrap();
            std::fs::write(dir.join("Kitchen/IMG_1.jpg"), b"a").unwrap();
        }
        let file_time = std::fs::metadata(one.path().join("Kitchen/IMG_1.jpg"))
            .unwrap()
            .modified()
            .unwrap();
        let same = std::fs::File::options()
            .write(true)
            .open(two.path().join("Kitchen/IMG_1.jpg"))
            .unwrap();
        same.set_modified(file_time).unwrap();
        assert_eq!(fingerprint(one.path()), fingerprint(two.path()));
    }

    #[test]
    fn a_fingerprint_changes_when_a_file_grows_and_not_otherwise() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/a.jpg"), b"1").unwrap();
        let first = fingerprint(dir.path()).unwrap();
        assert_eq!(fingerprint(dir.path()), Some(first));
        std::fs::write(dir.path().join("sub/a.jpg"), b"12").unwrap();
        assert_ne!(fingerprint(dir.path()), Some(first));
        assert_eq!(fingerprint(&dir.path().join("gone")), None);
    }
}
