//! From e2guardian list topics, languages and encodings to gatewatch categories, language
//! codes and decoders.
//!
//! # Category mapping
//!
//! gatewatch monitors safeguarding risks, not productivity, so only the e2guardian topics
//! with a safeguarding meaning are imported; the rest are skipped and counted.
//!
//! | e2guardian topic (directory or `#listcategory`) | gatewatch category |
//! | --- | --- |
//! | `pornography`, `porn`, `pornografia`, `adult` | `pornography` |
//! | `nudism` (naturist sites; e2guardian files them as adult content) | `pornography` |
//! | `illegaldrugs`, `drugadvocacy`, `drugs` | `drugs` |
//! | `legaldrugs` (alcohol, tobacco, legal highs: substance abuse) | `drugs` |
//! | `gambling` | `gambling` |
//! | `violence`, `gore` | `violence` |
//! | `weapons` | `weapons` |
//! | `intolerance` (slurs, hate groups, supremacist phrases) | `hate-speech` |
//! | `badwords` (swearing and insults; closest risk: insults aimed at a person) | `bullying` |
//! | `goodphrases`, `goodsites` (negative "good" context) | skipped unless the caller names a category |
//! | `chat`, `conspiracy`, `domainsforsale`, `forums`, `games`, `onlinegames`, `googlesearches`, `idtheft`, `malware`, `music`, `news`, `peer2peer`, `personals`, `proxies`, `proxy`, `rta`, `safelabel`, `secretsocieties`, `sport`, `translation`, `travel`, `upstreamfilter`, `warezhacking`, `warez`, `hacking`, `webmail` | skipped: no safeguarding category |
//!
//! `googlesearches`, `rta` and `safelabel` hold URL fragments and HTML labels that gatewatch,
//! which matches decoded search terms and visible text, would never see.
//!
//! The directory decides (the innermost directory named after a known topic), because the
//! shipped `#listcategory` headers are sometimes wrong (`portuguese/intolerance/banned` says
//! "IllegalDrugs"); the header decides only where no directory names a topic. A topic found
//! in neither is skipped as unknown.

use encoding_rs::{
    Encoding, BIG5, EUC_JP, GBK, ISO_8859_2, KOI8_R, SHIFT_JIS, WINDOWS_1250, WINDOWS_1251,
    WINDOWS_1252,
};

use crate::library::Category;

/// What an e2guardian topic becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Topic {
    /// Imported into this category.
    Category(Category),
    /// Good phrases: imported only into a category the caller chooses.
    GoodPhrases,
    /// Known, but not a safeguarding risk: skipped.
    NoEquivalent,
}

/// The topic table, keyed by [`key`]-normalised names.
const TOPICS: &[(&str, Topic)] = &[
    ("pornography", Topic::Category(Category::Pornography)),
    ("porn", Topic::Category(Category::Pornography)),
    ("pornografia", Topic::Category(Category::Pornography)),
    ("adult", Topic::Category(Category::Pornography)),
    ("nudism", Topic::Category(Category::Pornography)),
    ("illegaldrugs", Topic::Category(Category::Drugs)),
    ("drugadvocacy", Topic::Category(Category::Drugs)),
    ("drugs", Topic::Category(Category::Drugs)),
    ("legaldrugs", Topic::Category(Category::Drugs)),
    ("gambling", Topic::Category(Category::Gambling)),
    ("violence", Topic::Category(Category::Violence)),
    ("gore", Topic::Category(Category::Violence)),
    ("weapons", Topic::Category(Category::Weapons)),
    ("intolerance", Topic::Category(Category::HateSpeech)),
    ("badwords", Topic::Category(Category::Bullying)),
    ("goodphrases", Topic::GoodPhrases),
    ("goodsites", Topic::GoodPhrases),
    ("chat", Topic::NoEquivalent),
    ("conspiracy", Topic::NoEquivalent),
    ("domainsforsale", Topic::NoEquivalent),
    ("domainforsale", Topic::NoEquivalent),
    ("forums", Topic::NoEquivalent),
    ("games", Topic::NoEquivalent),
    ("onlinegames", Topic::NoEquivalent),
    ("googlesearches", Topic::NoEquivalent),
    ("idtheft", Topic::NoEquivalent),
    ("malware", Topic::NoEquivalent),
    ("music", Topic::NoEquivalent),
    ("news", Topic::NoEquivalent),
    ("peer2peer", Topic::NoEquivalent),
    ("peertopeer", Topic::NoEquivalent),
    ("personals", Topic::NoEquivalent),
    ("proxies", Topic::NoEquivalent),
    ("proxy", Topic::NoEquivalent),
    ("rta", Topic::NoEquivalent),
    ("restrictedtoadultstag", Topic::NoEquivalent),
    ("safelabel", Topic::NoEquivalent),
    ("safelabeltag", Topic::NoEquivalent),
    ("secretsocieties", Topic::NoEquivalent),
    ("sport", Topic::NoEquivalent),
    ("translation", Topic::NoEquivalent),
    ("travel", Topic::NoEquivalent),
    ("upstreamfilter", Topic::NoEquivalent),
    ("warezhacking", Topic::NoEquivalent),
    ("warez", Topic::NoEquivalent),
    ("hacking", Topic::NoEquivalent),
    ("webmail", Topic::NoEquivalent),
];

