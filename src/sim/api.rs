//! The simulated I2I JSON endpoints under `/v1/i2i/projects`, as the reference and
//! DESIGN.md describe them: names unique per account, unique file names per upload
//! request, idempotent /edit, an unpaginated download list, a paginated project list.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Instant, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::state::Hostile;
use super::state::{Edit, Multipart, Project, StoredFile};
use super::storage::presign;
use super::{Envelope, Shared, api_error, render};
use crate::api::{
    EditOptions, MultipartAbortRequest, MultipartCompleteRequest, MultipartCreateRequest,
    ProjectStatus, UploadLinksRequest,
};

const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;
const MAX_PARTS: u32 = 10_000;

/// The JSON routes; the multipart ones only when `with_multipart` (the reference does
/// not document them, so a faithful server may answer them 404).
pub(crate) fn routes(with_multipart: bool) -> Router<Arc<Shared>> {
    let routes = Router::new()
        .route("/v1/i2i/projects", post(create_project).get(list_projects))
        .route("/v1/i2i/projects/is_valid_name", get(is_valid_name))
        .route("/v1/i2i/projects/{uuid}", get(get_project))
        .route(
            "/v1/i2i/projects/{uuid}/get_temporary_upload_links",
            post(upload_links),
        )
        .route("/v1/i2i/projects/{uuid}/edit", post(edit))
        .route(
            "/v1/i2i/projects/{uuid}/get_temporary_download_links",
            get(download_links),
        )
        .route(
            "/v1/i2i/projects/{uuid}/get_download_link",
            get(download_link),
        )
        .route(
            "/v1/i2i/projects/{uuid}/get_upload_link",
            get(output_upload_link),
        );
    if !with_multipart {
        return routes;
    }
    routes
        .route(
            "/v1/i2i/projects/{uuid}/multipart_uploads",
            post(multipart_create),
        )
        .route(
            "/v1/i2i/projects/{uuid}/multipart_uploads/{upload_id}/complete",
            post(multipart_complete),
        )
        .route(
            "/v1/i2i/projects/{uuid}/multipart_uploads/{upload_id}",
            axum::routing::delete(multipart_abort),
        )
}

type Answer = Result<Response, Response>;

/// The account behind the request's `x-api-key`, or a 401.
fn account(shared: &Shared, headers: &HeaderMap) -> Result<String, Response> {
    let key = headers.get("x-api-key").and_then(|v| v.to_str().ok());
    match key {
        Some(key) if shared.config.api_keys.iter().any(|k| k == key) => Ok(key.to_owned()),
        Some(_) => Err(api_error(StatusCode::UNAUTHORIZED, "Invalid API key")),
        None => Err(api_error(
            StatusCode::UNAUTHORIZED,
            "Missing x-api-key header",
        )),
    }
}

fn not_found() -> Response {
    api_error(StatusCode::NOT_FOUND, "Project not found")
}

fn parse_json<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, Response> {
    serde_json::from_slice(body).map_err(|e| {
        api_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("Invalid request body: {e}"),
        )
    })
}

fn project_json(project: &Project, status: &ProjectStatus, with_thumbnail: bool) -> Value {
    json!({
        "project_id": project.id,
        "project_uuid": project.uuid,
        "name": project.name,
        "status": status.as_str(),
        "created_at": humantime::format_rfc3339_seconds(project.created_at).to_string(),
        "number_of_images": project.inputs.len(),
        "profile": null,
        "ai_tools": project.ai_tools(),
        "customer_reference_id": 1234,
        "thumbnail_src": if with_thumbnail { Value::String(format!("https://thumbnails.invalid/{}.jpg", project.uuid)) } else { Value::Null },
        "export_status": null,
    })
}

async fn create_project(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let account = account(&shared, &headers)?;
    let requested: Option<String> = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        #[derive(Deserialize)]
        struct Create {
            #[serde(default)]
            name: Option<String>,
        }
        parse_json::<Create>(&body)?
            .name
            .filter(|n| !n.trim().is_empty())
    };
    let mut state = shared.state();
    state.next_id += 1;
    let id = state.next_id;
    let name = requested.unwrap_or_else(|| {
        let secs = UNIX_EPOCH.elapsed().map(|d| d.as_secs()).unwrap_or(0);
        format!("Smart Editing Project {id} {secs}")
    });
    if name.chars().count() > 255 {
        return Err(api_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Project name must be at most 255 characters",
        ));
    }
    if state.names.contains_key(&(account.clone(), name.clone())) {
        state.counters.violation("duplicate create");
        return Err(api_error(
            StatusCode::CONFLICT,
            format!("Project name '{name}' already exists"),
        ));
    }
    let uuid = uuid::Uuid::new_v4().simple().to_string()[..24].to_owned();
    let dir = shared.data_dir.join(&uuid);
    state
        .names
        .insert((account.clone(), name.clone()), uuid.clone());
    state.projects.insert(
        uuid.clone(),
        Project {
            id,
            uuid: uuid.clone(),
            name,
            account,
            created_at: std::time::SystemTime::now(),
            dir,
            inputs: BTreeMap::new(),
            edit: None,
            multipart: HashMap::new(),
            completed_multipart: HashMap::new(),
        },
    );
    state.counters.projects_created += 1;
    Ok(shared.reply(StatusCode::OK, json!({ "project_uuid": uuid })))
}

