//! HTML character references: the named entities people actually write (the 252 of HTML 4,
//! `&apos;`, and about 120 common HTML 5 names: Central European letters, punctuation, symbols)
//! and numeric references (`&#233;`, `&#xE9;`), resolved as the WHATWG parser does (code points
//! 0x80 to 0x9F mean windows-1252, invalid ones become U+FFFD). Used by the streaming HTML
//! extractor for text and by [`decode_into`] for attribute values.

/// The longest entity name looked up; longer runs are not references.
pub(crate) const MAX_NAME: usize = 32;

/// Named entities, sorted by name (bytewise) for binary search.
#[rustfmt::skip]
static NAMED: &[(&str, char)] = &[
    ("AElig", '\u{c6}'), ("AMP", '\u{26}'), ("Aacute", '\u{c1}'), ("Abreve", '\u{102}'),
    ("Acirc", '\u{c2}'), ("Agrave", '\u{c0}'), ("Alpha", '\u{391}'), ("Amacr", '\u{100}'),
    ("Aogon", '\u{104}'), ("Aring", '\u{c5}'), ("Atilde", '\u{c3}'), ("Auml", '\u{c4}'),
    ("Beta", '\u{392}'), ("COPY", '\u{a9}'), ("Cacute", '\u{106}'), ("Ccaron", '\u{10c}'),
    ("Ccedil", '\u{c7}'), ("Chi", '\u{3a7}'), ("Dagger", '\u{2021}'), ("Dcaron", '\u{10e}'),
    ("Delta", '\u{394}'), ("ETH", '\u{d0}'), ("Eacute", '\u{c9}'), ("Ecaron", '\u{11a}'),
    ("Ecirc", '\u{ca}'), ("Egrave", '\u{c8}'), ("Emacr", '\u{112}'), ("Eogon", '\u{118}'),
    ("Epsilon", '\u{395}'), ("Eta", '\u{397}'), ("Euml", '\u{cb}'), ("GT", '\u{3e}'),
    ("Gamma", '\u{393}'), ("Gbreve", '\u{11e}'), ("Hat", '\u{5e}'), ("Iacute", '\u{cd}'),
    ("Icirc", '\u{ce}'), ("Idot", '\u{130}'), ("Igrave", '\u{cc}'), ("Imacr", '\u{12a}'),
    ("Iota", '\u{399}'), ("Iuml", '\u{cf}'), ("Kappa", '\u{39a}'), ("LT", '\u{3c}'),
    ("Lambda", '\u{39b}'), ("Lstrok", '\u{141}'), ("MediumSpace", '\u{205f}'), ("Mu", '\u{39c}'),
    ("Nacute", '\u{143}'), ("Ncaron", '\u{147}'), ("NewLine", '\u{a}'), ("NoBreak", '\u{2060}'),
    ("Ntilde", '\u{d1}'), ("Nu", '\u{39d}'), ("OElig", '\u{152}'), ("Oacute", '\u{d3}'),
    ("Ocirc", '\u{d4}'), ("Odblac", '\u{150}'), ("Ograve", '\u{d2}'), ("Omacr", '\u{14c}'),
    ("Omega", '\u{3a9}'), ("Omicron", '\u{39f}'), ("Oslash", '\u{d8}'), ("Otilde", '\u{d5}'),
    ("Ouml", '\u{d6}'), ("Phi", '\u{3a6}'), ("Pi", '\u{3a0}'), ("Prime", '\u{2033}'),
    ("Psi", '\u{3a8}'), ("QUOT", '\u{22}'), ("REG", '\u{ae}'), ("Rcaron", '\u{158}'),
    ("Rho", '\u{3a1}'), ("Sacute", '\u{15a}'), ("Scaron", '\u{160}'), ("Scedil", '\u{15e}'),
    ("Sigma", '\u{3a3}'), ("THORN", '\u{de}'), ("TRADE", '\u{2122}'), ("Tab", '\u{9}'),
    ("Tau", '\u{3a4}'), ("Tcaron", '\u{164}'), ("Tcedil", '\u{162}'), ("Theta", '\u{398}'),
    ("Uacute", '\u{da}'), ("Ucirc", '\u{db}'), ("Udblac", '\u{170}'), ("Ugrave", '\u{d9}'),
    ("Umacr", '\u{16a}'), ("Upsilon", '\u{3a5}'), ("Uring", '\u{16e}'), ("Uuml", '\u{dc}'),
    ("Wcirc", '\u{174}'), ("Xi", '\u{39e}'), ("Yacute", '\u{dd}'), ("Ycirc", '\u{176}'),
    ("Yuml", '\u{178}'), ("Zacute", '\u{179}'), ("Zcaron", '\u{17d}'), ("Zdot", '\u{17b}'),
    ("ZeroWidthSpace", '\u{200b}'), ("Zeta", '\u{396}'), ("aacute", '\u{e1}'),
    ("abreve", '\u{103}'), ("acirc", '\u{e2}'), ("acute", '\u{b4}'), ("aelig", '\u{e6}'),
    ("agrave", '\u{e0}'), ("alefsym", '\u{2135}'), ("alpha", '\u{3b1}'), ("amacr", '\u{101}'),
    ("amp", '\u{26}'), ("and", '\u{2227}'), ("ang", '\u{2220}'), ("aogon", '\u{105}'),
    ("apos", '\u{27}'), ("aring", '\u{e5}'), ("ast", '\u{2a}'), ("asymp", '\u{2248}'),
    ("atilde", '\u{e3}'), ("auml", '\u{e4}'), ("bdquo", '\u{201e}'), ("beta", '\u{3b2}'),
    ("bigstar", '\u{2605}'), ("brvbar", '\u{a6}'), ("bsol", '\u{5c}'), ("bull", '\u{2022}'),
    ("cacute", '\u{107}'), ("cap", '\u{2229}'), ("ccaron", '\u{10d}'), ("ccedil", '\u{e7}'),
    ("cedil", '\u{b8}'), ("cent", '\u{a2}'), ("check", '\u{2713}'), ("chi", '\u{3c7}'),
    ("circ", '\u{2c6}'), ("clubs", '\u{2663}'), ("colon", '\u{3a}'), ("comma", '\u{2c}'),
    ("commat", '\u{40}'), ("cong", '\u{2245}'), ("copy", '\u{a9}'), ("copysr", '\u{2117}'),
    ("crarr", '\u{21b5}'), ("cross", '\u{2717}'), ("cup", '\u{222a}'), ("curren", '\u{a4}'),
    ("dArr", '\u{21d3}'), ("dagger", '\u{2020}'), ("darr", '\u{2193}'), ("dash", '\u{2010}'),
    ("dcaron", '\u{10f}'), ("deg", '\u{b0}'), ("delta", '\u{3b4}'), ("diams", '\u{2666}'),
    ("divide", '\u{f7}'), ("dollar", '\u{24}'), ("eacute", '\u{e9}'), ("ecaron", '\u{11b}'),
    ("ecirc", '\u{ea}'), ("egrave", '\u{e8}'), ("emacr", '\u{113}'), ("empty", '\u{2205}'),
    ("emsp", '\u{2003}'), ("ensp", '\u{2002}'), ("eogon", '\u{119}'), ("epsilon", '\u{3b5}'),
    ("equals", '\u{3d}'), ("equiv", '\u{2261}'), ("eta", '\u{3b7}'), ("eth", '\u{f0}'),
    ("euml", '\u{eb}'), ("euro", '\u{20ac}'), ("excl", '\u{21}'), ("exist", '\u{2203}'),
    ("female", '\u{2640}'), ("flat", '\u{266d}'), ("fnof", '\u{192}'), ("forall", '\u{2200}'),
    ("frac12", '\u{bd}'), ("frac14", '\u{bc}'), ("frac34", '\u{be}'), ("frasl", '\u{2044}'),
    ("gamma", '\u{3b3}'), ("gbreve", '\u{11f}'), ("ge", '\u{2265}'), ("grave", '\u{60}'),
    ("gt", '\u{3e}'), ("hArr", '\u{21d4}'), ("hairsp", '\u{200a}'), ("harr", '\u{2194}'),
    ("hearts", '\u{2665}'), ("hellip", '\u{2026}'), ("horbar", '\u{2015}'), ("hyphen", '\u{2010}'),
    ("iacute", '\u{ed}'), ("icirc", '\u{ee}'), ("iexcl", '\u{a1}'), ("igrave", '\u{ec}'),
    ("imacr", '\u{12b}'), ("image", '\u{2111}'), ("infin", '\u{221e}'), ("inodot", '\u{131}'),
    ("int", '\u{222b}'), ("iota", '\u{3b9}'), ("iquest", '\u{bf}'), ("isin", '\u{2208}'),
    ("iuml", '\u{ef}'), ("kappa", '\u{3ba}'), ("lArr", '\u{21d0}'), ("lambda", '\u{3bb}'),
    ("lang", '\u{2329}'), ("laquo", '\u{ab}'), ("larr", '\u{2190}'), ("lceil", '\u{2308}'),
    ("lcub", '\u{7b}'), ("ldquo", '\u{201c}'), ("ldquor", '\u{201e}'), ("le", '\u{2264}'),
    ("lfloor", '\u{230a}'), ("lowast", '\u{2217}'), ("lowbar", '\u{5f}'), ("loz", '\u{25ca}'),
    ("lpar", '\u{28}'), ("lrm", '\u{200e}'), ("lsaquo", '\u{2039}'), ("lsqb", '\u{5b}'),
    ("lsquo", '\u{2018}'), ("lsquor", '\u{201a}'), ("lstrok", '\u{142}'), ("lt", '\u{3c}'),
    ("macr", '\u{af}'), ("male", '\u{2642}'), ("mdash", '\u{2014}'), ("micro", '\u{b5}'),
    ("middot", '\u{b7}'), ("minus", '\u{2212}'), ("mu", '\u{3bc}'), ("nabla", '\u{2207}'),
    ("nacute", '\u{144}'), ("natural", '\u{266e}'), ("nbsp", '\u{a0}'), ("ncaron", '\u{148}'),
    ("ndash", '\u{2013}'), ("ne", '\u{2260}'), ("ni", '\u{220b}'), ("not", '\u{ac}'),
    ("notin", '\u{2209}'), ("nsub", '\u{2284}'), ("ntilde", '\u{f1}'), ("nu", '\u{3bd}'),
    ("num", '\u{23}'), ("numsp", '\u{2007}'), ("oacute", '\u{f3}'), ("ocirc", '\u{f4}'),
    ("odblac", '\u{151}'), ("oelig", '\u{153}'), ("ograve", '\u{f2}'), ("oline", '\u{203e}'),
    ("omacr", '\u{14d}'), ("omega", '\u{3c9}'), ("omicron", '\u{3bf}'), ("oplus", '\u{2295}'),
    ("or", '\u{2228}'), ("ordf", '\u{aa}'), ("ordm", '\u{ba}'), ("oslash", '\u{f8}'),
    ("otilde", '\u{f5}'), ("otimes", '\u{2297}'), ("ouml", '\u{f6}'), ("para", '\u{b6}'),
    ("part", '\u{2202}'), ("percnt", '\u{25}'), ("period", '\u{2e}'), ("permil", '\u{2030}'),
    ("perp", '\u{22a5}'), ("phi", '\u{3c6}'), ("phone", '\u{260e}'), ("pi", '\u{3c0}'),
    ("piv", '\u{3d6}'), ("plus", '\u{2b}'), ("plusmn", '\u{b1}'), ("pound", '\u{a3}'),
    ("prime", '\u{2032}'), ("prod", '\u{220f}'), ("prop", '\u{221d}'), ("psi", '\u{3c8}'),
    ("puncsp", '\u{2008}'), ("quest", '\u{3f}'), ("quot", '\u{22}'), ("rArr", '\u{21d2}'),
    ("radic", '\u{221a}'), ("rang", '\u{232a}'), ("raquo", '\u{bb}'), ("rarr", '\u{2192}'),
    ("rcaron", '\u{159}'), ("rceil", '\u{2309}'), ("rcub", '\u{7d}'), ("rdquo", '\u{201d}'),
    ("real", '\u{211c}'), ("reg", '\u{ae}'), ("rfloor", '\u{230b}'), ("rho", '\u{3c1}'),
    ("rlm", '\u{200f}'), ("rpar", '\u{29}'), ("rsaquo", '\u{203a}'), ("rsqb", '\u{5d}'),
    ("rsquo", '\u{2019}'), ("sacute", '\u{15b}'), ("sbquo", '\u{201a}'), ("scaron", '\u{161}'),
    ("scedil", '\u{15f}'), ("sdot", '\u{22c5}'), ("sect", '\u{a7}'), ("semi", '\u{3b}'),
    ("sharp", '\u{266f}'), ("shy", '\u{ad}'), ("sigma", '\u{3c3}'), ("sigmaf", '\u{3c2}'),
    ("sim", '\u{223c}'), ("sol", '\u{2f}'), ("spades", '\u{2660}'), ("star", '\u{2606}'),
    ("starf", '\u{2605}'), ("sub", '\u{2282}'), ("sube", '\u{2286}'), ("sum", '\u{2211}'),
    ("sup", '\u{2283}'), ("sup1", '\u{b9}'), ("sup2", '\u{b2}'), ("sup3", '\u{b3}'),
    ("supe", '\u{2287}'), ("szlig", '\u{df}'), ("tau", '\u{3c4}'), ("tcaron", '\u{165}'),
    ("tcedil", '\u{163}'), ("there4", '\u{2234}'), ("theta", '\u{3b8}'), ("thetasym", '\u{3d1}'),
    ("thinsp", '\u{2009}'), ("thorn", '\u{fe}'), ("tilde", '\u{2dc}'), ("times", '\u{d7}'),
    ("trade", '\u{2122}'), ("tstrok", '\u{167}'), ("uArr", '\u{21d1}'), ("uacute", '\u{fa}'),
    ("uarr", '\u{2191}'), ("ucirc", '\u{fb}'), ("udblac", '\u{171}'), ("ugrave", '\u{f9}'),
    ("umacr", '\u{16b}'), ("uml", '\u{a8}'), ("upsih", '\u{3d2}'), ("upsilon", '\u{3c5}'),
    ("uring", '\u{16f}'), ("uuml", '\u{fc}'), ("verbar", '\u{7c}'), ("vert", '\u{7c}'),
    ("wcirc", '\u{175}'), ("weierp", '\u{2118}'), ("xi", '\u{3be}'), ("yacute", '\u{fd}'),
    ("ycirc", '\u{177}'), ("yen", '\u{a5}'), ("yuml", '\u{ff}'), ("zacute", '\u{17a}'),
    ("zcaron", '\u{17e}'), ("zdot", '\u{17c}'), ("zeta", '\u{3b6}'), ("zwj", '\u{200d}'),
    ("zwnj", '\u{200c}'),
];

