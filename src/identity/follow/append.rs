//! [`AppendFollower`]: an append-only log (ISC `dhcpd.leases`, Kea memfile, a FreeRADIUS
//! `detail` file) read through a [`TailReader`] into its incremental parser.
//!
//! A new file at the path (rotation) or a truncated one starts a fresh parser. Kea's lease file
//! cleanup renames the live file to `.1` and merges into `.2`; following the live path sees
//! that as rotation. At first start, [`AppendFollower::kea`] also reads the history Kea itself
//! would load (`.completed`, else `.2`, then `.1`) before the live file; events already known
//! are dropped by the service, so reading history again is harmless.

use std::path::PathBuf;

use super::tail::{Chunk, TailReader};
use super::{Follower, Polled};
use crate::identity::event::{IdentityEvent, UnixTime};
use crate::identity::report::ParseReport;
use crate::identity::{DetailParser, DhcpdParser, KeaParser};

/// An incremental parser of one append-only format.
pub trait AppendParser: Default + Send {
    /// Feeds the next text and appends the events it completed to `out`.
    fn feed_events(&mut self, text: &str, out: &mut Vec<IdentityEvent>);
    /// The counts so far, reset.
    fn take_parse_report(&mut self) -> ParseReport;
}

impl AppendParser for DhcpdParser {
    fn feed_events(&mut self, text: &str, out: &mut Vec<IdentityEvent>) {
        out.extend(
            self.feed(text)
                .iter()
                .filter_map(|l| l.to_event())
                .map(IdentityEvent::Lease),
        );
    }
    fn take_parse_report(&mut self) -> ParseReport {
        self.take_report()
    }
}

impl AppendParser for KeaParser {
    fn feed_events(&mut self, text: &str, out: &mut Vec<IdentityEvent>) {
        out.extend(
            self.feed(text)
                .iter()
                .map(|l| IdentityEvent::Lease(l.to_event())),
        );
    }
    fn take_parse_report(&mut self) -> ParseReport {
        self.take_report()
    }
}

impl AppendParser for DetailParser {
    fn feed_events(&mut self, text: &str, out: &mut Vec<IdentityEvent>) {
        out.extend(self.feed(text).into_iter().map(IdentityEvent::Accounting));
    }
    fn take_parse_report(&mut self) -> ParseReport {
        self.take_report()
    }
}

/// Follows one append-only file; see the module documentation.
#[derive(Debug)]
pub struct AppendFollower<P: AppendParser> {
    name: &'static str,
    tail: TailReader,
    parser: P,
    /// Files read once, in order, before the first poll of the live file.
    backlog: Vec<PathBuf>,
}

impl AppendFollower<DhcpdParser> {
    /// Follows an ISC dhcpd lease log.
    pub fn dhcpd(path: impl Into<PathBuf>) -> Self {
        Self::new("isc-dhcpd", path)
    }
}

impl AppendFollower<KeaParser> {
    /// Follows a Kea memfile, reading its cleanup history first.
    pub fn kea(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        let with = |suffix: &str| {
            let mut p = path.clone().into_os_string();
            p.push(suffix);
            PathBuf::from(p)
        };
        let completed = with(".completed");
        let mut backlog = if completed.exists() {
            vec![completed]
        } else {
            vec![with(".2")]
        };
        backlog.push(with(".1"));
        let mut f = Self::new("kea", path);
        f.backlog = backlog;
        f
    }
}

impl AppendFollower<DetailParser> {
    /// Follows one FreeRADIUS detail file.
    pub fn detail(path: impl Into<PathBuf>) -> Self {
        Self::new("radius-detail", path)
    }
}

impl<P: AppendParser> AppendFollower<P> {
    fn new(name: &'static str, path: impl Into<PathBuf>) -> Self {
        AppendFollower {
            name,
            tail: TailReader::new(path),
            parser: P::default(),
            backlog: Vec::new(),
        }
    }

    /// The underlying reader.
    pub fn tail(&self) -> &TailReader {
        &self.tail
    }

    /// Closes the file until it changes again.
    pub fn park(&mut self) {
        self.tail.park();
    }
}

