//! Transparent listeners: connections redirected by nftables from ports 80 and 443. The
//! original destination comes from `SO_ORIGINAL_DST` (IPv4) or `IP6T_SO_ORIGINAL_DST` (IPv6);
//! gatewatch connects to that address and never re-resolves the name.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use super::forward::{Forwarder, Route};
use super::{serve, tunnel, ConnInfo, ProxyContext};
use crate::shutdown::Shutdown;

/// The address the client originally connected to, before the nftables `redirect`.
pub fn original_dst(stream: &TcpStream) -> io::Result<SocketAddr> {
    let sock = socket2::SockRef::from(stream);
    let local = stream.local_addr()?;
    let addr = if local.is_ipv4() {
        sock.original_dst_v4()?
    } else {
        sock.original_dst_v6()?
    };
    addr.as_socket()
        .map(|a| SocketAddr::new(crate::config::canonical_ip(a.ip()), a.port()))
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                "original destination is not an IP address",
            )
        })
}

/// Serves a redirected plain-HTTP connection bound for `dest`.
pub async fn serve_http<S>(
    ctx: Arc<ProxyContext>,
    conn: ConnInfo,
    stream: S,
    dest: SocketAddr,
    shutdown: Shutdown,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    if let Err(reason) = ctx.policy.allow_destination(dest) {
        crate::metrics::Metrics::inc(&ctx.metrics.requests_refused);
        tracing::debug!(%dest, reason = %reason, "refused");
        return;
    }
    let fwd = Arc::new(Forwarder::new(
        ctx.clone(),
        conn,
        Route::TransparentHttp { dest },
        None,
    ));
    serve::serve(&ctx, stream, false, shutdown, move |req| {
        fwd.clone().handle(req)
    })
    .await;
}

/// Serves a redirected port-443 connection bound for `dest`.
pub async fn serve_tls<S>(
    ctx: Arc<ProxyContext>,
    conn: ConnInfo,
    stream: S,
    dest: SocketAddr,
    shutdown: Shutdown,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    tunnel::handle(ctx, conn, stream, vec![dest], None, shutdown).await;
}