/// Languages by [`key`]-normalised name (directory, file-name suffix or header suffix).
const LANGUAGES: &[(&str, &str)] = &[
    ("english", "en"),
    ("ukenglish", "en-gb"),
    ("french", "fr"),
    ("german", "de"),
    ("dutch", "nl"),
    ("danish", "da"),
    ("norwegian", "no"),
    ("swedish", "sv"),
    ("finnish", "fi"),
    ("italian", "it"),
    ("spanish", "es"),
    ("portuguese", "pt"),
    ("brazilianportuguese", "pt"),
    ("polish", "pl"),
    ("czech", "cs"),
    ("russian", "ru"),
    ("russian1251", "ru"),
    ("russiankoi8r", "ru"),
    ("chinese", "zh"),
    ("chinesebig5", "zh"),
    ("chinesegb2312", "zh"),
    ("japanese", "ja"),
    ("malay", "ms"),
    ("turkish", "tr"),
    ("greek", "el"),
    ("arabic", "ar"),
];

/// A name reduced to lower-case ASCII letters and digits, without any `(...)` part:
/// `"Bad words (French)"` -> `badwords`, `russian-koi8-r` -> `russiankoi8r`.
pub(crate) fn key(name: &str) -> String {
    let mut depth = 0usize;
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            c if depth == 0 && c.is_ascii_alphanumeric() => out.push(c.to_ascii_lowercase()),
            _ => {}
        }
    }
    out
}

/// The topic named `name` (a directory or a `#listcategory` name), if known.
pub(crate) fn topic(name: &str) -> Option<Topic> {
    let k = key(name);
    TOPICS.iter().find(|(n, _)| *n == k).map(|(_, t)| *t)
}

/// The language code for a language name such as `french` or `russian-koi8-r`.
pub(crate) fn language(name: &str) -> Option<&'static str> {
    let k = key(name);
    LANGUAGES.iter().find(|(n, _)| *n == k).map(|(_, l)| *l)
}

/// The language named inside a header's parentheses: `"Pornography (Danish)"` -> `da`.
pub(crate) fn header_language(header: &str) -> Option<&'static str> {
    let (_, inner) = header.split_once('(')?;
    let inner = inner.split(')').next()?;
    inner
        .split_whitespace()
        .find_map(language)
        .or_else(|| language(inner))
}

