//! The journal's safety copy and what to do when the journal is damaged. The agent
//! keeps a copy of its journal beside it (`journal.backup.sqlite3`), refreshed when it
//! opens the journal to write (30 s later, unless nothing was written since) and after each
//! shoot finishes (a big journal less often: see [`COPY_DUTY`]). A
//! damaged journal (a disk error, a file cut short) is said with where that copy is and
//! how to go on from it without editing finished shoots again; `imagen-sync journal
//! restore` does it.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use rusqlite::{Connection, OpenFlags};

use super::SqliteJournal;
use crate::journal::{JournalError, Result};

/// After a copy that took `t`, the next waits `COPY_DUTY × t`: a small journal is
/// copied after every finished shoot, a big one at most a twentieth of the time.
const COPY_DUTY: u32 = 20;

/// How long after the journal is opened its copy is refreshed.
pub(super) const AFTER_START: Duration = Duration::from_secs(30);

/// The copy's file inside a data folder.
pub(crate) fn backup_path(data_dir: &Path) -> PathBuf {
    data_dir.join("journal.backup.sqlite3")
}

/// Whether the copy holds everything the journal does: made after the journal and its
/// write-ahead log were last written.
pub(super) fn copy_is_current(data_dir: &Path) -> bool {
    let journal = SqliteJournal::path_in(data_dir);
    let written = |path: PathBuf| std::fs::metadata(path).and_then(|m| m.modified()).ok();
    let wal = journal.with_extension("sqlite3-wal");
    made_at(data_dir).is_some_and(|copy| {
        [written(journal), written(wal)]
            .into_iter()
            .flatten()
            .all(|at| at <= copy)
    })
}

/// When the copy was made, if there is one.
fn made_at(data_dir: &Path) -> Option<SystemTime> {
    std::fs::metadata(backup_path(data_dir))
        .and_then(|m| m.modified())
        .ok()
}

/// Refreshes the safety copy off the caller's thread, from a connection of its own
/// (the journal is in WAL mode, so copying never blocks the agent's writes). Requests
/// made while a copy runs are served by one more copy after it.
#[derive(Debug, Default)]
pub(super) struct Refresher {
    state: Arc<Mutex<Refreshing>>,
}

#[derive(Debug, Default)]
struct Refreshing {
    running: bool,
    wanted: bool,
}

impl Refresher {
    /// Asks for a fresh copy of the journal of `data_dir`.
    pub(super) fn request(&self, data_dir: &Path) {
        request_on(&self.state, data_dir);
    }

    /// Asks for a fresh copy `delay` from now, unless one was made meanwhile: at
    /// start-up, so copying a big journal does not slow the agent's first look at
    /// its inboxes.
    pub(super) fn request_after(&self, data_dir: &Path, delay: Duration) {
        let (shared, data_dir) = (self.state.clone(), data_dir.to_owned());
        let _ = std::thread::Builder::new()
            .name("journal-copy-later".into())
            .spawn(move || {
                std::thread::sleep(delay);
                if !copy_is_current(&data_dir) {
                    request_on(&shared, &data_dir);
                }
            });
    }
}

fn request_on(shared: &Arc<Mutex<Refreshing>>, data_dir: &Path) {
    let mut state = shared.lock().unwrap_or_else(|p| p.into_inner());
    state.wanted = true;
    if state.running {
        return;
    }
    state.running = true;
    let (shared, data_dir) = (shared.clone(), data_dir.to_owned());
    let spawned = std::thread::Builder::new()
        .name("journal-copy".into())
        .spawn(move || copy_while_wanted(&shared, &data_dir));
    if spawned.is_err() {
        state.running = false;
    }
}

fn copy_while_wanted(shared: &Mutex<Refreshing>, data_dir: &Path) {
    loop {
        {
            let mut state = shared.lock().unwrap_or_else(|p| p.into_inner());
            if !std::mem::take(&mut state.wanted) {
                state.running = false;
                return;
            }
        }
        let began = Instant::now();
        if let Err(error) = refresh(data_dir) {
            tracing::warn!(%error, "could not refresh the journal's safety copy");
        }
        std::thread::sleep(began.elapsed() * COPY_DUTY);
    }
}

fn refresh(data_dir: &Path) -> std::result::Result<(), String> {
    let journal = SqliteJournal::path_in(data_dir);
    let connection = Connection::open_with_flags(&journal, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| e.to_string())?;
    connection
        .busy_timeout(Duration::from_secs(5))
        .map_err(|e| e.to_string())?;
    let target = backup_path(data_dir);
    let temp = data_dir.join("journal.backup.sqlite3.partial");
    let _ = std::fs::remove_file(&temp);
    let temp_text = temp.to_str().ok_or("the data folder's path is not text")?;
    connection
        .execute("VACUUM INTO ?1", [temp_text])
        .map_err(|e| e.to_string())?;
    std::fs::File::open(&temp)
        .and_then(|file| file.sync_all())
        .and_then(|()| std::fs::rename(&temp, &target))
        .and_then(|()| std::fs::File::open(data_dir)?.sync_all())
        .map_err(|e| e.to_string())
}

