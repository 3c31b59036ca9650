//! One line of an e2guardian / DansGuardian phrase list, classified.
//!
//! The grammar, as e2guardian 5 reads it (`ListContainer::readPhraseList`):
//!
//! - `< phrase ><30>`: a phrase and its weight. Spaces just inside the angle brackets are word
//!   edges: `< word >` whole word, `< word>` starts a word, `<word >` ends a word, `<word>`
//!   anywhere. The weight is an integer, negative for "good" phrases, or a percentage of the
//!   filter group's naughtiness limit (`<50%>`).
//! - `<a>,<b>,<c><50>`: a combination that scores when all parts occur on the page.
//! - A phrase without a weight is banned (blocks on sight) or, in an exception list, exempts
//!   the page.
//! - `#listcategory: "Name"` names the category of what follows; `#noconvert` and `#time: ...`
//!   are directives; other `#` lines are comments, as is ` #...` after a phrase.
//! - `.Include<path>` reads another list in place.
//!
//! Deliberate differences, each counted as a note by the importer: whitespace between groups
//! (`< a > <40>`, `<a>, <b>`) is tolerated (e2guardian silently turns such a line into a
//! banned phrase or combination, plainly not what the author meant), and text after the
//! weight that is not a `#` comment is ignored (as e2guardian ignores it).

/// A classified line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Line {
    /// Empty or whitespace only.
    Blank,
    /// A `#` comment.
    Comment,
    /// `#listcategory: "Name"`: the name.
    ListCategory(String),
    /// `#noconvert` or `#time: ...`: directives gatewatch has no use for.
    Directive,
    /// `.Include<path>`: the path as written.
    Include(String),
    /// A phrase or combination.
    Phrase(PhraseLine),
    /// Not understood: why, for the report.
    Malformed(String),
}

/// A phrase or combination line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PhraseLine {
    /// One part for a phrase, two or more for a combination, in written order.
    pub parts: Vec<Part>,
    /// The weight, or `None` for a banned or exception phrase.
    pub weight: Option<Weight>,
    /// Whitespace between groups was tolerated.
    pub loose_spacing: bool,
    /// Text after the last group that is not a `#` comment was ignored.
    pub trailing_text: bool,
}

/// One `<...>` phrase group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Part {
    /// The phrase, lower case, without the edge spaces.
    pub text: String,
    /// Written with a space after `<`: must start at a word start.
    pub starts_word: bool,
    /// Written with a space before `>`: must end at a word end.
    pub ends_word: bool,
}

/// A weight as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Weight {
    /// `<30>`, `<-50>`.
    Points(i32),
    /// `<50%>`: a percentage of the naughtiness limit.
    Percent(i32),
}

/// Classifies one decoded line (without its line terminator).
pub(crate) fn parse(raw: &str) -> Line {
    let line = raw.trim();
    if line.is_empty() {
        return Line::Blank;
    }
    if line.starts_with('#') {
        return hash_line(line);
    }
    if starts_with_ignore_case(line, ".include<") {
        let rest = &line[".include<".len()..];
        return match rest.find('>') {
            Some(end) if !rest[..end].trim().is_empty() => {
                Line::Include(rest[..end].trim().to_string())
            }
            _ => Line::Malformed("`.Include<` without a path and a closing `>`".into()),
        };
    }
    if line.starts_with('<') {
        return phrase_line(line);
    }
    Line::Malformed(
        "not a phrase (`<...>`), a comment (`#`) or an include (`.Include<...>`)".into(),
    )
}