/// The legacy encodings to try, best guess first, for lines of a list that are not valid
/// UTF-8. `names` are the list's directory names and file-name segments (any case).
pub(crate) fn legacy_encodings(names: &[String], lang: &str) -> Vec<&'static Encoding> {
    let keys: Vec<String> = names.iter().map(|n| key(n)).collect();
    let has = |needles: &[&str]| {
        keys.iter()
            .any(|k| needles.iter().any(|n| k == n || k.ends_with(n)))
    };
    if has(&["big5"]) {
        return vec![BIG5];
    }
    if has(&["gb2312", "gbk", "gb18030"]) {
        return vec![GBK];
    }
    if has(&["koi8r"]) {
        return vec![KOI8_R];
    }
    if has(&["1251"]) {
        return vec![WINDOWS_1251];
    }
    if has(&["sjis", "shiftjis"]) {
        return vec![SHIFT_JIS];
    }
    if has(&["eucjp"]) {
        return vec![EUC_JP];
    }
    match lang.split('-').next().unwrap_or(lang) {
        "ru" => vec![KOI8_R, WINDOWS_1251],
        "ja" => vec![SHIFT_JIS, EUC_JP],
        "zh" => vec![GBK, BIG5],
        "pl" | "cs" => vec![ISO_8859_2, WINDOWS_1250],
        _ => vec![WINDOWS_1252],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_drop_case_punctuation_and_parentheses() {
        assert_eq!(key("Bad words (French)"), "badwords");
        assert_eq!(key("russian-koi8-r"), "russiankoi8r");
        assert_eq!(key("'Restricted To Adults' tag"), "restrictedtoadultstag");
        assert_eq!(key("(Blocked by OpenDNS)"), "");
        assert_eq!(key("Peer-to-peer"), "peertopeer");
    }

    #[test]
    fn topics_from_directories_and_headers() {
        assert_eq!(
            topic("illegaldrugs"),
            Some(Topic::Category(Category::Drugs))
        );
        assert_eq!(
            topic("Illegal Drugs (Portuguese)"),
            Some(Topic::Category(Category::Drugs))
        );
        assert_eq!(
            topic("Drug Advocacy"),
            Some(Topic::Category(Category::Drugs))
        );
        assert_eq!(
            topic("Pornografia"),
            Some(Topic::Category(Category::Pornography))
        );
        assert_eq!(
            topic("Intolerance"),
            Some(Topic::Category(Category::HateSpeech))
        );
        assert_eq!(
            topic("Badwords (Dutch)"),
            Some(Topic::Category(Category::Bullying))
        );
        assert_eq!(topic("Gore"), Some(Topic::Category(Category::Violence)));
        assert_eq!(topic("GoodPhrases (News)"), Some(Topic::GoodPhrases));
        assert_eq!(topic("Sport"), Some(Topic::NoEquivalent));
        assert_eq!(topic("Domain for Sale"), Some(Topic::NoEquivalent));
        assert_eq!(topic("badsites"), None);
        assert_eq!(topic("ukenglish"), None);
    }

    #[test]
    fn languages_from_names_and_headers() {
        assert_eq!(language("ukenglish"), Some("en-gb"));
        assert_eq!(language("russian-1251"), Some("ru"));
        assert_eq!(language("chinesebig5"), Some("zh"));
        assert_eq!(language("pornography"), None);
        assert_eq!(header_language("Pornography (Danish)"), Some("da"));
        assert_eq!(
            header_language("GoodPhrases (Brazilian Portuguese)"),
            Some("pt")
        );
        assert_eq!(header_language("Pornography (Russian UTF-8)"), Some("ru"));
        assert_eq!(header_language("Pornography"), None);
    }

    #[test]
    fn legacy_encodings_by_directory_then_language() {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            legacy_encodings(&names(&["chinesebig5", "pornography", "weighted"]), "zh"),
            vec![BIG5]
        );
        assert_eq!(
            legacy_encodings(&names(&["chinesegb2312", "pornography"]), "zh"),
            vec![GBK]
        );
        assert_eq!(
            legacy_encodings(&names(&["russian-koi8-r"]), "ru"),
            vec![KOI8_R]
        );
        assert_eq!(
            legacy_encodings(&names(&["russian-1251"]), "ru"),
            vec![WINDOWS_1251]
        );
        assert_eq!(
            legacy_encodings(&names(&["pornography", "weighted_russian"]), "ru"),
            vec![KOI8_R, WINDOWS_1251]
        );
        assert_eq!(legacy_encodings(&[], "ja"), vec![SHIFT_JIS, EUC_JP]);
        assert_eq!(legacy_encodings(&[], "pl"), vec![ISO_8859_2, WINDOWS_1250]);
        assert_eq!(legacy_encodings(&[], "fr"), vec![WINDOWS_1252]);
        assert_eq!(legacy_encodings(&[], "en-gb"), vec![WINDOWS_1252]);
    }
}
