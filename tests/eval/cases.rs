//! The labelled evaluation set (`tests/eval/cases.tsv`): parsing, validation and the coverage
//! rules the set itself must meet (so it cannot quietly shrink or lose a category or language).

use std::collections::HashSet;

/// The header line, exactly.
pub const HEADER: [&str; 7] = [
    "id",
    "kind",
    "expect",
    "min_severity",
    "lang",
    "note",
    "text",
];

/// Every category id the engine knows, in report order (illegal categories first).
pub const CATEGORIES: [&str; 15] = [
    "child-sexual-abuse",
    "terrorism",
    "bullying",
    "grooming",
    "discrimination",
    "hate-speech",
    "drugs",
    "extremism",
    "pornography",
    "self-harm",
    "suicide",
    "violence",
    "weapons",
    "gambling",
    "mental-health",
];

/// The directions `gatewatch library test --kind` accepts.
pub const KINDS: [&str; 3] = ["search", "typed", "page"];

/// Languages that need suicide and self-harm positives (issue 3).
pub const REQUIRED_LANGS: [&str; 7] = ["en", "cy", "pl", "ur", "ar", "ro", "es"];

/// Minimum sizes the set must keep.
pub const MIN_CASES: usize = 350;
/// Minimum number of positive cases.
pub const MIN_POSITIVES: usize = 200;
/// Minimum number of negative (trap) cases.
pub const MIN_NEGATIVES: usize = 120;
/// Minimum positives per category (counted by the first expected category).
pub const MIN_PER_CATEGORY: usize = 8;
/// Minimum suicide positives and, separately, self-harm positives per required language.
pub const MIN_PER_LANGUAGE: usize = 4;

/// One labelled case.
#[derive(Debug, Clone)]
pub struct Case {
    /// 1-based line in the TSV file.
    pub line: usize,
    /// Unique id.
    pub id: String,
    /// `search`, `typed` or `page`.
    pub kind: String,
    /// Acceptable categories (any one detected counts); empty for a negative.
    pub expect: Vec<String>,
    /// The severity the case deserves; `None` for a negative.
    pub min_severity: Option<u8>,
    /// Language code.
    pub lang: String,
    /// Short note (why the case is here, "borderline" when it is).
    pub note: String,
    /// The text fed to the engine.
    pub text: String,
}

impl Case {
    /// Whether the case should be detected.
    pub fn is_positive(&self) -> bool {
        !self.expect.is_empty()
    }

    /// The category the case is counted under in per-category figures.
    pub fn primary_category(&self) -> &str {
        self.expect.first().map_or("none", String::as_str)
    }
}

/// Parses the TSV text; every problem is reported at once, each with its line.
pub fn parse(src: &str) -> Result<Vec<Case>, String> {
    let mut problems = Vec::new();
    let mut cases = Vec::new();
    let mut seen_header = false;
    let mut ids = HashSet::new();
    for (index, raw) in src.lines().enumerate() {
        let line = index + 1;
        if raw.trim().is_empty() || raw.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = raw.split('\t').collect();
        if !seen_header {
            seen_header = true;
            if fields != HEADER {
                problems.push(format!(
                    "line {line}: the first non-comment line must be the header `{}`",
                    HEADER.join("\\t")
                ));
            }
            continue;
        }
        match parse_case(line, &fields) {
            Ok(case) => {
                if !ids.insert(case.id.clone()) {
                    problems.push(format!("line {line}: duplicate id `{}`", case.id));
                }
                cases.push(case);
            }
            Err(mut errs) => problems.append(&mut errs),
        }
    }
    if !seen_header {
        problems.push("no header line".to_string());
    }
    if problems.is_empty() {
        Ok(cases)
    } else {
        Err(problems.join("\n"))
    }
}

