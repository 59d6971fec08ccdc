//! Whether a folder is on a network filesystem (NFS, SMB/CIFS, AFP, FUSE mounts such as
//! sshfs): other machines' writes there send no change events to this one, so its
//! inbox is polled.

use std::path::Path;

/// The filesystem's kind when it is a network one (`"nfs"`, `"smb"`…); `None` for a
/// local disk, or when it cannot be told.
pub(super) fn network_kind(path: &Path) -> Option<&'static str> {
    imp::network_kind(path)
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

    pub(super) fn network_kind(path: &Path) -> Option<&'static str> {
        let text = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
        let mut stats: libc::statfs = unsafe { std::mem::zeroed() };
        // SAFETY: a NUL-terminated path and a statfs buffer of the right size.
        if unsafe { libc::statfs(text.as_ptr(), &mut stats) } != 0 {
            return None;
        }
        let kind = stats.f_type as i64;
        KINDS
            .iter()
            .find(|(magic, _)| *magic == kind)
            .map(|(_, name)| *name)
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
}

// Elsewhere (Windows) a network inbox is told by `watch = "poll"` in the config.
#[cfg(not(any(target_os = "linux", target_os = "macos")))]
mod imp {
    pub fn network_kind(_path: &std::path::Path) -> Option<&'static str> {
        None
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_local_temp_folder_is_not_a_network_share() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(super::network_kind(dir.path()), None);
    }
}
