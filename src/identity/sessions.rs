//! MAC -> user history built from RADIUS accounting events.
//!
//! Each device has a list of non-overlapping sessions `[start, end)` sorted by start. A Start
//! opens a session (closing whatever session the device had: another user signing in on the
//! same device ends the previous user's session); an Interim-Update extends it; a Stop closes
//! it. A session whose Stop never arrives ends `timeout` seconds after its last Start or
//! Interim-Update. Accounting-On/Off from a NAS closes every session open on that NAS.
//! Sessions that carry a `Framed-IP-Address` are also indexed by that address, so RADIUS can
//! say which device held an IP independently of DHCP.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;

use super::event::{AccountingEvent, AcctStatus, SourceSet, UnixTime};
use super::ip_history::Applied;
use super::mac::MacAddr;

/// The default session timeout: 12 hours after the last Start/Interim-Update.
pub const DEFAULT_SESSION_TIMEOUT_SECS: UnixTime = 12 * 3600;

/// One user's session on one device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// When it began.
    pub start: UnixTime,
    /// When it ended, or will be assumed to have ended (last update + timeout) if still open.
    pub end: UnixTime,
    /// False once a Stop (or Accounting-On/Off, or another session) closed it.
    pub open: bool,
    /// `User-Name`.
    pub user: Option<Arc<str>>,
    /// `Acct-Session-Id`.
    pub session_id: Option<Arc<str>>,
    /// `NAS-IP-Address`.
    pub nas_ip: Option<IpAddr>,
    /// `NAS-Identifier`.
    pub nas_identifier: Option<Arc<str>>,
    /// The SSID.
    pub ssid: Option<Arc<str>>,
    /// The latest `Framed-IP-Address`.
    pub framed_ip: Option<IpAddr>,
    /// The RADIUS sources that reported it.
    pub sources: SourceSet,
}

impl Session {
    /// Whether `ev` belongs to this session: same `Acct-Session-Id` when both have one, else
    /// the same user.
    fn matches(&self, ev: &AccountingEvent) -> bool {
        match (&self.session_id, &ev.session_id) {
            (Some(a), Some(b)) => **a == **b && self.user.as_deref() == ev.user.as_deref(),
            _ => self.user.as_deref() == ev.user.as_deref(),
        }
    }

    fn on_nas(&self, ev: &AccountingEvent) -> bool {
        let ip = match (self.nas_ip, ev.nas_ip) {
            (Some(a), Some(b)) => Some(a == b),
            _ => None,
        };
        let id = match (&self.nas_identifier, &ev.nas_identifier) {
            (Some(a), Some(b)) => Some(**a == **b),
            _ => None,
        };
        match (ip, id) {
            (None, None) => false,
            (ip, id) => ip.unwrap_or(true) && id.unwrap_or(true),
        }
    }

    /// Merges what `ev` says into the session; true when anything changed.
    fn update(&mut self, ev: &AccountingEvent, names: &mut Names) -> bool {
        let mut changed = !self.sources.contains(ev.source);
        self.sources.insert(ev.source);
        if ev.framed_ip.is_some() && self.framed_ip != ev.framed_ip {
            self.framed_ip = ev.framed_ip;
            changed = true;
        }
        if let Some(ssid) = &ev.ssid {
            if self.ssid.as_deref() != Some(ssid) {
                self.ssid = Some(names.get(ssid));
                changed = true;
            }
        }
        if self.nas_ip.is_none() && ev.nas_ip.is_some() {
            self.nas_ip = ev.nas_ip;
            changed = true;
        }
        if self.nas_identifier.is_none() && ev.nas_identifier.is_some() {
            self.nas_identifier = ev.nas_identifier.as_deref().map(|n| names.get(n));
            changed = true;
        }
        changed
    }
}

/// Shares one allocation per distinct SSID and NAS name (a school has a handful), which saves
/// memory and keeps them in cache for lookups.
#[derive(Debug, Default)]
struct Names(HashSet<Arc<str>>);