/// Names that browsers also resolve without the closing `;` (the WHATWG legacy list).
#[rustfmt::skip]
static LEGACY: &[&str] = &[
    "AElig", "AMP", "Aacute", "Acirc", "Agrave", "Aring", "Atilde", "Auml", "COPY", "Ccedil",
    "ETH", "Eacute", "Ecirc", "Egrave", "Euml", "GT", "Iacute", "Icirc", "Igrave", "Iuml", "LT",
    "Ntilde", "Oacute", "Ocirc", "Ograve", "Oslash", "Otilde", "Ouml", "QUOT", "REG", "THORN",
    "Uacute", "Ucirc", "Ugrave", "Uuml", "Yacute", "aacute", "acirc", "acute", "aelig", "agrave",
    "amp", "aring", "atilde", "auml", "brvbar", "ccedil", "cedil", "cent", "copy", "curren", "deg",
    "divide", "eacute", "ecirc", "egrave", "eth", "euml", "frac12", "frac14", "frac34", "gt",
    "iacute", "icirc", "iexcl", "igrave", "iquest", "iuml", "laquo", "lt", "macr", "micro",
    "middot", "nbsp", "not", "ntilde", "oacute", "ocirc", "ograve", "ordf", "ordm", "oslash",
    "otilde", "ouml", "para", "plusmn", "pound", "quot", "raquo", "reg", "sect", "shy", "sup1",
    "sup2", "sup3", "szlig", "thorn", "times", "uacute", "ucirc", "ugrave", "uml", "uuml",
    "yacute", "yen", "yuml",
];

