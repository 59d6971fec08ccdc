//! The typed async client for Imagen's Smart Editing (I2I) API and its presigned storage.
//!
//! One [`Client`] per account. JSON calls go through [`Client::call`], which adds the
//! key, bounds the answer, decodes errors and retries idempotent calls; byte transfers
//! (uploads, multipart, downloads) live in [`transfer`].

mod envelope;
mod error;
pub(crate) mod file_body;
mod gate;
pub mod reach;
mod retry;
pub mod throttle;
pub mod transfer;
mod types;

use std::time::Duration;

use reqwest::{Method, header};
use serde::Serialize;
use serde::de::DeserializeOwned;
use url::Url;

pub use envelope::{describe_error_body, parse_payload, unwrap_envelope};
pub use error::ApiError;
pub use retry::RetryPolicy;
pub use transfer::{ProgressSink, UploadMethod};
pub use types::*;

use crate::redact::check_transport;
use crate::redact::{ApiKey, PresignedUrl};

/// The vendor's production endpoint.
pub const DEFAULT_BASE_URL: &str = "https://api.imagen-ai.com/v1";

/// How the client talks to the API. `base_url` ends before `/i2i`.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub base_url: Url,
    pub api_key: ApiKey,
    pub retry: RetryPolicy,
    /// Files larger than this go up as S3 multipart (the SDKs use 64 MB).
    pub multipart_threshold: u64,
    /// The wished-for part size; grown so no file needs more than 10,000 parts.
    pub part_size: u64,
    /// Parts of one file in flight at once.
    pub parallel_parts: usize,
    /// A whole JSON call (not a transfer) must finish within this.
    pub call_timeout: Duration,
    /// Silence on a connection for this long is a network error (transfers included).
    pub read_timeout: Duration,
    pub connect_timeout: Duration,
    /// A download larger than this is refused (no output photo is anywhere near it).
    pub max_download_bytes: u64,
}

