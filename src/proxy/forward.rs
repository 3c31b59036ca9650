//! Forwarding one HTTP request: rewrite it for the upstream, hand its URL and body to the
//! inspector, send it, and relay the response (inspected) or the upgrade (WebSocket).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{Request, Response, StatusCode, Uri, Version};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tracing::Instrument;

use super::error::{ProxyError, Side};
use super::upstream::{ConnectSpec, Session};
use super::{error_page, ConnInfo, ProxyBody, ProxyContext};
use crate::inspect::{InspectedBody, RequestMeta, ResponseMeta};

/// Where a client connection's requests go.
#[derive(Debug, Clone)]
pub enum Route {
    /// An intercepted TLS connection: every request goes to the same verified upstream.
    Intercepted {
        /// The host the client asked for (SNI or CONNECT host).
        host: String,
        /// The upstream port.
        port: u16,
        /// How to reach it.
        spec: ConnectSpec,
    },
    /// A transparently redirected plain-HTTP connection: requests go to the original
    /// destination; the Host header names the site.
    TransparentHttp {
        /// The original destination.
        dest: SocketAddr,
    },
    /// An explicit proxy connection: each request carries an absolute `http://` URL.
    Explicit,
}

/// Serves the requests of one client connection.
pub struct Forwarder {
    ctx: Arc<ProxyContext>,
    conn: ConnInfo,
    route: Route,
    session: Session,
}

impl Forwarder {
    /// A forwarder for one client connection, optionally starting with an upstream session.
    pub fn new(
        ctx: Arc<ProxyContext>,
        conn: ConnInfo,
        route: Route,
        session: Option<Session>,
    ) -> Self {
        let session = session.unwrap_or_else(|| Session::new(ctx.clone()));
        Forwarder {
            ctx,
            conn,
            route,
            session,
        }
    }

    /// Handles one request; errors become error pages, never a dropped connection.
    pub async fn handle(
        self: Arc<Self>,
        req: Request<Incoming>,
    ) -> Result<Response<ProxyBody>, Infallible> {
        let span = tracing::debug_span!("request", method = %req.method());
        match self.forward(req).instrument(span).await {
            Ok(resp) => Ok(resp),
            Err(err) => {
                match err.side() {
                    Side::Us => {
                        tracing::error!(conn = self.conn.id, error = %err, "request failed")
                    }
                    _ => tracing::debug!(conn = self.conn.id, error = %err, "request failed"),
                }
                if matches!(err, ProxyError::Refused(_)) {
                    crate::metrics::Metrics::inc(&self.ctx.metrics.requests_refused);
                }
                Ok(error_page::page(
                    err.status(),
                    title_for(&err),
                    &err.to_string(),
                ))
            }
        }
    }

    async fn forward(&self, mut req: Request<Incoming>) -> Result<Response<ProxyBody>, ProxyError> {
        let (scheme, host, port, spec) = self.target(&req).await?;
        let path = req
            .uri()
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| PathAndQuery::from_static("/"));
        let default_port = if scheme == Scheme::HTTPS { 443 } else { 80 };
        let authority = if port == default_port {
            host_for_authority(&host)
        } else {
            format!("{}:{port}", host_for_authority(&host))
        };
        let url = format!("{scheme}://{authority}{path}");

        let meta = RequestMeta {
            conn_id: self.conn.id,
            client: self.conn.client,
            method: req.method().clone(),
            url,
            host: host.clone(),
            content_type: header_string(req.headers(), &header::CONTENT_TYPE),
            content_encoding: header_string(req.headers(), &header::CONTENT_ENCODING),
            device: self.conn.device.clone(),
        };

        let wants_upgrade = is_upgrade_request(&req);
        let client_upgrade = wants_upgrade.then(|| hyper::upgrade::on(&mut req));

        let (mut parts, body) = req.into_parts();
        let inspector = self.ctx.inspector.request(&meta);
        let body = InspectedBody::new(body, inspector, &self.ctx.config.inspect, &self.ctx.metrics);

        let h2 = Session::speaks_h2(&spec);
        let authority: Authority = authority
            .parse()
            .map_err(|_| ProxyError::BadRequest(format!("invalid host `{host}`")))?;
        parts.uri = if h2 {
            Uri::builder()
                .scheme(scheme.clone())
                .authority(authority.clone())
                .path_and_query(path)
                .build()
                .map_err(|e| ProxyError::BadRequest(e.to_string()))?
        } else {
            Uri::from(path)
        };
        parts.version = if h2 {
            Version::HTTP_2
        } else {
            Version::HTTP_11
        };
        strip_hop_by_hop(&mut parts.headers, wants_upgrade && !h2);
        if h2 {
            parts.headers.remove(header::HOST);
        } else if !parts.headers.contains_key(header::HOST) {
            let value = HeaderValue::from_str(authority.as_str())
                .map_err(|_| ProxyError::BadRequest(format!("invalid host `{host}`")))?;
            parts.headers.insert(header::HOST, value);
        }

