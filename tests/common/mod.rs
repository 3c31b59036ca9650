//! Shared end-to-end test helpers: a test CA for upstream servers, real TLS and plain HTTP
//! upstreams (hyper + rustls) with a few routes, an in-process gatewatch, and curl.
#![allow(dead_code)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use gatewatch::config::Config;
use gatewatch::inspect::counting::Counts;
use gatewatch::inspect::CountingInspector;
use gatewatch::metrics::Metrics;
use gatewatch::proxy::{BoundListeners, Gateway};
use gatewatch::shutdown::Shutdown;
use http::{header, Request, Response, StatusCode, Version};
use http_body::{Body, Frame, SizeHint};
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use time::{Duration as TimeDuration, OffsetDateTime};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

/// Host names the test gateway resolves to 127.0.0.1 (its `static_hosts`).
pub const TEST_HOSTS: &[&str] = &[
    "upstream.test",
    "bank.test",
    "expired.test",
    "wrong.test",
    "pinned.test",
];

/// A private CA standing in for the public web's CAs.
pub struct TestCa {
    issuer: Issuer<'static, KeyPair>,
    /// The CA certificate, PEM.
    pub pem: String,
    /// Where the PEM is written (for curl `--cacert` and gatewatch `extra_ca_files`).
    pub pem_path: PathBuf,
    _dir: tempfile::TempDir,
}

/// Validity of a test server certificate.
#[derive(Clone, Copy)]
pub enum Validity {
    /// Valid now.
    Good,
    /// Expired yesterday.
    Expired,
}

impl TestCa {
    /// A new CA named `common_name`.
    pub fn new(common_name: &str) -> TestCa {
        let key = KeyPair::generate().expect("key");
        let mut params = CertificateParams::default();
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let cert = params.self_signed(&key).expect("ca cert");
        let dir = tempfile::tempdir().expect("tempdir");
        let pem_path = dir.path().join("upstream-ca.pem");
        std::fs::write(&pem_path, cert.pem()).expect("write ca");
        TestCa {
            pem: cert.pem(),
            issuer: Issuer::new(params, key),
            pem_path,
            _dir: dir,
        }
    }

    /// A rustls server config presenting a leaf for `names`, offering `alpn`.
    pub fn server_config(
        &self,
        names: &[&str],
        validity: Validity,
        alpn: &[&[u8]],
    ) -> Arc<rustls::ServerConfig> {
        let key = KeyPair::generate().expect("key");
        let mut params =
            CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .expect("params");
        params.distinguished_name.push(DnType::CommonName, names[0]);
        let now = OffsetDateTime::now_utc();
        match validity {
            Validity::Good => {
                params.not_before = now - TimeDuration::days(1);
                params.not_after = now + TimeDuration::days(30);
            }
            Validity::Expired => {
                params.not_before = now - TimeDuration::days(30);
                params.not_after = now - TimeDuration::days(1);
            }
        }
        let cert = params.signed_by(&key, &self.issuer).expect("leaf");
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .expect("server config");
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Arc::new(config)
    }
}

/// What an upstream saw.
#[derive(Default)]
pub struct UpstreamLog {
    /// TCP connections accepted.
    pub connections: AtomicU64,
    /// HTTP versions of the requests, in order.
    pub versions: Mutex<Vec<Version>>,
}

