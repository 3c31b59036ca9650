//! FreeRADIUS `detail` files (rlm_detail), the accounting log most RADIUS servers can write.
//!
//! A record is a header line (`%t`, ctime in server local time), then tab-indented
//! `Attr = value` lines, then a blank line. Strings are double-quoted with `\"`, `\\` and
//! `\ooo` escapes; addresses and integers are bare; enumerations are by name; dates are quoted
//! local-time strings. The record time is `Timestamp` (receipt, Unix seconds) minus
//! `Acct-Delay-Time`; `Event-Timestamp` is used only when `Timestamp` is absent and it is numeric
//! or in UTC/GMT (the local-time header is never used: its zone is unknown).
//!
//! [`DetailParser`] is incremental: a record is emitted only once its terminating blank line
//! has arrived, so a record still being written is never half-read.

use std::net::IpAddr;

use super::event::{AccountingEvent, AcctStatus, Source, UnixTime};
use super::mac::MacAddr;
use super::report::{ParseReport, RecordError};
use super::text::{self, LineBuffer};

/// A partial line longer than this is garbage.
const MAX_LINE: usize = 64 * 1024;
/// A record with more attribute lines than this is garbage (real ones have about 30).
const MAX_ATTRIBUTES: usize = 1024;

/// An incremental detail-file parser.
#[derive(Debug, Default)]
pub struct DetailParser {
    lines: LineBuffer,
    line: usize,
    record: Option<Record>,
    report: ParseReport,
}

/// The attributes gatewatch uses from the record being read.
#[derive(Debug, Default)]
struct Record {
    line: usize,
    has_header: bool,
    attributes: usize,
    error: Option<RecordError>,
    status: Option<String>,
    user: Option<String>,
    calling: Option<String>,
    called: Option<String>,
    framed_ip: Option<String>,
    session_id: Option<String>,
    nas_ip: Option<String>,
    nas_identifier: Option<String>,
    timestamp: Option<String>,
    event_timestamp: Option<String>,
    delay: Option<String>,
}

impl DetailParser {
    /// A parser at the start of a file.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds the next chunk and returns the records it completed, in file order.
    pub fn feed(&mut self, chunk: &str) -> Vec<AccountingEvent> {
        let mut out = Vec::new();
        let (lines, overflow) = self.lines.split(chunk, MAX_LINE);
        for line in lines {
            self.line += 1;
            self.line_in(&line, &mut out);
        }
        if overflow {
            self.report.skip(self.line + 1, RecordError::Truncated);
            self.record = None;
        }
        out
    }

    /// Counts so far.
    pub fn report(&self) -> &ParseReport {
        &self.report
    }

    /// Returns the counts so far and starts new ones.
    pub fn take_report(&mut self) -> ParseReport {
        std::mem::take(&mut self.report)
    }

    fn line_in(&mut self, line: &str, out: &mut Vec<AccountingEvent>) {
        if line.trim().is_empty() {
            if let Some(record) = self.record.take() {
                match record.finish() {
                    Ok(event) => {
                        self.report.record();
                        out.push(event);
                    }
                    Err(error) => self.report.skip(record.line, error),
                }
            }
            return;
        }
        if !line.starts_with([' ', '\t']) {
            // A header line. One while a record is open means that record was cut off.
            if let Some(cut) = self.record.take() {
                self.report.skip(cut.line, RecordError::Truncated);
            }
            self.record = Some(Record {
                line: self.line,
                has_header: true,
                ..Record::default()
            });
            return;
        }
        let line_no = self.line;
        let record = self.record.get_or_insert_with(|| Record {
            line: line_no,
            ..Record::default()
        });
        record.attribute(line.trim());
    }
}

