//! How gatewatch verifies the real servers it connects to.
//!
//! Trust anchors come from the Mozilla root program (compiled in), the operating system's
//! store and any extra PEM files, per [`UpstreamConfig`]. Verification is standard webpki
//! (names, validity, chain). When it fails, [`describe_verify_error`] turns the rustls error
//! into an [`UpstreamCertProblem`] the proxy can explain on its error page.

use std::fmt;
use std::io;
use std::sync::Arc;

use moka::sync::Cache;
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{CertificateError, ClientConfig, RootCertStore};

use super::error::TlsError;
use crate::config::UpstreamConfig;

/// Distinct ALPN lists whose client configurations are kept.
const CONFIG_CACHE_CAPACITY: u64 = 64;

/// Upstream trust: the root store and client configurations built on it.
pub struct UpstreamTls {
    roots: Arc<RootCertStore>,
    template: ClientConfig,
    configs: Cache<Vec<Vec<u8>>, Arc<ClientConfig>>,
}

impl fmt::Debug for UpstreamTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UpstreamTls")
            .field("trust_anchors", &self.roots.len())
            .finish_non_exhaustive()
    }
}

impl UpstreamTls {
    /// Builds the root store from `cfg` (Mozilla roots, the OS store, extra CA files) and
    /// the client configuration template. Reads files: call it at start-up, not on the
    /// data path. Fails when an extra CA file is unusable or no trust anchor is left.
    pub fn new(cfg: &UpstreamConfig) -> Result<UpstreamTls, TlsError> {
        let mut roots = RootCertStore::empty();
        if cfg.trust_mozilla {
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        }
        if cfg.trust_system {
            let found = rustls_native_certs::load_native_certs();
            for error in &found.errors {
                tracing::warn!(%error, "skipped part of the system CA store");
            }
            let (added, ignored) = roots.add_parsable_certificates(found.certs);
            if ignored > 0 {
                tracing::warn!(
                    added,
                    ignored,
                    "skipped unusable certificates in the system CA store"
                );
            }
            tracing::debug!(added, "loaded the system CA store");
        }
        for path in &cfg.extra_ca_files {
            let file_err = |reason: String| TlsError::ExtraCaFile {
                path: path.clone(),
                reason,
            };
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| file_err(e.to_string()))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| file_err(e.to_string()))?;
            if certs.is_empty() {
                return Err(file_err("it holds no CERTIFICATE block".to_string()));
            }
            for cert in certs {
                roots
                    .add(cert)
                    .map_err(|e| file_err(format!("a certificate is not a usable CA: {e}")))?;
            }
        }
        if roots.is_empty() {
            return Err(TlsError::EmptyRootStore);
        }

        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let roots = Arc::new(roots);
        let verifier =
            WebPkiServerVerifier::builder_with_provider(Arc::clone(&roots), Arc::clone(&provider))
                .build()?;
        let template = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_webpki_verifier(verifier)
            .with_no_client_auth();
        Ok(UpstreamTls {
            roots,
            template,
            configs: Cache::new(CONFIG_CACHE_CAPACITY),
        })
    }

    /// Number of trust anchors.
    pub fn trust_anchor_count(&self) -> usize {
        self.roots.len()
    }

    /// A client configuration (TLS 1.2 and 1.3, webpki verification, session resumption
    /// shared across configurations) that offers exactly `alpn`. Cached per ALPN list.
    pub fn client_config(&self, alpn: &[Vec<u8>]) -> Arc<ClientConfig> {
        self.configs.get_with_by_ref(alpn, || {
            let mut config = self.template.clone();
            config.alpn_protocols = alpn.to_vec();
            Arc::new(config)
        })
    }
}

/// Why an upstream's certificate was rejected, in terms a person can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpstreamCertProblem {
    /// The certificate's validity period has ended.
    Expired,
    /// The certificate's validity period has not started.
    NotYetValid,
    /// The certificate is for a different name.
    WrongName,
    /// The certificate was not issued by an authority gatewatch trusts.
    UnknownIssuer,
    /// The certificate has been revoked.
    Revoked,
    /// Anything else; the text is the technical reason.
    Other(String),
}

