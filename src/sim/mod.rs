//! An embedded simulator of Imagen's I2I API and of the S3 storage behind its presigned
//! links, faithful where the contract is strict (see `shared/imagen-i2i-reference.txt`
//! and DESIGN.md). Runs in-process for tests and the demo, or as `imagen-sync sim`.
//!
//! `api` serves the JSON endpoints, `storage` the presigned "S3" side, `faults` injects
//! failures, `render` makes the edited JPEGs, `state` holds projects and counters.

// Handlers answer `Result<_, Response>`, axum's idiom for early refusals; the size of a
// `Response` in the error path is irrelevant for a test server.
#![allow(clippy::result_large_err)]

mod api;
mod faults;
mod render;
mod state;
mod storage;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

pub use faults::Faults;
pub use state::Hostile;
use state::SimState;
pub use state::{Counters, Timings};

/// Which of the two envelopes answers use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Envelope {
    /// `{"data": {...}}`, as in the reference.
    #[default]
    Data,
    /// The payload at the root, as some SDK paths see it.
    Root,
}

#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Accepted `x-api-key` values; each is its own account.
    pub api_keys: Vec<String>,
    pub envelope: Envelope,
    pub timings: Timings,
    /// How long presigned links stay valid.
    pub link_lifetime: Duration,
    /// With hdr_merge, this many consecutive files (by name) form one bracket.
    pub bracket_size: usize,
    /// With hdr_merge, outputs are downsized to this long edge (the reference says so).
    pub hdr_long_edge: u32,
    /// Every output keeps its input's pixel size, HDR merges too: for measuring the
    /// agent with full-size photos (the real service caps HDR outputs).
    pub full_size_outputs: bool,
    /// Where uploads and outputs live; a private temp dir when `None`.
    pub data_dir: Option<PathBuf>,
    pub faults: Faults,
    /// Serve the (undocumented) S3 multipart endpoints; without them they answer 404.
    pub multipart: bool,
    /// Keep the bytes of uploads on disk. Off, uploads are checked and counted but
    /// their bytes dropped, so a memory test can send gigabytes on a small disk; such
    /// inputs cannot be edited.
    pub keep_upload_bytes: bool,
    /// The address clients reach the simulator by, when that is not its own (behind a
    /// proxy): the base URL and presigned links name it.
    pub public_url: Option<String>,
}

impl SimConfig {
    pub fn new(api_key: impl Into<String>) -> Self {
        SimConfig {
            api_keys: vec![api_key.into()],
            envelope: Envelope::Data,
            timings: Timings {
                pending_for: Duration::from_millis(200),
                processing_for: Duration::from_secs(1),
            },
            link_lifetime: Duration::from_secs(3600),
            bracket_size: 3,
            hdr_long_edge: 2048,
            full_size_outputs: false,
            data_dir: None,
            faults: Faults::default(),
            multipart: true,
            keep_upload_bytes: true,
            public_url: None,
        }
    }
}

/// What every handler shares.
pub(crate) struct Shared {
    pub config: SimConfig,
    pub data_dir: PathBuf,
    pub state: Mutex<SimState>,
    pub faults: RwLock<Faults>,
    pub signing_key: [u8; 32],
    pub public_url: String,
    pub started: std::time::Instant,
}

impl Shared {
    pub(crate) fn state(&self) -> std::sync::MutexGuard<'_, SimState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn faults(&self) -> Faults {
        self.faults
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Wraps a payload in the configured envelope.
    pub(crate) fn reply(&self, status: StatusCode, payload: serde_json::Value) -> Response {
        let mut body = match self.config.envelope {
            Envelope::Data => serde_json::json!({ "data": payload }),
            Envelope::Root => payload,
        };
        // Counted by the fault middleware: handlers may hold the state lock here.
        if self.faults().hostile == Some(Hostile::HugeJson)
            && let Some(object) = body.as_object_mut()
        {
            let padding = "x".repeat(faults::HUGE_JSON_BYTES);
            object.insert("padding".into(), serde_json::Value::String(padding));
        }
        (status, axum::Json(body)).into_response()
    }
}

/// A FastAPI-style error answer: `{"detail": "..."}`.
pub(crate) fn api_error(status: StatusCode, detail: impl Into<String>) -> Response {
    (
        status,
        axum::Json(serde_json::json!({ "detail": detail.into() })),
    )
        .into_response()
}