/// windows-1252 characters for numeric references 0x80 to 0x9F (0 where the spec keeps the
/// code point).
static C1_REMAP: [u16; 32] = [
    0x20ac, 0, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160, 0x2039,
    0x0152, 0, 0x017d, 0, 0, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x02dc,
    0x2122, 0x0161, 0x203a, 0x0153, 0, 0x017e, 0x0178,
];

/// The character a named entity stands for. `terminated` says whether a `;` closed it; without
/// one only the legacy names resolve.
pub(crate) fn named(name: &[u8], terminated: bool) -> Option<char> {
    let i = NAMED
        .binary_search_by(|(n, _)| n.as_bytes().cmp(name))
        .ok()?;
    if !terminated && LEGACY.binary_search_by(|n| n.as_bytes().cmp(name)).is_err() {
        return None;
    }
    NAMED.get(i).map(|(_, c)| *c)
}

/// The character for a numeric reference's value (already parsed), as browsers map it.
pub(crate) fn numeric(value: u32) -> char {
    match value {
        0x80..=0x9f => {
            let mapped = C1_REMAP[(value - 0x80) as usize];
            char::from_u32(if mapped == 0 {
                value
            } else {
                u32::from(mapped)
            })
            .unwrap_or('\u{fffd}')
        }
        0 => '\u{fffd}',
        v => char::from_u32(v).unwrap_or('\u{fffd}'),
    }
}

