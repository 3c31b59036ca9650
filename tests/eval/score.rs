//! Scores outcomes against the labels and renders the report.
//!
//! A positive is **detected** when some finding has one of its expected categories and a
//! severity of at least `min_severity - TOLERANCE` (tolerant) or `min_severity` (strict). The
//! tolerance of one grade accepts a library that grades a case one step lower than the set does
//! (4 where we said 5): both still reach the safeguarding lead at high priority, and graders
//! honestly differ by a step. A negative is a **false positive** when any finding, of any
//! category, has severity >= `FP_SEVERITY` (medium or higher).

use std::fmt::Write as _;

use super::cases::{Case, CATEGORIES, KINDS, REQUIRED_LANGS};
use super::run::Outcome;

/// Grades a detection may fall short of `min_severity` and still count (tolerant figures).
pub const TOLERANCE: u8 = 1;
/// Severity from which a finding on a negative is a false positive.
pub const FP_SEVERITY: u8 = 3;
/// Required tolerant recall on severity 4-5 cases, percent.
pub const HIGH_RECALL_MIN: usize = 95;
/// Largest allowed false-positive rate at severity >= 3, percent.
pub const FP_RATE_MAX: usize = 5;

/// A count of hits out of a total.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Cases that met the condition.
    pub hit: usize,
    /// Cases considered.
    pub total: usize,
}

impl Tally {
    fn add(&mut self, hit: bool) {
        self.total += 1;
        if hit {
            self.hit += 1;
        }
    }

    /// Percentage (0 when empty).
    pub fn percent(self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.hit as f64 * 100.0 / self.total as f64
        }
    }

    /// Exact integer check: hit/total >= pct%.
    pub fn at_least(self, pct: usize) -> bool {
        self.hit * 100 >= self.total * pct
    }

    /// Exact integer check: hit/total <= pct%.
    pub fn at_most(self, pct: usize) -> bool {
        self.hit * 100 <= self.total * pct
    }

    fn show(self) -> String {
        format!("{:>3}/{:<3} {:>5.1}%", self.hit, self.total, self.percent())
    }
}

/// Strict and tolerant recall over one group of positives.
#[derive(Debug, Clone, Copy, Default)]
pub struct Recall {
    /// Detected at `min_severity - TOLERANCE` or higher.
    pub tolerant: Tally,
    /// Detected at `min_severity` or higher.
    pub strict: Tally,
}

impl Recall {
    fn add(&mut self, tolerant: bool, strict: bool) {
        self.tolerant.add(tolerant);
        self.strict.add(strict);
    }
}

/// Whether a positive case is detected with the given tolerance (in grades).
pub fn detected(case: &Case, outcome: &Outcome, tolerance: u8) -> bool {
    let Some(min) = case.min_severity else {
        return false;
    };
    outcome
        .findings
        .iter()
        .any(|f| case.expect.contains(&f.category) && f.severity.saturating_add(tolerance) >= min)
}

/// Whether a negative case fired at medium severity or higher.
pub fn false_positive(outcome: &Outcome) -> bool {
    outcome.findings.iter().any(|f| f.severity >= FP_SEVERITY)
}

/// Every figure the report shows.
#[derive(Debug, Default)]
pub struct Summary {
    /// All positives.
    pub all: Recall,
    /// Positives with min_severity 4 or 5.
    pub high: Recall,
    /// Positives with min_severity 5.
    pub five: Recall,
    /// Per first-listed category, in `CATEGORIES` order.
    pub per_category: Vec<(String, Recall)>,
    /// Per language (required languages first, then any other).
    pub per_lang: Vec<(String, Recall)>,
    /// Per kind, positives.
    pub per_kind: Vec<(String, Recall)>,
    /// Negatives that fired at severity >= FP_SEVERITY, out of all negatives.
    pub fp: Tally,
    /// Per kind, negatives.
    pub fp_per_kind: Vec<(String, Tally)>,
    /// Positives and negatives that would raise an incident, when the command says.
    pub incidents_pos: Tally,
    /// Negatives that would raise an incident.
    pub incidents_neg: Tally,
    /// Positives missed even with the tolerance: (case index).
    pub misses: Vec<usize>,
    /// Positives detected only with the tolerance.
    pub strict_only_misses: Vec<usize>,
    /// Negatives with a finding at severity >= FP_SEVERITY.
    pub false_positives: Vec<usize>,
    /// Negatives with findings, all below FP_SEVERITY (not counted).
    pub low_hits: Vec<usize>,
}

fn slot<'a, T: Default>(v: &'a mut Vec<(String, T)>, key: &str) -> &'a mut T {
    let i = match v.iter().position(|(k, _)| k == key) {
        Some(i) => i,
        None => {
            v.push((key.to_string(), T::default()));
            v.len() - 1
        }
    };
    &mut v[i].1
}

