//! [`DetailDirFollower`]: every FreeRADIUS detail file under a directory whose path matches a
//! pattern (`detail-*`, or Debian's `*/detail-*` for one directory per NAS), each followed by
//! its own [`AppendFollower`].
//!
//! FreeRADIUS starts a new file per day (`detail-%Y%m%d`), so new files are picked up at every
//! poll and read from their start; files are read in path order (per-day names sort by date).
//! A file that disappears is read to its end and forgotten. Files untouched for a while are
//! parked (their descriptor closed, their offset kept), so years of daily files do not hold a
//! descriptor each. At first start, files last modified before `max_age` ago are skipped.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::append::AppendFollower;
use super::{Follower, Polled};
use crate::identity::event::UnixTime;
use crate::identity::DetailParser;

/// A file not modified for this long is parked after it has been read.
const PARK_AFTER: Duration = Duration::from_secs(600);

/// Follows matching files under a directory; see the module documentation.
#[derive(Debug)]
pub struct DetailDirFollower {
    dir: PathBuf,
    pattern: Vec<String>,
    max_age: Option<Duration>,
    files: BTreeMap<PathBuf, AppendFollower<DetailParser>>,
    /// Files skipped as too old at discovery.
    skipped: HashSet<PathBuf>,
}

impl DetailDirFollower {
    /// Follows files under `dir` whose relative path matches `pattern` (one element per
    /// directory level, each with `*` and `?` wildcards), skipping files older than `max_age`.
    pub fn new(dir: impl Into<PathBuf>, pattern: Vec<String>, max_age: Option<Duration>) -> Self {
        DetailDirFollower {
            dir: dir.into(),
            pattern,
            max_age,
            files: BTreeMap::new(),
            skipped: HashSet::new(),
        }
    }

    /// The files being followed.
    pub fn files(&self) -> impl Iterator<Item = &Path> {
        self.files.keys().map(PathBuf::as_path)
    }

    fn discover(&mut self) -> std::io::Result<Vec<PathBuf>> {
        let mut found = Vec::new();
        let mut level = vec![self.dir.clone()];
        for (depth, part) in self.pattern.iter().enumerate() {
            let last = depth + 1 == self.pattern.len();
            let mut next = Vec::new();
            for dir in &level {
                let entries = match std::fs::read_dir(dir) {
                    Ok(e) => e,
                    Err(e) if depth > 0 && e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(e),
                };
                for entry in entries.flatten() {
                    let name = entry.file_name();
                    let Some(name) = name.to_str() else { continue };
                    if !glob_match(part, name) {
                        continue;
                    }
                    let Ok(kind) = entry.file_type() else {
                        continue;
                    };
                    match (last, kind.is_dir(), kind.is_file()) {
                        (true, _, true) => found.push(entry.path()),
                        (false, true, _) => next.push(entry.path()),
                        _ => {}
                    }
                }
            }
            level = next;
        }
        found.sort();
        Ok(found)
    }
}

impl Follower for DetailDirFollower {
    fn name(&self) -> &'static str {
        "radius-detail"
    }

    fn poll(&mut self, now: UnixTime) -> Polled {
        let mut polled = Polled::default();
        let present = match self.discover() {
            Ok(p) => p,
            Err(e) => {
                polled.error = Some(e);
                self.files.keys().cloned().collect()
            }
        };
        let first_scan = self.files.is_empty() && self.skipped.is_empty();
        for path in &present {
            if self.files.contains_key(path) || self.skipped.contains(path) {
                continue;
            }
            let too_old = first_scan
                && self.max_age.is_some_and(|max| {
                    std::fs::metadata(path)
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|m| SystemTime::now().duration_since(m).ok())
                        .is_some_and(|age| age > max)
                });
            if too_old {
                self.skipped.insert(path.clone());
            } else {
                self.files
                    .insert(path.clone(), AppendFollower::detail(path.clone()));
            }
        }
        let present: HashSet<&PathBuf> = present.iter().collect();
        let mut gone = Vec::new();
        for (path, follower) in &mut self.files {
            let p = follower.poll(now);
            polled.events.extend(p.events);
            polled.report.merge(&p.report);
            if p.error.is_some() {
                polled.error = p.error;
            }
            if !present.contains(path) {
                gone.push(path.clone());
            } else if std::fs::metadata(path)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|m| SystemTime::now().duration_since(m).ok())
                .is_some_and(|age| age > PARK_AFTER)
            {
                follower.park();
            }
        }
        for path in gone {
            self.files.remove(&path);
        }
        self.skipped.retain(|p| present.contains(p));
        polled
    }
}

