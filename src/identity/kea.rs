//! Kea DHCPv4 memfile (`kea-leases4.csv`; Kea `csv_lease_file4.cc`).
//!
//! A header line names the columns (`address,hwaddr,client_id,valid_lifetime,expire,subnet_id,
//! fqdn_fwd,fqdn_rev,hostname,state,user_context` in Kea 2.2, `,pool_id` appended from 2.4), then
//! one row is appended per change; the last row for an address wins. Columns are found by
//! name, so either layout (and any future appended column) works; before a header is seen the
//! 2.2 layout is assumed. `expire` is cltt + `valid_lifetime`; a `valid_lifetime` of 0 deletes
//! the lease; `state` is 0 default, 1 declined, 2 expired-reclaimed, 3 released, 4 registered.
//! Commas and other special characters inside fields are escaped as `&#xHH`.
//!
//! [`KeaParser`] is incremental by line: it keeps a partial last line until its newline arrives.

use std::net::{IpAddr, Ipv4Addr};

use super::event::{LeaseEnd, LeaseEvent, LeaseKind, Source, UnixTime};
use super::mac::MacAddr;
use super::report::{ParseReport, RecordError};
use super::text::{self, LineBuffer};

/// A partial line longer than this is garbage (a real row is well under 4 KiB).
const MAX_LINE: usize = 64 * 1024;

/// Kea's `valid_lifetime` for an infinite lease.
const INFINITE_LIFETIME: u32 = u32::MAX;

/// The `state` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeaState {
    /// 0: an active lease.
    Default,
    /// 1: declined by the client (address conflict); not bound to anyone.
    Declined,
    /// 2: expired and reclaimed by the server.
    ExpiredReclaimed,
    /// 3: released by the client.
    Released,
    /// 4: registered (address registration; treated as bound).
    Registered,
}

/// One row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeaLease {
    /// `address`.
    pub ip: Ipv4Addr,
    /// `hwaddr` (empty for declined leases).
    pub mac: Option<MacAddr>,
    /// `client_id` as colon hex.
    pub client_id: Option<String>,
    /// `valid_lifetime` in seconds (0 deletes the lease, `u32::MAX` is infinite).
    pub valid_lifetime: u32,
    /// `expire`: cltt + valid_lifetime.
    pub expire: UnixTime,
    /// `subnet_id`.
    pub subnet_id: Option<u32>,
    /// `hostname`, unescaped.
    pub hostname: Option<String>,
    /// `state`.
    pub state: KeaState,
    /// 1-based line of the row.
    pub line: usize,
}

impl KeaLease {
    /// The client's last transaction time (`expire - valid_lifetime`).
    pub fn cltt(&self) -> UnixTime {
        self.expire
            .saturating_sub(UnixTime::from(self.valid_lifetime))
    }

    /// The event this row stands for: a Bind from cltt to expire for an active or registered
    /// lease, a Release at cltt for a deleted (lifetime 0), declined or released one, and an
    /// Expire at `expire` for an expired-reclaimed one.
    pub fn to_event(&self) -> LeaseEvent {
        let cltt = self.cltt();
        let (kind, start, end) = match self.state {
            _ if self.valid_lifetime == 0 => (LeaseKind::Release, cltt, LeaseEnd::At(cltt)),
            KeaState::Default | KeaState::Registered => {
                let end = if self.valid_lifetime == INFINITE_LIFETIME {
                    LeaseEnd::Never
                } else {
                    LeaseEnd::At(self.expire)
                };
                (LeaseKind::Bind, cltt, end)
            }
            KeaState::Declined | KeaState::Released => {
                (LeaseKind::Release, cltt, LeaseEnd::At(cltt))
            }
            KeaState::ExpiredReclaimed => {
                (LeaseKind::Expire, self.expire, LeaseEnd::At(self.expire))
            }
        };
        LeaseEvent {
            kind,
            ip: IpAddr::V4(self.ip),
            mac: self.mac,
            hostname: self.hostname.clone(),
            client_id: self.client_id.clone(),
            start,
            end,
            source: Source::Kea,
        }
    }
}

