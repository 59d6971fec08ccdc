//! Moving bytes to and from presigned storage: streamed single PUTs, S3 multipart for
//! large files, and streamed downloads. No file is ever held in memory whole: bodies are
//! read from the file in small chunks and carry an explicit Content-Length, because S3
//! refuses chunked PUTs.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use base64::Engine;
use futures_util::{StreamExt, TryStreamExt, stream};
use md5::{Digest, Md5};
use reqwest::header;
use tokio::io::{AsyncWrite, AsyncWriteExt};

use super::file_body::{CHUNK, ReadReport, stream_slice};
use super::{ApiError, Client, FileToUpload};
use crate::redact::PresignedUrl;

/// S3's rules: every part but the last at least 5 MiB, at most 10,000 parts.
pub const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;
pub const MAX_PARTS: u64 = 10_000;
/// How often an expired upload link is re-requested before giving up.
const LINK_REFRESHES: u32 = 3;
/// Names announced in one `get_temporary_upload_links` call at most.
pub const LINKS_PER_CALL: usize = 100;
/// How long a storage host that said "slow down" (503) is left alone by every request.
const SLOW_DOWN_HOLD: std::time::Duration = std::time::Duration::from_secs(1);

/// Told the number of bytes sent as they leave (deltas; a retried attempt counts again).
pub type ProgressSink = Arc<dyn Fn(u64) + Send + Sync>;

/// How a file went up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadMethod {
    SinglePut,
    Multipart { parts: u32 },
}

/// A local file open for upload: every request body is read from this one descriptor,
/// so what goes up is the file that was opened (and checked), whatever its path names
/// by then. `path` is for messages only.
#[derive(Debug, Clone)]
pub struct LocalFile {
    path: PathBuf,
    file: Arc<std::fs::File>,
    size: u64,
}

impl LocalFile {
    /// Opens `path` (following links: for files the caller chose itself).
    pub fn open(path: &Path) -> Result<LocalFile, ApiError> {
        let file =
            std::fs::File::open(path).map_err(|e| ApiError::io(path, "opening for upload", e))?;
        let size = file
            .metadata()
            .map_err(|e| ApiError::io(path, "reading file size", e))?
            .len();
        Ok(LocalFile::opened(path, file, size))
    }

    /// A file the caller opened and checked; `size` is what it checked.
    pub fn opened(path: &Path, file: std::fs::File, size: u64) -> LocalFile {
        LocalFile {
            path: path.to_owned(),
            file: Arc::new(file),
            size,
        }
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// The open file's metadata now (not its path's).
    pub fn stat(&self) -> std::io::Result<std::fs::Metadata> {
        self.file.metadata()
    }

    /// Another handle on the same open file, for one request body.
    fn handle(&self, doing: &'static str) -> Result<std::fs::File, ApiError> {
        self.file
            .try_clone()
            .map_err(|e| ApiError::io(&self.path, doing, e))
    }
}

/// A byte range of a local file, to be sent as one request body.
struct FileSlice<'a> {
    source: &'a LocalFile,
    offset: u64,
    len: u64,
}

/// The part size for a file of `size` bytes: the wished-for size, grown to fit in
/// 10,000 parts, never below S3's 5 MiB minimum.
pub fn part_size_for(size: u64, wished: u64) -> u64 {
    wished.max(size.div_ceil(MAX_PARTS)).max(MIN_PART_SIZE)
}

/// The base64 MD5 of a file's `size` bytes, read in chunks (the form `Content-MD5`
/// takes).
async fn md5_base64(source: &LocalFile) -> Result<String, ApiError> {
    let (file, size, path) = (
        source.handle("opening for MD5")?,
        source.size,
        source.path.clone(),
    );
    let digest = tokio::task::spawn_blocking(move || -> std::io::Result<_> {
        let mut hasher = Md5::new();
        let mut buffer = vec![0u8; CHUNK];
        let mut at = 0u64;
        while at < size {
            let want = (size - at).min(CHUNK as u64) as usize;
            let read = super::file_body::read_fully_at(&file, &mut buffer[..want], at)?;
            if read == 0 {
                break;
            }
            hasher.update(&buffer[..read]);
            at += read as u64;
        }
        Ok(hasher.finalize())
    })
    .await
    .map_err(|e| ApiError::io(&path, "reading for MD5", std::io::Error::other(e)))?
    .map_err(|e| ApiError::io(&path, "reading for MD5", e))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(digest))
}

