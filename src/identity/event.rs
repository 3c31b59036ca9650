//! The event model every identity source produces and the attribution index consumes.
//!
//! Times are Unix seconds (`i64`, UTC) throughout: every source gives whole seconds, they sort
//! and subtract cheaply, and they serialise without ambiguity.

use std::fmt;
use std::net::IpAddr;

use super::mac::MacAddr;

/// Unix time in whole seconds, UTC.
pub type UnixTime = i64;

/// Where an event came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// A dnsmasq leases file.
    Dnsmasq,
    /// An ISC dhcpd `dhcpd.leases` file.
    IscDhcpd,
    /// A Kea DHCPv4 memfile (`kea-leases4.csv`).
    Kea,
    /// DHCP packets seen on the wire.
    DhcpSniff,
    /// A FreeRADIUS `detail` file.
    RadiusDetail,
    /// An RFC 2866 Accounting-Request received by gatewatch itself.
    RadiusPacket,
}

impl Source {
    /// Every source, in [`SourceSet`] bit order.
    pub const ALL: [Source; 6] = [
        Source::Dnsmasq,
        Source::IscDhcpd,
        Source::Kea,
        Source::DhcpSniff,
        Source::RadiusDetail,
        Source::RadiusPacket,
    ];

    /// True for the DHCP sources (which bind IP addresses to MACs).
    pub fn is_dhcp(self) -> bool {
        matches!(
            self,
            Source::Dnsmasq | Source::IscDhcpd | Source::Kea | Source::DhcpSniff
        )
    }

    /// A short stable name, as used in serde and logs.
    pub fn name(self) -> &'static str {
        match self {
            Source::Dnsmasq => "dnsmasq",
            Source::IscDhcpd => "isc-dhcpd",
            Source::Kea => "kea",
            Source::DhcpSniff => "dhcp-sniff",
            Source::RadiusDetail => "radius-detail",
            Source::RadiusPacket => "radius-packet",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A small set of [`Source`]s (one bit each).
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct SourceSet(u8);

impl SourceSet {
    /// The empty set.
    pub const EMPTY: SourceSet = SourceSet(0);

    /// A set holding one source.
    pub fn of(source: Source) -> Self {
        SourceSet(source.bit())
    }

    /// Adds a source.
    pub fn insert(&mut self, source: Source) {
        self.0 |= source.bit();
    }

    /// The union of two sets.
    pub fn union(self, other: SourceSet) -> SourceSet {
        SourceSet(self.0 | other.0)
    }

    /// Whether `source` is in the set.
    pub fn contains(self, source: Source) -> bool {
        self.0 & source.bit() != 0
    }

    /// Number of sources in the set.
    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// True when no source is in the set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The sources in the set, in [`Source::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Source> {
        Source::ALL.into_iter().filter(move |s| self.contains(*s))
    }
}

impl fmt::Debug for SourceSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

/// What happened to a DHCP lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LeaseKind {
    /// The address was bound (or the binding renewed) to the device.
    Bind,
    /// The client gave the address back (DHCPRELEASE/DECLINE, or the server freed it).
    Release,
    /// The lease ran out.
    Expire,
}

/// When a lease ends.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum LeaseEnd {
    /// At this time.
    At(UnixTime),
    /// Never (an infinite lease).
    Never,
}

impl LeaseEnd {
    /// The end as a time, with [`LeaseEnd::Never`] as `UnixTime::MAX`.
    pub fn as_time(self) -> UnixTime {
        match self {
            LeaseEnd::At(t) => t,
            LeaseEnd::Never => UnixTime::MAX,
        }
    }
}

/// One change to an IP -> device binding, from any DHCP source.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct LeaseEvent {
    /// Bind, release or expiry.
    pub kind: LeaseKind,
    /// The leased address.
    pub ip: IpAddr,
    /// The device's hardware address, when the source names one (DHCPv6 leases may not).
    pub mac: Option<MacAddr>,
    /// The host name the client sent (option 12) or the server assigned.
    pub hostname: Option<String>,
    /// The client identifier (option 61, or the DHCPv6 DUID) as lowercase colon-separated hex.
    pub client_id: Option<String>,
    /// For a bind, when the binding (or this renewal) began; for a release or expiry, when the
    /// binding ended.
    pub start: UnixTime,
    /// For a bind, when the lease runs out; for a release or expiry, `At(start)`.
    pub end: LeaseEnd,
    /// Which source said so.
    pub source: Source,
}

/// The `Acct-Status-Type` of an accounting record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AcctStatus {
    /// A session began (1).
    Start,
    /// A session is still going (3, Interim-Update).
    Interim,
    /// A session ended (2).
    Stop,
    /// The NAS (re)started: all its earlier sessions are over (7).
    AccountingOn,
    /// The NAS is shutting down: all its sessions are over (8).
    AccountingOff,
}

impl AcctStatus {
    /// From the RFC 2866 attribute value; `None` for types gatewatch does not use.
    pub fn from_code(code: u32) -> Option<Self> {
        match code {
            1 => Some(AcctStatus::Start),
            2 => Some(AcctStatus::Stop),
            3 => Some(AcctStatus::Interim),
            7 => Some(AcctStatus::AccountingOn),
            8 => Some(AcctStatus::AccountingOff),
            _ => None,
        }
    }

    /// From the FreeRADIUS dictionary name (as written in detail files).
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "Start" => Some(AcctStatus::Start),
            "Stop" => Some(AcctStatus::Stop),
            "Interim-Update" | "Alive" => Some(AcctStatus::Interim),
            "Accounting-On" => Some(AcctStatus::AccountingOn),
            "Accounting-Off" => Some(AcctStatus::AccountingOff),
            other => other.parse::<u32>().ok().and_then(Self::from_code),
        }
    }
}

