//! The attribution index: "who was 10.20.3.41 at 10:42:17?".
//!
//! DHCP says which device held an address ([`IpHistory`]); RADIUS says which user was signed
//! in on a device ([`SessionHistory`]) and, when the NAS sends `Framed-IP-Address`, which device
//! held an address too. [`AttributionIndex::lookup`] joins them: the device from DHCP (or from
//! RADIUS alone when DHCP knows nothing), the user signed in on that device at that time, every
//! source that contributed, and a [`Confidence`]: high when independent sources agree on the
//! device, medium when only one source speaks, low when they disagree (both answers are given).
//!
//! A lookup is two or three hash lookups and binary searches, with no I/O and no allocation
//! beyond reference-count increments.

use std::net::IpAddr;
use std::sync::Arc;

use super::event::{AccountingEvent, LeaseEvent, SourceSet, UnixTime};
use super::ip_history::{Applied, IpHistory};
use super::mac::MacAddr;
use super::sessions::{Session, SessionHistory, DEFAULT_SESSION_TIMEOUT_SECS};

/// How much to trust an [`Attribution`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Confidence {
    /// DHCP and RADIUS name different devices for the address; see [`Attribution::conflict`].
    Low,
    /// One source (or several of one kind that cannot be cross-checked) names the device.
    Medium,
    /// At least two independent sources name the same device.
    High,
}

/// The other answer when sources disagree about which device held an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The device RADIUS (`Framed-IP-Address`) names.
    pub mac: MacAddr,
    /// The user signed in on it.
    pub user: Option<Arc<str>>,
    /// The sources that said so.
    pub sources: SourceSet,
}

/// Who was behind an address at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribution {
    /// The device, when any source names one.
    pub mac: Option<MacAddr>,
    /// True when the device's MAC is locally administered (likely randomised per network).
    pub locally_administered: bool,
    /// The device's host name (DHCP).
    pub hostname: Option<Arc<str>>,
    /// The device's DHCP client identifier.
    pub client_id: Option<Arc<str>>,
    /// Since when the device held the address.
    pub device_since: UnixTime,
    /// The user signed in on the device.
    pub user: Option<Arc<str>>,
    /// Since when that user was signed in.
    pub user_since: Option<UnixTime>,
    /// The RADIUS session id.
    pub session_id: Option<Arc<str>>,
    /// The access point / controller that reported the session.
    pub nas_ip: Option<IpAddr>,
    /// Its `NAS-Identifier`.
    pub nas_identifier: Option<Arc<str>>,
    /// The SSID.
    pub ssid: Option<Arc<str>>,
    /// Every source that contributed to this answer.
    pub sources: SourceSet,
    /// How far to trust it.
    pub confidence: Confidence,
    /// The disagreeing answer, when [`Confidence::Low`].
    pub conflict: Option<Conflict>,
}

/// Counts of what the index did with its input.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IndexStats {
    /// Lease events that opened, extended or closed an interval.
    pub leases_applied: u64,
    /// Lease events that changed nothing (including repeats of what was known).
    pub leases_ignored: u64,
    /// Accounting events that opened, extended or closed a session.
    pub accounting_applied: u64,
    /// Accounting events that changed nothing (no MAC, Stop without session, repeats, ...).
    pub accounting_ignored: u64,
}

/// The time-indexed IP -> device -> user index.
#[derive(Debug)]
pub struct AttributionIndex {
    ips: IpHistory,
    sessions: SessionHistory,
    stats: IndexStats,
}

impl Default for AttributionIndex {
    fn default() -> Self {
        Self::new()
    }
}

impl AttributionIndex {
    /// An empty index with the default 12-hour session timeout.
    pub fn new() -> Self {
        Self::with_session_timeout(DEFAULT_SESSION_TIMEOUT_SECS)
    }

    /// An empty index; RADIUS sessions without a Stop end `secs` after their last update.
    pub fn with_session_timeout(secs: UnixTime) -> Self {
        AttributionIndex {
            ips: IpHistory::default(),
            sessions: SessionHistory::new(secs),
            stats: IndexStats::default(),
        }
    }

    /// Applies a DHCP lease event.
    pub fn apply_lease(&mut self, ev: &LeaseEvent) -> Applied {
        let applied = self.ips.apply(ev);
        if matches!(applied, Applied::Ignored | Applied::Unchanged) {
            self.stats.leases_ignored += 1;
        } else {
            self.stats.leases_applied += 1;
        }
        applied
    }