#[derive(Deserialize)]
struct ListQuery {
    size: Option<String>,
    page: Option<String>,
    is_archived: Option<String>,
}

async fn list_projects(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<ListQuery>,
) -> Answer {
    let account = account(&shared, &headers)?;
    let invalid = |what: &str| api_error(StatusCode::UNPROCESSABLE_ENTITY, what.to_owned());
    let size: usize = match query.size.as_deref() {
        None => 20,
        Some(text) => text
            .parse()
            .ok()
            .filter(|s| (1..=100).contains(s))
            .ok_or_else(|| invalid("size must be between 1 and 100"))?,
    };
    let page: usize = match query.page.as_deref() {
        None => 0,
        Some(text) => text
            .parse()
            .map_err(|_| invalid("page must be an integer >= 0"))?,
    };
    let archived = match query.is_archived.as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(invalid("is_archived must be true or false")),
    };
    let state = shared.state();
    let now = Instant::now();
    // The simulator never archives a project.
    let mut mine: Vec<&Project> = state
        .projects
        .values()
        .filter(|p| p.account == account && !archived)
        .collect();
    mine.sort_by_key(|p| std::cmp::Reverse(p.id));
    let projects: Vec<Value> = mine
        .iter()
        .skip(page.saturating_mul(size))
        .take(size)
        .map(|p| project_json(p, &p.status(shared.config.timings, now), true))
        .collect();
    Ok(shared.reply(
        StatusCode::OK,
        json!({ "projects": projects, "pagination": { "total": mine.len(), "size": size, "page": page } }),
    ))
}

#[derive(Deserialize)]
struct NameQuery {
    name: Option<String>,
}

async fn is_valid_name(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<NameQuery>,
) -> Answer {
    let account = account(&shared, &headers)?;
    let Some(name) = query.name else {
        return Err(api_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Query parameter 'name' is required",
        ));
    };
    let taken = shared.state().names.contains_key(&(account, name.clone()));
    let is_valid = !taken && !name.trim().is_empty() && name.chars().count() <= 255;
    Ok(shared.reply(StatusCode::OK, json!({ "is_valid": is_valid })))
}

#[derive(Deserialize)]
struct ProjectQuery {
    get_thumbnail: Option<String>,
}

async fn get_project(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    UrlPath(uuid): UrlPath<String>,
    Query(query): Query<ProjectQuery>,
) -> Answer {
    let account = account(&shared, &headers)?;
    let mut state = shared.state();
    let project = state.project_of(&account, &uuid).ok_or_else(not_found)?;
    let with_thumbnail = query.get_thumbnail.as_deref() != Some("false");
    let status = project.status(shared.config.timings, Instant::now());
    Ok(shared.reply(
        StatusCode::OK,
        project_json(project, &status, with_thumbnail),
    ))
}

async fn upload_links(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    UrlPath(uuid): UrlPath<String>,
    body: Bytes,
) -> Answer {
    let account = account(&shared, &headers)?;
    let request: UploadLinksRequest = parse_json(&body)?;
    if request.files_list.is_empty() {
        return Err(api_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "files_list must not be empty",
        ));
    }
    let mut seen = HashSet::new();
    for file in &request.files_list {
        if file.file_name.is_empty() || file.file_name.contains('/') {
            return Err(api_error(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!(
                    "Invalid file name '{}': a base name is required",
                    file.file_name
                ),
            ));
        }
        if !seen.insert(file.file_name.as_str()) {
            return Err(api_error(
                StatusCode::BAD_REQUEST,
                format!(
                    "File names must be unique; '{}' appears twice",
                    file.file_name
                ),
            ));
        }
    }
    let mut state = shared.state();
    state.project_of(&account, &uuid).ok_or_else(not_found)?;
    drop(state);
    let lifetime = shared.config.link_lifetime;
    let links: Vec<Value> = request
        .files_list
        .iter()
        .map(|file| {
            let link = presign(
                &shared,
                "PUT",
                &["s3", "in", &uuid, &file.file_name],
                file.md5.as_deref(),
                lifetime,
            );
            json!({ "file_name": file.file_name, "upload_link": link })
        })
        .collect();
    Ok(shared.reply(StatusCode::OK, json!({ "files_list": links })))
}

