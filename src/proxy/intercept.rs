//! Interception of one TLS connection: verify the real upstream first, then complete the
//! client's handshake with a school-CA leaf offering the protocol the upstream chose, and serve
//! HTTP to the client, forwarding each request.
//!
//! If the upstream's certificate is invalid, the client gets an explanatory error page under a
//! certificate from an untrusted throwaway CA: gatewatch never presents a valid certificate for
//! an invalid upstream.

use std::net::SocketAddr;
use std::sync::Arc;

use http::StatusCode;
use rustls::pki_types::ServerName;
use rustls::sign::CertifiedKey;
use tokio::io::{AsyncRead, AsyncWrite};

use super::forward::{Forwarder, Route};
use super::peek::Hello;
use super::rewind::Rewind;
use super::upstream::{self, ConnectSpec, Session, TlsFailure, H2, HTTP11};
use super::{error_page, serve, ConnInfo, ProxyContext};
use crate::metrics::Metrics;
use crate::shutdown::Shutdown;
use crate::tls::{LeafName, UpstreamCertProblem};

/// Intercepts `client`, whose ClientHello is `hello`, bound for `addrs`. `connect_host` is the
/// host of an explicit `CONNECT`, used when the client sent no SNI.
pub async fn intercept<S>(
    ctx: Arc<ProxyContext>,
    conn: ConnInfo,
    client: Rewind<S>,
    hello: Hello,
    addrs: Vec<SocketAddr>,
    connect_host: Option<String>,
    shutdown: Shutdown,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let Some(dest) = addrs.first().copied() else {
        return;
    };
    let host = hello
        .sni
        .clone()
        .or(connect_host)
        .unwrap_or_else(|| dest.ip().to_string());
    let leaf = match host.parse() {
        Ok(ip) => LeafName::Ip(ip),
        Err(_) => LeafName::Dns(host.clone()),
    };
    let name: ServerName<'static> = match crate::tls::server_name_for(&leaf) {
        Ok(n) => n,
        Err(err) => {
            tracing::debug!(error = %err, "client asked for an unusable name");
            return;
        }
    };

    // Offer the upstream what the client offered (of what we speak), so the client ends up
    // with the protocol the upstream really supports.
    let offered: Vec<Vec<u8>> = hello
        .alpn
        .iter()
        .filter(|p| p.as_slice() == H2 || p.as_slice() == HTTP11)
        .cloned()
        .collect();

    let tls = match upstream::connect_tls(&ctx, &addrs, &name, &offered).await {
        Ok(tls) => tls,
        Err(TlsFailure::Certificate(problem)) => {
            tracing::info!(host = %host, problem = ?problem, "upstream certificate invalid; serving error page");
            let key = ctx.minter.untrusted_key(&leaf);
            serve_error(
                ctx,
                conn,
                client,
                key.ok(),
                problem_page(&problem),
                shutdown,
            )
            .await;
            return;
        }
        Err(TlsFailure::Other(err)) => {
            tracing::debug!(host = %host, error = %err, "upstream unreachable");
            let key = ctx.minter.certified_key(&leaf);
            let page = (
                err.status(),
                "Site unreachable".to_string(),
                err.to_string(),
            );
            serve_error(ctx, conn, client, key.ok(), page, shutdown).await;
            return;
        }
    };
    let chosen = tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
    let h2 = chosen.as_deref() == Some(H2);
    let sender = match upstream::handshake(tls, h2).await {
        Ok(s) => s,
        Err(err) => {
            tracing::debug!(host = %host, error = %err, "upstream HTTP handshake failed");
            return;
        }
    };

    let key = match ctx.minter.certified_key(&leaf) {
        Ok(k) => k,
        Err(err) => {
            tracing::error!(error = %err, "cannot mint a certificate");
            return;
        }
    };
    let client_alpn = chosen.clone().map(|p| vec![p]).unwrap_or_default();
    let Some(client_tls) = accept_client(&ctx, client, key, client_alpn, &host).await else {
        return;
    };
    Metrics::inc(&ctx.metrics.intercepted_total);

    let spec = ConnectSpec::Tls {
        addrs,
        name,
        alpn: chosen.unwrap_or_default(),
    };
    let session = Session::with_connection(ctx.clone(), spec.clone(), sender);
    let route = Route::Intercepted {
        host,
        port: dest.port(),
        spec,
    };
    let fwd = Arc::new(Forwarder::new(ctx.clone(), conn, route, Some(session)));
    serve::serve(&ctx, client_tls, h2, shutdown, move |req| {
        fwd.clone().handle(req)
    })
    .await;
}