impl Names {
    /// At most this many distinct names are shared; beyond that (garbage input) they are not.
    const MAX: usize = 4096;

    fn get(&mut self, s: &str) -> Arc<str> {
        if let Some(a) = self.0.get(s) {
            return a.clone();
        }
        let a: Arc<str> = Arc::from(s);
        if self.0.len() < Self::MAX {
            self.0.insert(a.clone());
        }
        a
    }
}

/// Where a framed IP was seen: from `start`, the device `mac` reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FramedRef {
    start: UnixTime,
    mac: MacAddr,
}

/// All devices' session histories.
#[derive(Debug)]
pub struct SessionHistory {
    timeout: UnixTime,
    macs: HashMap<MacAddr, Vec<Session>>,
    names: Names,
    framed: HashMap<IpAddr, Vec<FramedRef>>,
}

impl Default for SessionHistory {
    fn default() -> Self {
        Self::new(DEFAULT_SESSION_TIMEOUT_SECS)
    }
}

impl SessionHistory {
    /// An empty history; sessions without a Stop end `timeout_secs` after their last update.
    pub fn new(timeout_secs: UnixTime) -> Self {
        SessionHistory {
            timeout: timeout_secs.max(1),
            macs: HashMap::new(),
            names: Names::default(),
            framed: HashMap::new(),
        }
    }

    /// Applies one accounting event.
    pub fn apply(&mut self, ev: &AccountingEvent) -> Applied {
        let applied = match (ev.status, ev.mac) {
            (AcctStatus::AccountingOn | AcctStatus::AccountingOff, _) => self.close_nas(ev),
            (_, None) => Applied::Ignored,
            (AcctStatus::Start, Some(mac)) => self.start(mac, ev),
            (AcctStatus::Interim, Some(mac)) => self.interim(mac, ev),
            (AcctStatus::Stop, Some(mac)) => self.stop(mac, ev),
        };
        if let (Some(ip), Some(mac), true) = (ev.framed_ip, ev.mac, applied != Applied::Ignored) {
            let start = self.at(mac, ev.time).map_or(ev.time, |s| s.start);
            if self.note_framed(ip, mac, start) && applied == Applied::Unchanged {
                return Applied::Extended;
            }
        }
        applied
    }

    fn new_session(ev: &AccountingEvent, end: UnixTime, names: &mut Names) -> Session {
        Session {
            start: ev.time,
            end,
            open: true,
            user: ev.user.as_deref().map(Arc::from),
            session_id: ev.session_id.as_deref().map(Arc::from),
            nas_ip: ev.nas_ip,
            nas_identifier: ev.nas_identifier.as_deref().map(|n| names.get(n)),
            ssid: ev.ssid.as_deref().map(|n| names.get(n)),
            framed_ip: ev.framed_ip,
            sources: SourceSet::of(ev.source),
        }
    }

    /// Opens a session at `ev.time` (closing the one before it) unless `ev` refreshes the
    /// session already open.
    fn open(&mut self, mac: MacAddr, ev: &AccountingEvent, resume: bool) -> Applied {
        let t = ev.time;
        let until = t.saturating_add(self.timeout);
        let list = self.macs.entry(mac).or_default();
        let idx = list.partition_point(|s| s.start <= t);
        let next_start = list.get(idx).map_or(UnixTime::MAX, |s| s.start);
        if let Some(prev) = idx.checked_sub(1).and_then(|i| list.get_mut(i)) {
            let live = t < prev.end || (resume && prev.open);
            if live && prev.open && prev.matches(ev) {
                let end = prev.end.max(until).min(next_start);
                let extended = end != prev.end;
                prev.end = end;
                let updated = prev.update(ev, &mut self.names);
                return if extended || updated {
                    Applied::Extended
                } else {
                    Applied::Unchanged
                };
            }
            if prev.end > t {
                prev.end = t;
                prev.open = false;
            }
        }
        let session = Self::new_session(ev, until.min(next_start), &mut self.names);
        match idx.checked_sub(1) {
            Some(i) if list[i].end <= list[i].start => list[i] = session,
            _ => list.insert(idx, session),
        }
        Applied::Opened
    }

