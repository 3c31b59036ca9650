//! The manifest checksum: sha256 over, for each file in manifest order, the file name, a NUL
//! byte, the file's bytes and a NUL byte; written `sha256:<lower-case hex>`.
//!
//! It detects files altered after release (or edited without bumping the manifest), and gives
//! incidents a precise record of which library content produced them.

use std::fmt::Write as _;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::load::{read_manifest, MANIFEST};
use super::LibraryError;

/// The checksum of `files` (name and bytes, in manifest order), `sha256:<hex>`.
pub fn compute<'a>(files: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> String {
    let mut hasher = Sha256::new();
    for (name, bytes) in files {
        hasher.update(name.as_bytes());
        hasher.update([0u8]);
        hasher.update(bytes);
        hasher.update([0u8]);
    }
    let digest = hasher.finalize();
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256:");
    for b in digest {
        // Writing to a String cannot fail.
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// True when `value` has the form `sha256:` followed by 64 hex digits.
pub fn well_formed(value: &str) -> bool {
    value
        .strip_prefix("sha256:")
        .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Recomputes the checksum of the library in `dir` and rewrites only the `checksum` value of
/// its manifest (adding the key under `[library]` when missing). Returns the new checksum.
///
/// It does not validate the content: load the library afterwards (as `gatewatch library
/// check --update-checksum` does) to see any problems.
pub fn update_checksum(dir: &Path) -> Result<String, LibraryError> {
    let manifest = read_manifest(dir)?;
    let mut bytes = Vec::with_capacity(manifest.files.len());
    for name in &manifest.files {
        let path = dir.join(name);
        let content = std::fs::read(&path).map_err(|source| LibraryError::Read { path, source })?;
        bytes.push((name.as_str(), content));
    }
    let computed = compute(bytes.iter().map(|(n, b)| (*n, b.as_slice())));
    let src = &manifest.source;
    let updated = match &manifest.checksum_span {
        Some(span) => {
            let old = src.get(span.clone()).unwrap_or_default();
            let quote = old.chars().next().filter(|c| *c == '"' || *c == '\'');
            let value = match quote {
                Some(q) => format!("{q}{computed}{q}"),
                None => computed.clone(),
            };
            format!("{}{}{}", &src[..span.start], value, &src[span.end..])
        }
        None => insert_after_header(src, &computed),
    };
    let path = dir.join(MANIFEST);
    let tmp = dir.join(format!(".{MANIFEST}.tmp"));
    std::fs::write(&tmp, updated).map_err(|source| LibraryError::Write {
        path: tmp.clone(),
        source,
    })?;
    std::fs::rename(&tmp, &path).map_err(|source| LibraryError::Write { path, source })?;
    Ok(computed)
}

/// `src` with a `checksum = "..."` line inserted just after the `[library]` header.
fn insert_after_header(src: &str, checksum: &str) -> String {
    let mut out = String::with_capacity(src.len() + 80);
    let mut inserted = false;
    for line in src.split_inclusive('\n') {
        out.push_str(line);
        if !inserted && line.trim() == "[library]" {
            if !line.ends_with('\n') {
                out.push('\n');
            }
            out.push_str(&format!("checksum = \"{checksum}\"\n"));
            inserted = true;
        }
    }
    if !inserted {
        out.push_str(&format!("\n[library]\nchecksum = \"{checksum}\"\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_covers_names_order_and_bytes() {
        let a = compute([("a.toml", &b"x"[..]), ("b.toml", &b"y"[..])]);
        assert!(well_formed(&a), "{a}");
        assert_ne!(a, compute([("b.toml", &b"y"[..]), ("a.toml", &b"x"[..])]));
        assert_ne!(a, compute([("a.toml", &b"x"[..]), ("c.toml", &b"y"[..])]));
        assert_ne!(a, compute([("a.toml", &b"x"[..]), ("b.toml", &b"z"[..])]));
        // The NUL separators keep name/content boundaries unambiguous.
        assert_ne!(compute([("ab", &b"c"[..])]), compute([("a", &b"bc"[..])]));
        // Fixed vector computed independently: printf 'a.toml\0x\0b.toml\0y\0' | sha256sum
        assert_eq!(
            a,
            "sha256:5c80fba1baecbf4f63c9ff398b86d5020cfb9714eaeaf558222f82ed6bb22512"
        );
    }

    #[test]
    fn well_formed_checks_prefix_and_length() {
        assert!(well_formed(&format!("sha256:{}", "a".repeat(64))));
        assert!(!well_formed(&format!("sha1:{}", "a".repeat(64))));
        assert!(!well_formed(&format!("sha256:{}", "a".repeat(63))));
        assert!(!well_formed(&format!("sha256:{}", "g".repeat(64))));
    }

    #[test]
    fn insert_after_header_adds_one_line() {
        let out = insert_after_header("# c\n[library]\nid = \"x\"\n", "sha256:00");
        assert_eq!(
            out,
            "# c\n[library]\nchecksum = \"sha256:00\"\nid = \"x\"\n"
        );
    }
}
