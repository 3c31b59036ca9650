//! The proxy: listeners, classification, interception, forwarding and splicing.
//!
//! # Layout
//! The data path, top to bottom:
//! - [`listener`]: accept, admit the client ([`decision::Policy::admit_client`]), cap
//!   connections, idle timeout ([`tracked`]), one `tracing` span per connection.
//! - [`explicit`] (`CONNECT` and absolute-form HTTP) and [`transparent`] (redirected ports 80
//!   and 443, original destination from the kernel).
//! - [`tunnel`]: peek at the first bytes ([`peek`], [`rewind`]), ask [`decision`] (the one
//!   place that decides intercept, splice or refuse; [`guard`] and [`bypass`] feed it).
//! - [`intercept`] (TLS both ways) or [`splice`] (plain byte relay).
//! - [`serve`] and [`forward`]: HTTP/1.1 and HTTP/2 to the client, each request forwarded
//!   over the connection's [`upstream`] session with its body handed to the inspector.
//! - [`error_page`] and [`error`]: what a client sees when something fails, and which side
//!   failed. [`status`]: the metrics and health endpoint.

pub mod bypass;
pub mod conn_tasks;
pub mod decision;
pub mod error;
pub mod error_page;
pub mod explicit;
pub mod forward;
pub mod guard;
pub mod intercept;
pub mod listener;
pub mod peek;
pub mod rewind;
pub mod serve;
pub mod splice;
pub mod status;
pub mod tracked;
pub mod transparent;
pub mod tunnel;
pub mod upstream;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::task::TaskTracker;

pub use error::{ProxyError, Side};
pub use listener::ListenerKind;

use crate::config::Config;
use crate::inspect::Inspector;
use crate::metrics::Metrics;
use crate::shutdown::Shutdown;
use crate::tls::{CertMinter, SchoolCa, TlsError, UpstreamTls};
use bypass::BypassList;
use decision::Policy;
use guard::DestinationGuard;

/// Body type of every response gatewatch sends to a client.
pub type ProxyBody =
    http_body_util::combinators::BoxBody<Bytes, Box<dyn std::error::Error + Send + Sync>>;

/// Leaf certificates cached in memory.
const LEAF_CACHE: u64 = 10_000;

/// One client connection's identity within this process.
#[derive(Debug, Clone)]
pub struct ConnInfo {
    /// Process-unique connection id.
    pub id: u64,
    /// The client's address.
    pub client: SocketAddr,
    /// The listener that accepted it.
    pub kind: ListenerKind,
    /// Work that outlives the connection's HTTP exchange (a `CONNECT` tunnel, a WebSocket
    /// relay). The connection counts as open, for idle timeout and graceful shutdown, until
    /// these finish.
    pub tasks: conn_tasks::ConnTasks,
    /// The device and user behind the client address at accept time, if known.
    pub device: Option<Arc<crate::identity::Attribution>>,
}

/// Everything a connection needs, shared by all of them.
pub struct ProxyContext {
    /// The validated configuration.
    pub config: Config,
    /// Intercept / splice / refuse decisions.
    pub policy: Policy,
    /// The bypass lists (also reported on the status endpoint).
    pub bypass: Arc<BypassList>,
    /// Leaf certificates.
    pub minter: CertMinter,
    /// Upstream trust.
    pub upstream_tls: UpstreamTls,
    /// The body inspector.
    pub inspector: Arc<dyn Inspector>,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// Caps concurrent client connections.
    pub limiter: Arc<Semaphore>,
    /// Device and user attribution (DHCP, RADIUS), when sources are configured.
    pub identity: Option<crate::identity::IdentityService>,
    next_conn: AtomicU64,
}

impl ProxyContext {
    fn next_conn_id(&self) -> u64 {
        self.next_conn.fetch_add(1, Ordering::Relaxed) + 1
    }
}

/// Errors starting the gateway.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// The school CA or upstream trust could not be set up.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// A listener could not be bound.
    #[error("{0}; is another process using the port, or does it need root (ports below 1024)?")]
    Bind(std::io::Error),
    /// The data directory could not be created.
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Bound listening sockets, created before the gateway so tests can bind port 0 and read the
/// chosen ports.
#[derive(Debug, Default)]
pub struct BoundListeners {
    /// Explicit proxy listeners.
    pub explicit: Vec<TcpListener>,
    /// Transparent plain-HTTP listeners.
    pub transparent_http: Vec<TcpListener>,
    /// Transparent TLS listeners.
    pub transparent_tls: Vec<TcpListener>,
    /// The status endpoint.
    pub status: Option<TcpListener>,
}

impl BoundListeners {
    /// Binds every listener in the configuration.
    pub async fn bind(config: &Config) -> Result<BoundListeners, GatewayError> {
        let l = &config.listen;
        Ok(BoundListeners {
            explicit: listener::bind_all(&l.explicit)
                .await
                .map_err(GatewayError::Bind)?,
            transparent_http: listener::bind_all(&l.transparent_http)
                .await
                .map_err(GatewayError::Bind)?,
            transparent_tls: listener::bind_all(&l.transparent_tls)
                .await
                .map_err(GatewayError::Bind)?,
            status: match config.observability.metrics_listen {
                Some(addr) => Some(listener::bind(addr).await.map_err(GatewayError::Bind)?),
                None => None,
            },
        })
    }