async fn multipart_create(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    UrlPath(uuid): UrlPath<String>,
    body: Bytes,
) -> Answer {
    let account = account(&shared, &headers)?;
    let request: MultipartCreateRequest = parse_json(&body)?;
    if request.part_count == 0 || request.part_count > MAX_PARTS {
        return Err(api_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("part_count must be between 1 and {MAX_PARTS}"),
        ));
    }
    let mut state = shared.state();
    let project = state.project_of(&account, &uuid).ok_or_else(not_found)?;
    let upload_id = uuid::Uuid::new_v4().simple().to_string();
    let key = format!("{}/{}", uuid, request.file_name);
    let dir = project.dir.join("multipart").join(&upload_id);
    project.multipart.insert(
        upload_id.clone(),
        Multipart {
            file_name: request.file_name.clone(),
            key: key.clone(),
            part_count: request.part_count,
            dir,
            parts: BTreeMap::new(),
        },
    );
    state.counters.multipart_started += 1;
    drop(state);
    let parts: Vec<Value> = (1..=request.part_count)
        .map(|n| {
            let link = presign(
                &shared,
                "PUT",
                &["s3", "part", &uuid, &upload_id, &n.to_string()],
                None,
                shared.config.link_lifetime,
            );
            json!({ "part_number": n, "upload_url": link })
        })
        .collect();
    Ok(shared.reply(
        StatusCode::OK,
        json!({ "upload_id": upload_id, "key": key, "parts": parts }),
    ))
}

async fn multipart_complete(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    UrlPath((uuid, upload_id)): UrlPath<(String, String)>,
    body: Bytes,
) -> Answer {
    let account = account(&shared, &headers)?;
    let request: MultipartCompleteRequest = parse_json(&body)?;
    let (dir, part_count, dest, announced) = {
        let mut state = shared.state();
        let project = state.project_of(&account, &uuid).ok_or_else(not_found)?;
        if project.completed_multipart.get(&upload_id) == Some(&request.file_name) {
            return Ok(shared.reply(
                StatusCode::OK,
                json!({ "message": "Upload already completed" }),
            ));
        }
        let upload = project.multipart.get(&upload_id).ok_or_else(|| {
            api_error(
                StatusCode::NOT_FOUND,
                "NoSuchUpload: the upload does not exist, or was aborted",
            )
        })?;
        if upload.file_name != request.file_name {
            return Err(api_error(
                StatusCode::BAD_REQUEST,
                "file_name does not match the multipart upload",
            ));
        }
        if let Some(missing) = (1..=upload.part_count).find(|n| !upload.parts.contains_key(n)) {
            return Err(api_error(
                StatusCode::BAD_REQUEST,
                format!(
                    "InvalidPart: part {missing} of {} was never uploaded",
                    upload.part_count
                ),
            ));
        }
        let last = upload.part_count;
        if let Some((n, size)) = upload
            .parts
            .iter()
            .find(|(n, size)| **n != last && **size < MIN_PART_SIZE)
        {
            return Err(api_error(
                StatusCode::BAD_REQUEST,
                format!(
                    "EntityTooSmall: part {n} is {size} bytes; every part but the last must be at least 5 MB"
                ),
            ));
        }
        let dest = project
            .dir
            .join("in")
            .join(format!("{}.bin", uuid::Uuid::new_v4().simple()));
        let announced: u64 = upload.parts.values().sum();
        (upload.dir.clone(), upload.part_count, dest, announced)
    };
    let size = concatenate_parts(&dir, part_count, &dest)
        .await
        .map(|written| {
            if shared.config.keep_upload_bytes {
                written
            } else {
                announced
            }
        })
        .map_err(|e| {
            tracing::error!(error = %e, "simulator could not assemble a multipart upload");
            api_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Could not assemble the upload; please retry",
            )
        })?;
    let _ = tokio::fs::remove_dir_all(&dir).await;
    let mut state = shared.state();
    let project = state.project_of(&account, &uuid).ok_or_else(not_found)?;
    project.multipart.remove(&upload_id);
    project
        .completed_multipart
        .insert(upload_id, request.file_name.clone());
    if let Some(replaced) = project
        .inputs
        .insert(request.file_name, StoredFile { path: dest, size })
    {
        let _ = std::fs::remove_file(replaced.path);
    }
    state.counters.multipart_completed += 1;
    *state.counters.uploads_per_project.entry(uuid).or_default() += 1;
    Ok(shared.reply(StatusCode::OK, json!({ "message": "Upload completed" })))
}

