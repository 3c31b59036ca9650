//! Leaf certificates minted on demand for each intercepted host.
//!
//! One ECDSA P-256 key is generated per process and reused for every leaf, so minting costs a
//! single signature. Leaves are cached (bounded, and re-minted well before they expire); the
//! cache makes concurrent requests for the same new name mint once.
//!
//! Besides the school-signed leaves, [`CertMinter::untrusted_key`] mints leaves signed by a
//! throwaway per-process CA that nobody trusts. The proxy presents one when the real
//! upstream's certificate is invalid, so the client never receives a valid certificate for an
//! invalid site; the browser warns, and the proxy's error page explains.

use std::fmt;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use moka::sync::Cache;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use rustls::pki_types::{CertificateDer, DnsName, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::{ClientHello, NoServerSessionStorage, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::ServerConfig;
use time::{Duration, OffsetDateTime};

use super::ca::{random_serial, SchoolCa};
use super::error::TlsError;

/// Leaves are valid for at most this long (browsers cap leaf lifetimes).
const LEAF_VALIDITY: Duration = Duration::days(89);
/// Leaves are backdated by this much for clients whose clock is a little behind.
const LEAF_BACKDATE: Duration = Duration::hours(1);
/// Cached leaves are re-minted after this long, long before they expire.
const CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(30 * 24 * 3600);
/// Capacity of the cache of untrusted leaves (they are only used for error pages).
const UNTRUSTED_CACHE_CAPACITY: u64 = 256;
/// RFC 5280 upper bound for a common name; longer names only go in the SAN.
const MAX_COMMON_NAME: usize = 64;
/// Common name of the throwaway CA behind [`CertMinter::untrusted_key`].
pub const UNTRUSTED_CA_NAME: &str = "gatewatch - upstream certificate INVALID";

/// The identity a leaf certificate is minted for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LeafName {
    /// A DNS name, normally the client's SNI. Case and a trailing dot are ignored; an IP
    /// literal here is treated as [`LeafName::Ip`].
    Dns(String),
    /// An IP address, used when the client sent no SNI (the original destination).
    Ip(IpAddr),
}

impl LeafName {
    /// The normalised form used for the SAN and as the cache key: lower-case DNS name
    /// without a trailing dot, or a plain (not IPv4-mapped) IP address.
    fn canonical(&self) -> Result<LeafName, TlsError> {
        match self {
            LeafName::Ip(ip) => Ok(LeafName::Ip(crate::config::canonical_ip(*ip))),
            LeafName::Dns(raw) => {
                let name = raw.strip_suffix('.').unwrap_or(raw).to_ascii_lowercase();
                let unbracketed = name
                    .strip_prefix('[')
                    .and_then(|n| n.strip_suffix(']'))
                    .unwrap_or(&name);
                if let Ok(ip) = unbracketed.parse::<IpAddr>() {
                    return Ok(LeafName::Ip(crate::config::canonical_ip(ip)));
                }
                if DnsName::try_from(name.as_str()).is_err() {
                    return Err(TlsError::InvalidName {
                        name: raw.clone(),
                        reason: "not a valid DNS name",
                    });
                }
                Ok(LeafName::Dns(name))
            }
        }
    }
}

impl fmt::Display for LeafName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LeafName::Dns(name) => f.write_str(name),
            LeafName::Ip(ip) => write!(f, "{ip}"),
        }
    }
}

/// Mints and caches leaf certificates signed by the school CA (and untrusted ones for error
/// pages), and builds the rustls server configuration that presents them.
pub struct CertMinter {
    ca: Arc<SchoolCa>,
    leaf_key: KeyPair,
    signing_key: Arc<dyn rustls::sign::SigningKey>,
    untrusted_issuer: Issuer<'static, KeyPair>,
    untrusted_ca_der: CertificateDer<'static>,
    untrusted_ca_not_after: OffsetDateTime,
    cache: Cache<LeafName, Arc<CertifiedKey>>,
    untrusted_cache: Cache<LeafName, Arc<CertifiedKey>>,
    minted: AtomicU64,
    server_template: ServerConfig,
}

