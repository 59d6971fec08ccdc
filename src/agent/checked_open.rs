//! Opens a photo of a shoot the one safe way, for the scan and for the upload alike: no
//! symbolic link followed anywhere below the shoot folder (each folder and the file are
//! opened relative to the one before, with `O_NOFOLLOW`), never blocking on a FIFO or a
//! device (`O_NONBLOCK`), a regular file on the open descriptor, the (device, inode)
//! the scan saw, and whole by its format. What is uploaded is then streamed from that
//! same descriptor, so a photo swapped for a link or another file after the scan is
//! never what goes up.

use std::fs::File;
use std::path::{Component, Path};

use super::scan::SkipReason;
use super::whole;
use crate::files::overlap::FileIdentity;

/// A photo opened and checked: upload from `file`, which is what was checked.
#[derive(Debug)]
pub struct CheckedPhoto {
    pub file: File,
    pub size: u64,
    pub modified: Option<std::time::SystemTime>,
    pub identity: Option<FileIdentity>,
}

/// Why an opened file is not the photo to send.
#[derive(Debug)]
pub enum Refused {
    /// It is gone (deleted, or its folder renamed).
    Gone,
    /// It is not what should go up: the reason for the report.
    Skip(SkipReason),
}

/// Opens `relative` below `shoot` and checks it. `expected`, when known, is the
/// (device, inode) it had when it was scanned: another file there now is refused.
pub fn open_photo(
    shoot: &Path,
    relative: &Path,
    expected: Option<FileIdentity>,
) -> Result<CheckedPhoto, Refused> {
    let file = open_no_follow(shoot, relative).map_err(|error| match error.raw_os_error() {
        Some(code) if is_link_refusal(code) => Refused::Skip(SkipReason::Symlink),
        _ if error.kind() == std::io::ErrorKind::NotFound => Refused::Gone,
        _ => Refused::Skip(SkipReason::Unreadable(error.kind().to_string())),
    })?;
    let metadata = file
        .metadata()
        .map_err(|error| Refused::Skip(SkipReason::Unreadable(error.kind().to_string())))?;
    if !metadata.is_file() {
        return Err(Refused::Skip(SkipReason::NotRegular));
    }
    let identity = crate::files::overlap::identity_of(&metadata);
    // The inode alone: another machine of a studio sees the share under another device.
    if expected.is_some() && identity.map(|i| i.1) != expected.map(|i| i.1) {
        return Err(Refused::Skip(SkipReason::Replaced));
    }
    let size = metadata.len();
    if size == 0 {
        return Err(Refused::Skip(SkipReason::Empty));
    }
    let ext = relative
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match whole::check(&ext, &file, size) {
        Err(error) => Err(Refused::Skip(SkipReason::Unreadable(
            error.kind().to_string(),
        ))),
        Ok(Err(why)) => Err(Refused::Skip(SkipReason::NotAPhoto(whole::refusal(
            &ext, &why,
        )))),
        Ok(Ok(())) => Ok(CheckedPhoto {
            file,
            size,
            modified: metadata.modified().ok(),
            identity,
        }),
    }
}

/// ELOOP is what `O_NOFOLLOW` answers for a link; ENOTDIR where a folder of the path
/// was swapped for a link (`O_DIRECTORY | O_NOFOLLOW`) or a file.
#[cfg(unix)]
fn is_link_refusal(code: i32) -> bool {
    code == libc::ELOOP || code == libc::ENOTDIR
}

#[cfg(not(unix))]
fn is_link_refusal(_code: i32) -> bool {
    false
}