impl UpstreamCertProblem {
    /// A plain-English explanation for the proxy's error page.
    pub fn explain(&self) -> String {
        let tail = "gatewatch cannot confirm you are talking to the real site, so it has \
                    stopped the connection to protect you.";
        match self {
            UpstreamCertProblem::Expired => format!(
                "The site's security certificate has expired. Sites usually fix this quickly; \
                 try again later. {tail}"
            ),
            UpstreamCertProblem::NotYetValid => format!(
                "The site's security certificate is not valid yet. The site's or this \
                 network's clock may be wrong. {tail}"
            ),
            UpstreamCertProblem::WrongName => format!(
                "The site's security certificate is for a different web address. The link may \
                 be wrong, or someone may be pretending to be the site. {tail}"
            ),
            UpstreamCertProblem::UnknownIssuer => format!(
                "The site's security certificate was not issued by a trusted authority. The \
                 site may be misconfigured, or someone may be pretending to be it. {tail}"
            ),
            UpstreamCertProblem::Revoked => format!(
                "The site's security certificate has been withdrawn by the authority that \
                 issued it. {tail}"
            ),
            UpstreamCertProblem::Other(reason) => {
                format!("The site's security certificate could not be checked ({reason}). {tail}")
            }
        }
    }
}

impl fmt::Display for UpstreamCertProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UpstreamCertProblem::Expired => f.write_str("certificate expired"),
            UpstreamCertProblem::NotYetValid => f.write_str("certificate not yet valid"),
            UpstreamCertProblem::WrongName => f.write_str("certificate is for another name"),
            UpstreamCertProblem::UnknownIssuer => f.write_str("certificate issuer not trusted"),
            UpstreamCertProblem::Revoked => f.write_str("certificate revoked"),
            UpstreamCertProblem::Other(reason) => write!(f, "certificate rejected: {reason}"),
        }
    }
}

/// Classifies a rustls error from an upstream handshake. Errors that are not about the
/// certificate become [`UpstreamCertProblem::Other`]; use [`upstream_cert_problem`] to tell
/// certificate problems from other handshake failures.
pub fn describe_verify_error(err: &rustls::Error) -> UpstreamCertProblem {
    match err {
        rustls::Error::InvalidCertificate(cert_err) => match cert_err {
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                UpstreamCertProblem::Expired
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                UpstreamCertProblem::NotYetValid
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                UpstreamCertProblem::WrongName
            }
            // A bad signature on the chain means a certificate claims an issuer it does not
            // come from: for the reader, not issued by a trusted authority.
            CertificateError::UnknownIssuer | CertificateError::BadSignature => {
                UpstreamCertProblem::UnknownIssuer
            }
            CertificateError::Revoked => UpstreamCertProblem::Revoked,
            other => UpstreamCertProblem::Other(format!("{other:?}")),
        },
        other => UpstreamCertProblem::Other(other.to_string()),
    }
}