/// Parses the body of a numeric reference (after `&#`): `233` or `xE9`. `None` if it has no
/// digits. Values past U+10FFFF saturate (and become U+FFFD).
pub(crate) fn parse_numeric(body: &[u8]) -> Option<char> {
    let (digits, radix) = match body {
        [b'x' | b'X', rest @ ..] => (rest, 16),
        _ => (body, 10),
    };
    if digits.is_empty() {
        return None;
    }
    let mut value: u32 = 0;
    for &d in digits {
        let digit = char::from(d).to_digit(radix)?;
        value = value
            .saturating_mul(radix)
            .saturating_add(digit)
            .min(0x11_0000);
    }
    Some(numeric(value))
}

/// Appends `src` to `out` with character references decoded (for complete strings such as
/// attribute values). Unknown references stay as written.
pub(crate) fn decode_into(src: &str, out: &mut String) {
    let mut rest = src;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let bytes = after.as_bytes();
        let (len, terminated) = reference_len(bytes);
        let body = &bytes[..len];
        let resolved = if body.first() == Some(&b'#') {
            parse_numeric(&body[1..])
        } else {
            named(body, terminated)
        };
        match resolved {
            Some(c) => {
                out.push(c);
                rest = &after[len + usize::from(terminated)..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
}

/// The length of a reference body at the start of `bytes` (`#`, then letters and digits, at
/// most [`MAX_NAME`]) and whether a `;` follows it.
fn reference_len(bytes: &[u8]) -> (usize, bool) {
    let start = usize::from(bytes.first() == Some(&b'#'));
    let len = start
        + bytes[start..]
            .iter()
            .take(MAX_NAME)
            .take_while(|b| b.is_ascii_alphanumeric())
            .count();
    (len, bytes.get(len) == Some(&b';'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted_for_binary_search() {
        assert!(NAMED
            .windows(2)
            .all(|w| w[0].0.as_bytes() < w[1].0.as_bytes()));
        assert!(LEGACY.windows(2).all(|w| w[0].as_bytes() < w[1].as_bytes()));
        assert!(NAMED.len() >= 250);
        assert!(
            LEGACY.iter().all(|n| named(n.as_bytes(), true).is_some()),
            "legacy names resolve"
        );
    }

    #[test]
    fn common_names_resolve() {
        for (name, c) in [
            ("nbsp", '\u{a0}'),
            ("amp", '&'),
            ("lt", '<'),
            ("gt", '>'),
            ("quot", '"'),
            ("apos", '\''),
            ("hellip", '…'),
            ("mdash", '—'),
            ("rsquo", '’'),
            ("eacute", 'é'),
            ("Zdot", 'Ż'),
            ("lstrok", 'ł'),
            ("euro", '€'),
        ] {
            assert_eq!(named(name.as_bytes(), true), Some(c), "{name}");
        }
        assert_eq!(named(b"amp", false), Some('&'));
        assert_eq!(named(b"hellip", false), None, "not a legacy name");
        assert_eq!(named(b"nosuch", true), None);
    }

    #[test]
    fn numeric_references_follow_the_spec() {
        assert_eq!(parse_numeric(b"233"), Some('é'));
        assert_eq!(parse_numeric(b"xE9"), Some('é'));
        assert_eq!(parse_numeric(b"X1F600"), Some('😀'));
        assert_eq!(parse_numeric(b"150"), Some('–'), "windows-1252 remap");
        assert_eq!(parse_numeric(b"129"), Some('\u{81}'));
        assert_eq!(parse_numeric(b"0"), Some('\u{fffd}'));
        assert_eq!(parse_numeric(b"xD800"), Some('\u{fffd}'), "surrogate");
        assert_eq!(parse_numeric(b"99999999999999"), Some('\u{fffd}'));
        assert_eq!(parse_numeric(b"x"), None);
        assert_eq!(parse_numeric(b"12a"), None);
    }

    #[test]
    fn decode_into_handles_mixed_text() {
        let mut out = String::new();
        decode_into(
            "Tom &amp; Jerry &hellip; caf&eacute; &#39;x&#x27; &copy 2024 &bogus; & end &",
            &mut out,
        );
        assert_eq!(out, "Tom & Jerry … café 'x' © 2024 &bogus; & end &");
    }
}
