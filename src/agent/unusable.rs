//! Listing an inbox: its shoot folders, and the folders the agent cannot take (a link
//! to a folder, a name that is not text), each with what the photographer should do.
//! The unusable ones are recorded as folders not sent, so `status`, the dashboard and
//! the tray's menu show them until they are fixed.

use std::path::Path;

/// Why a folder in an inbox cannot be a shoot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Unusable {
    /// A symbolic link to a folder: links are never followed, so nothing outside the
    /// inbox is ever sent.
    SymbolicLink,
    /// Its name is not valid UTF-8, so it cannot be named to the API or in the journal.
    NameNotText,
}

impl Unusable {
    /// The reason as the surfaces show it, with what to do.
    pub fn words(self) -> &'static str {
        match self {
            Unusable::SymbolicLink => {
                "a link to a folder, which imagen-sync does not follow: move or copy the \
                 photos into a real folder in the inbox"
            }
            Unusable::NameNotText => {
                "its name is not valid text (it was made on a system with another character \
                 set): rename the folder"
            }
        }
    }
}

/// A folder of an inbox that cannot be a shoot: its name as people read it (control
/// characters escaped, bytes that are not text replaced) and why.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnusableFolder {
    pub name: String,
    pub why: Unusable,
}

/// What one look at an inbox found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Listing {
    /// The shoot folders (real folders with a text name, not hidden).
    pub shoots: Vec<String>,
    /// The folders that cannot be shoots, sorted.
    pub unusable: Vec<UnusableFolder>,
}

/// Lists `inbox`'s direct subfolders; `None` when the inbox cannot be read (missing).
/// Hidden entries are left alone, as are files and links to files: only folders are
/// shoots.
pub fn list(inbox: &Path) -> Option<Listing> {
    let mut listing = Listing::default();
    for entry in std::fs::read_dir(inbox).ok()?.flatten() {
        let name = entry.file_name();
        if name.as_encoded_bytes().starts_with(b".") {
            continue;
        }
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let why = if kind.is_symlink() {
            // Only a link that leads to a folder looks like a shoot to the user.
            match std::fs::metadata(entry.path()) {
                Ok(target) if target.is_dir() => Unusable::SymbolicLink,
                _ => continue,
            }
        } else if !kind.is_dir() {
            continue;
        } else if let Some(text) = name.to_str() {
            listing.shoots.push(text.to_owned());
            continue;
        } else {
            Unusable::NameNotText
        };
        listing.unusable.push(UnusableFolder {
            name: crate::words::printable(&name.to_string_lossy()).into_owned(),
            why,
        });
    }
    listing.unusable.sort();
    Some(listing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_to_folders_and_names_that_are_not_text_are_told_and_the_rest_are_shoots() {
        use std::os::unix::ffi::OsStrExt;
        let inbox = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        std::fs::create_dir(inbox.path().join("123 Main St")).unwrap();
        std::fs::create_dir(inbox.path().join(".hidden")).unwrap();
        std::fs::write(inbox.path().join("loose.jpg"), b"x").unwrap();
        std::os::unix::fs::symlink(elsewhere.path(), inbox.path().join("Linked Shoot")).unwrap();
        std::os::unix::fs::symlink("/nowhere", inbox.path().join("Dangling")).unwrap();
        let latin1 = std::ffi::OsStr::from_bytes(b"Caf\xe9 Shoot");
        std::fs::create_dir(inbox.path().join(latin1)).unwrap();

        let listing = list(inbox.path()).unwrap();
        assert_eq!(listing.shoots, ["123 Main St"]);
        assert_eq!(
            listing.unusable,
            [
                UnusableFolder {
                    name: "Caf\u{FFFD} Shoot".into(),
                    why: Unusable::NameNotText
                },
                UnusableFolder {
                    name: "Linked Shoot".into(),
                    why: Unusable::SymbolicLink
                },
            ]
        );
        assert_eq!(list(&inbox.path().join("missing")), None);
    }
}
