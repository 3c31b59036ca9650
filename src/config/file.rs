//! The configuration file format: raw serde structs that mirror the TOML file.
//!
//! Every section and key is optional (absent means the value of [`Config::default`]) and an
//! unknown key is an error, so a misspelt key is never silently ignored. Values that need
//! checking (addresses, subnets, host names, ranges) stay raw here and are checked by
//! [`super::validate`]. This module also maps byte offsets and key paths back to 1-based line
//! numbers, so every error names its line.
//!
//! [`Config::default`]: super::Config::default

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::de::{DeTable, DeValue};

use super::{Config, ConfigError};

/// The raw, unvalidated file: one field per `[section]`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawConfig {
    /// `[listen]`: listener addresses.
    pub listen: RawListen,
    /// `[clients]`: which clients may use the proxy.
    pub clients: RawClients,
    /// `[bypass]`: hosts that are never decrypted.
    pub bypass: RawBypass,
    /// `[upstream]`: upstream trust and connection settings.
    pub upstream: RawUpstream,
    /// `[limits]`: resource limits and timeouts.
    pub limits: RawLimits,
    /// `[paths]`: file locations.
    pub paths: RawPaths,
    /// `[inspect]`: streaming inspection settings.
    pub inspect: RawInspect,
    /// `[observability]`: metrics endpoint.
    pub observability: RawObservability,
    /// `[detect]`: threat library and incident thresholds.
    pub detect: RawDetect,
    /// `[identity]`: DHCP and RADIUS sources (validated by the identity module).
    pub identity: crate::identity::IdentityConfig,
}

/// `[detect]`.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawDetect {
    /// Library directory; absent = the embedded starter library.
    pub library: Option<PathBuf>,
    /// School overlay file.
    pub overlay: Option<PathBuf>,
    /// `"normal"` (every occurrence counts) or `"singular"` (each rule once per body).
    pub mode: String,
    /// Weight multiplier for typed and searched text.
    pub typed_multiplier: i64,
    /// Highest severity that makes an incident.
    pub incident_severity: u64,
    /// Severity of a typed or searched hit that makes an incident.
    pub incident_typed_severity: u64,
    /// Weighted score that makes an incident.
    pub incident_score: i64,
}

impl Default for RawDetect {
    fn default() -> Self {
        let d = Config::default().detect;
        RawDetect {
            library: None,
            overlay: None,
            mode: "normal".to_string(),
            typed_multiplier: i64::from(d.typed_multiplier),
            incident_severity: u64::from(d.incident_severity),
            incident_typed_severity: u64::from(d.incident_typed_severity),
            incident_score: d.incident_score,
        }
    }
}

/// `[listen]`: socket addresses as written (`"IP:PORT"`).
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawListen {
    /// Explicit proxy listeners.
    pub explicit: Vec<String>,
    /// Transparent plain-HTTP listeners.
    pub transparent_http: Vec<String>,
    /// Transparent TLS listeners.
    pub transparent_tls: Vec<String>,
}

impl Default for RawListen {
    fn default() -> Self {
        let d = Config::default().listen;
        let strings = |v: &[std::net::SocketAddr]| v.iter().map(|a| a.to_string()).collect();
        RawListen {
            explicit: strings(&d.explicit),
            transparent_http: strings(&d.transparent_http),
            transparent_tls: strings(&d.transparent_tls),
        }
    }
}

/// `[clients]`.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawClients {
    /// Allowed client subnets in CIDR form.
    pub allowed_subnets: Vec<String>,
}

impl Default for RawClients {
    fn default() -> Self {
        let d = Config::default().clients;
        RawClients {
            allowed_subnets: d.allowed_subnets.iter().map(|n| n.to_string()).collect(),
        }
    }
}

/// `[bypass]`.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawBypass {
    /// Include [`super::DEFAULT_BYPASS_HOSTS`].
    pub use_default_list: bool,
    /// Extra host names, as written.
    pub hosts: Vec<String>,
    /// Automatic bypass on or off.
    pub auto: bool,
    /// Rejected handshakes before a host is bypassed automatically.
    pub auto_failures: u32,
}