fn parse_case(line: usize, fields: &[&str]) -> Result<Case, Vec<String>> {
    if fields.len() != HEADER.len() {
        return Err(vec![format!(
            "line {line}: {} tab-separated fields, expected {} (a tab inside the text?)",
            fields.len(),
            HEADER.len()
        )]);
    }
    let mut errs = Vec::new();
    let [id, kind, expect, min, lang, note, text] = [
        fields[0], fields[1], fields[2], fields[3], fields[4], fields[5], fields[6],
    ];
    let id_ok = !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !id_ok {
        errs.push(format!(
            "line {line}: id `{id}` must be non-empty a-z, 0-9 and -"
        ));
    }
    if !KINDS.contains(&kind) {
        errs.push(format!(
            "line {line}: kind `{kind}` must be one of {}",
            KINDS.join(", ")
        ));
    }
    let expect: Vec<String> = if expect == "none" {
        Vec::new()
    } else {
        let parts: Vec<String> = expect.split('|').map(str::to_string).collect();
        for p in &parts {
            if !CATEGORIES.contains(&p.as_str()) {
                errs.push(format!(
                    "line {line}: `{p}` is not a category id (or `none`)"
                ));
            }
        }
        let unique: HashSet<&String> = parts.iter().collect();
        if unique.len() != parts.len() {
            errs.push(format!("line {line}: a category is listed twice"));
        }
        parts
    };
    let min_severity = if expect.is_empty() {
        if min != "-" {
            errs.push(format!(
                "line {line}: a negative (expect none) takes min_severity `-`, not `{min}`"
            ));
        }
        None
    } else {
        match min.parse::<u8>() {
            Ok(s @ 1..=5) => Some(s),
            _ => {
                errs.push(format!(
                    "line {line}: min_severity `{min}` must be 1 to 5 for a positive"
                ));
                None
            }
        }
    };
    let lang_ok = !lang.is_empty() && lang.chars().all(|c| c.is_ascii_lowercase() || c == '-');
    if !lang_ok {
        errs.push(format!(
            "line {line}: lang `{lang}` must be a lower-case code"
        ));
    }
    if note.trim().is_empty() {
        errs.push(format!("line {line}: note is empty"));
    }
    if text.trim().is_empty() || text.trim() != text || text.contains('\r') {
        errs.push(format!(
            "line {line}: text must be non-empty, without surrounding spaces or carriage returns"
        ));
    }
    if errs.is_empty() {
        Ok(Case {
            line,
            id: id.to_string(),
            kind: kind.to_string(),
            expect,
            min_severity,
            lang: lang.to_string(),
            note: note.to_string(),
            text: text.to_string(),
        })
    } else {
        Err(errs)
    }
}

/// Whether the text is (mostly) written in Arabic script (Urdu or Arabic).
fn arabic_script(text: &str) -> bool {
    text.chars().any(|c| ('\u{0600}'..='\u{06FF}').contains(&c))
}

