//! The one-machine topology of formats-and-protocols.md section 5: client ns -> gateway ns
//! (forwarding, nftables redirect) -> server ns.
//!
//! Namespace names are unique per run (`gwtp-PID-N-role`). The veth pairs are created directly
//! inside their namespaces, so their fixed names (`veth-cl`, `veth-gc`, `veth-gs`, `veth-srv`)
//! never exist in the root namespace and never collide with a parallel run; for the same
//! reason the fixed 10.200.x.x / fd00:x:: addresses cannot collide either (each namespace has
//! its own addresses and routes). Everything is deleted on drop, even when the test panics.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use super::{run, sysctl, try_run};

/// Directory where `ip netns` keeps its namespace handles.
const NETNS_DIR: &str = "/var/run/netns";

/// Prefix of every namespace this test creates.
const PREFIX: &str = "gwtp-";

/// The client's interface (in the client namespace).
pub const CLIENT_IF: &str = "veth-cl";
/// The gateway's interface towards the client.
pub const GW_CLIENT_IF: &str = "veth-gc";
/// The gateway's interface towards the servers.
pub const GW_SERVER_IF: &str = "veth-gs";
/// The server's interface.
pub const SERVER_IF: &str = "veth-srv";

/// The addresses of one IP family.
#[derive(Debug, Clone, Copy)]
pub struct Family {
    /// "IPv4" or "IPv6".
    pub name: &'static str,
    /// The client.
    pub client: IpAddr,
    /// The client's subnet, for `allowed_subnets`.
    pub client_subnet: &'static str,
    /// The gateway on the client side (where the transparent listeners are).
    pub gw_client_side: IpAddr,
    /// The gateway on the server side (the source address of gatewatch's upstream connections).
    pub gw_server_side: IpAddr,
    /// Server A: TLS on 443 (site.test, bank.test), HTTP on 80, UDP echo on 443 and 4443.
    pub server_a: IpAddr,
    /// Server B: TLS on 443 and HTTP on 80 with different bodies.
    pub server_b: IpAddr,
    /// A plain-text (non-TLS) server on port 443.
    pub server_raw: IpAddr,
    /// Prefix length of both subnets.
    prefix: u8,
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("literal IP address")
}

impl Family {
    /// The IPv4 addresses.
    pub fn v4() -> Family {
        Family {
            name: "IPv4",
            client: ip("10.200.1.2"),
            client_subnet: "10.200.1.0/24",
            gw_client_side: ip("10.200.1.1"),
            gw_server_side: ip("10.200.2.1"),
            server_a: ip("10.200.2.2"),
            server_b: ip("10.200.2.3"),
            server_raw: ip("10.200.2.4"),
            prefix: 24,
        }
    }

    /// The IPv6 addresses.
    pub fn v6() -> Family {
        Family {
            name: "IPv6",
            client: ip("fd00:1::2"),
            client_subnet: "fd00:1::/64",
            gw_client_side: ip("fd00:1::1"),
            gw_server_side: ip("fd00:2::1"),
            server_a: ip("fd00:2::2"),
            server_b: ip("fd00:2::3"),
            server_raw: ip("fd00:2::4"),
            prefix: 64,
        }
    }

    /// `ip` as written in URLs, `--resolve` and socket addresses (`[...]` for IPv6).
    pub fn url_host(ip: IpAddr) -> String {
        match ip {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => format!("[{v6}]"),
        }
    }
}

/// The three namespaces; deleted on drop.
#[derive(Debug)]
pub struct Topology {
    ip: PathBuf,
    /// The client namespace.
    pub client: String,
    /// The gateway namespace (gatewatch and nftables run here).
    pub gateway: String,
    /// The server namespace.
    pub server: String,
    /// `Ok` when the IPv6 addresses came up; otherwise why not.
    pub ipv6: Result<(), String>,
    created: Vec<String>,
}

impl Topology {
    /// Builds the topology. `Err` only when not even one namespace can be created (no
    /// permission: the caller skips, or fails under CI); any later failure panics.
    pub fn create(ip: &Path) -> Result<Topology, String> {
        static RUN: AtomicU32 = AtomicU32::new(0);
        let base = format!(
            "{PREFIX}{}-{}",
            std::process::id(),
            RUN.fetch_add(1, Ordering::Relaxed)
        );
        let mut topo = Topology {
            ip: ip.to_path_buf(),
            client: format!("{base}-cl"),
            gateway: format!("{base}-gw"),
            server: format!("{base}-srv"),
            ipv6: Ok(()),
            created: Vec::new(),
        };
        for (i, ns) in [
            topo.client.clone(),
            topo.gateway.clone(),
            topo.server.clone(),
        ]
        .into_iter()
        .enumerate()
        {
            match try_run(ip, &["netns", "add", &ns]) {
                Ok(_) => topo.created.push(ns),
                Err(err) if i == 0 => {
                    return Err(format!("cannot create a network namespace: {err}"))
                }
                Err(err) => panic!("{err}"),
            }
        }
        topo.build();
        Ok(topo)
    }

    fn ip(&self, args: &[&str]) {
        run(&self.ip, args);
    }

