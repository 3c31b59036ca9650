//! Configuration: a TOML file parsed into raw serde structs ([`mod@file`]), then validated into
//! the types below, which the rest of gatewatch uses. An error names the file, the key and
//! the line ([`ConfigError`]).
//!
//! `gatewatch run` with no file uses [`Config::default`]: safe on a laptop (explicit proxy on
//! 127.0.0.1:3128, data in `./data`, CA in `./certs`).

mod defaults;
mod error;
mod file;
mod summary;
mod validate;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnet::IpNet;

pub use defaults::DEFAULT_BYPASS_HOSTS;
pub use error::ConfigError;

/// A validated gatewatch configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the proxy listens.
    pub listen: Listeners,
    /// Which clients may use the proxy.
    pub clients: ClientPolicy,
    /// Hosts that are never decrypted.
    pub bypass: BypassConfig,
    /// How gatewatch connects to and trusts upstream servers.
    pub upstream: UpstreamConfig,
    /// Resource limits and timeouts.
    pub limits: Limits,
    /// Where gatewatch keeps its files.
    pub paths: Paths,
    /// Streaming inspection settings.
    pub inspect: InspectConfig,
    /// Metrics and logging endpoints.
    pub observability: Observability,
    /// The threat library and when hits become incidents.
    pub detect: DetectConfig,
    /// Where device and user attribution comes from (DHCP, RADIUS); no sources by default.
    pub identity: crate::identity::IdentitySettings,
}

/// Detection settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetectConfig {
    /// A library directory (holding `library.toml`); `None` uses the starter library compiled
    /// into the binary.
    pub library: Option<PathBuf>,
    /// A school overlay applied on top of the library.
    pub overlay: Option<PathBuf>,
    /// Count each rule once per body (e2guardian "singular" mode) instead of every occurrence.
    pub singular: bool,
    /// How many times more a hit in what the user typed or searched weighs than one in what a
    /// page showed.
    pub typed_multiplier: i32,
    /// A body becomes an incident when its highest severity reaches this (1 to 5).
    pub incident_severity: u8,
    /// ... or when a hit in typed or searched text reaches this severity (1 to 5).
    pub incident_typed_severity: u8,
    /// ... or when its weighted score reaches this.
    pub incident_score: i64,
}

/// Listener addresses. Each list may be empty, but not all of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listeners {
    /// Explicit proxy listeners (`CONNECT` and absolute-form HTTP).
    pub explicit: Vec<SocketAddr>,
    /// Transparent plain-HTTP listeners (nftables redirect of port 80).
    pub transparent_http: Vec<SocketAddr>,
    /// Transparent TLS listeners (nftables redirect of port 443).
    pub transparent_tls: Vec<SocketAddr>,
}

/// Which client addresses may use the proxy. Everyone else is refused: gatewatch is never an
/// open proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientPolicy {
    /// Subnets whose clients are served.
    pub allowed_subnets: Vec<IpNet>,
}

impl ClientPolicy {
    /// True when `ip` is inside one of the allowed subnets.
    pub fn allows(&self, ip: IpAddr) -> bool {
        let ip = canonical_ip(ip);
        self.allowed_subnets.iter().any(|net| net.contains(&ip))
    }
}

/// Hosts that are spliced (relayed without decryption).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BypassConfig {
    /// Host names, lower case, without a trailing dot. An entry matches the name itself and
    /// every subdomain (`nhs.uk` matches `www.nhs.uk`). Includes [`DEFAULT_BYPASS_HOSTS`] when
    /// `use_default_list` was on.
    pub hosts: Vec<String>,
    /// Automatic bypass of hosts whose clients keep rejecting the school certificate.
    pub auto: AutoBypass,
}

/// Automatic bypass: after `failures` rejected handshakes for one host, that host is spliced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoBypass {
    /// Whether automatic bypass is on (default on).
    pub enabled: bool,
    /// Rejected handshakes per host before it is bypassed (default 3).
    pub failures: u32,
}