impl fmt::Debug for CertMinter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertMinter")
            .field("ca", &self.ca)
            .field("cached", &self.cache.entry_count())
            .field("minted", &self.minted_count())
            .finish_non_exhaustive()
    }
}

impl CertMinter {
    /// Creates a minter for `ca` caching up to `cache_capacity` leaves. Generates the
    /// per-process leaf key and the throwaway untrusted CA (never written anywhere).
    pub fn new(ca: Arc<SchoolCa>, cache_capacity: u64) -> Result<CertMinter, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let leaf_key = generate_key("leaf key")?;
        let signing_key = provider
            .key_provider
            .load_private_key(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
                leaf_key.serialize_der(),
            )))?;

        let now = OffsetDateTime::now_utc();
        let untrusted_key = generate_key("untrusted CA key")?;
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, UNTRUSTED_CA_NAME);
        dn.push(DnType::OrganizationName, "gatewatch");
        params.distinguished_name = dn;
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.not_before = now - Duration::days(1);
        params.not_after = now + Duration::days(3652);
        params.serial_number = Some(random_serial());
        let untrusted_ca =
            params
                .self_signed(&untrusted_key)
                .map_err(|source| TlsError::Generate {
                    what: "untrusted CA certificate",
                    source,
                })?;
        let untrusted_ca_not_after = params.not_after;
        let untrusted_issuer = Issuer::new(params, untrusted_key);

        let mut server_template = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(NoCertificate));
        // No resumption: every connection gets a full handshake, so the certificate choice
        // (school-signed or untrusted) is made for each connection.
        server_template.session_storage = Arc::new(NoServerSessionStorage {});
        server_template.send_tls13_tickets = 0;

        Ok(CertMinter {
            ca,
            leaf_key,
            signing_key,
            untrusted_issuer,
            untrusted_ca_der: untrusted_ca.der().clone(),
            untrusted_ca_not_after,
            cache: Cache::builder()
                .max_capacity(cache_capacity)
                .time_to_live(CACHE_TTL)
                .build(),
            untrusted_cache: Cache::builder()
                .max_capacity(UNTRUSTED_CACHE_CAPACITY)
                .time_to_live(CACHE_TTL)
                .build(),
            minted: AtomicU64::new(0),
            server_template,
        })
    }

    /// The school CA this minter signs with.
    pub fn ca(&self) -> &Arc<SchoolCa> {
        &self.ca
    }

    /// A leaf for `name` signed by the school CA, with chain `[leaf, school CA]`. Cached;
    /// concurrent calls for the same new name mint once.
    pub fn certified_key(&self, name: &LeafName) -> Result<Arc<CertifiedKey>, TlsError> {
        let name = name.canonical()?;
        self.cache
            .try_get_with_by_ref(&name, || {
                let issuer = self.ca.issuer();
                let key = self.mint(&name, issuer, self.ca.cert_der(), self.ca.not_after())?;
                self.minted.fetch_add(1, Ordering::Relaxed);
                Ok(key)
            })
            .map_err(|source: Arc<rcgen::Error>| TlsError::Mint {
                name: name.to_string(),
                source: (*source).clone(),
            })
    }

    /// A leaf for `name` signed by the per-process untrusted CA
    /// ([`UNTRUSTED_CA_NAME`]), for showing an error page when the upstream's own certificate
    /// is invalid. No client trusts it.
    pub fn untrusted_key(&self, name: &LeafName) -> Result<Arc<CertifiedKey>, TlsError> {
        let name = name.canonical()?;
        self.untrusted_cache
            .try_get_with_by_ref(&name, || {
                self.mint(
                    &name,
                    &self.untrusted_issuer,
                    &self.untrusted_ca_der,
                    self.untrusted_ca_not_after,
                )
            })
            .map_err(|source: Arc<rcgen::Error>| TlsError::Mint {
                name: name.to_string(),
                source: (*source).clone(),
            })
    }

    /// Number of leaves signed by the school CA since start (cache misses).
    pub fn minted_count(&self) -> u64 {
        self.minted.load(Ordering::Relaxed)
    }

    /// A server configuration (TLS 1.2 and 1.3, no client authentication, no session
    /// resumption) that always presents `key` and offers exactly `alpn`.
    pub fn server_config(&self, key: Arc<CertifiedKey>, alpn: Vec<Vec<u8>>) -> Arc<ServerConfig> {
        let mut config = self.server_template.clone();
        config.cert_resolver = Arc::new(FixedCertificate(key));
        config.alpn_protocols = alpn;
        Arc::new(config)
    }

    /// Signs a leaf for the canonical `name` with `issuer`.
    fn mint(
        &self,
        name: &LeafName,
        issuer: &Issuer<'_, KeyPair>,
        issuer_der: &CertificateDer<'static>,
        issuer_not_after: OffsetDateTime,
    ) -> Result<Arc<CertifiedKey>, rcgen::Error> {
        let now = OffsetDateTime::now_utc();
        let text = name.to_string();
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        if text.len() <= MAX_COMMON_NAME {
            dn.push(DnType::CommonName, text.as_str());
        }
        params.distinguished_name = dn;
        params.subject_alt_names = vec![match name {
            LeafName::Dns(dns) => SanType::DnsName(dns.as_str().try_into()?),
            LeafName::Ip(ip) => SanType::IpAddress(*ip),
        }];
        params.not_before = now - LEAF_BACKDATE;
        params.not_after = (now + LEAF_VALIDITY).min(issuer_not_after);
        params.serial_number = Some(random_serial());
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        let leaf = params.signed_by(&self.leaf_key, issuer)?;
        tracing::debug!(name = %text, "minted a leaf certificate");
        Ok(Arc::new(CertifiedKey::new(
            vec![leaf.der().clone(), issuer_der.clone()],
            Arc::clone(&self.signing_key),
        )))
    }
}

