//! The local dashboard: a small web UI the agent serves itself (axum) on 127.0.0.1 by
//! default. The Shoots page follows every shoot live, shows its photos before and
//! after, and retries, pauses and resumes; the Settings page edits the config. Plain
//! server-rendered HTML with a little script, all served from here (no CDN). `guard`
//! decides who may use it. The address it listens on is written to
//! `<data_dir>/dashboard.addr`, so `imagen-sync open` and the tray find it.

mod controls;
mod guard;
pub mod link;
mod live;
mod pages;
mod settings;
mod shoot;
mod shoots;
mod thumbs;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use tokio::sync::{broadcast, watch};

use crate::config::{Config, DashboardSettings};
use crate::events::{EventKind, Events};

/// What the dashboard works from.
#[derive(Clone)]
pub struct DashboardContext {
    pub config_path: PathBuf,
    /// The config in force (None while the file is broken).
    pub config: watch::Receiver<Option<Arc<Config>>>,
    pub events: Events,
    /// The controls shared with the tray; they nudge this process's agent.
    pub controls: crate::control::Controls,
}

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    config_path: PathBuf,
    config: watch::Receiver<Option<Arc<Config>>>,
    /// What the page's event stream sends: each agent event, once `live` has seen it.
    changes: broadcast::Sender<String>,
    secret: guard::Secret,
    port: u16,
    /// Asked for when the dashboard listens beyond this machine.
    password: Option<String>,
    thumbs_dir: PathBuf,
    live: Mutex<live::Glance>,
    /// The journal last opened, kept while the config names the same one.
    journal: crate::journal::ViewCache,
    controls: crate::control::Controls,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// A running dashboard.
pub struct Dashboard {
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
    /// Where its address is written down (taken back when it stops).
    address_file: PathBuf,
}

impl Drop for Dashboard {
    fn drop(&mut self) {
        self.task.abort();
        // A stopped dashboard's address would send `open` to whatever takes the port.
        if link::address_file_holds(&self.address_file, self.addr) {
            let _ = std::fs::remove_file(&self.address_file);
        }
    }
}

/// Starts the dashboard; an error (the port taken, a bad password file) leaves the
/// agent running without it.
pub async fn start(
    context: DashboardContext,
    settings: &DashboardSettings,
    data_dir: &Path,
) -> anyhow::Result<Dashboard> {
    let token = link::access_token(&context.config_path)?;
    let password = match (&settings.password_file, settings.listen.is_loopback()) {
        (_, true) => None,
        (Some(file), false) => Some(crate::config::read_private_file(
            file,
            "the dashboard's password",
        )?),
        (None, false) => anyhow::bail!("listening beyond this machine needs a password_file"),
    };
    let listener = bind_near(settings).await?;
    let addr = listener.local_addr()?;
    if settings.port != 0 && addr.port() != settings.port {
        tracing::warn!(
            "the dashboard's port {} is taken by another program: the dashboard is on port {} \
             instead (imagen-sync open and the tray find it; set another [dashboard] port to \
             choose)",
            settings.port,
            addr.port()
        );
        context.events.emit(
            "",
            None,
            EventKind::DashboardMoved {
                wanted: settings.port,
                port: addr.port(),
            },
        );
    }
    let state = AppState(Arc::new(Inner {
        config_path: context.config_path,
        config: context.config,
        changes: broadcast::channel(256).0,
        secret: guard::Secret::new(token),
        port: addr.port(),
        password,
        thumbs_dir: data_dir.join("thumbnails"),
        live: Mutex::new(live::Glance::default()),
        journal: Default::default(),
        controls: context.controls,
    }));
    tokio::spawn(live::follow(state.clone(), context.events.subscribe()));
    let app = router(state);
    link::record_address(data_dir, addr)?;
    let task = tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::error!(%error, "the dashboard stopped");
        }
    });
    tracing::info!("dashboard on http://{addr}/ (imagen-sync open)");
    Ok(Dashboard {
        addr,
        task,
        address_file: link::address_file(data_dir),
    })
}

/// How many ports past a taken one are tried before any free port is taken.
const NEARBY_PORTS: u16 = 20;

