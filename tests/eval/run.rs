//! Runs `gatewatch library test --format json -` over one kind's texts (one per line on stdin) and
//! reads its answer: one JSON object per input line, in order.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde::Deserialize;

/// How long one run may take before it is killed (the whole set is a few hundred short texts).
const TIME_LIMIT: Duration = Duration::from_secs(300);

/// One finding as `gatewatch library test --format json` prints it.
#[derive(Debug, Clone, Deserialize)]
pub struct Finding {
    /// Category id.
    pub category: String,
    /// Severity 1..5 after exceptions.
    pub severity: u8,
    /// The entry or combo id that fired.
    #[serde(default)]
    pub rule: String,
    /// The matched terms.
    #[serde(default)]
    pub terms: Vec<String>,
}

/// The answer for one input line.
#[derive(Debug, Clone, Deserialize)]
pub struct Outcome {
    /// Input line number, from 1.
    pub line: usize,
    /// Highest severity, `null` when nothing fired.
    pub severity: Option<u8>,
    /// Page/search score.
    #[serde(default)]
    pub score: Option<f64>,
    /// Whether the default profile would raise an incident.
    #[serde(default)]
    pub incident: Option<bool>,
    /// What fired.
    #[serde(default)]
    pub findings: Vec<Finding>,
}