/// A running test upstream.
pub struct Upstream {
    /// Where it listens (127.0.0.1).
    pub addr: SocketAddr,
    /// What it saw.
    pub log: Arc<UpstreamLog>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Upstream {
    /// A TLS upstream on 127.0.0.1 with `config` (h1 and h2 as its ALPN allows).
    pub async fn tls(config: Arc<rustls::ServerConfig>) -> Upstream {
        Self::start(Some(config)).await
    }

    /// A plain-HTTP upstream on 127.0.0.1.
    pub async fn plain() -> Upstream {
        Self::start(None).await
    }

    async fn start(tls: Option<Arc<rustls::ServerConfig>>) -> Upstream {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind upstream");
        let addr = listener.local_addr().expect("addr");
        let log = Arc::new(UpstreamLog::default());
        let task_log = log.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                task_log.connections.fetch_add(1, Ordering::Relaxed);
                let log = task_log.clone();
                let tls = tls.clone();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req| {
                        let log = log.clone();
                        async move { Ok::<_, Infallible>(route(req, &log).await) }
                    });
                    let builder =
                        hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                    match tls {
                        Some(cfg) => {
                            let Ok(stream) =
                                tokio_rustls::TlsAcceptor::from(cfg).accept(stream).await
                            else {
                                return;
                            };
                            let _ = builder
                                .serve_connection_with_upgrades(TokioIo::new(stream), svc)
                                .await;
                        }
                        None => {
                            let _ = builder
                                .serve_connection_with_upgrades(TokioIo::new(stream), svc)
                                .await;
                        }
                    }
                });
            }
        });
        Upstream { addr, log, task }
    }
}

type TestBody = BoxBody<Bytes, Infallible>;

fn text(s: impl Into<String>) -> Response<TestBody> {
    Response::new(Full::new(Bytes::from(s.into())).boxed())
}

async fn route(mut req: Request<Incoming>, log: &UpstreamLog) -> Response<TestBody> {
    log.versions.lock().expect("lock").push(req.version());
    let path = req.uri().path().to_string();
    match path.as_str() {
        "/hello" => text("hello from upstream\n"),
        "/page" => {
            let encoding = req
                .uri()
                .query()
                .and_then(|q| q.strip_prefix("enc="))
                .unwrap_or("identity")
                .to_string();
            let (body, value) = match encoding.as_str() {
                "gzip" => {
                    let mut enc =
                        flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                    std::io::Write::write_all(&mut enc, HARMFUL_PAGE.as_bytes()).expect("gzip");
                    (enc.finish().expect("gzip"), "gzip")
                }
                "br" => {
                    let mut out = Vec::new();
                    {
                        let mut enc = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
                        std::io::Write::write_all(&mut enc, HARMFUL_PAGE.as_bytes()).expect("br");
                    }
                    (out, "br")
                }
                _ => (HARMFUL_PAGE.as_bytes().to_vec(), "identity"),
            };
            let mut resp = Response::new(Full::new(Bytes::from(body)).boxed());
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                header::HeaderValue::from_static("text/html; charset=utf-8"),
            );
            if value != "identity" {
                resp.headers_mut().insert(
                    header::CONTENT_ENCODING,
                    header::HeaderValue::from_static(value),
                );
            }
            resp
        }
        "/search" => {
            text("<html><title>Results</title><body>Results for your search</body></html>")
        }
        "/proto" => text(format!("{:?}", req.version())),
        "/chunked" => {
            let frames = vec![
                Bytes::from_static(b"first chunk;"),
                Bytes::from_static(b"second chunk;"),
                Bytes::from_static(b"third chunk"),
            ];
            Response::new(Chunks(frames.into_iter()).boxed())
        }
        "/upload" => {
            let mut body = req.into_body();
            let mut total: u64 = 0;
            let mut sum: u64 = 0;
            while let Some(frame) = body.frame().await {
                let Ok(frame) = frame else {
                    return status(StatusCode::BAD_REQUEST);
                };
                if let Some(data) = frame.data_ref() {
                    total += data.len() as u64;
                    sum = data.iter().fold(sum, |s, b| s.wrapping_add(*b as u64));
                }
            }
            text(format!("received {total} sum {sum}"))
        }
        "/ws" => {
            let on_upgrade = hyper::upgrade::on(&mut req);
            tokio::spawn(async move {
                if let Ok(upgraded) = on_upgrade.await {
                    let mut io = TokioIo::new(upgraded);
                    let mut buf = vec![0u8; 4096];
                    loop {
                        let n = match tokio::io::AsyncReadExt::read(&mut io, &mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        if io.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                }
            });
            let mut resp = Response::new(Full::new(Bytes::new()).boxed());
            *resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
            resp.headers_mut().insert(
                header::UPGRADE,
                header::HeaderValue::from_static("websocket"),
            );
            resp.headers_mut().insert(
                header::CONNECTION,
                header::HeaderValue::from_static("upgrade"),
            );
            resp
        }
        p if p.starts_with("/big/") => {
            let n: u64 = p["/big/".len()..].parse().unwrap_or(0);
            Response::new(Generated::new(n).boxed())
        }
        _ => status(StatusCode::NOT_FOUND),
    }
}

fn status(code: StatusCode) -> Response<TestBody> {
    let mut r = text(code.to_string());
    *r.status_mut() = code;
    r
}

/// A page showing harmful text (served by `/page?enc=gzip|br|identity`).
pub const HARMFUL_PAGE: &str = "<!doctype html><html><head><title>Anonymous forum</title>\
<script>var x = 'i want to kill myself';</script></head><body><p>Posted at 02:14</p>\
<p>honestly i want to kill myself, nobody would even notice</p></body></html>";

/// A body of preset frames with no known length (sent chunked).
struct Chunks(std::vec::IntoIter<Bytes>);

impl Body for Chunks {
    type Data = Bytes;
    type Error = Infallible;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.0.next().map(|b| Ok(Frame::data(b))))
    }
}