        let mut resp = self
            .session
            .send(&spec, Request::from_parts(parts, body))
            .await?;

        if resp.status() == StatusCode::SWITCHING_PROTOCOLS {
            if let Some(client_upgrade) = client_upgrade {
                return Ok(self.relay_upgrade(resp, client_upgrade, &meta));
            }
        }

        let resp_meta = ResponseMeta {
            status: resp.status().as_u16(),
            content_type: header_string(resp.headers(), &header::CONTENT_TYPE),
            content_encoding: header_string(resp.headers(), &header::CONTENT_ENCODING),
        };
        strip_hop_by_hop(resp.headers_mut(), false);
        let inspector = self.ctx.inspector.response(&meta, &resp_meta);
        let (parts, body) = resp.into_parts();
        let body = InspectedBody::new(body, inspector, &self.ctx.config.inspect, &self.ctx.metrics);
        Ok(Response::from_parts(
            parts,
            body.map_err(Into::into).boxed(),
        ))
    }

    /// Works out scheme, host, port and how to reach the upstream for this request.
    async fn target(
        &self,
        req: &Request<Incoming>,
    ) -> Result<(Scheme, String, u16, ConnectSpec), ProxyError> {
        match &self.route {
            Route::Intercepted { host, port, spec } => {
                Ok((Scheme::HTTPS, host.clone(), *port, spec.clone()))
            }
            Route::TransparentHttp { dest } => {
                let host = request_host(req)
                    .map(|(h, _)| h)
                    .unwrap_or_else(|| dest.ip().to_string());
                Ok((
                    Scheme::HTTP,
                    host,
                    dest.port(),
                    ConnectSpec::Plain { addrs: vec![*dest] },
                ))
            }
            Route::Explicit => {
                let uri = req.uri();
                match uri.scheme() {
                    Some(s) if *s == Scheme::HTTP => {}
                    Some(_) => {
                        return Err(ProxyError::BadRequest(
                            "only http:// URLs can be sent to the proxy directly; use CONNECT for https".into(),
                        ))
                    }
                    None => {
                        return Err(ProxyError::BadRequest(
                            "this is a proxy server: configure it as your HTTP proxy rather than \
                             requesting pages from it directly"
                                .into(),
                        ))
                    }
                }
                let host = uri
                    .host()
                    .ok_or_else(|| ProxyError::BadRequest("the URL has no host".into()))?
                    .to_ascii_lowercase();
                let port = uri.port_u16().unwrap_or(80);
                let addrs = super::upstream::resolve(&self.ctx, &host, port).await?;
                Ok((Scheme::HTTP, host, port, ConnectSpec::Plain { addrs }))
            }
        }
    }

    fn relay_upgrade(
        &self,
        mut resp: Response<Incoming>,
        client_upgrade: hyper::upgrade::OnUpgrade,
        meta: &RequestMeta,
    ) -> Response<ProxyBody> {
        let upstream_upgrade = hyper::upgrade::on(&mut resp);
        let conn = self.conn.id;
        let (sent, received) = match self.ctx.inspector.upgraded(meta) {
            Some((sent, received)) => (Some(sent), Some(received)),
            None => (None, None),
        };
        self.conn.tasks.spawn(
            async move {
                let (client, upstream) = match tokio::try_join!(client_upgrade, upstream_upgrade) {
                    Ok(pair) => pair,
                    Err(err) => {
                        tracing::debug!(conn, error = %err, "upgrade failed");
                        return;
                    }
                };
                let (client_read, client_write) = tokio::io::split(TokioIo::new(client));
                let (upstream_read, upstream_write) = tokio::io::split(TokioIo::new(upstream));
                let (up, down) = tokio::join!(
                    pump(client_read, upstream_write, sent),
                    pump(upstream_read, client_write, received),
                );
                tracing::debug!(conn, up = ?up, down = ?down, "upgraded stream closed");
            }
            .instrument(tracing::debug_span!("upgrade")),
        );
        let (parts, _) = resp.into_parts();
        Response::from_parts(parts, error_page::full(bytes::Bytes::new()))
    }
}

