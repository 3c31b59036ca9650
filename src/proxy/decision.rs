//! The one place that decides what happens to a connection: refuse it, splice it (relay without
//! decryption) or intercept it.
//!
//! Every listener asks [`Policy`]; nothing else makes these choices. The roadmap adds the
//! device's AUP status and its policy profile to the facts considered here.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use super::bypass::{BypassList, BypassReason};
use super::guard::DestinationGuard;
use crate::config::ClientPolicy;

/// What to do with a connection once its first bytes are known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Decrypt, inspect and re-encrypt.
    Intercept,
    /// Relay bytes untouched.
    Splice(SpliceReason),
    /// Close the connection (or answer with an error page).
    Refuse(String),
}

impl Decision {
    /// A short label for logs and spans.
    pub fn label(&self) -> &'static str {
        match self {
            Decision::Intercept => "intercept",
            Decision::Splice(_) => "splice",
            Decision::Refuse(_) => "refuse",
        }
    }
}

/// Why a connection is spliced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpliceReason {
    /// The host is on the configured (or default safeguarding) bypass list.
    Configured,
    /// Clients kept rejecting our certificate for this host.
    Automatic,
    /// The client is not speaking TLS (or a TLS we cannot parse), so there is nothing to
    /// intercept.
    NotTls,
}

/// What is known about a connection when its TLS ClientHello (or lack of one) has been read.
#[derive(Debug, Clone, Copy)]
pub struct TlsFacts<'a> {
    /// The client's address.
    pub client: SocketAddr,
    /// The destination gatewatch will connect to.
    pub dest: SocketAddr,
    /// The name the client asked for in its ClientHello (SNI), if any.
    pub sni: Option<&'a str>,
    /// The host named in an explicit `CONNECT`, if any.
    pub connect_host: Option<&'a str>,
    /// Whether the client started a TLS handshake gatewatch could parse.
    pub is_tls: bool,
}

/// Connection policy: admitted clients, allowed destinations, bypass.
#[derive(Debug)]
pub struct Policy {
    clients: ClientPolicy,
    guard: DestinationGuard,
    bypass: Arc<BypassList>,
}

impl Policy {
    /// Builds the policy.
    pub fn new(clients: ClientPolicy, guard: DestinationGuard, bypass: Arc<BypassList>) -> Self {
        Policy {
            clients,
            guard,
            bypass,
        }
    }

    /// Whether a client may use the proxy at all.
    pub fn admit_client(&self, client: IpAddr) -> Result<(), String> {
        if self.clients.allows(client) {
            Ok(())
        } else {
            Err(format!("{client} is outside the allowed client subnets"))
        }
    }

    /// Whether the proxy may connect to `dest` on a client's behalf.
    pub fn allow_destination(&self, dest: SocketAddr) -> Result<(), String> {
        self.guard.check(dest)
    }

    /// The decision for a connection whose ClientHello (or non-TLS start) has been read.
    pub fn decide_tls(&self, facts: &TlsFacts<'_>) -> Decision {
        if let Err(reason) = self.guard.check(facts.dest) {
            return Decision::Refuse(reason);
        }
        if !facts.is_tls {
            return Decision::Splice(SpliceReason::NotTls);
        }
        let dest_ip = facts.dest.ip().to_string();
        let names = [facts.sni, facts.connect_host, Some(dest_ip.as_str())];
        for name in names.into_iter().flatten() {
            match self.bypass.check(name) {
                Some(BypassReason::Configured) => {
                    return Decision::Splice(SpliceReason::Configured)
                }
                Some(BypassReason::Automatic) => return Decision::Splice(SpliceReason::Automatic),
                None => {}
            }
        }
        Decision::Intercept
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{AutoBypass, BypassConfig};

    fn policy(dir: &std::path::Path) -> Policy {
        let bypass = BypassList::new(
            &BypassConfig {
                hosts: vec!["childline.org.uk".into()],
                auto: AutoBypass {
                    enabled: true,
                    failures: 1,
                },
            },
            dir,
        );
        Policy::new(
            ClientPolicy {
                allowed_subnets: vec!["10.20.0.0/16".parse().expect("literal")],
            },
            DestinationGuard::new(false, [3128]),
            Arc::new(bypass),
        )
    }

    fn facts<'a>(sni: Option<&'a str>, dest: &str, is_tls: bool) -> TlsFacts<'a> {
        TlsFacts {
            client: "10.20.0.5:5000".parse().expect("literal"),
            dest: dest.parse().expect("literal"),
            sni,
            connect_host: None,
            is_tls,
        }
    }

    #[test]
    fn decisions() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = policy(dir.path());
        assert!(p.admit_client("10.20.3.4".parse().expect("ip")).is_ok());
        assert!(p.admit_client("192.0.2.1".parse().expect("ip")).is_err());
        assert_eq!(
            p.decide_tls(&facts(Some("example.com"), "93.184.216.34:443", true)),
            Decision::Intercept
        );
        assert_eq!(
            p.decide_tls(&facts(
                Some("www.childline.org.uk"),
                "93.184.216.34:443",
                true
            )),
            Decision::Splice(SpliceReason::Configured)
        );
        assert_eq!(
            p.decide_tls(&facts(None, "93.184.216.34:443", false)),
            Decision::Splice(SpliceReason::NotTls)
        );
        assert!(matches!(
            p.decide_tls(&facts(Some("example.com"), "10.0.0.1:443", true)),
            Decision::Refuse(_)
        ));
        p.bypass.record_rejection("pinned.example");
        assert_eq!(
            p.decide_tls(&facts(Some("pinned.example"), "93.184.216.34:443", true)),
            Decision::Splice(SpliceReason::Automatic)
        );
    }
}
