//! ISC dhcpd `dhcpd.leases` (dhcpd.leases(5); isc-dhcp `server/db.c`).
//!
//! The file is a log: every acquire, renewal and release appends a whole `lease <ip> { ... }`
//! block, so the last block for an address is its current state and the sequence of blocks is
//! its history. Statements end in `;`, blocks in `}`; `#` starts a comment; strings are quoted
//! with `\"`, `\\` and `\ooo` escapes. Times are `W YYYY/MM/DD HH:MM:SS` (UTC), `epoch N`
//! (`db-time-format local`) or `never`. Other top-level blocks (`failover`, `host`, `class`,
//! DHCPv6 `ia-na`) and unknown statements are ignored.
//!
//! [`DhcpdParser`] is incremental: feed it text as the file grows, in chunks that may end
//! anywhere; it keeps an unfinished statement or block until the rest arrives.

use std::net::{IpAddr, Ipv4Addr};

use super::event::{LeaseEnd, LeaseEvent, LeaseKind, Source, UnixTime};
use super::mac::MacAddr;
use super::report::{ParseReport, RecordError};
use super::text;

/// An unterminated statement longer than this is garbage (a real one is under 1 KiB).
const MAX_PENDING: usize = 64 * 1024;

/// dhcpd's `binding state` of a lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindingState {
    /// Bound to a client.
    Active,
    /// Available (after a release or expiry: dhcpd writes `free` for both).
    Free,
    /// Expired, not yet freed.
    Expired,
    /// Released by the client, not yet freed.
    Released,
    /// Declined by the client or found in use (ping); not bound to anyone.
    Abandoned,
    /// Reset by an operator.
    Reset,
    /// Held by the failover peer; says nothing about a client.
    Backup,
}

impl BindingState {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "active" => BindingState::Active,
            "free" => BindingState::Free,
            "expired" => BindingState::Expired,
            "released" => BindingState::Released,
            "abandoned" => BindingState::Abandoned,
            "reset" => BindingState::Reset,
            "backup" => BindingState::Backup,
            _ => return None,
        })
    }
}

/// One `lease` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DhcpdLease {
    /// The leased address.
    pub ip: Ipv4Addr,
    /// `starts`: when the current binding began.
    pub starts: Option<UnixTime>,
    /// `ends`: when the lease runs out (or ran out, or was released).
    pub ends: Option<LeaseEnd>,
    /// `cltt`: client last transaction time.
    pub cltt: Option<UnixTime>,
    /// `binding state`.
    pub state: BindingState,
    /// `hardware ethernet`.
    pub mac: Option<MacAddr>,
    /// `uid` (the client identifier) as colon hex.
    pub client_id: Option<String>,
    /// `client-hostname`.
    pub hostname: Option<String>,
    /// 1-based line where the block starts.
    pub line: usize,
}

impl DhcpdLease {
    /// The event this block stands for: an active block binds (from `starts`, else `cltt`, to
    /// `ends`); `expired` expires and `free`/`released`/`abandoned`/`reset` release, at `ends`
    /// (else `cltt`). `None` for `backup` blocks.
    pub fn to_event(&self) -> Option<LeaseEvent> {
        let ended_at = match self.ends {
            Some(LeaseEnd::At(t)) => Some(t),
            _ => self.cltt,
        };
        let (kind, start, end) = match self.state {
            BindingState::Backup => return None,
            BindingState::Active => (
                LeaseKind::Bind,
                self.starts.or(self.cltt)?,
                self.ends.unwrap_or(LeaseEnd::Never),
            ),
            BindingState::Expired => (LeaseKind::Expire, ended_at?, LeaseEnd::At(ended_at?)),
            BindingState::Free
            | BindingState::Released
            | BindingState::Abandoned
            | BindingState::Reset => (LeaseKind::Release, ended_at?, LeaseEnd::At(ended_at?)),
        };
        Some(LeaseEvent {
            kind,
            ip: IpAddr::V4(self.ip),
            mac: self.mac,
            hostname: self.hostname.clone(),
            client_id: self.client_id.clone(),
            start,
            end,
            source: Source::IscDhcpd,
        })
    }
}

/// An incremental `dhcpd.leases` parser.
#[derive(Debug, Default)]
pub struct DhcpdParser {
    pending: String,
    /// Line number of the first character of `pending`, 0-based.
    line: usize,
    state: State,
    report: ParseReport,
}

