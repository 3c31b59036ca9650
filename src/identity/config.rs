//! The `[identity]` configuration section: which DHCP and RADIUS sources to read, and how long
//! to keep what they say.
//!
//! [`IdentityConfig`] is what the TOML holds (every field optional, unknown keys rejected);
//! [`IdentityConfig::validate`] checks it, resolves relative paths against the configuration
//! file's directory, reads secret files, and produces [`IdentitySettings`], which is what the
//! sources and the service are built from.
//!
//! ```toml
//! [identity]
//! dnsmasq_leases = "/var/lib/misc/dnsmasq.leases"
//! radius_detail_dir = "/var/log/freeradius/radacct"
//! radius_detail_pattern = "*/detail-*"
//! radius_listen = "0.0.0.0:1813"
//! retention_days = 90
//!
//! [[identity.radius_clients]]
//! subnet = "10.0.0.0/24"
//! secret_file = "/etc/gatewatch/radius-secret"
//! ```

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnet::IpNet;
use serde::Deserialize;

use super::event::UnixTime;
use super::sessions::DEFAULT_SESSION_TIMEOUT_SECS;

/// The default retention of identity history, in days (the incident retention policy).
pub const DEFAULT_RETENTION_DAYS: u32 = 90;
/// The default file name pattern inside `radius_detail_dir` (Debian's per-NAS, per-day files).
pub const DEFAULT_DETAIL_PATTERN: &str = "*/detail-*";

/// The `[identity]` section as written in the configuration file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IdentityConfig {
    /// dnsmasq leases file (`--dhcp-leasefile`), e.g. `/var/lib/misc/dnsmasq.leases`.
    pub dnsmasq_leases: Option<PathBuf>,
    /// ISC dhcpd lease log, e.g. `/var/lib/dhcp/dhcpd.leases`.
    pub dhcpd_leases: Option<PathBuf>,
    /// Kea DHCPv4 memfile, e.g. `/var/lib/kea/kea-leases4.csv`.
    pub kea_leases: Option<PathBuf>,
    /// Directory of FreeRADIUS `detail` files, e.g. `/var/log/freeradius/radacct`.
    pub radius_detail_dir: Option<PathBuf>,
    /// Which files under `radius_detail_dir` to follow: a pattern with `*` and `?`, one
    /// component per directory level (`*/detail-*` = Debian's per-NAS directories).
    pub radius_detail_pattern: String,
    /// Where to receive RADIUS accounting copies (UDP), e.g. `0.0.0.0:1813`. Unset: no listener.
    pub radius_listen: Option<SocketAddr>,
    /// The NASes (controllers, access points) allowed to send accounting, each with its shared
    /// secret.
    pub radius_clients: Vec<RadiusClientConfig>,
    /// Interface to sniff DHCP on (needs CAP_NET_RAW), e.g. `wlan0`. Unset: no sniffing.
    pub sniff_interface: Option<String>,
    /// A RADIUS session with no Stop ends this many seconds after its last update.
    pub session_timeout_secs: u64,
    /// Days of identity history to keep (follow the incident retention policy).
    pub retention_days: u32,
    /// Replace user names with a keyed hash (key file `identity-pseudonym.key` in the data
    /// directory), so stored IDs mean nothing outside the school.
    pub pseudonymise: bool,
    /// How often files are checked for changes, in milliseconds.
    pub poll_interval_ms: u64,
    /// How often the event log is flushed to disk (fsync), in milliseconds.
    pub fsync_interval_ms: u64,
}

impl Default for IdentityConfig {
    fn default() -> Self {
        IdentityConfig {
            dnsmasq_leases: None,
            dhcpd_leases: None,
            kea_leases: None,
            radius_detail_dir: None,
            radius_detail_pattern: DEFAULT_DETAIL_PATTERN.to_owned(),
            radius_listen: None,
            radius_clients: Vec::new(),
            sniff_interface: None,
            session_timeout_secs: DEFAULT_SESSION_TIMEOUT_SECS.unsigned_abs(),
            retention_days: DEFAULT_RETENTION_DAYS,
            pseudonymise: false,
            poll_interval_ms: 500,
            fsync_interval_ms: 1000,
        }
    }
}