/// One RADIUS accounting record, from a detail file or a packet.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct AccountingEvent {
    /// Start, Interim, Stop, Accounting-On or Accounting-Off.
    pub status: AcctStatus,
    /// `User-Name` as the school issued it.
    pub user: Option<String>,
    /// The device, from `Calling-Station-Id`.
    pub mac: Option<MacAddr>,
    /// The SSID: the suffix of `Called-Station-Id` (RFC 3580), else of `Calling-Station-Id`.
    pub ssid: Option<String>,
    /// `Framed-IP-Address`, when the NAS knows it (many access points omit it).
    pub framed_ip: Option<IpAddr>,
    /// `Acct-Session-Id`.
    pub session_id: Option<String>,
    /// `NAS-IP-Address`.
    pub nas_ip: Option<IpAddr>,
    /// `NAS-Identifier`.
    pub nas_identifier: Option<String>,
    /// When the event happened: receipt time minus `Acct-Delay-Time`.
    pub time: UnixTime,
    /// Which source said so.
    pub source: Source,
}

/// Any identity event: what every source produces and the attribution service consumes (and
/// persists, one per line, in its event log).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IdentityEvent {
    /// A DHCP lease change.
    Lease(LeaseEvent),
    /// A RADIUS accounting record.
    Accounting(AccountingEvent),
}

impl IdentityEvent {
    /// Which source said so.
    pub fn source(&self) -> Source {
        match self {
            IdentityEvent::Lease(e) => e.source,
            IdentityEvent::Accounting(e) => e.source,
        }
    }

    /// The last moment this event can matter for a lookup, given the session timeout: a lease
    /// bind matters until its end, a release or expiry at its time, an accounting record until
    /// its time plus the timeout. Retention keeps events whose horizon is after the cut-off.
    pub fn horizon(&self, session_timeout: UnixTime) -> UnixTime {
        match self {
            IdentityEvent::Lease(e) => match e.kind {
                LeaseKind::Bind => e.end.as_time(),
                LeaseKind::Release | LeaseKind::Expire => e.start,
            },
            IdentityEvent::Accounting(e) => e.time.saturating_add(session_timeout),
        }
    }
}

impl From<LeaseEvent> for IdentityEvent {
    fn from(e: LeaseEvent) -> Self {
        IdentityEvent::Lease(e)
    }
}

impl From<AccountingEvent> for IdentityEvent {
    fn from(e: AccountingEvent) -> Self {
        IdentityEvent::Accounting(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_set_holds_each_source_once() {
        let mut set = SourceSet::EMPTY;
        assert!(set.is_empty());
        set.insert(Source::Kea);
        set.insert(Source::RadiusPacket);
        set.insert(Source::Kea);
        assert_eq!(set.len(), 2);
        assert!(set.contains(Source::Kea) && !set.contains(Source::Dnsmasq));
        assert_eq!(
            set.iter().collect::<Vec<_>>(),
            vec![Source::Kea, Source::RadiusPacket]
        );
        let all = Source::ALL
            .iter()
            .fold(SourceSet::EMPTY, |s, x| s.union(SourceSet::of(*x)));
        assert_eq!(all.len(), Source::ALL.len());
    }

    #[test]
    fn status_names_and_codes_agree() {
        for (code, name) in [
            (1, "Start"),
            (2, "Stop"),
            (3, "Interim-Update"),
            (7, "Accounting-On"),
            (8, "Accounting-Off"),
        ] {
            assert_eq!(AcctStatus::from_code(code), AcctStatus::from_name(name));
            assert!(AcctStatus::from_code(code).is_some());
        }
        assert_eq!(AcctStatus::from_code(15), None);
        assert_eq!(AcctStatus::from_name("Failed"), None);
        assert_eq!(AcctStatus::from_name("3"), Some(AcctStatus::Interim));
    }

    #[test]
    fn the_event_log_format_is_stable() {
        // The persisted form: changing it breaks replay of existing logs.
        let lease = IdentityEvent::Lease(LeaseEvent {
            kind: LeaseKind::Bind,
            ip: "10.0.0.1".parse().unwrap(),
            mac: MacAddr::parse("AA-BB-CC-DD-EE-FF").ok(),
            hostname: Some("zoë".into()),
            client_id: None,
            start: 1,
            end: LeaseEnd::At(2),
            source: Source::Dnsmasq,
        });
        let json = serde_json::to_string(&lease).unwrap();
        assert_eq!(
            json,
            r#"{"lease":{"kind":"bind","ip":"10.0.0.1","mac":"aa:bb:cc:dd:ee:ff","hostname":"zoë","client_id":null,"start":1,"end":{"at":2},"source":"dnsmasq"}}"#
        );
        let acct = r#"{"accounting":{"status":"stop","user":"alice","mac":null,"ssid":null,"framed_ip":"10.20.0.57","session_id":"1","nas_ip":null,"nas_identifier":null,"time":5,"source":"radius-packet"}}"#;
        let ev: IdentityEvent = serde_json::from_str(acct).unwrap();
        assert_eq!(ev.source(), Source::RadiusPacket);
        assert_eq!(ev.horizon(100), 105);
        assert_eq!(serde_json::to_string(&ev).unwrap(), acct);
        assert_eq!(lease.horizon(100), 2);
    }

    #[test]
    fn never_sorts_after_every_time() {
        assert!(LeaseEnd::Never > LeaseEnd::At(UnixTime::MAX - 1));
        assert_eq!(LeaseEnd::Never.as_time(), UnixTime::MAX);
        assert_eq!(Source::DhcpSniff.to_string(), "dhcp-sniff");
        assert!(Source::Kea.is_dhcp() && !Source::RadiusDetail.is_dhcp());
    }
}
