//! A TCP proxy in front of the simulator that a test can freeze (connections stay
//! open, no byte moves: a hung server or a dead Wi-Fi link) or shut (connections cut
//! and refused: the server gone), then open again. Loopback only.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Pass,
    /// Nothing moves; connections stay open and new ones are accepted.
    Freeze,
    /// Every connection is cut and new ones are refused.
    Shut,
}

pub(crate) struct Proxy {
    pub addr: SocketAddr,
    mode: Arc<watch::Sender<Mode>>,
    upstream: Arc<std::sync::Mutex<Option<SocketAddr>>>,
}

impl Proxy {
    /// Listens on a free loopback port; forwards once [`Proxy::forward_to`] is told where.
    pub(crate) async fn start() -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let proxy = Proxy {
            addr,
            mode: Arc::new(watch::channel(Mode::Pass).0),
            upstream: Arc::default(),
        };
        tokio::spawn(serve(listener, proxy.mode.clone(), proxy.upstream.clone()));
        proxy
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub(crate) fn forward_to(&self, upstream: SocketAddr) {
        *self.upstream.lock().unwrap() = Some(upstream);
    }

    pub(crate) fn set(&self, mode: Mode) {
        self.mode.send_replace(mode);
    }
}

/// Accepts while not shut; once shut, stops listening (so connecting is refused) and
/// listens again on the same port when opened.
async fn serve(
    mut listener: TcpListener,
    mode: Arc<watch::Sender<Mode>>,
    upstream: Arc<std::sync::Mutex<Option<SocketAddr>>>,
) {
    let addr = listener.local_addr().unwrap();
    let mut modes = mode.subscribe();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((client, _)) = accepted else { continue };
                let Some(target) = *upstream.lock().unwrap() else { continue };
                tokio::spawn(carry(client, target, mode.subscribe()));
            }
            _ = modes.changed() => {
                let mode = *modes.borrow_and_update();
                if mode == Mode::Shut {
                    drop(listener);
                    while *modes.borrow_and_update() == Mode::Shut {
                        if modes.changed().await.is_err() {
                            return;
                        }
                    }
                    listener = TcpListener::bind(addr).await.expect("the port is free again");
                }
            }
        }
    }
}

async fn carry(client: TcpStream, target: SocketAddr, modes: watch::Receiver<Mode>) {
    let Ok(server) = TcpStream::connect(target).await else {
        return;
    };
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    tokio::select! {
        _ = pipe(client_read, server_write, modes.clone()) => {}
        _ = pipe(server_read, client_write, modes) => {}
    }
}

/// Copies one direction, holding bytes while frozen and ending when shut.
async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut modes: watch::Receiver<Mode>,
) {
    let mut buffer = vec![0u8; 16 * 1024];
    while open(&mut modes).await {
        tokio::select! {
            read = from.read(&mut buffer) => {
                let n = match read {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                // A freeze that came while reading holds these bytes too.
                if !open(&mut modes).await || to.write_all(&buffer[..n]).await.is_err() {
                    return;
                }
            }
            _ = modes.changed() => {}
        }
    }
}

/// Waits while frozen; false once shut.
async fn open(modes: &mut watch::Receiver<Mode>) -> bool {
    loop {
        let mode = *modes.borrow_and_update();
        match mode {
            Mode::Pass => return true,
            Mode::Shut => return false,
            Mode::Freeze => {
                if modes.changed().await.is_err() {
                    return false;
                }
            }
        }
    }
}
