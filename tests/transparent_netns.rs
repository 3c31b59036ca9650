//! Transparent mode end to end, in real network namespaces (formats-and-protocols.md section 5):
//!
//! ```text
//! client ns (curl)  --veth-->  gateway ns (nftables redirect 80->3129, 443->3130; gatewatch)
//!                   --veth-->  server ns (HTTPS on 443, HTTP on 80, plain text on 443)
//! ```
//!
//! For IPv4, and IPv6 when the kernel allows, it shows:
//! - HTTPS to `site.test` is intercepted: curl trusting only the school CA gets the upstream's
//!   page under a school-CA certificate, and curl trusting only the upstream's CA refuses it;
//!   HTTP/2 and HTTP/1.1 both work end to end;
//! - original-destination handling: curl resolves `site.test` itself (`--resolve`) to server A
//!   or server B, gatewatch has no DNS or static entry for the name, and the page comes from the
//!   server the client chose; the same for plain HTTP (the Host header says `site.test`);
//! - plain HTTP on port 80 is relayed and counted in gatewatch's `requests_total`;
//! - `bank.test` (configured bypass) is spliced: the client sees the upstream's own certificate;
//! - a non-TLS connection to port 443 is spliced: the server receives exactly what curl sent;
//! - every upstream connection comes from the gateway (gatewatch), not from the client;
//! - QUIC (UDP 443) from the client is rejected by the gateway, other UDP is forwarded.
//!
//! Needs root, `ip`, `nft` and `curl`; otherwise it prints why and passes, except under
//! `CI=true`, where it fails. Run it alone with
//! `cargo test --test transparent_netns -- --nocapture`.

mod netns;

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use netns::client::{curl, Curl, CurlArgs};
use netns::gateway::{self, Gatewatch, BYPASS_HOST};
use netns::servers::{self, Service, UpstreamCa};
use netns::topology::{self, Family, Topology};
use netns::{in_netns, Tools};

/// The intercepted test site.
const SITE: &str = "site.test";

/// UDP port that is not QUIC (forwarded normally): the positive control for the QUIC check.
const UDP_CONTROL_PORT: u16 = 4443;

/// Everything one family's checks need.
struct Env<'a> {
    tools: &'a Tools,
    topo: &'a Topology,
    gw: &'a Gatewatch,
    upstream_ca: &'a UpstreamCa,
    school_cn: &'a str,
    fam: Family,
}

#[test]
fn transparent_mode_in_network_namespaces() {
    let Some(tools) = netns::preflight() else {
        return;
    };
    topology::remove_stale(&tools.ip);
    // Declaration order is teardown order reversed: gatewatch stops first, then the servers'
    // runtime, then the namespaces are deleted.
    let topo = match Topology::create(&tools.ip) {
        Ok(t) => t,
        Err(reason) => {
            netns::skip_or_fail(&reason);
            return;
        }
    };
    let mut families = vec![Family::v4()];
    match &topo.ipv6 {
        Ok(()) => families.push(Family::v6()),
        Err(reason) => eprintln!("transparent_netns: IPv6 checks SKIPPED: {reason}"),
    }

    let dir = tempfile::tempdir().expect("tempdir");
    let upstream_ca = UpstreamCa::create(dir.path(), &[SITE, BYPASS_HOST]);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let mut udp_quic_hits = Vec::new();
    let mut specs = Vec::new();
    for fam in &families {
        let quic = Arc::new(AtomicUsize::new(0));
        udp_quic_hits.push(quic.clone());
        let at = |ip: IpAddr, port: u16| SocketAddr::new(ip, port);
        specs.extend([
            (at(fam.server_a, 443), Service::Tls("upstream-A")),
            (at(fam.server_b, 443), Service::Tls("upstream-B")),
            (at(fam.server_a, 80), Service::Http("http-A")),
            (at(fam.server_b, 80), Service::Http("http-B")),
            (at(fam.server_raw, 443), Service::Raw("raw-443")),
            (at(fam.server_a, 443), Service::UdpEcho(quic)),
            (
                at(fam.server_a, UDP_CONTROL_PORT),
                Service::UdpEcho(Arc::new(AtomicUsize::new(0))),
            ),
        ]);
    }
    servers::start(&rt, &topo.server, specs, upstream_ca.server_config.clone());

    gateway::load_nftables(&tools, &topo.gateway, dir.path());
    let config = gateway::write_config(dir.path(), &upstream_ca.pem_path, &families);
    let gw = Gatewatch::start(&tools, &topo.gateway, &config, dir.path());
    let school_cn = common_name(&gw.school_ca);

    for (fam, quic_hits) in families.iter().zip(&udp_quic_hits) {
        let env = Env {
            tools: &tools,
            topo: &topo,
            gw: &gw,
            upstream_ca: &upstream_ca,
            school_cn: &school_cn,
            fam: *fam,
        };
        eprintln!("transparent_netns: {} checks", fam.name);
        env.intercepts_https();
        env.uses_the_original_destination();
        env.relays_plain_http();
        env.splices_the_bypass_host();
        env.splices_non_tls_on_443();
        env.rejects_quic(quic_hits);
    }
    eprintln!(
        "transparent_netns: passed ({}); gatewatch counted {} intercepted, {} spliced, {} requests",
        families
            .iter()
            .map(|f| f.name)
            .collect::<Vec<_>>()
            .join(" and "),
        gw.metric("intercepted_total"),
        gw.metric("spliced_total"),
        gw.metric("requests_total"),
    );
}

