//! Which shoot folders a view reads, so that a journal of years of shoots costs each
//! view only what it shows: the folders needing something (working, held, failed) and
//! a page of the newest finished ones, a name searched for, or one folder. A folder's
//! projects always come together, so a shoot is never shown in part.

use super::ShootSummary;

/// The shoot folders a view reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShootsWanted<'a> {
    /// Only the folder of this name (in any inbox).
    pub folder: Option<&'a str>,
    /// Only folders whose name holds this, ignoring case.
    pub search: Option<&'a str>,
    /// Every folder with a project not done, whatever the page; the page is then of
    /// the finished ones.
    pub unfinished: bool,
    /// How many of the newest folders (of those the page is of), after `skip`.
    pub newest: usize,
    pub skip: usize,
}

impl<'a> ShootsWanted<'a> {
    /// The `count` newest folders, whatever their state (the tray's Recent shoots).
    pub fn newest(count: usize) -> ShootsWanted<'a> {
        ShootsWanted {
            folder: None,
            search: None,
            unfinished: false,
            newest: count,
            skip: 0,
        }
    }

    /// Every folder not finished, and the `count` newest finished ones.
    pub fn unfinished_and_newest(count: usize) -> ShootsWanted<'a> {
        ShootsWanted {
            unfinished: true,
            ..ShootsWanted::newest(count)
        }
    }

    /// Every folder.
    pub fn all() -> ShootsWanted<'a> {
        ShootsWanted::newest(usize::MAX)
    }

    /// The projects of one folder (of that name in any inbox).
    pub fn folder(name: &'a str) -> ShootsWanted<'a> {
        ShootsWanted {
            folder: Some(name),
            ..ShootsWanted::all()
        }
    }

    /// Only folders whose name holds `text`, ignoring case (none: all).
    pub fn search(self, text: Option<&'a str>) -> ShootsWanted<'a> {
        let search = text.map(str::trim).filter(|t| !t.is_empty());
        ShootsWanted { search, ..self }
    }

    /// The page after the first `skip` folders.
    pub fn skip(self, skip: usize) -> ShootsWanted<'a> {
        ShootsWanted { skip, ..self }
    }

    /// The page's size and offset as SQL takes them.
    pub(super) fn limit_and_offset(&self) -> (i64, i64) {
        let clamp = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        (clamp(self.newest), clamp(self.skip))
    }
}

/// What a view read: the rows (newest first) and how many folders of those the page is
/// of were left out past it.
#[derive(Debug, Clone, Default)]
pub struct ShootsPage {
    pub rows: Vec<ShootSummary>,
    /// Folders of the page's kind (finished ones when `unfinished` was asked) matching,
    /// in all: shown, skipped or after.
    pub paged_total: usize,
}

impl ShootsPage {
    /// How many folders of the page's kind come after it.
    pub fn after(&self, wanted: &ShootsWanted<'_>) -> usize {
        let shown = self.paged_total.saturating_sub(wanted.skip);
        shown.saturating_sub(wanted.newest)
    }
}
