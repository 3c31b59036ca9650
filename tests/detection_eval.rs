//! Measures a threat library against the labelled evaluation set `tests/eval/cases.tsv`
//! (searches, chat lines and page text; positives in every category and in the languages issue 3
//! names, obfuscated spellings, and false-positive traps), through the same command tools outside
//! the project use: `gatewatch library test --library DIR --kind KIND --format json -`, once per
//! kind, one case text per input line.
//!
//! It reports recall (overall, on severity 4-5 cases, per category, language and kind; strict and
//! with a one-grade tolerance, see `eval/score.rs`) and the false-positive rate at severity >= 3,
//! lists every miss and false positive with what fired, prints the report (`cargo test --test
//! detection_eval -- --nocapture`) and writes it to `target/eval-report.txt`. It fails below 95%
//! tolerant recall on severity 4-5 cases or above 5% false positives.
//!
//! `GATEWATCH_EVAL_LIBRARY=/path/to/library` evaluates another library the same way (default:
//! `libraries/starter`). `cargo test --test detection_eval -- --skip library_meets` runs only the
//! checks of the set and the harness, which need no `library test` command.
//! The format and the rules for adding cases are in `tests/eval/README.md`.

#[path = "eval/cases.rs"]
mod cases;
#[path = "eval/run.rs"]
mod run;
#[path = "eval/score.rs"]
mod score;

use std::path::{Path, PathBuf};

use cases::{Case, KINDS};
use run::Outcome;

/// The evaluation set.
const CASES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/eval/cases.tsv");
/// The library evaluated unless `GATEWATCH_EVAL_LIBRARY` names another.
const STARTER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/libraries/starter");
/// The built command.
const BIN: &str = env!("CARGO_BIN_EXE_gatewatch");

fn load_cases() -> Vec<Case> {
    let src = std::fs::read_to_string(CASES).unwrap_or_else(|e| panic!("cannot read {CASES}: {e}"));
    cases::parse(&src).unwrap_or_else(|e| panic!("{CASES} has problems:\n{e}"))
}

fn library_dir() -> PathBuf {
    std::env::var_os("GATEWATCH_EVAL_LIBRARY")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(STARTER))
}

/// `target/` (the binary lives in `target/<profile>/`), falling back to the crate's `target/`.
fn target_dir() -> PathBuf {
    Path::new(BIN)
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
}

#[test]
fn eval_set_is_well_formed_and_covers_every_category_and_language() {
    let cases = load_cases();
    let problems = cases::coverage_problems(&cases);
    assert!(
        problems.is_empty(),
        "{CASES} does not meet its coverage rules:\n{}",
        problems.join("\n")
    );
}

#[test]
fn library_meets_recall_and_false_positive_targets() {
    let cases = load_cases();
    let library = library_dir();
    let mut outcomes: Vec<Option<Outcome>> = vec![None; cases.len()];
    for kind in KINDS {
        let idx: Vec<usize> = (0..cases.len())
            .filter(|&i| cases[i].kind == kind)
            .collect();
        let texts: Vec<&str> = idx.iter().map(|&i| cases[i].text.as_str()).collect();
        let got =
            run::run(Path::new(BIN), &library, kind, &texts).unwrap_or_else(|e| panic!("{e}"));
        for (i, o) in idx.into_iter().zip(got) {
            outcomes[i] = Some(o);
        }
    }
    let outcomes: Vec<Outcome> = outcomes
        .into_iter()
        .zip(&cases)
        .map(|(o, c)| o.unwrap_or_else(|| panic!("no outcome for case {}", c.id)))
        .collect();
    let summary = score::summarise(&cases, &outcomes);
    let report = score::render(&summary, &cases, &outcomes, &library.display().to_string());
    println!("{report}");
    let path = target_dir().join("eval-report.txt");
    match std::fs::write(&path, &report) {
        Ok(()) => println!("report written to {}", path.display()),
        Err(e) => eprintln!("cannot write {}: {e}", path.display()),
    }
    assert!(
        summary.high.tolerant.at_least(score::HIGH_RECALL_MIN),
        "tolerant recall on severity 4-5 cases is {:.1}% ({}/{}), below {}%; the misses are \
         listed in {}",
        summary.high.tolerant.percent(),
        summary.high.tolerant.hit,
        summary.high.tolerant.total,
        score::HIGH_RECALL_MIN,
        path.display()
    );
    assert!(
        summary.fp.at_most(score::FP_RATE_MAX),
        "false-positive rate at severity >= {} is {:.1}% ({}/{}), above {}%; the false positives \
         are listed in {}",
        score::FP_SEVERITY,
        summary.fp.percent(),
        summary.fp.hit,
        summary.fp.total,
        score::FP_RATE_MAX,
        path.display()
    );
}
