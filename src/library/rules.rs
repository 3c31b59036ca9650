//! Rules for single values: phrases, regexes, ids and language codes.

/// Longest phrase accepted, in characters.
const MAX_PHRASE_CHARS: usize = 200;
/// Longest id accepted, in bytes.
pub(crate) const MAX_ID_LEN: usize = 128;

/// Checks a phrase and returns it trimmed with inner whitespace collapsed, or why it is bad.
pub(crate) fn phrase(text: &str) -> Result<String, String> {
    if text.chars().any(|c| c.is_control() && c != ' ') {
        return Err("contains a tab, newline or control character; write it on one line".into());
    }
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.is_empty() {
        return Err("is empty: write the word or phrase to look for".into());
    }
    if !collapsed
        .chars()
        .any(|c| c.is_alphanumeric() || c == '@' || c == '$')
    {
        return Err(format!(
            "`{collapsed}` has no letters or digits, so it cannot match normalised text"
        ));
    }
    if collapsed.chars().count() > MAX_PHRASE_CHARS {
        return Err(format!(
            "is longer than {MAX_PHRASE_CHARS} characters; use a shorter phrase or a combo"
        ));
    }
    Ok(collapsed)
}

/// Checks that a regex compiles and cannot match empty text.
pub(crate) fn regex(pattern: &str) -> Result<(), String> {
    if pattern.trim().is_empty() {
        return Err("is empty: write the regular expression".into());
    }
    let re = regex_automata::meta::Regex::new(pattern).map_err(|e| {
        let detail = match (e.syntax_error(), e.size_limit()) {
            (Some(s), _) => s
                .to_string()
                .lines()
                .find_map(|l| l.strip_prefix("error: "))
                .map(str::to_string)
                .unwrap_or_else(|| s.to_string().replace('\n', " ")),
            (None, Some(limit)) => format!("it compiles to more than {limit} bytes; simplify it"),
            (None, None) => e.to_string(),
        };
        format!("is not a valid regex: {detail}; check the syntax (Rust `regex` dialect)")
    })?;
    if re.is_match("") {
        return Err(format!(
            "regex `{pattern}` matches empty text, so it would fire on every page; make at \
             least one character required"
        ));
    }
    Ok(())
}

/// True for ids of 1..=128 characters from `a-z 0-9 - _ . /` without empty path segments.
pub(crate) fn id_chars_ok(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_./".contains(&b))
        && !id.split('/').any(str::is_empty)
}

/// True for a plausible BCP 47 tag: a 2..=3 letter primary language, then subtags of 1..=8
/// letters or digits (`en`, `cy`, `en-gb`, `zh-hant`, `und`).
pub(crate) fn plausible_lang(code: &str) -> bool {
    let mut parts = code.split('-');
    let primary_ok = parts
        .next()
        .is_some_and(|p| (2..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_lowercase()));
    primary_ok
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phrases_are_trimmed_and_checked() {
        assert_eq!(phrase("  kill   myself ").as_deref(), Ok("kill myself"));
        assert_eq!(phrase("$$").as_deref(), Ok("$$"));
        assert!(phrase("   ").is_err());
        assert!(phrase("...").is_err());
        assert!(phrase("a\nb").is_err());
        assert!(phrase(&"a".repeat(201)).is_err());
        assert_eq!(phrase("pociąć się").as_deref(), Ok("pociąć się"));
    }

    #[test]
    fn regexes_must_compile_and_not_match_empty_text() {
        assert!(regex(r"k+ms\d*").is_ok());
        let err = regex("kill(").unwrap_err();
        assert!(err.contains("unclosed group"), "{err}");
        assert!(regex("a*").unwrap_err().contains("empty text"));
        assert!(regex(" ").is_err());
    }

    #[test]
    fn ids_and_langs() {
        assert!(id_chars_ok("self-harm/cut-myself"));
        assert!(id_chars_ok("school/gang.name_2"));
        assert!(!id_chars_ok("self-harm/Cut"));
        assert!(!id_chars_ok("self-harm//x"));
        assert!(!id_chars_ok("self-harm/x y"));
        assert!(!id_chars_ok("self-harm/"));
        for ok in [
            "en", "cy", "pl", "ur", "ar", "ro", "es", "en-gb", "zh-hant", "und",
        ] {
            assert!(plausible_lang(ok), "{ok}");
        }
        for bad in ["", "e", "english", "en_gb", "en-", "12", "en-toolongsubtag"] {
            assert!(!plausible_lang(bad), "{bad}");
        }
    }
}
