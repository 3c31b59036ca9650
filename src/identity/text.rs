//! Small decoding helpers shared by the file parsers: C-style quoted strings (dhcpd and
//! FreeRADIUS escape the same way), colon-separated hex and UTC calendar times.

use super::event::UnixTime;

/// Decodes a double-quoted string at the start of `s` with `\"`, `\\`, `\ooo` (octal), `\n`,
/// `\r` and `\t` escapes. Returns the bytes and the text after the closing quote, or `None`
/// when `s` does not start with a quote or the closing quote is missing.
pub(crate) fn unquote(s: &str) -> Option<(Vec<u8>, &str)> {
    let bytes = s.as_bytes();
    if bytes.first() != Some(&b'"') {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 1;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'"' => return Some((out, &s[i + 1..])),
            b'\\' => {
                let next = *bytes.get(i + 1)?;
                i += 2;
                match next {
                    b'0'..=b'7' => {
                        let mut value = u32::from(next - b'0');
                        let mut digits = 1;
                        while digits < 3 {
                            match bytes.get(i) {
                                Some(d @ b'0'..=b'7') => {
                                    value = value * 8 + u32::from(d - b'0');
                                    i += 1;
                                    digits += 1;
                                }
                                _ => break,
                            }
                        }
                        out.push(u8::try_from(value).ok()?);
                    }
                    b'n' => out.push(b'\n'),
                    b'r' => out.push(b'\r'),
                    b't' => out.push(b'\t'),
                    // `\"`, `\\` and anything else: the character itself.
                    other => out.push(other),
                }
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    None
}

/// Lossy UTF-8: names written by other software are shown, never trusted.
pub(crate) fn lossy(bytes: Vec<u8>) -> String {
    match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

/// Lowercase colon-separated hex, as dnsmasq and Kea write client identifiers.
pub(crate) fn hex_colon(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            s.push(':');
        }
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    s
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Parses colon-separated hex with one or two digits per group (`01:08:0:27`), or plain
/// even-length hex (`0108`). `None` for anything else, including the empty string.
pub(crate) fn parse_hex(s: &str) -> Option<Vec<u8>> {
    if s.is_empty() {
        return None;
    }
    if s.contains(':') {
        return s
            .split(':')
            .map(|g| {
                if g.is_empty() || g.len() > 2 {
                    None
                } else {
                    u8::from_str_radix(g, 16).ok()
                }
            })
            .collect();
    }
    if s.len() % 2 != 0 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// A UTC calendar time as Unix seconds, `None` when any part is out of range.
pub(crate) fn utc_timestamp(
    year: i32,
    month: u8,
    day: u8,
    hour: u8,
    minute: u8,
    second: u8,
) -> Option<UnixTime> {
    let month = time::Month::try_from(month).ok()?;
    let date = time::Date::from_calendar_date(year, month, day).ok()?;
    let clock = time::Time::from_hms(hour, minute, second).ok()?;
    Some(
        time::PrimitiveDateTime::new(date, clock)
            .assume_utc()
            .unix_timestamp(),
    )
}

/// `HH:MM:SS` as its three parts.
pub(crate) fn parse_hms(s: &str) -> Option<(u8, u8, u8)> {
    let mut it = s.split(':').map(|p| p.parse::<u8>().ok());
    let out = (it.next()??, it.next()??, it.next()??);
    it.next().is_none().then_some(out)
}

/// The month number of an English three-letter abbreviation (`Jan` = 1).
pub(crate) fn month_number(abbrev: &str) -> Option<u8> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    MONTHS
        .iter()
        .position(|m| *m == abbrev)
        .and_then(|i| u8::try_from(i + 1).ok())
}

/// Test inputs: `text` with each character position in turn replaced by characters that
/// matter to some format (quotes, escapes, braces, separators, line ends, multi-byte).
/// Splits text that arrives in chunks into whole lines, keeping an unfinished last line until
/// its newline arrives (appended files are read while they are being written).
#[derive(Debug, Default)]
pub(crate) struct LineBuffer {
    partial: String,
}

impl LineBuffer {
    /// The lines `chunk` completes (joined with any unfinished line from earlier chunks,
    /// trailing `\r`s removed), in order; and `true` when the unfinished tail grew past `max`
    /// bytes and was dropped as garbage.
    pub(crate) fn split(&mut self, chunk: &str, max: usize) -> (Vec<String>, bool) {
        let mut lines = Vec::new();
        let mut rest = chunk;
        while let Some(pos) = rest.find('\n') {
            let (piece, tail) = rest.split_at(pos);
            rest = &tail[1..];
            let mut line = std::mem::take(&mut self.partial);
            line.push_str(piece);
            let trimmed = line.trim_end_matches('\r').len();
            line.truncate(trimmed);
            lines.push(line);
        }
        self.partial.push_str(rest);
        let overflow = self.partial.len() > max;
        if overflow {
            self.partial.clear();
        }
        (lines, overflow)
    }
}

#[cfg(test)]
pub(crate) fn corruptions(text: &str) -> impl Iterator<Item = String> + '_ {
    const NASTY: [&str; 12] = [
        "\"", "\\", "{", "}", ";", "#", ",", "\n", "\t", " = ", "é", "",
    ];
    text.char_indices().flat_map(move |(i, c)| {
        NASTY.iter().map(move |n| {
            let mut s = String::with_capacity(text.len() + 4);
            s.push_str(&text[..i]);
            s.push_str(n);
            s.push_str(&text[i + c.len_utf8()..]);
            s
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unquote_handles_every_escape() {
        let (b, rest) = unquote(r#""\001\010\000'\245\270\207"; tail"#).unwrap();
        assert_eq!(b, [1, 8, 0, b'\'', 0o245, 0o270, 0o207]);
        assert_eq!(rest, "; tail");
        let (b, _) = unquote(r#""o\"neil\\staff""#).unwrap();
        assert_eq!(b, br#"o"neil\staff"#);
        let (b, _) = unquote(r#""a\tb\nc\7d\12""#).unwrap();
        assert_eq!(b, b"a\tb\nc\x07d\n");
        assert_eq!(unquote(r#""zoë""#).unwrap().0, "zoë".as_bytes());
    }

    #[test]
    fn unquote_rejects_unterminated_and_out_of_range() {
        assert_eq!(unquote(r#""abc"#), None);
        assert_eq!(unquote(r#""abc\"#), None);
        assert_eq!(unquote("abc"), None);
        assert_eq!(unquote(""), None);
        assert_eq!(unquote(r#""\777""#), None);
    }

    #[test]
    fn hex_round_trips() {
        assert_eq!(hex_colon(&[1, 0xaa, 0x0b]), "01:aa:0b");
        assert_eq!(hex_colon(&[]), "");
        assert_eq!(parse_hex("01:aa:0b"), Some(vec![1, 0xaa, 0x0b]));
        assert_eq!(parse_hex("1:8:0:27"), Some(vec![1, 8, 0, 0x27]));
        assert_eq!(parse_hex("01AA0b"), Some(vec![1, 0xaa, 0x0b]));
        for bad in ["", "0", "01:", ":01", "01:xyz", "0g", "001:02", "é1"] {
            assert_eq!(parse_hex(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn calendar_times_are_utc() {
        assert_eq!(utc_timestamp(1970, 1, 1, 0, 0, 0), Some(0));
        assert_eq!(utc_timestamp(2025, 9, 24, 12, 8, 3), Some(1_758_715_683));
        assert_eq!(utc_timestamp(2025, 2, 30, 0, 0, 0), None);
        assert_eq!(utc_timestamp(2025, 13, 1, 0, 0, 0), None);
        assert_eq!(parse_hms("12:08:03"), Some((12, 8, 3)));
        assert_eq!(parse_hms("12:08"), None);
        assert_eq!(parse_hms("12:08:03:01"), None);
        assert_eq!(month_number("Nov"), Some(11));
        assert_eq!(month_number("nov"), None);
    }
}
