//! The status endpoint (`[observability] metrics_listen`): `/metrics` (Prometheus text),
//! `/healthz`, and `/bypass` (the automatic bypass list as JSON). Plain HTTP; bind it to
//! loopback or a management network only. It carries no personal data.

use std::convert::Infallible;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use http::{header, Request, Response, StatusCode};
use hyper::body::Incoming;
use tokio::net::TcpListener;
use tokio_util::task::TaskTracker;

use super::{error_page, serve, ProxyBody, ProxyContext};
use crate::shutdown::Shutdown;

/// Serves the status endpoint until shutdown.
pub async fn serve_status(
    ctx: Arc<ProxyContext>,
    listener: TcpListener,
    tracker: TaskTracker,
    shutdown: Shutdown,
) {
    loop {
        let (stream, _) = tokio::select! {
            r = listener.accept() => match r {
                Ok(pair) => pair,
                Err(err) => {
                    tracing::warn!(error = %err, "status accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = shutdown.wait() => return,
        };
        let ctx = ctx.clone();
        let shutdown = shutdown.clone();
        tracker.spawn(async move {
            let handler_ctx = ctx.clone();
            serve::serve(&ctx, stream, false, shutdown, move |req| {
                let ctx = handler_ctx.clone();
                async move { respond(&ctx, req) }
            })
            .await;
        });
    }
}

fn respond(ctx: &ProxyContext, req: Request<Incoming>) -> Result<Response<ProxyBody>, Infallible> {
    let (content_type, body) = match req.uri().path() {
        "/metrics" => {
            ctx.metrics
                .certificates_minted
                .store(ctx.minter.minted_count(), Ordering::Relaxed);
            ("text/plain; version=0.0.4", ctx.metrics.render_prometheus())
        }
        "/healthz" => ("text/plain", "ok\n".to_string()),
        "/bypass" => {
            let json = serde_json::to_string_pretty(&ctx.bypass.auto_entries())
                .unwrap_or_else(|_| "[]".into());
            ("application/json", json)
        }
        _ => {
            return Ok(error_page::page(
                StatusCode::NOT_FOUND,
                "Not found",
                "Try /metrics, /healthz or /bypass.",
            ))
        }
    };
    let mut resp = Response::new(error_page::full(body));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    Ok(resp)
}
