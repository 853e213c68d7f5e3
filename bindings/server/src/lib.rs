//! `khop serve`: an HTTP/JSON lookup service over a national index (see `khop::index`), a thin
//! layer over the library. Look up one record or a batch, explain a pair, upsert and delete
//! records (committed through the index's single writer before the answer is sent), health,
//! readiness, Prometheus metrics and the OpenAPI document.
//!
//! Scoring runs on tokio's blocking pool, never on the async threads. Requests carry bearer
//! tokens with `read` or `write` scopes ([`auth`]); writes are written to an audit log (time,
//! token name, operation, record ids; never a field's value). Nothing below debug level logs a
//! personal value, and this service logs none at all: its log is its start, its readiness and its
//! stop.

mod api;
pub mod auth;
pub mod client;
mod metrics;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use khop::index::NationalIndex;
use tokio::net::TcpListener;

pub use api::ROUTES;
use auth::Tokens;
use metrics::Metrics;

/// How to run the service.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// The index folder.
    pub index: PathBuf,
    /// Where to listen.
    pub listen: SocketAddr,
    /// The token file; `None` only with `no_auth_on_loopback`.
    pub tokens: Option<PathBuf>,
    /// Run without tokens: refused unless `listen` is a loopback address (for tests and trials).
    pub no_auth_on_loopback: bool,
    /// The audit log of writes (JSON lines, appended); `None`: no writes are accepted.
    pub audit_log: Option<PathBuf>,
    /// Largest request body.
    pub max_body_bytes: usize,
    /// Longest time a request may take before a 503.
    pub timeout: Duration,
    /// Most records in one batch lookup or one write.
    pub max_batch: usize,
}

impl ServeOptions {
    /// Options for `index` on `listen`, with the default limits (4 MiB, 30 s, 1,000 records).
    pub fn new(index: impl Into<PathBuf>, listen: SocketAddr) -> ServeOptions {
        ServeOptions {
            index: index.into(),
            listen,
            tokens: None,
            no_auth_on_loopback: false,
            audit_log: None,
            max_body_bytes: 4 << 20,
            timeout: Duration::from_secs(30),
            max_batch: 1000,
        }
    }
}

/// What every handler shares.
pub(crate) struct AppState {
    /// The index as lookups see it; `None` while it loads (requests get 503). A lookup holds the
    /// lock only to clone the `Arc`: a write updates a clone of the index and swaps it in, so
    /// that lookups never wait for a commit.
    index: RwLock<Option<Arc<NationalIndex>>>,
    /// Held by the write in progress: writes go one at a time, each on the latest commit.
    writer: Mutex<()>,
    /// Lookups running at once on the blocking pool (one per core): more would only share the
    /// cores among more threads, and a fair queue keeps the slowest answers bounded.
    lookups: tokio::sync::Semaphore,
    /// Why the index could not be loaded, when it could not.
    load_error: Mutex<Option<String>>,
    tokens: Tokens,
    audit: Option<Mutex<std::fs::File>>,
    metrics: Metrics,
    options: ServeOptions,
    started: Instant,
}

/// A service bound to its address, its index loading in the background.
pub struct Server {
    listener: TcpListener,
    state: Arc<AppState>,
}

impl Server {
    /// Checks the options, reads the tokens, opens the audit log and binds the address; the index
    /// starts loading at [`Server::run`].
    pub async fn bind(options: ServeOptions) -> Result<Server, String> {
        let tokens = match (&options.tokens, options.no_auth_on_loopback) {
            (Some(path), _) => Tokens::from_file(path)?,
            (None, true) if options.listen.ip().is_loopback() => Tokens::none(),
            (None, true) => {
                return Err(format!(
                    "{}: not a loopback address; without tokens the service listens on 127.0.0.1 or ::1 only",
                    options.listen
                ));
            }
            (None, false) => {
                return Err(
                    "no tokens: give --tokens FILE (or, for a trial on this machine, --no-auth-on-loopback)"
                        .into(),
                );
            }
        };
        let audit = match &options.audit_log {
            Some(path) => Some(Mutex::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|e| format!("{}: {e}", path.display()))?,
            )),
            None => None,
        };
        let listener =
            TcpListener::bind(options.listen).await.map_err(|e| format!("{}: {e}", options.listen))?;
        let state = Arc::new(AppState {
            index: RwLock::new(None),
            writer: Mutex::new(()),
            lookups: tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get())),
            load_error: Mutex::new(None),
            tokens,
            audit,
            metrics: Metrics::new(),
            options,
            started: Instant::now(),
        });
        Ok(Server { listener, state })
    }

    /// The address bound (the port chosen, for port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Loads the index in the background and serves until `shutdown` completes; then stops
    /// taking requests and lets those in flight finish (a write in flight commits before its
    /// answer).
    pub async fn run(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<(), String> {
        let state = Arc::clone(&self.state);
        tokio::task::spawn_blocking(move || {
            let started = Instant::now();
            match NationalIndex::open(&state.options.index) {
                Ok(index) => {
                    state.metrics.index(&index);
                    eprintln!(
                        "khop serve: index ready: {} records, generation {} ({:.1} s)",
                        index.commit().records,
                        index.commit().generation,
                        started.elapsed().as_secs_f64()
                    );
                    if let Ok(mut slot) = state.index.write() {
                        *slot = Some(Arc::new(index));
                    }
                }
                Err(e) => {
                    eprintln!("khop serve: the index cannot be opened: {e}");
                    if let Ok(mut slot) = state.load_error.lock() {
                        *slot = Some(e.to_string());
                    }
                }
            }
        });
        let app = api::router(Arc::clone(&self.state));
        axum::serve(self.listener, app).with_graceful_shutdown(shutdown).await.map_err(|e| e.to_string())
    }
}

/// Runs the service until SIGINT or SIGTERM (the command `khop serve`).
pub fn serve(options: ServeOptions) -> Result<(), String> {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        let server = Server::bind(options).await?;
        let address = server.local_addr().map_err(|e| e.to_string())?;
        eprintln!("khop serve: listening on http://{address} (the index is loading)");
        server.run(shutdown_signal()).await?;
        eprintln!("khop serve: stopped");
        Ok(())
    })
}

/// SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(_) => {
                let _ = interrupt.await;
                return;
            }
        };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