impl Outcome {
    /// What fired, for a report: `category:severity rule [terms]`, or `nothing`.
    pub fn describe(&self) -> String {
        if self.findings.is_empty() {
            return "nothing".to_string();
        }
        let findings = self
            .findings
            .iter()
            .map(|f| {
                format!(
                    "{}:{} {} [{}]",
                    f.category,
                    f.severity,
                    f.rule,
                    f.terms.join(", ")
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        match self.score {
            Some(score) => format!("{findings} (score {score})"),
            None => findings,
        }
    }
}

/// Runs the command once for `kind` over `texts` and returns one outcome per text, in order.
pub fn run(bin: &Path, library: &Path, kind: &str, texts: &[&str]) -> Result<Vec<Outcome>, String> {
    let mut child = spawn(bin, library, kind)?;
    let mut input = String::with_capacity(texts.iter().map(|t| t.len() + 1).sum());
    for t in texts {
        input.push_str(t);
        input.push('\n');
    }
    let mut stdin = child.stdin.take().ok_or("no stdin pipe")?;
    let writer = std::thread::spawn(move || {
        // A command that exits early closes the pipe; its exit status explains why.
        let _ = stdin.write_all(input.as_bytes());
    });
    let mut stdout = child.stdout.take().ok_or("no stdout pipe")?;
    let mut stderr = child.stderr.take().ok_or("no stderr pipe")?;
    let out_reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = stdout.read_to_end(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = stderr.read_to_end(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if start.elapsed() > TIME_LIMIT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "`gatewatch library test --kind {kind}` did not finish within {}s on {} lines",
                    TIME_LIMIT.as_secs(),
                    texts.len()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("cannot wait for gatewatch: {e}")),
        }
    };
    let _ = writer.join();
    let stdout = String::from_utf8_lossy(&out_reader.join().unwrap_or_default()).into_owned();
    let stderr = String::from_utf8_lossy(&err_reader.join().unwrap_or_default()).into_owned();
    if !status.success() {
        let missing =
            stderr.contains("unrecognized subcommand") || stderr.contains("unexpected argument");
        let hint = if missing {
            "`gatewatch library test` (issue 3, item 8) is not wired into the command line yet, or \
             does not take `--library DIR --kind KIND --format json -`; this evaluation runs once \
             it does"
        } else {
            "`gatewatch library test` failed"
        };
        return Err(format!(
            "{hint}.\ncommand: {} library test --library {} --kind {kind} --format json -\nexit: \
             {status}\nstderr:\n{}",
            bin.display(),
            library.display(),
            stderr.trim_end()
        ));
    }
    parse_output(&stdout, texts.len())
        .map_err(|e| format!("`gatewatch library test --kind {kind} --format json` output: {e}"))
}

/// Starts the command; retries briefly when the executable is busy (a script just written by a
/// test while another thread forks).
fn spawn(bin: &Path, library: &Path, kind: &str) -> Result<Child, String> {
    let mut attempt = 0;
    loop {
        let result = Command::new(bin)
            .args(["library", "test", "--library"])
            .arg(library)
            .args(["--kind", kind, "--format", "json", "-"])
            .env("RUST_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn();
        match result {
            Ok(child) => return Ok(child),
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy && attempt < 20 => {
                attempt += 1;
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => return Err(format!("cannot start {}: {e}", bin.display())),
        }
    }
}

/// Parses the JSON lines: exactly `expected` objects numbered 1, 2, ... in order.
pub fn parse_output(stdout: &str, expected: usize) -> Result<Vec<Outcome>, String> {
    let mut outcomes = Vec::with_capacity(expected);
    for (i, raw) in stdout.lines().filter(|l| !l.trim().is_empty()).enumerate() {
        let outcome: Outcome = serde_json::from_str(raw).map_err(|e| {
            format!(
                "output line {} is not the agreed JSON object ({e}): {}",
                i + 1,
                truncate(raw)
            )
        })?;
        if outcome.line != i + 1 {
            return Err(format!(
                "object {} says \"line\": {}; input lines are numbered from 1, one object each, \
                 in order",
                i + 1,
                outcome.line
            ));
        }
        if let Some(f) = outcome
            .findings
            .iter()
            .find(|f| !(1..=5).contains(&f.severity))
        {
            return Err(format!(
                "line {}: finding {} has severity {} (must be 1..5)",
                outcome.line, f.rule, f.severity
            ));
        }
        outcomes.push(outcome);
    }
    if outcomes.len() != expected {
        return Err(format!(
            "{} JSON objects for {expected} input lines (one per line expected)",
            outcomes.len()
        ));
    }
    Ok(outcomes)
}

fn truncate(s: &str) -> String {
    s.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_agreed_json_lines() {
        let out = concat!(
            r#"{"line": 1, "severity": 4, "score": 120, "incident": true, "findings": [{"category": "self-harm", "severity": 4, "rule": "self-harm/cut-myself", "terms": ["cut myself"], "context": "i «cut myself»"}]}"#,
            "\n",
            r#"{"line": 2, "severity": null, "score": 0, "incident": false, "findings": []}"#,
            "\n"
        );
        let got = parse_output(out, 2).unwrap();
        assert_eq!(got[0].severity, Some(4));
        assert_eq!(got[0].findings[0].category, "self-harm");
        assert_eq!(got[0].findings[0].terms, vec!["cut myself"]);
        assert_eq!(got[1].severity, None);
        assert!(got[1].findings.is_empty());
        assert_eq!(got[1].describe(), "nothing");
        assert!(got[0]
            .describe()
            .starts_with("self-harm:4 self-harm/cut-myself"));
    }

    #[test]
    fn rejects_missing_reordered_or_malformed_lines() {
        let one = r#"{"line": 1, "severity": null, "findings": []}"#;
        let two = r#"{"line": 2, "severity": null, "findings": []}"#;
        assert!(parse_output(one, 2)
            .unwrap_err()
            .contains("1 JSON objects for 2"));
        assert!(parse_output(&format!("{two}\n{one}\n"), 2)
            .unwrap_err()
            .contains("numbered from 1"));
        assert!(parse_output("not json\n", 1)
            .unwrap_err()
            .contains("not the agreed"));
        let bad =
            r#"{"line": 1, "severity": 9, "findings": [{"category": "drugs", "severity": 9}]}"#;
        assert!(parse_output(bad, 1).unwrap_err().contains("must be 1..5"));
    }

    /// A stand-in command (a shell script) in a temporary directory.
    fn script(body: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gatewatch");
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        (dir, path)
    }

    #[test]
    fn feeds_one_text_a_line_and_reads_one_object_each() {
        // Echoes each input line's length as the score, so the test sees what arrived.
        let (_dir, bin) = script(
            r#"test "$1 $2 $3 $5 $6 $7 $8 $9" = "library test --library --kind page --format json -" || exit 3
n=0
while IFS= read -r l; do n=$((n+1)); printf '{"line": %d, "severity": null, "score": %d, "findings": []}\n' "$n" "${#l}"; done"#,
        );
        let got = run(&bin, Path::new("/lib"), "page", &["abc", "de", "f"]).unwrap();
        let scores: Vec<Option<f64>> = got.iter().map(|o| o.score).collect();
        assert_eq!(scores, vec![Some(3.0), Some(2.0), Some(1.0)]);
    }

    #[test]
    fn says_clearly_when_the_subcommand_is_missing() {
        let (_dir, bin) = script("echo \"error: unrecognized subcommand 'test'\" >&2; exit 2");
        let err = run(&bin, Path::new("/lib"), "typed", &["x"]).unwrap_err();
        assert!(err.contains("not wired into the command line yet"), "{err}");
        assert!(err.contains("unrecognized subcommand 'test'"), "{err}");
    }

    #[test]
    fn reports_a_short_answer() {
        let (_dir, bin) =
            script(r#"cat >/dev/null; echo '{"line": 1, "severity": null, "findings": []}'"#);
        let err = run(&bin, Path::new("/lib"), "search", &["a", "b"]).unwrap_err();
        assert!(err.contains("1 JSON objects for 2 input lines"), "{err}");
    }
}