    fn local_ports(&self) -> Vec<u16> {
        self.explicit
            .iter()
            .chain(&self.transparent_http)
            .chain(&self.transparent_tls)
            .chain(&self.status)
            .filter_map(|l| l.local_addr().ok().map(|a| a.port()))
            .collect()
    }
}

/// The gateway: bound listeners plus shared state, ready to run.
pub struct Gateway {
    ctx: Arc<ProxyContext>,
    listeners: BoundListeners,
}

impl Gateway {
    /// Sets up the gateway: loads (or creates) the school CA, builds upstream trust and the
    /// connection policy.
    pub fn new(
        config: Config,
        inspector: Arc<dyn Inspector>,
        listeners: BoundListeners,
    ) -> Result<Gateway, GatewayError> {
        std::fs::create_dir_all(&config.paths.data_dir).map_err(|source| {
            GatewayError::DataDir {
                path: config.paths.data_dir.clone(),
                source,
            }
        })?;
        let ca = Arc::new(SchoolCa::load_or_create(&config.paths.ca_dir)?);
        let minter = CertMinter::new(ca, LEAF_CACHE)?;
        let upstream_tls = UpstreamTls::new(&config.upstream)?;
        let bypass = Arc::new(BypassList::new(&config.bypass, &config.paths.data_dir));
        let mut guard = DestinationGuard::new(config.upstream.allow_private, Vec::new());
        guard.add_own_ports(listeners.local_ports());
        let policy = Policy::new(config.clients.clone(), guard, bypass.clone());
        let limiter = Arc::new(Semaphore::new(config.limits.max_connections));
        let ctx = ProxyContext {
            config,
            policy,
            bypass,
            minter,
            upstream_tls,
            inspector,
            metrics: Arc::new(Metrics::default()),
            limiter,
            identity: None,
            next_conn: AtomicU64::new(0),
        };
        Ok(Gateway {
            ctx: Arc::new(ctx),
            listeners,
        })
    }

    /// Attributes each accepted connection to a device and user with `service` (a lookup in
    /// memory at accept time; no I/O on the data path).
    pub fn with_identity(mut self, service: crate::identity::IdentityService) -> Self {
        if let Some(ctx) = Arc::get_mut(&mut self.ctx) {
            ctx.identity = Some(service);
        }
        self
    }

    /// The gateway's counters.
    pub fn metrics(&self) -> Arc<Metrics> {
        self.ctx.metrics.clone()
    }

    /// The bypass lists.
    pub fn bypass(&self) -> Arc<BypassList> {
        self.ctx.bypass.clone()
    }

    /// The school CA in use.
    pub fn school_ca(&self) -> Arc<SchoolCa> {
        self.ctx.minter.ca().clone()
    }

    /// The explicit listeners' bound addresses.
    pub fn explicit_addrs(&self) -> Vec<SocketAddr> {
        self.listeners
            .explicit
            .iter()
            .filter_map(|l| l.local_addr().ok())
            .collect()
    }

    /// Serves until `shutdown` is triggered, then gives open connections
    /// `limits.shutdown_grace` to finish.
    pub async fn run(self, shutdown: Shutdown) {
        let Gateway { ctx, listeners } = self;
        let tracker = TaskTracker::new();
        let kinds = [
            (listeners.explicit, ListenerKind::Explicit),
            (listeners.transparent_http, ListenerKind::TransparentHttp),
            (listeners.transparent_tls, ListenerKind::TransparentTls),
        ];
        let mut loops = Vec::new();
        for (list, kind) in kinds {
            for l in list {
                if let Ok(addr) = l.local_addr() {
                    tracing::info!(%addr, listener = kind.label(), "listening");
                }
                loops.push(tokio::spawn(listener::accept_loop(
                    ctx.clone(),
                    l,
                    kind,
                    tracker.clone(),
                    shutdown.clone(),
                )));
            }
        }
        if let Some(l) = listeners.status {
            if let Ok(addr) = l.local_addr() {
                tracing::info!(%addr, "status endpoint listening");
            }
            loops.push(tokio::spawn(status::serve_status(
                ctx.clone(),
                l,
                tracker.clone(),
                shutdown.clone(),
            )));
        }
        shutdown.wait().await;
        for l in loops {
            let _ = l.await;
        }
        tracker.close();
        let grace = ctx.config.limits.shutdown_grace;
        if tokio::time::timeout(grace, tracker.wait()).await.is_err() {
            tracing::warn!(
                remaining = tracker.len(),
                "shutdown grace period over; dropping open connections"
            );
        }
        tracing::info!("gatewatch stopped");
    }
}
