//! One agent per inbox, whatever its data folder. Outside a studio, two agents on one
//! inbox (the tray app at login and a systemd unit with its own config, two machines
//! syncing one Dropbox folder) would each take every shoot: two projects, two bills.
//! So an agent claims each inbox it serves with a hidden claim file naming its host,
//! pid, data folder and a heartbeat: in the outbox root (always writable by the agent)
//! and in the inbox root when it may write there (so two configs with different
//! outboxes meet too). A claim whose heartbeat is older than [`STALE`], or whose
//! process on this host is gone, is taken over. Studio agents share an inbox through
//! their journal instead and claim nothing here.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The claim's file name in an inbox root, and its prefix in an outbox root.
pub const CLAIM_NAME: &str = ".imagen-sync-claim";
/// How often a claim is renewed.
pub const BEAT: Duration = Duration::from_secs(20);
/// A claim not renewed for this long is its agent's no more (it died, or its machine
/// sleeps): another agent may take the inbox.
pub const STALE: Duration = Duration::from_secs(90);

/// Who serves an inbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    pub host: String,
    pub pid: u32,
    pub data_dir: PathBuf,
    pub inbox: PathBuf,
    /// Milliseconds since the Unix epoch of its last heartbeat.
    pub beat_ms: u64,
}

/// Why this agent may not serve an inbox.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "the inbox {} is already watched by another imagen-sync agent (on {}, process {}, data \
     folder {}); two agents on one inbox would bill every shoot twice. Stop the other \
     agent (or remove this folder from one of the two configs); to share an inbox between \
     machines, use a studio journal ([journal] url = \"postgres://…\")",
    .holder.inbox.display(), .holder.host, .holder.pid, .holder.data_dir.display()
)]
pub struct Taken {
    pub holder: Holder,
}

/// This agent's claim on one inbox; renew it with [`Claim::renew`], and it is let go
/// when dropped.
#[derive(Debug)]
pub struct Claim {
    me: Holder,
    places: Vec<PathBuf>,
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Where the claims on `inbox` live: the inbox root, and the outbox root under a name
/// of its own per inbox (several hot folders may share one outbox).
fn places(inbox: &Path, outbox: &Path) -> [PathBuf; 2] {
    use sha2::Digest;
    let resolved = crate::files::overlap::resolve(inbox);
    let digest = sha2::Sha256::digest(resolved.to_string_lossy().as_bytes());
    [
        inbox.join(CLAIM_NAME),
        outbox.join(format!("{CLAIM_NAME}-{}", hex::encode(&digest[..6]))),
    ]
}

fn read(path: &Path) -> Option<Holder> {
    use std::io::Read;
    let mut text = String::new();
    // A claim is small; anything else there is not one.
    std::fs::File::open(path)
        .ok()?
        .take(64 * 1024)
        .read_to_string(&mut text)
        .ok()?;
    serde_json::from_str(&text).ok()
}

impl Holder {
    fn me(inbox: &Path, data_dir: &Path) -> Holder {
        Holder {
            host: crate::config::host_name(),
            pid: std::process::id(),
            data_dir: data_dir.to_owned(),
            inbox: inbox.to_owned(),
            beat_ms: now_ms(),
        }
    }

    fn is_mine(&self, me: &Holder) -> bool {
        self.host == me.host && self.pid == me.pid
    }

    /// Whether this claim still keeps others out.
    fn is_live(&self, me: &Holder) -> bool {
        let fresh = now_ms().saturating_sub(self.beat_ms) < STALE.as_millis() as u64;
        fresh && (self.host != me.host || crate::platform::process_alive(self.pid))
    }
}

/// The live claim of another agent among `places`, if any.
fn held_elsewhere(places: &[PathBuf], me: &Holder) -> Option<Holder> {
    places
        .iter()
        .filter_map(|place| read(place))
        .find(|holder| !holder.is_mine(me) && holder.is_live(me))
}

/// The hot folders of `config` another agent serves now (none with a studio journal),
/// read without claiming anything: for a start that has nothing else to do.
pub fn taken_by_others(config: &crate::config::Config) -> Vec<Taken> {
    if config.journal.is_shared() {
        return Vec::new();
    }
    config
        .folders
        .iter()
        .filter_map(|pair| {
            let me = Holder::me(&pair.inbox, &config.agent.data_dir);
            held_elsewhere(&places(&pair.inbox, &pair.outbox), &me).map(|holder| Taken { holder })
        })
        .collect()
}

impl Claim {
    /// Claims `inbox` (served into `outbox`) for this process, unless another live agent
    /// holds it.
    pub fn take(inbox: &Path, outbox: &Path, data_dir: &Path) -> Result<Claim, Taken> {
        let me = Holder::me(inbox, data_dir);
        let places = places(inbox, outbox);
        if let Some(holder) = held_elsewhere(&places, &me) {
            return Err(Taken { holder });
        }
        let claim = Claim {
            me,
            places: places.to_vec(),
        };
        claim.write();
        // Two agents starting at once both found no claim: the one whose claim is read
        // back from the outbox keeps it.
        if let Some(holder) = read(&claim.places[1])
            && !holder.is_mine(&claim.me)
        {
            drop(claim);
            return Err(Taken { holder });
        }
        Ok(claim)
    }

    fn write(&self) {
        let text = serde_json::to_vec_pretty(&self.me).expect("a claim serialises");
        for place in &self.places {
            // Never makes a folder: a missing inbox is an unmounted drive, not to be
            // replaced by an empty local one. The inbox side is best effort: a
            // read-only share keeps the outbox's claim.
            if !place.parent().is_some_and(Path::is_dir) {
                continue;
            }
            let access = crate::files::atomic_file::Access::LikeUserFiles;
            if let Err(error) = crate::files::atomic_file::write_with(place, &text, access) {
                tracing::debug!(%error, place = %place.display(), "cannot write the inbox claim");
            }
        }
    }

