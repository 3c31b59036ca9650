//! Validation: turns the raw file ([`RawConfig`]) into the validated [`Config`].
//!
//! Each check fails with [`ConfigError::Invalid`] naming the dotted key and the line where the
//! offending key (or list item) is written, and says what to write instead. Relative paths
//! resolve against the directory that holds the config file.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnet::IpNet;

use super::file::{self, RawConfig, Step};
use super::{
    AutoBypass, BypassConfig, ClientPolicy, Config, ConfigError, DetectConfig, InspectConfig,
    Limits, Listeners, Observability, Paths, UpstreamConfig, DEFAULT_BYPASS_HOSTS,
};

/// The longest timeout accepted anywhere: one day, in seconds.
const MAX_TIMEOUT_SECS: u64 = 24 * 60 * 60;

/// Validates a raw file into a [`Config`]. `text` is the file's text (for line numbers) and
/// `path` its location (for messages and for resolving relative paths).
pub fn validate(raw: RawConfig, text: &str, path: &Path) -> Result<Config, ConfigError> {
    let v = Validator {
        text,
        path,
        base: config_dir(path),
    };
    let listen = v.listeners(&raw)?;
    let clients = v.clients(&raw)?;
    let bypass = v.bypass(&raw)?;
    let upstream = v.upstream(&raw)?;
    let limits = v.limits(&raw)?;
    let paths = v.paths(&raw)?;
    let inspect = v.inspect(&raw)?;
    let observability = v.observability(&raw)?;
    let detect = v.detect(&raw)?;
    let identity = v.identity(&raw)?;
    v.distinct_addresses(&listen, &observability)?;
    Ok(Config {
        listen,
        clients,
        bypass,
        upstream,
        limits,
        paths,
        inspect,
        observability,
        detect,
        identity,
    })
}

/// The directory relative paths resolve against: the config file's directory, made absolute
/// (against the current directory) when possible so `config check` shows where files live.
fn config_dir(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    absolute.parent().map(Path::to_path_buf).unwrap_or_default()
}

struct Validator<'a> {
    text: &'a str,
    path: &'a Path,
    base: PathBuf,
}

