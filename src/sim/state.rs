//! The simulator's model of an account: projects, their uploaded files, edits and
//! outputs, open multipart uploads, and the counters tests read.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};

use crate::api::{EditOptions, ProjectStatus};

/// What tests read to prove "exactly once" and protocol hygiene.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize, PartialEq)]
pub struct Counters {
    pub projects_created: u64,
    pub edits_started: u64,
    pub edit_calls: u64,
    /// Successful file uploads (single PUT or completed multipart) per project uuid.
    pub uploads_per_project: BTreeMap<String, u64>,
    /// Requests per route pattern, e.g. `POST /v1/i2i/projects`.
    pub requests: BTreeMap<String, u64>,
    /// Contract breaches by the client, by kind (e.g. `content-type on presigned PUT`).
    pub protocol_violations: BTreeMap<String, u64>,
    pub multipart_started: u64,
    pub multipart_completed: u64,
    pub multipart_aborted: u64,
    pub downloads: u64,
    /// Faults injected, by kind.
    pub faults_injected: BTreeMap<String, u64>,
    /// When the first upload PUT began and the last one ended, in ms since the simulator
    /// started: the window a throughput figure divides by.
    pub first_upload_began_ms: Option<u64>,
    pub last_upload_ended_ms: Option<u64>,
    /// Bytes stored by upload PUTs (single and parts).
    pub bytes_uploaded: u64,
    /// API calls that arrived while the key was rate limited (`Faults::key_limit_after`),
    /// past a grace for those already in flight when the limit began: a client that
    /// honours Retry-After across all its calls makes none.
    #[serde(default)]
    pub calls_while_limited: u64,
}

impl Counters {
    pub fn violation(&mut self, kind: &str) {
        *self.protocol_violations.entry(kind.to_owned()).or_default() += 1;
    }

    pub fn fault(&mut self, kind: &str) {
        *self.faults_injected.entry(kind.to_owned()).or_default() += 1;
    }

    pub fn requests_to(&self, route: &str) -> u64 {
        self.requests.get(route).copied().unwrap_or(0)
    }

    /// Calls to the API itself: not the storage's PUTs and GETs, nor the simulator's
    /// own routes.
    pub fn api_calls(&self) -> u64 {
        let is_api = |key: &str| {
            key.split_once(' ').is_some_and(|(_, route)| {
                !route.starts_with(super::storage::PREFIX) && !route.starts_with("/_sim")
            })
        };
        (self.requests.iter())
            .filter(|(key, _)| is_api(key))
            .map(|(_, count)| count)
            .sum()
    }

    pub fn total_uploads(&self) -> u64 {
        self.uploads_per_project.values().sum()
    }
}

#[derive(Debug)]
pub(crate) struct StoredFile {
    pub path: PathBuf,
    pub size: u64,
}

#[derive(Debug)]
pub(crate) struct Edit {
    pub options: EditOptions,
    pub started: Instant,
    pub will_fail: bool,
    /// Output name → file; `None` while the simulated model is still rendering.
    pub outputs: Option<BTreeMap<String, StoredFile>>,
}

#[derive(Debug)]
pub(crate) struct Multipart {
    pub file_name: String,
    pub key: String,
    pub part_count: u32,
    pub dir: PathBuf,
    /// Part number → size of the part received.
    pub parts: BTreeMap<u32, u64>,
}

#[derive(Debug)]
pub(crate) struct Project {
    pub id: u64,
    pub uuid: String,
    pub name: String,
    pub account: String,
    pub created_at: SystemTime,
    pub dir: PathBuf,
    pub inputs: BTreeMap<String, StoredFile>,
    pub edit: Option<Edit>,
    pub multipart: HashMap<String, Multipart>,
    /// Completed multipart upload ids, so a repeated complete is answered again.
    pub completed_multipart: HashMap<String, String>,
}

/// How long the simulated model takes.
#[derive(Debug, Clone, Copy)]
pub struct Timings {
    /// After /edit, the project stays Pending this long...
    pub pending_for: Duration,
    /// ...then In Progress this long, then Completed (or Failed).
    pub processing_for: Duration,
}

impl Project {
    pub(crate) fn status(&self, timings: Timings, now: Instant) -> ProjectStatus {
        let Some(edit) = &self.edit else {
            return ProjectStatus::Pending;
        };
        let elapsed = now.saturating_duration_since(edit.started);
        if elapsed < timings.pending_for {
            ProjectStatus::Pending
        } else if elapsed < timings.pending_for + timings.processing_for {
            ProjectStatus::InProgress
        } else if edit.will_fail {
            ProjectStatus::Failed
        } else if edit.outputs.is_none() {
            ProjectStatus::InProgress
        } else {
            ProjectStatus::Completed
        }
    }

    pub(crate) fn ai_tools(&self) -> Vec<&'static str> {
        let Some(edit) = &self.edit else {
            return Vec::new();
        };
        let options = &edit.options;
        [
            (options.hdr_merge, "hdr_merge"),
            (options.perspective_correction, "perspective_correction"),
            (options.sky_replacement, "sky_replacement"),
        ]
        .into_iter()
        .filter_map(|(on, tool)| on.then_some(tool))
        .collect()
    }
}

#[derive(Debug, Default)]
pub(crate) struct SimState {
    pub projects: HashMap<String, Project>,
    /// (account, name) → uuid: names are unique per account.
    pub names: HashMap<(String, String), String>,
    pub next_id: u64,
    pub counters: Counters,
    /// API calls since the key's last rate limit, and when the limit in force ends.
    pub key_calls: u32,
    pub key_limited_until: Option<Instant>,
}

impl SimState {
    /// The project if it exists and belongs to `account` (others' projects are 404 too).
    pub(crate) fn project_of(&mut self, account: &str, uuid: &str) -> Option<&mut Project> {
        self.projects
            .get_mut(uuid)
            .filter(|project| project.account == account)
    }
}

/// The ways a hostile (or badly broken) server misbehaves.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Hostile {
    /// The download list names outputs `../…`, `/…`, with NUL or control characters,
    /// and one name twice.
    EvilNames,
    /// Download links point to a plain-http host elsewhere, or to other schemes.
    ForeignLinks,
    /// Every API answer is padded far beyond any sane size (40 MB).
    HugeJson,
    /// Downloads announce their length and stop halfway, every time.
    TruncatedDownloads,
    /// Downloads are whole, but the bytes are not a JPEG.
    NotJpeg,
    /// API calls are never answered (storage still is).
    Silent,
    /// API calls are redirected to another scheme and host.
    Redirects,
    /// Downloads announce a length far beyond any photo (5 GB).
    OversizedDownloads,
}
