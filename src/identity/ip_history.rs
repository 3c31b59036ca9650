//! IP address -> device history built from DHCP lease events.
//!
//! Each address has a list of non-overlapping half-open intervals `[start, end)`, sorted by
//! start, so "who held 10.20.3.41 at t?" is one hash lookup and one binary search. A bind by
//! the device already holding the address (a renewal, or a second source reporting the same
//! lease) extends its interval; a bind by another device closes the previous holder's interval
//! at the new bind time; a release or expiry closes the holder's interval at that time.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use super::event::{LeaseEvent, LeaseKind, SourceSet, UnixTime};
use super::mac::MacAddr;

/// One device's tenure of one address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpInterval {
    /// First second of the binding.
    pub start: UnixTime,
    /// First second after it (`UnixTime::MAX` for an infinite lease).
    pub end: UnixTime,
    /// The device.
    pub mac: Option<MacAddr>,
    /// Its latest host name.
    pub hostname: Option<Arc<str>>,
    /// Its client identifier.
    pub client_id: Option<Arc<str>>,
    /// The DHCP sources that reported this binding.
    pub sources: SourceSet,
}

impl IpInterval {
    fn same_device(&self, ev: &LeaseEvent) -> bool {
        match (self.mac, ev.mac) {
            (Some(a), Some(b)) => a == b,
            // Without MACs (some DHCPv6 leases), the client identifier names the device.
            _ => self.client_id.as_deref() == ev.client_id.as_deref() && self.mac == ev.mac,
        }
    }

    fn contains(&self, t: UnixTime) -> bool {
        self.start <= t && t < self.end
    }
}

/// What applying an event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// A new interval was opened.
    Opened,
    /// An existing interval was extended or corroborated.
    Extended,
    /// The event repeated what was already known (a re-read file, a retransmission): nothing
    /// changed, so it need not be stored again.
    Unchanged,
    /// An interval was closed.
    Closed,
    /// The event changed nothing (already ended, unknown address, or another device's
    /// release arriving after the address moved on).
    Ignored,
}

/// All addresses' histories.
#[derive(Debug, Default)]
pub struct IpHistory {
    map: HashMap<IpAddr, Vec<IpInterval>>,
}

impl IpHistory {
    /// Applies one lease event.
    pub fn apply(&mut self, ev: &LeaseEvent) -> Applied {
        match ev.kind {
            LeaseKind::Bind => self.bind(ev),
            LeaseKind::Release | LeaseKind::Expire => self.unbind(ev),
        }
    }

    fn bind(&mut self, ev: &LeaseEvent) -> Applied {
        let end = ev.end.as_time();
        if end <= ev.start {
            return Applied::Ignored;
        }
        let list = self.map.entry(ev.ip).or_default();
        let idx = list.partition_point(|iv| iv.start <= ev.start);
        let next_start = list.get(idx).map_or(UnixTime::MAX, |iv| iv.start);
        if let Some(prev) = idx.checked_sub(1).and_then(|i| list.get_mut(i)) {
            if prev.end >= ev.start && prev.same_device(ev) {
                let before = (prev.end, prev.sources);
                let mut changed = false;
                prev.end = prev.end.max(end).min(next_start);
                if let Some(h) = &ev.hostname {
                    if prev.hostname.as_deref() != Some(h) {
                        prev.hostname = Some(Arc::from(h.as_str()));
                        changed = true;
                    }
                }
                if prev.client_id.is_none() && ev.client_id.is_some() {
                    prev.client_id = ev.client_id.as_deref().map(Arc::from);
                    changed = true;
                }
                prev.sources.insert(ev.source);
                return if changed || before != (prev.end, prev.sources) {
                    Applied::Extended
                } else {
                    Applied::Unchanged
                };
            }
            // Another device (or the same one after a gap): the previous tenure ends here.
            prev.end = prev.end.min(ev.start);
        }
        let interval = IpInterval {
            start: ev.start,
            end: end.min(next_start),
            mac: ev.mac,
            hostname: ev.hostname.as_deref().map(Arc::from),
            client_id: ev.client_id.as_deref().map(Arc::from),
            sources: SourceSet::of(ev.source),
        };
        // A previous tenure that began at this very second is replaced, not kept empty.
        match idx.checked_sub(1) {
            Some(i) if list[i].end <= list[i].start => list[i] = interval,
            _ => list.insert(idx, interval),
        }
        Applied::Opened
    }

