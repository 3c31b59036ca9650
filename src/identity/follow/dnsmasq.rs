//! [`DnsmasqFollower`]: dnsmasq's leases file, which dnsmasq truncates and rewrites in place on
//! every change (so a reader can catch it half-written).
//!
//! Each poll stats the file (inode, size, modification time). A changed file is read only once
//! it has settled: unchanged since the previous poll, or last modified at least the debounce
//! ago. The whole file is parsed as a snapshot and [`dnsmasq::diff`]ed against the last good
//! snapshot, so only leases that changed become events. A snapshot that ends in a partial line
//! was caught mid-write and is not used until the file changes again (or stays that way for a
//! few polls, as a crashed writer would leave it: then its complete lines are used).

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use super::tail::FileId;
use super::{Follower, Polled};
use crate::identity::dnsmasq::{self, DnsmasqLease};
use crate::identity::event::{IdentityEvent, UnixTime};
use crate::identity::report::RecordError;

/// How long a file must be left alone before it is read.
pub const DEFAULT_DEBOUNCE: Duration = Duration::from_millis(200);
/// After this many polls with the same partial last line, the file is used anyway.
const PATIENCE: u32 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    id: FileId,
    len: u64,
    mtime: Option<SystemTime>,
}

impl Stamp {
    fn of(meta: &std::fs::Metadata) -> Self {
        Stamp {
            id: FileId::of(meta),
            len: meta.len(),
            mtime: meta.modified().ok(),
        }
    }
}

/// Follows a dnsmasq leases file; see the module documentation.
#[derive(Debug)]
pub struct DnsmasqFollower {
    path: PathBuf,
    debounce: Duration,
    /// The stamp seen at the previous poll.
    seen: Option<Stamp>,
    /// The stamp of the version last turned into events.
    used: Option<Stamp>,
    /// Polls in a row that found the same partial file.
    partial_polls: u32,
    leases: Vec<DnsmasqLease>,
}

impl DnsmasqFollower {
    /// Follows `path` with the default debounce.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self::with_debounce(path, DEFAULT_DEBOUNCE)
    }

    /// Follows `path`, reading a changed file once it was left alone for `debounce`.
    pub fn with_debounce(path: impl Into<PathBuf>, debounce: Duration) -> Self {
        DnsmasqFollower {
            path: path.into(),
            debounce,
            seen: None,
            used: None,
            partial_polls: 0,
            leases: Vec::new(),
        }
    }

    /// The leases of the last snapshot used.
    pub fn leases(&self) -> &[DnsmasqLease] {
        &self.leases
    }
}

impl Follower for DnsmasqFollower {
    fn name(&self) -> &'static str {
        "dnsmasq"
    }

    fn poll(&mut self, now: UnixTime) -> Polled {
        let mut polled = Polled::default();
        let stamp = match std::fs::metadata(&self.path) {
            Ok(m) => Stamp::of(&m),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return polled,
            Err(e) => {
                polled.error = Some(e);
                return polled;
            }
        };
        let previous = self.seen.replace(stamp);
        if self.used == Some(stamp) {
            return polled;
        }
        let settled = previous == Some(stamp)
            || stamp
                .mtime
                .and_then(|m| SystemTime::now().duration_since(m).ok())
                .is_some_and(|age| age >= self.debounce);
        if !settled {
            return polled;
        }
        let bytes = match std::fs::read(&self.path) {
            Ok(b) => b,
            Err(e) => {
                polled.error = Some(e);
                return polled;
            }
        };
        // Written to while we read it: try again next time.
        match std::fs::metadata(&self.path) {
            Ok(m) if Stamp::of(&m) == stamp => {}
            _ => return polled,
        }
        let text = String::from_utf8_lossy(&bytes);
        let (leases, report) = dnsmasq::parse_snapshot(&text);
        let partial = report
            .problems
            .iter()
            .any(|p| p.error == RecordError::Truncated);
        if partial {
            self.partial_polls += 1;
            if self.partial_polls < PATIENCE {
                return polled;
            }
        }
        self.partial_polls = 0;
        polled.events = dnsmasq::diff(&self.leases, &leases, now)
            .into_iter()
            .map(IdentityEvent::Lease)
            .collect();
        polled.report = report;
        self.leases = leases;
        self.used = Some(stamp);
        polled
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::event::LeaseKind;

    const ONE: &str = include_str!("../../../tests/fixtures/identity/dnsmasq-1.leases");
    const TWO: &str = include_str!("../../../tests/fixtures/identity/dnsmasq-2.leases");

    fn kinds(p: &Polled) -> Vec<(LeaseKind, Option<String>)> {
        p.events
            .iter()
            .filter_map(|e| match e {
                IdentityEvent::Lease(l) => Some((l.kind, l.hostname.clone())),
                IdentityEvent::Accounting(_) => None,
            })
            .collect()
    }

    #[test]
    fn rewrites_become_the_difference_between_snapshots() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dnsmasq.leases");
        // A long debounce: only "unchanged since the last poll" counts as settled.
        let mut f = DnsmasqFollower::with_debounce(&path, Duration::from_secs(3600));
        assert!(f.poll(100).events.is_empty(), "no file yet");
        std::fs::write(&path, ONE).unwrap();
        assert!(
            f.poll(100).events.is_empty(),
            "just changed: wait for it to settle"
        );
        let first = f.poll(101);
        assert_eq!(first.events.len(), 2);
        assert!(kinds(&first).iter().all(|(k, _)| *k == LeaseKind::Bind));
        assert!(
            f.poll(102).events.is_empty(),
            "the same version is used once"
        );

        // Caught half-written: the partial snapshot is not used.
        let cut = &TWO[..TWO.len() - 10];
        std::fs::write(&path, cut).unwrap();
        f.poll(103);
        assert!(f.poll(104).events.is_empty(), "a partial last line: wait");
        std::fs::write(&path, TWO).unwrap();
        f.poll(105);
        let second = f.poll(106);
        assert_eq!(
            kinds(&second),
            vec![(LeaseKind::Release, Some("bob-phone".to_owned()))]
        );
        assert_eq!(f.leases().len(), 1);
    }

    #[test]
    fn a_settled_file_is_read_on_the_first_poll_and_a_stuck_partial_one_eventually() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dnsmasq.leases");
        std::fs::write(&path, ONE).unwrap();
        let mut f = DnsmasqFollower::with_debounce(&path, Duration::ZERO);
        assert_eq!(f.poll(100).events.len(), 2);
        // An empty file: every lease was released.
        std::fs::write(&path, "").unwrap();
        let polled = f.poll(101);
        assert_eq!(polled.events.len(), 2);
        assert!(kinds(&polled).iter().all(|(k, _)| *k == LeaseKind::Release));
        // A writer that died mid-line: after a few polls the complete lines are used.
        std::fs::write(&path, &ONE[..ONE.len() - 5]).unwrap();
        let mut got = Vec::new();
        for t in 0..PATIENCE {
            got.extend(f.poll(102 + i64::from(t)).events);
        }
        assert_eq!(got.len(), 1, "the complete first line binds");
    }
}
