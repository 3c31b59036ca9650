//! Turns sniffed DHCP messages into lease events.
//!
//! A server's DHCPACK (yiaddr != 0, with option 51) binds yiaddr to chaddr for the lease time.
//! dnsmasq's ACK may omit the host name (12) and client id (61), so they are taken from the
//! client's DISCOVER/REQUEST with the same xid and chaddr, remembered for a short while.
//! DHCPRELEASE (ciaddr) and DHCPDECLINE (option 50) end the binding.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};

use super::dhcp_wire::{DhcpMessage, MessageType};
use super::event::{LeaseEnd, LeaseEvent, LeaseKind, Source, UnixTime};
use super::mac::MacAddr;
use super::text;

/// How long a client's request is remembered waiting for the server's ACK.
const PENDING_TTL_SECS: UnixTime = 60;
/// At most this many requests are remembered (a flood of DISCOVERs cannot grow memory).
const MAX_PENDING: usize = 4096;

/// What a client said about itself in a request.
#[derive(Debug, Clone)]
struct Pending {
    hostname: Option<String>,
    client_id: Option<Vec<u8>>,
    seen: UnixTime,
}

/// Pairs client requests with server replies.
#[derive(Debug, Default)]
pub struct DhcpTracker {
    pending: HashMap<(u32, MacAddr), Pending>,
}

impl DhcpTracker {
    /// An empty tracker.
    pub fn new() -> Self {
        Self::default()
    }

    /// Requests waiting for their ACK.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Feeds one message seen at `now`; returns the lease event it completes, if any.
    pub fn observe(&mut self, msg: &DhcpMessage, now: UnixTime) -> Option<LeaseEvent> {
        let mac = msg.mac()?;
        let key = (msg.xid, mac);
        let event = |kind, ip: Ipv4Addr, end, hostname, client_id: Option<Vec<u8>>| LeaseEvent {
            kind,
            ip: IpAddr::V4(ip),
            mac: Some(mac),
            hostname,
            client_id: client_id.map(|c| text::hex_colon(&c)),
            start: now,
            end,
            source: Source::DhcpSniff,
        };
        match (msg.op, msg.message_type?) {
            (1, MessageType::Discover | MessageType::Request | MessageType::Inform) => {
                if msg.hostname.is_some() || msg.client_id.is_some() {
                    self.remember(key, msg, now);
                }
                None
            }
            (1, MessageType::Release) => (!msg.ciaddr.is_unspecified()).then(|| {
                event(
                    LeaseKind::Release,
                    msg.ciaddr,
                    LeaseEnd::At(now),
                    msg.hostname.clone(),
                    msg.client_id.clone(),
                )
            }),
            (1, MessageType::Decline) => msg.requested_ip.map(|ip| {
                event(
                    LeaseKind::Release,
                    ip,
                    LeaseEnd::At(now),
                    msg.hostname.clone(),
                    msg.client_id.clone(),
                )
            }),
            (2, MessageType::Ack) => {
                if msg.yiaddr.is_unspecified() {
                    return None; // the reply to an INFORM binds nothing
                }
                let secs = msg.lease_secs?;
                let asked = self.pending.remove(&key);
                let end = if secs == u32::MAX {
                    LeaseEnd::Never
                } else {
                    LeaseEnd::At(now.saturating_add(UnixTime::from(secs)))
                };
                let hostname = msg
                    .hostname
                    .clone()
                    .or_else(|| asked.as_ref().and_then(|a| a.hostname.clone()));
                let client_id = msg
                    .client_id
                    .clone()
                    .or_else(|| asked.and_then(|a| a.client_id));
                Some(event(LeaseKind::Bind, msg.yiaddr, end, hostname, client_id))
            }
            (2, MessageType::Nak) => {
                self.pending.remove(&key);
                None
            }
            _ => None,
        }
    }

