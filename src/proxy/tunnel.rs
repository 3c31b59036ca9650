//! A client stream bound for a known destination (a `CONNECT` tunnel or a transparently
//! redirected port-443 connection): peek at its first bytes, ask the [`Policy`] and then
//! intercept, splice or refuse.
//!
//! [`Policy`]: super::decision::Policy

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};

use super::decision::{Decision, TlsFacts};
use super::peek::{self, Peeked};
use super::{intercept, splice, ConnInfo, ProxyContext};
use crate::metrics::Metrics;
use crate::shutdown::Shutdown;

/// Handles a stream bound for `addrs` (`connect_host` is the explicit `CONNECT` host, if any).
pub async fn handle<S>(
    ctx: Arc<ProxyContext>,
    conn: ConnInfo,
    stream: S,
    addrs: Vec<SocketAddr>,
    connect_host: Option<String>,
    shutdown: Shutdown,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let Some(dest) = addrs.first().copied() else {
        return;
    };
    let peeked =
        match tokio::time::timeout(ctx.config.limits.handshake_timeout, peek::peek(stream)).await {
            Ok(Ok(p)) => p,
            Ok(Err(err)) => {
                tracing::debug!(error = %err, "client sent nothing usable");
                return;
            }
            Err(_) => {
                tracing::debug!("client sent no first bytes in time");
                return;
            }
        };
    let (hello, rewind) = match peeked {
        Peeked::Tls(hello, rewind) => (Some(hello), rewind),
        Peeked::Other(rewind) => (None, rewind),
    };
    let decision = ctx.policy.decide_tls(&TlsFacts {
        client: conn.client,
        dest,
        sni: hello.as_ref().and_then(|h| h.sni.as_deref()),
        connect_host: connect_host.as_deref(),
        is_tls: hello.is_some(),
    });
    let span = tracing::Span::current();
    span.record("decision", decision.label());
    if let Some(sni) = hello.as_ref().and_then(|h| h.sni.as_deref()) {
        span.record("sni", sni);
    }
    tracing::debug!(decision = ?decision, "decided");
    match (decision, hello) {
        (Decision::Refuse(reason), _) => {
            Metrics::inc(&ctx.metrics.requests_refused);
            tracing::debug!(reason = %reason, "refused");
        }
        (Decision::Splice(_), _) | (Decision::Intercept, None) => {
            splice::splice(&ctx, rewind, &addrs).await;
        }
        (Decision::Intercept, Some(hello)) => {
            intercept::intercept(ctx, conn, rewind, hello, addrs, connect_host, shutdown).await;
        }
    }
}
