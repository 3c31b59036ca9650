//! Helpers for the transparent-mode end-to-end test (`tests/transparent_netns.rs`): a
//! client -> gateway -> server topology of network namespaces, upstream servers bound inside
//! the server namespace, gatewatch running in the gateway namespace, and curl as the client.
//!
//! # Layout
//! - this file: preflight (root, tools, `CI=true`), running commands, entering a namespace.
//! - [`topology`]: the three namespaces, veth pairs, addresses, routes; torn down on drop.
//! - [`servers`]: the upstream test CA and the TLS, HTTP, raw and UDP servers.
//! - [`gateway`]: gatewatch's config file and process; killed on drop.
//! - [`client`]: curl in the client namespace, and its verbose output parsed.

pub mod client;
pub mod gateway;
pub mod servers;
pub mod topology;

use std::fs::File;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use nix::sched::{setns, CloneFlags};

/// Proxy variables that must not reach curl or gatewatch.
const PROXY_VARS: [&str; 8] = [
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
];

/// Full paths of the external tools the test drives.
#[derive(Debug, Clone)]
pub struct Tools {
    /// iproute2's `ip`.
    pub ip: PathBuf,
    /// `nft` (nftables).
    pub nft: PathBuf,
    /// `curl`.
    pub curl: PathBuf,
}

/// True when the test runs under CI (`CI=true`), where skipping is not allowed.
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// Reports why the test cannot run: a printed skip normally, a failure under `CI=true`.
pub fn skip_or_fail(reason: &str) {
    assert!(
        !under_ci(),
        "CI=true, so the transparent-mode netns test must run, but {reason}"
    );
    eprintln!("SKIPPED transparent_netns: {reason}");
}

/// Checks that the test can run (root, `ip`, `nft`, `curl`); `None` after printing why not.
pub fn preflight() -> Option<Tools> {
    if !nix::unistd::Uid::effective().is_root() {
        skip_or_fail(
            "it needs root to create network namespaces and nftables rules \
             (run the README's test command as root)",
        );
        return None;
    }
    let find = |name: &str, package: &str| {
        let found = find_tool(name);
        if found.is_none() {
            skip_or_fail(&format!(
                "`{name}` is not installed (apt-get install -y {package})"
            ));
        }
        found
    };
    Some(Tools {
        ip: find("ip", "iproute2")?,
        nft: find("nft", "nftables")?,
        curl: find("curl", "curl")?,
    })
}

/// Looks for an executable in `PATH` and the sbin directories (root's `PATH` may lack them).
fn find_tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|p| {
            p.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// A command with the proxy environment variables removed.
pub fn command(program: &Path) -> Command {
    let mut cmd = Command::new(program);
    for var in PROXY_VARS {
        cmd.env_remove(var);
    }
    cmd
}

/// Runs `program args`; `Err` with the command line and its stderr when it fails.
pub fn try_run(program: &Path, args: &[&str]) -> Result<Output, String> {
    let shown = format!("{} {}", program.display(), args.join(" "));
    let out = command(program)
        .args(args)
        .output()
        .map_err(|err| format!("cannot run `{shown}`: {err}"))?;
    if out.status.success() {
        Ok(out)
    } else {
        Err(format!(
            "`{shown}` failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Runs `program args` and panics with its stderr when it fails.
pub fn run(program: &Path, args: &[&str]) -> Output {
    try_run(program, args).unwrap_or_else(|err| panic!("{err}"))
}

/// Runs `f` on a fresh thread that has entered the network namespace `ns`. Sockets created
/// there stay in `ns` for their whole life, whichever thread uses them afterwards.
pub fn in_netns<T: Send>(ns: &str, f: impl FnOnce() -> T + Send) -> Result<T, String> {
    let path = format!("/var/run/netns/{ns}");
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let file = File::open(&path).map_err(|err| format!("cannot open {path}: {err}"))?;
                setns(&file, CloneFlags::CLONE_NEWNET)
                    .map_err(|err| format!("cannot enter network namespace {ns}: {err}"))?;
                Ok(f())
            })
            .join()
            .map_err(|_| format!("the thread inside network namespace {ns} panicked"))?
    })
}

/// Sets a sysctl under `/proc/sys` (dotted `key`) inside the network namespace `ns`.
pub fn sysctl(ns: &str, key: &str, value: &str) -> Result<(), String> {
    let path = format!("/proc/sys/{}", key.replace('.', "/"));
    in_netns(ns, || std::fs::write(&path, value))?
        .map_err(|err| format!("cannot set {key}={value} in {ns}: {err}"))
}
