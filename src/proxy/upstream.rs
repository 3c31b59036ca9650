//! Reaching upstream servers: name resolution, TCP connect, TLS with certificate verification,
//! and the per-client-connection HTTP session that reuses one upstream connection across
//! requests (keep-alive) and reconnects when the upstream closes it.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio::sync::Mutex;
use tokio_rustls::client::TlsStream;
use tracing::Instrument;

use super::error::ProxyError;
use super::ProxyContext;
use crate::inspect::InspectedBody;
use crate::tls::UpstreamCertProblem;

/// The request body type sent upstream.
pub type UpstreamBody = InspectedBody<Incoming>;

/// ALPN identifiers gatewatch speaks.
pub const H2: &[u8] = b"h2";
/// ALPN identifier for HTTP/1.1.
pub const HTTP11: &[u8] = b"http/1.1";

/// Resolves `host` to addresses: static overrides first, then IP literals, then DNS. Only
/// addresses the destination guard allows are returned.
pub async fn resolve(
    ctx: &ProxyContext,
    host: &str,
    port: u16,
) -> Result<Vec<SocketAddr>, ProxyError> {
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.');
    let candidates: Vec<SocketAddr> = if let Some(ip) = ctx
        .config
        .upstream
        .static_hosts
        .get(&host.to_ascii_lowercase())
    {
        vec![SocketAddr::new(*ip, port)]
    } else if let Ok(ip) = host.parse() {
        vec![SocketAddr::new(ip, port)]
    } else {
        tokio::net::lookup_host((host, port))
            .await
            .map_err(|err| ProxyError::Resolve {
                host: host.to_string(),
                reason: err.to_string(),
            })?
            .collect()
    };
    let mut refusal = None;
    let allowed: Vec<SocketAddr> = candidates
        .into_iter()
        .filter(|addr| match ctx.policy.allow_destination(*addr) {
            Ok(()) => true,
            Err(reason) => {
                refusal = Some(reason);
                false
            }
        })
        .collect();
    if allowed.is_empty() {
        return Err(match refusal {
            Some(reason) => ProxyError::Refused(reason),
            None => ProxyError::Resolve {
                host: host.to_string(),
                reason: "no addresses".into(),
            },
        });
    }
    Ok(allowed)
}

/// Connects to the first address that answers within the configured timeout.
pub async fn connect_tcp(
    ctx: &ProxyContext,
    addrs: &[SocketAddr],
) -> Result<TcpStream, ProxyError> {
    let timeout = ctx.config.upstream.connect_timeout;
    let mut last = io::Error::new(io::ErrorKind::NotFound, "no address to connect to");
    for addr in addrs {
        match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => {
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            Ok(Err(err)) => last = err,
            Err(_) => last = io::Error::new(io::ErrorKind::TimedOut, "connect timed out"),
        }
    }
    crate::metrics::Metrics::inc(&ctx.metrics.upstream_failures);
    Err(ProxyError::Connect {
        target: addrs.first().map(|a| a.to_string()).unwrap_or_default(),
        source: last,
    })
}

/// Why an upstream TLS connection could not be made.
#[derive(Debug)]
pub enum TlsFailure {
    /// The upstream's certificate is not valid for this name.
    Certificate(UpstreamCertProblem),
    /// Anything else (connect failure, handshake failure, timeout).
    Other(ProxyError),
}

/// Connects and completes a verified TLS handshake offering `alpn`.
pub async fn connect_tls(
    ctx: &ProxyContext,
    addrs: &[SocketAddr],
    name: &ServerName<'static>,
    alpn: &[Vec<u8>],
) -> Result<TlsStream<TcpStream>, TlsFailure> {
    let tcp = connect_tcp(ctx, addrs).await.map_err(TlsFailure::Other)?;
    let connector = tokio_rustls::TlsConnector::from(ctx.upstream_tls.client_config(alpn));
    let target = format!("{}", name.to_str());
    match tokio::time::timeout(
        ctx.config.upstream.connect_timeout,
        connector.connect(name.clone(), tcp),
    )
    .await
    {
        Ok(Ok(tls)) => {
            crate::metrics::Metrics::inc(&ctx.metrics.upstream_handshakes_ok);
            Ok(tls)
        }
        Ok(Err(err)) => {
            crate::metrics::Metrics::inc(&ctx.metrics.upstream_failures);
            match crate::tls::upstream_cert_problem(&err) {
                Some(problem) => {
                    crate::metrics::Metrics::inc(&ctx.metrics.upstream_cert_invalid);
                    Err(TlsFailure::Certificate(problem))
                }
                None => Err(TlsFailure::Other(ProxyError::UpstreamTls {
                    target,
                    source: err,
                })),
            }
        }
        Err(_) => {
            crate::metrics::Metrics::inc(&ctx.metrics.upstream_failures);
            Err(TlsFailure::Other(ProxyError::UpstreamTls {
                target,
                source: io::Error::new(io::ErrorKind::TimedOut, "TLS handshake timed out"),
            }))
        }
    }
}

/// How to (re)connect to an upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectSpec {
    /// Plain HTTP/1.1 over TCP.
    Plain {
        /// Addresses to try.
        addrs: Vec<SocketAddr>,
    },
    /// HTTPS: TLS verified against `name`, speaking the protocol negotiated by `alpn` (`h2`,
    /// `http/1.1`, or none).
    Tls {
        /// Addresses to try.
        addrs: Vec<SocketAddr>,
        /// The name the certificate must be valid for.
        name: ServerName<'static>,
        /// The one protocol to offer (empty: none, meaning HTTP/1.1).
        alpn: Vec<u8>,
    },
}