impl Client {
    /// Uploads one file into a project under `upload_name`: a single streamed PUT, or S3
    /// multipart above the threshold (falling back to one PUT where the server has no
    /// multipart endpoints). Expired links are re-requested; transient failures retried.
    pub async fn upload_file(
        &self,
        project_uuid: &str,
        path: &Path,
        upload_name: &str,
        send_md5: bool,
        progress: Option<ProgressSink>,
    ) -> Result<UploadMethod, ApiError> {
        let source = LocalFile::open(path)?;
        self.upload_local(project_uuid, &source, upload_name, send_md5, None, progress)
            .await
    }

    /// Upload links for many files at once (no MD5), up to [`LINKS_PER_CALL`] names a
    /// call: a shoot of n photos asks ⌈n/100⌉ times instead of n.
    pub async fn upload_links_for(
        &self,
        project_uuid: &str,
        upload_names: &[String],
    ) -> Result<std::collections::HashMap<String, PresignedUrl>, ApiError> {
        let mut links = std::collections::HashMap::new();
        for names in upload_names.chunks(LINKS_PER_CALL) {
            let announce: Vec<FileToUpload> = names
                .iter()
                .map(|name| FileToUpload {
                    file_name: name.clone(),
                    md5: None,
                })
                .collect();
            for link in self.upload_links(project_uuid, &announce).await? {
                links.insert(link.file_name, link.upload_link);
            }
        }
        Ok(links)
    }

    /// [`Client::upload_file`] from a file already open, first trying `link` (asked for
    /// beforehand with others, see [`Client::upload_links_for`]); only an expired or
    /// refused link is asked for again. Files above the multipart threshold ignore it.
    pub async fn upload_local(
        &self,
        project_uuid: &str,
        source: &LocalFile,
        upload_name: &str,
        send_md5: bool,
        link: Option<PresignedUrl>,
        progress: Option<ProgressSink>,
    ) -> Result<UploadMethod, ApiError> {
        let mut prefetched = link.filter(|_| !send_md5);
        let size = source.size;
        if size > self.config.multipart_threshold {
            match self
                .upload_multipart(project_uuid, source, upload_name, size, progress.clone())
                .await
            {
                Err(ApiError::NotFound { .. }) => {
                    tracing::info!(upload_name, "no multipart endpoint; sending one PUT");
                }
                other => return other,
            }
        }
        let md5 = match send_md5 {
            true => Some(md5_base64(source).await?),
            false => None,
        };
        let announce = [FileToUpload {
            file_name: upload_name.to_owned(),
            md5: md5.clone(),
        }];
        let slice = FileSlice {
            source,
            offset: 0,
            len: size,
        };
        let mut refreshes = 0;
        loop {
            let asked_before = prefetched.is_some();
            let link = match prefetched.take() {
                Some(link) => link,
                None => self
                    .upload_links(project_uuid, &announce)
                    .await?
                    .into_iter()
                    .find(|l| l.file_name == upload_name)
                    .map(|l| l.upload_link)
                    .ok_or_else(|| {
                        ApiError::protocol(
                            "asking for upload links",
                            format!("no link for {upload_name:?}"),
                        )
                    })?,
            };
            match self
                .put_with_retry(&link, &slice, md5.as_deref(), progress.clone())
                .await
            {
                Err(ApiError::LinkExpired { .. }) if refreshes < LINK_REFRESHES => {
                    refreshes += 1;
                    tracing::debug!(upload_name, refreshes, "upload link expired; asking again");
                }
                // A link asked for with others and refused: this file asks for its own.
                Err(ApiError::Server { status, .. })
                    if asked_before && status == reqwest::StatusCode::FORBIDDEN =>
                {
                    tracing::debug!(upload_name, "upload link refused; asking for a fresh one");
                }
                other => return other.map(|()| UploadMethod::SinglePut),
            }
        }
    }

    /// Replaces an output of a Completed project with the bytes of `path`.
    pub async fn override_output(
        &self,
        project_uuid: &str,
        file_name: &str,
        path: &Path,
    ) -> Result<(), ApiError> {
        let source = LocalFile::open(path)?;
        let link = self.output_upload_link(project_uuid, file_name).await?;
        let slice = FileSlice {
            source: &source,
            offset: 0,
            len: source.size,
        };
        self.put_with_retry(&link, &slice, None, None).await
    }