    fn start(&mut self, mac: MacAddr, ev: &AccountingEvent) -> Applied {
        self.open(mac, ev, false)
    }

    /// An Interim-Update proves an open session went on, even past its timeout.
    fn interim(&mut self, mac: MacAddr, ev: &AccountingEvent) -> Applied {
        self.open(mac, ev, true)
    }

    fn stop(&mut self, mac: MacAddr, ev: &AccountingEvent) -> Applied {
        let t = ev.time;
        let Some(list) = self.macs.get_mut(&mac) else {
            return Applied::Ignored;
        };
        let idx = list.partition_point(|s| s.start <= t);
        let next_start = list.get(idx).map_or(UnixTime::MAX, |s| s.start);
        let Some(session) = idx.checked_sub(1).and_then(|i| list.get_mut(i)) else {
            return Applied::Ignored;
        };
        if !session.open || !session.matches(ev) {
            return Applied::Ignored;
        }
        // The Stop proves the session lasted until `t`, even past its timeout.
        session.end = t.min(next_start).max(session.start);
        session.open = false;
        let _ = session.update(ev, &mut self.names);
        Applied::Closed
    }

    fn close_nas(&mut self, ev: &AccountingEvent) -> Applied {
        let t = ev.time;
        let mut closed = false;
        for list in self.macs.values_mut() {
            let idx = list.partition_point(|s| s.start <= t);
            if let Some(s) = idx.checked_sub(1).and_then(|i| list.get_mut(i)) {
                if s.open && t < s.end && s.on_nas(ev) {
                    s.end = t;
                    s.open = false;
                    closed = true;
                }
            }
        }
        if closed {
            self.macs
                .values_mut()
                .for_each(|l| l.retain(|s| s.start < s.end));
            self.macs.retain(|_, l| !l.is_empty());
            Applied::Closed
        } else {
            Applied::Ignored
        }
    }

    /// Records that `mac` reported `ip` from `start`; false when that was already known.
    fn note_framed(&mut self, ip: IpAddr, mac: MacAddr, start: UnixTime) -> bool {
        let refs = self.framed.entry(ip).or_default();
        let idx = refs.partition_point(|r| r.start <= start);
        if idx > 0 && refs[idx - 1].mac == mac {
            return false; // already known from an earlier update
        }
        refs.insert(idx, FramedRef { start, mac });
        true
    }

    /// The session on `mac` at `t`.
    pub fn at(&self, mac: MacAddr, t: UnixTime) -> Option<&Session> {
        let list = self.macs.get(&mac)?;
        let idx = list.partition_point(|s| s.start <= t);
        list.get(idx.checked_sub(1)?).filter(|s| t < s.end)
    }

    /// The device and session that RADIUS says held `ip` at `t` (via `Framed-IP-Address`).
    pub fn framed_at(&self, ip: IpAddr, t: UnixTime) -> Option<(MacAddr, &Session)> {
        let refs = self.framed.get(&ip)?;
        let idx = refs.partition_point(|r| r.start <= t);
        let r = refs.get(idx.checked_sub(1)?)?;
        let session = self.at(r.mac, t)?;
        (session.framed_ip == Some(ip)).then_some((r.mac, session))
    }

