//! Helpers for the library unit tests: temporary library directories with a correct manifest.

use std::path::Path;

use super::checksum;
use super::Problem;

/// Writes `files` and a manifest listing them (in order) with a correct checksum into `dir`.
pub(crate) fn write_library(dir: &Path, files: &[(&str, &str)]) {
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
    let sum = checksum::compute(files.iter().map(|(n, t)| (*n, t.as_bytes())));
    let list: Vec<String> = files.iter().map(|(n, _)| format!("\"{n}\"")).collect();
    let manifest = format!(
        "# test library\n[library]\nid = \"test-lib\"\nversion = \"2026.11.0\"\n\
         description = \"unit test\"\nfiles = [{}]\nchecksum = \"{sum}\"  # keep me\n",
        list.join(", ")
    );
    std::fs::write(dir.join("library.toml"), manifest).unwrap();
}

/// Panics unless `problems` has one in a file ending with `file`, at `line`, for `item`,
/// whose message contains `needle`.
pub(crate) fn assert_problem(
    problems: &[Problem],
    file: &str,
    line: usize,
    item: &str,
    needle: &str,
) {
    let found = problems.iter().any(|p| {
        p.file.to_string_lossy().ends_with(file)
            && p.line == line
            && p.item == item
            && p.message.contains(needle)
    });
    assert!(
        found,
        "no problem {file}:{line}: {item}: ...{needle}... in:\n{}",
        problems
            .iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );
}