fn starts_with_ignore_case(s: &str, prefix: &str) -> bool {
    s.len() >= prefix.len() && s.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

fn hash_line(line: &str) -> Line {
    if starts_with_ignore_case(line, "#listcategory:") {
        let rest = &line["#listcategory:".len()..];
        // A missing closing quote (shipped in the Polish list) still names the category.
        let name = rest
            .split_once('"')
            .map(|(_, after)| after.split_once('"').map_or(after, |(name, _)| name).trim());
        return match name {
            Some(n) if !n.is_empty() => Line::ListCategory(n.to_string()),
            _ => Line::Malformed("`#listcategory:` without a quoted name".into()),
        };
    }
    if starts_with_ignore_case(line, "#noconvert") || starts_with_ignore_case(line, "#time:") {
        return Line::Directive;
    }
    Line::Comment
}

/// Parses `<a>,<b><w> #comment`; `line` is trimmed and starts with `<`.
fn phrase_line(line: &str) -> Line {
    let mut parts = Vec::new();
    let mut weight = None;
    let mut loose_spacing = false;
    let mut rest = line;
    loop {
        let (content, after) = match group(rest) {
            Ok(g) => g,
            Err(why) => return Line::Malformed(why),
        };
        match part(content) {
            Ok(p) => parts.push(p),
            Err(why) => return Line::Malformed(why),
        }
        let trimmed = after.trim_start();
        loose_spacing |= trimmed.len() != after.len() && trimmed.starts_with([',', '<']);
        if let Some(next) = trimmed.strip_prefix(',') {
            let next_trimmed = next.trim_start();
            loose_spacing |= next_trimmed.len() != next.len();
            if !next_trimmed.starts_with('<') {
                return Line::Malformed("`,` is not followed by another `<phrase>`".into());
            }
            rest = next_trimmed;
            continue;
        }
        if trimmed.starts_with('<') {
            let (content, after_weight) = match group(trimmed) {
                Ok(g) => g,
                Err(why) => return Line::Malformed(why),
            };
            match parse_weight(content) {
                Some(w) => weight = Some(w),
                None => {
                    return Line::Malformed(format!(
                        "`<{content}>` is not a weight (a whole number like <40>, <-20> or \
                         <50%>) and is not joined to the phrase by `,`"
                    ))
                }
            }
            rest = after_weight;
        } else {
            rest = after;
        }
        break;
    }
    let tail = rest.trim_start();
    if tail.starts_with('<') {
        return Line::Malformed("more than one weight after the phrase".into());
    }
    Line::Phrase(PhraseLine {
        parts,
        weight,
        loose_spacing,
        trailing_text: !tail.is_empty() && !tail.starts_with('#'),
    })
}

/// Splits `<content>rest`; `s` starts with `<`.
fn group(s: &str) -> Result<(&str, &str), String> {
    let inner = &s[1..];
    let Some(end) = inner.find('>') else {
        return Err("a `<` has no closing `>`".into());
    };
    let content = &inner[..end];
    if content.contains('<') {
        return Err(format!(
            "`<` inside `<{content}>`: a `>` is missing before it"
        ));
    }
    Ok((content, &inner[end + 1..]))
}

fn part(content: &str) -> Result<Part, String> {
    let text = content.trim();
    if text.is_empty() {
        return Err("an empty `< >` group".into());
    }
    Ok(Part {
        text: text.to_lowercase(),
        starts_word: content.starts_with(char::is_whitespace),
        ends_word: content.ends_with(char::is_whitespace),
    })
}

fn parse_weight(content: &str) -> Option<Weight> {
    let t = content.trim();
    let (number, percent) = match t.strip_suffix('%') {
        Some(n) => (n.trim_end(), true),
        None => (t, false),
    };
    let digits = number.strip_prefix(['-', '+']).unwrap_or(number);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let value: i32 = number.parse().ok()?;
    Some(if percent {
        Weight::Percent(value)
    } else {
        Weight::Points(value)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phrase(line: &str) -> PhraseLine {
        match parse(line) {
            Line::Phrase(p) => p,
            other => panic!("{line:?} parsed as {other:?}"),
        }
    }

    fn edges(p: &PhraseLine) -> Vec<(&str, bool, bool)> {
        p.parts
            .iter()
            .map(|x| (x.text.as_str(), x.starts_word, x.ends_word))
            .collect()
    }

    #[test]
    fn each_edge_form() {
        assert_eq!(edges(&phrase("< word ><30>")), vec![("word", true, true)]);
        assert_eq!(edges(&phrase("< word><30>")), vec![("word", true, false)]);
        assert_eq!(edges(&phrase("<word ><30>")), vec![("word", false, true)]);
        assert_eq!(edges(&phrase("<word><30>")), vec![("word", false, false)]);
        assert_eq!(
            edges(&phrase("<  Two  Words  ><5>")),
            vec![("two  words", true, true)]
        );
    }

    #[test]
    fn weights_negative_and_percentage() {
        assert_eq!(phrase("< a ><30>").weight, Some(Weight::Points(30)));
        assert_eq!(phrase("<a><-50>").weight, Some(Weight::Points(-50)));
        assert_eq!(phrase("<a><+5>").weight, Some(Weight::Points(5)));
        assert_eq!(phrase("<a><50%>").weight, Some(Weight::Percent(50)));
        assert_eq!(phrase("<a><-25%>").weight, Some(Weight::Percent(-25)));
        assert_eq!(phrase("<a><0>").weight, Some(Weight::Points(0)));
        assert_eq!(phrase("<crack cocaine>").weight, None);
        assert!(matches!(parse("< keygens ><25i>"), Line::Malformed(m) if m.contains("<25i>")));
        assert!(matches!(parse("<a><99999999999>"), Line::Malformed(_)));
    }

    #[test]
    fn combinations_keep_parts_in_order() {
        let p = phrase("< anal >,< porn><70>");
        assert_eq!(edges(&p), vec![("anal", true, true), ("porn", true, false)]);
        assert_eq!(p.weight, Some(Weight::Points(70)));
        assert!(!p.loose_spacing);
        let p = phrase("<warez>,<serial>,<generator><20>");
        assert_eq!(p.parts.len(), 3);
        let p = phrase("<hotmail>,<this is not junk mail>");
        assert_eq!(p.parts.len(), 2);
        assert_eq!(p.weight, None);
    }

    #[test]
    fn comments_trailing_text_and_loose_spacing() {
        let p = phrase("< merde ><50> # you are pissing me off");
        assert!(!p.trailing_text && !p.loose_spacing);
        let p = phrase("<chicas>,<sexo><50>\t#girl, sex");
        assert_eq!(p.parts.len(), 2);
        assert!(!p.trailing_text);
        let p = phrase("<x><10> breast");
        assert!(p.trailing_text);
        assert_eq!(p.weight, Some(Weight::Points(10)));
        let p = phrase("< nakna brdar > <40>");
        assert!(p.loose_spacing);
        assert_eq!(p.weight, Some(Weight::Points(40)));
        let p = phrase("< slampor >, <xxx><60>");
        assert!(p.loose_spacing);
        assert_eq!(p.parts.len(), 2);
        let p = phrase("<a >,< b>,< c > <70>");
        assert!(p.loose_spacing);
        assert_eq!(p.weight, Some(Weight::Points(70)));
        let p = phrase("< bbw >,< porn><40>   ");
        assert!(!p.loose_spacing && !p.trailing_text);
    }

    #[test]
    fn malformed_lines_say_why() {
        for (line, needle) in [
            ("<incest rape<50>", "`>` is missing"),
            ("<lesbian ezine", "no closing"),
            ("<a>,", "not followed"),
            ("<a>,b", "not followed"),
            ("<a> <b>", "not a weight"),
            ("<a><5><6>", "more than one weight"),
            ("< >", "empty"),
            ("plain words", "not a phrase"),
            ("#listcategory: Drugs", "quoted"),
            (".Include<", "without a path"),
        ] {
            match parse(line) {
                Line::Malformed(why) => assert!(why.contains(needle), "{line}: {why}"),
                other => panic!("{line:?} parsed as {other:?}"),
            }
        }
    }

    #[test]
    fn headers_directives_includes_comments_blanks() {
        assert_eq!(
            parse("#listcategory: \"Drugs\""),
            Line::ListCategory("Drugs".into())
        );
        assert_eq!(
            parse("#listcategory:\"'SafeLabel' tag\""),
            Line::ListCategory("'SafeLabel' tag".into())
        );
        assert_eq!(
            parse("#listcategory: \"Pornography (Polish)"),
            Line::ListCategory("Pornography (Polish)".into())
        );
        assert_eq!(parse("# listcategory: \"conspiracy\""), Line::Comment);
        assert_eq!(parse("#noconvert"), Line::Directive);
        assert_eq!(parse("#time: 9 0 17 0 01234"), Line::Directive);
        assert_eq!(parse("#< ringtone >"), Line::Comment);
        assert_eq!(parse("   \t"), Line::Blank);
        assert_eq!(parse(""), Line::Blank);
        assert_eq!(
            parse(".Include</etc/e2guardian/lists/phraselists/pornography/weighted>"),
            Line::Include("/etc/e2guardian/lists/phraselists/pornography/weighted".into())
        );
        assert_eq!(
            parse(".include<local/weighted> # mine"),
            Line::Include("local/weighted".into())
        );
    }

    #[test]
    fn phrases_are_lower_cased() {
        assert_eq!(
            edges(&phrase("<SafeSearch is OFF>")),
            vec![("safesearch is off", false, false)]
        );
        assert_eq!(edges(&phrase("< ЯЕЙЯ ><5>")), vec![("яейя", true, true)]);
    }
}