fn generate_key(what: &'static str) -> Result<KeyPair, TlsError> {
    KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
        .map_err(|source| TlsError::Generate { what, source })
}

/// Presents one certificate whatever the client asks for.
#[derive(Debug)]
struct FixedCertificate(Arc<CertifiedKey>);

impl ResolvesServerCert for FixedCertificate {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(&self.0))
    }
}

/// Placeholder in the template configuration; always replaced before use.
#[derive(Debug)]
struct NoCertificate;

impl ResolvesServerCert for NoCertificate {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::client::danger::ServerCertVerifier;
    use rustls::client::WebPkiServerVerifier;
    use rustls::crypto::CryptoProvider;
    use rustls::pki_types::{ServerName, UnixTime};
    use rustls::{CertificateError, RootCertStore};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use x509_parser::prelude::{GeneralName, X509Certificate};

    fn minter() -> (tempfile::TempDir, CertMinter) {
        let dir = tempfile::tempdir().expect("tempdir");
        let ca = SchoolCa::load_or_create(dir.path()).expect("school CA");
        let minter = CertMinter::new(Arc::new(ca), 1000).expect("minter");
        (dir, minter)
    }

    fn provider() -> Arc<CryptoProvider> {
        Arc::new(rustls::crypto::ring::default_provider())
    }

    fn roots(ca: &CertificateDer<'_>) -> Arc<RootCertStore> {
        let mut roots = RootCertStore::empty();
        roots.add(ca.clone()).expect("add root");
        Arc::new(roots)
    }

    /// Verifies `key`'s chain for `name` the way a client trusting only `ca` would.
    fn verify(
        key: &CertifiedKey,
        ca: &CertificateDer<'_>,
        name: &str,
    ) -> Result<(), rustls::Error> {
        let verifier = WebPkiServerVerifier::builder_with_provider(roots(ca), provider())
            .build()
            .expect("verifier");
        let server_name = ServerName::try_from(name.to_string()).expect("server name");
        verifier
            .verify_server_cert(
                &key.cert[0],
                &key.cert[1..],
                &server_name,
                &[],
                UnixTime::now(),
            )
            .map(|_| ())
    }

    fn parse<'a>(der: &'a CertificateDer<'_>) -> X509Certificate<'a> {
        x509_parser::parse_x509_certificate(der).expect("parse").1
    }