async fn concatenate_parts(
    dir: &std::path::Path,
    part_count: u32,
    dest: &std::path::Path,
) -> std::io::Result<u64> {
    if let Some(parent) = dest.parent() {
        tokio::fs::create_dir_all(parent).await?;
    }
    let mut out = tokio::fs::File::create(dest).await?;
    let mut total = 0;
    for n in 1..=part_count {
        let mut part = tokio::fs::File::open(dir.join(n.to_string())).await?;
        total += tokio::io::copy(&mut part, &mut out).await?;
    }
    out.sync_all().await?;
    Ok(total)
}

async fn multipart_abort(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    UrlPath((uuid, upload_id)): UrlPath<(String, String)>,
    body: Bytes,
) -> Answer {
    let account = account(&shared, &headers)?;
    let request: MultipartAbortRequest = parse_json(&body)?;
    let upload = {
        let mut state = shared.state();
        let project = state.project_of(&account, &uuid).ok_or_else(not_found)?;
        match project.multipart.get(&upload_id) {
            None => {
                return Err(api_error(
                    StatusCode::NOT_FOUND,
                    "NoSuchUpload: the upload does not exist, or was already completed or aborted",
                ));
            }
            Some(upload) if upload.key != request.key => {
                return Err(api_error(
                    StatusCode::BAD_REQUEST,
                    "key does not match the multipart upload",
                ));
            }
            Some(_) => {}
        }
        let upload = project.multipart.remove(&upload_id).expect("checked above");
        state.counters.multipart_aborted += 1;
        upload
    };
    let _ = tokio::fs::remove_dir_all(&upload.dir).await;
    Ok(shared.reply(StatusCode::OK, json!({ "message": "Upload aborted" })))
}

fn edit_message(uuid: &str) -> String {
    format!("Project {uuid} sent for I2I editing successfully.")
}

async fn edit(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    UrlPath(uuid): UrlPath<String>,
    body: Bytes,
) -> Answer {
    let account = account(&shared, &headers)?;
    let options: EditOptions = if body.iter().all(u8::is_ascii_whitespace) {
        EditOptions::default()
    } else {
        parse_json(&body)?
    };
    if let Some(callback) = &options.callback_url
        && !callback.starts_with("https://")
    {
        return Err(api_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "callback_url must be an HTTPS URL",
        ));
    }
    let faults = shared.faults();
    let mut state = shared.state();
    state.counters.edit_calls += 1;
    let project = state.project_of(&account, &uuid).ok_or_else(not_found)?;
    if project.edit.is_some() {
        // Idempotent: the same message, and nothing new starts.
        state.counters.violation("second edit");
        return Ok(shared.reply(StatusCode::OK, json!({ "message": edit_message(&uuid) })));
    }
    if project.inputs.is_empty() {
        return Err(api_error(
            StatusCode::BAD_REQUEST,
            "Project has no uploaded images to edit",
        ));
    }
    let will_fail = faults.project_fails(&project.name);
    let inputs: Vec<(String, std::path::PathBuf)> = project
        .inputs
        .iter()
        .map(|(name, file)| (name.clone(), file.path.clone()))
        .collect();
    let out_dir = project.dir.join("out");
    project.edit = Some(Edit {
        options: options.clone(),
        started: Instant::now(),
        will_fail,
        outputs: None,
    });
    state.counters.edits_started += 1;
    drop(state);
    if !will_fail {
        let shared = shared.clone();
        let uuid = uuid.clone();
        let settings = render::RenderSettings {
            bracket_size: shared.config.bracket_size,
            hdr_long_edge: shared.config.hdr_long_edge,
            full_size: shared.config.full_size_outputs,
        };
        tokio::task::spawn_blocking(move || {
            let outputs = render::render_project(&inputs, &options, &settings, &out_dir);
            if let Some(edit) = shared
                .state()
                .projects
                .get_mut(&uuid)
                .and_then(|p| p.edit.as_mut())
            {
                edit.outputs = Some(outputs);
            }
        });
    }
    Ok(shared.reply(StatusCode::OK, json!({ "message": edit_message(&uuid) })))
}