#[derive(Debug, Default)]
enum State {
    #[default]
    Top,
    Lease(Block),
    /// Inside a block gatewatch does not use, `depth` braces deep.
    Skip(usize),
}

#[derive(Debug)]
struct Block {
    ip: Ipv4Addr,
    line: usize,
    /// Nested `on commit { ... }`-style blocks currently open.
    depth: usize,
    error: Option<RecordError>,
    starts: Option<UnixTime>,
    ends: Option<LeaseEnd>,
    cltt: Option<UnixTime>,
    state: Option<BindingState>,
    mac: Option<MacAddr>,
    client_id: Option<String>,
    hostname: Option<String>,
}

impl DhcpdParser {
    /// A parser at the start of a file.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds the next chunk of the file and returns the blocks it completed, in file order.
    pub fn feed(&mut self, chunk: &str) -> Vec<DhcpdLease> {
        self.pending.push_str(chunk);
        let mut out = Vec::new();
        let mut stmt = String::new();
        let mut stmt_line = self.line;
        let mut line = self.line;
        let mut consumed = 0;
        let mut consumed_line = self.line;
        let (mut in_quote, mut escaped, mut in_comment) = (false, false, false);
        // Statements are copied out so the scan does not borrow `self.pending`.
        let pending = std::mem::take(&mut self.pending);
        for (i, c) in pending.char_indices() {
            if c == '\n' {
                line += 1;
            }
            if in_comment {
                in_comment = c != '\n';
                continue;
            }
            if in_quote {
                stmt.push(c);
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == '"' {
                    in_quote = false;
                }
                continue;
            }
            match c {
                '#' => in_comment = true,
                ';' | '{' | '}' => {
                    let at = if stmt.is_empty() { line } else { stmt_line };
                    self.statement(stmt.trim(), c, at + 1, &mut out);
                    stmt.clear();
                    consumed = i + 1;
                    consumed_line = line;
                }
                c if c.is_whitespace() => {
                    if !stmt.is_empty() && !stmt.ends_with(' ') {
                        stmt.push(' ');
                    }
                }
                c => {
                    if stmt.is_empty() {
                        stmt_line = line;
                    }
                    stmt.push(c);
                    in_quote = c == '"';
                }
            }
        }
        self.pending = pending;
        self.pending.drain(..consumed);
        self.line = consumed_line;
        if self.pending.len() > MAX_PENDING {
            self.report.skip(self.line + 1, RecordError::Truncated);
            self.line += self.pending.matches('\n').count();
            self.pending.clear();
            self.state = State::Top;
        }
        out
    }

    /// Counts so far (records, skipped blocks, ignored statements).
    pub fn report(&self) -> &ParseReport {
        &self.report
    }

    /// Returns the counts so far and starts new ones.
    pub fn take_report(&mut self) -> ParseReport {
        std::mem::take(&mut self.report)
    }

    fn statement(&mut self, stmt: &str, end: char, line: usize, out: &mut Vec<DhcpdLease>) {
        match (&mut self.state, end) {
            (State::Skip(depth), '{') => *depth += 1,
            (State::Skip(depth), '}') => {
                *depth -= 1;
                if *depth == 0 {
                    self.state = State::Top;
                }
            }
            (State::Skip(_), _) => {}
            (State::Lease(block), '{') if block.depth == 0 && is_lease_header(stmt) => {
                // A new block before the old one closed: the old one was cut off.
                let old = block.line;
                self.report.skip(old, RecordError::Truncated);
                self.state = State::Top;
                self.statement(stmt, end, line, out);
            }
            (State::Lease(block), '{') => block.depth += 1,
            (State::Lease(block), '}') if block.depth > 0 => block.depth -= 1,
            (State::Lease(_), '}') => {
                if let State::Lease(block) = std::mem::take(&mut self.state) {
                    match block.finish() {
                        Ok(lease) => {
                            self.report.record();
                            out.push(lease);
                        }
                        Err(error) => self.report.skip(block.line, error),
                    }
                }
            }
            (State::Lease(block), _) if block.depth > 0 => {}
            (State::Lease(block), _) => block.field(stmt),
            (State::Top, '{') => {
                if let Some(ip) = stmt.strip_prefix("lease ") {
                    match ip.trim().parse::<Ipv4Addr>() {
                        Ok(ip) => self.state = State::Lease(Block::new(ip, line)),
                        Err(_) => {
                            self.report.skip(line, RecordError::Invalid("lease"));
                            self.state = State::Skip(1);
                        }
                    }
                } else {
                    self.report.ignore();
                    self.state = State::Skip(1);
                }
            }
            (State::Top, '}') => self.report.skip(line, RecordError::Unrecognised),
            (State::Top, _) => {
                if !stmt.is_empty() {
                    self.report.ignore();
                }
            }
        }
    }
}

