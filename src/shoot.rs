//! What a shoot folder is made of, as intake finds it and the journal records it:
//! photos by kind, batches of one kind and one set of edit options (one project each),
//! and which side of a RAW+JPEG pair goes up.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// RAW extensions Imagen accepts (DESIGN.md), lower case.
pub const RAW_EXTENSIONS: &[&str] = &[
    "dng", "nef", "cr2", "cr3", "arw", "nrw", "crw", "srf", "sr2", "orf", "raw", "rw2", "raf",
    "ptx", "pef", "rwl", "srw", "3fr", "fff",
];
pub const JPEG_EXTENSIONS: &[&str] = &["jpg", "jpeg"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PhotoKind {
    Raw,
    Jpeg,
}

impl PhotoKind {
    pub fn of(path: &Path) -> Option<PhotoKind> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        if RAW_EXTENSIONS.contains(&ext.as_str()) {
            Some(PhotoKind::Raw)
        } else if JPEG_EXTENSIONS.contains(&ext.as_str()) {
            Some(PhotoKind::Jpeg)
        } else {
            None
        }
    }
}

/// Which side of a RAW+JPEG pair (same folder, same stem) is uploaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PairPolicy {
    /// Upload the RAW, skip its JPEG twin (the camera's preview).
    #[default]
    Raw,
    /// Upload the JPEG, skip the RAW.
    Jpeg,
    /// Upload both (they then land in two projects, one per type).
    Both,
}

/// A photo to upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Photo {
    /// Path relative to the shoot folder.
    pub relative: PathBuf,
    pub upload_name: String,
    pub size: u64,
    pub modified: Option<std::time::SystemTime>,
    /// The file's (device, inode), to tell the agent's own outputs from new photos.
    pub identity: Option<crate::files::overlap::FileIdentity>,
}

/// Photos of one type, edited with one set of options: one project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub kind: PhotoKind,
    pub options: crate::api::EditOptions,
    pub photos: Vec<Photo>,
}
