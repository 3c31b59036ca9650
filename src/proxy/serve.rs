//! Serving HTTP to a client over any stream, with the configured limits and graceful
//! shutdown.

use std::future::Future;
use std::sync::Arc;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};

use super::{ProxyBody, ProxyContext};
use crate::shutdown::Shutdown;

/// Serves HTTP/1.1 (with upgrades) or HTTP/2 on `io` with `handler` until the client closes or
/// shutdown is signalled (then the connection finishes its in-flight requests and closes).
pub async fn serve<I, F, Fut>(
    ctx: &Arc<ProxyContext>,
    io: I,
    h2: bool,
    shutdown: Shutdown,
    handler: F,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    F: Fn(Request<Incoming>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Response<ProxyBody>, std::convert::Infallible>> + Send + 'static,
{
    let limits = &ctx.config.limits;
    let io = TokioIo::new(io);
    let service = service_fn(handler);
    let result = if h2 {
        let conn = http2::Builder::new(TokioExecutor::new())
            .timer(TokioTimer::new())
            .max_header_list_size(limits.max_header_bytes as u32)
            // BDP-based flow-control windows: the 64 KiB default caps one stream's throughput.
            .adaptive_window(true)
            .serve_connection(io, service);
        tokio::pin!(conn);
        tokio::select! {
            r = conn.as_mut() => r,
            _ = shutdown.wait() => {
                conn.as_mut().graceful_shutdown();
                conn.await
            }
        }
    } else {
        let conn = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.handshake_timeout)
            .max_buf_size(limits.max_header_bytes.max(8192))
            .keep_alive(true)
            .serve_connection(io, service)
            .with_upgrades();
        tokio::pin!(conn);
        tokio::select! {
            r = conn.as_mut() => r,
            _ = shutdown.wait() => {
                conn.as_mut().graceful_shutdown();
                conn.await
            }
        }
    };
    if let Err(err) = result {
        tracing::debug!(error = %err, "client connection ended with an error");
    }
}
