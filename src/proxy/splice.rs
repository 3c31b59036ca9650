//! Splicing: a plain byte relay between client and upstream, no decryption.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

use super::rewind::Rewind;
use super::{upstream, ProxyContext};
use crate::metrics::Metrics;

/// Connects to `addrs` and relays bytes both ways, starting with the bytes already read from
/// the client (`client`'s rewind prefix), until either side closes.
pub async fn splice<S>(ctx: &Arc<ProxyContext>, client: Rewind<S>, addrs: &[SocketAddr])
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    Metrics::inc(&ctx.metrics.spliced_total);
    let mut upstream = match upstream::connect_tcp(ctx, addrs).await {
        Ok(s) => s,
        Err(err) => {
            tracing::debug!(error = %err, "splice: upstream unreachable");
            return;
        }
    };
    let (prefix, mut client) = client.into_parts();
    if let Err(err) = upstream.write_all(&prefix).await {
        tracing::debug!(error = %err, "splice: upstream closed at once");
        return;
    }
    match tokio::io::copy_bidirectional(&mut client, &mut upstream).await {
        Ok((up, down)) => tracing::debug!(up, down, "splice closed"),
        Err(err) => tracing::debug!(error = %err, "splice ended"),
    }
}
