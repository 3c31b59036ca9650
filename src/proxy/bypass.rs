//! The bypass list: hosts gatewatch relays without decrypting.
//!
//! Two sources: the configured list (which includes the default safeguarding list of help
//! lines, health services and banks), and the automatic list of hosts whose clients keep
//! rejecting the school certificate (pinned apps, devices without the school CA). After
//! `[bypass] auto_failures` rejected handshakes in a row for one host, that host is spliced from
//! then on; the automatic list is kept in `<data_dir>/auto-bypass.json` and reported by
//! `gatewatch bypass list`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::config::BypassConfig;

/// File name of the automatic bypass list inside the data directory.
pub const AUTO_BYPASS_FILE: &str = "auto-bypass.json";

/// Bound on hosts tracked for failures before the oldest counts are forgotten.
const MAX_TRACKED: usize = 100_000;

/// Why a host is bypassed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BypassReason {
    /// On the configured (or default) bypass list.
    Configured,
    /// Clients repeatedly rejected our certificate for it.
    Automatic,
}

/// A host on the automatic bypass list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutoEntry {
    /// The host name (or address, for clients that sent no SNI).
    pub host: String,
    /// When it was added (seconds since the Unix epoch).
    pub since_unix: u64,
    /// Rejected handshakes counted before it was added.
    pub failures: u32,
}

#[derive(Debug, Default)]
struct AutoState {
    failures: HashMap<String, u32>,
    bypassed: BTreeMap<String, AutoEntry>,
}

/// The configured and automatic bypass lists.
#[derive(Debug)]
pub struct BypassList {
    hosts: HashSet<String>,
    auto_enabled: bool,
    auto_failures: u32,
    auto: Mutex<AutoState>,
    file: PathBuf,
}

impl BypassList {
    /// Builds the list from the configuration and loads the automatic list from `data_dir`.
    pub fn new(cfg: &BypassConfig, data_dir: &Path) -> Self {
        let file = data_dir.join(AUTO_BYPASS_FILE);
        let mut state = AutoState::default();
        for entry in load_auto(&file) {
            state.bypassed.insert(entry.host.clone(), entry);
        }
        BypassList {
            hosts: cfg.hosts.iter().map(|h| normalise(h)).collect(),
            auto_enabled: cfg.auto.enabled,
            auto_failures: cfg.auto.failures.max(1),
            auto: Mutex::new(state),
            file,
        }
    }

    /// Whether `host` is bypassed, and why.
    pub fn check(&self, host: &str) -> Option<BypassReason> {
        let host = normalise(host);
        let mut suffix = host.as_str();
        loop {
            if self.hosts.contains(suffix) {
                return Some(BypassReason::Configured);
            }
            match suffix.split_once('.') {
                Some((_, rest)) if !rest.is_empty() => suffix = rest,
                _ => break,
            }
        }
        let state = self.lock();
        state
            .bypassed
            .contains_key(&host)
            .then_some(BypassReason::Automatic)
    }

    /// Records that a client rejected our certificate for `host`. Returns true when this made
    /// the host automatically bypassed.
    pub fn record_rejection(&self, host: &str) -> bool {
        if !self.auto_enabled {
            return false;
        }
        let host = normalise(host);
        let snapshot = {
            let mut state = self.lock();
            if state.bypassed.contains_key(&host) {
                return false;
            }
            if state.failures.len() >= MAX_TRACKED {
                state.failures.clear();
            }
            let count = state.failures.entry(host.clone()).or_insert(0);
            *count += 1;
            if *count < self.auto_failures {
                return false;
            }
            let failures = *count;
            state.failures.remove(&host);
            let since_unix = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            state.bypassed.insert(
                host.clone(),
                AutoEntry {
                    host: host.clone(),
                    since_unix,
                    failures,
                },
            );
            state.bypassed.values().cloned().collect::<Vec<_>>()
        };
        let file = self.file.clone();
        // Persist off the runtime's worker threads; losing this write only means the host is
        // learned again after a restart.
        let save = move || {
            if let Err(err) = save_auto(&file, &snapshot) {
                tracing::warn!(error = %err, path = %file.display(), "cannot save the automatic bypass list");
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                handle.spawn_blocking(save);
            }
            Err(_) => save(),
        }
        true
    }