impl Default for RawBypass {
    fn default() -> Self {
        let d = Config::default().bypass;
        RawBypass {
            use_default_list: true,
            hosts: Vec::new(),
            auto: d.auto.enabled,
            auto_failures: d.auto.failures,
        }
    }
}

/// `[upstream]` and `[upstream.static_hosts]`.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawUpstream {
    /// Trust the operating system's CA store.
    pub trust_system: bool,
    /// Trust the Mozilla root program.
    pub trust_mozilla: bool,
    /// Extra PEM CA files, relative to the config file's directory unless absolute.
    pub extra_ca_files: Vec<PathBuf>,
    /// Allow loopback and private upstream addresses.
    pub allow_private: bool,
    /// Upstream connect and handshake timeout, in seconds.
    pub connect_timeout_secs: u64,
    /// Host name to IP address overrides, as written (sorted, so errors are reproducible).
    pub static_hosts: BTreeMap<String, String>,
}

impl Default for RawUpstream {
    fn default() -> Self {
        let d = Config::default().upstream;
        RawUpstream {
            trust_system: d.trust_system,
            trust_mozilla: d.trust_mozilla,
            extra_ca_files: d.extra_ca_files,
            allow_private: d.allow_private,
            connect_timeout_secs: d.connect_timeout.as_secs(),
            static_hosts: BTreeMap::new(),
        }
    }
}

/// `[limits]`.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawLimits {
    /// Maximum simultaneous client connections.
    pub max_connections: u64,
    /// Maximum request or response head size, in bytes.
    pub max_header_bytes: u64,
    /// Client handshake / first request head timeout, in seconds.
    pub handshake_timeout_secs: u64,
    /// Idle connection timeout, in seconds.
    pub idle_timeout_secs: u64,
    /// Graceful shutdown time limit, in seconds.
    pub shutdown_grace_secs: u64,
}

impl Default for RawLimits {
    fn default() -> Self {
        let d = Config::default().limits;
        RawLimits {
            max_connections: u64::try_from(d.max_connections).unwrap_or(u64::MAX),
            max_header_bytes: u64::try_from(d.max_header_bytes).unwrap_or(u64::MAX),
            handshake_timeout_secs: d.handshake_timeout.as_secs(),
            idle_timeout_secs: d.idle_timeout.as_secs(),
            shutdown_grace_secs: d.shutdown_grace.as_secs(),
        }
    }
}

/// `[paths]`, relative to the config file's directory unless absolute.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawPaths {
    /// Data directory.
    pub data_dir: PathBuf,
    /// School CA directory.
    pub ca_dir: PathBuf,
}

impl Default for RawPaths {
    fn default() -> Self {
        let d = Config::default().paths;
        RawPaths {
            data_dir: d.data_dir,
            ca_dir: d.ca_dir,
        }
    }
}

/// `[inspect]`.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawInspect {
    /// Frames queued per body stream.
    pub queue_frames: u64,
    /// Total stall budget per body, in milliseconds.
    pub max_stall_ms: u64,
}

impl Default for RawInspect {
    fn default() -> Self {
        let d = Config::default().inspect;
        RawInspect {
            queue_frames: u64::try_from(d.queue_frames).unwrap_or(u64::MAX),
            max_stall_ms: u64::try_from(d.max_stall.as_millis()).unwrap_or(u64::MAX),
        }
    }
}

/// `[observability]`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawObservability {
    /// Metrics listener as written; absent = off.
    pub metrics_listen: Option<String>,
}

/// One step of a path into the document: a table key or an array index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step<'a> {
    /// A key in a table.
    Key(&'a str),
    /// An element of an array (0-based).
    Index(usize),
}

