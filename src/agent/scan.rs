//! What a shoot folder holds: which files are photos to upload and which are skipped
//! (with a reason the user can read). Nested folders belong to the shoot; symlinks are
//! not followed; RAW+JPEG twins upload one side; a shoot mixing RAW and JPEG is split
//! into one batch per type, since a project takes one type only, and a shoot whose
//! subfolders have their own edit rules into one batch per set of options.

use std::path::{Path, PathBuf};

use super::names;
use crate::api::EditOptions;
use crate::shoot::{Batch, PairPolicy, Photo, PhotoKind};

/// Why a file is not uploaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    Hidden,
    SystemJunk,
    Incomplete,
    Sidecar,
    Empty,
    Unsupported,
    Symlink,
    Unreadable(String),
    TwinOf(PathBuf),
    UnencodableName,
    /// Its first bytes are not those of the format its extension names.
    NotAPhoto(String),
    /// An edited photo this agent wrote itself (the outbox reaches into the inbox).
    OwnOutput,
    /// A photo's name on something that is not a file (a FIFO, a device, a socket).
    NotRegular,
    /// Another file took the photo's place after the shoot was taken in.
    Replaced,
}

impl SkipReason {
    /// Whether the user should hear of it beyond the report: files they meant to send
    /// (or may not expect to be left out), not junk every shoot carries.
    pub fn is_notable(&self) -> bool {
        !matches!(
            self,
            SkipReason::Hidden
                | SkipReason::SystemJunk
                | SkipReason::Incomplete
                | SkipReason::Sidecar
                | SkipReason::TwinOf(_)
        )
    }
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SkipReason::Hidden => f.write_str("hidden file"),
            SkipReason::SystemJunk => f.write_str("system file (Finder/Windows metadata)"),
            SkipReason::Incomplete => f.write_str("temporary or unfinished download"),
            SkipReason::Sidecar => f.write_str("XMP sidecar (edits are not uploaded)"),
            SkipReason::Empty => f.write_str("empty file (0 bytes)"),
            SkipReason::Unsupported => f.write_str("not a JPEG or RAW photo"),
            SkipReason::Symlink => f.write_str("symbolic link (not followed)"),
            SkipReason::Unreadable(why) => write!(f, "cannot be read ({why})"),
            SkipReason::TwinOf(other) => write!(f, "same photo as {}", other.display()),
            SkipReason::UnencodableName => f.write_str(
                "its name cannot be sent (not UTF-8, or it holds a control character or a \
                 backslash); rename it to send it",
            ),
            SkipReason::NotAPhoto(why) => f.write_str(why),
            SkipReason::OwnOutput => {
                f.write_str("an edited photo imagen-sync wrote itself; it is never sent again")
            }
            SkipReason::NotRegular => f.write_str(
                "not a file (a pipe, a device or a socket under a photo's name); it was not read",
            ),
            SkipReason::Replaced => f.write_str(
                "replaced by another file after the shoot was taken in; it was not uploaded \
                 (copy the photo in again to send it)",
            ),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub relative: PathBuf,
    pub reason: SkipReason,
}

/// Extensions of pictures imagen-sync does not send (it takes JPEG and RAW only): a
/// photographer would miss them, unlike a stray text file.
const OTHER_PICTURE_EXTENSIONS: &[&str] = &[
    "png", "tif", "tiff", "heic", "heif", "webp", "gif", "bmp", "psd", "psb", "avif", "jxl",
];