/// Where each column is.
#[derive(Debug, Clone)]
struct Columns {
    count: usize,
    address: usize,
    hwaddr: Option<usize>,
    client_id: Option<usize>,
    valid_lifetime: usize,
    expire: usize,
    subnet_id: Option<usize>,
    hostname: Option<usize>,
    state: Option<usize>,
}

impl Default for Columns {
    /// Kea 2.2's layout.
    fn default() -> Self {
        Columns {
            count: 11,
            address: 0,
            hwaddr: Some(1),
            client_id: Some(2),
            valid_lifetime: 3,
            expire: 4,
            subnet_id: Some(5),
            hostname: Some(8),
            state: Some(9),
        }
    }
}

impl Columns {
    fn from_header(fields: &[&str]) -> Option<Self> {
        let find = |name: &str| fields.iter().position(|f| f.trim() == name);
        Some(Columns {
            count: fields.len(),
            address: find("address")?,
            hwaddr: find("hwaddr"),
            client_id: find("client_id"),
            valid_lifetime: find("valid_lifetime")?,
            expire: find("expire")?,
            subnet_id: find("subnet_id"),
            hostname: find("hostname"),
            state: find("state"),
        })
    }
}

/// An incremental `kea-leases4.csv` parser.
#[derive(Debug, Default)]
pub struct KeaParser {
    lines: LineBuffer,
    line: usize,
    columns: Columns,
    report: ParseReport,
}