/// A generated body of `remaining` bytes, produced 64 KiB at a time (never held whole).
pub struct Generated {
    remaining: u64,
    chunk: Bytes,
}

impl Generated {
    /// `n` bytes of a repeating pattern.
    pub fn new(n: u64) -> Self {
        let chunk: Vec<u8> = (0..64 * 1024).map(|i| (i % 251) as u8).collect();
        Generated {
            remaining: n,
            chunk: Bytes::from(chunk),
        }
    }
}

impl Body for Generated {
    type Data = Bytes;
    type Error = Infallible;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.remaining == 0 {
            return Poll::Ready(None);
        }
        let n = self.remaining.min(self.chunk.len() as u64) as usize;
        self.remaining -= n as u64;
        Poll::Ready(Some(Ok(Frame::data(self.chunk.slice(..n)))))
    }
    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

/// A gatewatch running in-process on an ephemeral port.
pub struct Proxy {
    /// The explicit proxy address.
    pub addr: SocketAddr,
    /// The school CA certificate (PEM file).
    pub school_ca: PathBuf,
    /// What the counting inspector saw.
    pub counts: Arc<Counts>,
    /// The gateway's counters.
    pub metrics: Arc<Metrics>,
    /// Its data and CA directory.
    pub dir: tempfile::TempDir,
    shutdown: Shutdown,
    task: tokio::task::JoinHandle<()>,
}

/// A lab configuration: explicit proxy on 127.0.0.1:0, loopback clients, loopback upstreams
/// allowed, the test CA trusted, the test host names mapped to 127.0.0.1.
pub fn lab_config(dir: &std::path::Path, upstream_ca: &TestCa) -> Config {
    let mut config = Config::default();
    config.listen.explicit = vec!["127.0.0.1:0".parse().expect("addr")];
    config.upstream.allow_private = true;
    config.upstream.trust_mozilla = false;
    config.upstream.trust_system = false;
    config.upstream.extra_ca_files = vec![upstream_ca.pem_path.clone()];
    config.upstream.connect_timeout = std::time::Duration::from_secs(5);
    for host in TEST_HOSTS {
        config
            .upstream
            .static_hosts
            .insert(host.to_string(), "127.0.0.1".parse().expect("ip"));
    }
    config.bypass.hosts.push("bank.test".into());
    config.limits.shutdown_grace = std::time::Duration::from_secs(2);
    config.paths.data_dir = dir.join("data");
    config.paths.ca_dir = dir.join("certs");
    config
}

impl Proxy {
    /// Starts gatewatch with [`lab_config`], changed by `tweak`, counting what flows.
    pub async fn start(upstream_ca: &TestCa, tweak: impl FnOnce(&mut Config)) -> Proxy {
        let inspector = CountingInspector::new();
        let counts = inspector.counts();
        Self::start_with(upstream_ca, Arc::new(inspector), counts, tweak).await
    }