impl ClientConfig {
    pub fn new(base_url: Url, api_key: ApiKey) -> Self {
        ClientConfig {
            base_url,
            api_key,
            retry: RetryPolicy::default(),
            multipart_threshold: 64 * 1024 * 1024,
            part_size: 64 * 1024 * 1024,
            parallel_parts: 4,
            call_timeout: Duration::from_secs(60),
            read_timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(15),
            max_download_bytes: 4 * 1024 * 1024 * 1024,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    config: ClientConfig,
    /// Holds every call of the key after a 429, and a storage host after SlowDown.
    gate: gate::Gate,
    /// The bandwidth limits every transfer of the agent shares.
    throttles: throttle::Throttles,
    /// Whether Imagen answers, as the latest requests found.
    reach: reach::ReachRecord,
}

impl Client {
    pub fn new(config: ClientConfig) -> Result<Self, ApiError> {
        check_transport(&config.base_url)
            .map_err(|reason| ApiError::protocol("starting", reason))?;
        let http = reqwest::Client::builder()
            .user_agent(concat!("imagen-sync/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(config.connect_timeout)
            .read_timeout(config.read_timeout)
            // A redirect could carry a presigned query to another host or scheme.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ApiError::network("starting the HTTP client", e))?;
        Ok(Client {
            http,
            config,
            gate: gate::Gate::default(),
            throttles: throttle::Throttles::default(),
            reach: reach::ReachRecord::default(),
        })
    }

    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// The upload and download limiters (shared by every clone of this client).
    pub fn throttles(&self) -> &throttle::Throttles {
        &self.throttles
    }

    /// Waits `wait` before trying a failed request again; a network failure's wait
    /// ends as soon as Imagen answers again (another request or the agent's probe).
    pub fn pause_before_retry(
        &self,
        wait: Duration,
        error: &ApiError,
    ) -> impl Future<Output = ()> + use<> {
        let network = matches!(error, ApiError::Network { .. });
        let mut reach = self.reach.subscribe();
        async move {
            // Only a wait for Imagen to come back ends early (a reset while Imagen
            // answers keeps its backoff).
            if !network || reach.borrow_and_update().is_answering() {
                return tokio::time::sleep(wait).await;
            }
            let back = async {
                while !reach.borrow_and_update().is_answering() {
                    if reach.changed().await.is_err() {
                        std::future::pending::<()>().await;
                    }
                }
            };
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = back => {}
            }
        }
    }

    /// Whether Imagen answers, kept current by every request of this client's clones.
    pub fn reach(&self) -> tokio::sync::watch::Receiver<reach::Reach> {
        self.reach.subscribe()
    }

    fn endpoint(&self, path: &[&str]) -> Url {
        let mut url = self.config.base_url.clone();
        {
            let mut segments = url
                .path_segments_mut()
                .expect("an http(s) base URL has a path");
            segments
                .pop_if_empty()
                .extend(["i2i", "projects"])
                .extend(path);
        }
        url
    }

    /// One JSON call: the key is added, the answer is bounded, errors are typed. Retried
    /// under `retry` when the failure is transient.
    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        url: Url,
        body: Option<&impl Serialize>,
        retry: &RetryPolicy,
        during: &str,
    ) -> Result<T, ApiError> {
        let body = body
            .map(serde_json::to_vec)
            .transpose()
            .map_err(|e| ApiError::protocol(during, format!("cannot encode request ({e})")))?;
        retry
            .run_pausing(
                during,
                |wait, error| self.pause_before_retry(wait, error),
                || async {
                    self.gate.pass(gate::Held::Api).await;
                    let mut request = self
                        .http
                        .request(method.clone(), url.clone())
                        .header("x-api-key", self.config.api_key.expose())
                        .timeout(self.config.call_timeout);
                    if let Some(body) = &body {
                        request = request
                            .header(header::CONTENT_TYPE, "application/json")
                            .body(body.clone());
                    }
                    tracing::trace!(%method, path = url.path(), "API call: {during}");
                    let answer = async {
                        let response = request
                            .send()
                            .await
                            .map_err(|e| ApiError::network(during, e))?;
                        if !response.status().is_success() {
                            return Err(envelope::error_from_response(response, during).await);
                        }
                        envelope::read_limited(response, envelope::MAX_JSON_BODY, during).await
                    };
                    let answered = self.reach.watch(during, None, answer).await;
                    if let Err(ApiError::RateLimited {
                        retry_after: Some(wait),
                        ..
                    }) = &answered
                    {
                        // The limit is the account's: every call of the key waits.
                        self.gate
                            .hold(gate::Held::Api, (*wait).min(retry.max_retry_after));
                    }
                    parse_payload(&answered?, during)
                },
            )
            .await
    }

    /// `POST /i2i/projects`. Never retried here: a create whose outcome is unknown must
    /// be resolved by looking the name up ([`Client::find_project_by_name`]), not by
    /// creating again. `None` sends an empty body and the server picks a name.
    pub async fn create_project(&self, name: Option<&str>) -> Result<String, ApiError> {
        #[derive(Serialize)]
        struct Create<'a> {
            name: &'a str,
        }
        let url = self.endpoint(&[]);
        let created: ProjectCreated = match name {
            Some(name) => {
                self.call(
                    Method::POST,
                    url,
                    Some(&Create { name }),
                    &RetryPolicy::never(),
                    "creating a project",
                )
                .await?
            }
            None => {
                self.call(
                    Method::POST,
                    url,
                    None::<&()>,
                    &RetryPolicy::never(),
                    "creating a project",
                )
                .await?
            }
        };
        Ok(created.project_uuid)
    }

    /// `GET /i2i/projects/is_valid_name`: whether `name` is free to use.
    pub async fn is_valid_name(&self, name: &str) -> Result<bool, ApiError> {
        let mut url = self.endpoint(&["is_valid_name"]);
        url.query_pairs_mut().append_pair("name", name);
        let validity: NameValidity = self
            .call(
                Method::GET,
                url,
                None::<&()>,
                &self.config.retry,
                "checking a project name",
            )
            .await?;
        Ok(validity.is_valid)
    }

    /// `GET /i2i/projects?size&page&is_archived`: one page of the account's projects.
    pub async fn list_projects(
        &self,
        size: u32,
        page: u32,
        is_archived: bool,
    ) -> Result<ProjectPage, ApiError> {
        let mut url = self.endpoint(&[]);
        url.query_pairs_mut()
            .append_pair("size", &size.clamp(1, 100).to_string())
            .append_pair("page", &page.to_string())
            .append_pair("is_archived", &is_archived.to_string());
        self.call(
            Method::GET,
            url,
            None::<&()>,
            &self.config.retry,
            "listing projects",
        )
        .await
    }

    /// The cheapest authenticated call (one project listed, tried once): whether Imagen
    /// answers, and takes the key.
    pub async fn probe(&self) -> Result<(), ApiError> {
        let mut url = self.endpoint(&[]);
        url.query_pairs_mut()
            .append_pair("size", "1")
            .append_pair("page", "0")
            .append_pair("is_archived", "false");
        let _: serde_json::Value = self
            .call(
                Method::GET,
                url,
                None::<&()>,
                &RetryPolicy::never(),
                "checking the connection",
            )
            .await?;
        Ok(())
    }

    /// Finds a project by exact name: how a create with an unknown outcome is resolved.
    /// A name that `is_valid_name` still reports free was never created, so the list is
    /// paged through only when the name is taken.
    pub async fn find_project_by_name(&self, name: &str) -> Result<Option<Project>, ApiError> {
        if self.is_valid_name(name).await? {
            return Ok(None);
        }
        for is_archived in [false, true] {
            let mut page = 0;
            loop {
                let listing = self.list_projects(100, page, is_archived).await?;
                if let Some(found) = listing
                    .projects
                    .iter()
                    .find(|p| p.name.as_deref() == Some(name))
                {
                    return Ok(Some(found.clone()));
                }
                let seen = (u64::from(page) + 1) * u64::from(listing.pagination.size.max(1));
                if listing.projects.is_empty() || seen >= listing.pagination.total {
                    break;
                }
                page += 1;
            }
        }
        Ok(None)
    }

    /// `POST .../get_temporary_upload_links`. With an `md5`, the PUT must carry it.
    pub async fn upload_links(
        &self,
        project_uuid: &str,
        files: &[FileToUpload],
    ) -> Result<Vec<UploadLink>, ApiError> {
        let request = UploadLinksRequest {
            files_list: files.to_vec(),
            client_type: "API".to_owned(),
        };
        let links: UploadLinks = self
            .call(
                Method::POST,
                self.endpoint(&[project_uuid, "get_temporary_upload_links"]),
                Some(&request),
                &self.config.retry,
                "asking for upload links",
            )
            .await?;
        Ok(links.files_list)
    }

    /// `POST .../multipart_uploads`: starts an S3 multipart upload of `part_count` parts.
    pub async fn create_multipart(
        &self,
        project_uuid: &str,
        file_name: &str,
        part_count: u32,
    ) -> Result<MultipartUpload, ApiError> {
        let request = MultipartCreateRequest {
            file_name: file_name.to_owned(),
            part_count,
        };
        self.call(
            Method::POST,
            self.endpoint(&[project_uuid, "multipart_uploads"]),
            Some(&request),
            &self.config.retry,
            "starting a multipart upload",
        )
        .await
    }

    /// `POST .../multipart_uploads/{id}/complete`.
    pub async fn complete_multipart(
        &self,
        project_uuid: &str,
        upload_id: &str,
        file_name: &str,
    ) -> Result<(), ApiError> {
        let request = MultipartCompleteRequest {
            file_name: file_name.to_owned(),
        };
        let _: serde_json::Value = self
            .call(
                Method::POST,
                self.endpoint(&[project_uuid, "multipart_uploads", upload_id, "complete"]),
                Some(&request),
                &self.config.retry,
                "completing a multipart upload",
            )
            .await?;
        Ok(())
    }

    /// `DELETE .../multipart_uploads/{id}`: discards the parts uploaded so far.
    pub async fn abort_multipart(
        &self,
        project_uuid: &str,
        upload_id: &str,
        key: &str,
    ) -> Result<(), ApiError> {
        let request = MultipartAbortRequest {
            key: key.to_owned(),
        };
        let _: serde_json::Value = self
            .call(
                Method::DELETE,
                self.endpoint(&[project_uuid, "multipart_uploads", upload_id]),
                Some(&request),
                &self.config.retry,
                "aborting a multipart upload",
            )
            .await?;
        Ok(())
    }

    /// `POST .../edit`. Idempotent on the server, so it is retried like a read.
    pub async fn edit(
        &self,
        project_uuid: &str,
        options: &EditOptions,
    ) -> Result<String, ApiError> {
        let accepted: Message = self
            .call(
                Method::POST,
                self.endpoint(&[project_uuid, "edit"]),
                Some(options),
                &self.config.retry,
                "starting the edit",
            )
            .await?;
        Ok(accepted.message)
    }

    /// `GET /i2i/projects/{uuid}?get_thumbnail=false`: the cheap status poll.
    pub async fn project(&self, project_uuid: &str) -> Result<Project, ApiError> {
        let mut url = self.endpoint(&[project_uuid]);
        url.query_pairs_mut().append_pair("get_thumbnail", "false");
        self.call(
            Method::GET,
            url,
            None::<&()>,
            &self.config.retry,
            "reading project status",
        )
        .await
    }

    /// `GET .../get_temporary_download_links`: every output, in one (unpaginated) answer.
    pub async fn download_links(&self, project_uuid: &str) -> Result<Vec<DownloadLink>, ApiError> {
        let links: DownloadLinks = self
            .call(
                Method::GET,
                self.endpoint(&[project_uuid, "get_temporary_download_links"]),
                None::<&()>,
                &self.config.retry,
                "asking for download links",
            )
            .await?;
        Ok(links.files_list)
    }

    /// `GET .../get_download_link?file_name=`: a fresh link for one output.
    pub async fn download_link(
        &self,
        project_uuid: &str,
        file_name: &str,
    ) -> Result<PresignedUrl, ApiError> {
        self.single_link(
            project_uuid,
            "get_download_link",
            file_name,
            "asking for a download link",
        )
        .await
    }

    /// `GET .../get_upload_link?file_name=`: a PUT link that overrides an output
    /// (only once the project is Completed).
    pub async fn output_upload_link(
        &self,
        project_uuid: &str,
        file_name: &str,
    ) -> Result<PresignedUrl, ApiError> {
        self.single_link(
            project_uuid,
            "get_upload_link",
            file_name,
            "asking for an override link",
        )
        .await
    }

    async fn single_link(
        &self,
        project_uuid: &str,
        endpoint: &str,
        file_name: &str,
        during: &str,
    ) -> Result<PresignedUrl, ApiError> {
        let mut url = self.endpoint(&[project_uuid, endpoint]);
        url.query_pairs_mut().append_pair("file_name", file_name);
        let link: SingleLink = self
            .call(Method::GET, url, None::<&()>, &self.config.retry, during)
            .await?;
        Ok(link.into_link())
    }
}