    fn remember(&mut self, key: (u32, MacAddr), msg: &DhcpMessage, now: UnixTime) {
        if self.pending.len() >= MAX_PENDING && !self.pending.contains_key(&key) {
            self.pending
                .retain(|_, p| now.saturating_sub(p.seen) <= PENDING_TTL_SECS);
            if self.pending.len() >= MAX_PENDING {
                self.pending.clear();
            }
        }
        self.pending.insert(
            key,
            Pending {
                hostname: msg.hostname.clone(),
                client_id: msg.client_id.clone(),
                seen: now,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::dhcp_wire::parse;
    use crate::identity::dhcp_wire::tests::{captured, message};

    #[test]
    fn the_real_dnsmasq_exchange_gives_binds_and_a_release() {
        let mut t = DhcpTracker::new();
        let mut events = Vec::new();
        for (i, (_, bytes)) in captured().iter().enumerate() {
            let msg = parse(bytes).unwrap();
            let now = 1_000 + i64::try_from(i).unwrap();
            events.extend(t.observe(&msg, now));
        }
        let summary: Vec<_> = events
            .iter()
            .map(|e| (e.kind, e.hostname.as_deref(), e.mac.map(|m| m.to_string())))
            .collect();
        let a = Some("00:16:3e:5a:01:0a".to_owned());
        let b = Some("3a:9f:01:c2:77:10".to_owned());
        assert_eq!(
            summary,
            vec![
                (LeaseKind::Bind, Some("alice-laptop"), a),
                (LeaseKind::Bind, Some("bob-phone"), b.clone()),
                (LeaseKind::Bind, Some("bob-phone"), b.clone()),
                (LeaseKind::Release, None, b),
            ]
        );
        assert_eq!(events[0].client_id.as_deref(), Some("01:00:16:3e:5a:01:0a"));
        assert_eq!(events[0].end, LeaseEnd::At(events[0].start + 12 * 3600));
        assert_eq!(events[0].source, Source::DhcpSniff);
        assert_eq!(
            events[1].ip, events[3].ip,
            "bob releases the address he was given"
        );
        assert_ne!(events[0].ip, events[1].ip);
    }

    #[test]
    fn ack_without_host_name_borrows_it_from_the_request() {
        let mac = [2, 0, 0, 0, 0, 7];
        let mut t = DhcpTracker::new();
        let req = message(
            1,
            42,
            mac,
            [0; 4],
            &[53, 1, 3, 12, 3, b'p', b'c', b'1', 61, 2, 1, 7, 255],
        );
        assert_eq!(t.observe(&parse(&req).unwrap(), 10), None);
        assert_eq!(t.pending(), 1);
        // A NAK for another transaction changes nothing; an ACK for this one binds.
        let nak = message(2, 43, mac, [0; 4], &[53, 1, 6, 255]);
        assert_eq!(t.observe(&parse(&nak).unwrap(), 11), None);
        let ack = message(
            2,
            42,
            mac,
            [10, 0, 0, 9],
            &[53, 1, 5, 51, 4, 0, 0, 0, 60, 255],
        );
        let e = t.observe(&parse(&ack).unwrap(), 12).unwrap();
        assert_eq!(e.hostname.as_deref(), Some("pc1"));
        assert_eq!(e.client_id.as_deref(), Some("01:07"));
        assert_eq!((e.start, e.end), (12, LeaseEnd::At(72)));
        assert_eq!(t.pending(), 0);
        // An ACK to an INFORM (yiaddr 0) or without a lease time binds nothing.
        let inform_ack = message(2, 44, mac, [0; 4], &[53, 1, 5, 255]);
        assert_eq!(t.observe(&parse(&inform_ack).unwrap(), 13), None);
        let no_lease = message(2, 45, mac, [10, 0, 0, 9], &[53, 1, 5, 255]);
        assert_eq!(t.observe(&parse(&no_lease).unwrap(), 13), None);
        // Infinite lease.
        let forever = message(
            2,
            46,
            mac,
            [10, 0, 0, 9],
            &[53, 1, 5, 51, 4, 255, 255, 255, 255],
        );
        assert_eq!(
            t.observe(&parse(&forever).unwrap(), 14).unwrap().end,
            LeaseEnd::Never
        );
    }

    #[test]
    fn decline_releases_the_requested_address() {
        let mac = [2, 0, 0, 0, 0, 8];
        let mut t = DhcpTracker::new();
        let decline = message(1, 5, mac, [0; 4], &[53, 1, 4, 50, 4, 10, 0, 0, 3, 255]);
        let e = t.observe(&parse(&decline).unwrap(), 20).unwrap();
        assert_eq!(
            (e.kind, e.ip),
            (LeaseKind::Release, "10.0.0.3".parse().unwrap())
        );
        // A RELEASE without ciaddr names no address.
        let release = message(1, 6, mac, [0; 4], &[53, 1, 7, 255]);
        assert_eq!(t.observe(&parse(&release).unwrap(), 21), None);
    }

    #[test]
    fn a_discover_flood_does_not_grow_memory() {
        let mut t = DhcpTracker::new();
        for xid in 0..(3 * MAX_PENDING as u32) {
            let m = message(
                1,
                xid,
                [2, 0, 0, 0, 0, 9],
                [0; 4],
                &[53, 1, 1, 12, 1, b'x', 255],
            );
            t.observe(&parse(&m).unwrap(), 100);
        }
        assert!(t.pending() <= MAX_PENDING);
    }
}