/// Copies one direction of an upgraded stream, handing each chunk to `inspector` inline (an
/// upgraded-stream inspector parses frames and must be fast), until EOF.
async fn pump<R, W>(
    mut from: R,
    mut to: W,
    mut inspector: Option<Box<dyn crate::inspect::BodyInspector>>,
) -> std::io::Result<u64>
where
    R: tokio::io::AsyncRead + Unpin,
    W: tokio::io::AsyncWrite + Unpin,
{
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = vec![0u8; 16 * 1024];
    let mut total = 0u64;
    let result = loop {
        let n = match from.read(&mut buf).await {
            Ok(0) => break Ok(total),
            Ok(n) => n,
            Err(err) => break Err(err),
        };
        if let Some(inspector) = inspector.as_mut() {
            inspector.data(&buf[..n]);
        }
        if let Err(err) = to.write_all(&buf[..n]).await {
            break Err(err);
        }
        total += n as u64;
    };
    let _ = to.shutdown().await;
    if let Some(inspector) = inspector {
        inspector.finish(crate::inspect::BodyEnd {
            complete: result.is_ok(),
            overrun: false,
        });
    }
    result
}

fn title_for(err: &ProxyError) -> &'static str {
    match err {
        ProxyError::BadRequest(_) => "Bad request",
        ProxyError::Refused(_) => "Destination not allowed",
        ProxyError::Resolve { .. } => "Site not found",
        ProxyError::Connect { .. } => "Site unreachable",
        ProxyError::UpstreamTls { .. } => "Secure connection to the site failed",
        ProxyError::UpstreamHttp(_) => "The site's server failed",
        ProxyError::Internal(_) => "Gateway error",
    }
}

/// The Host header (or HTTP/2 authority) of a request, split into host and port.
pub fn request_host<B>(req: &Request<B>) -> Option<(String, Option<u16>)> {
    let raw = req
        .uri()
        .authority()
        .map(|a| a.as_str().to_string())
        .or_else(|| {
            req.headers()
                .get(header::HOST)?
                .to_str()
                .ok()
                .map(str::to_string)
        })?;
    let authority: Authority = raw.parse().ok()?;
    Some((authority.host().to_ascii_lowercase(), authority.port_u16()))
}

fn host_for_authority(host: &str) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

fn header_string(headers: &HeaderMap, name: &HeaderName) -> Option<String> {
    headers.get(name)?.to_str().ok().map(str::to_string)
}

fn is_upgrade_request<B>(req: &Request<B>) -> bool {
    req.version() == Version::HTTP_11
        && req.headers().contains_key(header::UPGRADE)
        && connection_tokens(req.headers()).any(|t| t.eq_ignore_ascii_case("upgrade"))
}

fn connection_tokens(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
}

/// Removes hop-by-hop headers (RFC 9110 section 7.6.1), including those the `Connection`
/// header names. With `keep_upgrade`, `Connection: upgrade` and `Upgrade` survive so a
/// WebSocket handshake can pass.
pub fn strip_hop_by_hop(headers: &mut HeaderMap, keep_upgrade: bool) {
    let named: Vec<HeaderName> = connection_tokens(headers)
        .filter(|t| !(keep_upgrade && t.eq_ignore_ascii_case("upgrade")))
        .filter_map(|t| HeaderName::from_bytes(t.as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in [
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
    ] {
        headers.remove(name);
    }
    if keep_upgrade {
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    } else {
        headers.remove(header::CONNECTION);
        headers.remove(header::UPGRADE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_hop_by_hop_and_connection_named_headers() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, x-secret"),
        );
        h.insert("x-secret", HeaderValue::from_static("1"));
        h.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        h.insert("proxy-authorization", HeaderValue::from_static("Basic x"));
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
        strip_hop_by_hop(&mut h, false);
        assert_eq!(h.len(), 1);
        assert!(h.contains_key(header::CONTENT_TYPE));
    }

    #[test]
    fn keeps_upgrade_for_websockets() {
        let mut h = HeaderMap::new();
        h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
        h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        strip_hop_by_hop(&mut h, true);
        assert_eq!(
            h.get(header::UPGRADE).map(|v| v.as_bytes()),
            Some(&b"websocket"[..])
        );
        assert_eq!(
            h.get(header::CONNECTION).map(|v| v.as_bytes()),
            Some(&b"upgrade"[..])
        );
    }

    #[test]
    fn host_from_header_or_authority() {
        let req = Request::builder()
            .uri("/x")
            .header(header::HOST, "Example.com:8080")
            .body(())
            .expect("request");
        assert_eq!(request_host(&req), Some(("example.com".into(), Some(8080))));
        let req = Request::builder()
            .uri("https://a.test/x")
            .body(())
            .expect("request");
        assert_eq!(request_host(&req), Some(("a.test".into(), None)));
    }
}
