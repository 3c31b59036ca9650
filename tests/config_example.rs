//! The shipped example configuration (`proxy-config/gatewatch.toml`) loads, validates and says
//! what its README says it does.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use gatewatch::config::{Config, ConfigError, DEFAULT_BYPASS_HOSTS};

fn example_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("proxy-config/gatewatch.toml")
}

fn read(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap_or_else(|e| panic!("bad literal {s}: {e}"))
}

#[test]
fn example_config_loads_with_the_documented_values() {
    let c = Config::load(&example_path()).unwrap_or_else(|e| panic!("{e}"));

    assert_eq!(c.listen.explicit, vec![addr("127.0.0.1:3128")]);
    assert_eq!(
        c.listen.transparent_tls,
        vec![
            addr("10.20.0.1:3130"),
            addr("10.30.0.1:3130"),
            addr("10.40.0.1:3130")
        ]
    );
    assert_eq!(c.listen.transparent_http.len(), 3);
    assert!(c.listen.transparent_http.iter().all(|a| a.port() == 3129));

    let pupil: std::net::IpAddr = "10.20.3.200".parse().unwrap_or_else(|e| panic!("{e}"));
    let outsider: std::net::IpAddr = "192.0.2.7".parse().unwrap_or_else(|e| panic!("{e}"));
    assert!(c.clients.allows(pupil));
    assert!(!c.clients.allows(outsider));

    // The safeguarding default list stays on, plus the example's own extra host.
    assert!(c.bypass.hosts.iter().any(|h| h == "childline.org.uk"));
    assert_eq!(c.bypass.hosts.len(), DEFAULT_BYPASS_HOSTS.len() + 1);
    assert!(c.bypass.auto.enabled);

    // Must stay empty so the example validates on any machine.
    assert!(c.upstream.extra_ca_files.is_empty());
    assert!(!c.upstream.allow_private);
    assert_eq!(c.limits.max_connections, 16384);
    assert_eq!(c.paths.data_dir, Path::new("/var/lib/gatewatch"));
    assert_eq!(c.observability.metrics_listen, Some(addr("127.0.0.1:9091")));
    let metrics = c.observability.metrics_listen.map(|a| a.ip().is_loopback());
    assert_eq!(metrics, Some(true), "metrics must stay on loopback");

    let summary = c.summary();
    assert!(summary.contains("10.20.0.1:3130"), "{summary}");
    assert!(summary.contains("10.20.0.0/22"), "{summary}");
    assert!(summary.contains("/var/lib/gatewatch"), "{summary}");
}

#[test]
fn empty_file_matches_the_built_in_default() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("gatewatch.toml");
    std::fs::write(&path, "").unwrap_or_else(|e| panic!("{e}"));
    let c = Config::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let d = Config::default();
    assert_eq!(c.listen, d.listen);
    assert_eq!(c.limits, d.limits);
    assert_eq!(c.clients, d.clients);
    assert_eq!(c.bypass, d.bypass);
    assert_eq!(c.inspect, d.inspect);
    assert_eq!(c.observability, d.observability);
    // Relative default paths resolve beside the file.
    assert_eq!(c.paths.data_dir, dir.path().join(&d.paths.data_dir));
    assert_eq!(c.paths.ca_dir, dir.path().join(&d.paths.ca_dir));
}

#[test]
fn readme_redirects_match_the_example_listeners() {
    let readme = read("proxy-config/README.md");
    let c = Config::load(&example_path()).unwrap_or_else(|e| panic!("{e}"));
    let http = c.listen.transparent_http.first().map(SocketAddr::port);
    let tls = c.listen.transparent_tls.first().map(SocketAddr::port);
    for (dport, port) in [(80, http), (443, tls)] {
        let port = port.unwrap_or_else(|| panic!("example has no listener for port {dport}"));
        let rule = format!("tcp dport {dport} redirect to :{port}");
        assert!(readme.contains(&rule), "README lacks `{rule}`");
    }
    assert!(readme.contains("udp dport 443 reject"));
}

#[test]
fn readme_error_example_is_what_gatewatch_prints() {
    let readme = read("proxy-config/README.md");
    let shown = readme
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("/etc/gatewatch/gatewatch.toml:"))
        .unwrap_or_else(|| panic!("README shows no error example"));
    // The README's example error: the pupils' subnet replaced by an open one.
    let text = read("proxy-config/gatewatch.toml").replacen("\"10.20.0.0/22\"", "\"0.0.0.0/0\"", 1);
    let err = Config::from_toml(&text, Path::new("/etc/gatewatch/gatewatch.toml"))
        .err()
        .unwrap_or_else(|| panic!("an open subnet must be rejected"));
    assert!(matches!(err, ConfigError::Invalid { .. }), "{err:?}");
    assert_eq!(err.to_string(), shown);
}
