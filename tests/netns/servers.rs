//! The upstream side: a test CA made at test time, and servers whose sockets are bound inside
//! the server namespace and served by the test's tokio runtime.
//!
//! Every HTTP answer names the server that gave it and what it saw (the peer address proves a
//! connection came from gatewatch on the gateway, not straight from the client; the local
//! address proves which original destination was used).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{header, Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::runtime::Runtime;

use super::in_netns;

/// The upstream servers' own CA, which gatewatch trusts through `extra_ca_files`.
pub struct UpstreamCa {
    /// The CA certificate file.
    pub pem_path: PathBuf,
    /// The CA's common name (what curl shows as the issuer of a spliced connection).
    pub common_name: String,
    /// TLS server config presenting a leaf for `names`, offering h2 and http/1.1.
    pub server_config: Arc<rustls::ServerConfig>,
}

impl UpstreamCa {
    /// Creates the CA in `dir` and one leaf certificate for all of `names`.
    pub fn create(dir: &Path, names: &[&str]) -> UpstreamCa {
        let common_name = format!("gatewatch-netns upstream test CA {}", std::process::id());
        let ca_key = KeyPair::generate().expect("CA key");
        let mut params = CertificateParams::default();
        params
            .distinguished_name
            .push(DnType::CommonName, common_name.as_str());
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign];
        let ca_cert = params.self_signed(&ca_key).expect("CA certificate");
        let pem_path = dir.join("upstream-ca.pem");
        std::fs::write(&pem_path, ca_cert.pem()).expect("write the upstream CA");
        let issuer = Issuer::new(params, ca_key);

        let key = KeyPair::generate().expect("leaf key");
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let leaf = CertificateParams::new(names)
            .expect("leaf params")
            .signed_by(&key, &issuer)
            .expect("leaf certificate");
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .expect("server config");
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        UpstreamCa {
            pem_path,
            common_name,
            server_config: Arc::new(config),
        }
    }
}

/// What listens on one address.
pub enum Service {
    /// HTTPS (h2 and HTTP/1.1) with the upstream CA's leaf; answers name `label`.
    Tls(&'static str),
    /// Plain HTTP; answers name `label`.
    Http(&'static str),
    /// Plain text on a TLS port: reads one request head and answers with it, byte for byte.
    Raw(&'static str),
    /// UDP echo; counts the datagrams it receives.
    UdpEcho(Arc<AtomicUsize>),
}

/// Binds every `(address, service)` inside namespace `ns` and serves them on `rt` until the
/// runtime is dropped.
pub fn start(
    rt: &Runtime,
    ns: &str,
    specs: Vec<(SocketAddr, Service)>,
    tls: Arc<rustls::ServerConfig>,
) {
    enum Bound {
        Tcp(std::net::TcpListener),
        Udp(std::net::UdpSocket),
    }
    let bound: Vec<(Bound, Service)> = in_netns(ns, || {
        specs
            .into_iter()
            .map(|(addr, service)| {
                let sock = match service {
                    Service::UdpEcho(_) => std::net::UdpSocket::bind(addr).map(Bound::Udp),
                    _ => std::net::TcpListener::bind(addr).map(Bound::Tcp),
                };
                let sock = sock.unwrap_or_else(|err| panic!("cannot bind {addr} in {ns}: {err}"));
                (sock, service)
            })
            .collect()
    })
    .unwrap_or_else(|err| panic!("{err}"));

    let _guard = rt.enter();
    for (sock, service) in bound {
        match (sock, service) {
            (Bound::Udp(sock), Service::UdpEcho(hits)) => {
                sock.set_nonblocking(true).expect("nonblocking");
                let sock = tokio::net::UdpSocket::from_std(sock).expect("tokio UDP socket");
                rt.spawn(udp_echo(sock, hits));
            }
            (Bound::Tcp(listener), service) => {
                listener.set_nonblocking(true).expect("nonblocking");
                let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                rt.spawn(accept_loop(listener, service, tls.clone()));
            }
            (Bound::Udp(_), _) => unreachable!("only UDP echo binds UDP"),
        }
    }
}

async fn accept_loop(
    listener: tokio::net::TcpListener,
    service: Service,
    tls: Arc<rustls::ServerConfig>,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            continue;
        };
        let Ok(local) = stream.local_addr() else {
            continue;
        };
        match service {
            Service::Tls(label) => {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    match acceptor.accept(stream).await {
                        Ok(tls) => serve_http(tls, label, peer, local).await,
                        Err(err) => {
                            eprintln!("upstream {label}: TLS handshake from {peer} failed: {err}")
                        }
                    }
                });
            }
            Service::Http(label) => {
                tokio::spawn(serve_http(stream, label, peer, local));
            }
            Service::Raw(label) => {
                tokio::spawn(raw_echo(stream, label, peer, local));
            }
            Service::UdpEcho(_) => unreachable!("UDP echo has no TCP listener"),
        }
    }
}

/// Serves HTTP/1.1 or h2 on `io`, describing each request in the response body.
async fn serve_http<I>(io: I, label: &'static str, peer: SocketAddr, local: SocketAddr)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let svc = service_fn(move |req: Request<Incoming>| async move {
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_string)
            .or_else(|| req.uri().authority().map(|a| a.to_string()))
            .unwrap_or_default();
        let body = format!(
            "{label} version={:?} method={} path={} host={host} peer={} local={local}\n",
            req.version(),
            req.method(),
            req.uri().path(),
            peer.ip(),
        );
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(body))))
    });
    let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    if let Err(err) = builder.serve_connection(TokioIo::new(io), svc).await {
        eprintln!("upstream {label}: connection from {peer} ended: {err}");
    }
}

/// Reads one request head and answers with a body of `LABEL peer=.. local=..` and the head
/// exactly as received.
async fn raw_echo(
    mut stream: tokio::net::TcpStream,
    label: &'static str,
    peer: SocketAddr,
    local: SocketAddr,
) {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 65536 {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    if read.is_err() {
        eprintln!("upstream {label}: no request head from {peer}");
        return;
    }
    let mut body = format!("{label} peer={} local={local}\n", peer.ip()).into_bytes();
    body.extend_from_slice(&head);
    let mut resp = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    resp.extend_from_slice(&body);
    let _ = stream.write_all(&resp).await;
    let _ = stream.shutdown().await;
}

async fn udp_echo(sock: tokio::net::UdpSocket, hits: Arc<AtomicUsize>) {
    let mut buf = [0u8; 2048];
    while let Ok((n, from)) = sock.recv_from(&mut buf).await {
        hits.fetch_add(1, Ordering::Relaxed);
        let _ = sock.send_to(&buf[..n], from).await;
    }
}
