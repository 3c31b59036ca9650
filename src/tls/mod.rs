//! TLS: the school CA, per-host leaf certificates and upstream trust.
//!
//! Every rustls configuration here is built with the ring provider passed explicitly; nothing
//! relies on a process-wide default provider.
//!
//! # Layout
//! - [`ca`]: [`SchoolCa`], the school CA in the CA directory (`ca.pem`, `ca.key.pem` mode
//!   0600), generated on first start, shown by `gatewatch ca show` and exported for devices.
//! - [`mint`]: [`CertMinter`], leaf certificates per host name or IP signed by the school CA
//!   (cached), untrusted leaves for upstream-certificate error pages, and the rustls
//!   [`rustls::ServerConfig`] that presents a leaf to the client.
//! - [`upstream`]: [`UpstreamTls`], the trust anchors and rustls [`rustls::ClientConfig`]s
//!   for connecting to real servers, and [`UpstreamCertProblem`] for explaining a rejected
//!   upstream certificate.
//! - [`error`]: the error type, [`TlsError`].

pub mod ca;
pub mod error;
pub mod mint;
pub mod upstream;

use rustls::pki_types::{DnsName, ServerName};

pub use ca::{ExportFormat, SchoolCa, CA_CERT_FILE, CA_KEY_FILE};
pub use error::TlsError;
pub use mint::{CertMinter, LeafName, UNTRUSTED_CA_NAME};
pub use upstream::{
    describe_verify_error, upstream_cert_problem, UpstreamCertProblem, UpstreamTls,
};

/// The name to connect to and verify an upstream as, for the same identity a leaf is
/// minted for. A trailing dot is dropped; a DNS name that is an IP literal becomes an IP
/// address. Fails for a string that is neither a valid DNS name nor an IP address.
pub fn server_name_for(name: &LeafName) -> Result<ServerName<'static>, TlsError> {
    match name {
        LeafName::Ip(ip) => Ok(ServerName::IpAddress((*ip).into())),
        LeafName::Dns(raw) => {
            let trimmed = raw.strip_suffix('.').unwrap_or(raw);
            let unbracketed = trimmed
                .strip_prefix('[')
                .and_then(|n| n.strip_suffix(']'))
                .unwrap_or(trimmed);
            if let Ok(ip) = unbracketed.parse::<std::net::IpAddr>() {
                return Ok(ServerName::IpAddress(ip.into()));
            }
            DnsName::try_from(trimmed.to_string())
                .map(ServerName::DnsName)
                .map_err(|_| TlsError::InvalidName {
                    name: raw.clone(),
                    reason: "not a valid DNS name",
                })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_names() {
        let dns = server_name_for(&LeafName::Dns("www.example.org.".into())).expect("dns");
        assert_eq!(dns.to_str(), "www.example.org");
        let ip = server_name_for(&LeafName::Dns("[2001:db8::1]".into())).expect("ip literal");
        assert!(matches!(ip, ServerName::IpAddress(_)));
        let ip = server_name_for(&LeafName::Ip("192.0.2.1".parse().expect("ip"))).expect("ip");
        assert_eq!(ip.to_str(), "192.0.2.1");
        assert!(server_name_for(&LeafName::Dns("bad name".into())).is_err());
    }
}
