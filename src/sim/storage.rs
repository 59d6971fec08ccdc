//! The simulated S3 behind presigned links: HMAC-signed, expiring URLs; PUTs refused as
//! S3 refuses them (a Content-Type the link was not signed with, no Content-Length, a
//! wrong Content-MD5); bodies streamed to disk; multipart parts; streamed downloads.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path as UrlPath, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::put;
use futures_util::StreamExt;
use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use sha2::Sha256;
use tokio::io::AsyncWriteExt;

use super::Shared;
use super::state::StoredFile;
use crate::api::ProjectStatus;

pub(crate) const PREFIX: &str = "/s3/";

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/s3/in/{uuid}/{file_name}", put(put_input))
        .route("/s3/part/{uuid}/{upload_id}/{part_number}", put(put_part))
        .route(
            "/s3/out/{uuid}/{file_name}",
            put(put_output).get(get_output),
        )
}

/// An S3-style XML error.
pub(crate) fn s3_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>{}</RequestId></Error>",
        uuid::Uuid::new_v4().simple()
    );
    (status, [(header::CONTENT_TYPE, "application/xml")], body).into_response()
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn signature(
    shared: &Shared,
    method: &str,
    path: &str,
    date: u64,
    expires: u64,
    md5: &str,
) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(&shared.signing_key).expect("any key length");
    mac.update(format!("{method}\n{path}\n{date}\n{expires}\n{md5}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// A presigned link to `segments` under the simulator's address. With `md5`, the PUT
/// must carry exactly that Content-MD5 (it is part of the signature, as in S3).
pub(crate) fn presign(
    shared: &Shared,
    method: &str,
    segments: &[&str],
    md5: Option<&str>,
    lifetime: Duration,
) -> String {
    let mut url = url::Url::parse(&shared.public_url).expect("the simulator's own URL");
    url.path_segments_mut()
        .expect("http URL")
        .clear()
        .extend(segments);
    let expires = lifetime.as_secs().max(1);
    let date = if take_stale_link(shared) {
        unix_now().saturating_sub(expires + 60)
    } else {
        unix_now()
    };
    let sig = signature(shared, method, url.path(), date, expires, md5.unwrap_or(""));
    {
        let mut query = url.query_pairs_mut();
        query
            .append_pair("X-Amz-Date", &date.to_string())
            .append_pair("X-Amz-Expires", &expires.to_string());
        if md5.is_some() {
            query.append_pair("X-Amz-SignedHeaders", "content-md5");
        }
        query.append_pair("X-Amz-Signature", &sig);
    }
    url.to_string()
}

fn take_stale_link(shared: &Shared) -> bool {
    let mut faults = shared.faults.write().unwrap_or_else(|p| p.into_inner());
    if faults.stale_links == 0 {
        return false;
    }
    faults.stale_links -= 1;
    shared.state().counters.fault("stale link");
    true
}

/// Checks a presigned request as S3 would: signature, expiry, and for PUTs the headers
/// S3 is strict about. Records the client's protocol violations.
fn verify(shared: &Shared, request: &Request) -> Result<(), Response> {
    let query: Vec<(String, String)> =
        url::form_urlencoded::parse(request.uri().query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let headers = request.headers();
    if headers.contains_key("x-api-key") {
        shared
            .state()
            .counters
            .violation("x-api-key sent to presigned URL");
    }
    let (Some(date), Some(expires), Some(given)) = (
        param("X-Amz-Date").and_then(|v| v.parse::<u64>().ok()),
        param("X-Amz-Expires").and_then(|v| v.parse::<u64>().ok()),
        param("X-Amz-Signature"),
    ) else {
        return Err(s3_error(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "Query-string authentication requires the Signature, Expires and Date parameters",
        ));
    };
    let md5_signed = param("X-Amz-SignedHeaders").is_some_and(|h| h.contains("content-md5"));
    let md5 = match md5_signed {
        true => header_text(headers, "content-md5"),
        false => "",
    };
    let is_put = request.method() == Method::PUT;
    let content_type = header_text(headers, header::CONTENT_TYPE.as_str());
    if is_put && !content_type.is_empty() {
        shared
            .state()
            .counters
            .violation("content-type on presigned PUT");
        return Err(s3_error(
            StatusCode::FORBIDDEN,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
        ));
    }
    let expected = signature(
        shared,
        request.method().as_str(),
        request.uri().path(),
        date,
        expires,
        md5,
    );
    if expected != given {
        if md5_signed && md5.is_empty() {
            shared
                .state()
                .counters
                .violation("missing content-md5 on presigned PUT");
        }
        return Err(s3_error(
            StatusCode::FORBIDDEN,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
        ));
    }
    if unix_now() > date.saturating_add(expires) {
        return Err(s3_error(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "Request has expired",
        ));
    }
    if is_put
        && (headers.contains_key(header::TRANSFER_ENCODING)
            || !headers.contains_key(header::CONTENT_LENGTH))
    {
        shared
            .state()
            .counters
            .violation("chunked or length-less PUT");
        return Err(s3_error(
            StatusCode::LENGTH_REQUIRED,
            "MissingContentLength",
            "You must provide the Content-Length HTTP header.",
        ));
    }
    Ok(())
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .unwrap_or("")
}

/// Streams a PUT body to `dest` via a temp file: checks its length against
/// Content-Length and, when given, its MD5 against Content-MD5. Returns the size.
async fn receive(shared: &Shared, request: Request, dest: &Path) -> Result<u64, Response> {
    {
        let elapsed = shared.started.elapsed().as_millis() as u64;
        let counters = &mut shared.state().counters;
        counters.first_upload_began_ms.get_or_insert(elapsed);
    }
    let announced: u64 = header_text(request.headers(), header::CONTENT_LENGTH.as_str())
        .parse()
        .unwrap_or(0);
    let content_md5 = header_text(request.headers(), "content-md5").to_owned();
    let internal = |e: std::io::Error| {
        tracing::error!(error = %e, "simulator storage write failed");
        s3_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            "We encountered an internal error. Please try again.",
        )
    };
    let parent = dest.parent().expect("storage paths have a parent");
    tokio::fs::create_dir_all(parent).await.map_err(internal)?;
    let temp = tempfile::NamedTempFile::new_in(parent).map_err(internal)?;
    let (std_file, temp_path) = temp.into_parts();
    let mut file = tokio::fs::File::from_std(std_file);
    // Hashing costs real CPU on the machine being measured: only when asked to check.
    let mut hasher = (!content_md5.is_empty()).then(Md5::new);
    let mut received = 0u64;
    let keep = shared.config.keep_upload_bytes;
    let mut body = request.into_body().into_data_stream();
    while let Some(chunk) = body.next().await {
        let Ok(chunk) = chunk else {
            return Err(s3_error(
                StatusCode::BAD_REQUEST,
                "IncompleteBody",
                "You did not provide the number of bytes specified by the Content-Length HTTP header.",
            ));
        };
        received += chunk.len() as u64;
        if let Some(hasher) = hasher.as_mut() {
            hasher.update(&chunk);
        }
        if keep {
            file.write_all(&chunk).await.map_err(internal)?;
        }
    }
    if received != announced {
        return Err(s3_error(
            StatusCode::BAD_REQUEST,
            "IncompleteBody",
            "You did not provide the number of bytes specified by the Content-Length HTTP header.",
        ));
    }
    if let Some(hasher) = hasher {
        use base64::Engine;
        let actual = base64::engine::general_purpose::STANDARD.encode(hasher.finalize());
        if actual != content_md5 {
            return Err(s3_error(
                StatusCode::BAD_REQUEST,
                "BadDigest",
                "The Content-MD5 you specified did not match what we received.",
            ));
        }
    }
    file.flush().await.map_err(internal)?;
    drop(file);
    temp_path.persist(dest).map_err(|e| internal(e.error))?;
    let elapsed = shared.started.elapsed().as_millis() as u64;
    let counters = &mut shared.state().counters;
    counters.last_upload_ended_ms = Some(elapsed);
    counters.bytes_uploaded += received;
    Ok(received)
}

fn no_such_key() -> Response {
    s3_error(
        StatusCode::NOT_FOUND,
        "NoSuchKey",
        "The specified key does not exist.",
    )
}

fn no_such_upload() -> Response {
    s3_error(
        StatusCode::NOT_FOUND,
        "NoSuchUpload",
        "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
    )
}

async fn put_input(
    State(shared): State<Arc<Shared>>,
    UrlPath((uuid, file_name)): UrlPath<(String, String)>,
    request: Request,
) -> Response {
    if let Err(refused) = verify(&shared, &request) {
        return refused;
    }
    let dest = {
        let state = shared.state();
        let Some(project) = state.projects.get(&uuid) else {
            return no_such_key();
        };
        project
            .dir
            .join("in")
            .join(format!("{}.bin", uuid::Uuid::new_v4().simple()))
    };
    let size = match receive(&shared, request, &dest).await {
        Ok(size) => size,
        Err(refused) => return refused,
    };
    let mut state = shared.state();
    let Some(project) = state.projects.get_mut(&uuid) else {
        return no_such_key();
    };
    // A second PUT of the same name replaces the object, as in S3.
    if let Some(replaced) = project
        .inputs
        .insert(file_name, StoredFile { path: dest, size })
    {
        let _ = std::fs::remove_file(replaced.path);
    }
    *state.counters.uploads_per_project.entry(uuid).or_default() += 1;
    StatusCode::OK.into_response()
}

async fn put_part(
    State(shared): State<Arc<Shared>>,
    UrlPath((uuid, upload_id, part_number)): UrlPath<(String, String, u32)>,
    request: Request,
) -> Response {
    if let Err(refused) = verify(&shared, &request) {
        return refused;
    }
    let dest = {
        let mut state = shared.state();
        let Some(upload) = state
            .projects
            .get_mut(&uuid)
            .and_then(|p| p.multipart.get(&upload_id))
        else {
            return no_such_upload();
        };
        if part_number == 0 || part_number > upload.part_count {
            return s3_error(
                StatusCode::BAD_REQUEST,
                "InvalidArgument",
                "Part number must be an integer between 1 and the announced part count.",
            );
        }
        upload.dir.join(part_number.to_string())
    };
    let size = match receive(&shared, request, &dest).await {
        Ok(size) => size,
        Err(refused) => return refused,
    };
    let mut state = shared.state();
    match state
        .projects
        .get_mut(&uuid)
        .and_then(|p| p.multipart.get_mut(&upload_id))
    {
        Some(upload) => {
            upload.parts.insert(part_number, size);
            let etag = format!("\"{}-{part_number}\"", upload_id);
            (StatusCode::OK, [(header::ETAG, etag)]).into_response()
        }
        // Aborted while this part was in flight: S3 discards it.
        None => {
            let _ = std::fs::remove_file(&dest);
            no_such_upload()
        }
    }
}

async fn get_output(
    State(shared): State<Arc<Shared>>,
    UrlPath((uuid, file_name)): UrlPath<(String, String)>,
    request: Request,
) -> Response {
    if let Err(refused) = verify(&shared, &request) {
        return refused;
    }
    let path = {
        let mut state = shared.state();
        let Some(path) = state
            .projects
            .get(&uuid)
            .and_then(|p| p.edit.as_ref())
            .and_then(|e| e.outputs.as_ref())
            .and_then(|outputs| outputs.get(&file_name))
            .map(|f| f.path.clone())
        else {
            return no_such_key();
        };
        state.counters.downloads += 1;
        path
    };
    if shared.faults().hostile == Some(super::state::Hostile::NotJpeg) {
        shared.state().counters.fault("not a jpeg");
        let page = "<html><body>Service temporarily unavailable</body></html>";
        return (StatusCode::OK, [(header::CONTENT_TYPE, "image/jpeg")], page).into_response();
    }
    let file = match tokio::fs::File::open(&path).await {
        Ok(file) => file,
        Err(_) => return no_such_key(),
    };
    let len = file.metadata().await.map(|m| m.len()).unwrap_or(0);
    let body = Body::from_stream(tokio_util::io::ReaderStream::with_capacity(file, 64 * 1024));
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "image/jpeg".to_owned()),
            (header::CONTENT_LENGTH, len.to_string()),
        ],
        body,
    )
        .into_response()
}