impl Validator<'_> {
    /// An [`ConfigError::Invalid`] for the item at `at`.
    fn invalid(&self, at: &[Step<'_>], message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            path: self.path.to_path_buf(),
            key: file::dotted(at),
            line: file::line_of(self.text, at),
            message: message.into(),
        }
    }

    fn listeners(&self, raw: &RawConfig) -> Result<Listeners, ConfigError> {
        let list = |name: &str, items: &[String]| -> Result<Vec<SocketAddr>, ConfigError> {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let at = [Step::Key("listen"), Step::Key(name), Step::Index(i)];
                out.push(self.socket_addr(&at, item)?);
            }
            Ok(out)
        };
        let listen = Listeners {
            explicit: list("explicit", &raw.listen.explicit)?,
            transparent_http: list("transparent_http", &raw.listen.transparent_http)?,
            transparent_tls: list("transparent_tls", &raw.listen.transparent_tls)?,
        };
        if listen.explicit.is_empty()
            && listen.transparent_http.is_empty()
            && listen.transparent_tls.is_empty()
        {
            return Err(self.invalid(
                &[Step::Key("listen")],
                "no listener is configured; give at least one address in `explicit`, \
                 `transparent_http` or `transparent_tls`, e.g. explicit = [\"127.0.0.1:3128\"]",
            ));
        }
        Ok(listen)
    }

    fn socket_addr(&self, at: &[Step<'_>], text: &str) -> Result<SocketAddr, ConfigError> {
        text.parse().map_err(|_| {
            self.invalid(
                at,
                format!(
                    "{text:?} is not an IP address and port; write \"IP:PORT\", e.g. \
                     \"10.20.0.1:3129\" or \"[fd00::1]:3129\" (host names are not accepted)"
                ),
            )
        })
    }

    /// Rejects the same address twice, and a wildcard address that overlaps another address
    /// on the same port (the second bind would fail at start-up).
    fn distinct_addresses(
        &self,
        listen: &Listeners,
        obs: &Observability,
    ) -> Result<(), ConfigError> {
        let mut all: Vec<(SocketAddr, Vec<Step<'static>>)> = Vec::new();
        let groups: [(&'static str, &Vec<SocketAddr>); 3] = [
            ("explicit", &listen.explicit),
            ("transparent_http", &listen.transparent_http),
            ("transparent_tls", &listen.transparent_tls),
        ];
        for (name, addrs) in groups {
            for (i, addr) in addrs.iter().enumerate() {
                all.push((
                    *addr,
                    vec![Step::Key("listen"), Step::Key(name), Step::Index(i)],
                ));
            }
        }
        if let Some(addr) = obs.metrics_listen {
            let at = vec![Step::Key("observability"), Step::Key("metrics_listen")];
            all.push((addr, at));
        }
        for (n, (addr, at)) in all.iter().enumerate() {
            for (earlier, earlier_at) in &all[..n] {
                let clash = if earlier == addr {
                    "is listed twice"
                } else if overlaps(*earlier, *addr) {
                    "overlaps a wildcard address on the same port"
                } else {
                    continue;
                };
                return Err(self.invalid(
                    at,
                    format!(
                        "address {addr} {clash} (see `{}` at line {}); every listener and \
                         the metrics endpoint need their own address and port",
                        file::dotted(earlier_at),
                        file::line_of(self.text, earlier_at),
                    ),
                ));
            }
        }
        Ok(())
    }

    fn clients(&self, raw: &RawConfig) -> Result<ClientPolicy, ConfigError> {
        let key = [Step::Key("clients"), Step::Key("allowed_subnets")];
        let items = &raw.clients.allowed_subnets;
        if items.is_empty() {
            return Err(self.invalid(
                &key,
                "no client subnet is allowed, so nobody could use the proxy; list the \
                 Wi-Fi subnets, e.g. [\"10.20.0.0/16\"]",
            ));
        }
        let mut allowed_subnets = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let at = [key[0], key[1], Step::Index(i)];
            let net: IpNet = item.parse().map_err(|_| {
                self.invalid(
                    &at,
                    format!(
                        "{item:?} is not a subnet; write it in CIDR form, e.g. \
                         \"10.20.0.0/16\" or \"fd00:20::/64\" (one address: \"10.20.0.5/32\")"
                    ),
                )
            })?;
            if net.prefix_len() == 0 {
                return Err(self.invalid(
                    &at,
                    format!(
                        "{item:?} allows every address on the Internet: gatewatch must never \
                         be an open proxy; list only the school's own client subnets"
                    ),
                ));
            }
            allowed_subnets.push(net.trunc());
        }
        Ok(ClientPolicy { allowed_subnets })
    }

    fn bypass(&self, raw: &RawConfig) -> Result<BypassConfig, ConfigError> {
        let b = &raw.bypass;
        let mut hosts: Vec<String> = Vec::new();
        if b.use_default_list {
            hosts.extend(DEFAULT_BYPASS_HOSTS.iter().map(|h| h.to_string()));
        }
        for (i, item) in b.hosts.iter().enumerate() {
            let at = [Step::Key("bypass"), Step::Key("hosts"), Step::Index(i)];
            let host = normalize_host(item, true)
                .map_err(|why| self.invalid(&at, format!("{item:?} is not a host name: {why}")))?;
            if !hosts.contains(&host) {
                hosts.push(host);
            }
        }
        if b.auto_failures < 1 {
            return Err(self.invalid(
                &[Step::Key("bypass"), Step::Key("auto_failures")],
                "must be at least 1; to turn automatic bypass off, set `auto = false`",
            ));
        }
        Ok(BypassConfig {
            hosts,
            auto: AutoBypass {
                enabled: b.auto,
                failures: b.auto_failures,
            },
        })
    }

    fn upstream(&self, raw: &RawConfig) -> Result<UpstreamConfig, ConfigError> {
        let u = &raw.upstream;
        let mut extra_ca_files = Vec::with_capacity(u.extra_ca_files.len());
        for (i, file) in u.extra_ca_files.iter().enumerate() {
            let at = [
                Step::Key("upstream"),
                Step::Key("extra_ca_files"),
                Step::Index(i),
            ];
            let resolved = self.base.join(file);
            check_readable_file(&resolved).map_err(|why| self.invalid(&at, why))?;
            extra_ca_files.push(resolved);
        }
        let mut static_hosts = HashMap::with_capacity(u.static_hosts.len());
        for (name, addr) in &u.static_hosts {
            let at = [
                Step::Key("upstream"),
                Step::Key("static_hosts"),
                Step::Key(name),
            ];
            let host = normalize_host(name, false)
                .map_err(|why| self.invalid(&at, format!("{name:?} is not a host name: {why}")))?;
            let ip: IpAddr = addr.parse().map_err(|_| {
                self.invalid(
                    &at,
                    format!(
                        "{addr:?} is not an IP address; write one address, e.g. \"10.0.0.5\" \
                         or \"fd00::5\""
                    ),
                )
            })?;
            if static_hosts.insert(host.clone(), ip).is_some() {
                return Err(self.invalid(
                    &at,
                    format!("{host} is listed twice (names are not case-sensitive)"),
                ));
            }
        }
        let connect_timeout = self.timeout(
            &[Step::Key("upstream"), Step::Key("connect_timeout_secs")],
            u.connect_timeout_secs,
        )?;
        Ok(UpstreamConfig {
            trust_system: u.trust_system,
            trust_mozilla: u.trust_mozilla,
            extra_ca_files,
            allow_private: u.allow_private,
            static_hosts,
            connect_timeout,
        })
    }

    fn limits(&self, raw: &RawConfig) -> Result<Limits, ConfigError> {
        let l = &raw.limits;
        let key = |name| [Step::Key("limits"), Step::Key(name)];
        let max_connections =
            self.in_range(&key("max_connections"), l.max_connections, 1, 1_000_000, "")?;
        let max_header_bytes = self.in_range(
            &key("max_header_bytes"),
            l.max_header_bytes,
            1024,
            1_048_576,
            " bytes",
        )?;
        Ok(Limits {
            max_connections,
            max_header_bytes,
            handshake_timeout: self
                .timeout(&key("handshake_timeout_secs"), l.handshake_timeout_secs)?,
            idle_timeout: self.timeout(&key("idle_timeout_secs"), l.idle_timeout_secs)?,
            shutdown_grace: self.timeout(&key("shutdown_grace_secs"), l.shutdown_grace_secs)?,
        })
    }

    fn paths(&self, raw: &RawConfig) -> Result<Paths, ConfigError> {
        let resolve = |name, p: &Path| {
            if p.as_os_str().is_empty() {
                return Err(self.invalid(
                    &[Step::Key("paths"), Step::Key(name)],
                    "is empty; name a directory, e.g. \"data\" (relative to this file's \
                     directory) or \"/var/lib/gatewatch\"",
                ));
            }
            Ok(self.base.join(p))
        };
        Ok(Paths {
            data_dir: resolve("data_dir", &raw.paths.data_dir)?,
            ca_dir: resolve("ca_dir", &raw.paths.ca_dir)?,
        })
    }

    fn inspect(&self, raw: &RawConfig) -> Result<InspectConfig, ConfigError> {
        let i = &raw.inspect;
        let key = |name| [Step::Key("inspect"), Step::Key(name)];
        let queue_frames = self.in_range(&key("queue_frames"), i.queue_frames, 1, 4096, "")?;
        self.in_range(&key("max_stall_ms"), i.max_stall_ms, 0, 60_000, " ms")?;
        Ok(InspectConfig {
            queue_frames,
            max_stall: Duration::from_millis(i.max_stall_ms),
        })
    }

    fn identity(&self, raw: &RawConfig) -> Result<crate::identity::IdentitySettings, ConfigError> {
        use crate::identity::IdentityConfigError;
        raw.identity.validate(&self.base).map_err(|err| {
            let key = match &err {
                IdentityConfigError::Invalid { key, .. } => *key,
                _ => "radius_clients",
            };
            self.invalid(&[Step::Key("identity"), Step::Key(key)], err.to_string())
        })
    }

    fn detect(&self, raw: &RawConfig) -> Result<DetectConfig, ConfigError> {
        let d = &raw.detect;
        let key = |name| [Step::Key("detect"), Step::Key(name)];
        let library = match &d.library {
            None => None,
            Some(dir) => {
                let dir = self.base.join(dir);
                if !dir.join("library.toml").is_file() {
                    return Err(self.invalid(
                        &key("library"),
                        format!(
                            "{} has no library.toml; name a library directory such as                              \"/usr/share/gatewatch/libraries/starter\", or leave the key out to                              use the starter library built into gatewatch",
                            dir.display()
                        ),
                    ));
                }
                Some(dir)
            }
        };
        let overlay = match &d.overlay {
            None => None,
            Some(file) => {
                let file = self.base.join(file);
                if !file.is_file() {
                    return Err(self.invalid(
                        &key("overlay"),
                        format!("{} is not a readable file", file.display()),
                    ));
                }
                Some(file)
            }
        };
        let singular = match d.mode.as_str() {
            "normal" => false,
            "singular" => true,
            other => {
                return Err(self.invalid(
                    &key("mode"),
                    format!("`{other}` is not a mode; write \"normal\" or \"singular\""),
                ))
            }
        };
        let multiplier = u64::try_from(d.typed_multiplier).unwrap_or(0);
        self.in_range(&key("typed_multiplier"), multiplier, 1, 10, "")?;
        self.in_range(&key("incident_severity"), d.incident_severity, 1, 5, "")?;
        self.in_range(
            &key("incident_typed_severity"),
            d.incident_typed_severity,
            1,
            5,
            "",
        )?;
        let score = u64::try_from(d.incident_score).unwrap_or(0);
        self.in_range(&key("incident_score"), score, 1, 1_000_000, "")?;
        Ok(DetectConfig {
            library,
            overlay,
            singular,
            typed_multiplier: multiplier as i32,
            incident_severity: d.incident_severity as u8,
            incident_typed_severity: d.incident_typed_severity as u8,
            incident_score: d.incident_score,
        })
    }

    fn observability(&self, raw: &RawConfig) -> Result<Observability, ConfigError> {
        let metrics_listen = match &raw.observability.metrics_listen {
            None => None,
            Some(text) => Some(self.socket_addr(
                &[Step::Key("observability"), Step::Key("metrics_listen")],
                text,
            )?),
        };
        Ok(Observability { metrics_listen })
    }

    /// A timeout in seconds: more than 0, at most one day.
    fn timeout(&self, at: &[Step<'_>], secs: u64) -> Result<Duration, ConfigError> {
        self.in_range(at, secs, 1, MAX_TIMEOUT_SECS, " seconds (one day)")?;
        Ok(Duration::from_secs(secs))
    }

    /// `value` as a `usize` when `min <= value <= max`.
    fn in_range(
        &self,
        at: &[Step<'_>],
        value: u64,
        min: u64,
        max: u64,
        unit: &str,
    ) -> Result<usize, ConfigError> {
        if value < min || value > max {
            return Err(self.invalid(
                at,
                format!("{value} is out of range; use a value from {min} to {max}{unit}"),
            ));
        }
        usize::try_from(value).map_err(|_| self.invalid(at, "is too large for this machine"))
    }
}

/// True when binding `a` and `b` would clash: same port, same family, one a wildcard.
fn overlaps(a: SocketAddr, b: SocketAddr) -> bool {
    a.port() == b.port()
        && a.is_ipv4() == b.is_ipv4()
        && (a.ip().is_unspecified() || b.ip().is_unspecified())
}

/// A host name in canonical form: lower case, no trailing dot and (when `wildcard`) no leading
/// `*.`. Returns why the name is not acceptable otherwise.
fn normalize_host(input: &str, wildcard: bool) -> Result<String, String> {
    if input.chars().any(char::is_whitespace) {
        return Err("it contains a space; write one name per string".into());
    }
    let lower = input.to_ascii_lowercase();
    let mut name = lower.as_str();
    if wildcard {
        name = name.strip_prefix("*.").unwrap_or(name);
    }
    name = name.strip_suffix('.').unwrap_or(name);
    if name.is_empty() {
        return Err("it is empty".into());
    }
    if name.len() > 253 {
        return Err(format!(
            "it is {} characters long; DNS names have at most 253",
            name.len()
        ));
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Err("it has an empty label (two dots in a row, or a leading dot)".into());
        }
        if label.len() > 63 {
            return Err(format!(
                "its label {label:?} is {} characters long; DNS labels have at most 63",
                label.len()
            ));
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            return Err(if c == '*' && wildcard {
                "a wildcard is only accepted as a leading `*.`, which means the same as the \
                 bare name (subdomains are always covered)"
                    .to_string()
            } else {
                format!(
                    "it contains {c:?}; use letters, digits and hyphens (write international \
                     names in their xn-- form)"
                )
            });
        }
    }
    Ok(name.to_string())
}

/// Checks that `path` is a regular file this process can open.
fn check_readable_file(path: &Path) -> Result<(), String> {
    let shown = path.display();
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(format!(
                "CA file {shown} does not exist; relative paths start from the config file's \
                 directory"
            ))
        }
        Err(e) => {
            return Err(format!(
                "cannot read CA file {shown}: {e}; check permissions"
            ))
        }
        Ok(meta) if !meta.is_file() => {
            return Err(format!(
                "{shown} is not a file; name a PEM CA certificate file"
            ))
        }
        Ok(_) => {}
    }
    std::fs::File::open(path)
        .map(drop)
        .map_err(|e| format!("cannot read CA file {shown}: {e}; check permissions"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATH: &str = "/etc/gatewatch/gatewatch.toml";

    fn load(text: &str) -> Result<Config, ConfigError> {
        Config::from_toml(text, Path::new(PATH))
    }

    /// The key, line and message of the validation error `text` must produce.
    fn invalid(text: &str) -> (String, usize, String) {
        match load(text) {
            Err(ConfigError::Invalid {
                key, line, message, ..
            }) => (key, line, message),
            other => panic!("expected a validation error for {text:?}, got {other:?}"),
        }
    }

    fn assert_invalid(text: &str, want_key: &str, want_line: usize, needle: &str) {
        let (key, line, message) = invalid(text);
        assert_eq!((key.as_str(), line), (want_key, want_line), "{message}");
        assert!(message.contains(needle), "{message:?} lacks {needle:?}");
    }

    #[test]
    fn empty_file_is_the_default_with_paths_beside_the_file() {
        let c = load("").expect("empty file is valid");
        let d = Config::default();
        assert_eq!(c.listen, d.listen);
        assert_eq!(c.clients, d.clients);
        assert_eq!(c.bypass, d.bypass);
        assert_eq!(c.limits, d.limits);
        assert_eq!(c.inspect, d.inspect);
        assert_eq!(c.observability, d.observability);
        assert_eq!(c.upstream.connect_timeout, d.upstream.connect_timeout);
        assert_eq!(c.paths.data_dir, Path::new("/etc/gatewatch/data"));
        assert_eq!(c.paths.ca_dir, Path::new("/etc/gatewatch/certs"));
    }

    #[test]
    fn relative_paths_resolve_against_the_config_directory() {
        let c = load("[paths]\ndata_dir = \"../var/gw\"\nca_dir = \"/srv/ca\"\n").expect("valid");
        assert_eq!(c.paths.data_dir, Path::new("/etc/gatewatch/../var/gw"));
        assert_eq!(c.paths.ca_dir, Path::new("/srv/ca"));
        assert_invalid("[paths]\n\nca_dir = \"\"\n", "paths.ca_dir", 3, "is empty");
    }

    #[test]
    fn at_least_one_listener() {
        let text = "# none\n[listen]\nexplicit = []\n";
        assert_invalid(text, "listen", 2, "no listener");
    }

    #[test]
    fn listener_must_be_a_socket_address() {
        let text = "[listen]\ntransparent_tls = [\n  \"10.20.0.1:3130\",\n  \"gateway:3130\",\n]\n";
        assert_invalid(text, "listen.transparent_tls", 4, "\"IP:PORT\"");
    }

    #[test]
    fn no_address_twice() {
        let text =
            "[listen]\nexplicit = [\"10.20.0.1:3128\"]\ntransparent_http = [\"10.20.0.1:3128\"]\n";
        assert_invalid(text, "listen.transparent_http", 3, "listed twice");
        let text = "[listen]\nexplicit = [\"0.0.0.0:3128\"]\n\n[observability]\nmetrics_listen = \"127.0.0.1:3128\"\n";
        assert_invalid(text, "observability.metrics_listen", 5, "wildcard");
        // Different families or ports do not clash.
        let ok = "[listen]\nexplicit = [\"0.0.0.0:3128\", \"[::]:3128\", \"127.0.0.1:3129\"]\n";
        assert!(load(ok).is_ok());
    }

    #[test]
    fn subnets_required_and_never_open() {
        assert_invalid(
            "[clients]\nallowed_subnets = []\n",
            "clients.allowed_subnets",
            2,
            "nobody could use",
        );
        for open in ["0.0.0.0/0", "::/0", "10.0.0.0/0"] {
            let text = format!("[clients]\nallowed_subnets = [\n\"10.20.0.0/16\",\n\"{open}\"]\n");
            assert_invalid(&text, "clients.allowed_subnets", 4, "open proxy");
        }
        assert_invalid(
            "[clients]\nallowed_subnets = [\"10.20.0.5\"]\n",
            "clients.allowed_subnets",
            2,
            "CIDR",
        );
        let c = load("[clients]\nallowed_subnets = [\"10.20.7.9/16\"]\n").expect("valid");
        assert_eq!(c.clients.allowed_subnets[0].to_string(), "10.20.0.0/16");
    }

    #[test]
    fn bypass_hosts_are_normalised_and_added_to_defaults() {
        let text = "[bypass]\nhosts = [\"*.Example.TEST.\", \"example.test\", \"nhs.uk\"]\n";
        let c = load(text).expect("valid");
        assert_eq!(c.bypass.hosts.len(), DEFAULT_BYPASS_HOSTS.len() + 1);
        assert_eq!(
            c.bypass.hosts.last().map(String::as_str),
            Some("example.test")
        );
        let c = load("[bypass]\nuse_default_list = false\nhosts = [\"a.test\"]\n").expect("ok");
        assert_eq!(c.bypass.hosts, vec!["a.test".to_string()]);
    }

    #[test]
    fn bypass_hosts_must_be_dns_names() {
        let long_label = "a".repeat(64);
        let long_name = ["abcdefghi"; 26].join("."); // 26 * 10 - 1 = 259 characters
        let cases = [
            ("a .test", "space"),
            ("a..test", "empty label"),
            (".a.test", "empty label"),
            ("", "empty"),
            (long_label.as_str(), "at most 63"),
            (long_name.as_str(), "at most 253"),
            ("a.*.test", "wildcard"),
            ("bücher.test", "xn--"),
            ("http://a.test/", "xn--"),
        ];
        for (host, needle) in cases {
            let text =
                format!("[bypass]\nauto = true\nhosts = [\n  \"ok.test\",\n  \"{host}\",\n]\n");
            assert_invalid(&text, "bypass.hosts", 5, needle);
        }
    }

    #[test]
    fn auto_failures_at_least_one() {
        assert_invalid(
            "[bypass]\nauto = true\nauto_failures = 0\n",
            "bypass.auto_failures",
            3,
            "auto = false",
        );
    }

    #[test]
    fn every_timeout_between_one_second_and_one_day() {
        let keys = [
            ("upstream", "connect_timeout_secs"),
            ("limits", "handshake_timeout_secs"),
            ("limits", "idle_timeout_secs"),
            ("limits", "shutdown_grace_secs"),
        ];
        for (section, name) in keys {
            for bad in [0, 86_401] {
                let text = format!("[{section}]\n# comment\n{name} = {bad}\n");
                assert_invalid(&text, &format!("{section}.{name}"), 3, "1 to 86400 seconds");
            }
            assert!(load(&format!("[{section}]\n{name} = 86400\n")).is_ok());
        }
    }

    #[test]
    fn numeric_ranges() {
        let cases = [
            ("limits", "max_header_bytes", 1023, 1024),
            ("limits", "max_header_bytes", 1_048_577, 1_048_576),
            ("limits", "max_connections", 0, 1),
            ("limits", "max_connections", 1_000_001, 1_000_000),
            ("inspect", "queue_frames", 0, 1),
            ("inspect", "queue_frames", 4097, 4096),
            ("inspect", "max_stall_ms", 60_001, 60_000),
        ];
        for (section, name, bad, good) in cases {
            let text = format!("\n[{section}]\n{name} = {bad}\n");
            assert_invalid(&text, &format!("{section}.{name}"), 3, "out of range");
            let text = format!("[{section}]\n{name} = {good}\n");
            assert!(load(&text).is_ok(), "{text}");
        }
    }

    #[test]
    fn extra_ca_files_must_be_readable_and_resolve_beside_the_config() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("ca.pem"), "not checked here").expect("write");
        std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
        let config = dir.path().join("gatewatch.toml");
        let write_and_load = |text: &str| {
            std::fs::write(&config, text).expect("write config");
            Config::load(&config)
        };
        let c = write_and_load("[upstream]\nextra_ca_files = [\"ca.pem\"]\n").expect("valid");
        assert_eq!(c.upstream.extra_ca_files, vec![dir.path().join("ca.pem")]);
        for (file, needle) in [("missing.pem", "does not exist"), ("sub", "not a file")] {
            let text = format!("[upstream]\nextra_ca_files = [\n\"ca.pem\",\n\"{file}\"]\n");
            match write_and_load(&text) {
                Err(ConfigError::Invalid {
                    key, line, message, ..
                }) => {
                    assert_eq!((key.as_str(), line), ("upstream.extra_ca_files", 4));
                    assert!(message.contains(needle), "{message}");
                }
                other => panic!("expected an error, got {other:?}"),
            }
        }
    }

    #[test]
    fn static_hosts() {
        let text = "[upstream.static_hosts]\n\"Intranet.School.test\" = \"10.0.0.5\"\n\"v6.test\" = \"fd00::5\"\n";
        let c = load(text).expect("valid");
        let want: IpAddr = "10.0.0.5".parse().expect("literal");
        assert_eq!(
            c.upstream.static_hosts.get("intranet.school.test"),
            Some(&want)
        );
        assert_eq!(c.upstream.static_hosts.len(), 2);
        assert_invalid(
            "[upstream.static_hosts]\n\"a.test\" = \"10.0.0.5\"\n\"b.test\" = \"10.0.0.300\"\n",
            "upstream.static_hosts.\"b.test\"",
            3,
            "not an IP address",
        );
        assert_invalid(
            "[upstream.static_hosts]\n\"*.b.test\" = \"10.0.0.3\"\n",
            "upstream.static_hosts.\"*.b.test\"",
            2,
            "not a host name",
        );
        assert_invalid(
            "[upstream.static_hosts]\n\"A.test\" = \"10.0.0.3\"\n\"a.test\" = \"10.0.0.4\"\n",
            "upstream.static_hosts.\"a.test\"",
            3,
            "listed twice",
        );
    }

    #[test]
    fn metrics_listen_is_a_socket_address() {
        assert_invalid(
            "[observability]\nmetrics_listen = \"localhost:9091\"\n",
            "observability.metrics_listen",
            2,
            "\"IP:PORT\"",
        );
        let c = load("[observability]\nmetrics_listen = \"[::1]:9091\"\n").expect("valid");
        assert_eq!(c.observability.metrics_listen, "[::1]:9091".parse().ok());
    }

    #[test]
    fn detect_section_is_validated() {
        let c = load("[detect]\nmode = \"singular\"\nincident_score = 90\n").expect("valid");
        assert!(c.detect.singular);
        assert_eq!(c.detect.incident_score, 90);
        assert_eq!(c.detect.library, None);
        assert_invalid(
            "[detect]\nmode = \"loud\"\n",
            "detect.mode",
            2,
            "not a mode",
        );
        assert_invalid(
            "[detect]\n\nincident_severity = 6\n",
            "detect.incident_severity",
            3,
            "",
        );
        assert_invalid(
            "[detect]\nlibrary = \"/nonexistent/lib\"\n",
            "detect.library",
            2,
            "library.toml",
        );
        assert_invalid(
            "[detect]\noverlay = \"/nonexistent/overlay.toml\"\n",
            "detect.overlay",
            2,
            "not a readable file",
        );
    }
}