/// Everything the set lacks against the coverage rules; empty when it meets them all.
pub fn coverage_problems(cases: &[Case]) -> Vec<String> {
    let mut problems = Vec::new();
    let positives: Vec<&Case> = cases.iter().filter(|c| c.is_positive()).collect();
    let negatives = cases.len() - positives.len();
    if cases.len() < MIN_CASES {
        problems.push(format!("{} cases, need at least {MIN_CASES}", cases.len()));
    }
    if positives.len() < MIN_POSITIVES {
        problems.push(format!(
            "{} positives, need at least {MIN_POSITIVES}",
            positives.len()
        ));
    }
    if negatives < MIN_NEGATIVES {
        problems.push(format!(
            "{negatives} negatives, need at least {MIN_NEGATIVES}"
        ));
    }
    for cat in CATEGORIES {
        let n = positives
            .iter()
            .filter(|c| c.primary_category() == cat)
            .count();
        if n < MIN_PER_CATEGORY {
            problems.push(format!(
                "{cat}: {n} positives, need at least {MIN_PER_CATEGORY}"
            ));
        }
    }
    for cat in ["suicide", "self-harm"] {
        for lang in REQUIRED_LANGS {
            let n = positives
                .iter()
                .filter(|c| c.primary_category() == cat && c.lang == lang)
                .count();
            if n < MIN_PER_LANGUAGE {
                problems.push(format!(
                    "{cat} in `{lang}`: {n} positives, need at least {MIN_PER_LANGUAGE}"
                ));
            }
        }
        // Urdu is typed in its own script and romanised: both must be there.
        let urdu: Vec<&&Case> = positives
            .iter()
            .filter(|c| c.primary_category() == cat && c.lang == "ur")
            .collect();
        let script = urdu.iter().filter(|c| arabic_script(&c.text)).count();
        let roman = urdu.len() - script;
        if script < 2 || roman < 2 {
            problems.push(format!(
                "{cat} in `ur`: {script} in Urdu script and {roman} romanised, need 2 of each"
            ));
        }
    }
    for kind in KINDS {
        let pos = positives.iter().filter(|c| c.kind == kind).count();
        let neg = cases
            .iter()
            .filter(|c| !c.is_positive() && c.kind == kind)
            .count();
        if pos == 0 || neg == 0 {
            problems.push(format!(
                "kind {kind}: {pos} positives and {neg} negatives, need both"
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "id\tkind\texpect\tmin_severity\tlang\tnote\ttext\n";

    #[test]
    fn parses_positive_negative_and_alternatives() {
        let src = format!(
            "# comment\n{HEAD}# another\na-1\ttyped\tsuicide\t5\ten\tn\ti want to die\n\
             a-2\tpage\tnone\t-\ten\ttrap\tkiller whale\n\
             a-3\tsearch\tterrorism|weapons\t4\ten\tn\tmolotov\n"
        );
        let cases = parse(&src).unwrap();
        assert_eq!(cases.len(), 3);
        assert_eq!(cases[0].line, 4);
        assert_eq!(cases[0].min_severity, Some(5));
        assert!(!cases[1].is_positive());
        assert_eq!(cases[2].expect, vec!["terrorism", "weapons"]);
        assert_eq!(cases[2].primary_category(), "terrorism");
    }

    #[test]
    fn rejects_bad_rows_with_their_lines() {
        let src = format!(
            "{HEAD}a-1\ttyped\tsuicide\t5\ten\tn\tx\n\
             a-1\ttyped\tsuicide\t5\ten\tn\tdup\n\
             b\tchat\tsuicide\t5\ten\tn\tx\n\
             c\ttyped\tsuicid\t5\ten\tn\tx\n\
             d\ttyped\tnone\t3\ten\tn\tx\n\
             e\ttyped\tdrugs\t-\ten\tn\tx\n\
             f\ttyped\tdrugs\t3\ten\tn\n"
        );
        let err = parse(&src).unwrap_err();
        for needle in [
            "line 3: duplicate id",
            "line 4: kind `chat`",
            "line 5: `suicid` is not a category",
            "line 6: a negative",
            "line 7: min_severity `-`",
            "line 8: 6 tab-separated fields",
        ] {
            assert!(err.contains(needle), "missing {needle:?} in:\n{err}");
        }
    }

    #[test]
    fn rejects_a_missing_or_wrong_header() {
        assert!(parse("").is_err());
        assert!(parse("id\tkind\ttext\n").is_err());
    }

    #[test]
    fn coverage_rules_notice_gaps() {
        let src = format!("{HEAD}a\ttyped\tsuicide\t5\ten\tn\ti want to die\n");
        let problems = coverage_problems(&parse(&src).unwrap());
        let all = problems.join("\n");
        assert!(all.contains("1 cases, need at least 350"), "{all}");
        assert!(all.contains("gambling: 0 positives"), "{all}");
        assert!(all.contains("suicide in `cy`: 0 positives"), "{all}");
        assert!(all.contains("0 in Urdu script"), "{all}");
        assert!(all.contains("kind page"), "{all}");
    }
}