/// The certificate problem behind a failed upstream handshake, if that is what it was.
/// tokio-rustls reports handshake failures as `io::Error`s wrapping a [`rustls::Error`];
/// this returns `None` for anything that is not an invalid server certificate (a reset
/// connection, a protocol error, a timeout).
pub fn upstream_cert_problem(err: &io::Error) -> Option<UpstreamCertProblem> {
    match err.get_ref()?.downcast_ref::<rustls::Error>()? {
        err @ rustls::Error::InvalidCertificate(_) => Some(describe_verify_error(err)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    };
    use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
    use std::collections::HashMap;
    use std::path::PathBuf;
    use time::{Duration, OffsetDateTime};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn config(mozilla: bool, system: bool, extra: Vec<PathBuf>) -> UpstreamConfig {
        UpstreamConfig {
            trust_system: system,
            trust_mozilla: mozilla,
            extra_ca_files: extra,
            allow_private: false,
            static_hosts: HashMap::new(),
            connect_timeout: std::time::Duration::from_secs(5),
        }
    }

    /// A private CA standing in for a real site's issuer.
    struct TestCa {
        issuer: Issuer<'static, KeyPair>,
        pem: String,
    }

    impl TestCa {
        fn new(common_name: &str) -> TestCa {
            let key = KeyPair::generate().expect("key");
            let mut params = CertificateParams::default();
            params
                .distinguished_name
                .push(DnType::CommonName, common_name);
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            params.key_usages = vec![KeyUsagePurpose::KeyCertSign];
            let cert = params.self_signed(&key).expect("ca cert");
            TestCa {
                pem: cert.pem(),
                issuer: Issuer::new(params, key),
            }
        }

        /// A server config presenting a leaf for `name` valid from `from` to `until`.
        fn server(
            &self,
            name: &str,
            from: OffsetDateTime,
            until: OffsetDateTime,
        ) -> Arc<rustls::ServerConfig> {
            let key = KeyPair::generate().expect("key");
            let mut params = CertificateParams::new(vec![name.to_string()]).expect("params");
            params.not_before = from;
            params.not_after = until;
            let cert = params.signed_by(&key, &self.issuer).expect("leaf");
            let config = rustls::ServerConfig::builder_with_provider(Arc::new(
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
            Arc::new(config)
        }
    }

    /// Connects with `upstream`'s client config to `server` as `name` over an in-memory pipe.
    async fn connect(
        upstream: &UpstreamTls,
        server: Arc<rustls::ServerConfig>,
        name: &str,
    ) -> io::Result<Option<Vec<u8>>> {
        let (client_io, server_io) = tokio::io::duplex(64 * 1024);
        let server_task = tokio::spawn(async move {
            if let Ok(mut tls) = tokio_rustls::TlsAcceptor::from(server)
                .accept(server_io)
                .await
            {
                let _ = tls.write_all(b"hi").await;
                let _ = tls.shutdown().await;
            }
        });
        let connector = tokio_rustls::TlsConnector::from(
            upstream.client_config(&[b"h2".to_vec(), b"http/1.1".to_vec()]),
        );
        let server_name = ServerName::try_from(name.to_string()).expect("name");
        let result = async {
            let mut tls = connector.connect(server_name, client_io).await?;
            let mut buf = Vec::new();
            tls.read_to_end(&mut buf).await?;
            assert_eq!(buf, b"hi");
            Ok(tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec))
        }
        .await;
        let _ = server_task.await;
        result
    }

    fn extra_ca_upstream(ca: &TestCa) -> (tempfile::TempDir, UpstreamTls) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("upstream-ca.pem");
        std::fs::write(&path, &ca.pem).expect("write");
        let upstream = UpstreamTls::new(&config(false, false, vec![path])).expect("upstream");
        assert_eq!(upstream.trust_anchor_count(), 1);
        (dir, upstream)
    }

    #[tokio::test]
    async fn trusts_a_server_from_an_extra_ca_file() {
        let ca = TestCa::new("Upstream Test CA");
        let (_dir, upstream) = extra_ca_upstream(&ca);
        let now = OffsetDateTime::now_utc();
        let server = ca.server(
            "upstream.test",
            now - Duration::days(1),
            now + Duration::days(30),
        );
        let alpn = connect(&upstream, server, "upstream.test")
            .await
            .expect("handshake");
        assert_eq!(alpn, None, "server offered no ALPN");

        let stranger = TestCa::new("Some Other CA");
        let server = stranger.server(
            "upstream.test",
            now - Duration::days(1),
            now + Duration::days(30),
        );
        let err = connect(&upstream, server, "upstream.test")
            .await
            .expect_err("untrusted");
        assert_eq!(
            upstream_cert_problem(&err),
            Some(UpstreamCertProblem::UnknownIssuer)
        );

        // An impostor CA with the trusted CA's name fails on the signature; same verdict.
        let impostor = TestCa::new("Upstream Test CA");
        let server = impostor.server(
            "upstream.test",
            now - Duration::days(1),
            now + Duration::days(30),
        );
        let err = connect(&upstream, server, "upstream.test")
            .await
            .expect_err("impostor");
        assert_eq!(
            upstream_cert_problem(&err),
            Some(UpstreamCertProblem::UnknownIssuer)
        );
    }

    #[tokio::test]
    async fn reports_expired_and_wrong_name() {
        let ca = TestCa::new("Upstream Test CA");
        let (_dir, upstream) = extra_ca_upstream(&ca);
        let now = OffsetDateTime::now_utc();

        let expired = ca.server(
            "old.test",
            now - Duration::days(60),
            now - Duration::days(1),
        );
        let err = connect(&upstream, expired, "old.test")
            .await
            .expect_err("expired");
        let problem = upstream_cert_problem(&err).expect("a certificate problem");
        assert_eq!(problem, UpstreamCertProblem::Expired);
        assert!(
            problem.explain().contains("expired"),
            "{}",
            problem.explain()
        );

        let future = ca.server(
            "new.test",
            now + Duration::days(1),
            now + Duration::days(60),
        );
        let err = connect(&upstream, future, "new.test")
            .await
            .expect_err("not yet valid");
        assert_eq!(
            upstream_cert_problem(&err),
            Some(UpstreamCertProblem::NotYetValid)
        );

        let other = ca.server(
            "other.test",
            now - Duration::days(1),
            now + Duration::days(30),
        );
        let err = connect(&upstream, other, "wanted.test")
            .await
            .expect_err("wrong name");
        assert_eq!(
            upstream_cert_problem(&err),
            Some(UpstreamCertProblem::WrongName)
        );
    }

    #[test]
    fn non_certificate_errors_are_not_certificate_problems() {
        let reset = io::Error::new(io::ErrorKind::ConnectionReset, "reset");
        assert_eq!(upstream_cert_problem(&reset), None);
        let alert = io::Error::new(
            io::ErrorKind::InvalidData,
            rustls::Error::AlertReceived(rustls::AlertDescription::HandshakeFailure),
        );
        assert_eq!(upstream_cert_problem(&alert), None);
        let revoked = rustls::Error::InvalidCertificate(CertificateError::Revoked);
        assert_eq!(
            describe_verify_error(&revoked),
            UpstreamCertProblem::Revoked
        );
        let other = describe_verify_error(&rustls::Error::InvalidCertificate(
            CertificateError::UnhandledCriticalExtension,
        ));
        assert!(matches!(other, UpstreamCertProblem::Other(_)), "{other:?}");
        let not_cert = describe_verify_error(&rustls::Error::DecryptError);
        assert!(
            matches!(not_cert, UpstreamCertProblem::Other(_)),
            "{not_cert:?}"
        );
    }

    #[test]
    fn root_store_sources() {
        let mozilla = UpstreamTls::new(&config(true, false, Vec::new())).expect("mozilla");
        assert_eq!(
            mozilla.trust_anchor_count(),
            webpki_roots::TLS_SERVER_ROOTS.len()
        );
        let configs = (
            mozilla.client_config(&[b"h2".to_vec()]),
            mozilla.client_config(&[b"h2".to_vec()]),
            mozilla.client_config(&[]),
        );
        assert!(Arc::ptr_eq(&configs.0, &configs.1));
        assert_eq!(configs.0.alpn_protocols, vec![b"h2".to_vec()]);
        assert!(configs.2.alpn_protocols.is_empty());

        let err = UpstreamTls::new(&config(false, false, Vec::new())).expect_err("empty");
        assert!(matches!(err, TlsError::EmptyRootStore), "{err}");

        let dir = tempfile::tempdir().expect("tempdir");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "no certificates here\n").expect("write");
        let err = UpstreamTls::new(&config(true, false, vec![empty])).expect_err("no certs");
        assert!(matches!(err, TlsError::ExtraCaFile { .. }), "{err}");
        let missing = dir.path().join("missing.pem");
        let err = UpstreamTls::new(&config(true, false, vec![missing])).expect_err("missing");
        assert!(err.to_string().contains("missing.pem"), "{err}");
    }
}