    fn unbind(&mut self, ev: &LeaseEvent) -> Applied {
        let t = ev.start;
        let Some(list) = self.map.get_mut(&ev.ip) else {
            return Applied::Ignored;
        };
        let idx = list.partition_point(|iv| iv.start <= t);
        let Some(i) = idx.checked_sub(1) else {
            return Applied::Ignored;
        };
        let iv = &mut list[i];
        let stale = matches!((iv.mac, ev.mac), (Some(a), Some(b)) if a != b);
        if stale || !iv.contains(t) {
            return Applied::Ignored;
        }
        iv.end = t;
        if iv.end <= iv.start {
            list.remove(i);
            if list.is_empty() {
                self.map.remove(&ev.ip);
            }
        }
        Applied::Closed
    }

    /// The interval holding `ip` at `t`.
    pub fn at(&self, ip: IpAddr, t: UnixTime) -> Option<&IpInterval> {
        let list = self.map.get(&ip)?;
        let idx = list.partition_point(|iv| iv.start <= t);
        list.get(idx.checked_sub(1)?).filter(|iv| t < iv.end)
    }

    /// Every address held at `t`, with the interval holding it (in no particular order).
    pub fn live_at(&self, t: UnixTime) -> impl Iterator<Item = (IpAddr, &IpInterval)> + '_ {
        self.map.iter().filter_map(move |(ip, list)| {
            let idx = list.partition_point(|iv| iv.start <= t);
            let iv = list.get(idx.checked_sub(1)?)?;
            (t < iv.end).then_some((*ip, iv))
        })
    }

    /// Every interval of `ip`, oldest first.
    pub fn history(&self, ip: IpAddr) -> &[IpInterval] {
        self.map.get(&ip).map_or(&[], Vec::as_slice)
    }

    /// Forgets every interval that ended at or before `t`.
    pub fn prune_before(&mut self, t: UnixTime) {
        self.map.retain(|_, list| {
            list.retain(|iv| iv.end > t);
            !list.is_empty()
        });
    }

    /// Number of addresses with history.
    pub fn addresses(&self) -> usize {
        self.map.len()
    }

    /// Number of intervals held.
    pub fn intervals(&self) -> usize {
        self.map.values().map(Vec::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::event::{LeaseEnd, Source};

    const IP: &str = "10.20.3.41";

    fn lease(kind: LeaseKind, mac: &str, start: UnixTime, end: UnixTime) -> LeaseEvent {
        LeaseEvent {
            kind,
            ip: IP.parse().unwrap(),
            mac: MacAddr::parse(mac).ok(),
            hostname: Some(format!("host-{}", &mac[mac.len() - 2..])),
            client_id: None,
            start,
            end: LeaseEnd::At(end),
            source: Source::Dnsmasq,
        }
    }

    fn holder(h: &IpHistory, t: UnixTime) -> Option<String> {
        h.at(IP.parse().unwrap(), t)
            .and_then(|iv| iv.mac)
            .map(|m| m.to_string())
    }

    const A: &str = "00:00:00:00:00:0a";
    const B: &str = "00:00:00:00:00:0b";

    #[test]
    fn reuse_by_another_device_closes_the_first_tenure() {
        let mut h = IpHistory::default();
        assert_eq!(
            h.apply(&lease(LeaseKind::Bind, A, 100, 700)),
            Applied::Opened
        );
        assert_eq!(
            h.apply(&lease(LeaseKind::Bind, B, 400, 1000)),
            Applied::Opened
        );
        assert_eq!(holder(&h, 99), None);
        assert_eq!(holder(&h, 100).as_deref(), Some(A));
        assert_eq!(holder(&h, 399).as_deref(), Some(A));
        assert_eq!(holder(&h, 400).as_deref(), Some(B));
        assert_eq!(holder(&h, 999).as_deref(), Some(B));
        assert_eq!(holder(&h, 1000), None, "B's lease expired");
        // A's late release (after B took the address) changes nothing.
        assert_eq!(
            h.apply(&lease(LeaseKind::Release, A, 500, 500)),
            Applied::Ignored
        );
        assert_eq!(holder(&h, 500).as_deref(), Some(B));
    }

    #[test]
    fn renewals_extend_and_releases_close() {
        let mut h = IpHistory::default();
        h.apply(&lease(LeaseKind::Bind, A, 100, 700));
        let mut renewal = lease(LeaseKind::Bind, A, 400, 1000);
        renewal.source = Source::DhcpSniff;
        renewal.hostname = Some("renamed".into());
        assert_eq!(h.apply(&renewal), Applied::Extended);
        assert_eq!(
            h.apply(&renewal),
            Applied::Unchanged,
            "the same renewal again"
        );
        assert_eq!(h.intervals(), 1);
        let iv = h.at(IP.parse().unwrap(), 999).unwrap();
        assert_eq!((iv.start, iv.end, iv.sources.len()), (100, 1000, 2));
        assert_eq!(iv.hostname.as_deref(), Some("renamed"));
        assert_eq!(
            h.apply(&lease(LeaseKind::Release, A, 800, 800)),
            Applied::Closed
        );
        assert_eq!(holder(&h, 799).as_deref(), Some(A));
        assert_eq!(holder(&h, 800), None);
        // The same device binding again after a gap is a new tenure.
        assert_eq!(
            h.apply(&lease(LeaseKind::Bind, A, 900, 1500)),
            Applied::Opened
        );
        assert_eq!(holder(&h, 850), None);
        assert_eq!(h.history(IP.parse().unwrap()).len(), 2);
    }

    #[test]
    fn out_of_order_binds_keep_intervals_disjoint() {
        let mut h = IpHistory::default();
        h.apply(&lease(LeaseKind::Bind, B, 500, 1000));
        h.apply(&lease(LeaseKind::Bind, A, 100, 800)); // arrives late
        assert_eq!(holder(&h, 499).as_deref(), Some(A));
        assert_eq!(holder(&h, 500).as_deref(), Some(B));
        // Two sources disagreeing at the same second: the later report wins, no empty interval.
        h.apply(&lease(LeaseKind::Bind, A, 500, 600));
        assert_eq!(holder(&h, 500).as_deref(), Some(A));
        let list = h.history(IP.parse().unwrap());
        assert!(list
            .windows(2)
            .all(|w| w[0].end <= w[1].start && w[0].start < w[0].end));
    }

    #[test]
    fn expiry_releases_at_bind_time_and_pruning() {
        let mut h = IpHistory::default();
        assert_eq!(
            h.apply(&lease(LeaseKind::Bind, A, 100, 100)),
            Applied::Ignored
        );
        h.apply(&lease(LeaseKind::Bind, A, 100, 700));
        assert_eq!(
            h.apply(&lease(LeaseKind::Expire, A, 700, 700)),
            Applied::Ignored,
            "already over"
        );
        assert_eq!(
            h.apply(&lease(LeaseKind::Release, A, 100, 100)),
            Applied::Closed
        );
        assert_eq!(
            h.addresses(),
            0,
            "an interval released at its start is removed"
        );
        h.apply(&lease(LeaseKind::Bind, A, 100, 700));
        h.apply(&lease(LeaseKind::Bind, B, 700, 900));
        let mut forever = lease(LeaseKind::Bind, A, 900, 0);
        forever.end = LeaseEnd::Never;
        h.apply(&forever);
        h.prune_before(700);
        assert_eq!(h.intervals(), 2);
        h.prune_before(i64::MAX - 1);
        assert_eq!(holder(&h, 1_000_000).as_deref(), Some(A));
        assert_eq!(
            h.apply(&lease(LeaseKind::Release, A, 50, 50)),
            Applied::Ignored
        );
    }
}