/// Parses TOML text into a [`RawConfig`]. Syntax errors, wrong types and unknown keys become
/// [`ConfigError::Parse`] with the 1-based line and a message naming the key.
pub fn parse(text: &str, path: &Path) -> Result<RawConfig, ConfigError> {
    let parse_error = |line: usize, message: String| ConfigError::Parse {
        path: path.to_path_buf(),
        line,
        message,
    };
    let doc = DeTable::parse(text).map_err(|e| {
        let line = e.span().map_or(0, |s| line_at(text, s.start));
        let near = e
            .span()
            .and_then(|s| text.get(s))
            .filter(|t| !t.trim().is_empty() && t.len() <= 60 && !t.contains('\n'))
            .map(|t| format!(" (at `{}`)", t.trim()))
            .unwrap_or_default();
        let message = e.message().trim_end();
        parse_error(line, format!("invalid TOML: {message}{near}"))
    })?;
    RawConfig::deserialize(toml::de::Deserializer::from(doc.clone())).map_err(|e| {
        let Some(span) = e.span() else {
            return parse_error(0, e.message().to_string());
        };
        let located = locate(doc.get_ref(), &span);
        parse_error(line_at(text, span.start), explain(e.message(), &located))
    })
}

/// 1-based line of the item at `path` (the key of a table entry, or the element of an array),
/// or 0 when the text does not parse or the item is absent.
pub fn line_of(text: &str, path: &[Step<'_>]) -> usize {
    let Ok(doc) = DeTable::parse(text) else {
        return 0;
    };
    let mut table = doc.get_ref();
    let mut value: Option<&DeValue<'_>> = None;
    let mut offset = None;
    for step in path {
        match (step, value) {
            (Step::Key(key), None) | (Step::Key(key), Some(DeValue::Table(_))) => {
                if let Some(DeValue::Table(t)) = value {
                    table = t;
                }
                let Some((k, v)) = table.iter().find(|(k, _)| k.get_ref() == key) else {
                    return 0;
                };
                offset = Some(k.span().start);
                value = Some(v.get_ref());
            }
            (Step::Index(i), Some(DeValue::Array(items))) => {
                let Some(item) = items.get(*i) else {
                    return 0;
                };
                offset = Some(item.span().start);
                value = Some(item.get_ref());
            }
            _ => return 0,
        }
    }
    offset.map_or(0, |o| line_at(text, o))
}

/// The dotted TOML key of `path`, array indexes left out: `listen.explicit`,
/// `upstream.static_hosts."intranet.school.test"`.
pub fn dotted(path: &[Step<'_>]) -> String {
    let mut out = String::new();
    for step in path {
        if let Step::Key(key) = step {
            if !out.is_empty() {
                out.push('.');
            }
            let bare = !key.is_empty()
                && key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if bare {
                out.push_str(key);
            } else {
                out.push_str(&format!("{key:?}"));
            }
        }
    }
    out
}

/// 1-based line containing byte `offset` of `text`.
fn line_at(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    1 + text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

/// The path of the innermost key, value or array element whose span holds `span`.
fn locate<'d>(doc: &'d DeTable<'_>, span: &Range<usize>) -> Vec<Step<'d>> {
    let mut best: Option<(usize, Vec<Step<'d>>)> = None;
    let mut path = Vec::new();
    walk_table(doc, span, &mut path, &mut best);
    best.map(|(_, p)| p).unwrap_or_default()
}

fn consider<'d>(
    candidate: Range<usize>,
    span: &Range<usize>,
    path: &[Step<'d>],
    best: &mut Option<(usize, Vec<Step<'d>>)>,
) {
    let holds = candidate.start <= span.start && span.end <= candidate.end;
    let len = candidate.end - candidate.start;
    // `<=` so that, for equal spans, the deeper path (visited later) wins.
    if holds && best.as_ref().is_none_or(|(l, _)| len <= *l) {
        *best = Some((len, path.to_vec()));
    }
}

fn walk_table<'d>(
    table: &'d DeTable<'_>,
    span: &Range<usize>,
    path: &mut Vec<Step<'d>>,
    best: &mut Option<(usize, Vec<Step<'d>>)>,
) {
    for (key, value) in table.iter() {
        path.push(Step::Key(key.get_ref()));
        consider(key.span(), span, path, best);
        consider(value.span(), span, path, best);
        walk_value(value.get_ref(), span, path, best);
        path.pop();
    }
}

fn walk_value<'d>(
    value: &'d DeValue<'_>,
    span: &Range<usize>,
    path: &mut Vec<Step<'d>>,
    best: &mut Option<(usize, Vec<Step<'d>>)>,
) {
    match value {
        DeValue::Table(t) => walk_table(t, span, path, best),
        DeValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(Step::Index(i));
                consider(item.span(), span, path, best);
                walk_value(item.get_ref(), span, path, best);
                path.pop();
            }
        }
        _ => {}
    }
}

/// Rewrites a serde message so that it names the key and says what to write instead.
fn explain(message: &str, located: &[Step<'_>]) -> String {
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let (name, expected) = rest.split_once('`').unwrap_or((rest, ""));
        let table = match located.last() {
            Some(Step::Key(last)) if *last == name => &located[..located.len() - 1],
            _ => located,
        };
        let place = if table.is_empty() {
            "at the top level".to_string()
        } else {
            format!("in [{}]", dotted(table))
        };
        let expected = expected.trim_start_matches(',').trim();
        return format!(
            "unknown key `{name}` {place}; {expected}; check the spelling against \
             proxy-config/gatewatch.toml"
        );
    }
    let friendly = friendly_types(message);
    let key = dotted(located);
    let item = match located.last() {
        Some(Step::Index(i)) => format!(" (item {} of the list)", i + 1),
        _ => String::new(),
    };
    if key.is_empty() {
        friendly
    } else {
        format!("key `{key}`{item}: {friendly}")
    }
}

/// Replaces Rust type names in serde messages with TOML words.
fn friendly_types(message: &str) -> String {
    const WORDS: &[(&str, &str)] = &[
        ("expected u64", "expected a whole number, 0 or more"),
        ("expected u32", "expected a whole number, 0 or more"),
        ("expected a sequence", "expected an array, e.g. [\"...\"]"),
        ("expected a boolean", "expected true or false"),
        ("expected path string", "expected a string"),
        ("expected a map", "expected a table"),
    ];
    let mut out = message.to_string();
    for (from, to) in WORDS {
        out = out.replace(from, to);
    }
    if let Some(i) = out.find("expected struct Raw") {
        out.replace_range(i.., "expected a table, e.g. [section] or { key = value }");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_err(text: &str) -> (usize, String) {
        match parse(text, Path::new("/etc/gatewatch/gatewatch.toml")) {
            Err(ConfigError::Parse { line, message, .. }) => (line, message),
            other => panic!("expected a parse error, got {other:?}"),
        }
    }

    #[test]
    fn empty_file_gives_defaults() {
        let raw = parse("", Path::new("x.toml")).expect("empty file parses");
        assert_eq!(raw.listen.explicit, vec!["127.0.0.1:3128".to_string()]);
        assert_eq!(raw.clients.allowed_subnets, vec!["127.0.0.0/8", "::1/128"]);
        assert!(raw.bypass.use_default_list && raw.bypass.auto);
        assert_eq!(raw.bypass.auto_failures, 3);
        assert_eq!(raw.limits.max_header_bytes, 65536);
        assert_eq!(raw.inspect.max_stall_ms, 2000);
        assert_eq!(raw.upstream.connect_timeout_secs, 10);
        assert_eq!(raw.observability.metrics_listen, None);
    }

    #[test]
    fn unknown_key_names_key_table_and_line() {
        let (line, message) = parse_err("[listen]\nexplicit = []\nexplict = [\"1.2.3.4:1\"]\n");
        assert_eq!(line, 3);
        assert!(
            message.starts_with("unknown key `explict` in [listen]; expected one of `explicit`"),
            "{message}"
        );
    }

    #[test]
    fn unknown_section_is_named() {
        let (line, message) = parse_err("\n\n[listner]\nexplicit = []\n");
        assert_eq!(line, 3);
        assert!(
            message.starts_with("unknown key `listner` at the top level"),
            "{message}"
        );
    }

    #[test]
    fn unknown_nested_key_in_dotted_form() {
        let (line, message) = parse_err("[limits]\nmax_connections = 5\n\n[upstream]\ntrust = 1\n");
        assert_eq!(line, 5);
        assert!(
            message.starts_with("unknown key `trust` in [upstream]"),
            "{message}"
        );
    }

    #[test]
    fn wrong_type_names_key_and_line() {
        let (line, message) = parse_err("[limits]\n\nmax_connections = \"many\"\n");
        assert_eq!(line, 3);
        assert!(
            message.starts_with("key `limits.max_connections`: invalid type: string"),
            "{message}"
        );
        assert!(message.contains("whole number"), "{message}");
    }

    #[test]
    fn negative_number_names_key() {
        let (line, message) = parse_err("[inspect]\nqueue_frames = 4\nmax_stall_ms = -1\n");
        assert_eq!(line, 3);
        assert!(message.contains("`inspect.max_stall_ms`"), "{message}");
    }

    #[test]
    fn wrong_type_in_list_names_item() {
        let (line, message) = parse_err("[bypass]\nhosts = [\n  \"a.test\",\n  7,\n]\n");
        assert_eq!(line, 4);
        assert!(
            message.starts_with("key `bypass.hosts` (item 2 of the list): invalid type"),
            "{message}"
        );
    }

    #[test]
    fn section_of_wrong_type() {
        let (line, message) = parse_err("listen = 5\n");
        assert_eq!(line, 1);
        assert!(
            message.starts_with("key `listen`: invalid type"),
            "{message}"
        );
        assert!(message.contains("expected a table"), "{message}");
    }

    #[test]
    fn syntax_error_has_line() {
        let (line, message) = parse_err("[limits]\nmax_connections = 5\nidle_timeout_secs = = 3\n");
        assert_eq!(line, 3);
        assert!(message.starts_with("invalid TOML"), "{message}");
        let (line, message) = parse_err("[limits]\nmax_connections = 5\nmax_connections = 6\n");
        assert_eq!(line, 3);
        assert!(message.contains("(at `max_connections`)"), "{message}");
    }

    #[test]
    fn line_of_finds_keys_and_items() {
        let text = "# c\n[listen]\nexplicit = [\n  \"a\",\n  \"b\",\n]\n\n[upstream.static_hosts]\n\"x.test\" = \"1.2.3.4\"\n";
        let key = |k| Step::Key(k);
        assert_eq!(line_of(text, &[key("listen")]), 2);
        assert_eq!(line_of(text, &[key("listen"), key("explicit")]), 3);
        assert_eq!(
            line_of(text, &[key("listen"), key("explicit"), Step::Index(1)]),
            5
        );
        assert_eq!(
            line_of(text, &[key("upstream"), key("static_hosts"), key("x.test")]),
            9
        );
        assert_eq!(line_of(text, &[key("limits")]), 0);
        assert_eq!(line_of(text, &[key("listen"), key("transparent_tls")]), 0);
        assert_eq!(
            line_of(text, &[key("listen"), key("explicit"), Step::Index(9)]),
            0
        );
    }

    #[test]
    fn dotted_quotes_keys_that_need_it() {
        let path = [
            Step::Key("upstream"),
            Step::Key("static_hosts"),
            Step::Key("intranet.school.test"),
        ];
        assert_eq!(
            dotted(&path),
            "upstream.static_hosts.\"intranet.school.test\""
        );
        assert_eq!(
            dotted(&[Step::Key("listen"), Step::Key("explicit"), Step::Index(2)]),
            "listen.explicit"
        );
    }
}
