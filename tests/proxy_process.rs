//! The real `gatewatch` binary as a separate process: large bodies stream through with flat
//! memory (measured from /proc), every byte reaches the inspector, and SIGTERM shuts it down
//! within the grace period.

mod common;

use std::net::TcpListener as StdListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{curl, TestCa, Upstream, Validity, TEST_HOSTS};

/// A gatewatch child process, killed on drop.
struct GatewatchProcess {
    child: Child,
    proxy: String,
    status: String,
}

impl Drop for GatewatchProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

fn start(dir: &Path, ca: &TestCa, grace_secs: u64) -> GatewatchProcess {
    let proxy_port = free_port();
    let status_port = free_port();
    let hosts: String = TEST_HOSTS
        .iter()
        .map(|h| format!("\"{h}\" = \"127.0.0.1\"\n"))
        .collect();
    let config = format!(
        r#"
[listen]
explicit = ["127.0.0.1:{proxy_port}"]
[clients]
allowed_subnets = ["127.0.0.0/8"]
[upstream]
allow_private = true
trust_mozilla = false
trust_system = false
extra_ca_files = ["{ca}"]
[upstream.static_hosts]
{hosts}
[limits]
shutdown_grace_secs = {grace_secs}
[paths]
data_dir = "data"
ca_dir = "certs"
[observability]
metrics_listen = "127.0.0.1:{status_port}"
"#,
        ca = ca.pem_path.display(),
    );
    let path = dir.join("gatewatch.toml");
    std::fs::write(&path, config).expect("write config");
    let child = Command::new(env!("CARGO_BIN_EXE_gatewatch"))
        .args(["run", "--config"])
        .arg(&path)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start gatewatch");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", status_port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "gatewatch did not start listening"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    GatewatchProcess {
        child,
        proxy: format!("http://127.0.0.1:{proxy_port}"),
        status: format!("http://127.0.0.1:{status_port}"),
    }
}

/// Resident memory of `pid` in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Runs `fut` while sampling the process's RSS every 20 ms; returns its output and the peak.
async fn with_peak_rss<T>(pid: u32, fut: impl std::future::Future<Output = T>) -> (T, u64) {
    let sampling = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let flag = sampling.clone();
    let sampler = tokio::spawn(async move {
        let mut peak = 0;
        while flag.load(std::sync::atomic::Ordering::Relaxed) {
            peak = peak.max(rss_kib(pid));
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        peak
    });
    let out = fut.await;
    sampling.store(false, std::sync::atomic::Ordering::Relaxed);
    (out, sampler.await.expect("sampler"))
}

async fn metric(status: &str, name: &str) -> u64 {
    let out = curl(&[&format!("{status}/metrics")]).await;
    out.stdout
        .lines()
        .find_map(|l| l.strip_prefix(&format!("gatewatch_{name} ")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_bodies_stream_with_flat_memory_and_are_fully_inspected() {
    let ca = TestCa::new("Test Public CA");
    let up =
        Upstream::tls(ca.server_config(&["upstream.test"], Validity::Good, &[b"h2", b"http/1.1"]))
            .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = start(dir.path(), &ca, 5);
    let pid = gw.child.id();
    let school = dir.path().join("certs/ca.pem");
    let school = school.to_str().expect("path");
    let base = format!("https://upstream.test:{}", up.addr.port());

    // Warm up (first certificate, buffers, thread stacks) and take the baseline.
    let warm = curl(&[
        "-x",
        &gw.proxy,
        "--cacert",
        school,
        &format!("{base}/big/1000000"),
        "-o",
        "/dev/null",
    ])
    .await;
    assert_eq!(warm.code, 0, "{warm:?}");
    let baseline = rss_kib(pid);

    const DOWNLOAD: u64 = 200 * 1024 * 1024;
    let (out, peak_down) = with_peak_rss(
        pid,
        curl(&[
            "-x",
            &gw.proxy,
            "--cacert",
            school,
            "--http1.1",
            "-o",
            "/dev/null",
            "-w",
            "%{size_download}",
            &format!("{base}/big/{DOWNLOAD}"),
        ]),
    )
    .await;
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, DOWNLOAD.to_string());

    const UPLOAD: usize = 50 * 1024 * 1024;
    let file = dir.path().join("upload.bin");
    std::fs::write(&file, vec![7u8; UPLOAD]).expect("write upload");
    let body_arg = format!("@{}", file.display());
    let (out, peak_up) = with_peak_rss(
        pid,
        curl(&[
            "-x",
            &gw.proxy,
            "--cacert",
            school,
            "--http2",
            "--data-binary",
            &body_arg,
            &format!("{base}/upload"),
        ]),
    )
    .await;
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stdout,
        format!("received {UPLOAD} sum {}", UPLOAD as u64 * 7)
    );

    let growth_mib = (peak_down.max(peak_up).saturating_sub(baseline)) / 1024;
    eprintln!("gatewatch RSS: baseline {} MiB, peak during 200 MiB download {} MiB, during 50 MiB upload {} MiB", baseline / 1024, peak_down / 1024, peak_up / 1024);
    assert!(
        growth_mib < 48,
        "memory grew by {growth_mib} MiB while streaming: bodies must not be buffered"
    );

    // Every byte went through the inspection hook.
    let inspected = metric(&gw.status, "inspected_bytes").await;
    assert!(
        inspected >= DOWNLOAD + UPLOAD as u64,
        "inspected {inspected} bytes"
    );
    assert_eq!(metric(&gw.status, "inspection_overruns").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_within_the_grace_period_even_with_open_transfers() {
    let ca = TestCa::new("Test Public CA");
    let up =
        Upstream::tls(ca.server_config(&["upstream.test"], Validity::Good, &[b"http/1.1"])).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut gw = start(dir.path(), &ca, 1);
    let school = dir.path().join("certs/ca.pem");
    let url = format!(
        "https://upstream.test:{}/big/{}",
        up.addr.port(),
        100 * 1024 * 1024
    );
    // A slow transfer that would take minutes.
    let proxy = gw.proxy.clone();
    let school_arg = school.to_str().expect("path").to_string();
    let slow = tokio::spawn(async move {
        curl(&[
            "-x",
            &proxy,
            "--cacert",
            &school_arg,
            "--limit-rate",
            "100k",
            "-o",
            "/dev/null",
            &url,
        ])
        .await
    });
    tokio::time::sleep(Duration::from_millis(800)).await;
    let pid = nix::unistd::Pid::from_raw(gw.child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("signal");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = gw.child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "gatewatch did not exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let took = started.elapsed();
    assert!(status.success(), "exit status {status:?}");
    assert!(
        took >= Duration::from_millis(900),
        "open transfer got its grace period ({took:?})"
    );
    assert!(
        took < Duration::from_secs(4),
        "stopped within the 1 s grace period plus slack ({took:?})"
    );
    let out = slow.await.expect("curl task");
    assert_ne!(out.code, 0, "the slow transfer was cut off: {out:?}");
}
