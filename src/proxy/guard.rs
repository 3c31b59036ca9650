//! The destination guard: which upstream addresses the proxy may connect to.
//!
//! gatewatch must never become a way into the gateway or the school's internal network. It
//! refuses the gateway's own addresses and ports, loopback, private, link-local, unique-local and
//! shared (CGNAT) ranges, multicast and unspecified addresses. `[upstream] allow_private`
//! (labs and tests only) lets loopback and private upstreams through, but never gatewatch's
//! own listener and admin ports.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::config::canonical_ip;

/// Decides whether an upstream address may be connected to.
#[derive(Debug, Clone)]
pub struct DestinationGuard {
    allow_private: bool,
    local_addrs: HashSet<IpAddr>,
    own_ports: HashSet<u16>,
}

impl DestinationGuard {
    /// A guard that knows the gateway's addresses (read from its interfaces) and the ports it
    /// serves on (`own_ports`: listeners, metrics, admin).
    pub fn new(allow_private: bool, own_ports: impl IntoIterator<Item = u16>) -> Self {
        DestinationGuard {
            allow_private,
            local_addrs: interface_addresses(),
            own_ports: own_ports.into_iter().filter(|p| *p != 0).collect(),
        }
    }

    /// Adds ports the gateway serves on (ephemeral ports are known only after binding).
    pub fn add_own_ports(&mut self, ports: impl IntoIterator<Item = u16>) {
        self.own_ports.extend(ports);
    }

    /// `Ok(())` when `dest` may be connected to, else the reason it may not.
    pub fn check(&self, dest: SocketAddr) -> Result<(), String> {
        let ip = canonical_ip(dest.ip());
        if ip.is_unspecified() || ip.is_multicast() || is_broadcast(ip) {
            return Err(format!("{ip} is not a unicast address"));
        }
        let is_local = ip.is_loopback() || self.local_addrs.contains(&ip);
        if is_local && self.own_ports.contains(&dest.port()) {
            return Err(format!(
                "{dest} is gatewatch itself; its own ports cannot be reached through the proxy"
            ));
        }
        if self.allow_private {
            return Ok(());
        }
        if is_local {
            return Err(format!("{ip} is the gateway itself"));
        }
        if is_non_public(ip) {
            return Err(format!(
                "{ip} is a private or internal address; set [upstream] allow_private = true \
                 only in a lab"
            ));
        }
        Ok(())
    }
}

fn is_broadcast(ip: IpAddr) -> bool {
    matches!(ip, IpAddr::V4(v4) if v4 == Ipv4Addr::BROADCAST)
}

/// Loopback, private (RFC 1918), link-local, shared CGNAT (RFC 6598), unique-local (fc00::/7),
/// IPv6 link-local and the documentation/benchmark ranges.
fn is_non_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || (o[0] == 100 && (o[1] & 0xc0) == 64)
                || o[0] == 0
                || (o[0] == 198 && (o[1] & 0xfe) == 18)
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            v6.is_loopback()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || v6 == Ipv6Addr::UNSPECIFIED
        }
    }
}

/// Every address on the gateway's interfaces.
fn interface_addresses() -> HashSet<IpAddr> {
    let mut out = HashSet::new();
    match nix::ifaddrs::getifaddrs() {
        Ok(addrs) => {
            for ifa in addrs {
                let Some(addr) = ifa.address else { continue };
                if let Some(v4) = addr.as_sockaddr_in() {
                    out.insert(IpAddr::V4(v4.ip()));
                } else if let Some(v6) = addr.as_sockaddr_in6() {
                    out.insert(IpAddr::V6(v6.ip()));
                }
            }
        }
        Err(err) => tracing::warn!(error = %err, "cannot list interface addresses"),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sa(s: &str) -> SocketAddr {
        s.parse().expect("literal")
    }

    #[test]
    fn refuses_internal_destinations_by_default() {
        let g = DestinationGuard::new(false, [3128]);
        for bad in [
            "127.0.0.1:80",
            "10.1.2.3:443",
            "192.168.0.1:443",
            "172.16.0.1:443",
            "169.254.1.1:80",
            "100.64.0.1:80",
            "0.0.0.0:80",
            "[::1]:443",
            "[fd00::1]:443",
            "[fe80::1]:443",
            "[::ffff:10.0.0.1]:443",
            "224.0.0.1:80",
        ] {
            assert!(g.check(sa(bad)).is_err(), "{bad} should be refused");
        }
        assert!(g.check(sa("93.184.216.34:443")).is_ok());
        assert!(g.check(sa("[2606:2800:220:1::1]:443")).is_ok());
    }

    #[test]
    fn lab_mode_allows_private_but_never_our_own_ports() {
        let mut g = DestinationGuard::new(true, [3128]);
        g.add_own_ports([9091]);
        assert!(g.check(sa("127.0.0.1:8443")).is_ok());
        assert!(g.check(sa("10.1.2.3:443")).is_ok());
        assert!(g.check(sa("127.0.0.1:3128")).is_err());
        assert!(g.check(sa("127.0.0.1:9091")).is_err());
        assert!(g.check(sa("0.0.0.0:443")).is_err());
    }
}