/// Completes the client's TLS handshake. A client that rejects our certificate counts towards
/// the host's automatic bypass.
async fn accept_client<S>(
    ctx: &Arc<ProxyContext>,
    client: Rewind<S>,
    key: Arc<CertifiedKey>,
    alpn: Vec<Vec<u8>>,
    host: &str,
) -> Option<tokio_rustls::server::TlsStream<Rewind<S>>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let acceptor = tokio_rustls::TlsAcceptor::from(ctx.minter.server_config(key, alpn));
    let handshake =
        tokio::time::timeout(ctx.config.limits.handshake_timeout, acceptor.accept(client)).await;
    match handshake {
        Ok(Ok(tls)) => {
            Metrics::inc(&ctx.metrics.client_handshakes_ok);
            ctx.bypass.record_success(host);
            Some(tls)
        }
        Ok(Err(err)) => {
            Metrics::inc(&ctx.metrics.client_handshakes_failed);
            if client_rejected_certificate(&err) {
                tracing::debug!(host = %host, error = %err, "client rejected the school certificate");
                if ctx.bypass.record_rejection(host) {
                    Metrics::inc(&ctx.metrics.auto_bypassed_hosts);
                    tracing::info!(host = %host, "host added to the automatic bypass list: its clients reject the school certificate");
                }
            } else {
                tracing::debug!(host = %host, error = %err, "client TLS handshake failed");
            }
            None
        }
        Err(_) => {
            Metrics::inc(&ctx.metrics.client_handshakes_failed);
            tracing::debug!(host = %host, "client TLS handshake timed out");
            None
        }
    }
}

/// True when a failed server-side handshake means the client did not accept our certificate:
/// it sent a certificate alert, or hung up mid-handshake (what many apps do).
fn client_rejected_certificate(err: &std::io::Error) -> bool {
    use rustls::AlertDescription as A;
    if let Some(rustls::Error::AlertReceived(alert)) = err
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
    {
        return matches!(
            alert,
            A::BadCertificate
                | A::UnknownCA
                | A::CertificateUnknown
                | A::UnsupportedCertificate
                | A::CertificateExpired
                | A::AccessDenied
                | A::DecryptError
        );
    }
    matches!(
        err.kind(),
        std::io::ErrorKind::UnexpectedEof
            | std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::BrokenPipe
    )
}

type Page = (StatusCode, String, String);

fn problem_page(problem: &UpstreamCertProblem) -> Page {
    (
        StatusCode::BAD_GATEWAY,
        "This site's security certificate is not valid".to_string(),
        problem.explain(),
    )
}

/// Completes the client handshake with `key` and answers every request with the error page.
async fn serve_error<S>(
    ctx: Arc<ProxyContext>,
    _conn: ConnInfo,
    client: Rewind<S>,
    key: Option<Arc<CertifiedKey>>,
    page: Page,
    shutdown: Shutdown,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let Some(key) = key else { return };
    let acceptor =
        tokio_rustls::TlsAcceptor::from(ctx.minter.server_config(key, vec![HTTP11.to_vec()]));
    let Ok(Ok(tls)) =
        tokio::time::timeout(ctx.config.limits.handshake_timeout, acceptor.accept(client)).await
    else {
        return;
    };
    let page = Arc::new(page);
    serve::serve(&ctx, tls, false, shutdown, move |_req| {
        let page = page.clone();
        async move { Ok(error_page::page(page.0, &page.1, &page.2)) }
    })
    .await;
}
