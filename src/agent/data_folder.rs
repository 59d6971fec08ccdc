//! Whether an agent is running on a data folder, and which one. The agent holds an
//! exclusive advisory lock on `agent.lock` for as long as it runs (the OS lets go of it
//! when the process dies, however it dies, so a stale lock never blocks a start) and
//! writes its pid and start time beside it in `agent.json`. `status` and `open` ask
//! here instead of trusting the journal's last words.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// The agent holding a data folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentInfo {
    pub pid: u32,
    /// Milliseconds since the Unix epoch.
    pub since_ms: u64,
}

impl AgentInfo {
    /// "pid 1234, running since 2026-11-30 07:10:02 UTC".
    pub fn describe(&self) -> String {
        format!("pid {}, running since {}", self.pid, self.since_text())
    }

    pub fn since_text(&self) -> String {
        let since = UNIX_EPOCH + Duration::from_millis(self.since_ms);
        humantime::format_rfc3339_seconds(since)
            .to_string()
            .replace('T', " ")
            .replace('Z', " UTC")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "another imagen-sync agent ({}) already works on the data folder {}; \
         stop it first, or give this one another `data_dir`",
        .holder.as_ref().map_or_else(|| "pid unknown".to_owned(), AgentInfo::describe),
        .data_dir.display()
    )]
    Taken {
        data_dir: PathBuf,
        holder: Option<AgentInfo>,
    },
    #[error("cannot lock {path:?}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Held while this process's agent runs; dropping it lets go of the data folder.
#[derive(Debug)]
pub struct RunningLock {
    _file: File,
    info_path: PathBuf,
}

fn lock_path(data_dir: &Path) -> PathBuf {
    data_dir.join("agent.lock")
}

fn info_path(data_dir: &Path) -> PathBuf {
    data_dir.join("agent.json")
}

impl RunningLock {
    /// Takes the data folder for this process, or says who holds it.
    pub fn acquire(data_dir: &Path) -> Result<RunningLock, LockError> {
        let path = lock_path(data_dir);
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(data_dir).map_err(io)?;
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(LockError::Taken {
                    data_dir: data_dir.to_owned(),
                    holder: read_info(data_dir),
                });
            }
            Err(TryLockError::Error(error)) => return Err(io(error)),
        }
        let info = AgentInfo {
            pid: std::process::id(),
            since_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
        };
        let text = serde_json::to_string(&info).expect("agent info serialises");
        crate::files::atomic_file::write_text(&info_path(data_dir), &text).map_err(|source| {
            LockError::Io {
                path: info_path(data_dir),
                source,
            }
        })?;
        Ok(RunningLock {
            _file: file,
            info_path: info_path(data_dir),
        })
    }
}

impl RunningLock {
    /// The data folder held.
    pub fn data_dir(&self) -> &Path {
        self.info_path.parent().unwrap_or(Path::new("."))
    }

    pub fn lock_file(&self) -> PathBuf {
        self.info_path.with_file_name("agent.lock")
    }

    pub fn info_file(&self) -> &Path {
        &self.info_path
    }
}

impl Drop for RunningLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.info_path);
    }
}

fn read_info(data_dir: &Path) -> Option<AgentInfo> {
    let text = std::fs::read_to_string(info_path(data_dir)).ok()?;
    serde_json::from_str(&text).ok()
}

/// The agent running on `data_dir` now, if any. A lock file left by a killed agent
/// is not held by anyone, so it says "none".
pub fn running_agent(data_dir: &Path) -> Option<AgentInfo> {
    let file = File::open(lock_path(data_dir)).ok()?;
    match file.try_lock_shared() {
        Ok(()) => None,
        Err(TryLockError::WouldBlock) => Some(read_info(data_dir).unwrap_or(AgentInfo {
            pid: 0,
            since_ms: 0,
        })),
        Err(TryLockError::Error(_)) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_at_a_time_and_the_lock_goes_with_it() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(running_agent(dir.path()), None);
        let held = RunningLock::acquire(dir.path()).unwrap();
        let info = running_agent(dir.path()).expect("seen as running");
        assert_eq!(info.pid, std::process::id());
        let taken = RunningLock::acquire(dir.path()).unwrap_err().to_string();
        assert!(
            taken.contains(&format!("pid {}", std::process::id())),
            "{taken}"
        );
        drop(held);
        // Another test of this process forking a child between our open and close
        // shares the lock until that child's exec: wait that moment out.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while running_agent(dir.path()).is_some() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(running_agent(dir.path()), None);
        RunningLock::acquire(dir.path()).unwrap();
    }
}