/// Scores `outcomes[i]` against `cases[i]`.
pub fn summarise(cases: &[Case], outcomes: &[Outcome]) -> Summary {
    let mut s = Summary {
        per_category: CATEGORIES
            .iter()
            .map(|c| (c.to_string(), Recall::default()))
            .collect(),
        per_lang: REQUIRED_LANGS
            .iter()
            .map(|l| (l.to_string(), Recall::default()))
            .collect(),
        per_kind: KINDS
            .iter()
            .map(|k| (k.to_string(), Recall::default()))
            .collect(),
        fp_per_kind: KINDS
            .iter()
            .map(|k| (k.to_string(), Tally::default()))
            .collect(),
        ..Summary::default()
    };
    for (i, (case, out)) in cases.iter().zip(outcomes).enumerate() {
        if case.is_positive() {
            let tol = detected(case, out, TOLERANCE);
            let strict = detected(case, out, 0);
            s.all.add(tol, strict);
            if matches!(case.min_severity, Some(4..=5)) {
                s.high.add(tol, strict);
            }
            if case.min_severity == Some(5) {
                s.five.add(tol, strict);
            }
            slot(&mut s.per_category, case.primary_category()).add(tol, strict);
            slot(&mut s.per_lang, &case.lang).add(tol, strict);
            slot(&mut s.per_kind, &case.kind).add(tol, strict);
            if let Some(inc) = out.incident {
                s.incidents_pos.add(inc);
            }
            if !tol {
                s.misses.push(i);
            } else if !strict {
                s.strict_only_misses.push(i);
            }
        } else {
            let fp = false_positive(out);
            s.fp.add(fp);
            slot(&mut s.fp_per_kind, &case.kind).add(fp);
            if let Some(inc) = out.incident {
                s.incidents_neg.add(inc);
            }
            if fp {
                s.false_positives.push(i);
            } else if !out.findings.is_empty() {
                s.low_hits.push(i);
            }
        }
    }
    s
}

impl Summary {
    /// Whether the set passes: tolerant severity-4/5 recall and the false-positive rate.
    pub fn passes(&self) -> bool {
        self.high.tolerant.at_least(HIGH_RECALL_MIN) && self.fp.at_most(FP_RATE_MAX)
    }
}

fn recall_table(out: &mut String, title: &str, rows: &[(String, Recall)]) {
    let _ = writeln!(
        out,
        "\n{title}\n  {:<20} {:<18} {:<18}",
        "", "tolerant", "strict"
    );
    for (k, r) in rows.iter().filter(|(_, r)| r.strict.total > 0) {
        let _ = writeln!(
            out,
            "  {k:<20} {:<18} {}",
            r.tolerant.show(),
            r.strict.show()
        );
    }
}

fn case_line(out: &mut String, case: &Case, outcome: &Outcome) {
    let label = if case.is_positive() {
        format!(
            "{} >={}",
            case.expect.join("|"),
            case.min_severity.unwrap_or(0)
        )
    } else {
        "none".to_string()
    };
    let _ = writeln!(
        out,
        "  {} [{} {} {}] ({})\n      text:  {}\n      fired: {}",
        case.id,
        case.kind,
        case.lang,
        label,
        case.note,
        case.text,
        outcome.describe()
    );
}

/// The human report (also written to `target/eval-report.txt`).
pub fn render(s: &Summary, cases: &[Case], outcomes: &[Outcome], library: &str) -> String {
    let mut out = String::new();
    let negatives = s.fp.total;
    let _ = writeln!(
        out,
        "gatewatch detection evaluation\nlibrary: {library}\ncases: {} ({} positives, {negatives} \
         negatives)\ndetected = a finding in an expected category with severity >= min_severity \
         - {TOLERANCE} (tolerant) or >= min_severity (strict)\nfalse positive = a negative with \
         any finding of severity >= {FP_SEVERITY}",
        cases.len(),
        s.all.strict.total
    );
    let _ = writeln!(
        out,
        "\nRecall                 tolerant           strict\n  all positives        {:<18} {}\n  \
         severity 4-5 cases   {:<18} {}\n  severity 5 cases     {:<18} {}",
        s.all.tolerant.show(),
        s.all.strict.show(),
        s.high.tolerant.show(),
        s.high.strict.show(),
        s.five.tolerant.show(),
        s.five.strict.show()
    );
    let _ = writeln!(
        out,
        "\nFalse positives (severity >= {FP_SEVERITY}) {}",
        s.fp.show()
    );
    for (k, t) in s.fp_per_kind.iter().filter(|(_, t)| t.total > 0) {
        let _ = writeln!(out, "  {k:<20} {}", t.show());
    }
    let _ = writeln!(
        out,
        "  negatives with only low findings (severity 1-2, not counted): {}",
        s.low_hits.len()
    );
    if s.incidents_pos.total + s.incidents_neg.total > 0 {
        let _ = writeln!(
            out,
            "\nWould raise an incident: positives {}, negatives {}",
            s.incidents_pos.show(),
            s.incidents_neg.show()
        );
    }
    recall_table(
        &mut out,
        "Recall per category (first expected category)",
        &s.per_category,
    );
    recall_table(&mut out, "Recall per language", &s.per_lang);
    recall_table(&mut out, "Recall per kind", &s.per_kind);
    let sections: [(&str, &Vec<usize>); 4] = [
        ("Misses (not detected even with the tolerance)", &s.misses),
        (
            "Detected only with the tolerance (graded one step lower than the set)",
            &s.strict_only_misses,
        ),
        (
            "False positives (severity >= 3 on a negative)",
            &s.false_positives,
        ),
        (
            "Negatives with low-severity findings only (not counted)",
            &s.low_hits,
        ),
    ];
    for (title, list) in sections {
        let _ = writeln!(out, "\n{title}: {}", list.len());
        for &i in list {
            case_line(&mut out, &cases[i], &outcomes[i]);
        }
    }
    let _ =
        writeln!(
        out,
        "\nVerdict: severity 4-5 tolerant recall {:.1}% (need >= {HIGH_RECALL_MIN}%): {}; false \
         positives {:.1}% (need <= {FP_RATE_MAX}%): {}",
        s.high.tolerant.percent(),
        if s.high.tolerant.at_least(HIGH_RECALL_MIN) { "PASS" } else { "FAIL" },
        s.fp.percent(),
        if s.fp.at_most(FP_RATE_MAX) { "PASS" } else { "FAIL" },
    );
    out
}