/// Whether an SQLite error says the file is damaged or not a database at all.
pub(super) fn is_damage(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase)
    )
}

/// What a damaged journal means and what to do; `data_dir` is known when the journal
/// was being opened (a statement that finds damage later does not know it).
pub(crate) fn damage_advice(data_dir: Option<&Path>, detail: &str) -> String {
    let journal = data_dir.map_or(
        "the journal (journal.sqlite3 in the data folder)".into(),
        |d| format!("the journal {}", SqliteJournal::path_in(d).display()),
    );
    let copy = match data_dir.and_then(|d| Some((backup_path(d), made_at(d)?))) {
        Some((path, at)) => format!(
            "A safety copy made {} is {}. ",
            crate::words::ago(millis(at)),
            path.display()
        ),
        None if data_dir.is_some() => "There is no safety copy of it. ".into(),
        None => String::new(),
    };
    format!(
        "{journal} is damaged ({detail}), so imagen-sync cannot tell which shoots it already \
         sent; nothing more is sent. {copy}Stop imagen-sync and run `imagen-sync journal \
         restore`: it keeps the damaged file aside, goes on from the safety copy (or an \
         empty journal) and leaves imagen-sync paused. Before `imagen-sync resume`, move out \
         of the inbox the shoots edited since the copy was made, or they are edited again."
    )
}

fn millis(at: SystemTime) -> i64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// What `journal restore` did.
#[derive(Debug)]
pub struct Restored {
    /// Where the damaged journal was kept.
    pub kept_aside: Option<PathBuf>,
    /// When the copy gone on from was made; `None`: a new, empty journal.
    pub copy_made: Option<SystemTime>,
}

impl Restored {
    /// What happened and what to do next, for people.
    pub fn describe(&self) -> String {
        let aside = match &self.kept_aside {
            Some(path) => format!("The damaged journal is kept as {}.\n", path.display()),
            None => String::new(),
        };
        let from = match self.copy_made {
            Some(at) => format!(
                "The journal now goes on from the safety copy made {}. Shoots edited after \
                 that are not in it:",
                crate::words::ago(millis(at))
            ),
            None => "There was no safety copy, so the journal starts empty. Every shoot \
                     folder in the inbox is new to it:"
                .into(),
        };
        format!(
            "{aside}{from} move the ones already edited out of the inbox, or they are edited \
             (and billed) again.\nimagen-sync is paused: check `imagen-sync status`, then run \
             `imagen-sync resume`.\n"
        )
    }
}

/// Keeps the journal of `data_dir` aside (with its write-ahead log) and goes on from
/// the safety copy, or from an empty journal; the result is paused. The caller makes
/// sure no agent runs on the folder.
pub(crate) fn restore(data_dir: &Path) -> Result<Restored> {
    let journal = SqliteJournal::path_in(data_dir);
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| JournalError::Io { path, source }
    };
    let kept_aside = match journal.exists() {
        true => {
            let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S");
            let aside = data_dir.join(format!("journal.damaged-{stamp}.sqlite3"));
            std::fs::rename(&journal, &aside).map_err(io(&aside))?;
            for side in ["-wal", "-shm"] {
                let from = data_dir.join(format!("journal.sqlite3{side}"));
                if from.exists() {
                    let to = data_dir.join(format!("journal.damaged-{stamp}.sqlite3{side}"));
                    std::fs::rename(&from, &to).map_err(io(&to))?;
                }
            }
            Some(aside)
        }
        false => None,
    };
    let copy_made = made_at(data_dir);
    if copy_made.is_some() {
        std::fs::copy(backup_path(data_dir), &journal).map_err(io(&journal))?;
    }
    let restored = SqliteJournal::open(data_dir)?;
    crate::journal::JournalControls::set_paused(&restored, true)?;
    Ok(Restored {
        kept_aside,
        copy_made,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_is_current_until_the_journal_is_written_again() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Connection::open(SqliteJournal::path_in(dir.path())).unwrap();
        journal.pragma_update(None, "journal_mode", "WAL").unwrap();
        journal.execute("CREATE TABLE t (x INTEGER)", []).unwrap();
        assert!(!copy_is_current(dir.path()), "no copy yet");
        refresh(dir.path()).unwrap();
        assert!(copy_is_current(dir.path()));
        // File times have a coarse clock on some filesystems.
        std::thread::sleep(Duration::from_millis(20));
        journal.execute("INSERT INTO t VALUES (1)", []).unwrap();
        assert!(!copy_is_current(dir.path()), "a write since the copy");
    }
}