    #[test]
    fn dns_and_ip_leaves_verify_against_the_school_ca() {
        let (_dir, minter) = minter();
        let ca = minter.ca().cert_der().clone();
        let dns = minter
            .certified_key(&LeafName::Dns("www.example.org".into()))
            .expect("dns leaf");
        assert_eq!(dns.cert.len(), 2);
        assert_eq!(dns.cert[1], ca);
        dns.keys_match().expect("key matches leaf");
        verify(&dns, &ca, "www.example.org").expect("dns leaf verifies");
        let wrong = verify(&dns, &ca, "other.example.org").expect_err("wrong name");
        assert!(
            matches!(
                wrong,
                rustls::Error::InvalidCertificate(CertificateError::NotValidForNameContext { .. })
            ),
            "{wrong:?}"
        );

        let ip = minter
            .certified_key(&LeafName::Ip("192.0.2.7".parse().expect("ip")))
            .expect("ip leaf");
        verify(&ip, &ca, "192.0.2.7").expect("ip leaf verifies");
        let v6 = minter
            .certified_key(&LeafName::Ip("2001:db8::1".parse().expect("ip")))
            .expect("v6 leaf");
        verify(&v6, &ca, "2001:db8::1").expect("v6 leaf verifies");

        let long = format!("{}.example.org", "a".repeat(60));
        let long_key = minter
            .certified_key(&LeafName::Dns(long.clone()))
            .expect("long name");
        verify(&long_key, &ca, &long).expect("long-name leaf verifies");
        assert!(parse(&long_key.cert[0])
            .subject()
            .iter_common_name()
            .next()
            .is_none());
    }

    #[test]
    fn leaves_are_short_lived_end_entity_server_certificates() {
        let (_dir, minter) = minter();
        let now = OffsetDateTime::now_utc();
        let a = minter
            .certified_key(&LeafName::Dns("a.example".into()))
            .expect("a");
        let b = minter
            .certified_key(&LeafName::Dns("b.example".into()))
            .expect("b");
        let (xa, xb) = (parse(&a.cert[0]), parse(&b.cert[0]));
        let validity = xa.validity();
        assert!(validity.not_before.to_datetime() < now);
        assert!(
            validity.not_after.to_datetime() - validity.not_before.to_datetime()
                <= Duration::days(90)
        );
        assert!(validity.not_after.to_datetime() > now + Duration::days(88));
        assert!(!xa.is_ca());
        let eku = xa
            .extended_key_usage()
            .expect("eku")
            .expect("present")
            .value;
        assert!(eku.server_auth);
        let cn = xa.subject().iter_common_name().next().expect("cn");
        assert_eq!(cn.as_str().expect("utf8"), "a.example");
        let san = xa
            .subject_alternative_name()
            .expect("san")
            .expect("present")
            .value;
        assert_eq!(san.general_names, vec![GeneralName::DNSName("a.example")]);
        assert_eq!(xa.raw_serial().len(), 16);
        assert_ne!(xa.raw_serial(), xb.raw_serial());
        assert_eq!(xa.issuer().to_string(), minter.ca().subject());
    }

