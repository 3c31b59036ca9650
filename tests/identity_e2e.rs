//! Identity end to end with real software.
//!
//! - DHCP: a real dnsmasq in a gateway namespace hands its only address to BusyBox `udhcpc`
//!   in a client namespace: device A binds, releases, then device B binds the same address.
//!   One identity service follows dnsmasq's real leases file; another is fed only by the DHCP
//!   sniffer on the gateway's veth (its socket opened from a thread inside the gateway
//!   namespace). Both must attribute the address to A (MAC, host name) while A held it and to
//!   B afterwards.
//! - RADIUS: a real FreeRADIUS receives `radclient` Accounting-Requests and writes Debian-style
//!   per-NAS daily detail files; one service follows that directory. The same requests go to
//!   gatewatch's own listener, feeding another service. alice signs in on a device, signs out,
//!   bob signs in on the same device: both services agree at every step. A request with a wrong
//!   secret gets no reply and is counted.
//!
//! Needs root (namespaces) for the DHCP test, and dnsmasq, busybox, freeradius and
//! freeradius-utils; skips with a reason otherwise, and fails instead under `CI=true`.

mod identity_common;

use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Duration;

use gatewatch::identity::follow::{self, DetailDirFollower, DnsmasqFollower, Follower};
use gatewatch::identity::{
    Attribution, IdentityEvent, IdentityService, LeaseEnd, LeaseEvent, LeaseKind, MacAddr,
    RadiusClient, RadiusListener, ServiceOptions, Sniffer, Source, UnixTime,
};
use gatewatch::shutdown::Shutdown;
use identity_common::{
    next_second, now, radclient, tools, wait_for, FreeRadius, Netns, Proc, CL_IF, GW_IF,
};

const MAC_A: &str = "00:16:3e:5a:01:0a";
const MAC_B: &str = "3a:9f:01:c2:77:10";
/// dnsmasq's only address, so B must get the address A released.
const LEASED: &str = "10.201.1.120";

fn who(svc: &IdentityService, t: UnixTime) -> Option<(String, Option<String>)> {
    svc.lookup_unix(LEASED.parse().unwrap(), t).map(|a| {
        (
            a.mac.map(|m| m.to_string()).unwrap_or_default(),
            a.hostname.as_deref().map(str::to_owned),
        )
    })
}

fn expect(mac: &str, host: &str) -> Option<(String, Option<String>)> {
    Some((mac.to_owned(), Some(host.to_owned())))
}

const UDHCPC_SCRIPT: &str = "#!/bin/sh\n\
case \"$1\" in\n\
  deconfig) ip addr flush dev \"$interface\" ;;\n\
  bound|renew) ip addr flush dev \"$interface\"; ip addr add \"$ip/${mask:-24}\" dev \"$interface\"; echo \"$ip\" > \"$BOUND_MARK\" ;;\n\
esac\nexit 0\n";