    async fn upload_multipart(
        &self,
        project_uuid: &str,
        source: &LocalFile,
        upload_name: &str,
        size: u64,
        progress: Option<ProgressSink>,
    ) -> Result<UploadMethod, ApiError> {
        let part_size = part_size_for(size, self.config.part_size);
        let part_count = u32::try_from(size.div_ceil(part_size).max(1))
            .map_err(|_| ApiError::protocol("planning a multipart upload", "too many parts"))?;
        let upload = self
            .create_multipart(project_uuid, upload_name, part_count)
            .await?;
        if upload.parts.len() != part_count as usize {
            let reason = format!(
                "asked for {part_count} part links, got {}",
                upload.parts.len()
            );
            self.abort_quietly(project_uuid, &upload.upload_id, &upload.key)
                .await;
            return Err(ApiError::protocol("starting a multipart upload", reason));
        }
        let sent = stream::iter(upload.parts.iter().cloned())
            .map(|part: super::PartLink| {
                let offset = u64::from(part.part_number.saturating_sub(1)) * part_size;
                let slice = FileSlice {
                    source,
                    offset,
                    len: part_size.min(size.saturating_sub(offset)),
                };
                let progress = progress.clone();
                async move {
                    self.put_with_retry(&part.upload_url, &slice, None, progress)
                        .await
                }
            })
            .buffer_unordered(self.config.parallel_parts.max(1))
            .try_collect::<Vec<()>>()
            .await;
        let finished = match sent {
            Ok(_) => {
                self.complete_multipart(project_uuid, &upload.upload_id, upload_name)
                    .await
            }
            Err(error) => Err(error),
        };
        match finished {
            Ok(()) => Ok(UploadMethod::Multipart { parts: part_count }),
            Err(error) => {
                self.abort_quietly(project_uuid, &upload.upload_id, &upload.key)
                    .await;
                Err(error)
            }
        }
    }

    async fn abort_quietly(&self, project_uuid: &str, upload_id: &str, key: &str) {
        if let Err(error) = self.abort_multipart(project_uuid, upload_id, key).await {
            tracing::warn!(%error, "could not abort a failed multipart upload");
        }
    }

    async fn put_with_retry(
        &self,
        link: &PresignedUrl,
        slice: &FileSlice<'_>,
        content_md5: Option<&str>,
        progress: Option<ProgressSink>,
    ) -> Result<(), ApiError> {
        self.config
            .retry
            .run_pausing(
                "uploading",
                |wait, error| self.pause_before_retry(wait, error),
                || async {
                    self.storage_turn(link).await;
                    let outcome = self
                        .put_once(link, slice, content_md5, progress.clone())
                        .await;
                    self.storage_answered(link, &outcome);
                    outcome
                },
            )
            .await
    }

    /// One presigned PUT of a file slice: empty Content-Type, no x-api-key, an explicit
    /// Content-Length, the body streamed from the file. A short read (the file shrank)
    /// fails the request as [`ApiError::FileChanged`].
    async fn put_once(
        &self,
        link: &PresignedUrl,
        slice: &FileSlice<'_>,
        content_md5: Option<&str>,
        progress: Option<ProgressSink>,
    ) -> Result<(), ApiError> {
        crate::redact::check_link(link.expose(), &self.config.base_url)
            .map_err(|reason| ApiError::protocol("uploading", reason))?;
        let path = &slice.source.path;
        let file = slice.source.handle("opening for upload")?;
        let expected = slice.len;
        let report = Arc::new(ReadReport::default());
        let moved = Arc::new(super::reach::Moved::default());
        let (moving, holding) = (moved.clone(), moved.clone());
        let limit = self.throttles.upload.clone();
        let chunks = stream_slice(file, slice.offset, expected, report.clone())
            .and_then(move |chunk| {
                let (limit, holding) = (limit.clone(), holding.clone());
                async move {
                    holding.held_back(limit.take(chunk.len())).await;
                    Ok(chunk)
                }
            })
            .inspect_ok(move |chunk| {
                moving.touch();
                if let Some(progress) = &progress {
                    progress(chunk.len() as u64);
                }
            });
        let mut request = self
            .http
            .put(link.expose().clone())
            .header(header::CONTENT_TYPE, "")
            .header(header::CONTENT_LENGTH, expected)
            .body(reqwest::Body::wrap_stream(chunks));
        if let Some(md5) = content_md5 {
            request = request.header("Content-MD5", md5);
        }
        tracing::trace!(link = %link, bytes = expected, "presigned PUT");
        let put = async {
            let outcome = request.send().await;
            if report.shrank.load(Ordering::Relaxed) {
                return Err(ApiError::FileChanged {
                    path: path.to_owned(),
                    expected,
                    read: report.read.load(Ordering::Relaxed),
                });
            }
            let response = outcome.map_err(|e| ApiError::network("uploading", e))?;
            if !response.status().is_success() {
                return Err(super::envelope::error_from_response(response, "uploading").await);
            }
            Ok(())
        };
        self.reach.watch("uploading", Some(&moved), put).await
    }