    /// Applies a RADIUS accounting event.
    pub fn apply_accounting(&mut self, ev: &AccountingEvent) -> Applied {
        let applied = self.sessions.apply(ev);
        if matches!(applied, Applied::Ignored | Applied::Unchanged) {
            self.stats.accounting_ignored += 1;
        } else {
            self.stats.accounting_applied += 1;
        }
        applied
    }

    /// Who was behind `ip` at `t`; `None` when no source knows.
    pub fn lookup(&self, ip: IpAddr, t: UnixTime) -> Option<Attribution> {
        let dhcp = self.ips.at(ip, t);
        let framed = self.sessions.framed_at(ip, t);
        if dhcp.is_none() && framed.is_none() {
            return None;
        }
        let dhcp_mac = dhcp.and_then(|iv| iv.mac);
        let (mac, conflict, agree) = match (dhcp_mac, framed) {
            (Some(d), Some((f, s))) if d != f => (Some(d), Some(conflict(f, s)), false),
            (Some(d), Some(_)) => (Some(d), None, true),
            (Some(d), None) => (Some(d), None, false),
            (None, Some((f, _))) => (Some(f), None, false),
            (None, None) => (None, None, false),
        };
        let session = mac.and_then(|m| self.sessions.at(m, t));
        let mut sources = dhcp.map_or(SourceSet::EMPTY, |iv| iv.sources);
        if let Some(s) = session {
            sources = sources.union(s.sources);
        }
        let confidence = if conflict.is_some() {
            Confidence::Low
        } else if agree || dhcp.is_some_and(|iv| iv.sources.len() >= 2) {
            Confidence::High
        } else {
            Confidence::Medium
        };
        let device_since = match (dhcp, session) {
            (Some(iv), _) => iv.start,
            (None, Some(s)) => s.start,
            (None, None) => t,
        };
        Some(Attribution {
            mac,
            locally_administered: mac.is_some_and(|m| m.is_locally_administered()),
            hostname: dhcp.and_then(|iv| iv.hostname.clone()),
            client_id: dhcp.and_then(|iv| iv.client_id.clone()),
            device_since,
            user: session.and_then(|s| s.user.clone()),
            user_since: session.map(|s| s.start),
            session_id: session.and_then(|s| s.session_id.clone()),
            nas_ip: session.and_then(|s| s.nas_ip),
            nas_identifier: session.and_then(|s| s.nas_identifier.clone()),
            ssid: session.and_then(|s| s.ssid.clone()),
            sources,
            confidence,
            conflict,
        })
    }

    /// The IP -> device half.
    pub fn ips(&self) -> &IpHistory {
        &self.ips
    }

    /// The device -> user half.
    pub fn sessions(&self) -> &SessionHistory {
        &self.sessions
    }

    /// Forgets everything that ended at or before `t` (history retention).
    pub fn prune_before(&mut self, t: UnixTime) {
        self.ips.prune_before(t);
        self.sessions.prune_before(t);
    }

    /// What the index did with its input so far.
    pub fn stats(&self) -> IndexStats {
        self.stats
    }
}