/// Upstream connection and trust settings.
#[derive(Debug, Clone)]
pub struct UpstreamConfig {
    /// Trust the operating system's CA store.
    pub trust_system: bool,
    /// Trust the Mozilla root program (compiled in via webpki-roots).
    pub trust_mozilla: bool,
    /// Extra PEM CA files to trust for upstream servers.
    pub extra_ca_files: Vec<PathBuf>,
    /// Allow upstreams on loopback, private, link-local and unique-local addresses. Off by
    /// default: for labs and tests only.
    pub allow_private: bool,
    /// Static host name to address overrides, consulted before DNS (like `/etc/hosts`).
    pub static_hosts: HashMap<String, IpAddr>,
    /// Timeout for the TCP connect and TLS handshake to an upstream.
    pub connect_timeout: Duration,
}

/// Resource limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Maximum simultaneous client connections; more wait in the kernel backlog.
    pub max_connections: usize,
    /// Maximum size of a request or response head (request line plus headers), in bytes.
    pub max_header_bytes: usize,
    /// Time a client has to complete its TLS handshake or send its first request head.
    pub handshake_timeout: Duration,
    /// A connection with no traffic in either direction for this long is closed.
    pub idle_timeout: Duration,
    /// On SIGTERM, connections get this long to finish before they are dropped.
    pub shutdown_grace: Duration,
}

/// File locations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// Data directory (incidents, state such as the auto-bypass list).
    pub data_dir: PathBuf,
    /// Directory holding the school CA (`ca.pem`, `ca.key.pem`).
    pub ca_dir: PathBuf,
}

/// Streaming inspection settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InspectConfig {
    /// Pieces (frames, split at 64 KiB) queued per body stream towards its inspector; bounds
    /// memory per stream to `queue_frames` x 64 KiB (2 MiB by default).
    pub queue_frames: usize,
    /// How long, in total per body, the relay may wait for a slow inspector before it stops
    /// inspecting that body (counted) and relays the rest uninspected.
    pub max_stall: Duration,
}

/// Observability endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observability {
    /// Where to serve Prometheus-format counters (plain HTTP); `None` disables it. Must be a
    /// loopback address or one the network manager firewalls.
    pub metrics_listen: Option<SocketAddr>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: Listeners {
                explicit: vec![SocketAddr::from(([127, 0, 0, 1], 3128))],
                transparent_http: Vec::new(),
                transparent_tls: Vec::new(),
            },
            clients: ClientPolicy {
                allowed_subnets: vec![
                    "127.0.0.0/8".parse().expect("valid literal"),
                    "::1/128".parse().expect("valid literal"),
                ],
            },
            bypass: BypassConfig {
                hosts: DEFAULT_BYPASS_HOSTS.iter().map(|h| h.to_string()).collect(),
                auto: AutoBypass {
                    enabled: true,
                    failures: 3,
                },
            },
            upstream: UpstreamConfig {
                trust_system: true,
                trust_mozilla: true,
                extra_ca_files: Vec::new(),
                allow_private: false,
                static_hosts: HashMap::new(),
                connect_timeout: Duration::from_secs(10),
            },
            limits: Limits {
                max_connections: 4096,
                max_header_bytes: 64 * 1024,
                handshake_timeout: Duration::from_secs(10),
                idle_timeout: Duration::from_secs(120),
                shutdown_grace: Duration::from_secs(10),
            },
            paths: Paths {
                data_dir: PathBuf::from("data"),
                ca_dir: PathBuf::from("certs"),
            },
            inspect: InspectConfig {
                queue_frames: 32,
                max_stall: Duration::from_secs(2),
            },
            observability: Observability {
                metrics_listen: None,
            },
            detect: DetectConfig {
                library: None,
                overlay: None,
                singular: false,
                typed_multiplier: 2,
                incident_severity: 4,
                incident_typed_severity: 3,
                incident_score: 150,
            },
            identity: crate::identity::IdentityConfig::default()
                .validate(Path::new("."))
                .expect("the default identity settings (no sources) are valid"),
        }
    }
}

impl Config {
    /// Reads, parses and validates the TOML file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::from_toml(&text, path)
    }

    /// Parses and validates TOML text. `path` names the file in error messages, and relative
    /// paths in the file resolve against its directory.
    pub fn from_toml(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let raw = file::parse(text, path)?;
        validate::validate(raw, text, path)
    }
}

/// Maps IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) to plain IPv4 so subnet checks work on
/// dual-stack sockets.
pub fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}
