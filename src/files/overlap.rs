//! Where a folder really is, and whether an outbox and an inbox overlap once `..`,
//! symlinks and the same directory reached twice (a bind mount, a second share path)
//! are seen through. An outbox that is, holds or sits inside an inbox would feed the
//! agent its own outputs as new photos: a billing loop. Config validation and intake
//! both ask here.

use std::path::{Component, Path, PathBuf};

/// A file's identity on its drive: (device, inode). `None` where the platform has no
/// stable one in std (Windows) or the path does not exist.
pub type FileIdentity = (u64, u64);

pub fn identity(path: &Path) -> Option<FileIdentity> {
    identity_of(&std::fs::metadata(path).ok()?)
}

/// A file's size and modification time ("size:nanoseconds"): when it differs from the
/// one recorded, someone changed the file. `None` when it cannot be read.
pub fn stamp(path: &Path) -> Option<String> {
    let metadata = std::fs::metadata(path).ok()?;
    let modified = metadata
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    Some(format!("{}:{}", metadata.len(), modified.as_nanos()))
}

/// The identity of a file already stat'ed.
pub fn identity_of(metadata: &std::fs::Metadata) -> Option<FileIdentity> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        Some((metadata.dev(), metadata.ino()))
    }
    #[cfg(not(unix))]
    {
        let _ = metadata;
        None
    }
}

/// `path` made absolute with every symlink and `..` resolved as far as it exists; the
/// part that does not exist yet is normalised by its words.
pub fn resolve(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    let mut existing = absolute.clone();
    let mut missing: Vec<std::ffi::OsString> = Vec::new();
    loop {
        if let Ok(real) = std::fs::canonicalize(&existing) {
            let mut resolved = real;
            for part in missing.iter().rev() {
                push_normalised(&mut resolved, Path::new(part));
            }
            return resolved;
        }
        match (existing.file_name(), existing.parent()) {
            (Some(name), Some(parent)) => {
                missing.push(name.to_owned());
                existing = parent.to_owned();
            }
            // `..` as the last word, or the root itself is missing: normalise by words.
            _ => {
                let mut resolved = PathBuf::new();
                push_normalised(&mut resolved, &absolute);
                return resolved;
            }
        }
    }
}

fn push_normalised(base: &mut PathBuf, tail: &Path) {
    for component in tail.components() {
        match component {
            Component::ParentDir => {
                base.pop();
            }
            Component::CurDir => {}
            other => base.push(other.as_os_str()),
        }
    }
}

/// How an outbox relates to an inbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overlap {
    Same,
    OutboxInsideInbox,
    InboxInsideOutbox,
}

impl Overlap {
    /// What the user reads, naming the inbox.
    pub fn describe(self, inbox: &Path) -> String {
        let how = match self {
            Overlap::Same => "is the same folder as the inbox",
            Overlap::OutboxInsideInbox => "is inside the inbox",
            Overlap::InboxInsideOutbox => "contains the inbox",
        };
        format!(
            "{how} {} (followed through `..` and symlinks): edited photos would be taken \
             for new shoots and billed again; choose an outbox outside every inbox",
            inbox.display()
        )
    }
}

/// Whether `outbox` and `inbox` are, hold or sit inside each other.
pub fn overlap(outbox: &Path, inbox: &Path) -> Option<Overlap> {
    let (out, inn) = (resolve(outbox), resolve(inbox));
    if out == inn {
        return Some(Overlap::Same);
    }
    if out.starts_with(&inn) {
        return Some(Overlap::OutboxInsideInbox);
    }
    if inn.starts_with(&out) {
        return Some(Overlap::InboxInsideOutbox);
    }
    // The same directory reached by two paths (a bind mount): compare identities up
    // each folder's existing ancestors.
    let (out_id, in_id) = (identity(&out), identity(&inn));
    if out_id.is_some() && out_id == in_id {
        return Some(Overlap::Same);
    }
    if in_id.is_some() && has_ancestor_with(&out, in_id) {
        return Some(Overlap::OutboxInsideInbox);
    }
    if out_id.is_some() && has_ancestor_with(&inn, out_id) {
        return Some(Overlap::InboxInsideOutbox);
    }
    None
}

fn has_ancestor_with(path: &Path, wanted: Option<FileIdentity>) -> bool {
    path.ancestors()
        .skip(1)
        .any(|ancestor| identity(ancestor) == wanted)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn dot_dot_and_symlinks_are_seen_through() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("in")).unwrap();
        std::fs::create_dir_all(root.join("out")).unwrap();
        std::os::unix::fs::symlink(root.join("in"), root.join("link")).unwrap();
        let inbox = root.join("in");
        assert_eq!(
            overlap(&root.join("out/../in"), &inbox),
            Some(Overlap::Same)
        );
        assert_eq!(overlap(&root.join("link"), &inbox), Some(Overlap::Same));
        assert_eq!(
            overlap(&root.join("link/edited/not-yet"), &inbox),
            Some(Overlap::OutboxInsideInbox)
        );
        assert_eq!(
            overlap(&root.join("out/../../"), &inbox),
            Some(Overlap::InboxInsideOutbox)
        );
        assert_eq!(overlap(&root.join("out"), &inbox), None);
        assert_eq!(overlap(&root.join("missing/out"), &inbox), None);
        assert_eq!(
            overlap(&root.join("input"), &inbox),
            None,
            "a prefix by letters only"
        );
    }
}