fn is_lease_header(stmt: &str) -> bool {
    stmt.starts_with("lease ")
}

impl Block {
    fn new(ip: Ipv4Addr, line: usize) -> Self {
        Block {
            ip,
            line,
            depth: 0,
            error: None,
            starts: None,
            ends: None,
            cltt: None,
            state: None,
            mac: None,
            client_id: None,
            hostname: None,
        }
    }

    fn fail(&mut self, error: RecordError) {
        self.error.get_or_insert(error);
    }

    fn field(&mut self, stmt: &str) {
        let (key, rest) = stmt.split_once(' ').unwrap_or((stmt, ""));
        match key {
            "starts" => match parse_time(rest) {
                Some(LeaseEnd::At(t)) => self.starts = Some(t),
                _ => self.fail(RecordError::Invalid("starts")),
            },
            "ends" => match parse_time(rest) {
                Some(end) => self.ends = Some(end),
                None => self.fail(RecordError::Invalid("ends")),
            },
            "cltt" => match parse_time(rest) {
                Some(LeaseEnd::At(t)) => self.cltt = Some(t),
                _ => self.fail(RecordError::Invalid("cltt")),
            },
            "binding" => match rest.strip_prefix("state ").and_then(BindingState::parse) {
                Some(state) => self.state = Some(state),
                None => self.fail(RecordError::Invalid("binding state")),
            },
            "hardware" => match rest.split_once(' ') {
                Some(("ethernet", mac)) => match MacAddr::parse(mac) {
                    Ok(mac) => self.mac = Some(mac),
                    Err(_) => self.fail(RecordError::Invalid("hardware ethernet")),
                },
                Some(_) => {} // token-ring, fddi, infiniband: no Ethernet address
                None => self.fail(RecordError::Invalid("hardware")),
            },
            "uid" => {
                let bytes = match text::unquote(rest) {
                    Some((bytes, tail)) if tail.trim().is_empty() => Some(bytes),
                    Some(_) => None,
                    None => text::parse_hex(rest),
                };
                match bytes {
                    Some(bytes) if !bytes.is_empty() => {
                        self.client_id = Some(text::hex_colon(&bytes))
                    }
                    _ => self.fail(RecordError::Invalid("uid")),
                }
            }
            "client-hostname" => match text::unquote(rest) {
                Some((bytes, tail)) if tail.trim().is_empty() => {
                    self.hostname = Some(text::lossy(bytes))
                }
                _ => self.fail(RecordError::Invalid("client-hostname")),
            },
            // next/rewind binding state, tstp, tsfp, atsfp, set, on, deleted, ...
            _ => {}
        }
    }

    fn finish(&self) -> Result<DhcpdLease, RecordError> {
        if let Some(error) = self.error {
            return Err(error);
        }
        let state = self.state.ok_or(RecordError::Missing("binding state"))?;
        let lease = DhcpdLease {
            ip: self.ip,
            starts: self.starts,
            ends: self.ends,
            cltt: self.cltt,
            state,
            mac: self.mac,
            client_id: self.client_id.clone(),
            hostname: self.hostname.clone(),
            line: self.line,
        };
        if state != BindingState::Backup && lease.to_event().is_none() {
            return Err(if state == BindingState::Active {
                RecordError::Missing("starts")
            } else {
                RecordError::Missing("ends")
            });
        }
        Ok(lease)
    }
}

