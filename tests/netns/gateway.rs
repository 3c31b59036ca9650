//! gatewatch in the gateway namespace: its configuration, the nftables ruleset, the process
//! (killed on drop, its log printed when the test fails) and its metrics.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use super::client::{curl, CurlArgs};
use super::topology::{Family, GW_CLIENT_IF};
use super::{command, run, Tools};

/// Port gatewatch's transparent HTTP listeners use (nftables redirects port 80 here).
pub const HTTP_PORT: u16 = 3129;
/// Port gatewatch's transparent TLS listeners use (nftables redirects port 443 here).
pub const TLS_PORT: u16 = 3130;
/// The metrics endpoint, on the gateway namespace's loopback.
const METRICS: &str = "127.0.0.1:9091";

/// The bypass host configured in the test (spliced, never decrypted).
pub const BYPASS_HOST: &str = "bank.test";

/// Writes gatewatch's configuration for `families` into `dir` and returns its path.
///
/// There is deliberately no `[upstream.static_hosts]` entry and no DNS for the test names:
/// the only way gatewatch can reach `site.test` is the connection's original destination.
pub fn write_config(dir: &Path, upstream_ca: &Path, families: &[Family]) -> PathBuf {
    let list = |port: u16| {
        families
            .iter()
            .map(|f| format!("\"{}:{port}\"", Family::url_host(f.gw_client_side)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let subnets = families
        .iter()
        .map(|f| format!("\"{}\"", f.client_subnet))
        .collect::<Vec<_>>()
        .join(", ");
    let text = format!(
        r#"# Written by tests/transparent_netns.rs.
[listen]
explicit = ["127.0.0.1:3128"]
transparent_http = [{http}]
transparent_tls = [{tls}]

[clients]
allowed_subnets = [{subnets}]

[bypass]
use_default_list = true
hosts = ["{BYPASS_HOST}"]
# The negative checks (curl refusing the school certificate for site.test) count as rejected
# handshakes; keep site.test from being bypassed automatically in the middle of the test.
auto = true
auto_failures = 50

[upstream]
trust_system = false
trust_mozilla = false
extra_ca_files = [{ca:?}]
# The namespace addresses are private (10.200.0.0/16, fd00::/8).
allow_private = true
connect_timeout_secs = 5

[paths]
data_dir = {data:?}
ca_dir = {cadir:?}

[observability]
metrics_listen = "{METRICS}"
"#,
        http = list(HTTP_PORT),
        tls = list(TLS_PORT),
        ca = upstream_ca.display().to_string(),
        data = dir.join("data").display().to_string(),
        cadir = dir.join("ca").display().to_string(),
    );
    let path = dir.join("gw.toml");
    std::fs::write(&path, text).expect("write gw.toml");
    path
}

/// Loads section 5's nftables ruleset (redirect 80 and 443, reject QUIC) into namespace `ns`.
/// (A rule must end with a newline or `;` before a closing `}`: nft 1.0 rejects section 5's
/// one-line `... redirect to :3130 }` form.)
pub fn load_nftables(tools: &Tools, ns: &str, dir: &Path) {
    let rules = format!(
        r#"table inet gatewatch {{
  chain prerouting_nat {{ type nat hook prerouting priority dstnat; policy accept;
    iifname "{GW_CLIENT_IF}" tcp dport 80 redirect to :{HTTP_PORT}
    iifname "{GW_CLIENT_IF}" tcp dport 443 redirect to :{TLS_PORT}
  }}
  chain forward {{ type filter hook forward priority filter; policy accept;
    iifname "{GW_CLIENT_IF}" udp dport 443 reject
  }}
}}
"#
    );
    let path = dir.join("gatewatch.nft");
    std::fs::write(&path, rules).expect("write the nftables ruleset");
    let path = path.display().to_string();
    let nft = tools.nft.display().to_string();
    run(&tools.ip, &["netns", "exec", ns, &nft, "-f", &path]);
}

/// The running gatewatch process. Its log is printed when the test fails, or always when
/// `GATEWATCH_NETNS_LOG` is set.
pub struct Gatewatch {
    child: Child,
    log: PathBuf,
    tools: Tools,
    ns: String,
    /// The school CA certificate gatewatch created (what devices install).
    pub school_ca: PathBuf,
}

impl Gatewatch {
    /// Starts `gatewatch run --config CONFIG` in namespace `ns` and waits until its status
    /// endpoint answers and the school CA exists.
    pub fn start(tools: &Tools, ns: &str, config: &Path, dir: &Path) -> Gatewatch {
        let log = dir.join("gatewatch.log");
        let out = File::create(&log).expect("create the gatewatch log");
        let err = out.try_clone().expect("clone the log file handle");
        let child = command(&tools.ip)
            .args([
                "netns",
                "exec",
                ns,
                env!("CARGO_BIN_EXE_gatewatch"),
                "run",
                "--config",
            ])
            .arg(config)
            .env("RUST_LOG", "info,gatewatch=debug")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("start gatewatch");
        let mut gw = Gatewatch {
            child,
            log,
            tools: tools.clone(),
            ns: ns.to_string(),
            school_ca: dir.join("ca").join("ca.pem"),
        };
        gw.wait_ready();
        gw
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "gatewatch exited during start-up ({status}); its log:\n{}",
                    self.log_text()
                );
            }
            if self
                .status_page("/healthz")
                .is_some_and(|b| b.trim() == "ok")
                && self.school_ca.exists()
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "gatewatch did not answer on {METRICS}/healthz within 20 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A page of the status endpoint, fetched with curl inside the gateway namespace.
    fn status_page(&self, path: &str) -> Option<String> {
        let url = format!("http://{METRICS}{path}");
        let out = curl(&self.tools, &self.ns, &CurlArgs::new(&url).max_time(2));
        out.ok().then_some(out.body)
    }

    /// The value of the counter `gatewatch_NAME`.
    pub fn metric(&self, name: &str) -> u64 {
        let text = self
            .status_page("/metrics")
            .unwrap_or_else(|| panic!("gatewatch's /metrics did not answer"));
        let prefix = format!("gatewatch_{name} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no counter gatewatch_{name} in /metrics:\n{text}"))
    }

    /// gatewatch's output so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log)
            .unwrap_or_else(|err| format!("(cannot read {}: {err})", self.log.display()))
    }
}

impl Drop for Gatewatch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() || std::env::var_os("GATEWATCH_NETNS_LOG").is_some() {
            eprintln!(
                "---- gatewatch log ({}) ----\n{}---- end of gatewatch log ----",
                self.log.display(),
                self.log_text()
            );
        }
    }
}
