//! Reads a connection's first bytes to learn whether it speaks TLS and, if so, what its
//! ClientHello asks for (SNI, ALPN), without consuming them: the bytes are handed back in a
//! [`Rewind`] so the connection can still be intercepted or spliced.
//!
//! The ClientHello is parsed by rustls's own sans-I/O [`rustls::server::Acceptor`].

use std::io;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt};

use super::rewind::Rewind;

/// The most gatewatch reads while looking for a complete ClientHello.
const MAX_HELLO: usize = 64 * 1024;

/// What the client asked for in its ClientHello.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hello {
    /// Server Name Indication, if sent.
    pub sni: Option<String>,
    /// ALPN protocols offered, in the client's order.
    pub alpn: Vec<Vec<u8>>,
}

/// The result of peeking at a connection.
#[derive(Debug)]
pub enum Peeked<S> {
    /// A TLS ClientHello.
    Tls(Hello, Rewind<S>),
    /// Not TLS, or TLS that could not be parsed.
    Other(Rewind<S>),
}

/// Reads until a full ClientHello has arrived, or it is clear none will.
pub async fn peek<S: AsyncRead + Unpin>(mut stream: S) -> io::Result<Peeked<S>> {
    let mut buf = BytesMut::with_capacity(2048);
    let mut acceptor = rustls::server::Acceptor::default();
    let mut fed = 0;
    loop {
        let n = stream.read_buf(&mut buf).await?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "client closed before sending anything usable",
            ));
        }
        // A TLS record starts with content type 22 (handshake) and major version 3.
        if buf[0] != 0x16 || (buf.len() > 1 && buf[1] != 0x03) {
            return Ok(Peeked::Other(Rewind::new(buf.freeze(), stream)));
        }
        let mut new = &buf[fed..];
        while !new.is_empty() {
            match acceptor.read_tls(&mut new) {
                Ok(0) => break,
                Ok(_) => {}
                Err(_) => return Ok(Peeked::Other(Rewind::new(buf.freeze(), stream))),
            }
        }
        fed = buf.len();
        match acceptor.accept() {
            Ok(Some(accepted)) => {
                let ch = accepted.client_hello();
                let hello = Hello {
                    sni: ch.server_name().map(|s| s.to_ascii_lowercase()),
                    alpn: ch
                        .alpn()
                        .map(|protos| protos.map(|p| p.to_vec()).collect())
                        .unwrap_or_default(),
                };
                return Ok(Peeked::Tls(hello, Rewind::new(buf.freeze(), stream)));
            }
            Ok(None) if buf.len() < MAX_HELLO => continue,
            Ok(None) | Err(_) => return Ok(Peeked::Other(Rewind::new(buf.freeze(), stream))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use tokio::io::AsyncWriteExt;

    #[tokio::test]
    async fn plain_http_is_not_tls_and_is_replayed() {
        let (mut a, b) = tokio::io::duplex(1024);
        a.write_all(b"GET / HTTP/1.1\r\n\r\n").await.expect("write");
        match peek(b).await.expect("peek") {
            Peeked::Other(mut r) => {
                let mut s = vec![0u8; 18];
                r.read_exact(&mut s).await.expect("read");
                assert_eq!(&s, b"GET / HTTP/1.1\r\n\r\n");
            }
            Peeked::Tls(..) => panic!("plain HTTP taken for TLS"),
        }
    }

    #[tokio::test]
    async fn reads_sni_and_alpn_from_a_real_client_hello() {
        let (client_io, server_io) = tokio::io::duplex(64 * 1024);
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut cfg = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth();
        cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let connector = tokio_rustls::TlsConnector::from(Arc::new(cfg));
        let name = rustls::pki_types::ServerName::try_from("Example.COM").expect("name");
        let client = tokio::spawn(async move { connector.connect(name, client_io).await });
        match peek(server_io).await.expect("peek") {
            Peeked::Tls(hello, _rewind) => {
                assert_eq!(hello.sni.as_deref(), Some("example.com"));
                assert_eq!(hello.alpn, vec![b"h2".to_vec(), b"http/1.1".to_vec()]);
            }
            Peeked::Other(_) => panic!("ClientHello not recognised"),
        }
        client.abort();
    }
}