    /// Every address RADIUS says is held at `t` (via `Framed-IP-Address`), with its device and
    /// session (in no particular order).
    pub fn framed_live_at(
        &self,
        t: UnixTime,
    ) -> impl Iterator<Item = (IpAddr, MacAddr, &Session)> + '_ {
        self.framed
            .keys()
            .filter_map(move |ip| self.framed_at(*ip, t).map(|(mac, s)| (*ip, mac, s)))
    }

    /// Every session of `mac`, oldest first.
    pub fn history(&self, mac: MacAddr) -> &[Session] {
        self.macs.get(&mac).map_or(&[], Vec::as_slice)
    }

    /// Forgets every session that ended at or before `t`.
    pub fn prune_before(&mut self, t: UnixTime) {
        self.macs.retain(|_, list| {
            list.retain(|s| s.end > t);
            !list.is_empty()
        });
        let macs = &self.macs;
        self.framed.retain(|_, refs| {
            // A reference matters while the next one starts after `t` (or there is no next).
            let keep: Vec<bool> = (0..refs.len())
                .map(|i| {
                    refs.get(i + 1).is_none_or(|n| n.start > t) && macs.contains_key(&refs[i].mac)
                })
                .collect();
            let mut k = keep.into_iter();
            refs.retain(|_| k.next().unwrap_or(false));
            !refs.is_empty()
        });
    }

    /// Number of devices with sessions.
    pub fn devices(&self) -> usize {
        self.macs.len()
    }

    /// Number of sessions held.
    pub fn sessions(&self) -> usize {
        self.macs.values().map(Vec::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::event::Source;

    const MAC: &str = "aa:bb:cc:dd:ee:ff";

    fn acct(status: AcctStatus, user: &str, session: &str, time: UnixTime) -> AccountingEvent {
        AccountingEvent {
            status,
            user: Some(user.to_owned()),
            mac: MacAddr::parse(MAC).ok(),
            ssid: Some("SchoolWiFi".into()),
            framed_ip: None,
            session_id: Some(session.to_owned()),
            nas_ip: "10.0.0.2".parse().ok(),
            nas_identifier: None,
            time,
            source: Source::RadiusDetail,
        }
    }

    fn user_at(h: &SessionHistory, t: UnixTime) -> Option<String> {
        h.at(MacAddr::parse(MAC).unwrap(), t)
            .and_then(|s| s.user.as_deref().map(str::to_owned))
    }

    #[test]
    fn sign_out_then_another_user_on_the_same_device() {
        let mut h = SessionHistory::default();
        use AcctStatus::*;
        assert_eq!(h.apply(&acct(Start, "alice", "1", 100)), Applied::Opened);
        assert_eq!(
            h.apply(&acct(Interim, "alice", "1", 400)),
            Applied::Extended
        );
        assert_eq!(
            h.apply(&acct(Interim, "alice", "1", 400)),
            Applied::Unchanged,
            "a retransmitted interim changes nothing"
        );
        assert_eq!(h.apply(&acct(Stop, "alice", "1", 900)), Applied::Closed);
        assert_eq!(h.apply(&acct(Start, "dave", "2", 1000)), Applied::Opened);
        assert_eq!(user_at(&h, 99), None);
        assert_eq!(user_at(&h, 100).as_deref(), Some("alice"));
        assert_eq!(user_at(&h, 899).as_deref(), Some("alice"));
        assert_eq!(user_at(&h, 950), None, "signed out");
        assert_eq!(user_at(&h, 1000).as_deref(), Some("dave"));
    }

    #[test]
    fn ssids_and_nas_names_share_one_allocation() {
        let mut h = SessionHistory::default();
        let mut other = acct(AcctStatus::Start, "bob", "2", 100);
        other.mac = MacAddr::parse("00:00:00:00:00:01").ok();
        h.apply(&acct(AcctStatus::Start, "alice", "1", 100));
        h.apply(&other);
        let a = h.at(MacAddr::parse(MAC).unwrap(), 100).unwrap();
        let b = h.at(other.mac.unwrap(), 100).unwrap();
        assert!(Arc::ptr_eq(
            a.ssid.as_ref().unwrap(),
            b.ssid.as_ref().unwrap()
        ));
        assert!(!Arc::ptr_eq(
            a.user.as_ref().unwrap(),
            b.user.as_ref().unwrap()
        ));
    }

    #[test]
    fn a_new_sign_in_closes_the_previous_users_session() {
        let mut h = SessionHistory::default();
        h.apply(&acct(AcctStatus::Start, "alice", "1", 100));
        h.apply(&acct(AcctStatus::Start, "bob", "2", 500)); // no Stop for alice
        assert_eq!(user_at(&h, 499).as_deref(), Some("alice"));
        assert_eq!(user_at(&h, 500).as_deref(), Some("bob"));
        // alice's late Stop does not cut bob's session.
        assert_eq!(
            h.apply(&acct(AcctStatus::Stop, "alice", "1", 600)),
            Applied::Ignored
        );
        assert_eq!(user_at(&h, 600).as_deref(), Some("bob"));
        assert_eq!(h.sessions(), 2);
    }

    #[test]
    fn sessions_without_stop_time_out_and_interims_revive_them() {
        let mut h = SessionHistory::new(3600);
        h.apply(&acct(AcctStatus::Start, "alice", "1", 0));
        assert_eq!(user_at(&h, 3599).as_deref(), Some("alice"));
        assert_eq!(user_at(&h, 3600), None, "timed out");
        h.apply(&acct(AcctStatus::Interim, "alice", "1", 3000));
        assert_eq!(
            user_at(&h, 6599).as_deref(),
            Some("alice"),
            "timeout counts from the interim"
        );
        // An interim after the timeout proves the session continued through the gap.
        h.apply(&acct(AcctStatus::Interim, "alice", "1", 10_000));
        assert_eq!(user_at(&h, 8000).as_deref(), Some("alice"));
        assert_eq!(h.sessions(), 1);
        // An interim with no Start seen opens a session from that moment.
        let mut late = SessionHistory::new(3600);
        assert_eq!(
            late.apply(&acct(AcctStatus::Interim, "carol", "9", 50)),
            Applied::Opened
        );
        assert_eq!(
            late.at(MacAddr::parse(MAC).unwrap(), 60)
                .unwrap()
                .user
                .as_deref(),
            Some("carol")
        );
        // A Stop with nothing to stop, and an event with no MAC, change nothing.
        assert_eq!(
            late.apply(&acct(AcctStatus::Stop, "zed", "8", 70)),
            Applied::Ignored
        );
        let mut no_mac = acct(AcctStatus::Start, "x", "1", 1);
        no_mac.mac = None;
        assert_eq!(late.apply(&no_mac), Applied::Ignored);
    }

    #[test]
    fn accounting_on_closes_only_that_nas() {
        let mut h = SessionHistory::default();
        h.apply(&acct(AcctStatus::Start, "alice", "1", 100));
        let mut other = acct(AcctStatus::Start, "bob", "2", 100);
        other.mac = MacAddr::parse("00:00:00:00:00:01").ok();
        other.nas_ip = "10.0.0.3".parse().ok();
        h.apply(&other);
        let mut on = acct(AcctStatus::AccountingOn, "", "0", 500);
        on.user = None;
        on.mac = None;
        assert_eq!(h.apply(&on), Applied::Closed);
        assert_eq!(user_at(&h, 499).as_deref(), Some("alice"));
        assert_eq!(user_at(&h, 500), None);
        let bob = h.at(MacAddr::parse("00:00:00:00:00:01").unwrap(), 600);
        assert_eq!(bob.and_then(|s| s.user.as_deref()), Some("bob"));
        on.nas_ip = None;
        assert_eq!(
            h.apply(&on),
            Applied::Ignored,
            "a NAS that names nothing closes nothing"
        );
    }

    #[test]
    fn framed_ip_names_the_device_while_its_session_lasts() {
        let mut h = SessionHistory::default();
        let ip: IpAddr = "10.20.0.57".parse().unwrap();
        let mut start = acct(AcctStatus::Start, "alice", "1", 100);
        start.framed_ip = Some(ip);
        h.apply(&start);
        let (mac, s) = h.framed_at(ip, 200).unwrap();
        assert_eq!(
            (mac.to_string().as_str(), s.user.as_deref()),
            (MAC, Some("alice"))
        );
        h.apply(&acct(AcctStatus::Stop, "alice", "1", 300));
        assert!(h.framed_at(ip, 300).is_none());
        assert!(h.framed_at(ip, 50).is_none());
        h.prune_before(301);
        assert_eq!((h.devices(), h.framed.len()), (0, 0));
    }
}
