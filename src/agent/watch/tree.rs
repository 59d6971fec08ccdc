//! Watching a folder tree natively, each folder on its own rather than through
//! notify's recursive mode: arming that stats every file below the top (a million,
//! after years of shoots), where the folders alone are enough, and link counts spare
//! reading most of them. A folder made or moved in later is watched when its event
//! arrives ([`made_folders`]); files that landed in it before are missed as events
//! only, so whoever reads the folder on an event still sees them.

use std::path::Path;

use tokio::sync::mpsc;

/// Raw change events, as notify sends them.
pub(crate) type RawEvents = mpsc::UnboundedReceiver<notify::Result<notify::Event>>;

/// A native watcher whose events arrive on the returned channel; `None` (logged with
/// `otherwise`, what happens without it) where the platform has none.
pub(crate) fn native_watcher(otherwise: &str) -> (Option<notify::RecommendedWatcher>, RawEvents) {
    let (sender, raw) = mpsc::unbounded_channel();
    let watcher = notify::recommended_watcher(move |event| {
        let _ = sender.send(event);
    });
    match watcher {
        Ok(watcher) => (Some(watcher), raw),
        Err(error) => {
            tracing::warn!(%error, "native file watching is unavailable: {otherwise}");
            (None, raw)
        }
    }
}

/// Watches `top` and each folder below it, each on its own.
pub(crate) fn watch_tree(
    watcher: &mut notify::RecommendedWatcher,
    top: &Path,
    link_counts_kept: bool,
) -> notify::Result<()> {
    use notify::Watcher as _;
    let mut result = Ok(());
    super::stamps::each_folder(top, link_counts_kept, |relative, _| {
        if result.is_ok() {
            let folder = top.join(relative);
            result = match watcher.watch(&folder, notify::RecursiveMode::NonRecursive) {
                // Gone since it was listed: nothing to watch.
                Err(error) if matches!(error.kind, notify::ErrorKind::PathNotFound) => Ok(()),
                other => other,
            };
        }
    });
    result
}

/// Why a watch could not be set, without the folder it failed at (which changes from
/// one try to the next, so the same problem would be told again and again).
pub(crate) fn why_not_watched(error: &notify::Error) -> String {
    match &error.kind {
        notify::ErrorKind::MaxFilesWatch => {
            "the system's limit of watched folders is reached".into()
        }
        notify::ErrorKind::Io(error) => error.to_string(),
        notify::ErrorKind::Generic(text) => text.clone(),
        other => format!("{other:?}"),
    }
}

/// The real folders (not links) an event says were made or moved in.
pub(crate) fn made_folders(event: &notify::Event) -> impl Iterator<Item = &Path> {
    use notify::event::{CreateKind, ModifyKind, RenameMode};
    let made = matches!(
        event.kind,
        notify::EventKind::Create(CreateKind::Folder | CreateKind::Any)
            | notify::EventKind::Modify(ModifyKind::Name(RenameMode::To | RenameMode::Any))
    );
    (event.paths.iter())
        .filter(move |_| made)
        .filter(|path| path.symlink_metadata().is_ok_and(|m| m.is_dir()))
        .map(|path| path.as_path())
}