    /// Renews the heartbeat. `Err` when another agent took the inbox meanwhile (this
    /// one slept past [`STALE`]): it must stop serving it.
    pub fn renew(&mut self) -> Result<(), Taken> {
        if let Some(holder) = held_elsewhere(&self.places, &self.me) {
            return Err(Taken { holder });
        }
        self.me.beat_ms = now_ms();
        self.write();
        Ok(())
    }

    pub fn inbox(&self) -> &Path {
        &self.me.inbox
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        for place in &self.places {
            if read(place).is_some_and(|holder| holder.is_mine(&self.me)) {
                let _ = std::fs::remove_file(place);
            }
        }
    }
}

/// Claims every inbox of `config` (none with a studio journal) and leaves out of it
/// the hot folders another agent serves, each said in the log.
pub fn claim_all(config: &mut crate::config::Config) -> (Vec<Claim>, Vec<Taken>) {
    if config.journal.is_shared() {
        return (Vec::new(), Vec::new());
    }
    let (mut claims, mut refused) = (Vec::new(), Vec::new());
    let data_dir = config.agent.data_dir.clone();
    config.folders.retain(|pair| {
        // The outbox root holds the claim that always works: make it here.
        let _ = std::fs::create_dir_all(&pair.outbox);
        match Claim::take(&pair.inbox, &pair.outbox, &data_dir) {
            Ok(claim) => {
                claims.push(claim);
                true
            }
            Err(taken) => {
                tracing::error!("{taken}; this hot folder is left alone");
                refused.push(taken);
                false
            }
        }
    });
    (claims, refused)
}

/// Renews `claims` every [`BEAT`] for as long as it runs. Should another agent have
/// taken an inbox meanwhile, `lost` is told why and the agent is stopped: serving on
/// would bill that inbox's shoots twice.
pub async fn keep(
    mut claims: Vec<Claim>,
    stop: tokio::sync::watch::Sender<bool>,
    lost: std::sync::Arc<std::sync::Mutex<Option<String>>>,
) {
    if claims.is_empty() {
        return;
    }
    let mut beat = tokio::time::interval(BEAT);
    beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    beat.tick().await;
    loop {
        beat.tick().await;
        let (kept, outcome) = tokio::task::spawn_blocking(move || {
            let outcome = claims.iter_mut().try_for_each(Claim::renew);
            (claims, outcome)
        })
        .await
        .expect("renewing a claim does not panic");
        claims = kept;
        if let Err(taken) = outcome {
            tracing::error!("{taken}; this agent stops");
            *lost.lock().unwrap_or_else(|p| p.into_inner()) = Some(taken.to_string());
            let _ = stop.send(true);
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folders() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let (inbox, outbox) = (dir.path().join("In"), dir.path().join("Out"));
        std::fs::create_dir_all(&inbox).unwrap();
        std::fs::create_dir_all(&outbox).unwrap();
        (dir, inbox, outbox)
    }

    fn forge(place: &Path, holder: &Holder) {
        std::fs::write(place, serde_json::to_vec(holder).unwrap()).unwrap();
    }

    #[test]
    fn a_live_claim_of_another_host_keeps_a_second_agent_out_and_says_who() {
        let (_dir, inbox, outbox) = folders();
        let other = Holder {
            host: "studio-mac".into(),
            pid: 4242,
            data_dir: "/home/ann/.local/share/imagen-sync".into(),
            inbox: inbox.clone(),
            beat_ms: now_ms(),
        };
        forge(&inbox.join(CLAIM_NAME), &other);
        let taken = Claim::take(&inbox, &outbox, Path::new("/data")).unwrap_err();
        let words = taken.to_string();
        assert!(
            words.contains("studio-mac") && words.contains("4242"),
            "{words}"
        );
        assert!(words.contains("studio journal"), "{words}");

        // Silent for longer than STALE: taken over.
        forge(
            &inbox.join(CLAIM_NAME),
            &Holder {
                beat_ms: now_ms() - STALE.as_millis() as u64 - 1,
                ..other
            },
        );
        let claim = Claim::take(&inbox, &outbox, Path::new("/data")).unwrap();
        assert_eq!(
            read(&inbox.join(CLAIM_NAME)).unwrap().pid,
            std::process::id()
        );
        drop(claim);
        assert!(!inbox.join(CLAIM_NAME).exists(), "let go on drop");
    }

    #[test]
    fn a_claim_of_a_dead_process_on_this_host_is_taken_over_at_once() {
        let (_dir, inbox, outbox) = folders();
        let dead = std::process::Command::new("true").spawn().unwrap();
        let pid = dead.id();
        let _ = { dead }.wait();
        forge(
            &places(&inbox, &outbox)[1],
            &Holder {
                host: crate::config::host_name(),
                pid,
                data_dir: "/elsewhere".into(),
                inbox: inbox.clone(),
                beat_ms: now_ms(),
            },
        );
        assert!(Claim::take(&inbox, &outbox, Path::new("/data")).is_ok());
    }

    #[test]
    fn the_same_process_claims_again_after_a_restart_on_new_settings() {
        let (_dir, inbox, outbox) = folders();
        let first = Claim::take(&inbox, &outbox, Path::new("/data")).unwrap();
        let mut second = Claim::take(&inbox, &outbox, Path::new("/data")).unwrap();
        assert!(second.renew().is_ok());
        drop(first);
        drop(second);
    }
}