    /// Starts gatewatch with [`lab_config`] and the given inspector.
    pub async fn start_with(
        upstream_ca: &TestCa,
        inspector: Arc<dyn gatewatch::inspect::Inspector>,
        counts: Arc<Counts>,
        tweak: impl FnOnce(&mut Config),
    ) -> Proxy {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = lab_config(dir.path(), upstream_ca);
        tweak(&mut config);
        let school_ca = config.paths.ca_dir.join("ca.pem");
        let listeners = BoundListeners::bind(&config).await.expect("bind");
        let gateway = Gateway::new(config, inspector, listeners).expect("gateway");
        let addr = gateway.explicit_addrs()[0];
        let metrics = gateway.metrics();
        let shutdown = Shutdown::new();
        let task = tokio::spawn(gateway.run(shutdown.clone()));
        Proxy {
            addr,
            school_ca,
            counts,
            metrics,
            dir,
            shutdown,
            task,
        }
    }

    /// The `-x` argument for curl.
    pub fn proxy_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops the gateway and waits for it.
    pub async fn stop(self) {
        self.shutdown.trigger();
        let _ = self.task.await;
    }
}

/// The result of running curl.
#[derive(Debug)]
pub struct CurlOutput {
    /// Exit code (0 = success; 60 = certificate problem; 56 = proxy CONNECT failure).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Runs curl with `args` (adds `--silent --show-error --max-time 60`).
pub async fn curl(args: &[&str]) -> CurlOutput {
    let out = tokio::process::Command::new("curl")
        .args([
            "--silent",
            "--show-error",
            "--max-time",
            "60",
            "--noproxy",
            "",
        ])
        .args(args)
        .output()
        .await
        .expect("curl must be installed (the README's test command installs it)");
    CurlOutput {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Reads a counter.
pub fn get(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

/// Waits up to 5 s for `cond`.
pub async fn eventually(mut cond: impl FnMut() -> bool) -> bool {
    for _ in 0..500 {
        if cond() {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    cond()
}

impl TestCa {
    /// Like [`TestCa::server_config`] but speaking TLS 1.2 only.
    pub fn server_config_tls12(&self, names: &[&str], alpn: &[&[u8]]) -> Arc<rustls::ServerConfig> {
        let base = self.server_config(names, Validity::Good, alpn);
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_protocol_versions(&[&rustls::version::TLS12])
        .expect("versions")
        .with_no_client_auth()
        .with_cert_resolver(base.cert_resolver.clone());
        config.alpn_protocols = base.alpn_protocols.clone();
        Arc::new(config)
    }
}

/// Reads an HTTP response head (up to the blank line) byte by byte, with a 10 s limit.
pub async fn read_head<S: tokio::io::AsyncRead + Unpin>(s: &mut S) -> String {
    use tokio::io::AsyncReadExt;
    let mut out = Vec::new();
    let mut byte = [0u8; 1];
    while !out.ends_with(b"\r\n\r\n") {
        match tokio::time::timeout(std::time::Duration::from_secs(10), s.read(&mut byte)).await {
            Ok(Ok(1)) => out.push(byte[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Opens `CONNECT host:port` through the proxy and completes TLS trusting only the school CA,
/// as a browser with the school certificate installed would.
pub async fn tls_through_proxy(
    proxy: &Proxy,
    host: &str,
    port: u16,
) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    use rustls::pki_types::pem::PemObject;
    let pem = std::fs::read(&proxy.school_ca).expect("school ca");
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
        roots.add(cert.expect("pem")).expect("root");
    }
    let cfg = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    let mut tcp = tokio::net::TcpStream::connect(proxy.addr)
        .await
        .expect("connect");
    tcp.write_all(
        format!("CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n").as_bytes(),
    )
    .await
    .expect("write");
    let head = read_head(&mut tcp).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let name = rustls::pki_types::ServerName::try_from(host.to_string()).expect("name");
    tokio_rustls::TlsConnector::from(Arc::new(cfg))
        .connect(name, tcp)
        .await
        .expect("TLS through the proxy, trusting only the school CA")
}

/// A WebSocket upgrade request for `/ws`.
pub const WS_UPGRADE: &[u8] =
    b"GET /ws HTTP/1.1\r\nHost: upstream.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
