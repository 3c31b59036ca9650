//! The current-devices view for the admin interface: every address held now, with its device,
//! host name, user and since when.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::Arc;

use super::attribution::{AttributionIndex, Confidence};
use super::event::{SourceSet, UnixTime};
use super::mac::MacAddr;

/// One address in use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// The address.
    pub ip: IpAddr,
    /// The device holding it.
    pub mac: Option<MacAddr>,
    /// True for a locally administered (likely randomised) MAC.
    pub locally_administered: bool,
    /// Its host name.
    pub hostname: Option<Arc<str>>,
    /// The user signed in on it.
    pub user: Option<Arc<str>>,
    /// Since when the device held the address.
    pub since: UnixTime,
    /// Since when the user was signed in.
    pub user_since: Option<UnixTime>,
    /// Which sources said so.
    pub sources: SourceSet,
    /// How far to trust it.
    pub confidence: Confidence,
}

/// Every address held at `now` according to DHCP or RADIUS, sorted by address.
pub fn current_devices(index: &AttributionIndex, now: UnixTime) -> Vec<Device> {
    let ips: BTreeSet<IpAddr> = index
        .ips()
        .live_at(now)
        .map(|(ip, _)| ip)
        .chain(index.sessions().framed_live_at(now).map(|(ip, _, _)| ip))
        .collect();
    ips.into_iter()
        .filter_map(|ip| {
            let a = index.lookup(ip, now)?;
            Some(Device {
                ip,
                mac: a.mac,
                locally_administered: a.locally_administered,
                hostname: a.hostname,
                user: a.user,
                since: a.device_since,
                user_since: a.user_since,
                sources: a.sources,
                confidence: a.confidence,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::event::{
        AccountingEvent, AcctStatus, LeaseEnd, LeaseEvent, LeaseKind, Source,
    };

    #[test]
    fn lists_dhcp_and_radius_only_addresses_held_now() {
        let mut index = AttributionIndex::new();
        let mac = |s: &str| MacAddr::parse(s).ok();
        for (ip, m, start, end) in [
            ("10.0.0.2", "00:16:3e:00:00:01", 100, 1000),
            ("10.0.0.3", "3a:00:00:00:00:02", 100, 200), // expired by 500
        ] {
            index.apply_lease(&LeaseEvent {
                kind: LeaseKind::Bind,
                ip: ip.parse().unwrap(),
                mac: mac(m),
                hostname: Some("h".into()),
                client_id: None,
                start,
                end: LeaseEnd::At(end),
                source: Source::Dnsmasq,
            });
        }
        index.apply_accounting(&AccountingEvent {
            status: AcctStatus::Start,
            user: Some("carol".into()),
            mac: mac("3a:00:00:00:00:09"),
            ssid: None,
            framed_ip: "10.0.0.1".parse().ok(),
            session_id: None,
            nas_ip: None,
            nas_identifier: None,
            time: 300,
            source: Source::RadiusPacket,
        });
        let devices = current_devices(&index, 500);
        let summary: Vec<_> = devices
            .iter()
            .map(|d| {
                (
                    d.ip.to_string(),
                    d.user.as_deref().map(str::to_owned),
                    d.since,
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                ("10.0.0.1".to_owned(), Some("carol".to_owned()), 300),
                ("10.0.0.2".to_owned(), None, 100),
            ]
        );
        assert!(devices[0].locally_administered && !devices[1].locally_administered);
    }
}
