//! Accept loops: admit the client, cap concurrent connections, give each connection its span,
//! idle timeout and shutdown handling, and hand it to its listener's handler.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use super::tracked::{idle_watchdog, Activity, Tracked};
use super::{explicit, transparent, ConnInfo, ProxyContext};
use crate::metrics::Metrics;
use crate::shutdown::Shutdown;

/// Which kind of listener accepted a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenerKind {
    /// Explicit proxy (`CONNECT`, absolute-form HTTP).
    Explicit,
    /// Transparent plain HTTP (redirected port 80).
    TransparentHttp,
    /// Transparent TLS (redirected port 443).
    TransparentTls,
}

impl ListenerKind {
    /// A short label for logs.
    pub fn label(self) -> &'static str {
        match self {
            ListenerKind::Explicit => "explicit",
            ListenerKind::TransparentHttp => "transparent-http",
            ListenerKind::TransparentTls => "transparent-tls",
        }
    }
}

/// Accepts connections on `listener` until shutdown.
pub async fn accept_loop(
    ctx: Arc<ProxyContext>,
    listener: TcpListener,
    kind: ListenerKind,
    tracker: TaskTracker,
    shutdown: Shutdown,
) {
    loop {
        let permit = tokio::select! {
            p = ctx.limiter.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => return,
            },
            _ = shutdown.wait() => return,
        };
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = shutdown.wait() => return,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(err) => {
                // Usually out of file descriptors: back off instead of spinning.
                tracing::warn!(error = %err, listener = kind.label(), "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        Metrics::inc(&ctx.metrics.connections_total);
        if let Err(reason) = ctx.policy.admit_client(peer.ip()) {
            Metrics::inc(&ctx.metrics.connections_refused);
            tracing::debug!(client = %peer, reason = %reason, "client refused");
            if kind == ListenerKind::Explicit {
                tracker.spawn(refuse_explicit(stream));
            }
            continue;
        }
        let id = ctx.next_conn_id();
        let conn = ConnInfo {
            id,
            client: peer,
            kind,
            tasks: Default::default(),
            device: ctx
                .identity
                .as_ref()
                .and_then(|ids| ids.lookup(peer.ip(), std::time::SystemTime::now()))
                .map(Arc::new),
        };
        let span = tracing::info_span!(
            "conn",
            id,
            client = %peer,
            listener = kind.label(),
            sni = tracing::field::Empty,
            decision = tracing::field::Empty,
        );
        let ctx = ctx.clone();
        let shutdown = shutdown.clone();
        tracker.spawn(
            async move {
                let _permit = permit;
                Metrics::inc(&ctx.metrics.connections_active);
                handle(ctx.clone(), conn, stream, shutdown).await;
                Metrics::dec(&ctx.metrics.connections_active);
            }
            .instrument(span),
        );
    }
}

/// Runs one connection under its idle timeout.
async fn handle(ctx: Arc<ProxyContext>, conn: ConnInfo, stream: TcpStream, shutdown: Shutdown) {
    let _ = stream.set_nodelay(true);
    let dest = match conn.kind {
        ListenerKind::Explicit => None,
        _ => match transparent::original_dst(&stream) {
            Ok(dest) => Some(dest),
            Err(err) => {
                tracing::debug!(error = %err, "no original destination (connection not redirected?)");
                return;
            }
        },
    };
    let activity = Activity::new();
    let stream = Tracked::new(stream, activity.clone(), ctx.metrics.clone());
    let idle = ctx.config.limits.idle_timeout;
    let tasks = conn.tasks.clone();
    let work = async {
        match (conn.kind, dest) {
            (ListenerKind::Explicit, _) => {
                explicit::serve_client(ctx.clone(), conn, stream, shutdown).await
            }
            (ListenerKind::TransparentHttp, Some(dest)) => {
                transparent::serve_http(ctx.clone(), conn, stream, dest, shutdown).await
            }
            (ListenerKind::TransparentTls, Some(dest)) => {
                transparent::serve_tls(ctx.clone(), conn, stream, dest, shutdown).await
            }
            (_, None) => {}
        }
        // A tunnel or upgraded stream the exchange handed off is still this connection.
        tasks.join().await;
    };
    tokio::select! {
        _ = work => tracing::debug!("connection closed"),
        _ = idle_watchdog(activity, idle) => tracing::debug!("connection idle; closed"),
    }
}

/// Tells a refused explicit-proxy client why, then closes.
async fn refuse_explicit(mut stream: TcpStream) {
    let body = "gatewatch: this address is not allowed to use the proxy.\n";
    let resp = format!(
        "HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(2), stream.write_all(resp.as_bytes())).await;
    let _ = stream.shutdown().await;
}

/// Binds every address; on failure names the address.
pub async fn bind_all(addrs: &[SocketAddr]) -> std::io::Result<Vec<TcpListener>> {
    let mut out = Vec::with_capacity(addrs.len());
    for addr in addrs {
        out.push(bind(*addr).await?);
    }
    Ok(out)
}

/// Binds one listener; IPv6 listeners are IPv6-only so IPv4 and IPv6 can be bound separately.
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into()).map_err(|err| {
        std::io::Error::new(err.kind(), format!("cannot listen on {addr}: {err}"))
    })?;
    socket.listen(1024)?;
    TcpListener::from_std(socket.into())
}
