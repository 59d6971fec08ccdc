//! Atomic, verified writes into the outbox. A photo is streamed into a hidden temp file
//! beside its final name (a dot-file not ending in .jpg, so no gallery picks it up),
//! checked to be a structurally valid JPEG, fsynced, then renamed into place without
//! ever replacing a file that is already there (a suffix is added instead). Photos and
//! folders get the mode the user's umask gives any new file (others can read them).

use std::io::Read;
use std::path::{Path, PathBuf};

use tokio::fs::File;

use super::names::MAX_NAME_BYTES;
use crate::files::atomic_file;

/// Why an output could not be written.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error("{}", crate::words::io_problem(path, during, source))]
    Io {
        path: PathBuf,
        during: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("the downloaded file for {name:?} is not a valid JPEG ({reason}); it was discarded")]
    NotAJpeg { name: String, reason: String },
    #[error(transparent)]
    Download(#[from] crate::api::ApiError),
}

fn io<'a>(path: &'a Path, during: &'static str) -> impl FnOnce(std::io::Error) -> OutboxError + 'a {
    move |source| OutboxError::Io {
        path: path.to_owned(),
        during,
        source,
    }
}

/// A downloaded photo, verified, waiting in a hidden temp file beside its destination.
pub struct VerifiedPhoto {
    temp: tempfile::TempPath,
}

impl VerifiedPhoto {
    /// Makes its bytes durable (blocking): done before it is renamed into place, so a
    /// photo at its final name is always whole, even after a power cut. Photos placed
    /// together are synced at once, so the disk commits them together.
    pub fn sync(&self) -> Result<(), OutboxError> {
        VerifiedPhoto::sync_at(&self.temp)
    }

    /// [`VerifiedPhoto::sync`] by the temp file's path, for a sync on another thread.
    pub fn sync_at(path: &Path) -> Result<(), OutboxError> {
        std::fs::File::open(path)
            .and_then(|file| file.sync_all())
            .map_err(io(path, "flushing to disk"))
    }

    /// Where it waits (the hidden temp file).
    pub fn path(&self) -> &Path {
        &self.temp
    }

    /// Syncs it, renames it into `dest` unless something is already there (then
    /// `Ok(Err(self))`, to try another name), and syncs its folder so the rename lasts.
    /// Never replaces a file.
    pub fn place(self, dest: &Path) -> Result<Result<(), VerifiedPhoto>, OutboxError> {
        self.sync()?;
        let placed = self.place_synced(dest)?;
        if placed.is_ok()
            && let Some(dir) = dest.parent()
        {
            atomic_file::sync_dir(dir);
        }
        Ok(placed)
    }

    /// [`VerifiedPhoto::place`] for a photo already synced, without its folder's sync:
    /// for photos placed together, whose folders the caller syncs once for all.
    pub fn place_synced(self, dest: &Path) -> Result<Result<(), VerifiedPhoto>, OutboxError> {
        match self.temp.persist_noclobber(dest) {
            Ok(()) => Ok(Ok(())),
            Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => {
                Ok(Err(VerifiedPhoto { temp: e.path }))
            }
            Err(e) => Err(io(dest, "moving into place")(e.error)),
        }
    }
}

/// Streams a photo into a hidden temp file in `dir` (filled by `fill`) and checks it is
/// a JPEG; it is synced when placed. `name` only labels errors. On error nothing is
/// left behind.
pub async fn prepare_photo<F, Fut>(
    dir: &Path,
    name: &str,
    fill: F,
) -> Result<VerifiedPhoto, OutboxError>
where
    F: FnOnce(File) -> Fut,
    Fut: Future<Output = Result<File, crate::api::ApiError>>,
{
    tokio::fs::create_dir_all(dir)
        .await
        .map_err(io(dir, "creating the outbox folder"))?;
    let temp = atomic_file::temp_in(dir, atomic_file::Access::LikeUserFiles)
        .map_err(io(dir, "creating a temp file"))?;
    let (std_file, temp_path) = temp.into_parts();
    let file = fill(File::from_std(std_file)).await?;
    drop(file);
    let checked = temp_path.to_path_buf();
    tokio::task::spawn_blocking(move || verify_jpeg(&checked))
        .await
        .map_err(|e| OutboxError::Io {
            path: temp_path.to_path_buf(),
            during: "checking the JPEG",
            source: std::io::Error::other(e),
        })?
        .map_err(|reason| OutboxError::NotAJpeg {
            name: name.to_owned(),
            reason: reason.into(),
        })?;
    Ok(VerifiedPhoto { temp: temp_path })
}

/// The first of `name`, `name (2).ext`, ... that does not exist in `dir`.
pub fn free_name(dir: &Path, name: &str) -> PathBuf {
    free_name_besides(dir, name, &std::collections::HashSet::new())
}

/// [`free_name`], not one of `taken` either (names given to photos being placed).
pub fn free_name_besides(
    dir: &Path,
    name: &str,
    taken: &std::collections::HashSet<PathBuf>,
) -> PathBuf {
    candidate_names(name)
        .map(|candidate| dir.join(candidate))
        .find(|path| !taken.contains(path) && path.symlink_metadata().is_err())
        .expect("candidate names never run out")
}

