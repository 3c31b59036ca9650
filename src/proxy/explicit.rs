//! The explicit proxy listener: `CONNECT host:port` tunnels (then intercepted or spliced like
//! transparent TLS) and absolute-form `http://` requests.

use std::convert::Infallible;
use std::sync::Arc;

use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tracing::Instrument;

use super::forward::{Forwarder, Route};
use super::{error_page, serve, tunnel, upstream, ConnInfo, ProxyBody, ProxyContext};
use crate::metrics::Metrics;
use crate::shutdown::Shutdown;

/// Serves one explicit-proxy client connection.
pub async fn serve_client<S>(ctx: Arc<ProxyContext>, conn: ConnInfo, stream: S, shutdown: Shutdown)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let fwd = Arc::new(Forwarder::new(
        ctx.clone(),
        conn.clone(),
        Route::Explicit,
        None,
    ));
    let handler_ctx = ctx.clone();
    let handler_shutdown = shutdown.clone();
    serve::serve(
        &ctx,
        stream,
        false,
        shutdown,
        move |req: Request<Incoming>| {
            let fwd = fwd.clone();
            let ctx = handler_ctx.clone();
            let conn = conn.clone();
            let shutdown = handler_shutdown.clone();
            async move {
                if req.method() == Method::CONNECT {
                    connect(ctx, conn, req, shutdown).await
                } else {
                    fwd.handle(req).await
                }
            }
        },
    )
    .await;
}

/// Answers a `CONNECT`: checks and resolves the target, replies 200, then hands the tunnel to
/// [`tunnel::handle`].
async fn connect(
    ctx: Arc<ProxyContext>,
    conn: ConnInfo,
    req: Request<Incoming>,
    shutdown: Shutdown,
) -> Result<Response<ProxyBody>, Infallible> {
    let Some(authority) = req.uri().authority().cloned() else {
        return Ok(error_page::page(
            StatusCode::BAD_REQUEST,
            "Bad request",
            "CONNECT needs a host:port target",
        ));
    };
    let Some(port) = authority.port_u16() else {
        return Ok(error_page::page(
            StatusCode::BAD_REQUEST,
            "Bad request",
            "CONNECT needs a host:port target",
        ));
    };
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    let addrs = match upstream::resolve(&ctx, &host, port).await {
        Ok(a) => a,
        Err(err) => {
            if matches!(err, super::ProxyError::Refused(_)) {
                Metrics::inc(&ctx.metrics.requests_refused);
            }
            tracing::debug!(error = %err, "CONNECT refused");
            return Ok(error_page::page(
                err.status(),
                "Cannot open a tunnel",
                &err.to_string(),
            ));
        }
    };
    let span = tracing::Span::current();
    let tasks = conn.tasks.clone();
    tasks.spawn(
        async move {
            match hyper::upgrade::on(req).await {
                Ok(upgraded) => {
                    tunnel::handle(
                        ctx,
                        conn,
                        TokioIo::new(upgraded),
                        addrs,
                        Some(host),
                        shutdown,
                    )
                    .await;
                }
                Err(err) => tracing::debug!(error = %err, "CONNECT upgrade failed"),
            }
        }
        .instrument(span),
    );
    Ok(Response::new(error_page::full(bytes::Bytes::new())))
}
