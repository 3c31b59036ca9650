//! Helpers for the identity end-to-end tests (`tests/identity_e2e.rs`): preflight (root,
//! tools, `CI=true`), network namespaces torn down on drop, child processes killed on drop,
//! a real FreeRADIUS, and polling with a deadline.
//!
//! Everything runs on 127.0.0.1 or inside namespaces these helpers create (unique names per
//! process and call); nothing is sent anywhere else.

#![allow(dead_code)]

use std::fs::File;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nix::sched::{setns, CloneFlags};

/// True under CI (`CI=true`), where the tests must not skip.
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// Prints why a test is skipped, or fails under CI.
pub fn skip_or_fail(test: &str, reason: &str) {
    assert!(!under_ci(), "CI=true, so {test} must run, but {reason}");
    eprintln!("SKIPPED {test}: {reason}");
}

/// Finds an executable in `PATH` or the sbin directories.
pub fn find_tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|p| {
            p.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// The tools `names` (with their Debian packages), or `None` after skipping (or failing).
pub fn tools(test: &str, needs_root: bool, names: &[(&str, &str)]) -> Option<Vec<PathBuf>> {
    if needs_root && !nix::unistd::Uid::effective().is_root() {
        skip_or_fail(test, "it needs root to create network namespaces");
        return None;
    }
    let mut out = Vec::new();
    for (name, package) in names {
        match find_tool(name) {
            Some(p) => out.push(p),
            None => {
                skip_or_fail(
                    test,
                    &format!("`{name}` is not installed (apt-get install -y {package})"),
                );
                return None;
            }
        }
    }
    Some(out)
}

/// Runs a command; panics with its output when it fails.
pub fn run(program: &Path, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    assert!(
        out.status.success(),
        "`{} {}` failed: {}",
        program.display(),
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Current Unix time in seconds.
pub fn now() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    )
    .unwrap_or(i64::MAX)
}

/// Polls `f` until it returns `Some` or `timeout` passes.
pub fn wait_for<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Sleeps until the wall clock is in a new second (so events before and after differ in time).
pub fn next_second() {
    let start = now();
    while now() == start {
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A child process killed (SIGTERM, then SIGKILL) and reaped on drop.
#[derive(Debug)]
pub struct Proc {
    pub child: Child,
    pub name: &'static str,
}

impl Proc {
    /// Starts `program args` with output to `log`.
    pub fn spawn(name: &'static str, program: &Path, args: &[&str], log: &Path) -> Proc {
        let out = File::create(log).expect("create a log file");
        let err = out.try_clone().expect("clone a log file");
        let child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Proc { child, name }
    }

    /// Sends SIGTERM and waits for the process to exit.
    pub fn terminate(&mut self) {
        if let Ok(pid) = i32::try_from(self.child.id()) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGTERM,
            );
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.terminate();
        }
    }
}

/// A gateway namespace and a client namespace joined by a veth pair (`veth-gw` / `veth-cl`);
/// the gateway side has 10.201.1.1/24. Deleted on drop.
#[derive(Debug)]
pub struct Netns {
    ip: PathBuf,
    /// The gateway namespace (DHCP server, sniffer).
    pub gateway: String,
    /// The client namespace (DHCP client).
    pub client: String,
}

/// The gateway's interface.
pub const GW_IF: &str = "veth-gw";
/// The client's interface.
pub const CL_IF: &str = "veth-cl";

impl Netns {
    /// Creates the pair; panics (after cleaning up) on failure.
    pub fn create(ip: &Path) -> Netns {
        static N: AtomicU32 = AtomicU32::new(0);
        let base = format!(
            "gwid-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let ns = Netns {
            ip: ip.to_path_buf(),
            gateway: format!("{base}-gw"),
            client: format!("{base}-cl"),
        };
        run(ip, &["netns", "add", &ns.gateway]);
        run(ip, &["netns", "add", &ns.client]);
        let (gw, cl) = (ns.gateway.as_str(), ns.client.as_str());
        run(
            ip,
            &[
                "link", "add", GW_IF, "netns", gw, "type", "veth", "peer", "name", CL_IF, "netns",
                cl,
            ],
        );
        for (n, dev) in [(gw, "lo"), (cl, "lo"), (gw, GW_IF)] {
            run(ip, &["-n", n, "link", "set", dev, "up"]);
        }
        run(
            ip,
            &["-n", gw, "addr", "add", "10.201.1.1/24", "dev", GW_IF],
        );
        ns
    }

    /// Gives the client interface `mac` (and brings it up).
    pub fn set_client_mac(&self, mac: &str) {
        let cl = self.client.as_str();
        run(&self.ip, &["-n", cl, "link", "set", CL_IF, "down"]);
        run(&self.ip, &["-n", cl, "addr", "flush", "dev", CL_IF]);
        run(&self.ip, &["-n", cl, "link", "set", CL_IF, "address", mac]);
        run(&self.ip, &["-n", cl, "link", "set", CL_IF, "up"]);
    }

    /// Runs `f` on a thread inside the gateway namespace (sockets made there stay there).
    pub fn in_gateway<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        let path = format!("/var/run/netns/{}", self.gateway);
        std::thread::scope(|s| {
            s.spawn(|| {
                let file = File::open(&path).expect("open the namespace handle");
                setns(&file, CloneFlags::CLONE_NEWNET).expect("enter the gateway namespace");
                f()
            })
            .join()
            .expect("the thread inside the gateway namespace panicked")
        })
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        for ns in [&self.client, &self.gateway] {
            let _ = Command::new(&self.ip)
                .args(["netns", "del", ns])
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// A free UDP port on 127.0.0.1 (bound and released; good enough for a test server).
pub fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .expect("a free UDP port")
}

/// A real FreeRADIUS on 127.0.0.1 writing detail files to `<dir>/radacct/<NAS IP>/detail-%Y%m%d`
/// (Debian's layout), with client 127.0.0.1 and secret `testing123`.
pub struct FreeRadius {
    /// Its accounting port.
    pub port: u16,
    /// The radacct directory.
    pub radacct: PathBuf,
    /// Its debug output.
    pub log: PathBuf,
    proc: Proc,
}

impl FreeRadius {
    /// Starts it and waits for "Ready to process requests".
    pub fn start(freeradius: &Path, dir: &Path) -> FreeRadius {
        let raddb = dir.join("raddb");
        let radacct = dir.join("radacct");
        for d in [&raddb, &radacct, &dir.join("log"), &dir.join("run")] {
            std::fs::create_dir_all(d).expect("create FreeRADIUS directories");
        }
        std::fs::write(raddb.join("dictionary"), "").expect("write dictionary");
        let port = free_udp_port();
        let d = dir.display();
        let conf = format!(
            "prefix = /usr\nraddbdir = {d}/raddb\nconfdir = ${{raddbdir}}\nlogdir = {d}/log\n\
             radacctdir = {d}/radacct\nrun_dir = {d}/run\nlibdir = /usr/lib/freeradius\n\
             pidfile = ${{run_dir}}/radiusd.pid\nname = freeradius\n\
             log {{\n  destination = stdout\n}}\nsecurity {{\n  allow_core_dumps = no\n}}\n\
             client localhost {{\n  ipaddr = 127.0.0.1\n  secret = testing123\n  require_message_authenticator = no\n}}\n\
             modules {{\n  detail {{\n    filename = ${{radacctdir}}/%{{Packet-Src-IP-Address}}/detail-%Y%m%d\n    header = \"%t\"\n    permissions = 0600\n  }}\n}}\n\
             server default {{\n  listen {{\n    type = acct\n    ipaddr = 127.0.0.1\n    port = {port}\n  }}\n  accounting {{\n    detail\n  }}\n}}\n"
        );
        std::fs::write(raddb.join("radiusd.conf"), conf).expect("write radiusd.conf");
        let log = dir.join("radiusd.out");
        let raddb_s = raddb.display().to_string();
        let proc = Proc::spawn(
            "freeradius",
            freeradius,
            &["-f", "-X", "-d", &raddb_s, "-D", "/usr/share/freeradius"],
            &log,
        );
        let mut rad = FreeRadius {
            port,
            radacct,
            log,
            proc,
        };
        let ready = wait_for(Duration::from_secs(15), || {
            let out = std::fs::read_to_string(&rad.log).unwrap_or_default();
            out.contains("Ready to process requests").then_some(())
        });
        if ready.is_none() {
            let out = std::fs::read_to_string(&rad.log).unwrap_or_default();
            rad.proc.terminate();
            panic!("FreeRADIUS did not start:\n{out}");
        }
        rad
    }

    /// Its debug output so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// Sends one Accounting-Request with `radclient`; true when it got a response.
pub fn radclient(radclient: &Path, port: u16, secret: &str, attributes: &str) -> bool {
    use std::io::Write;
    let mut child = Command::new(radclient)
        .args(["-q", "-r", "1", "-t", "2"])
        .arg(format!("127.0.0.1:{port}"))
        .args(["acct", secret])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start radclient");
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(attributes.as_bytes())
            .expect("write to radclient");
    }
    child.wait().is_ok_and(|s| s.success())
}