impl Env<'_> {
    fn curl(&self, args: CurlArgs) -> Curl {
        curl(self.tools, &self.topo.client, &args)
    }

    fn host(ip: IpAddr) -> String {
        Family::url_host(ip)
    }

    /// `site.test` resolved by the client to `server`, over HTTPS.
    fn site(&self, server: IpAddr, path: &str) -> CurlArgs {
        CurlArgs::new(&format!("https://{SITE}{path}")).resolve(SITE, 443, &Self::host(server))
    }

    /// Asserts that `out` is a 200 whose body comes from `label` at `local` and whose
    /// connection came from gatewatch (the gateway's server-side address).
    fn assert_page(&self, out: &Curl, label: &str, local: SocketAddr, what: &str) {
        let fam = self.fam.name;
        assert!(out.ok(), "{fam}: {what}: curl failed\n{}", out.describe());
        assert!(
            out.body.starts_with(&format!("{label} ")),
            "{fam}: {what}: the page is not from {label}\n{}",
            out.describe()
        );
        assert!(
            out.body.contains(&format!(" local={local}")),
            "{fam}: {what}: the server reached was not {local}\n{}",
            out.describe()
        );
        assert!(
            out.body
                .contains(&format!(" peer={} ", self.fam.gw_server_side)),
            "{fam}: {what}: the upstream connection did not come from gatewatch on {}\n{}",
            self.fam.gw_server_side,
            out.describe()
        );
    }

    fn assert_issuer(&self, out: &Curl, cn: &str, what: &str) {
        let issuer = out.issuer().unwrap_or("(none shown)");
        assert!(
            issuer.contains(&format!("CN={cn}")),
            "{}: {what}: certificate issuer is {issuer:?}, expected CN={cn}\n{}",
            self.fam.name,
            out.describe()
        );
    }

    /// (1) HTTPS via the 443 redirect is intercepted, over HTTP/2 and HTTP/1.1.
    fn intercepts_https(&self) {
        let a = SocketAddr::new(self.fam.server_a, 443);
        let before = self.gw.metric("intercepted_total");
        for (flag, client_version, upstream_version) in [
            ("--http2", "2", "HTTP/2.0"),
            ("--http1.1", "1.1", "HTTP/1.1"),
        ] {
            let what = format!("intercepted HTTPS ({flag})");
            let out = self.curl(
                self.site(self.fam.server_a, "/hello")
                    .cacert(&self.gw.school_ca)
                    .flag(flag),
            );
            self.assert_page(&out, "upstream-A", a, &what);
            self.assert_issuer(&out, self.school_cn, &what);
            assert!(
                out.body.contains(&format!(" version={upstream_version} "))
                    && out.body.contains(&format!(" host={SITE} ")),
                "{}: {what}: expected {upstream_version} with host {SITE} upstream\n{}",
                self.fam.name,
                out.describe()
            );
            assert_eq!(
                out.http_version,
                client_version,
                "{}: {what}\n{}",
                self.fam.name,
                out.describe()
            );
        }
        assert!(
            self.gw.metric("intercepted_total") >= before + 2,
            "{}: gatewatch's intercepted_total did not grow by 2",
            self.fam.name
        );
        // Trusting only the real upstream CA, the client must refuse the school certificate:
        // proof that the connection was not simply forwarded.
        let out = self.curl(
            self.site(self.fam.server_a, "/hello")
                .cacert(&self.upstream_ca.pem_path),
        );
        assert_eq!(
            out.code,
            Some(60),
            "{}: a client trusting only the upstream CA must reject the intercepted site\n{}",
            self.fam.name,
            out.describe()
        );
    }

    /// (4) The client alone decides which address `site.test` is: gatewatch connects to the
    /// original destination, server A or server B, for HTTPS and plain HTTP alike.
    fn uses_the_original_destination(&self) {
        for (server, label) in [
            (self.fam.server_a, "upstream-A"),
            (self.fam.server_b, "upstream-B"),
        ] {
            let out = self.curl(self.site(server, "/which").cacert(&self.gw.school_ca));
            let what = format!("HTTPS to {SITE} resolved by the client to {server}");
            self.assert_page(&out, label, SocketAddr::new(server, 443), &what);
            self.assert_issuer(&out, self.school_cn, &what);
        }
        for (server, label) in [(self.fam.server_a, "http-A"), (self.fam.server_b, "http-B")] {
            let url = format!("http://{SITE}/which");
            let out = self.curl(CurlArgs::new(&url).resolve(SITE, 80, &Self::host(server)));
            let what = format!("HTTP to {SITE} resolved by the client to {server}");
            self.assert_page(&out, label, SocketAddr::new(server, 80), &what);
        }
    }

    /// (2) Plain HTTP to port 80 with a Host header is relayed and counted.
    fn relays_plain_http(&self) {
        let before = self.gw.metric("requests_total");
        let url = format!("http://{}/plain", Self::host(self.fam.server_a));
        let out = self.curl(CurlArgs::new(&url).header(&format!("Host: {SITE}")));
        let what = "plain HTTP to port 80";
        self.assert_page(&out, "http-A", SocketAddr::new(self.fam.server_a, 80), what);
        assert!(
            out.body
                .contains(&format!(" method=GET path=/plain host={SITE} ")),
            "{}: {what}: the request was not relayed as sent\n{}",
            self.fam.name,
            out.describe()
        );
        let after = self.gw.metric("requests_total");
        assert!(
            after > before,
            "{}: {what}: gatewatch's requests_total did not grow ({before} -> {after})",
            self.fam.name
        );
    }

    /// (3) The bypass host is spliced: the client sees the upstream's own certificate.
    fn splices_the_bypass_host(&self) {
        let before = self.gw.metric("spliced_total");
        let target = |ca: &Path| {
            CurlArgs::new(&format!("https://{BYPASS_HOST}/account"))
                .resolve(BYPASS_HOST, 443, &Self::host(self.fam.server_a))
                .cacert(ca)
        };
        let what = format!("{BYPASS_HOST} (bypass list)");
        let out = self.curl(target(&self.upstream_ca.pem_path));
        self.assert_page(
            &out,
            "upstream-A",
            SocketAddr::new(self.fam.server_a, 443),
            &what,
        );
        self.assert_issuer(&out, &self.upstream_ca.common_name, &what);
        assert!(
            out.body.contains(&format!(" host={BYPASS_HOST} ")),
            "{}: {what}\n{}",
            self.fam.name,
            out.describe()
        );
        let out = self.curl(target(&self.gw.school_ca));
        assert_eq!(
            out.code,
            Some(60),
            "{}: {what}: a client trusting only the school CA must reject the real certificate\n{}",
            self.fam.name,
            out.describe()
        );
        let after = self.gw.metric("spliced_total");
        assert!(
            after >= before + 2,
            "{}: {what}: gatewatch's spliced_total did not grow by 2 ({before} -> {after})",
            self.fam.name
        );
    }

    /// (6) Plain text to port 443 is spliced: the server gets exactly the bytes curl sent.
    fn splices_non_tls_on_443(&self) {
        let before = self.gw.metric("spliced_total");
        let raw = SocketAddr::new(self.fam.server_raw, 443);
        let url = format!("http://{raw}/plain-on-443");
        let out = self.curl(
            CurlArgs::new(&url)
                .header("X-Gw-Test: raw-splice")
                .flag("--http1.1"),
        );
        let what = "plain HTTP to port 443";
        self.assert_page(&out, "raw-443", raw, what);
        let received: Vec<String> = out
            .body
            .split_once('\n')
            .map(|(_, head)| head)
            .unwrap_or_default()
            .split("\r\n")
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect();
        let sent = out.request_head();
        assert!(
            !sent.is_empty() && received == sent,
            "{}: {what}: the server did not receive exactly what curl sent\nsent: {sent:#?}\nreceived: {received:#?}\n{}",
            self.fam.name,
            out.describe()
        );
        let after = self.gw.metric("spliced_total");
        assert!(
            after > before,
            "{}: {what}: gatewatch's spliced_total did not grow ({before} -> {after})",
            self.fam.name
        );
    }

    /// The ruleset's QUIC rule: UDP 443 from the client is rejected at the gateway (the
    /// server never sees it); UDP to another port is forwarded and echoed.
    fn rejects_quic(&self, quic_hits: &AtomicUsize) {
        let control = SocketAddr::new(self.fam.server_a, UDP_CONTROL_PORT);
        let quic = SocketAddr::new(self.fam.server_a, 443);
        let exchange = |dest: SocketAddr| {
            in_netns(&self.topo.client, || -> std::io::Result<usize> {
                let bind: SocketAddr = if dest.is_ipv4() {
                    "0.0.0.0:0"
                } else {
                    "[::]:0"
                }
                .parse()
                .expect("literal");
                let sock = std::net::UdpSocket::bind(bind)?;
                sock.connect(dest)?;
                sock.set_read_timeout(Some(Duration::from_secs(3)))?;
                sock.send(b"gatewatch netns udp probe")?;
                sock.recv(&mut [0u8; 64])
            })
            .unwrap_or_else(|err| panic!("{err}"))
        };
        let echoed = exchange(control);
        assert!(
            echoed.is_ok(),
            "{}: UDP to {control} should be forwarded and echoed: {echoed:?}",
            self.fam.name
        );
        let rejected = exchange(quic);
        assert!(
            matches!(&rejected, Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused),
            "{}: UDP to {quic} (QUIC) should be rejected by the gateway: {rejected:?}",
            self.fam.name
        );
        assert_eq!(
            quic_hits.load(Ordering::Relaxed),
            0,
            "{}: the server received QUIC datagrams the gateway should have rejected",
            self.fam.name
        );
    }
}

/// The common name of the certificate in `pem`.
fn common_name(pem: &Path) -> String {
    let bytes =
        std::fs::read(pem).unwrap_or_else(|err| panic!("cannot read {}: {err}", pem.display()));
    let (_, pem) = x509_parser::pem::parse_x509_pem(&bytes).expect("school CA PEM");
    let cert = pem.parse_x509().expect("school CA certificate");
    let cn = cert
        .subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .expect("school CA common name");
    cn.to_string()
}