/// Shell-style matching of one path component: `*` any run, `?` one character.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ni));
                pi += 1;
            }
            Some(c) if *c == '?' || *c == n[ni] => {
                pi += 1;
                ni += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    pi = sp + 1;
                    ni = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::event::IdentityEvent;
    use std::io::Write;

    const DETAIL: &str = include_str!("../../../tests/fixtures/identity/radius-detail");

    fn users(p: &Polled) -> Vec<Option<String>> {
        p.events
            .iter()
            .filter_map(|e| match e {
                IdentityEvent::Accounting(a) => Some(a.user.clone()),
                IdentityEvent::Lease(_) => None,
            })
            .collect()
    }

    #[test]
    fn globs() {
        assert!(glob_match("detail-*", "detail-20261123"));
        assert!(glob_match("*", "10.0.0.2"));
        assert!(glob_match("detail-????????", "detail-20261123"));
        assert!(!glob_match("detail-????????", "detail-2026112"));
        assert!(glob_match("*-*3", "detail-20261123"));
        assert!(!glob_match("detail-*", "auth-detail-1"));
        assert!(glob_match("a*b*c", "aXXbYYc"));
        assert!(!glob_match("a*b*c", "aXXbYY"));
        assert!(glob_match("", ""));
    }

    #[test]
    fn per_nas_daily_files_are_found_and_followed() {
        let dir = tempfile::tempdir().unwrap();
        let nas = dir.path().join("10.0.0.2");
        std::fs::create_dir(&nas).unwrap();
        let records: Vec<&str> = DETAIL.split_inclusive("\n\n").collect();
        assert_eq!(records.len(), 7);
        std::fs::write(nas.join("detail-20261122"), records[..2].concat()).unwrap();
        std::fs::write(nas.join("ignored.txt"), records[2]).unwrap();
        let pattern = vec!["*".to_owned(), "detail-*".to_owned()];
        let mut f = DetailDirFollower::new(dir.path(), pattern, Some(Duration::from_secs(86400)));
        let first = f.poll(0);
        assert_eq!(
            users(&first),
            vec![Some("alice".into()), Some("bob".into())]
        );
        // The next day's file, and another NAS directory appear; the first file grows.
        let other = dir.path().join("10.0.0.3");
        std::fs::create_dir(&other).unwrap();
        std::fs::write(other.join("detail-20261123"), records[3]).unwrap();
        std::fs::write(nas.join("detail-20261123"), records[4]).unwrap();
        let mut old = std::fs::OpenOptions::new()
            .append(true)
            .open(nas.join("detail-20261122"))
            .unwrap();
        old.write_all(records[2].as_bytes()).unwrap();
        let second = f.poll(0);
        assert_eq!(second.events.len(), 3);
        assert_eq!(second.report.skipped, 0);
        assert_eq!(f.files().count(), 3);
        // A removed file is dropped.
        std::fs::remove_file(nas.join("detail-20261122")).unwrap();
        assert!(f.poll(0).events.is_empty());
        assert_eq!(f.files().count(), 2);
    }

    #[test]
    fn a_missing_directory_is_an_error_not_a_panic() {
        let mut f = DetailDirFollower::new("/nonexistent/radacct", vec!["detail-*".into()], None);
        assert!(f.poll(0).error.is_some());
    }
}