impl KeaParser {
    /// A parser at the start of a file.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds the next chunk and returns the rows it completed, in file order.
    pub fn feed(&mut self, chunk: &str) -> Vec<KeaLease> {
        let mut out = Vec::new();
        let (lines, overflow) = self.lines.split(chunk, MAX_LINE);
        for line in lines {
            self.line += 1;
            if let Some(lease) = self.parse_line(&line) {
                out.push(lease);
            }
        }
        if overflow {
            self.report.skip(self.line + 1, RecordError::Truncated);
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

    fn parse_line(&mut self, line: &str) -> Option<KeaLease> {
        if line.trim().is_empty() {
            self.report.ignore();
            return None;
        }
        let fields: Vec<&str> = line.split(',').collect();
        if fields.first().map(|f| f.trim()) == Some("address") {
            match Columns::from_header(&fields) {
                Some(columns) => {
                    self.columns = columns;
                    self.report.ignore();
                }
                None => self.report.skip(self.line, RecordError::Invalid("header")),
            }
            return None;
        }
        match parse_row(&self.columns, &fields, self.line) {
            Ok(lease) => {
                self.report.record();
                Some(lease)
            }
            Err(error) => {
                self.report.skip(self.line, error);
                None
            }
        }
    }
}

fn parse_row(c: &Columns, fields: &[&str], line: usize) -> Result<KeaLease, RecordError> {
    if fields.len() != c.count {
        return Err(RecordError::Invalid("column count"));
    }
    let get = |i: Option<usize>| i.and_then(|i| fields.get(i)).map(|f| f.trim());
    let ip = get(Some(c.address))
        .and_then(|f| f.parse::<Ipv4Addr>().ok())
        .ok_or(RecordError::Invalid("address"))?;
    let mac = match get(c.hwaddr).unwrap_or("") {
        "" => None,
        hw => match MacAddr::parse(hw) {
            Ok(mac) => Some(mac),
            // A valid hardware address that is not 6 octets (not Ethernet).
            Err(_) if text::parse_hex(hw).is_some() => None,
            Err(_) => return Err(RecordError::Invalid("hwaddr")),
        },
    };
    let client_id = match get(c.client_id).unwrap_or("") {
        "" => None,
        hex => Some(text::hex_colon(
            &text::parse_hex(hex).ok_or(RecordError::Invalid("client_id"))?,
        )),
    };
    let valid_lifetime = get(Some(c.valid_lifetime))
        .and_then(|f| f.parse::<u32>().ok())
        .ok_or(RecordError::Invalid("valid_lifetime"))?;
    let expire = get(Some(c.expire))
        .and_then(|f| f.parse::<UnixTime>().ok())
        .ok_or(RecordError::Invalid("expire"))?;
    let subnet_id = match get(c.subnet_id).unwrap_or("") {
        "" => None,
        s => Some(
            s.parse::<u32>()
                .map_err(|_| RecordError::Invalid("subnet_id"))?,
        ),
    };
    let hostname = match get(c.hostname).unwrap_or("") {
        "" => None,
        h => Some(unescape(h)),
    };
    let state = match get(c.state).unwrap_or("") {
        "" | "0" => KeaState::Default,
        "1" => KeaState::Declined,
        "2" => KeaState::ExpiredReclaimed,
        "3" => KeaState::Released,
        "4" => KeaState::Registered,
        _ => return Err(RecordError::Invalid("state")),
    };
    Ok(KeaLease {
        ip,
        mac,
        client_id,
        valid_lifetime,
        expire,
        subnet_id,
        hostname,
        state,
        line,
    })
}

/// Undoes Kea's `&#xHH` escaping; anything that is not a complete escape stays as it is.
fn unescape(s: &str) -> String {
    if !s.contains("&#x") {
        return s.to_owned();
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i..].starts_with(b"&#x") {
            let value = bytes
                .get(i + 3..i + 5)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(v) = value {
                out.push(v);
                i += 5;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    text::lossy(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const REAL: &str = include_str!("../../tests/fixtures/identity/kea-leases4.csv");

    #[test]
    fn real_file_bind_renew_release() {
        let mut p = KeaParser::new();
        let rows = p.feed(REAL);
        let r = p.report();
        assert_eq!((r.records, r.skipped, r.ignored), (4, 0, 1), "{r}");
        let events: Vec<_> = rows.iter().map(KeaLease::to_event).collect();
        let kinds: Vec<_> = events.iter().map(|e| e.kind).collect();
        use LeaseKind::*;
        assert_eq!(kinds, vec![Bind, Bind, Bind, Release]);
        assert_eq!(events[0].hostname.as_deref(), Some("alice-laptop"));
        assert_eq!(events[0].client_id.as_deref(), Some("01:00:16:3e:5a:01:0a"));
        assert_eq!(events[0].end, LeaseEnd::At(rows[0].expire));
        assert_eq!(events[0].end.as_time() - events[0].start, 600);
        // The renewal and the release are for bob's address and device.
        assert!(events[1..]
            .iter()
            .all(|e| e.ip == events[1].ip && e.mac == events[1].mac));
        assert!(events[1].mac.unwrap().is_locally_administered());
        assert!(events[3].start >= events[2].start);
        assert_eq!(rows[1].subnet_id, Some(1));
    }

    #[test]
    fn header_driven_columns_handle_the_2_4_layout_and_escapes() {
        let text = "address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,\
                    hostname,state,user_context,pool_id\n\
                    0.0.0.10,32:30,33:30,40,1642000000,50,1,1,one.example.com,0,,0\n\
                    10.0.0.5,00:0c:29:c3:a0:3a,,4294967295,6000000000,1,0,0,a&#x2cb&#x26c&#x2,2,,0\n\
                    10.0.0.6,,,3600,1642003600,1,0,0,,1,,0\n\
                    10.0.0.7,00:0c:29:c3:a0:3b,,3600,1642003600,1,0,0,,2,{ \"x\": 1 },0\n";
        let mut p = KeaParser::new();
        let rows = p.feed(text);
        assert_eq!(p.report().records, 4, "{}", p.report());
        assert_eq!(rows[0].mac, None, "a 2-octet hwaddr is not Ethernet");
        assert_eq!(rows[0].client_id.as_deref(), Some("33:30"));
        assert_eq!(rows[0].cltt(), 1_641_999_960);
        assert_eq!(rows[1].hostname.as_deref(), Some("a,b&c&#x2"));
        assert_eq!(rows[1].state, KeaState::ExpiredReclaimed);
        assert_eq!(rows[1].to_event().kind, LeaseKind::Expire);
        let declined = rows[2].to_event();
        assert_eq!((declined.kind, declined.mac), (LeaseKind::Release, None));
        assert_eq!(declined.start, 1_642_000_000);
        // Column named "user_context" holds a comma-free JSON here; Kea escapes commas in it.
        assert_eq!(rows[3].state, KeaState::ExpiredReclaimed);
    }

    #[test]
    fn infinite_and_deleted_leases() {
        let mut p = KeaParser::new();
        let rows = p.feed(
            "10.0.0.5,00:0c:29:c3:a0:3a,,4294967295,6094967295,1,0,0,,0,\n\
             10.0.0.5,00:0c:29:c3:a0:3a,,0,1800000000,1,0,0,,0,\n",
        );
        assert_eq!(rows.len(), 2, "the 2.2 layout is assumed without a header");
        let bind = rows[0].to_event();
        assert_eq!(
            (bind.kind, bind.end, bind.start),
            (LeaseKind::Bind, LeaseEnd::Never, 1_800_000_000)
        );
        let gone = rows[1].to_event();
        assert_eq!((gone.kind, gone.start), (LeaseKind::Release, 1_800_000_000));
    }

    #[test]
    fn bad_rows_are_counted_and_partial_lines_wait() {
        let mut p = KeaParser::new();
        let text = "address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context\n\
            10.0.0.300,00:0c:29:c3:a0:3a,,600,1642000000,1,0,0,,0,\n\
            10.0.0.1,zz,,600,1642000000,1,0,0,,0,\n\
            10.0.0.1,00:0c:29:c3:a0:3a,0q,600,1642000000,1,0,0,,0,\n\
            10.0.0.1,00:0c:29:c3:a0:3a,,-1,1642000000,1,0,0,,0,\n\
            10.0.0.1,00:0c:29:c3:a0:3a,,600,soon,1,0,0,,0,\n\
            10.0.0.1,00:0c:29:c3:a0:3a,,600,1642000000,x,0,0,,0,\n\
            10.0.0.1,00:0c:29:c3:a0:3a,,600,1642000000,1,0,0,,9,\n\
            10.0.0.1,00:0c:29:c3:a0:3a,,600\n\
            address,hwaddr\n\
            10.0.0.2,00:0c:29:c3:a0:3a,,600,16420";
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
                (2, RecordError::Invalid("address")),
                (3, RecordError::Invalid("hwaddr")),
                (4, RecordError::Invalid("client_id")),
                (5, RecordError::Invalid("valid_lifetime")),
                (6, RecordError::Invalid("expire")),
                (7, RecordError::Invalid("subnet_id")),
                (8, RecordError::Invalid("state")),
                (9, RecordError::Invalid("column count")),
            ]
        );
        assert_eq!(
            p.report().skipped,
            9,
            "and the header without required columns"
        );
        // The partial row completes with the next chunk.
        let rows = p.feed("00000,1,0,0,,0,\r\n");
        assert_eq!(rows.len(), 1);
        assert_eq!((rows[0].expire, rows[0].line), (1_642_000_000, 11));
        assert_eq!(p.take_report().records, 1);
    }

    #[test]
    fn corrupted_files_never_panic() {
        for text in text::corruptions(REAL) {
            let mut p = KeaParser::new();
            let rows = p.feed(&text);
            assert_eq!(p.report().records, rows.len() as u64);
            let _ = rows.iter().map(KeaLease::to_event).count();
        }
    }

    #[test]
    fn every_split_point_gives_the_same_rows() {
        let expected = KeaParser::new().feed(REAL);
        for split in 0..=REAL.len() {
            let mut p = KeaParser::new();
            let mut got = p.feed(&REAL[..split]);
            got.extend(p.feed(&REAL[split..]));
            assert_eq!(got, expected, "split at {split}");
        }
    }
}
