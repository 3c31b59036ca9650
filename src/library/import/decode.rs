//! Lines of a list file as text: UTF-8 where valid, otherwise the most plausible of the
//! legacy encodings the list's language suggests.
//!
//! Decoding is per line because shipped lists mix encodings: the Japanese list carries every
//! phrase in UTF-8, EUC-JP and Shift_JIS, and the Russian one mixes KOI8-R with Windows-1251.
//! Among several candidates the one whose text looks most like words wins: lower-case letters,
//! ideographs and kana score; C1 controls, half-width katakana (the typical result of reading
//! EUC-JP as Shift_JIS) and private-use characters count against.

use std::borrow::Cow;

use encoding_rs::{Encoding, WINDOWS_1252};

/// The UTF-8 byte-order mark.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Splits a file into lines: a leading UTF-8 BOM is dropped, lines end at `\n`, and a `\r`
/// before it is dropped. Yields 1-based line numbers.
pub(crate) fn lines(bytes: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    let bytes = bytes.strip_prefix(BOM).unwrap_or(bytes);
    let trailing_newline = bytes.ends_with(b"\n");
    let mut all: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
    if trailing_newline || bytes.is_empty() {
        all.pop();
    }
    all.into_iter()
        .enumerate()
        .map(|(i, l)| (i + 1, l.strip_suffix(b"\r").unwrap_or(l)))
}

/// Decodes lines with a fixed list of legacy candidates.
#[derive(Debug, Clone)]
pub(crate) struct Decoder {
    candidates: Vec<&'static Encoding>,
}

impl Decoder {
    /// A decoder trying `candidates` (in order of preference) for lines that are not UTF-8;
    /// Windows-1252 when the list is empty.
    pub(crate) fn new(candidates: Vec<&'static Encoding>) -> Decoder {
        let candidates = if candidates.is_empty() {
            vec![WINDOWS_1252]
        } else {
            candidates
        };
        Decoder { candidates }
    }

    /// The line as text, and the legacy encoding used (`None` for UTF-8). Bytes no candidate
    /// can decode become U+FFFD (single-byte candidates decode everything).
    pub(crate) fn line<'a>(&self, bytes: &'a [u8]) -> (Cow<'a, str>, Option<&'static Encoding>) {
        if let Ok(text) = std::str::from_utf8(bytes) {
            return (Cow::Borrowed(text), None);
        }
        let mut best: Option<(i64, Cow<'a, str>, &'static Encoding)> = None;
        for enc in &self.candidates {
            let Some(text) = enc.decode_without_bom_handling_and_without_replacement(bytes) else {
                continue;
            };
            let score = plausibility(&text);
            if best.as_ref().is_none_or(|(s, _, _)| score > *s) {
                best = Some((score, text, enc));
            }
        }
        match best {
            Some((_, text, enc)) => (text, Some(enc)),
            None => {
                let enc = self.candidates[0];
                let (text, _) = enc.decode_without_bom_handling(bytes);
                (text, Some(enc))
            }
        }
    }
}

/// How much `text` looks like words (higher is better).
fn plausibility(text: &str) -> i64 {
    text.chars()
        .map(|c| match c {
            '\u{FF61}'..='\u{FF9F}' => -3, // half-width katakana
            '\u{3040}'..='\u{30FF}' | '\u{4E00}'..='\u{9FFF}' | '\u{AC00}'..='\u{D7AF}' => 2,
            '\u{E000}'..='\u{F8FF}' | '\u{FFFD}' => -5,
            c if c.is_control() && !matches!(c, '\t') => -5,
            c if c.is_lowercase() => 2,
            c if c.is_alphabetic() => 0,
            c if c.is_ascii() => 0,
            _ => -1,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use encoding_rs::{
        BIG5, EUC_JP, GBK, ISO_8859_2, KOI8_R, SHIFT_JIS, WINDOWS_1250, WINDOWS_1251,
    };

    use super::*;

    fn encode(enc: &'static Encoding, s: &str) -> Vec<u8> {
        let (bytes, _, unmappable) = enc.encode(s);
        assert!(!unmappable, "{s} in {}", enc.name());
        bytes.into_owned()
    }

    /// Decodes into an owned string (the line bytes are temporaries in these tests).
    fn owned(d: &Decoder, bytes: &[u8]) -> (String, Option<&'static Encoding>) {
        let (text, enc) = d.line(bytes);
        (text.into_owned(), enc)
    }

    #[test]
    fn lines_drop_bom_crlf_and_final_newline() {
        let got: Vec<_> = lines(b"\xEF\xBB\xBFa\r\nb\n\nc\n").collect();
        assert_eq!(
            got,
            vec![
                (1, &b"a"[..]),
                (2, &b"b"[..]),
                (3, &b""[..]),
                (4, &b"c"[..])
            ]
        );
        assert_eq!(lines(b"x").count(), 1);
        assert_eq!(lines(b"").count(), 0);
    }

    #[test]
    fn utf8_lines_pass_through() {
        let d = Decoder::new(vec![KOI8_R, WINDOWS_1251]);
        let (text, enc) = d.line("<анал><40>".as_bytes());
        assert_eq!(text, "<анал><40>");
        assert_eq!(enc, None);
    }

    #[test]
    fn russian_koi8_r_and_windows_1251_are_told_apart_per_line() {
        let d = Decoder::new(vec![KOI8_R, WINDOWS_1251]);
        for (enc, word) in [(KOI8_R, "проститутки"), (WINDOWS_1251, "анальный секс")]
        {
            let line = format!("<{word}><50> #x");
            let (text, used) = owned(&d, &encode(enc, &line));
            assert_eq!(text, line);
            assert_eq!(used, Some(enc));
        }
    }

    #[test]
    fn japanese_shift_jis_and_euc_jp_are_told_apart_per_line() {
        let d = Decoder::new(vec![SHIFT_JIS, EUC_JP]);
        for enc in [SHIFT_JIS, EUC_JP] {
            for word in ["少女", "オナニー", "裸体", "18歳以上"] {
                let line = format!("<{word}><50>");
                let (text, used) = owned(&d, &encode(enc, &line));
                assert_eq!(text, line, "{} {word}", enc.name());
                assert_eq!(used, Some(enc));
            }
        }
    }

    #[test]
    fn chinese_polish_and_western_legacy_lines() {
        let big5 = Decoder::new(vec![BIG5]);
        let (text, _) = owned(&big5, &encode(BIG5, "<色情><30>"));
        assert_eq!(text, "<色情><30>");
        let gbk = Decoder::new(vec![GBK, BIG5]);
        let (text, used) = owned(&gbk, &encode(GBK, "<性感女神><30>"));
        assert_eq!((text.as_str(), used), ("<性感女神><30>", Some(GBK)));
        let pl = Decoder::new(vec![ISO_8859_2, WINDOWS_1250]);
        for enc in [ISO_8859_2, WINDOWS_1250] {
            let (text, used) = owned(&pl, &encode(enc, "<zdjęcia ściśle źródło><30>"));
            assert_eq!(text, "<zdjęcia ściśle źródło><30>");
            assert_eq!(used, Some(enc));
        }
        let west = Decoder::new(vec![]);
        let (text, used) = owned(&west, b"< encul\xe9 ><70>");
        assert_eq!(
            (text.as_str(), used),
            ("< enculé ><70>", Some(WINDOWS_1252))
        );
    }
}
