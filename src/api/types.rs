//! Typed requests and answers of the I2I contract (reference + DESIGN.md). Answers accept
//! unknown extra fields; the envelope is removed before they are parsed.

use serde::{Deserialize, Serialize};

use crate::redact::PresignedUrl;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ProjectCreated {
    pub project_uuid: String,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct NameValidity {
    pub is_valid: bool,
}

/// One file announced to `get_temporary_upload_links`; `md5` is base64 of the raw digest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileToUpload {
    pub file_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub md5: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UploadLinksRequest {
    pub files_list: Vec<FileToUpload>,
    #[serde(default = "api_client_type")]
    pub client_type: String,
}

fn api_client_type() -> String {
    "API".to_owned()
}

#[derive(Debug, Clone, Deserialize)]
pub struct UploadLink {
    pub file_name: String,
    pub upload_link: PresignedUrl,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct UploadLinks {
    pub files_list: Vec<UploadLink>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MultipartCreateRequest {
    pub file_name: String,
    pub part_count: u32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PartLink {
    pub part_number: u32,
    pub upload_url: PresignedUrl,
}

#[derive(Debug, Clone, Deserialize)]
pub struct MultipartUpload {
    pub upload_id: String,
    pub key: String,
    pub parts: Vec<PartLink>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MultipartCompleteRequest {
    pub file_name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MultipartAbortRequest {
    pub key: String,
}

/// The Smart Editing options sent to `/edit`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct EditOptions {
    #[serde(default)]
    pub hdr_merge: bool,
    #[serde(default)]
    pub perspective_correction: bool,
    #[serde(default)]
    pub sky_replacement: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sky_replacement_template_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
}

impl EditOptions {
    /// The AI tools these options ask for, as people read them ("sky replacement +
    /// perspective correction"), or "no AI tools".
    pub fn described(&self) -> String {
        let tools: Vec<&str> = [
            (self.hdr_merge, "HDR merge"),
            (self.perspective_correction, "perspective correction"),
            (self.sky_replacement, "sky replacement"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect();
        match tools.is_empty() {
            true => "no AI tools".into(),
            false => tools.join(" + "),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Message {
    pub message: String,
}

/// A project's lifecycle as `GET /i2i/projects/{uuid}` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProjectStatus {
    Pending,
    #[serde(rename = "In Progress")]
    InProgress,
    Completed,
    Failed,
    /// A status this client does not know yet; treated as "still working".
    #[serde(untagged)]
    Other(String),
}

impl ProjectStatus {
    pub fn is_finished(&self) -> bool {
        matches!(self, ProjectStatus::Completed | ProjectStatus::Failed)
    }

    pub fn as_str(&self) -> &str {
        match self {
            ProjectStatus::Pending => "Pending",
            ProjectStatus::InProgress => "In Progress",
            ProjectStatus::Completed => "Completed",
            ProjectStatus::Failed => "Failed",
            ProjectStatus::Other(other) => other,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Project {
    pub project_uuid: String,
    #[serde(default)]
    pub name: Option<String>,
    pub status: ProjectStatus,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub number_of_images: Option<u64>,
    #[serde(default)]
    pub ai_tools: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Pagination {
    pub total: u64,
    pub size: u32,
    pub page: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProjectPage {
    pub projects: Vec<Project>,
    pub pagination: Pagination,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DownloadLink {
    pub file_name: String,
    pub download_link: PresignedUrl,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct DownloadLinks {
    pub files_list: Vec<DownloadLink>,
}

/// A single link: the reference returns the bare string as `data`, the SDKs an object.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum SingleLink {
    Bare(PresignedUrl),
    Download { download_link: PresignedUrl },
    Upload { upload_link: PresignedUrl },
}

impl SingleLink {
    pub(crate) fn into_link(self) -> PresignedUrl {
        match self {
            SingleLink::Bare(link)
            | SingleLink::Download {
                download_link: link,
            }
            | SingleLink::Upload { upload_link: link } => link,
        }
    }
}