impl Skipped {
    /// Whether it looks like a photo the user meant to send, so the outbox gets a report:
    /// system junk, hidden files, unfinished copies and sidecars alone never do.
    pub fn is_worth_a_report(&self) -> bool {
        match self.reason {
            SkipReason::Hidden
            | SkipReason::SystemJunk
            | SkipReason::Incomplete
            | SkipReason::Sidecar => false,
            SkipReason::Unsupported => self
                .relative
                .extension()
                .and_then(|ext| ext.to_str())
                .is_some_and(|ext| {
                    OTHER_PICTURE_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str())
                }),
            _ => true,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShootContents {
    /// At most one batch per kind, RAW first.
    pub batches: Vec<Batch>,
    pub skipped: Vec<Skipped>,
}

impl ShootContents {
    pub fn photo_count(&self) -> usize {
        self.batches.iter().map(|b| b.photos.len()).sum()
    }
}

/// Classifies a file by its name alone; `None` means it may be a photo.
fn junk_reason(name: &str) -> Option<SkipReason> {
    let lower = name.to_ascii_lowercase();
    if lower == "thumbs.db" || lower == "desktop.ini" || lower == "ehthumbs.db" {
        return Some(SkipReason::SystemJunk);
    }
    if name.starts_with("._") || name == ".DS_Store" {
        return Some(SkipReason::SystemJunk);
    }
    if name.starts_with('.') {
        return Some(SkipReason::Hidden);
    }
    let ext = lower.rsplit_once('.').map(|(_, ext)| ext).unwrap_or("");
    match ext {
        "tmp" | "part" | "crdownload" | "download" | "partial" => Some(SkipReason::Incomplete),
        "xmp" => Some(SkipReason::Sidecar),
        _ => None,
    }
}

/// Reads a shoot folder. Never follows symlinks; every file not uploaded is in `skipped`.
/// `options_for` says which edit options a photo (by its path inside the shoot) gets.
pub fn scan(
    shoot: &Path,
    pairs: PairPolicy,
    options_for: &dyn Fn(&Path) -> EditOptions,
) -> std::io::Result<ShootContents> {
    let Listing { photos, skipped } = list(shoot)?;
    Ok(contents_of(shoot, photos, skipped, pairs, options_for))
}

/// A shoot folder's files by name and metadata alone (nothing opened): the files that
/// may be photos, and what is skipped already (junk, links, folders that cannot be read).
#[derive(Debug, Default)]
pub struct Listing {
    pub photos: Vec<ListedPhoto>,
    pub skipped: Vec<Skipped>,
}

/// A file whose name says it is a photo, as listed.
#[derive(Debug, Clone)]
pub struct ListedPhoto {
    pub relative: PathBuf,
    pub kind: PhotoKind,
    pub metadata: std::fs::Metadata,
}

/// Lists a shoot folder without opening its files; never follows symlinks.
pub fn list(shoot: &Path) -> std::io::Result<Listing> {
    let mut listing = Listing::default();
    let mut pending = vec![PathBuf::new()];
    while let Some(relative_dir) = pending.pop() {
        let entries = match std::fs::read_dir(shoot.join(&relative_dir)) {
            Ok(entries) => entries,
            Err(error) if relative_dir.as_os_str().is_empty() => return Err(error),
            Err(error) => {
                listing.skipped.push(Skipped {
                    relative: relative_dir,
                    reason: SkipReason::Unreadable(error.to_string()),
                });
                continue;
            }
        };
        for entry in entries {
            let entry = entry?;
            let relative = relative_dir.join(entry.file_name());
            let skip = |reason| Skipped {
                relative: relative.clone(),
                reason,
            };
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                listing.skipped.push(skip(SkipReason::UnencodableName));
                continue;
            };
            let metadata = match entry.path().symlink_metadata() {
                Ok(metadata) => metadata,
                Err(error) => {
                    listing
                        .skipped
                        .push(skip(SkipReason::Unreadable(error.to_string())));
                    continue;
                }
            };
            if metadata.file_type().is_symlink() {
                listing.skipped.push(skip(SkipReason::Symlink));
            } else if let Some(reason) = junk_reason(&name) {
                listing.skipped.push(skip(reason));
            } else if metadata.is_dir() {
                pending.push(relative);
            } else if let Some(kind) = PhotoKind::of(&relative) {
                listing.photos.push(ListedPhoto {
                    relative,
                    kind,
                    metadata,
                });
            } else {
                listing.skipped.push(skip(SkipReason::Unsupported));
            }
        }
    }
    Ok(listing)
}

/// Opens and checks each listed photo as the upload will (readable, whole, the very
/// file listed), applies the pair policy among them, and groups them into batches.
pub fn contents_of(
    shoot: &Path,
    photos: Vec<ListedPhoto>,
    mut skipped: Vec<Skipped>,
    pairs: PairPolicy,
    options_for: &dyn Fn(&Path) -> EditOptions,
) -> ShootContents {
    let mut found: Vec<(PhotoKind, Photo)> = Vec::new();
    for ListedPhoto {
        relative,
        kind,
        metadata,
    } in photos
    {
        if !metadata.is_file() {
            skipped.push(Skipped {
                relative,
                reason: SkipReason::NotRegular,
            });
            continue;
        }
        // Opened and checked as the upload will be: a photo we may not read would
        // fail the whole shoot at upload time, and one that is not whole would be
        // billed or refused.
        let scanned = crate::files::overlap::identity_of(&metadata);
        let checked = match super::checked_open::open_photo(shoot, &relative, scanned) {
            Ok(checked) => checked,
            Err(super::checked_open::Refused::Gone) => continue,
            Err(super::checked_open::Refused::Skip(reason)) => {
                skipped.push(Skipped { relative, reason });
                continue;
            }
        };
        found.push((
            kind,
            Photo {
                relative,
                upload_name: String::new(),
                size: checked.size,
                modified: checked.modified,
                identity: checked.identity,
            },
        ));
    }
    found.sort_by(|a, b| a.1.relative.cmp(&b.1.relative));
    let found = resolve_twins(found, pairs, &mut skipped);
    skipped.sort_by(|a, b| a.relative.cmp(&b.relative));
    ShootContents {
        batches: into_batches(found, options_for, &mut skipped),
        skipped,
    }
}

/// The listed photos the pair policy leaves out (a RAW's JPEG twin, or the other way),
/// by name alone: a live shoot's twin may arrive in another batch than its pair.
pub fn twins_left_out(listed: &[ListedPhoto], pairs: PairPolicy) -> Vec<Skipped> {
    let found: Vec<(PhotoKind, Photo)> = listed
        .iter()
        .map(|listed| {
            let photo = Photo {
                relative: listed.relative.clone(),
                upload_name: String::new(),
                size: 0,
                modified: None,
                identity: None,
            };
            (listed.kind, photo)
        })
        .collect();
    let mut skipped = Vec::new();
    resolve_twins(found, pairs, &mut skipped);
    skipped
}

/// Applies the pair policy to RAW+JPEG files sharing folder and stem.
fn resolve_twins(
    found: Vec<(PhotoKind, Photo)>,
    pairs: PairPolicy,
    skipped: &mut Vec<Skipped>,
) -> Vec<(PhotoKind, Photo)> {
    if pairs == PairPolicy::Both {
        return found;
    }
    let stem_key = |photo: &Photo| {
        photo
            .relative
            .with_extension("")
            .to_string_lossy()
            .to_lowercase()
    };
    let keep = match pairs {
        PairPolicy::Jpeg => PhotoKind::Jpeg,
        _ => PhotoKind::Raw,
    };
    let kept: std::collections::HashMap<String, PathBuf> = found
        .iter()
        .filter(|(kind, _)| *kind == keep)
        .map(|(_, photo)| (stem_key(photo), photo.relative.clone()))
        .collect();
    found
        .into_iter()
        .filter(|(kind, photo)| {
            if *kind == keep {
                return true;
            }
            match kept.get(&stem_key(photo)) {
                Some(twin) => {
                    skipped.push(Skipped {
                        relative: photo.relative.clone(),
                        reason: SkipReason::TwinOf(twin.clone()),
                    });
                    false
                }
                None => true,
            }
        })
        .collect()
}

/// Groups by type (RAW first), then by edit options (in the order the photos first
/// ask for them), and gives each photo its unique upload name.
fn into_batches(
    found: Vec<(PhotoKind, Photo)>,
    options_for: &dyn Fn(&Path) -> EditOptions,
    skipped: &mut Vec<Skipped>,
) -> Vec<Batch> {
    let mut groups: Vec<(PhotoKind, EditOptions, Vec<Photo>)> = Vec::new();
    for kind in [PhotoKind::Raw, PhotoKind::Jpeg] {
        for (_, photo) in found.iter().filter(|(k, _)| *k == kind) {
            let options = options_for(&photo.relative);
            match groups
                .iter_mut()
                .find(|(k, o, _)| *k == kind && *o == options)
            {
                Some((_, _, photos)) => photos.push(photo.clone()),
                None => groups.push((kind, options, vec![photo.clone()])),
            }
        }
    }
    let mut batches = Vec::new();
    for (kind, options, mut photos) in groups {
        let names = names::encode_all(photos.iter().map(|p| p.relative.as_path()));
        let mut named = Vec::with_capacity(photos.len());
        for (mut photo, name) in photos.drain(..).zip(names) {
            match name {
                Some(name) => {
                    photo.upload_name = name;
                    named.push(photo);
                }
                None => skipped.push(Skipped {
                    relative: photo.relative,
                    reason: SkipReason::UnencodableName,
                }),
            }
        }
        if !named.is_empty() {
            batches.push(Batch {
                kind,
                options,
                photos: named,
            });
        }
    }
    batches
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whole(ext: &str) -> Vec<u8> {
        crate::agent::whole::stand_in(ext, 100, 1)
    }

    fn touch(root: &Path, relative: &str, bytes: &[u8]) {
        let path = root.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }

    fn relatives(batch: &Batch) -> Vec<String> {
        batch
            .photos
            .iter()
            .map(|p| p.relative.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn junk_is_skipped_with_a_reason_and_nested_photos_belong_to_the_shoot() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let (jpeg, cut) = (whole("jpg"), whole("jpg")[..40].to_vec());
        for (name, bytes) in [
            ("IMG_1.JPG", &jpeg[..]),
            ("Kitchen/IMG_2.jpeg", &jpeg),
            ("FAKE.jpg", b"a text file, renamed"),
            ("CUT.jpg", &cut),
            ("DSC_9.NEF", &jpeg),
            (".DS_Store", b"x"),
            ("._IMG_1.JPG", b"x"),
            ("Thumbs.db", b"x"),
            ("Desktop.ini", b"x"),
            ("IMG_3.jpg.part", b"x"),
            ("IMG_4.crdownload", b"x"),
            ("copy.tmp", b"x"),
            ("IMG_1.xmp", b"x"),
            ("empty.jpg", b""),
            ("notes.txt", b"x"),
            (".hidden/IMG_9.jpg", b"x"),
        ] {
            touch(root, name, bytes);
        }
        #[cfg(unix)]
        std::os::unix::fs::symlink("/etc/hostname", root.join("link.jpg")).unwrap();

        let contents = scan(root, PairPolicy::Raw, &|_| EditOptions::default()).unwrap();
        assert_eq!(contents.batches.len(), 1);
        assert_eq!(
            relatives(&contents.batches[0]),
            ["IMG_1.JPG", "Kitchen/IMG_2.jpeg"]
        );
        assert_eq!(
            contents.batches[0].photos[1].upload_name,
            "Kitchen~IMG_2.jpeg"
        );
        let reasons: Vec<(String, String)> = contents
            .skipped
            .iter()
            .map(|s| {
                (
                    s.relative.to_string_lossy().into_owned(),
                    s.reason.to_string(),
                )
            })
            .collect();
        let skipped_names: Vec<&str> = reasons.iter().map(|(n, _)| n.as_str()).collect();
        let mut expected = vec![
            ".DS_Store",
            "._IMG_1.JPG",
            ".hidden",
            "DSC_9.NEF",
            "CUT.jpg",
            "Desktop.ini",
            "FAKE.jpg",
            "IMG_1.xmp",
            "IMG_3.jpg.part",
            "IMG_4.crdownload",
            "Thumbs.db",
            "copy.tmp",
            "empty.jpg",
            "notes.txt",
        ];
        if cfg!(unix) {
            expected.push("link.jpg");
        }
        expected.sort();
        assert_eq!(skipped_names, expected, "{reasons:?}");
        let fake = &reasons.iter().find(|(n, _)| n == "FAKE.jpg").unwrap().1;
        assert!(fake.starts_with("not a real JPEG photo"), "{fake}");
        let nef = &reasons.iter().find(|(n, _)| n == "DSC_9.NEF").unwrap().1;
        assert!(nef.starts_with("not a real NEF RAW photo"), "{nef}");
        let cut = &reasons.iter().find(|(n, _)| n == "CUT.jpg").unwrap().1;
        assert!(cut.starts_with("an incomplete JPEG photo"), "{cut}");
    }

    #[test]
    fn raw_and_jpeg_twins_upload_one_side_and_a_mixed_shoot_is_split_by_type() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for name in ["DSC_1.NEF", "DSC_1.JPG", "DSC_2.nef", "Drone/DJI_5.jpg"] {
            let head = match PhotoKind::of(Path::new(name)) {
                Some(PhotoKind::Raw) => whole("nef"),
                _ => whole("jpg"),
            };
            touch(root, name, &head);
        }
        let raw_first = scan(root, PairPolicy::Raw, &|_| EditOptions::default()).unwrap();
        assert_eq!(raw_first.batches.len(), 2, "a RAW batch and a JPEG batch");
        assert_eq!(raw_first.batches[0].kind, PhotoKind::Raw);
        assert_eq!(relatives(&raw_first.batches[0]), ["DSC_1.NEF", "DSC_2.nef"]);
        assert_eq!(relatives(&raw_first.batches[1]), ["Drone/DJI_5.jpg"]);
        assert_eq!(
            raw_first.skipped,
            [Skipped {
                relative: "DSC_1.JPG".into(),
                reason: SkipReason::TwinOf("DSC_1.NEF".into())
            }]
        );

        let jpeg_first = scan(root, PairPolicy::Jpeg, &|_| EditOptions::default()).unwrap();
        assert_eq!(relatives(&jpeg_first.batches[0]), ["DSC_2.nef"]);
        assert_eq!(
            relatives(&jpeg_first.batches[1]),
            ["DSC_1.JPG", "Drone/DJI_5.jpg"]
        );

        let both = scan(root, PairPolicy::Both, &|_| EditOptions::default()).unwrap();
        assert_eq!(both.photo_count(), 4);
        assert!(both.skipped.is_empty());
    }
}