/// A running simulator. Dropping it stops the server.
pub struct Sim {
    shared: Arc<Shared>,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    _temp_dir: Option<tempfile::TempDir>,
}

impl Sim {
    /// Starts on 127.0.0.1:`port` (0 picks a free port).
    pub async fn start(config: SimConfig, port: u16) -> std::io::Result<Sim> {
        Sim::start_at(config, SocketAddr::from(([127, 0, 0, 1], port))).await
    }

    /// Starts on `address` (the uplink benchmark's own network link; everything else
    /// serves loopback).
    pub async fn start_at(config: SimConfig, address: SocketAddr) -> std::io::Result<Sim> {
        let (temp_dir, data_dir) = match &config.data_dir {
            Some(dir) => (None, dir.clone()),
            None => {
                let temp = tempfile::Builder::new().prefix("imagen-sim").tempdir()?;
                let dir = temp.path().to_owned();
                (Some(temp), dir)
            }
        };
        std::fs::create_dir_all(&data_dir)?;
        let listener = tokio::net::TcpListener::bind(address).await?;
        let addr = listener.local_addr()?;
        let public_url = (config.public_url.clone()).unwrap_or_else(|| format!("http://{addr}"));
        let shared = Arc::new(Shared {
            faults: RwLock::new(config.faults.clone()),
            config,
            data_dir,
            state: Mutex::new(SimState::default()),
            signing_key: rand::random(),
            public_url,
            started: std::time::Instant::now(),
        });
        let app = router(shared.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            // As storage servers do: a small answer is not held back for an ACK.
            let listener = axum::serve::ListenerExt::tap_io(listener, |stream| {
                let _ = stream.set_nodelay(true);
            });
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(error) = serve.await {
                tracing::error!(%error, "simulator stopped");
            }
        });
        Ok(Sim {
            shared,
            addr,
            stop: Some(stop),
            _temp_dir: temp_dir,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The API base URL to give a client, ending in `/v1`.
    pub fn base_url(&self) -> url::Url {
        url::Url::parse(&format!("{}/v1", self.shared.public_url)).expect("a valid URL")
    }

    pub fn counters(&self) -> Counters {
        self.shared.state().counters.clone()
    }

    /// The size of every stored input of a project, by upload name.
    pub fn input_sizes(&self, project_uuid: &str) -> std::collections::BTreeMap<String, u64> {
        self.shared
            .state()
            .projects
            .get(project_uuid)
            .map(|p| {
                p.inputs
                    .iter()
                    .map(|(name, f)| (name.clone(), f.size))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn set_faults(&self, faults: Faults) {
        *self
            .shared
            .faults
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = faults;
    }

    pub fn faults(&self) -> Faults {
        self.shared.faults()
    }

    /// Signs a link as the API would, for tests that need one it did not hand out.
    pub fn sign_link(&self, method: &str, segments: &[&str], lifetime: Duration) -> String {
        storage::presign(&self.shared, method, segments, None, lifetime)
    }

    /// Stops serving; in-flight requests finish first.
    pub fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        self.stop();
    }
}

fn router(shared: Arc<Shared>) -> Router {
    let admin = Router::new()
        .route("/_sim/counters", axum::routing::get(admin_counters))
        .route(
            "/_sim/faults",
            axum::routing::get(admin_get_faults).put(admin_set_faults),
        );
    Router::new()
        .merge(api::routes(shared.config.multipart))
        .merge(storage::routes())
        .route_layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            faults::inject,
        ))
        .merge(admin)
        .with_state(shared)
}

async fn admin_counters(
    axum::extract::State(shared): axum::extract::State<Arc<Shared>>,
) -> Response {
    axum::Json(shared.state().counters.clone()).into_response()
}

async fn admin_get_faults(
    axum::extract::State(shared): axum::extract::State<Arc<Shared>>,
) -> Response {
    axum::Json(shared.faults()).into_response()
}

async fn admin_set_faults(
    axum::extract::State(shared): axum::extract::State<Arc<Shared>>,
    axum::Json(faults): axum::Json<Faults>,
) -> Response {
    *shared.faults.write().unwrap_or_else(|p| p.into_inner()) = faults;
    StatusCode::NO_CONTENT.into_response()
}