    #[test]
    fn untrusted_leaf_does_not_verify_against_the_school_ca() {
        let (_dir, minter) = minter();
        let name = LeafName::Dns("expired.example".into());
        let key = minter.untrusted_key(&name).expect("untrusted leaf");
        let err = verify(&key, minter.ca().cert_der(), "expired.example").expect_err("untrusted");
        assert!(
            matches!(
                err,
                rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)
            ),
            "{err:?}"
        );
        // It is a well-formed leaf for the name, just from a CA nobody trusts.
        verify(&key, &key.cert[1].clone(), "expired.example").expect("valid under its own CA");
        assert!(parse(&key.cert[0])
            .issuer()
            .to_string()
            .contains(UNTRUSTED_CA_NAME));
        let again = minter.untrusted_key(&name).expect("cached");
        assert!(Arc::ptr_eq(&key, &again));
        assert_eq!(
            minter.minted_count(),
            0,
            "untrusted leaves are counted apart"
        );
    }

    #[test]
    fn concurrent_misses_mint_once() {
        let (_dir, minter) = minter();
        let name = LeafName::Dns("busy.example".into());
        let keys: Vec<Arc<CertifiedKey>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| s.spawn(|| minter.certified_key(&name).expect("leaf")))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("thread"))
                .collect()
        });
        assert_eq!(minter.minted_count(), 1);
        assert!(keys.iter().all(|k| Arc::ptr_eq(k, &keys[0])));
        minter
            .certified_key(&LeafName::Dns("other.example".into()))
            .expect("second name");
        assert_eq!(minter.minted_count(), 2);
    }

    #[test]
    fn names_are_normalised_and_validated() {
        let (_dir, minter) = minter();
        let a = minter
            .certified_key(&LeafName::Dns("Example.COM.".into()))
            .expect("mixed case");
        let b = minter
            .certified_key(&LeafName::Dns("example.com".into()))
            .expect("lower case");
        assert!(Arc::ptr_eq(&a, &b));
        let ip = minter
            .certified_key(&LeafName::Dns("[2001:db8::2]".into()))
            .expect("ip literal");
        let mapped = minter
            .certified_key(&LeafName::Ip("2001:db8::2".parse().expect("ip")))
            .expect("ip");
        assert!(Arc::ptr_eq(&ip, &mapped));
        let v4 = minter
            .certified_key(&LeafName::Ip("::ffff:192.0.2.9".parse().expect("ip")))
            .expect("mapped v4");
        verify(&v4, minter.ca().cert_der(), "192.0.2.9").expect("mapped address is plain v4");
        assert_eq!(minter.minted_count(), 3);

        for bad in [
            "",
            "*.example.com",
            "a..b",
            "exa mple.com",
            "caf\u{e9}.fr",
            "-x.example",
        ] {
            let err = minter
                .certified_key(&LeafName::Dns(bad.into()))
                .expect_err(bad);
            assert!(matches!(err, TlsError::InvalidName { .. }), "{bad}: {err}");
        }
        assert_eq!(minter.minted_count(), 3);
    }

    async fn handshake(
        minter: &CertMinter,
        client_versions: &[&'static rustls::SupportedProtocolVersion],
    ) -> (Option<Vec<u8>>, Option<rustls::ProtocolVersion>) {
        let key = minter
            .certified_key(&LeafName::Dns("school.example".into()))
            .expect("leaf");
        let server_config = minter.server_config(key, vec![b"h2".to_vec()]);
        let mut client_config = rustls::ClientConfig::builder_with_provider(provider())
            .with_protocol_versions(client_versions)
            .expect("versions")
            .with_root_certificates(roots(minter.ca().cert_der()))
            .with_no_client_auth();
        client_config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];

        let (client_io, server_io) = tokio::io::duplex(64 * 1024);
        let acceptor = tokio_rustls::TlsAcceptor::from(server_config);
        let server = tokio::spawn(async move {
            let mut tls = acceptor.accept(server_io).await.expect("server handshake");
            let mut buf = [0u8; 4];
            tls.read_exact(&mut buf).await.expect("read");
            tls.write_all(&buf).await.expect("echo");
            tls.shutdown().await.expect("shutdown");
        });
        let connector = tokio_rustls::TlsConnector::from(Arc::new(client_config));
        let name = ServerName::try_from("school.example").expect("name");
        let mut tls = connector
            .connect(name, client_io)
            .await
            .expect("client handshake");
        tls.write_all(b"ping").await.expect("write");
        let mut echoed = Vec::new();
        tls.read_to_end(&mut echoed).await.expect("read echo");
        assert_eq!(echoed, b"ping");
        server.await.expect("server task");
        let conn = tls.get_ref().1;
        (
            conn.alpn_protocol().map(<[u8]>::to_vec),
            conn.protocol_version(),
        )
    }

    #[tokio::test]
    async fn real_handshake_negotiates_h2_over_tls13_and_tls12() {
        let (_dir, minter) = minter();
        let (alpn, version) = handshake(&minter, &[&rustls::version::TLS13]).await;
        assert_eq!(alpn.as_deref(), Some(&b"h2"[..]));
        assert_eq!(version, Some(rustls::ProtocolVersion::TLSv1_3));
        let (alpn, version) = handshake(&minter, &[&rustls::version::TLS12]).await;
        assert_eq!(alpn.as_deref(), Some(&b"h2"[..]));
        assert_eq!(version, Some(rustls::ProtocolVersion::TLSv1_2));
        assert_eq!(minter.minted_count(), 1);
    }
}