#[cfg(unix)]
pub fn open_no_follow(shoot: &Path, relative: &Path) -> std::io::Result<File> {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::os::unix::ffi::OsStrExt;

    let open_at = |dir: Option<&OwnedFd>, name: &std::ffi::OsStr, flags: i32| {
        let name = std::ffi::CString::new(name.as_bytes())
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
        let at = dir.map_or(libc::AT_FDCWD, |d| d.as_raw_fd());
        // SAFETY: `name` is a valid C string; the descriptor returned is owned here.
        let fd = unsafe { libc::openat(at, name.as_ptr(), flags | libc::O_CLOEXEC) };
        match fd {
            -1 => Err(std::io::Error::last_os_error()),
            // SAFETY: a fresh descriptor nobody else owns.
            fd => Ok(unsafe { OwnedFd::from_raw_fd(fd) }),
        }
    };
    // The shoot folder itself may sit below links of the user's own (a Pictures folder
    // on another drive); below it, nothing is followed.
    let mut dir = open_at(None, shoot.as_os_str(), libc::O_RDONLY | libc::O_DIRECTORY)?;
    let parts: Vec<_> = relative.components().collect();
    let (name, folders) = parts
        .split_last()
        .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
    for part in folders {
        let Component::Normal(part) = part else {
            return Err(std::io::Error::from(std::io::ErrorKind::InvalidInput));
        };
        let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW;
        dir = open_at(Some(&dir), part, flags)?;
    }
    let Component::Normal(name) = name else {
        return Err(std::io::Error::from(std::io::ErrorKind::InvalidInput));
    };
    let flags = libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY;
    Ok(File::from(open_at(Some(&dir), name, flags)?))
}

/// Elsewhere: refuse a link found by `symlink_metadata` before opening; the descriptor
/// checks after the open still apply.
#[cfg(not(unix))]
pub fn open_no_follow(shoot: &Path, relative: &Path) -> std::io::Result<File> {
    let path = shoot.join(relative);
    let mut walked = shoot.to_owned();
    for part in relative.components() {
        walked.push(part);
        if std::fs::symlink_metadata(&walked)?.file_type().is_symlink() {
            return Err(std::io::Error::other("symbolic link"));
        }
    }
    File::open(path)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn jpeg(path: &Path) {
        image::RgbImage::new(8, 8).save(path).unwrap();
    }

    fn skip_of(outcome: Result<CheckedPhoto, Refused>) -> SkipReason {
        match outcome {
            Err(Refused::Skip(reason)) => reason,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_link_anywhere_below_the_shoot_is_never_followed() {
        let dir = tempfile::tempdir().unwrap();
        let shoot = dir.path().join("Shoot");
        std::fs::create_dir_all(shoot.join("Kitchen")).unwrap();
        let secret = dir.path().join("secret.jpg");
        jpeg(&secret);
        std::os::unix::fs::symlink(&secret, shoot.join("IMG_1.jpg")).unwrap();
        std::os::unix::fs::symlink(dir.path(), shoot.join("Linked")).unwrap();
        assert_eq!(
            skip_of(open_photo(&shoot, Path::new("IMG_1.jpg"), None)),
            SkipReason::Symlink
        );
        assert_eq!(
            skip_of(open_photo(&shoot, Path::new("Linked/secret.jpg"), None)),
            SkipReason::Symlink
        );
        jpeg(&shoot.join("Kitchen/IMG_2.jpg"));
        assert!(open_photo(&shoot, Path::new("Kitchen/IMG_2.jpg"), None).is_ok());
    }

    #[test]
    fn a_fifo_is_refused_at_once_and_a_replaced_file_is_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("IMG_3.jpg");
        let name = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid path.
        assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
        assert_eq!(
            skip_of(open_photo(dir.path(), Path::new("IMG_3.jpg"), None)),
            SkipReason::NotRegular
        );

        let photo = dir.path().join("IMG_4.jpg");
        jpeg(&photo);
        let scanned = crate::files::overlap::identity(&photo);
        let swapped = dir.path().join("other.jpg");
        jpeg(&swapped);
        std::fs::rename(&swapped, &photo).unwrap();
        assert_eq!(
            skip_of(open_photo(dir.path(), Path::new("IMG_4.jpg"), scanned)),
            SkipReason::Replaced
        );
        assert!(matches!(
            open_photo(dir.path(), Path::new("IMG_5.jpg"), None),
            Err(Refused::Gone)
        ));
    }
}