impl Record {
    fn attribute(&mut self, line: &str) {
        self.attributes += 1;
        if self.attributes > MAX_ATTRIBUTES {
            self.error
                .get_or_insert(RecordError::Invalid("attribute count"));
            return;
        }
        let Some((name, raw)) = line.split_once(" = ") else {
            self.error.get_or_insert(RecordError::Invalid("attribute"));
            return;
        };
        let slot = match name.trim() {
            "Acct-Status-Type" => &mut self.status,
            "User-Name" => &mut self.user,
            "Calling-Station-Id" => &mut self.calling,
            "Called-Station-Id" => &mut self.called,
            "Framed-IP-Address" => &mut self.framed_ip,
            "Acct-Session-Id" => &mut self.session_id,
            "NAS-IP-Address" | "NAS-IPv6-Address" => &mut self.nas_ip,
            "NAS-Identifier" => &mut self.nas_identifier,
            "Timestamp" => &mut self.timestamp,
            "Event-Timestamp" => &mut self.event_timestamp,
            "Acct-Delay-Time" => &mut self.delay,
            _ => return,
        };
        let raw = raw.trim();
        let value = if raw.starts_with('"') {
            match text::unquote(raw) {
                Some((bytes, tail)) if tail.trim().is_empty() => text::lossy(bytes),
                _ => {
                    self.error
                        .get_or_insert(RecordError::Invalid("quoted string"));
                    return;
                }
            }
        } else {
            raw.to_owned()
        };
        *slot = Some(value);
    }

    fn finish(&self) -> Result<AccountingEvent, RecordError> {
        if !self.has_header {
            return Err(RecordError::Truncated);
        }
        if let Some(error) = self.error {
            return Err(error);
        }
        let status = self
            .status
            .as_deref()
            .ok_or(RecordError::Missing("Acct-Status-Type"))?;
        let status =
            AcctStatus::from_name(status).ok_or(RecordError::Unsupported("Acct-Status-Type"))?;
        let received = match (&self.timestamp, &self.event_timestamp) {
            (Some(t), _) => t
                .parse::<UnixTime>()
                .map_err(|_| RecordError::Invalid("Timestamp"))?,
            (None, Some(t)) => {
                parse_event_timestamp(t).ok_or(RecordError::Invalid("Event-Timestamp"))?
            }
            (None, None) => return Err(RecordError::Missing("Timestamp")),
        };
        let delay = match &self.delay {
            Some(d) => d
                .parse::<u32>()
                .map_err(|_| RecordError::Invalid("Acct-Delay-Time"))?,
            None => 0,
        };
        let ip = |v: &Option<String>, name: &'static str| -> Result<Option<IpAddr>, RecordError> {
            v.as_deref()
                .map(|s| s.parse::<IpAddr>().map_err(|_| RecordError::Invalid(name)))
                .transpose()
        };
        let calling = self
            .calling
            .as_deref()
            .and_then(|s| MacAddr::parse_station_id(s).ok());
        let called_ssid = self
            .called
            .as_deref()
            .and_then(|s| MacAddr::parse_station_id(s).ok())
            .and_then(|(_, ssid)| ssid);
        let ssid = called_ssid.or(calling.and_then(|(_, ssid)| ssid));
        Ok(AccountingEvent {
            status,
            user: self.user.clone(),
            mac: calling.map(|(mac, _)| mac),
            ssid: ssid.map(str::to_owned),
            framed_ip: ip(&self.framed_ip, "Framed-IP-Address")?,
            session_id: self.session_id.clone(),
            nas_ip: ip(&self.nas_ip, "NAS-IP-Address")?,
            nas_identifier: self.nas_identifier.clone(),
            time: received.saturating_sub(UnixTime::from(delay)),
            source: Source::RadiusDetail,
        })
    }
}