    /// Waits while the link's storage host is held (it said "slow down").
    async fn storage_turn(&self, link: &PresignedUrl) {
        if let Some(host) = link.expose().host_str() {
            self.gate.pass(super::gate::Held::Host(host)).await;
        }
    }

    /// A storage host answering 503 (S3's SlowDown) is held for every request to it.
    fn storage_answered<T>(&self, link: &PresignedUrl, outcome: &Result<T, ApiError>) {
        let slow_down = match outcome {
            Err(ApiError::Server { status, .. }) => *status == 503,
            Err(ApiError::RateLimited { .. }) => true,
            _ => false,
        };
        if slow_down && let Some(host) = link.expose().host_str() {
            tracing::debug!(host, "storage asked to slow down: its requests wait");
            self.gate
                .hold(super::gate::Held::Host(host), SLOW_DOWN_HOLD);
        }
    }

    /// Streams a presigned download into `writer`, returning the byte count; `into`
    /// names where the writer writes, for a failed write (a full disk) to say. A body
    /// shorter or longer than its Content-Length, or past the size cap, is an error:
    /// the caller must discard what was written.
    pub async fn download_to<W: AsyncWrite + Unpin>(
        &self,
        link: &PresignedUrl,
        writer: &mut W,
        into: &Path,
    ) -> Result<u64, ApiError> {
        const DURING: &str = "downloading";
        crate::redact::check_link(link.expose(), &self.config.base_url)
            .map_err(|reason| ApiError::protocol(DURING, reason))?;
        tracing::trace!(link = %link, "presigned GET");
        self.storage_turn(link).await;
        let moved = super::reach::Moved::default();
        let get = self.download_watched(link, writer, into, &moved);
        self.reach.watch(DURING, Some(&moved), get).await
    }

    /// [`Client::download_to`]'s request, touching `moved` as bytes arrive.
    async fn download_watched<W: AsyncWrite + Unpin>(
        &self,
        link: &PresignedUrl,
        writer: &mut W,
        into: &Path,
        moved: &super::reach::Moved,
    ) -> Result<u64, ApiError> {
        const DURING: &str = "downloading";
        let response = self
            .http
            .get(link.expose().clone())
            .send()
            .await
            .map_err(|e| ApiError::network(DURING, e))?;
        if !response.status().is_success() {
            let error = super::envelope::error_from_response(response, DURING).await;
            let outcome = Err(error);
            self.storage_answered(link, &outcome);
            return outcome;
        }
        let announced = response.content_length();
        let cap = self.config.max_download_bytes;
        if announced.is_some_and(|len| len > cap) {
            return Err(ApiError::protocol(
                DURING,
                format!("file is larger than the {cap}-byte cap"),
            ));
        }
        let mut received = 0u64;
        let mut body = response.bytes_stream();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| ApiError::network(DURING, e))?;
            moved.touch();
            moved
                .held_back(self.throttles.download.take(chunk.len()))
                .await;
            received += chunk.len() as u64;
            if received > cap || announced.is_some_and(|len| received > len) {
                return Err(ApiError::protocol(DURING, "more bytes than announced"));
            }
            writer
                .write_all(&chunk)
                .await
                .map_err(|e| ApiError::io(into, DURING, e))?;
        }
        if let Some(len) = announced
            && received != len
        {
            return Err(ApiError::protocol(
                DURING,
                format!("download cut short: {received} of {len} bytes"),
            ));
        }
        writer
            .flush()
            .await
            .map_err(|e| ApiError::io(into, DURING, e))?;
        Ok(received)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_grow_to_fit_ten_thousand_and_never_shrink_below_five_mib() {
        const MIB: u64 = 1024 * 1024;
        assert_eq!(part_size_for(1024 * MIB, 64 * MIB), 64 * MIB);
        assert_eq!(part_size_for(100 * MIB, 1), MIN_PART_SIZE);
        let huge = 1024 * 1024 * MIB;
        assert!(huge.div_ceil(part_size_for(huge, 64 * MIB)) <= MAX_PARTS);
    }
}