/// An HTTP sender on one upstream connection.
pub enum Sender {
    /// HTTP/1.1: one request at a time.
    H1(http1::SendRequest<UpstreamBody>),
    /// HTTP/2: multiplexed.
    H2(http2::SendRequest<UpstreamBody>),
}

impl Sender {
    fn is_usable(&self) -> bool {
        match self {
            Sender::H1(s) => !s.is_closed(),
            Sender::H2(s) => !s.is_closed(),
        }
    }

    /// True when this sender speaks HTTP/2.
    pub fn is_h2(&self) -> bool {
        matches!(self, Sender::H2(_))
    }
}

/// Starts an HTTP client connection over `io`, speaking HTTP/2 when `h2`.
pub async fn handshake<I>(io: I, h2: bool) -> Result<Sender, ProxyError>
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let io = TokioIo::new(io);
    let span = tracing::debug_span!("upstream_conn");
    if h2 {
        let (sender, conn) = http2::Builder::new(TokioExecutor::new())
            .timer(TokioTimer::new())
            .keep_alive_interval(Duration::from_secs(30))
            // BDP-based flow-control windows: the 64 KiB default caps one stream's throughput.
            .adaptive_window(true)
            .handshake(io)
            .await?;
        tokio::spawn(
            async move {
                if let Err(err) = conn.await {
                    tracing::debug!(error = %err, "upstream h2 connection ended");
                }
            }
            .instrument(span),
        );
        Ok(Sender::H2(sender))
    } else {
        let (sender, conn) = http1::Builder::new().handshake(io).await?;
        tokio::spawn(
            async move {
                if let Err(err) = conn.with_upgrades().await {
                    tracing::debug!(error = %err, "upstream h1 connection ended");
                }
            }
            .instrument(span),
        );
        Ok(Sender::H1(sender))
    }
}

/// One client connection's upstream HTTP session: keeps the upstream connection for the next
/// request and reconnects when it has closed or the target changed.
pub struct Session {
    ctx: Arc<ProxyContext>,
    slot: Mutex<Option<(ConnectSpec, Sender)>>,
}

impl Session {
    /// A session with no connection yet.
    pub fn new(ctx: Arc<ProxyContext>) -> Self {
        Session {
            ctx,
            slot: Mutex::new(None),
        }
    }

    /// A session that starts with an already-established connection.
    pub fn with_connection(ctx: Arc<ProxyContext>, spec: ConnectSpec, sender: Sender) -> Self {
        Session {
            ctx,
            slot: Mutex::new(Some((spec, sender))),
        }
    }

    /// Whether requests for `spec` go out as HTTP/2 (URI must then be absolute).
    pub fn speaks_h2(spec: &ConnectSpec) -> bool {
        matches!(spec, ConnectSpec::Tls { alpn, .. } if alpn == H2)
    }

    /// Sends `req` to the upstream described by `spec`.
    pub async fn send(
        &self,
        spec: &ConnectSpec,
        req: Request<UpstreamBody>,
    ) -> Result<Response<Incoming>, ProxyError> {
        // The lock is a tokio mutex held only while (re)connecting and queueing the request,
        // so concurrent HTTP/2 requests share one connection instead of racing to open several.
        let mut slot = self.slot.lock().await;
        let reuse = matches!(&*slot, Some((s, sender)) if s == spec && sender.is_usable());
        if !reuse {
            *slot = Some((spec.clone(), self.connect(spec).await?));
        }
        let Some((_, sender)) = slot.as_mut() else {
            return Err(ProxyError::Internal(
                "upstream session lost its connection".into(),
            ));
        };
        crate::metrics::Metrics::inc(&self.ctx.metrics.requests_total);
        match sender {
            Sender::H1(s) => {
                s.ready().await?;
                let fut = s.send_request(req);
                drop(slot);
                Ok(fut.await?)
            }
            Sender::H2(s) => {
                let mut s = s.clone();
                drop(slot);
                s.ready().await?;
                Ok(s.send_request(req).await?)
            }
        }
    }

    async fn connect(&self, spec: &ConnectSpec) -> Result<Sender, ProxyError> {
        match spec {
            ConnectSpec::Plain { addrs } => {
                let tcp = connect_tcp(&self.ctx, addrs).await?;
                handshake(tcp, false).await
            }
            ConnectSpec::Tls { addrs, name, alpn } => {
                let offer: Vec<Vec<u8>> = if alpn.is_empty() {
                    Vec::new()
                } else {
                    vec![alpn.clone()]
                };
                match connect_tls(&self.ctx, addrs, name, &offer).await {
                    Ok(tls) => {
                        let h2 = tls.get_ref().1.alpn_protocol() == Some(H2);
                        handshake(tls, h2).await
                    }
                    Err(TlsFailure::Other(err)) => Err(err),
                    Err(TlsFailure::Certificate(problem)) => Err(ProxyError::UpstreamTls {
                        target: name.to_str().into_owned(),
                        source: io::Error::new(io::ErrorKind::InvalidData, problem.to_string()),
                    }),
                }
            }
        }
    }
}
