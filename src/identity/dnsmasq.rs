//! dnsmasq leases file (`--dhcp-leasefile`; format from dnsmasq `src/lease.c`).
//!
//! One line per lease: `<expiry> <mac> <ip> <hostname|*> <client-id|*>`, expiry `0` meaning
//! infinite, a non-Ethernet MAC written as `TT-xx:..`. A `duid <hex>` line introduces DHCPv6
//! leases, `<expiry> [T]<iaid> <ipv6> <hostname|*> <duid|*>`; `vendorclass` and `agent-info`
//! lines carry extras. dnsmasq truncates and rewrites the whole file on every change, so a
//! reader takes snapshots ([`parse_snapshot`]) and [`diff`]s consecutive ones into events. A
//! snapshot read mid-rewrite ends in a partial line, which is skipped (and counted).

use std::collections::HashMap;
use std::net::IpAddr;

use super::event::{LeaseEnd, LeaseEvent, LeaseKind, Source, UnixTime};
use super::mac::MacAddr;
use super::report::{ParseReport, RecordError};
use super::text;

/// One lease line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsmasqLease {
    /// The leased address (IPv4, or IPv6 for DHCPv6 leases).
    pub ip: IpAddr,
    /// The device's Ethernet address; `None` for other hardware types and for DHCPv6 leases
    /// whose DUID does not embed one.
    pub mac: Option<MacAddr>,
    /// The client's host name.
    pub hostname: Option<String>,
    /// The client identifier (DHCPv4 option 61, or the DHCPv6 DUID) as colon hex.
    pub client_id: Option<String>,
    /// When the lease runs out.
    pub expiry: LeaseEnd,
    /// The DHCPv6 IAID (`None` for DHCPv4 leases).
    pub iaid: Option<u32>,
}

impl DnsmasqLease {
    fn same_device(&self, other: &DnsmasqLease) -> bool {
        self.mac == other.mac && self.client_id == other.client_id
    }

    fn event(&self, kind: LeaseKind, start: UnixTime, end: LeaseEnd) -> LeaseEvent {
        LeaseEvent {
            kind,
            ip: self.ip,
            mac: self.mac,
            hostname: self.hostname.clone(),
            client_id: self.client_id.clone(),
            start,
            end,
            source: Source::Dnsmasq,
        }
    }
}

/// Parses one snapshot of the whole file. Bad lines and a partial last line are skipped and
/// counted in the report; nothing here can panic or fail as a whole.
pub fn parse_snapshot(text: &str) -> (Vec<DnsmasqLease>, ParseReport) {
    let mut report = ParseReport::default();
    let mut leases = Vec::new();
    let complete = match text.rfind('\n') {
        Some(end) => &text[..=end],
        None => "",
    };
    for (n, line) in complete.lines().enumerate() {
        match parse_line(line) {
            Line::Lease(lease) => {
                report.record();
                leases.push(lease);
            }
            Line::Ignored => report.ignore(),
            Line::Bad(error) => report.skip(n + 1, error),
        }
    }
    if complete.len() < text.len() && !text[complete.len()..].trim().is_empty() {
        report.skip(complete.lines().count() + 1, RecordError::Truncated);
    }
    (leases, report)
}

enum Line {
    Lease(DnsmasqLease),
    Ignored,
    Bad(RecordError),
}