#[cfg(test)]
mod tests {
    use super::super::cases::parse;
    use super::super::run::parse_output;
    use super::*;

    fn fixture() -> (Vec<Case>, Vec<Outcome>) {
        let cases = parse(
            "id\tkind\texpect\tmin_severity\tlang\tnote\ttext\n\
             p1\ttyped\tsuicide\t5\ten\tn\ta\n\
             p2\ttyped\tsuicide|self-harm\t4\tpl\tn\tb\n\
             p3\tsearch\tdrugs\t3\ten\tn\tc\n\
             n1\tpage\tnone\t-\ten\tn\td\n\
             n2\tpage\tnone\t-\ten\tn\te\n",
        )
        .unwrap();
        let f = |cat: &str, sev: u8| {
            format!(
                r#"{{"category": "{cat}", "severity": {sev}, "rule": "{cat}/x", "terms": ["t"]}}"#
            )
        };
        let out = [
            // p1: graded 4 where the set says 5: tolerant hit, strict miss.
            format!(
                r#"{{"line": 1, "severity": 4, "findings": [{}]}}"#,
                f("suicide", 4)
            ),
            // p2: the second listed category counts.
            format!(
                r#"{{"line": 2, "severity": 4, "findings": [{}]}}"#,
                f("self-harm", 4)
            ),
            // p3: wrong category: a miss.
            format!(
                r#"{{"line": 3, "severity": 3, "findings": [{}]}}"#,
                f("violence", 3)
            ),
            // n1: medium finding: false positive.
            format!(
                r#"{{"line": 4, "severity": 3, "findings": [{}]}}"#,
                f("violence", 3)
            ),
            // n2: low finding only: not a false positive.
            format!(
                r#"{{"line": 5, "severity": 2, "findings": [{}]}}"#,
                f("mental-health", 2)
            ),
        ]
        .join("\n");
        let outcomes = parse_output(&out, 5).unwrap();
        (cases, outcomes)
    }

    #[test]
    fn tolerance_categories_and_false_positives() {
        let (cases, outcomes) = fixture();
        let s = summarise(&cases, &outcomes);
        assert_eq!(s.all.tolerant, Tally { hit: 2, total: 3 });
        assert_eq!(s.all.strict, Tally { hit: 1, total: 3 });
        assert_eq!(s.high.tolerant, Tally { hit: 2, total: 2 });
        assert_eq!(s.high.strict, Tally { hit: 1, total: 2 });
        assert_eq!(s.fp, Tally { hit: 1, total: 2 });
        assert_eq!(s.misses, vec![2]);
        assert_eq!(s.strict_only_misses, vec![0]);
        assert_eq!(s.false_positives, vec![3]);
        assert_eq!(s.low_hits, vec![4]);
        assert!(!s.passes(), "50% false positives must fail");
        let report = render(&s, &cases, &outcomes, "fixture");
        assert!(report.contains("p3 [search en drugs >=3]"), "{report}");
        assert!(report.contains("violence:3 violence/x [t]"), "{report}");
        assert!(report.contains("FAIL"), "{report}");
    }

    #[test]
    fn thresholds_are_exact() {
        assert!(Tally {
            hit: 95,
            total: 100
        }
        .at_least(95));
        assert!(!Tally {
            hit: 94,
            total: 100
        }
        .at_least(95));
        assert!(Tally { hit: 5, total: 100 }.at_most(5));
        assert!(!Tally { hit: 6, total: 100 }.at_most(5));
    }
}