/// Starts `udhcpc` for `mac`/`host` in the client namespace (with `-R`: it releases when
/// terminated) and waits until it is bound; returns it and the address it got.
fn bind_client(
    ns: &Netns,
    ip: &Path,
    busybox: &Path,
    dir: &Path,
    mac: &str,
    host: &str,
) -> (Proc, String) {
    ns.set_client_mac(mac);
    let mark = dir.join(format!("bound-{host}"));
    let script = dir.join("udhcpc.script");
    std::fs::write(&script, UDHCPC_SCRIPT).unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let log = dir.join(format!("udhcpc-{host}.log"));
    let args = [
        "netns",
        "exec",
        &ns.client,
        "env",
        &format!("BOUND_MARK={}", mark.display()),
        busybox.to_str().unwrap(),
        "udhcpc",
        "-i",
        CL_IF,
        "-f",
        "-R",
        "-t",
        "20",
        "-T",
        "1",
        "-s",
        script.to_str().unwrap(),
        "-x",
        &format!("hostname:{host}"),
    ];
    let proc = Proc::spawn("udhcpc", ip, &args, &log);
    let got = wait_for(Duration::from_secs(30), || {
        std::fs::read_to_string(&mark)
            .ok()
            .map(|s| s.trim().to_owned())
    });
    let got = got.unwrap_or_else(|| {
        panic!(
            "udhcpc did not bind: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        )
    });
    (proc, got)
}

#[test]
fn dnsmasq_leases_file_and_sniffing_attribute_an_address_to_a_then_b() {
    const TEST: &str = "identity_e2e dnsmasq";
    let Some(t) = tools(
        TEST,
        true,
        &[
            ("ip", "iproute2"),
            ("dnsmasq", "dnsmasq"),
            ("busybox", "busybox"),
        ],
    ) else {
        return;
    };
    let (ip, dnsmasq, busybox) = (&t[0], &t[1], &t[2]);
    let dir = tempfile::tempdir().unwrap();
    let ns = Netns::create(ip);

    // The sniffer's socket is made inside the gateway namespace, before any DHCP happens.
    let sniffed = IdentityService::in_memory(ServiceOptions::default());
    let sniffer = ns
        .in_gateway(|| Sniffer::open(GW_IF))
        .unwrap_or_else(|e| panic!("{e}"));
    let sniff_counters = sniffer.counters();
    let sniffing = sniffer.spawn(sniffed.clone()).unwrap();

    let leases = dir.path().join("dnsmasq.leases");
    let leases_s = leases.display().to_string();
    let _dnsmasq = Proc::spawn(
        "dnsmasq",
        ip,
        &[
            "netns",
            "exec",
            &ns.gateway,
            dnsmasq.to_str().unwrap(),
            "--keep-in-foreground",
            "--conf-file=/dev/null",
            "--port=0",
            "--user=root",
            "--no-ping",
            &format!("--interface={GW_IF}"),
            "--bind-interfaces",
            &format!("--dhcp-range={LEASED},{LEASED},12h"),
            &format!("--dhcp-leasefile={leases_s}"),
            &format!("--pid-file={}", dir.path().join("dnsmasq.pid").display()),
        ],
        &dir.path().join("dnsmasq.log"),
    );
    let from_file = IdentityService::in_memory(ServiceOptions::default());
    let followers: Vec<Box<dyn Follower>> = vec![Box::new(DnsmasqFollower::with_debounce(
        &leases,
        Duration::from_millis(100),
    ))];
    let following =
        follow::spawn(followers, from_file.clone(), Duration::from_millis(100)).unwrap();

    // Device A binds.
    let (mut a, got) = bind_client(&ns, ip, busybox, dir.path(), MAC_A, "alice-laptop");
    assert_eq!(got, LEASED);
    for (name, svc) in [("leases file", &from_file), ("sniffer", &sniffed)] {
        let seen = wait_for(Duration::from_secs(10), || who(svc, now()));
        assert_eq!(seen, expect(MAC_A, "alice-laptop"), "{name}: device A");
    }
    // A moment both sources already knew about A (each records the time it saw the change).
    let t_a = now();
    // Device A releases (udhcpc -R on SIGTERM); the line disappears from the leases file.
    next_second();
    a.terminate();
    for (name, svc) in [("leases file", &from_file), ("sniffer", &sniffed)] {
        let gone = wait_for(Duration::from_secs(10), || {
            who(svc, now()).is_none().then_some(())
        });
        assert!(gone.is_some(), "{name}: A's release ends the binding");
    }
    next_second();
    // Device B gets the same address.
    let (_b, got) = bind_client(&ns, ip, busybox, dir.path(), MAC_B, "bob-phone");
    assert_eq!(got, LEASED, "the only address, released by A");
    for (name, svc) in [("leases file", &from_file), ("sniffer", &sniffed)] {
        let seen = wait_for(Duration::from_secs(10), || who(svc, now()));
        assert_eq!(seen, expect(MAC_B, "bob-phone"), "{name}: device B");
        // Time travel: the past still answers A.
        assert_eq!(
            who(svc, t_a),
            expect(MAC_A, "alice-laptop"),
            "{name}: at t_a"
        );
        let a = svc.lookup_unix(LEASED.parse().unwrap(), now()).unwrap();
        assert!(a.locally_administered, "{name}: B's MAC is randomised");
    }
    assert_eq!(sniff_counters.malformed.load(Ordering::Relaxed), 0);
    assert!(sniff_counters.events.load(Ordering::Relaxed) >= 3);
    following.stop();
    sniffing.stop();
}

/// The accounting requests of the RADIUS scenario (radclient attribute lists).
fn request(status: &str, user: &str, session: &str, extra: &str) -> String {
    format!(
        "Acct-Status-Type = {status}, User-Name = \"{user}\", \
         Calling-Station-Id = \"AA-BB-CC-DD-EE-01:SchoolWiFi\", \
         Called-Station-Id = \"11-22-33-44-55-66:SchoolWiFi\", Framed-IP-Address = 10.20.0.57, \
         Acct-Session-Id = \"{session}\", NAS-IP-Address = 10.0.0.2, NAS-Identifier = \"ap-hall-1\"{extra}\n"
    )
}

fn user_at(svc: &IdentityService, ip: &str, t: UnixTime) -> Option<String> {
    svc.lookup_unix(ip.parse().unwrap(), t)
        .and_then(|a: Attribution| a.user.as_deref().map(str::to_owned))
}

#[test]
fn freeradius_detail_files_and_the_listener_agree_on_who_signed_in() {
    const TEST: &str = "identity_e2e radius";
    let Some(t) = tools(
        TEST,
        false,
        &[
            ("freeradius", "freeradius"),
            ("radclient", "freeradius-utils"),
        ],
    ) else {
        return;
    };
    let (freeradius, radclient_bin) = (&t[0], &t[1]);
    let dir = tempfile::tempdir().unwrap();
    let rad = FreeRadius::start(freeradius, dir.path());

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let via_listener = IdentityService::in_memory(ServiceOptions::default());
    let clients = vec![RadiusClient {
        subnet: "127.0.0.1/32".parse().unwrap(),
        secret: b"testing123".to_vec(),
    }];
    let listener = runtime
        .block_on(RadiusListener::bind(
            "127.0.0.1:0".parse().unwrap(),
            clients,
            via_listener.clone(),
        ))
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    let counters = listener.counters();
    let shutdown = Shutdown::new();
    let task = runtime.spawn(listener.run(shutdown.clone()));

    let via_detail = IdentityService::in_memory(ServiceOptions::default());
    let followers: Vec<Box<dyn Follower>> = vec![Box::new(DetailDirFollower::new(
        &rad.radacct,
        vec!["*".into(), "detail-*".into()],
        None,
    ))];
    let following =
        follow::spawn(followers, via_detail.clone(), Duration::from_millis(100)).unwrap();

    // Each request goes to FreeRADIUS and to gatewatch; both must answer.
    let send = |attrs: &str| {
        assert!(
            radclient(radclient_bin, rad.port, "testing123", attrs),
            "FreeRADIUS answered"
        );
        assert!(
            radclient(radclient_bin, port, "testing123", attrs),
            "gatewatch answered"
        );
    };
    let ip = "10.20.0.57";
    // alice signs in (with a Message-Authenticator, which radclient computes).
    send(&request(
        "Start",
        "alice",
        "S-1",
        ", Message-Authenticator = 0x00",
    ));
    let t_alice = now();
    // A second device with no Framed-IP: RADIUS says who, DHCP says which address.
    send(
        "Acct-Status-Type = Start, User-Name = \"carol\", Calling-Station-Id = \"aa:bb:cc:dd:ee:02\", Acct-Session-Id = \"S-9\", NAS-IP-Address = 10.0.0.2\n",
    );
    next_second();
    send(&request("Stop", "alice", "S-1", ", Acct-Session-Time = 1"));
    let t_out = now();
    next_second();
    send(&request("Start", "bob", "S-2", ""));
    let t_bob = now();

    let lease = IdentityEvent::Lease(LeaseEvent {
        kind: LeaseKind::Bind,
        ip: "10.20.0.99".parse().unwrap(),
        mac: MacAddr::parse("aa:bb:cc:dd:ee:02").ok(),
        hostname: Some("carol-tablet".into()),
        client_id: None,
        start: t_alice - 60,
        end: LeaseEnd::At(t_bob + 3600),
        source: Source::Kea,
    });
    for (name, svc) in [("detail files", &via_detail), ("listener", &via_listener)] {
        svc.ingest([lease.clone()]).unwrap();
        let bob = wait_for(Duration::from_secs(10), || {
            user_at(svc, ip, t_bob).filter(|u| u == "bob")
        });
        assert_eq!(bob.as_deref(), Some("bob"), "{name}: bob signed in last");
        assert_eq!(
            user_at(svc, ip, t_alice).as_deref(),
            Some("alice"),
            "{name}"
        );
        assert_eq!(user_at(svc, ip, t_out), None, "{name}: alice signed out");
        assert_eq!(user_at(svc, ip, t_alice - 5), None, "{name}: before anyone");
        let a = svc.lookup_unix(ip.parse().unwrap(), t_bob).unwrap();
        assert_eq!(a.mac.unwrap().to_string(), "aa:bb:cc:dd:ee:01", "{name}");
        assert_eq!(a.ssid.as_deref(), Some("SchoolWiFi"), "{name}");
        assert_eq!(a.nas_identifier.as_deref(), Some("ap-hall-1"), "{name}");
        let carol = svc
            .lookup_unix("10.20.0.99".parse().unwrap(), t_bob)
            .unwrap();
        assert_eq!(
            (carol.user.as_deref(), carol.hostname.as_deref()),
            (Some("carol"), Some("carol-tablet")),
            "{name}: RADIUS joined with DHCP"
        );
    }
    let files: Vec<_> = std::fs::read_dir(rad.radacct.join("127.0.0.1"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(files.iter().all(|f| f.starts_with("detail-")), "{files:?}");

    // A wrong secret: no reply from gatewatch, counted, nothing applied.
    let before = via_listener.stats().received;
    assert!(!radclient(
        radclient_bin,
        port,
        "wrongsecret",
        &request("Start", "mallory", "S-666", "")
    ));
    let c = counters.snapshot();
    assert_eq!(c.bad_authenticator, 1);
    assert_eq!(
        c.bad_message_authenticator, 0,
        "radclient's Message-Authenticator verified"
    );
    assert_eq!(c.accepted, 4);
    assert_eq!(via_listener.stats().received, before);
    assert_eq!(
        user_at(&via_listener, ip, now() + 1).as_deref(),
        Some("bob")
    );
    // FreeRADIUS drops it too.
    assert!(!radclient(
        radclient_bin,
        rad.port,
        "wrongsecret",
        &request("Start", "mallory", "S-666", "")
    ));
    let output = rad.output();
    assert!(output.contains("invalid Request Authenticator"));
    assert!(
        output.contains("Message-Authenticator = 0x"),
        "radclient really sent a Message-Authenticator (and gatewatch verified it)"
    );

    shutdown.trigger();
    runtime.block_on(task).unwrap().unwrap();
    following.stop();
}