/// The project if it is Completed, else the error a client gets for asking too early.
fn completed<'a>(
    shared: &Shared,
    state: &'a mut super::state::SimState,
    account: &str,
    uuid: &str,
) -> Result<&'a Project, Response> {
    let project = state.project_of(account, uuid).ok_or_else(not_found)?;
    let status = project.status(shared.config.timings, Instant::now());
    if status != ProjectStatus::Completed {
        return Err(api_error(
            StatusCode::BAD_REQUEST,
            format!("Project is not completed (status: {})", status.as_str()),
        ));
    }
    Ok(project)
}

async fn download_links(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    UrlPath(uuid): UrlPath<String>,
) -> Answer {
    let account = account(&shared, &headers)?;
    let mut state = shared.state();
    let project = completed(&shared, &mut state, &account, &uuid)?;
    let names: Vec<String> = project
        .edit
        .as_ref()
        .and_then(|e| e.outputs.as_ref())
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    drop(state);
    let link_to = |name: &str| {
        presign(
            &shared,
            "GET",
            &["s3", "out", &uuid, name],
            None,
            shared.config.link_lifetime,
        )
    };
    let mut files: Vec<Value> = names
        .iter()
        .map(|name| json!({ "file_name": name, "download_link": link_to(name) }))
        .collect();
    if let (Some(hostile), Some(first)) = (shared.faults().hostile, names.first()) {
        hostile_download_list(&mut files, hostile, &link_to(first), first);
    }
    Ok(shared.reply(StatusCode::OK, json!({ "files_list": files })))
}

/// What a hostile server puts in a download list (see `Hostile`).
fn hostile_download_list(files: &mut Vec<Value>, hostile: Hostile, real_link: &str, first: &str) {
    match hostile {
        Hostile::EvilNames => {
            // First in the list, so the good outputs after them test that they still land.
            let evil = [
                "../escaped.jpg",
                "../../../../tmp/imagen-escaped.jpg",
                "/tmp/imagen-absolute.jpg",
                "nul\u{0}byte.jpg",
                "bell\u{7}.jpg",
                "sub/../../escaped.jpg",
                "",
                first,
            ]
            .map(|name| json!({ "file_name": name, "download_link": real_link }));
            files.splice(0..0, evil);
        }
        Hostile::ForeignLinks => {
            let query = real_link.split_once('?').map_or("", |(_, q)| q);
            for (n, link) in [
                format!("http://storage.example.invalid/out/a.jpg?{query}"),
                "ftp://127.0.0.1/out/b.jpg".to_owned(),
                "file:///etc/passwd".to_owned(),
            ]
            .into_iter()
            .enumerate()
            {
                files.push(
                    json!({ "file_name": format!("foreign {n}.jpg"), "download_link": link }),
                );
            }
        }
        _ => {}
    }
}

#[derive(Deserialize)]
struct FileQuery {
    file_name: Option<String>,
}

/// A single link: the bare string under `data` (reference), or `{field: link}` (SDKs).
fn reply_link(shared: &Shared, field: &str, link: String) -> Response {
    match shared.config.envelope {
        Envelope::Data => shared.reply(StatusCode::OK, Value::String(link)),
        Envelope::Root => shared.reply(StatusCode::OK, json!({ field: link })),
    }
}

async fn download_link(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    UrlPath(uuid): UrlPath<String>,
    Query(query): Query<FileQuery>,
) -> Answer {
    output_link(&shared, &headers, &uuid, query, "GET").await
}

/// The override link: a PUT into the output bucket, only once Completed.
async fn output_upload_link(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    UrlPath(uuid): UrlPath<String>,
    Query(query): Query<FileQuery>,
) -> Answer {
    output_link(&shared, &headers, &uuid, query, "PUT").await
}

/// A presigned link to one output of a Completed project: GET to download an existing
/// output, PUT to replace (or add) one.
async fn output_link(
    shared: &Shared,
    headers: &HeaderMap,
    uuid: &str,
    query: FileQuery,
    method: &str,
) -> Answer {
    let account = account(shared, headers)?;
    let name = query.file_name.ok_or_else(|| {
        api_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Query parameter 'file_name' is required",
        )
    })?;
    let exists = {
        let mut state = shared.state();
        let project = completed(shared, &mut state, &account, uuid)?;
        project
            .edit
            .as_ref()
            .and_then(|e| e.outputs.as_ref())
            .is_some_and(|o| o.contains_key(&name))
    };
    if method == "GET" && !exists {
        return Err(api_error(
            StatusCode::NOT_FOUND,
            format!("No output file named '{name}'"),
        ));
    }
    let link = presign(
        shared,
        method,
        &["s3", "out", uuid, &name],
        None,
        shared.config.link_lifetime,
    );
    let field = if method == "GET" {
        "download_link"
    } else {
        "upload_link"
    };
    Ok(reply_link(shared, field, link))
}