fn conflict(mac: MacAddr, session: &Session) -> Conflict {
    Conflict {
        mac,
        user: session.user.clone(),
        sources: session.sources,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::event::{AcctStatus, LeaseEnd, LeaseKind, Source};

    const IP: &str = "10.20.3.41";
    const A: &str = "00:16:3e:5a:01:0a";
    const B: &str = "3a:9f:01:c2:77:10";

    fn ip() -> IpAddr {
        IP.parse().unwrap()
    }

    fn mac(s: &str) -> MacAddr {
        MacAddr::parse(s).unwrap()
    }

    fn bind(m: &str, host: &str, start: UnixTime, end: UnixTime, source: Source) -> LeaseEvent {
        LeaseEvent {
            kind: LeaseKind::Bind,
            ip: ip(),
            mac: Some(mac(m)),
            hostname: Some(host.to_owned()),
            client_id: None,
            start,
            end: LeaseEnd::At(end),
            source,
        }
    }

    fn acct(status: AcctStatus, m: &str, user: &str, t: UnixTime, framed: bool) -> AccountingEvent {
        AccountingEvent {
            status,
            user: Some(user.to_owned()),
            mac: Some(mac(m)),
            ssid: Some("SchoolWiFi".into()),
            framed_ip: framed.then(ip),
            session_id: Some(format!("{user}-{m}")),
            nas_ip: "10.0.0.2".parse().ok(),
            nas_identifier: Some("ap-hall-1".into()),
            time: t,
            source: Source::RadiusDetail,
        }
    }

    fn who(
        index: &AttributionIndex,
        t: UnixTime,
    ) -> (Option<String>, Option<String>, Option<String>) {
        match index.lookup(ip(), t) {
            None => (None, None, None),
            Some(a) => (
                a.mac.map(|m| m.to_string()),
                a.hostname.as_deref().map(str::to_owned),
                a.user.as_deref().map(str::to_owned),
            ),
        }
    }

    fn some(
        mac: &str,
        host: &str,
        user: Option<&str>,
    ) -> (Option<String>, Option<String>, Option<String>) {
        (Some(mac.into()), Some(host.into()), user.map(str::to_owned))
    }

    #[test]
    fn an_address_used_by_device_a_then_device_b() {
        let mut index = AttributionIndex::new();
        index.apply_lease(&bind(A, "alice-laptop", 1000, 1600, Source::Dnsmasq));
        index.apply_accounting(&acct(AcctStatus::Start, A, "alice", 1001, false));
        index.apply_lease(&bind(A, "alice-laptop", 1300, 1900, Source::Dnsmasq)); // renewal
        index.apply_lease(&LeaseEvent {
            kind: LeaseKind::Release,
            start: 1500,
            end: LeaseEnd::At(1500),
            ..bind(A, "alice-laptop", 0, 0, Source::Dnsmasq)
        });
        index.apply_lease(&bind(B, "bob-phone", 1700, 2300, Source::Dnsmasq));
        index.apply_accounting(&acct(AcctStatus::Start, B, "bob", 1702, false));

        assert_eq!(who(&index, 999), (None, None, None));
        assert_eq!(
            who(&index, 1000),
            some(A, "alice-laptop", None),
            "before alice signed in"
        );
        assert_eq!(who(&index, 1001), some(A, "alice-laptop", Some("alice")));
        assert_eq!(who(&index, 1499), some(A, "alice-laptop", Some("alice")));
        assert_eq!(who(&index, 1500), (None, None, None), "released");
        assert_eq!(who(&index, 1700), some(B, "bob-phone", None));
        assert_eq!(who(&index, 1800), some(B, "bob-phone", Some("bob")));
        assert_eq!(who(&index, 2300), (None, None, None), "expired");

        let a = index.lookup(ip(), 1200).unwrap();
        assert!(!a.locally_administered);
        assert_eq!(a.device_since, 1000);
        assert_eq!(
            (a.user_since, a.ssid.as_deref()),
            (Some(1001), Some("SchoolWiFi"))
        );
        assert_eq!(a.nas_identifier.as_deref(), Some("ap-hall-1"));
        assert_eq!(a.confidence, Confidence::Medium);
        assert!(a.sources.contains(Source::Dnsmasq) && a.sources.contains(Source::RadiusDetail));
        assert!(index.lookup(ip(), 1800).unwrap().locally_administered);
    }

    #[test]
    fn a_user_signs_out_and_another_signs_in_on_the_same_device() {
        let mut index = AttributionIndex::new();
        index.apply_lease(&bind(A, "shared-ipad", 0, 100_000, Source::IscDhcpd));
        index.apply_accounting(&acct(AcctStatus::Start, A, "alice", 100, false));
        index.apply_accounting(&acct(AcctStatus::Stop, A, "alice", 900, false));
        index.apply_accounting(&acct(AcctStatus::Start, A, "dave", 1000, false));
        index.apply_accounting(&acct(AcctStatus::Start, A, "erin", 2000, false)); // no Stop for dave
        assert_eq!(who(&index, 500).2.as_deref(), Some("alice"));
        assert_eq!(who(&index, 950).2, None);
        assert_eq!(who(&index, 1999).2.as_deref(), Some("dave"));
        assert_eq!(who(&index, 2000).2.as_deref(), Some("erin"));
        // erin never stops: her session times out 12 h after it started.
        assert_eq!(who(&index, 2000 + 12 * 3600 - 1).2.as_deref(), Some("erin"));
        assert_eq!(who(&index, 2000 + 12 * 3600).2, None);
        assert_eq!(
            who(&index, 2000 + 12 * 3600).0.as_deref(),
            Some(A),
            "the device is still known"
        );
    }

    #[test]
    fn agreeing_sources_raise_confidence_and_disagreeing_ones_lower_it() {
        let mut index = AttributionIndex::new();
        index.apply_lease(&bind(A, "alice-laptop", 0, 10_000, Source::Dnsmasq));
        assert_eq!(
            index.lookup(ip(), 10).unwrap().confidence,
            Confidence::Medium
        );
        // The sniffer sees the same binding.
        index.apply_lease(&bind(A, "alice-laptop", 5, 10_005, Source::DhcpSniff));
        assert_eq!(index.lookup(ip(), 10).unwrap().confidence, Confidence::High);

        // RADIUS agrees (Framed-IP on device A).
        let mut agree = AttributionIndex::new();
        agree.apply_lease(&bind(A, "alice-laptop", 0, 10_000, Source::Kea));
        agree.apply_accounting(&acct(AcctStatus::Start, A, "alice", 1, true));
        let a = agree.lookup(ip(), 10).unwrap();
        assert_eq!((a.confidence, a.conflict), (Confidence::High, None));

        // RADIUS disagrees: it says device B (bob) had the address.
        let mut disagree = AttributionIndex::new();
        disagree.apply_lease(&bind(A, "alice-laptop", 0, 10_000, Source::Kea));
        disagree.apply_accounting(&acct(AcctStatus::Start, A, "alice", 1, false));
        disagree.apply_accounting(&acct(AcctStatus::Start, B, "bob", 2, true));
        let a = disagree.lookup(ip(), 10).unwrap();
        assert_eq!(a.confidence, Confidence::Low);
        assert_eq!((a.mac, a.user.as_deref()), (Some(mac(A)), Some("alice")));
        let c = a.conflict.unwrap();
        assert_eq!((c.mac, c.user.as_deref()), (mac(B), Some("bob")));
        assert!(c.sources.contains(Source::RadiusDetail));
    }

    #[test]
    fn radius_alone_can_attribute_an_address() {
        let mut index = AttributionIndex::new();
        index.apply_accounting(&acct(AcctStatus::Start, B, "bob", 100, true));
        let a = index.lookup(ip(), 200).unwrap();
        assert_eq!(
            (a.mac, a.user.as_deref(), a.hostname),
            (Some(mac(B)), Some("bob"), None)
        );
        assert_eq!((a.device_since, a.confidence), (100, Confidence::Medium));
        index.apply_accounting(&acct(AcctStatus::Stop, B, "bob", 300, true));
        assert!(index.lookup(ip(), 300).is_none());
        assert_eq!(index.stats().accounting_applied, 2);
    }

    #[test]
    fn accounting_on_ends_sessions_and_pruning_forgets_history() {
        let mut index = AttributionIndex::with_session_timeout(600);
        index.apply_lease(&bind(A, "alice-laptop", 0, 5000, Source::Dnsmasq));
        index.apply_accounting(&acct(AcctStatus::Start, A, "alice", 10, false));
        index.apply_accounting(&acct(AcctStatus::Interim, A, "alice", 500, false));
        assert_eq!(who(&index, 1099).2.as_deref(), Some("alice"));
        let mut on = acct(AcctStatus::AccountingOn, A, "", 700, false);
        on.mac = None;
        on.user = None;
        index.apply_accounting(&on);
        assert_eq!(who(&index, 699).2.as_deref(), Some("alice"));
        assert_eq!(who(&index, 700).2, None);
        index.prune_before(5000);
        assert!(index.lookup(ip(), 10).is_none());
        assert_eq!(index.ips().intervals() + index.sessions().sessions(), 0);
    }

    #[test]
    fn real_fixtures_end_to_end() {
        use crate::identity::{dnsmasq, radius_detail::DetailParser};
        let (leases, _) = dnsmasq::parse_snapshot(include_str!(
            "../../tests/fixtures/identity/dnsmasq-1.leases"
        ));
        let mut index = AttributionIndex::new();
        for ev in dnsmasq::diff(&[], &leases, 1_795_438_000) {
            index.apply_lease(&ev);
        }
        let events =
            DetailParser::new().feed(include_str!("../../tests/fixtures/identity/radius-detail"));
        for ev in &events {
            index.apply_accounting(ev);
        }
        let alice_ip: IpAddr = "10.200.1.130".parse().unwrap();
        let a = index.lookup(alice_ip, 1_795_438_001).unwrap();
        assert_eq!(a.hostname.as_deref(), Some("alice-laptop"));
        assert_eq!(a.user, None, "the RADIUS fixture's devices are other MACs");
        // The detail file's own Framed-IP attributes 10.20.0.57 to alice, then to dave.
        let radius_ip: IpAddr = "10.20.0.57".parse().unwrap();
        let first = events[0].time;
        let a = index.lookup(radius_ip, first).unwrap();
        assert_eq!(
            (a.user.as_deref(), a.ssid.as_deref()),
            (Some("alice"), Some("SchoolWiFi"))
        );
        let dave = events[5].time;
        assert_eq!(
            index.lookup(radius_ip, dave).unwrap().user.as_deref(),
            Some("dave.zoë")
        );
        assert_eq!(index.stats().accounting_ignored, 0);
    }
}