/// Listens on the configured port or, when another program holds it, on the next free
/// one (then any free one).
async fn bind_near(settings: &DashboardSettings) -> std::io::Result<tokio::net::TcpListener> {
    let wanted = settings.port;
    let mut tried = 0;
    loop {
        let port = match (wanted, tried) {
            (0, _) => 0,
            (_, n) if n > NEARBY_PORTS => 0,
            (_, n) => wanted.saturating_add(n),
        };
        match tokio::net::TcpListener::bind((settings.listen, port)).await {
            Err(error) if error.kind() == std::io::ErrorKind::AddrInUse && port != 0 => tried += 1,
            other => return other,
        }
    }
}

fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(shoots::page))
        .route("/rows", get(shoots::rows))
        .route("/banner", get(shoots::banner))
        .route("/events", get(live::events))
        .route("/shoots/{id}", get(shoot::shoot_page))
        .route("/shoots/{id}/thumb/{index}/{side}", get(shoot::thumbnail))
        .route("/shoots/{id}/large/{index}/{side}", get(shoot::large))
        .route("/shoots/{id}/compare/{index}", get(shoot::compare_page))
        .route("/shoots/{id}/retry", post(controls::retry))
        .route("/shoots/{id}/send-anyway", post(controls::send_anyway))
        .route("/shoots/{id}/open", post(controls::open_outbox))
        .route("/pause", post(controls::pause))
        .route("/resume", post(controls::resume))
        .route("/settings", get(settings::page).post(settings::save))
        .route(
            "/welcome",
            get(settings::welcome::page).post(settings::welcome::save),
        )
        .route(
            "/static/app.css",
            get(|| async { asset("text/css", pages::STYLE) }),
        )
        .route(
            "/static/app.js",
            get(|| async { asset("text/javascript", pages::SCRIPT) }),
        )
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::check,
        ))
        .layer(axum::middleware::from_fn(security_headers))
        .with_state(state)
}

fn asset(kind: &'static str, body: &'static str) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, kind)], body)
}

/// Headers every answer carries: no framing by other sites, nothing loaded from
/// elsewhere, no caching of pages.
async fn security_headers(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let cached = headers.contains_key(header::CACHE_CONTROL);
    let mut set = |name: &'static str, value: &'static str| {
        headers.insert(name, header::HeaderValue::from_static(value));
    };
    set(
        "content-security-policy",
        "default-src 'self'; img-src 'self'; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'",
    );
    set("x-frame-options", "DENY");
    set("x-content-type-options", "nosniff");
    set("referrer-policy", "no-referrer");
    if !cached {
        set("cache-control", "no-store");
    }
    response
}

/// Serves the dashboard next to the agent for as long as the returned task runs, on
/// the settings in the config file (or the defaults while it is broken); a change of
/// `[dashboard]` starts it again on the new settings, without touching the agent.
/// Failing to start is reported and is not fatal.
pub async fn serve_beside_agent(context: DashboardContext) -> tokio::task::JoinHandle<()> {
    let settings_now = |context: &DashboardContext| {
        let config =
            Config::load(&context.config_path).unwrap_or_else(|_| crate::config::default_config());
        (config.dashboard, config.agent.data_dir)
    };
    let mut settings = settings_now(&context);
    let mut served = start_reporting(&context, &settings).await;
    let mut config = context.config.clone();
    tokio::spawn(async move {
        while config.changed().await.is_ok() {
            let now = settings_now(&context);
            if now != settings {
                tracing::info!("dashboard settings changed: serving the dashboard on them");
                drop(served.take());
                settings = now;
                served = start_reporting(&context, &settings).await;
            }
        }
        drop(served);
    })
}

async fn start_reporting(
    context: &DashboardContext,
    (settings, data_dir): &(DashboardSettings, PathBuf),
) -> Option<Dashboard> {
    match start(context.clone(), settings, data_dir).await {
        Ok(dashboard) => Some(dashboard),
        Err(error) => {
            tracing::warn!("no dashboard: {error:#} (set another [dashboard] port in the config)");
            None
        }
    }
}

/// The journal of the config in force, to read (none until the agent made one).
fn journal(state: &AppState) -> Option<Arc<dyn crate::journal::JournalView>> {
    let config = state.config.borrow().clone()?;
    state.journal.view(&config)
}