    fn build(&mut self) {
        let ipv6_present = Path::new("/proc/sys/net/ipv6").exists();
        if !ipv6_present {
            self.ipv6 = Err("the kernel has no IPv6 (/proc/sys/net/ipv6 is missing)".into());
        }
        let (cl, gw, srv) = (
            self.client.clone(),
            self.gateway.clone(),
            self.server.clone(),
        );
        for ns in [&cl, &gw, &srv] {
            self.ip(&["-n", ns, "link", "set", "lo", "up"]);
            if ipv6_present {
                // Static addresses only: no duplicate address detection delaying them.
                for key in [
                    "net.ipv6.conf.all.accept_dad",
                    "net.ipv6.conf.default.accept_dad",
                ] {
                    if let Err(err) = sysctl(ns, key, "0") {
                        self.ipv6 = Err(err);
                    }
                }
            }
        }
        sysctl(&gw, "net.ipv4.ip_forward", "1").unwrap_or_else(|e| panic!("{e}"));
        let veth = |a: &str, a_ns: &str, b: &str, b_ns: &str| {
            self.ip(&[
                "link", "add", a, "netns", a_ns, "type", "veth", "peer", "name", b, "netns", b_ns,
            ]);
        };
        veth(GW_CLIENT_IF, &gw, CLIENT_IF, &cl);
        veth(GW_SERVER_IF, &gw, SERVER_IF, &srv);

        let v4 = Family::v4();
        let links = [
            (&cl, CLIENT_IF, vec![v4.client]),
            (&gw, GW_CLIENT_IF, vec![v4.gw_client_side]),
            (&gw, GW_SERVER_IF, vec![v4.gw_server_side]),
            (
                &srv,
                SERVER_IF,
                vec![v4.server_a, v4.server_b, v4.server_raw],
            ),
        ];
        for (ns, dev, addrs) in &links {
            for a in addrs {
                self.ip(&[
                    "-n",
                    ns,
                    "addr",
                    "add",
                    &format!("{a}/{}", v4.prefix),
                    "dev",
                    dev,
                ]);
            }
            self.ip(&["-n", ns, "link", "set", dev, "up"]);
        }
        self.ip(&[
            "-n",
            &cl,
            "route",
            "add",
            "default",
            "via",
            &v4.gw_client_side.to_string(),
        ]);
        self.ip(&[
            "-n",
            &srv,
            "route",
            "add",
            "default",
            "via",
            &v4.gw_server_side.to_string(),
        ]);

        if self.ipv6.is_ok() {
            if let Err(err) = self.build_v6() {
                self.ipv6 = Err(err);
            }
        }
    }

    /// Adds the IPv6 addresses and routes; `Err` says why IPv6 is unavailable.
    fn build_v6(&self) -> Result<(), String> {
        let v6 = Family::v6();
        let (cl, gw, srv) = (&self.client, &self.gateway, &self.server);
        sysctl(gw, "net.ipv6.conf.all.forwarding", "1")?;
        let links = [
            (cl, CLIENT_IF, vec![v6.client]),
            (gw, GW_CLIENT_IF, vec![v6.gw_client_side]),
            (gw, GW_SERVER_IF, vec![v6.gw_server_side]),
            (
                srv,
                SERVER_IF,
                vec![v6.server_a, v6.server_b, v6.server_raw],
            ),
        ];
        for (ns, dev, addrs) in &links {
            for a in addrs {
                let cidr = format!("{a}/{}", v6.prefix);
                try_run(
                    &self.ip,
                    &["-n", ns, "-6", "addr", "add", &cidr, "dev", dev, "nodad"],
                )?;
            }
        }
        try_run(
            &self.ip,
            &[
                "-n",
                cl,
                "-6",
                "route",
                "add",
                "default",
                "via",
                &v6.gw_client_side.to_string(),
            ],
        )?;
        try_run(
            &self.ip,
            &[
                "-n",
                srv,
                "-6",
                "route",
                "add",
                "default",
                "via",
                &v6.gw_server_side.to_string(),
            ],
        )?;
        // The addresses must be usable (not tentative) before anything binds them.
        for (ns, dev, addrs) in &links {
            let out = try_run(&self.ip, &["-n", ns, "-6", "addr", "show", "dev", dev])?;
            let text = String::from_utf8_lossy(&out.stdout);
            for a in addrs {
                let line = text
                    .lines()
                    .find(|l| l.contains(&format!("inet6 {a}/")))
                    .ok_or_else(|| format!("{a} did not come up on {dev} in {ns}: {text}"))?;
                if line.contains("tentative") || line.contains("dadfailed") {
                    return Err(format!("{a} on {dev} in {ns} is not usable: {line}"));
                }
            }
        }
        Ok(())
    }
}

impl Drop for Topology {
    fn drop(&mut self) {
        // Deleting a namespace deletes its veth ends; processes in it were stopped before.
        for ns in self.created.iter().rev() {
            if let Err(err) = try_run(&self.ip, &["netns", "del", ns]) {
                eprintln!("transparent_netns teardown: {err}");
            }
        }
    }
}

/// Deletes namespaces left behind by earlier runs of this test whose process no longer
/// exists (a run killed with SIGKILL cannot tear down).
pub fn remove_stale(ip: &Path) {
    let Ok(entries) = std::fs::read_dir(NETNS_DIR) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(PREFIX) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            eprintln!("transparent_netns: deleting stale namespace {name} (process {pid} is gone)");
            if let Err(err) = try_run(ip, &["netns", "del", &name]) {
                eprintln!("transparent_netns: {err}");
            }
        }
    }
}