/// One `[[identity.radius_clients]]` entry.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RadiusClientConfig {
    /// Source addresses this client sends from, e.g. `10.0.0.0/24` or `10.0.0.2/32`.
    pub subnet: IpNet,
    /// The shared secret, inline. Prefer `secret_file`.
    #[serde(default)]
    pub secret: Option<String>,
    /// A file holding the shared secret (trailing newline ignored); keep it mode 0600.
    #[serde(default)]
    pub secret_file: Option<PathBuf>,
}

impl fmt::Debug for RadiusClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RadiusClientConfig")
            .field("subnet", &self.subnet)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("secret_file", &self.secret_file)
            .finish()
    }
}

/// A RADIUS client after validation: its subnet and its secret's bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct RadiusClient {
    /// Source addresses it sends from.
    pub subnet: IpNet,
    /// The shared secret.
    pub secret: Vec<u8>,
}

impl fmt::Debug for RadiusClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RadiusClient")
            .field("subnet", &self.subnet)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// The detail-file source after validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetailSource {
    /// The directory.
    pub dir: PathBuf,
    /// The pattern, split into one component per directory level.
    pub pattern: Vec<String>,
}

/// The validated `[identity]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentitySettings {
    /// dnsmasq leases file.
    pub dnsmasq_leases: Option<PathBuf>,
    /// ISC dhcpd lease log.
    pub dhcpd_leases: Option<PathBuf>,
    /// Kea memfile.
    pub kea_leases: Option<PathBuf>,
    /// FreeRADIUS detail files.
    pub radius_detail: Option<DetailSource>,
    /// RADIUS listener address.
    pub radius_listen: Option<SocketAddr>,
    /// RADIUS clients, most specific subnet first.
    pub radius_clients: Vec<RadiusClient>,
    /// Interface to sniff DHCP on.
    pub sniff_interface: Option<String>,
    /// Session timeout.
    pub session_timeout: UnixTime,
    /// Retention, in seconds.
    pub retention: UnixTime,
    /// Pseudonymise user names.
    pub pseudonymise: bool,
    /// Poll interval for files.
    pub poll_interval: Duration,
    /// Event log fsync interval.
    pub fsync_interval: Duration,
}

impl IdentitySettings {
    /// True when at least one DHCP or RADIUS source is configured.
    pub fn has_sources(&self) -> bool {
        self.dnsmasq_leases.is_some()
            || self.dhcpd_leases.is_some()
            || self.kea_leases.is_some()
            || self.radius_detail.is_some()
            || self.radius_listen.is_some()
            || self.sniff_interface.is_some()
    }
}

