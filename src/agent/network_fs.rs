//! What kind of filesystem a folder is on. A network one (NFS, SMB/CIFS, AFP, FUSE
//! mounts such as sshfs): other machines' writes there send no change events to this
//! one, so its inbox is polled. A local one that keeps directory link counts: a folder
//! with no subfolders is known so without reading it.

use std::path::Path;

/// The filesystem's kind when it is a network one (`"nfs"`, `"smb"`…); `None` for a
/// local disk, or when it cannot be told.
pub(super) fn network_kind(path: &Path) -> Option<&'static str> {
    imp::network_kind(path)
}

/// Whether a folder's link count tells its subfolders (2 plus one each): the local
/// filesystems known to keep it (ext2/3/4, XFS, tmpfs, ZFS). Btrfs, shares and the
/// unknown do not, or may not.
pub(super) fn keeps_link_counts(path: &Path) -> bool {
    imp::keeps_link_counts(path)
}

#[cfg(target_os = "linux")]
mod imp {
    use std::os::unix::ffi::OsStrExt;
    use std::path::Path;

    // `statfs(2)`'s f_type of the network filesystems.
    const KINDS: &[(i64, &str)] = &[
        (0x6969, "nfs"),
        (0x517B, "smb"),
        (0xFF53_4D42, "cifs"),
        (0xFE53_4D42, "smb2"),
        (0x6573_5546, "fuse"),
        (0x5346_414F, "afs"),
        (0x7375_7245, "coda"),
        (0x0102_1997, "9p"),
        (0x00C3_6400, "ceph"),
        (0x564C, "ncp"),
    ];

    // Those that keep a directory's link count: ext2/3/4, XFS, tmpfs, ZFS.
    const COUNTING: &[i64] = &[0xEF53, 0x5846_5342, 0x0102_1994, 0x2FC1_2FC1];

    fn kind_of(path: &Path) -> Option<i64> {
        let text = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
        let mut stats: libc::statfs = unsafe { std::mem::zeroed() };
        // SAFETY: a NUL-terminated path and a statfs buffer of the right size.
        if unsafe { libc::statfs(text.as_ptr(), &mut stats) } != 0 {
            return None;
        }
        #[allow(clippy::unnecessary_cast)]
        Some(stats.f_type as i64)
    }

    pub(super) fn network_kind(path: &Path) -> Option<&'static str> {
        let kind = kind_of(path)?;
        KINDS
            .iter()
            .find(|(magic, _)| *magic == kind)
            .map(|(_, name)| *name)
    }

    pub(super) fn keeps_link_counts(path: &Path) -> bool {
        kind_of(path).is_some_and(|kind| COUNTING.contains(&kind))
    }
}

#[cfg(target_os = "macos")]
mod imp {
    use std::os::unix::ffi::OsStrExt;
    use std::path::Path;

    const KINDS: &[&str] = &[
        "nfs", "smbfs", "afpfs", "webdav", "cifs", "macfuse", "osxfuse",
    ];

    pub fn network_kind(path: &Path) -> Option<&'static str> {
        let text = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
        let mut stats: libc::statfs = unsafe { std::mem::zeroed() };
        // SAFETY: a NUL-terminated path and a statfs buffer of the right size.
        if unsafe { libc::statfs(text.as_ptr(), &mut stats) } != 0 {
            return None;
        }
        let name = unsafe { std::ffi::CStr::from_ptr(stats.f_fstypename.as_ptr()) };
        let name = name.to_str().ok()?;
        KINDS.iter().find(|kind| **kind == name).copied()
    }

    // APFS and HFS+ report a directory's entries, not its subfolders, as its links.
    pub fn keeps_link_counts(_path: &Path) -> bool {
        false
    }
}

// Elsewhere (Windows) a network inbox is told by `watch = "poll"` in the config.
#[cfg(not(any(target_os = "linux", target_os = "macos")))]
mod imp {
    pub fn network_kind(_path: &std::path::Path) -> Option<&'static str> {
        None
    }

    pub fn keeps_link_counts(_path: &std::path::Path) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_local_temp_folder_is_not_a_network_share() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(super::network_kind(dir.path()), None);
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn a_folder_without_subfolders_has_two_links_where_they_are_counted() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        if super::keeps_link_counts(dir.path()) {
            assert_eq!(std::fs::metadata(dir.path()).unwrap().nlink(), 2);
            std::fs::create_dir(dir.path().join("Kitchen")).unwrap();
            assert_eq!(std::fs::metadata(dir.path()).unwrap().nlink(), 3);
        }
    }
}