/// `Event-Timestamp` as written by FreeRADIUS: Unix seconds, or `Mon DD YYYY HH:MM:SS ZONE`
/// (only UTC/GMT are accepted: other zone abbreviations are ambiguous).
fn parse_event_timestamp(s: &str) -> Option<UnixTime> {
    if let Ok(t) = s.parse::<UnixTime>() {
        return Some(t);
    }
    let parts: Vec<&str> = s.split_ascii_whitespace().collect();
    let [month, day, year, clock, zone] = parts[..] else {
        return None;
    };
    if zone != "UTC" && zone != "GMT" {
        return None;
    }
    let (h, m, sec) = text::parse_hms(clock)?;
    text::utc_timestamp(
        year.parse().ok()?,
        text::month_number(month)?,
        day.parse().ok()?,
        h,
        m,
        sec,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const REAL: &str = include_str!("../../tests/fixtures/identity/radius-detail");

    fn mac(s: &str) -> Option<MacAddr> {
        MacAddr::parse(s).ok()
    }

    #[test]
    fn real_detail_file_parses_every_record() {
        let mut p = DetailParser::new();
        let events = p.feed(REAL);
        assert_eq!(
            (p.report().records, p.report().skipped),
            (7, 0),
            "{}",
            p.report()
        );
        let summary: Vec<_> = events
            .iter()
            .map(|e| (e.status, e.user.as_deref(), e.mac))
            .collect();
        let alice = mac("aa:bb:cc:dd:ee:ff");
        use AcctStatus::*;
        assert_eq!(
            summary,
            vec![
                (Start, Some("alice"), alice),
                (Start, Some("bob"), mac("00:0c:29:c3:a0:3a")),
                (Interim, Some("alice"), alice),
                (Start, Some("o\"neil\\staff"), mac("02:0c:29:c3:a0:ff")),
                (Stop, Some("alice"), alice),
                (Start, Some("dave.zoë"), alice),
                (AccountingOn, None, None),
            ]
        );
        let start = &events[0];
        assert_eq!(start.ssid.as_deref(), Some("SchoolWiFi"));
        assert_eq!(start.framed_ip, "10.20.0.57".parse().ok());
        assert_eq!(start.session_id.as_deref(), Some("5F2A1B3C00000001"));
        assert_eq!(start.nas_ip, "10.0.0.2".parse().ok());
        assert_eq!(start.nas_identifier.as_deref(), Some("ap-hall-1"));
        assert_eq!(events[1].framed_ip, None);
        assert_eq!(events[3].ssid.as_deref(), Some("StaffWiFi"));
        assert!(events[3].mac.unwrap().is_locally_administered());
        // Times come from `Timestamp` (receipt), not the NAS's Event-Timestamp in the past.
        assert!(start.time > 1_795_435_352);
        assert!(events.windows(2).all(|w| w[0].time <= w[1].time + 5));
        // The Stop waited 1 s in the NAS queue: it happened before the record after it arrived.
        assert!(events[4].time < events[5].time);
        assert!(events[4].time > events[0].time);
        assert_eq!(events[6].nas_ip, "10.0.0.3".parse().ok());
        assert!(events.iter().all(|e| e.source == Source::RadiusDetail));
    }

    #[test]
    fn records_are_emitted_only_after_their_blank_line() {
        let mut whole = DetailParser::new();
        let expected = whole.feed(REAL);
        for split in 0..=REAL.len() {
            if !REAL.is_char_boundary(split) {
                continue;
            }
            let mut p = DetailParser::new();
            let first = p.feed(&REAL[..split]);
            let complete = REAL[..split].matches("\n\n").count();
            assert_eq!(first.len(), complete, "split at {split}");
            let mut got = first;
            got.extend(p.feed(&REAL[split..]));
            assert_eq!(got, expected, "split at {split}");
            assert_eq!(p.report(), whole.report());
        }
    }

    #[test]
    fn delay_fallback_times_and_escapes() {
        let text = "Mon Nov 23 12:02:32 2026\n\
            \tAcct-Status-Type = Stop\n\
            \tUser-Name = \"a\\\\b\\\"c\\303\\251\"\n\
            \tCalling-Station-Id = \"000c.29c3.a03a\"\n\
            \tEvent-Timestamp = \"Nov 23 2026 12:02:32 UTC\"\n\
            \tAcct-Delay-Time = 2\n\
            \n\
            Mon Nov 23 12:02:33 2026\n\
            \tAcct-Status-Type = Interim-Update\n\
            \tCalling-Station-Id = \"not a mac\"\n\
            \tEvent-Timestamp = 1795435353\n\
            \n";
        let mut p = DetailParser::new();
        let events = p.feed(text);
        assert_eq!(events.len(), 2, "{}", p.report());
        assert_eq!(events[0].user.as_deref(), Some("a\\b\"cé"));
        assert_eq!(events[0].time, 1_795_435_352 - 2);
        assert_eq!(events[0].mac, mac("00:0c:29:c3:a0:3a"));
        assert_eq!((events[1].time, events[1].mac), (1_795_435_353, None));
    }

    #[test]
    fn broken_records_are_skipped_and_counted() {
        let text = "\tAcct-Status-Type = Start\n\tTimestamp = 1\n\n\
            Mon Nov 23 12:02:32 2026\n\tAcct-Status-Type = Start\n\
            Mon Nov 23 12:02:33 2026\n\tUser-Name = \"x\"\n\tTimestamp = 1\n\n\
            Mon Nov 23 12:02:33 2026\n\tAcct-Status-Type = Failed\n\tTimestamp = 1\n\n\
            Mon Nov 23 12:02:33 2026\n\tAcct-Status-Type = Start\n\n\
            Mon Nov 23 12:02:33 2026\n\tAcct-Status-Type = Start\n\tTimestamp = soon\n\n\
            Mon Nov 23 12:02:33 2026\n\tAcct-Status-Type = Start\n\tUser-Name = \"x\n\tTimestamp = 1\n\n\
            Mon Nov 23 12:02:33 2026\n\tgarbage\n\tTimestamp = 1\n\n\
            Mon Nov 23 12:02:33 2026\n\tAcct-Status-Type = Start\n\tTimestamp = 1\n\tFramed-IP-Address = 10.0.0.300\n\n\
            Mon Nov 23 12:02:33 2026\n\tAcct-Status-Type = Start\n\tEvent-Timestamp = \"Nov 23 2026 12:02:32 CET\"\n\n\
            Mon Nov 23 12:02:33 2026\n\tAcct-Status-Type = Start\n\tTimestamp = 1\n";
        let mut p = DetailParser::new();
        assert!(p.feed(text).is_empty());
        let errors: Vec<_> = p
            .report()
            .problems
            .iter()
            .map(|x| (x.line, x.error))
            .collect();
        assert_eq!(
            errors,
            vec![
                (1, RecordError::Truncated),
                (4, RecordError::Truncated),
                (6, RecordError::Missing("Acct-Status-Type")),
                (10, RecordError::Unsupported("Acct-Status-Type")),
                (14, RecordError::Missing("Timestamp")),
                (17, RecordError::Invalid("Timestamp")),
                (21, RecordError::Invalid("quoted string")),
                (26, RecordError::Invalid("attribute")),
            ]
        );
        assert_eq!(p.report().skipped, 10);
        // The last record is still open: it completes with its blank line.
        assert_eq!(p.feed("\n").len(), 1);
    }

    #[test]
    fn corrupted_files_never_panic() {
        for text in text::corruptions(REAL) {
            let mut p = DetailParser::new();
            let events = p.feed(&text);
            assert!(events.len() <= 8 && p.report().records == events.len() as u64);
        }
    }

    #[test]
    fn an_endless_line_is_dropped() {
        let mut p = DetailParser::new();
        assert!(p.feed(&"x".repeat(MAX_LINE + 1)).is_empty());
        assert_eq!(p.report().skipped, 1);
        assert_eq!(p.feed("\n").len(), 0);
        assert_eq!(p.feed(REAL).len(), 7);
    }
}