fn parse_line(line: &str) -> Line {
    let fields: Vec<&str> = line.split_ascii_whitespace().collect();
    match fields.first().copied() {
        None => return Line::Ignored,
        Some("duid" | "vendorclass" | "agent-info") => return Line::Ignored,
        Some(_) => {}
    }
    let [expiry, hw, ip, hostname, client_id] = fields[..] else {
        return Line::Bad(RecordError::Unrecognised);
    };
    let Ok(expiry) = expiry.parse::<u64>() else {
        return Line::Bad(RecordError::Invalid("expiry"));
    };
    let expiry = match expiry {
        0 => LeaseEnd::Never,
        t => match UnixTime::try_from(t) {
            Ok(t) => LeaseEnd::At(t),
            Err(_) => return Line::Bad(RecordError::Invalid("expiry")),
        },
    };
    let Ok(ip) = ip.parse::<IpAddr>() else {
        return Line::Bad(RecordError::Invalid("ip"));
    };
    let client_bytes = match client_id {
        "*" => None,
        hex => match text::parse_hex(hex) {
            Some(bytes) => Some(bytes),
            None => return Line::Bad(RecordError::Invalid("client-id")),
        },
    };
    let (mac, iaid) = match ip {
        IpAddr::V4(_) => match parse_hwaddr(hw) {
            Some(mac) => (mac, None),
            None => return Line::Bad(RecordError::Invalid("mac")),
        },
        IpAddr::V6(_) => {
            let Ok(iaid) = hw.strip_prefix('T').unwrap_or(hw).parse::<u32>() else {
                return Line::Bad(RecordError::Invalid("iaid"));
            };
            (client_bytes.as_deref().and_then(mac_from_duid), Some(iaid))
        }
    };
    Line::Lease(DnsmasqLease {
        ip,
        mac,
        hostname: (hostname != "*").then(|| hostname.to_owned()),
        client_id: client_bytes.map(|b| text::hex_colon(&b)),
        expiry,
        iaid,
    })
}

/// `xx:xx:..` (Ethernet) or `TT-xx:xx:..` (hardware type TT, hex). `Some(None)` for a valid
/// non-Ethernet or empty address, `None` for garbage.
fn parse_hwaddr(field: &str) -> Option<Option<MacAddr>> {
    let (hw_type, addr) = match field.split_once('-') {
        Some((t, rest)) if t.len() == 2 => (u8::from_str_radix(t, 16).ok()?, rest),
        Some(_) => return None,
        None => (1, field),
    };
    if addr.is_empty() {
        return Some(None);
    }
    let bytes = text::parse_hex(addr)?;
    Some(match <[u8; 6]>::try_from(bytes.as_slice()) {
        Ok(octets) if hw_type == 1 => Some(MacAddr(octets)),
        _ => None,
    })
}

/// The link-layer address inside a DUID-LLT (type 1) or DUID-LL (type 3) with Ethernet
/// hardware type, as many clients (and dnsmasq itself) generate.
pub fn mac_from_duid(duid: &[u8]) -> Option<MacAddr> {
    let lladdr = match duid {
        [0, 1, 0, 1, _, _, _, _, rest @ ..] => rest,
        [0, 3, 0, 1, rest @ ..] => rest,
        _ => return None,
    };
    <[u8; 6]>::try_from(lladdr).ok().map(MacAddr)
}

/// Events that turn snapshot `old` into snapshot `new`, observed at `now`: a Bind (start
/// `now`) for each new or changed lease that has not already run out, a Release (at `now`) for
/// each lease that disappeared early, and an Expire (at its expiry) for each lease that
/// disappeared after running out. Releases come first, then binds, each in file order.
pub fn diff(old: &[DnsmasqLease], new: &[DnsmasqLease], now: UnixTime) -> Vec<LeaseEvent> {
    let old_by_ip: HashMap<IpAddr, &DnsmasqLease> = old.iter().map(|l| (l.ip, l)).collect();
    let new_by_ip: HashMap<IpAddr, &DnsmasqLease> = new.iter().map(|l| (l.ip, l)).collect();
    let mut events = Vec::new();
    for gone in old.iter().filter(|l| !new_by_ip.contains_key(&l.ip)) {
        events.push(match gone.expiry {
            LeaseEnd::At(t) if t <= now => gone.event(LeaseKind::Expire, t, LeaseEnd::At(t)),
            _ => gone.event(LeaseKind::Release, now, LeaseEnd::At(now)),
        });
    }
    for lease in new {
        if !new_by_ip
            .get(&lease.ip)
            .is_some_and(|l| std::ptr::eq(*l, lease))
        {
            continue; // a duplicate line for the same address: the last one counts
        }
        let unchanged = old_by_ip.get(&lease.ip).is_some_and(|o| **o == *lease);
        let live = lease.expiry.as_time() > now;
        if unchanged || !live {
            continue;
        }
        if let Some(previous) = old_by_ip.get(&lease.ip) {
            if !previous.same_device(lease) {
                events.push(previous.event(LeaseKind::Release, now, LeaseEnd::At(now)));
            }
        }
        events.push(lease.event(LeaseKind::Bind, now, lease.expiry));
    }
    events
}