/// The override PUT (from `get_upload_link`): replaces an output of a Completed project.
async fn put_output(
    State(shared): State<Arc<Shared>>,
    UrlPath((uuid, file_name)): UrlPath<(String, String)>,
    request: Request,
) -> Response {
    if let Err(refused) = verify(&shared, &request) {
        return refused;
    }
    let dest = {
        let state = shared.state();
        let Some(project) = state.projects.get(&uuid) else {
            return no_such_key();
        };
        if project.status(shared.config.timings, std::time::Instant::now())
            != ProjectStatus::Completed
        {
            return s3_error(
                StatusCode::FORBIDDEN,
                "AccessDenied",
                "Outputs can be replaced only after the project is Completed.",
            );
        }
        let outputs = project.edit.as_ref().and_then(|e| e.outputs.as_ref());
        match outputs.and_then(|o| o.get(&file_name)) {
            Some(existing) => existing.path.clone(),
            None => project
                .dir
                .join("out")
                .join(format!("override-{}.jpg", uuid::Uuid::new_v4().simple())),
        }
    };
    let size = match receive(&shared, request, &dest).await {
        Ok(size) => size,
        Err(refused) => return refused,
    };
    let mut state = shared.state();
    if let Some(outputs) = state
        .projects
        .get_mut(&uuid)
        .and_then(|p| p.edit.as_mut())
        .and_then(|e| e.outputs.as_mut())
    {
        outputs.insert(file_name, StoredFile { path: dest, size });
    }
    StatusCode::OK.into_response()
}