/// A configuration value that cannot be used; the message names the `[identity]` key.
#[derive(Debug, thiserror::Error)]
pub enum IdentityConfigError {
    /// A value is out of range or malformed.
    #[error("[identity] {key}: {problem}")]
    Invalid {
        /// The key.
        key: &'static str,
        /// What is wrong and what to write instead.
        problem: String,
    },
    /// A secret file cannot be read.
    #[error("[identity] radius_clients[{index}].secret_file {path}: cannot read it ({source}); check the path and that gatewatch may read it")]
    SecretFile {
        /// Position in `radius_clients`.
        index: usize,
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

fn invalid(key: &'static str, problem: impl Into<String>) -> IdentityConfigError {
    IdentityConfigError::Invalid {
        key,
        problem: problem.into(),
    }
}

impl IdentityConfig {
    /// Checks the section and loads secret files; relative paths are taken from `base` (the
    /// configuration file's directory).
    pub fn validate(&self, base: &Path) -> Result<IdentitySettings, IdentityConfigError> {
        let resolve = |p: &Option<PathBuf>| p.as_ref().map(|p| base.join(p));
        if !(60..=7 * 24 * 3600).contains(&self.session_timeout_secs) {
            return Err(invalid(
                "session_timeout_secs",
                "must be between 60 (one minute) and 604800 (one week); 43200 is usual",
            ));
        }
        if !(1..=3650).contains(&self.retention_days) {
            return Err(invalid(
                "retention_days",
                "must be between 1 and 3650; follow the incident retention policy (90)",
            ));
        }
        if !(50..=60_000).contains(&self.poll_interval_ms) {
            return Err(invalid("poll_interval_ms", "must be between 50 and 60000"));
        }
        if !(10..=60_000).contains(&self.fsync_interval_ms) {
            return Err(invalid("fsync_interval_ms", "must be between 10 and 60000"));
        }
        let pattern = split_pattern(&self.radius_detail_pattern)?;
        if let Some(name) = &self.sniff_interface {
            if name.is_empty() || name.len() > 15 || name.contains(['/', ' ']) {
                return Err(invalid(
                    "sniff_interface",
                    "must be an interface name such as wlan0 (at most 15 characters)",
                ));
            }
        }
        if self.radius_listen.is_none() && !self.radius_clients.is_empty() {
            return Err(invalid(
                "radius_clients",
                "clients are listed but radius_listen is not set; set radius_listen = \"0.0.0.0:1813\"",
            ));
        }
        if self.radius_listen.is_some() && self.radius_clients.is_empty() {
            return Err(invalid(
                "radius_clients",
                "radius_listen is set but no client may send: add [[identity.radius_clients]] with subnet and secret_file",
            ));
        }
        let mut clients = Vec::with_capacity(self.radius_clients.len());
        for (index, c) in self.radius_clients.iter().enumerate() {
            let secret = match (&c.secret, &c.secret_file) {
                (Some(s), None) => s.as_bytes().to_vec(),
                (None, Some(path)) => {
                    let path = base.join(path);
                    let text =
                        std::fs::read(&path).map_err(|source| IdentityConfigError::SecretFile {
                            index,
                            path: path.clone(),
                            source,
                        })?;
                    let mut text = text;
                    while text.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                        text.pop();
                    }
                    text
                }
                _ => {
                    return Err(invalid(
                        "radius_clients",
                        format!("entry {index}: give exactly one of secret or secret_file"),
                    ))
                }
            };
            if secret.is_empty() {
                return Err(invalid(
                    "radius_clients",
                    format!("entry {index}: the shared secret is empty"),
                ));
            }
            clients.push(RadiusClient {
                subnet: c.subnet.trunc(),
                secret,
            });
        }
        clients.sort_by_key(|c| std::cmp::Reverse(c.subnet.prefix_len()));
        Ok(IdentitySettings {
            dnsmasq_leases: resolve(&self.dnsmasq_leases),
            dhcpd_leases: resolve(&self.dhcpd_leases),
            kea_leases: resolve(&self.kea_leases),
            radius_detail: resolve(&self.radius_detail_dir)
                .map(|dir| DetailSource { dir, pattern }),
            radius_listen: self.radius_listen,
            radius_clients: clients,
            sniff_interface: self.sniff_interface.clone(),
            session_timeout: UnixTime::try_from(self.session_timeout_secs)
                .unwrap_or(DEFAULT_SESSION_TIMEOUT_SECS),
            retention: UnixTime::from(self.retention_days) * 86_400,
            pseudonymise: self.pseudonymise,
            poll_interval: Duration::from_millis(self.poll_interval_ms),
            fsync_interval: Duration::from_millis(self.fsync_interval_ms),
        })
    }
}

fn split_pattern(pattern: &str) -> Result<Vec<String>, IdentityConfigError> {
    let parts: Vec<String> = pattern.split('/').map(str::to_owned).collect();
    let bad = parts
        .iter()
        .any(|p| p.is_empty() || p == "." || p == ".." || p.contains('\\'));
    if bad || parts.len() > 4 {
        return Err(invalid(
            "radius_detail_pattern",
            "must be a relative pattern such as detail-* or */detail-* (at most 4 levels, no ..)",
        ));
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(toml_text: &str) -> Result<IdentityConfig, toml::de::Error> {
        toml::from_str(toml_text)
    }

    #[test]
    fn defaults_validate_to_nothing_enabled() {
        let s = IdentityConfig::default()
            .validate(Path::new("/etc/gw"))
            .unwrap();
        assert_eq!(s.retention, 90 * 86_400);
        assert_eq!(s.session_timeout, 12 * 3600);
        assert!(s.dnsmasq_leases.is_none() && s.radius_listen.is_none());
        assert_eq!(s.poll_interval, Duration::from_millis(500));
    }

    #[test]
    fn a_full_section_parses_and_resolves() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("nas.secret"), "s3cret\n").unwrap();
        let c = parse(
            r#"
            dnsmasq_leases = "leases/dnsmasq.leases"
            dhcpd_leases = "/var/lib/dhcp/dhcpd.leases"
            radius_detail_dir = "/var/log/freeradius/radacct"
            radius_detail_pattern = "*/detail-*"
            radius_listen = "127.0.0.1:1813"
            sniff_interface = "wlan0"
            retention_days = 30
            pseudonymise = true
            [[radius_clients]]
            subnet = "10.0.0.0/16"
            secret = "wide"
            [[radius_clients]]
            subnet = "10.0.0.2/32"
            secret_file = "nas.secret"
            "#,
        )
        .unwrap();
        let s = c.validate(dir.path()).unwrap();
        assert_eq!(
            s.dnsmasq_leases.as_deref(),
            Some(dir.path().join("leases/dnsmasq.leases").as_path())
        );
        assert_eq!(
            s.dhcpd_leases.as_deref(),
            Some(Path::new("/var/lib/dhcp/dhcpd.leases"))
        );
        let detail = s.radius_detail.unwrap();
        assert_eq!(detail.pattern, vec!["*", "detail-*"]);
        assert_eq!(
            s.radius_clients[0].secret, b"s3cret",
            "most specific first, newline cut"
        );
        assert_eq!(s.radius_clients[1].secret, b"wide");
        assert_eq!(s.retention, 30 * 86_400);
        assert!(s.pseudonymise);
        assert!(
            !format!("{:?}", s.radius_clients).contains("wide"),
            "secrets are not printed"
        );
    }