#[cfg(test)]
mod tests {
    use super::*;

    const SNAPSHOT_1: &str = include_str!("../../tests/fixtures/identity/dnsmasq-1.leases");
    const SNAPSHOT_2: &str = include_str!("../../tests/fixtures/identity/dnsmasq-2.leases");

    fn mac(s: &str) -> Option<MacAddr> {
        MacAddr::parse(s).ok()
    }

    #[test]
    fn real_snapshots_parse_completely() {
        let (leases, report) = parse_snapshot(SNAPSHOT_1);
        assert_eq!((report.records, report.skipped, report.ignored), (2, 0, 0));
        let alice = leases
            .iter()
            .find(|l| l.hostname.as_deref() == Some("alice-laptop"));
        let alice = alice.expect("alice's lease");
        assert_eq!(alice.mac, mac("00:16:3e:5a:01:0a"));
        assert_eq!(alice.client_id.as_deref(), Some("01:00:16:3e:5a:01:0a"));
        assert!(matches!(alice.expiry, LeaseEnd::At(t) if t > 1_700_000_000));
        let bob = leases
            .iter()
            .find(|l| l.hostname.as_deref() == Some("bob-phone"));
        assert!(bob
            .expect("bob's lease")
            .mac
            .unwrap()
            .is_locally_administered());

        let (leases, report) = parse_snapshot(SNAPSHOT_2);
        assert_eq!((report.records, report.skipped), (1, 0));
        assert_eq!(leases[0].hostname.as_deref(), Some("alice-laptop"));
    }

    #[test]
    fn real_release_diffs_to_one_release_event() {
        let (one, _) = parse_snapshot(SNAPSHOT_1);
        let (two, _) = parse_snapshot(SNAPSHOT_2);
        let now = 1_795_440_000;
        let binds = diff(&[], &one, now);
        assert_eq!(binds.len(), 2);
        assert!(binds
            .iter()
            .all(|e| e.kind == LeaseKind::Bind && e.start == now));
        let events = diff(&one, &two, now);
        assert_eq!(events.len(), 1);
        let e = &events[0];
        assert_eq!(
            (e.kind, e.start, e.source),
            (LeaseKind::Release, now, Source::Dnsmasq)
        );
        assert_eq!(e.hostname.as_deref(), Some("bob-phone"));
        assert_eq!(e.mac, mac("3a:9f:01:c2:77:10"));
        assert!(diff(&two, &two, now).is_empty());
    }

    #[test]
    fn placeholders_infinite_leases_dhcpv6_and_extras() {
        let text = "0 02:aa:bb:cc:dd:01 10.200.1.134 * *\n\
            1795478811 06-00:11:22:33:44:55 10.200.1.135 printer 01:02\n\
            1795478811 00- 10.200.1.136 * *\n\
            duid 00:01:00:01:2e:5f:33:20:52:54:00:12:34:56\n\
            1795478811 1234567 fd00:1::5 alice-ipad 00:01:00:01:2e:5f:33:20:02:aa:bb:cc:dd:01\n\
            1795478811 T99 fd00:1::6 * 00:02:00:00:ab:11:aa\n\
            vendorclass 10.200.1.134 75:64:68:63:70\n\
            agent-info 10.200.1.134 01:04:00:00:00:01\n";
        let (leases, report) = parse_snapshot(text);
        assert_eq!((report.records, report.skipped, report.ignored), (5, 0, 3));
        assert_eq!(leases[0].expiry, LeaseEnd::Never);
        assert_eq!(
            (leases[0].hostname.as_ref(), leases[0].client_id.as_ref()),
            (None, None)
        );
        assert_eq!(leases[0].mac, mac("02:aa:bb:cc:dd:01"));
        assert_eq!(leases[1].mac, None, "hardware type 6 is not Ethernet");
        assert_eq!(leases[1].client_id.as_deref(), Some("01:02"));
        assert_eq!(leases[2].mac, None);
        assert_eq!(leases[3].iaid, Some(1_234_567));
        assert_eq!(
            leases[3].mac,
            mac("02:aa:bb:cc:dd:01"),
            "MAC from the DUID-LLT"
        );
        assert_eq!(leases[4].iaid, Some(99));
        assert_eq!(leases[4].mac, None, "a DUID-EN has no MAC");
    }

