//! Identity benchmark: 100,000 devices and 1,000,000 lease and accounting events loaded into
//! the attribution service, then lookups.
//!
//! Prints, next to each other: the time to load the events into the in-memory index
//! (`AttributionIndex`, the baseline) and through `IdentityService::ingest` (dedup, locking),
//! the time to replay the same history from the JSON-lines event log, the memory taken (RSS
//! delta from /proc/self/status), and lookups per second; then criterion measures a lookup.
//! Targets (issue 4): < 1 microsecond per lookup, loading 1M events < 5 s.
//!
//! Run: `cargo bench --bench identity`.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant, SystemTime};

use criterion::{criterion_group, criterion_main, Criterion};
use gatewatch::identity::{
    AccountingEvent, AcctStatus, AttributionIndex, EventStore, IdentityEvent, IdentityService,
    JsonlEventLog, LeaseEnd, LeaseEvent, LeaseKind, MacAddr, ServiceOptions, Source, UnixTime,
};

const DEVICES: u32 = 100_000;
const EVENTS_PER_DEVICE: u32 = 10;
const T0: UnixTime = 1_800_000_000;
const DAY: UnixTime = 86_400;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// A small xorshift generator: the same corpus every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn mac(d: u32) -> MacAddr {
    let b = d.to_be_bytes();
    // Every third device uses a randomised (locally administered) address.
    let first = if d % 3 == 0 { 0x3a } else { 0x00 };
    MacAddr([first, 0x16, b[0], b[1], b[2], b[3]])
}

fn ip(n: u32) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | n))
}

/// 10 events per device over 5 school days: per day a DHCP bind (the address moves to another
/// device every other day, so addresses are reused) and a RADIUS Start or Stop.
fn corpus() -> Vec<IdentityEvent> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut out = Vec::with_capacity((DEVICES * EVENTS_PER_DEVICE) as usize);
    for day in 0..5i64 {
        for d in 0..DEVICES {
            let jitter = (rng.next() % 3600) as i64;
            let start = T0 + day * DAY + 8 * 3600 + jitter;
            let slot = if day % 2 == 0 { d } else { (d + 1) % DEVICES };
            out.push(IdentityEvent::Lease(LeaseEvent {
                kind: LeaseKind::Bind,
                ip: ip(slot),
                mac: Some(mac(d)),
                hostname: Some(format!("device-{d}")),
                client_id: None,
                start,
                end: LeaseEnd::At(start + 8 * 3600),
                source: if d % 2 == 0 {
                    Source::Dnsmasq
                } else {
                    Source::Kea
                },
            }));
            let status = if day % 2 == 0 {
                AcctStatus::Start
            } else {
                AcctStatus::Stop
            };
            out.push(IdentityEvent::Accounting(AccountingEvent {
                status,
                user: Some(format!("user{:05}", d % 90_000)),
                mac: Some(mac(d)),
                ssid: Some("SchoolWiFi".into()),
                framed_ip: None,
                session_id: Some(format!("{d}-{}", day / 2)),
                nas_ip: Some(IpAddr::V4(Ipv4Addr::new(10, 255, 0, (d % 200) as u8))),
                nas_identifier: None,
                time: start + 5,
                source: Source::RadiusDetail,
            }));
        }
    }
    // The rest: Interim-Updates through the days.
    while out.len() < (DEVICES * EVENTS_PER_DEVICE) as usize {
        let d = (rng.next() % u64::from(DEVICES)) as u32;
        let day = (rng.next() % 5) as i64;
        out.push(IdentityEvent::Accounting(AccountingEvent {
            status: AcctStatus::Interim,
            user: Some(format!("user{:05}", d % 90_000)),
            mac: Some(mac(d)),
            ssid: Some("SchoolWiFi".into()),
            framed_ip: None,
            session_id: Some(format!("{d}-{}", day / 2)),
            nas_ip: Some(IpAddr::V4(Ipv4Addr::new(10, 255, 0, (d % 200) as u8))),
            nas_identifier: None,
            time: T0 + day * DAY + 9 * 3600 + (rng.next() % 3600) as i64,
            source: Source::RadiusDetail,
        }));
    }
    out
}