/// Writes one output photo as `dir/name`, filled by `fill`. Returns the final path,
/// which differs from `dir/name` when a file of that name already exists.
pub async fn write_photo<F, Fut>(dir: &Path, name: &str, fill: F) -> Result<PathBuf, OutboxError>
where
    F: FnOnce(File) -> Fut,
    Fut: Future<Output = Result<File, crate::api::ApiError>>,
{
    let mut photo = prepare_photo(dir, name, fill).await?;
    loop {
        let dest = free_name(dir, name);
        match photo.place(&dest)? {
            Ok(()) => return Ok(dest),
            Err(unplaced) => photo = unplaced,
        }
    }
}

/// `name`, then `name (2).ext`, `name (3).ext`, ...
fn candidate_names(name: &str) -> impl Iterator<Item = String> + '_ {
    let (stem, ext) = match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => (stem, format!(".{ext}")),
        _ => (name, String::new()),
    };
    std::iter::once(name.to_owned()).chain((2..).map(move |n| {
        let suffix = format!(" ({n}){ext}");
        // A name at the file system's limit would not fit its suffix: shorten the stem.
        let room = MAX_NAME_BYTES.saturating_sub(suffix.len());
        format!("{}{suffix}", truncate_to_bytes(stem, room))
    }))
}

/// The longest prefix of `text` of at most `max` bytes that ends on a character.
fn truncate_to_bytes(text: &str, max: usize) -> &str {
    let mut end = max.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// A structural check: starts with SOI, ends with EOI (trailing padding allowed), and
/// its header decodes to non-zero dimensions.
pub fn verify_jpeg(path: &Path) -> Result<(), crate::words::Refusal> {
    let mut file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let len = file.metadata().map_err(|e| e.to_string())?.len();
    let mut head = [0u8; 2];
    file.read_exact(&mut head)
        .map_err(|_| "file is too short".to_owned())?;
    if head != [0xFF, 0xD8] {
        return Err("no JPEG start marker".into());
    }
    let tail_len = len.min(4096);
    let mut tail = vec![0u8; tail_len as usize];
    use std::io::Seek;
    file.seek(std::io::SeekFrom::End(-(tail_len as i64)))
        .and_then(|_| file.read_exact(&mut tail))
        .map_err(|e| e.to_string())?;
    let trimmed = tail
        .iter()
        .rposition(|&b| b != 0x00)
        .map_or(&tail[..0], |end| &tail[..=end]);
    if !trimmed.ends_with(&[0xFF, 0xD9]) {
        return Err("no JPEG end marker: the file is truncated".into());
    }
    let (width, height) = image::ImageReader::open(path)
        .and_then(|r| r.with_guessed_format())
        .map_err(|e| e.to_string())?
        .into_dimensions()
        .map_err(|e| format!("unreadable JPEG header ({e})"))?;
    if width == 0 || height == 0 {
        return Err("zero-sized image".into());
    }
    Ok(())
}

/// Makes every outbox. An inbox is never made here: a missing one is an unmounted
/// drive, waited for (the watcher says so), not replaced by an empty local folder.
pub(super) fn make_every(config: &crate::config::Config) -> anyhow::Result<()> {
    for folder in &config.folders {
        let outbox = &folder.outbox;
        anyhow::Context::with_context(std::fs::create_dir_all(outbox), || {
            format!(
                "cannot make the outbox {}: check that its drive is connected and that \
                 you may write there, or choose another folder",
                outbox.display()
            )
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    fn jpeg_bytes() -> Vec<u8> {
        let mut bytes = std::io::Cursor::new(Vec::new());
        image::RgbImage::from_pixel(8, 8, image::Rgb([200, 10, 10]))
            .write_to(&mut bytes, image::ImageFormat::Jpeg)
            .unwrap();
        bytes.into_inner()
    }

    async fn write_bytes(dir: &Path, name: &str, bytes: Vec<u8>) -> Result<PathBuf, OutboxError> {
        write_photo(dir, name, |mut file| async move {
            file.write_all(&bytes).await.unwrap();
            Ok(file)
        })
        .await
    }

    #[tokio::test]
    async fn a_name_at_the_length_limit_is_shortened_to_fit_its_suffix() {
        let dir = tempfile::tempdir().unwrap();
        let long = format!("{}.jpg", "é".repeat(125));
        assert_eq!(long.len(), 254);
        std::fs::write(dir.path().join(&long), b"the user's own").unwrap();
        let written = write_bytes(dir.path(), &long, jpeg_bytes()).await.unwrap();
        let name = written.file_name().unwrap().to_str().unwrap();
        assert!(name.len() <= 255 && name.ends_with(" (2).jpg"), "{name}");
        assert_eq!(
            std::fs::read(dir.path().join(&long)).unwrap(),
            b"the user's own"
        );
    }

    #[tokio::test]
    async fn a_users_own_file_is_never_overwritten_and_a_bad_download_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.jpg"), b"the user's own edit").unwrap();
        let written = write_bytes(dir.path(), "a.jpg", jpeg_bytes())
            .await
            .unwrap();
        assert_eq!(written, dir.path().join("a (2).jpg"));
        assert_eq!(
            std::fs::read(dir.path().join("a.jpg")).unwrap(),
            b"the user's own edit"
        );

        let mut truncated = jpeg_bytes();
        truncated.truncate(truncated.len() - 10);
        let refused = write_bytes(dir.path(), "b.jpg", truncated)
            .await
            .unwrap_err();
        assert!(matches!(refused, OutboxError::NotAJpeg { .. }), "{refused}");
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["a (2).jpg", "a.jpg"],
            "no temp file or partial photo remains"
        );
    }
}