    #[test]
    fn bad_lines_and_a_partial_last_line_are_counted() {
        let text = "1795478811 02:aa:bb:cc:dd:01 10.200.1.134 a *\n\
            garbage\n\
            soon 02:aa:bb:cc:dd:01 10.200.1.134 a *\n\
            1795478811 zz:aa 10.200.1.134 a *\n\
            1795478811 02:aa:bb:cc:dd:01 10.200.1.999 a *\n\
            1795478811 02:aa:bb:cc:dd:01 10.200.1.134 a 01:qq\n\
            1795478811 X12 fd00::1 a *\n\
            1795478811 02:aa:bb:cc:dd:02 10.200.1.1";
        let (leases, report) = parse_snapshot(text);
        assert_eq!(leases.len(), 1);
        assert_eq!((report.records, report.skipped), (1, 7));
        let errors: Vec<_> = report.problems.iter().map(|p| (p.line, p.error)).collect();
        assert_eq!(
            errors,
            vec![
                (2, RecordError::Unrecognised),
                (3, RecordError::Invalid("expiry")),
                (4, RecordError::Invalid("mac")),
                (5, RecordError::Invalid("ip")),
                (6, RecordError::Invalid("client-id")),
                (7, RecordError::Invalid("iaid")),
                (8, RecordError::Truncated),
            ]
        );
        assert_eq!(parse_snapshot("").1, ParseReport::default());
        assert_eq!(parse_snapshot("17954").1.skipped, 1);
    }

    #[test]
    fn corrupted_files_never_panic() {
        let (good, _) = parse_snapshot(SNAPSHOT_1);
        for text in text::corruptions(SNAPSHOT_1) {
            let (leases, report) = parse_snapshot(&text);
            assert_eq!(report.records, leases.len() as u64);
            let _ = diff(&good, &leases, 1_795_440_000);
        }
    }

    #[test]
    fn renewal_reuse_and_expiry_in_diffs() {
        let lease = |m: &str, expiry| DnsmasqLease {
            ip: "10.0.0.5".parse().unwrap(),
            mac: mac(m),
            hostname: None,
            client_id: None,
            expiry: LeaseEnd::At(expiry),
            iaid: None,
        };
        let a = lease("00:00:00:00:00:0a", 2_000);
        // Renewal: a bind with the new expiry.
        let renewed = lease("00:00:00:00:00:0a", 3_000);
        let events = diff(std::slice::from_ref(&a), &[renewed], 1_500);
        assert_eq!(events.len(), 1);
        assert_eq!(
            (events[0].kind, events[0].end),
            (LeaseKind::Bind, LeaseEnd::At(3_000))
        );
        // Reuse by another device: the old holder is released, the new one bound.
        let b = lease("00:00:00:00:00:0b", 4_000);
        let events = diff(std::slice::from_ref(&a), &[b], 1_600);
        let kinds: Vec<_> = events.iter().map(|e| (e.kind, e.mac)).collect();
        assert_eq!(
            kinds,
            vec![
                (LeaseKind::Release, mac("00:00:00:00:00:0a")),
                (LeaseKind::Bind, mac("00:00:00:00:00:0b"))
            ]
        );
        // Disappeared after running out: an expiry at the lease end, not at `now`.
        let events = diff(std::slice::from_ref(&a), &[], 2_500);
        assert_eq!(
            (events[0].kind, events[0].start),
            (LeaseKind::Expire, 2_000)
        );
        // A lease already past its end is not bound.
        assert!(diff(&[], &[a], 2_500).is_empty());
    }
}