    /// Records a successful interception for `host`: its failure count starts again.
    pub fn record_success(&self, host: &str) {
        let host = normalise(host);
        let mut state = self.lock();
        if !state.failures.is_empty() {
            state.failures.remove(&host);
        }
    }

    /// The automatic bypass list.
    pub fn auto_entries(&self) -> Vec<AutoEntry> {
        self.lock().bypassed.values().cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, AutoState> {
        // A poisoned lock only means another connection panicked mid-update; the map is still
        // usable.
        self.auto
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn normalise(host: &str) -> String {
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// Reads an automatic bypass list file; a missing or unreadable file is an empty list.
pub fn load_auto(file: &Path) -> Vec<AutoEntry> {
    match std::fs::read(file) {
        Ok(bytes) => match serde_json::from_slice(&bytes) {
            Ok(list) => list,
            Err(err) => {
                tracing::warn!(error = %err, path = %file.display(), "ignoring unreadable automatic bypass list");
                Vec::new()
            }
        },
        Err(_) => Vec::new(),
    }
}

fn save_auto(file: &Path, entries: &[AutoEntry]) -> std::io::Result<()> {
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = file.with_extension("json.tmp");
    let json = serde_json::to_vec_pretty(entries).map_err(std::io::Error::other)?;
    std::fs::write(&tmp, json)?;
    std::fs::rename(&tmp, file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AutoBypass;

    fn cfg(hosts: &[&str], failures: u32) -> BypassConfig {
        BypassConfig {
            hosts: hosts.iter().map(|s| s.to_string()).collect(),
            auto: AutoBypass {
                enabled: true,
                failures,
            },
        }
    }

    #[test]
    fn configured_hosts_cover_subdomains_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let list = BypassList::new(&cfg(&["nhs.uk", "childline.org.uk"], 3), dir.path());
        assert_eq!(list.check("www.nhs.uk"), Some(BypassReason::Configured));
        assert_eq!(list.check("NHS.UK."), Some(BypassReason::Configured));
        assert_eq!(
            list.check("childline.org.uk"),
            Some(BypassReason::Configured)
        );
        assert_eq!(list.check("notnhs.uk"), None);
        assert_eq!(list.check("uk"), None);
        assert_eq!(list.check("example.com"), None);
    }

    #[test]
    fn rejections_in_a_row_bypass_a_host_and_persist() {
        let dir = tempfile::tempdir().expect("tempdir");
        let list = BypassList::new(&cfg(&[], 3), dir.path());
        assert!(!list.record_rejection("pinned.example"));
        assert!(!list.record_rejection("pinned.example"));
        list.record_success("pinned.example");
        assert!(!list.record_rejection("pinned.example"));
        assert!(!list.record_rejection("pinned.example"));
        assert_eq!(list.check("pinned.example"), None);
        assert!(list.record_rejection("pinned.example"));
        assert_eq!(list.check("pinned.example"), Some(BypassReason::Automatic));
        assert_eq!(list.auto_entries().len(), 1);
        // No runtime here, so the save happened inline.
        let reloaded = BypassList::new(&cfg(&[], 3), dir.path());
        assert_eq!(
            reloaded.check("pinned.example"),
            Some(BypassReason::Automatic)
        );
        assert_eq!(load_auto(&dir.path().join(AUTO_BYPASS_FILE))[0].failures, 3);
    }

    #[test]
    fn auto_bypass_can_be_switched_off() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut c = cfg(&[], 1);
        c.auto.enabled = false;
        let list = BypassList::new(&c, dir.path());
        assert!(!list.record_rejection("x.example"));
        assert_eq!(list.check("x.example"), None);
    }
}