/// `n` lookups of addresses drawn from the first `among` devices' addresses, at times when
/// they were in use.
fn queries(n: usize, among: u32) -> Vec<(IpAddr, UnixTime)> {
    let mut rng = Rng(42);
    (0..n)
        .map(|_| {
            let slot = (rng.next() % u64::from(among)) as u32;
            let day = (rng.next() % 5) as i64;
            (
                ip(slot),
                T0 + day * DAY + 8 * 3600 + (rng.next() % (9 * 3600)) as i64,
            )
        })
        .collect()
}

fn report_and_bench(c: &mut Criterion) {
    let events = corpus();
    println!(
        "identity corpus: {} devices, {} events",
        DEVICES,
        events.len()
    );

    // Baseline: the bare index.
    let rss0 = rss_kib();
    let t = Instant::now();
    let mut index = AttributionIndex::new();
    for ev in &events {
        match ev {
            IdentityEvent::Lease(l) => index.apply_lease(l),
            IdentityEvent::Accounting(a) => index.apply_accounting(a),
        };
    }
    let bare = t.elapsed();
    let bare_rss = rss_kib().saturating_sub(rss0);
    println!(
        "load into AttributionIndex: {:.2} s ({:.0} events/s), RSS +{} MiB ({} intervals, {} sessions)",
        bare.as_secs_f64(),
        events.len() as f64 / bare.as_secs_f64(),
        bare_rss / 1024,
        index.ips().intervals(),
        index.sessions().sessions()
    );
    drop(index);

    // Through the service (dedup set, locking, batches), in 1,000-event batches as sources do.
    let rss0 = rss_kib();
    let svc = IdentityService::in_memory(ServiceOptions::default());
    let t = Instant::now();
    for chunk in events.chunks(1000) {
        svc.ingest(chunk.to_vec())
            .expect("in-memory ingest cannot fail");
    }
    let loaded = t.elapsed();
    println!(
        "load through IdentityService::ingest: {:.2} s ({:.0} events/s), RSS +{} MiB",
        loaded.as_secs_f64(),
        events.len() as f64 / loaded.as_secs_f64(),
        rss_kib().saturating_sub(rss0) / 1024
    );

    // Replay from the event log on disk (what a restart does).
    let dir = tempfile::tempdir().expect("temporary directory");
    {
        let mut log = JsonlEventLog::open(dir.path()).expect("open log");
        log.append(&events).expect("write log");
        log.sync().expect("sync log");
    }
    let size = std::fs::metadata(dir.path().join("identity-events.jsonl")).map_or(0, |m| m.len());
    let t = Instant::now();
    let log = JsonlEventLog::open(dir.path()).expect("open log");
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs((T0 + 5 * DAY) as u64);
    let (replayed, report) =
        IdentityService::open(ServiceOptions::default(), Box::new(log), now).expect("replay");
    let replay = t.elapsed();
    println!(
        "replay {} events from a {} MiB event log: {:.2} s",
        report.records,
        size / (1024 * 1024),
        replay.as_secs_f64()
    );
    drop(replayed);

    // Lookups per second, single thread: uniformly over all 100,000 devices' addresses (every
    // lookup misses the CPU caches), and over 5,000 of them (the devices busy at one time in a
    // large school: the working set stays cached).
    let all = queries(1_000_000, DEVICES);
    let busy = queries(1_000_000, 5_000);
    for (name, qs) in [("100k devices", &all), ("5k busy devices", &busy)] {
        let t = Instant::now();
        let mut hits = 0usize;
        for (ip, at) in qs {
            hits += usize::from(svc.lookup_unix(*ip, *at).is_some());
        }
        let took = t.elapsed();
        println!(
            "lookups over {name}: {:.2} M/s single-threaded ({:.0} ns each), {hits} of {} answered",
            qs.len() as f64 / took.as_secs_f64() / 1e6,
            took.as_nanos() as f64 / qs.len() as f64,
            qs.len()
        );
    }

    for (name, qs) in [
        ("identity lookup, any of 100k devices", &all),
        ("identity lookup, 5k busy devices", &busy),
    ] {
        let mut i = 0usize;
        c.bench_function(name, |b| {
            b.iter(|| {
                i = (i + 1) % qs.len();
                let (ip, at) = qs[i];
                black_box(svc.lookup_unix(black_box(ip), at))
            })
        });
    }
    let miss: IpAddr = "192.0.2.1".parse().expect("literal");
    c.bench_function("identity lookup, unknown address", |b| {
        b.iter(|| black_box(svc.lookup_unix(black_box(miss), T0)))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50).measurement_time(Duration::from_secs(3));
    targets = report_and_bench
}
criterion_main!(benches);