    #[test]
    fn mistakes_are_reported_with_their_key() {
        assert!(
            parse("dnsmasq_lease = \"/x\"").is_err(),
            "unknown keys are rejected"
        );
        let err = |text: &str| {
            parse(text)
                .unwrap()
                .validate(Path::new("/"))
                .unwrap_err()
                .to_string()
        };
        assert!(err("retention_days = 0").contains("retention_days"));
        assert!(err("session_timeout_secs = 1").contains("session_timeout_secs"));
        assert!(err("radius_detail_pattern = \"../x\"").contains("radius_detail_pattern"));
        assert!(err("radius_listen = \"0.0.0.0:1813\"").contains("radius_clients"));
        assert!(
            err("[[radius_clients]]\nsubnet = \"10.0.0.0/8\"\nsecret = \"x\"")
                .contains("radius_listen is not set")
        );
        let both = "radius_listen = \"0.0.0.0:1813\"\n[[radius_clients]]\nsubnet = \"10.0.0.0/8\"\nsecret = \"x\"\nsecret_file = \"y\"";
        assert!(err(both).contains("exactly one"));
        let missing = "radius_listen = \"0.0.0.0:1813\"\n[[radius_clients]]\nsubnet = \"10.0.0.0/8\"\nsecret_file = \"/nonexistent/secret\"";
        assert!(err(missing).contains("secret_file /nonexistent/secret"));
        assert!(err("sniff_interface = \"a very long interface name\"").contains("sniff_interface"));
    }
}