/// `never`, `epoch N` or `W YYYY/MM/DD HH:MM:SS` (UTC).
fn parse_time(s: &str) -> Option<LeaseEnd> {
    let parts: Vec<&str> = s.split_ascii_whitespace().collect();
    match parts[..] {
        ["never"] => Some(LeaseEnd::Never),
        ["epoch", secs] => secs.parse::<UnixTime>().ok().map(LeaseEnd::At),
        [weekday, date, clock] => {
            weekday.parse::<u8>().ok().filter(|w| *w <= 6)?;
            let mut d = date.split('/');
            let year = d.next()?.parse::<i32>().ok()?;
            let month = d.next()?.parse::<u8>().ok()?;
            let day = d.next()?.parse::<u8>().ok()?;
            if d.next().is_some() {
                return None;
            }
            let (h, m, sec) = text::parse_hms(clock)?;
            text::utc_timestamp(year, month, day, h, m, sec).map(LeaseEnd::At)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REAL: &str = include_str!("../../tests/fixtures/identity/dhcpd.leases");

    const DOC_SAMPLE: &str = "lease 192.168.56.50 {
  starts 3 2025/09/24 12:08:03;
  ends 3 2025/09/24 12:18:03;
  cltt 3 2025/09/24 12:08:03;
  binding state active;
  next binding state free;
  rewind binding state free;
  hardware ethernet 08:00:27:a5:b8:87;
  uid \"\\001\\010\\000'\\245\\270\\207\";
  client-hostname \"ubuntu\";
}
";

    #[test]
    fn documented_sample_parses_exactly() {
        let mut p = DhcpdParser::new();
        let leases = p.feed(DOC_SAMPLE);
        assert_eq!(leases.len(), 1);
        let l = &leases[0];
        assert_eq!(l.ip, Ipv4Addr::new(192, 168, 56, 50));
        assert_eq!(l.starts, Some(1_758_715_683));
        assert_eq!(l.ends, Some(LeaseEnd::At(1_758_715_683 + 600)));
        assert_eq!(l.state, BindingState::Active);
        assert_eq!(l.mac, MacAddr::parse("08:00:27:a5:b8:87").ok());
        assert_eq!(l.client_id.as_deref(), Some("01:08:00:27:a5:b8:87"));
        assert_eq!(l.hostname.as_deref(), Some("ubuntu"));
        let e = l.to_event().unwrap();
        assert_eq!(
            (e.kind, e.start, e.source),
            (LeaseKind::Bind, 1_758_715_683, Source::IscDhcpd)
        );
        assert_eq!(p.report().records, 1);
    }

    #[test]
    fn real_file_bind_bind_release() {
        let mut p = DhcpdParser::new();
        let leases = p.feed(REAL);
        let r = p.report();
        assert_eq!((r.records, r.skipped), (3, 0), "{r}");
        assert_eq!(r.ignored, 2, "authoring-byte-order and server-duid");
        let events: Vec<_> = leases.iter().filter_map(DhcpdLease::to_event).collect();
        let kinds: Vec<_> = events
            .iter()
            .map(|e| (e.kind, e.hostname.as_deref()))
            .collect();
        assert_eq!(
            kinds,
            vec![
                (LeaseKind::Bind, Some("alice-laptop")),
                (LeaseKind::Bind, Some("bob-phone")),
                (LeaseKind::Release, None),
            ]
        );
        // The release block is the same address and device, ending at its `ends`.
        assert_eq!(events[1].ip, events[2].ip);
        assert_eq!(events[1].mac, events[2].mac);
        assert!(events[2].start >= events[1].start && events[2].start < events[1].end.as_time());
        assert_eq!(events[0].client_id.as_deref(), Some("01:00:16:3e:5a:01:0a"));
        assert_eq!(events[1].client_id.as_deref(), Some("01:3a:9f:01:c2:77:10"));
    }

    #[test]
    fn every_split_point_gives_the_same_result() {
        let mut whole = DhcpdParser::new();
        let expected = whole.feed(REAL);
        for split in 0..=REAL.len() {
            if !REAL.is_char_boundary(split) {
                continue;
            }
            let mut p = DhcpdParser::new();
            let mut got = p.feed(&REAL[..split]);
            got.extend(p.feed(&REAL[split..]));
            assert_eq!(got, expected, "split at {split}");
            assert_eq!(p.report(), whole.report(), "split at {split}");
        }
        // One character at a time.
        let mut p = DhcpdParser::new();
        let mut got = Vec::new();
        for c in REAL.chars() {
            got.extend(p.feed(c.encode_utf8(&mut [0; 4])));
        }
        assert_eq!(got, expected);
    }

    #[test]
    fn epoch_never_hex_uid_comments_and_nested_blocks() {
        let text = "# comment { not a block }\n\
            failover peer \"x\" state { my state normal at 1 2025/01/01 00:00:00; }\n\
            lease 10.0.0.7 { # trailing comment; with { braces }\n\
              starts epoch 1758715683; # Wed Sep 24 12:08:03 2025\n\
              ends never;\n\
              binding state active;\n\
              hardware ethernet 00:0C:29:C3:A0:3A;\n\
              uid 01:00:0c:29:c3:a0:3a;\n\
              client-hostname \"o\\\"neil;#{}\";\n\
              on expiry { set x = \"}\"; }\n\
              set vendor-class-identifier = \"a;b\";\n\
            }\n\
            host fixed { dynamic; hardware ethernet 00:00:00:00:00:01; deleted; }\n";
        let mut p = DhcpdParser::new();
        let leases = p.feed(text);
        assert_eq!(leases.len(), 1, "{}", p.report());
        let l = &leases[0];
        assert_eq!(l.starts, Some(1_758_715_683));
        assert_eq!(l.ends, Some(LeaseEnd::Never));
        assert_eq!(l.client_id.as_deref(), Some("01:00:0c:29:c3:a0:3a"));
        assert_eq!(l.hostname.as_deref(), Some("o\"neil;#{}"));
        assert_eq!(l.line, 3);
        assert_eq!(l.to_event().unwrap().end, LeaseEnd::Never);
        assert_eq!((p.report().skipped, p.report().ignored), (0, 2));
    }

    #[test]
    fn malformed_blocks_are_skipped_and_counted() {
        let text = "lease 10.0.0.300 { binding state active; }\n\
            lease 10.0.0.1 { starts 3 2025/13/24 12:08:03; binding state active; }\n\
            lease 10.0.0.2 { binding state sideways; }\n\
            lease 10.0.0.3 { hardware ethernet 00:11; binding state active; }\n\
            lease 10.0.0.4 { ends never; }\n\
            lease 10.0.0.5 { binding state active; }\n\
            lease 10.0.0.6 { starts 3 2025/09/24 12:08:03;\n\
            lease 10.0.0.7 { cltt epoch 5; binding state active; uid \"\\777\"; }\n\
            }\n\
            lease 10.0.0.8 { cltt epoch 5; ends epoch 6; binding state backup; }\n";
        let mut p = DhcpdParser::new();
        let leases = p.feed(text);
        let r = p.take_report();
        let errors: Vec<_> = r.problems.iter().map(|p| (p.line, p.error)).collect();
        assert_eq!(
            errors,
            vec![
                (1, RecordError::Invalid("lease")),
                (2, RecordError::Invalid("starts")),
                (3, RecordError::Invalid("binding state")),
                (4, RecordError::Invalid("hardware ethernet")),
                (5, RecordError::Missing("binding state")),
                (6, RecordError::Missing("starts")),
                (7, RecordError::Truncated),
                (8, RecordError::Invalid("uid")),
            ]
        );
        assert_eq!(
            r.skipped, 9,
            "the stray closing brace on line 9 is counted too"
        );
        assert_eq!(leases.len(), 1);
        assert_eq!(leases[0].state, BindingState::Backup);
        assert_eq!(leases[0].to_event(), None);
        assert_eq!(p.report(), &ParseReport::default());
    }

    #[test]
    fn corrupted_files_never_panic() {
        for text in text::corruptions(REAL) {
            let mut p = DhcpdParser::new();
            let leases = p.feed(&text);
            assert!(leases.len() <= 3 && p.report().records == leases.len() as u64);
            let _ = leases.iter().map(DhcpdLease::to_event).count();
        }
    }

    #[test]
    fn an_endless_statement_is_dropped_not_hoarded() {
        let mut p = DhcpdParser::new();
        let junk = "x".repeat(MAX_PENDING + 1);
        assert!(p.feed(&junk).is_empty());
        assert_eq!(p.report().skipped, 1);
        assert_eq!(p.feed(DOC_SAMPLE).len(), 1);
    }
}