impl<P: AppendParser> Follower for AppendFollower<P> {
    fn name(&self) -> &'static str {
        self.name
    }

    fn poll(&mut self, _now: UnixTime) -> Polled {
        let mut polled = Polled::default();
        for path in std::mem::take(&mut self.backlog) {
            match std::fs::read(&path) {
                Ok(bytes) => {
                    let mut parser = P::default();
                    parser.feed_events(&String::from_utf8_lossy(&bytes), &mut polled.events);
                    polled.report.merge(&parser.take_parse_report());
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => polled.error = Some(e),
            }
        }
        match self.tail.poll() {
            Ok(chunks) => {
                for chunk in chunks {
                    match chunk {
                        Chunk::Start => {
                            polled.report.merge(&self.parser.take_parse_report());
                            self.parser = P::default();
                        }
                        Chunk::Text(text) => self.parser.feed_events(&text, &mut polled.events),
                    }
                }
            }
            Err(e) => polled.error = Some(e),
        }
        polled.report.merge(&self.parser.take_parse_report());
        polled
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::event::LeaseKind;
    use std::io::Write;

    const DHCPD: &str = include_str!("../../../tests/fixtures/identity/dhcpd.leases");
    const KEA: &str = include_str!("../../../tests/fixtures/identity/kea-leases4.csv");

    fn kinds(events: &[IdentityEvent]) -> Vec<LeaseKind> {
        events
            .iter()
            .filter_map(|e| match e {
                IdentityEvent::Lease(l) => Some(l.kind),
                IdentityEvent::Accounting(_) => None,
            })
            .collect()
    }

    #[test]
    fn a_dhcpd_log_written_in_pieces_gives_each_block_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dhcpd.leases");
        let mut f = std::fs::File::create(&path).unwrap();
        let mut follower = AppendFollower::dhcpd(&path);
        let mut all = Vec::new();
        // Write the real file in 37-byte pieces, polling in between: blocks cut anywhere.
        for piece in DHCPD.as_bytes().chunks(37) {
            f.write_all(piece).unwrap();
            let polled = follower.poll(0);
            assert!(polled.error.is_none());
            assert_eq!(polled.report.skipped, 0, "{}", polled.report);
            all.extend(polled.events);
        }
        assert_eq!(
            kinds(&all),
            vec![LeaseKind::Bind, LeaseKind::Bind, LeaseKind::Release]
        );
        assert!(follower.poll(0).events.is_empty(), "nothing is read twice");

        // dhcpd rewrites the file: old renamed to dhcpd.leases~, a new one moved in.
        let tmp = dir.path().join("dhcpd.leases.new");
        std::fs::write(&tmp, DHCPD).unwrap();
        std::fs::rename(&path, dir.path().join("dhcpd.leases~")).unwrap();
        std::fs::rename(&tmp, &path).unwrap();
        let polled = follower.poll(0);
        assert_eq!(
            kinds(&polled.events).len(),
            3,
            "the new file is read from its start"
        );
    }

    #[test]
    fn kea_history_is_read_before_the_live_file_and_lfc_rotation_is_followed() {
        let dir = tempfile::tempdir().unwrap();
        let live = dir.path().join("kea-leases4.csv");
        let mut lines = KEA.lines();
        let header = lines.next().unwrap();
        let rows: Vec<&str> = lines.collect();
        assert_eq!(rows.len(), 4);
        std::fs::write(
            dir.path().join("kea-leases4.csv.2"),
            format!("{header}\n{}\n", rows[0]),
        )
        .unwrap();
        std::fs::write(&live, format!("{header}\n{}\n", rows[1])).unwrap();
        let mut follower = AppendFollower::kea(&live);
        let first = follower.poll(0);
        assert_eq!(first.events.len(), 2, "history (.2) then the live file");
        // lfc: live renamed to .1, a new live file gets the next rows.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&live)
            .unwrap()
            .write_all(format!("{}\n", rows[2]).as_bytes())
            .unwrap();
        std::fs::rename(&live, dir.path().join("kea-leases4.csv.1")).unwrap();
        std::fs::write(&live, format!("{header}\n{}\n", rows[3])).unwrap();
        let next = follower.poll(0);
        assert_eq!(
            kinds(&next.events),
            vec![LeaseKind::Bind, LeaseKind::Release],
            "the renewal from the old file, then the release from the new one"
        );
        assert_eq!(next.report.skipped, 0);
    }
}
