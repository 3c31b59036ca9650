//! End to end through the explicit proxy with real curl: HTTP/1.1 and HTTP/2 interception,
//! chunked bodies, keep-alive, invalid upstream certificates, bypass splicing, automatic
//! bypass, refused clients and destinations, plain HTTP, WebSocket upgrades, malformed input.

mod common;

use common::{curl, eventually, get, read_head, Proxy, TestCa, Upstream, Validity};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const H2_H1: &[&[u8]] = &[b"h2", b"http/1.1"];

async fn good_upstream(ca: &TestCa) -> Upstream {
    Upstream::tls(ca.server_config(
        &["upstream.test", "bank.test", "pinned.test"],
        Validity::Good,
        H2_H1,
    ))
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intercepts_http11_and_http2_trusting_only_the_school_ca() {
    let ca = TestCa::new("Test Public CA");
    let up = good_upstream(&ca).await;
    let proxy = Proxy::start(&ca, |_| {}).await;
    let url = format!("https://upstream.test:{}/proto", up.addr.port());
    let school = proxy.school_ca.to_str().expect("path").to_string();

    let h1 = curl(&[
        "-x",
        &proxy.proxy_url(),
        "--cacert",
        &school,
        "--http1.1",
        "-w",
        " %{http_version}",
        &url,
    ])
    .await;
    assert_eq!(h1.code, 0, "{h1:?}");
    assert_eq!(h1.stdout, "HTTP/1.1 1.1", "{h1:?}");

    let h2 = curl(&[
        "-x",
        &proxy.proxy_url(),
        "--cacert",
        &school,
        "--http2",
        "-w",
        " %{http_version}",
        &url,
    ])
    .await;
    assert_eq!(h2.code, 0, "{h2:?}");
    assert_eq!(
        h2.stdout, "HTTP/2.0 2",
        "client and upstream both speak h2: {h2:?}"
    );

    // The certificate curl saw was minted by the school CA (curl trusted nothing else), and
    // the inspector saw both requests' URLs and response bodies.
    assert!(eventually(|| get(&proxy.counts.requests) == 2).await);
    assert!(
        eventually(|| get(&proxy.counts.response_bytes)
            == "HTTP/1.1".len() as u64 + "HTTP/2.0".len() as u64)
        .await
    );
    assert_eq!(get(&proxy.metrics.intercepted_total), 2);
    proxy.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h1_only_upstream_gets_h1_even_when_client_offers_h2() {
    let ca = TestCa::new("Test Public CA");
    let up =
        Upstream::tls(ca.server_config(&["upstream.test"], Validity::Good, &[b"http/1.1"])).await;
    let proxy = Proxy::start(&ca, |_| {}).await;
    let url = format!("https://upstream.test:{}/proto", up.addr.port());
    let out = curl(&[
        "-x",
        &proxy.proxy_url(),
        "--cacert",
        proxy.school_ca.to_str().expect("path"),
        "--http2",
        "-w",
        " %{http_version}",
        &url,
    ])
    .await;
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stdout, "HTTP/1.1 1.1",
        "ALPN offered to the client follows the upstream: {out:?}"
    );
    proxy.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunked_bodies_and_keep_alive_reuse_one_upstream_connection() {
    let ca = TestCa::new("Test Public CA");
    let up = good_upstream(&ca).await;
    let proxy = Proxy::start(&ca, |_| {}).await;
    let base = format!("https://upstream.test:{}", up.addr.port());
    let school = proxy.school_ca.to_str().expect("path").to_string();
    let urls: Vec<String> = (0..5).map(|_| format!("{base}/chunked")).collect();
    let proxy_url = proxy.proxy_url();
    let mut args: Vec<&str> = vec![
        "-x",
        &proxy_url,
        "--cacert",
        &school,
        "--http1.1",
        "-w",
        "[%{num_connects}]",
    ];
    for u in &urls {
        args.push(u);
    }
    let out = curl(&args).await;
    assert_eq!(out.code, 0, "{out:?}");
    let body = "first chunk;second chunk;third chunk";
    assert_eq!(
        out.stdout,
        format!("{body}[1]{body}[0]{body}[0]{body}[0]{body}[0]"),
        "one client connection: {out:?}"
    );
    assert_eq!(
        get(&up.log.connections),
        1,
        "one kept-alive upstream connection for five requests"
    );
    proxy.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_upstream_certificates_get_our_error_page_never_a_valid_certificate() {
    let ca = TestCa::new("Test Public CA");
    let expired =
        Upstream::tls(ca.server_config(&["expired.test"], Validity::Expired, H2_H1)).await;
    let wrong =
        Upstream::tls(ca.server_config(&["someone-else.test"], Validity::Good, H2_H1)).await;
    let stranger = TestCa::new("Unknown CA");
    let unknown =
        Upstream::tls(stranger.server_config(&["upstream.test"], Validity::Good, H2_H1)).await;
    let proxy = Proxy::start(&ca, |_| {}).await;
    let school = proxy.school_ca.to_str().expect("path").to_string();
    for (url, words) in [
        (
            format!("https://expired.test:{}/hello", expired.addr.port()),
            "expired",
        ),
        (
            format!("https://wrong.test:{}/hello", wrong.addr.port()),
            "different",
        ),
        (
            format!("https://upstream.test:{}/hello", unknown.addr.port()),
            "not issued by",
        ),
    ] {
        // Trusting the school CA does not make the invalid site look valid.
        let strict = curl(&["-x", &proxy.proxy_url(), "--cacert", &school, &url]).await;
        assert_eq!(strict.code, 60, "certificate must not verify: {strict:?}");
        // Past the warning, the client reads our explanation.
        let page = curl(&["-x", &proxy.proxy_url(), "-k", "-w", "%{http_code}", &url]).await;
        assert_eq!(page.code, 0, "{page:?}");
        assert!(page.stdout.ends_with("502"), "{page:?}");
        assert!(page.stdout.contains("certificate"), "{page:?}");
        assert!(
            page.stdout.to_lowercase().contains(words),
            "expected `{words}` in {}",
            page.stdout
        );
        assert!(!page.stdout.contains("hello from upstream"));
    }
    assert!(get(&proxy.metrics.upstream_cert_invalid) >= 6);
    proxy.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bypassed_host_is_spliced_and_the_client_sees_the_real_certificate() {
    let ca = TestCa::new("Test Public CA");
    let up = good_upstream(&ca).await;
    let proxy = Proxy::start(&ca, |_| {}).await;
    let url = format!("https://bank.test:{}/hello", up.addr.port());
    // Trusting only the real (test) CA works: the certificate is the upstream's own.
    let real = curl(&[
        "-x",
        &proxy.proxy_url(),
        "--cacert",
        ca.pem_path.to_str().expect("path"),
        &url,
    ])
    .await;
    assert_eq!(real.code, 0, "{real:?}");
    assert_eq!(real.stdout, "hello from upstream\n");
    // Trusting only the school CA fails: gatewatch did not decrypt.
    let school = curl(&[
        "-x",
        &proxy.proxy_url(),
        "--cacert",
        proxy.school_ca.to_str().expect("path"),
        &url,
    ])
    .await;
    assert_eq!(school.code, 60, "{school:?}");
    assert_eq!(get(&proxy.counts.requests), 0, "nothing inspected");
    assert_eq!(get(&proxy.metrics.spliced_total), 2);
    proxy.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosts_whose_clients_reject_our_certificate_are_bypassed_automatically() {
    let ca = TestCa::new("Test Public CA");
    let up = good_upstream(&ca).await;
    let proxy = Proxy::start(&ca, |c| c.bypass.auto.failures = 3).await;
    let url = format!("https://pinned.test:{}/hello", up.addr.port());
    let pinned_ca = ca.pem_path.to_str().expect("path").to_string();
    // A "pinned app": trusts only the real CA, so it rejects the school certificate.
    for attempt in 1..=3 {
        let out = curl(&["-x", &proxy.proxy_url(), "--cacert", &pinned_ca, &url]).await;
        assert_eq!(
            out.code, 60,
            "attempt {attempt} should be intercepted and rejected: {out:?}"
        );
    }
    assert!(
        eventually(|| proxy
            .metrics
            .auto_bypassed_hosts
            .load(std::sync::atomic::Ordering::Relaxed)
            == 1)
        .await
    );
    let out = curl(&["-x", &proxy.proxy_url(), "--cacert", &pinned_ca, &url]).await;
    assert_eq!(
        out.code, 0,
        "after 3 rejections the host is spliced: {out:?}"
    );
    assert_eq!(out.stdout, "hello from upstream\n");
    // The automatic list is kept on disk and reported.
    let file = proxy.dir.path().join("data").join("auto-bypass.json");
    assert!(
        eventually(|| std::fs::read_to_string(&file)
            .map(|s| s.contains("pinned.test"))
            .unwrap_or(false))
        .await
    );
    proxy.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_outside_the_allowed_subnets_are_refused() {
    let ca = TestCa::new("Test Public CA");
    let up = good_upstream(&ca).await;
    let proxy = Proxy::start(&ca, |c| {
        c.clients.allowed_subnets = vec!["10.99.0.0/16".parse().expect("net")]
    })
    .await;
    let url = format!("https://upstream.test:{}/hello", up.addr.port());
    let out = curl(&[
        "-x",
        &proxy.proxy_url(),
        "--cacert",
        proxy.school_ca.to_str().expect("path"),
        &url,
    ])
    .await;
    assert_ne!(out.code, 0, "{out:?}");
    assert!(out.stderr.contains("403"), "{out:?}");
    assert_eq!(get(&up.log.connections), 0, "nothing reached the upstream");
    assert_eq!(get(&proxy.metrics.connections_refused), 1);
    proxy.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_itself_and_private_networks_are_refused_destinations() {
    let ca = TestCa::new("Test Public CA");
    // Lab mode on: loopback upstreams are allowed, but never gatewatch's own ports.
    let proxy = Proxy::start(&ca, |_| {}).await;
    let own = format!("https://127.0.0.1:{}/", proxy.addr.port());
    let out = curl(&["-x", &proxy.proxy_url(), "-k", &own]).await;
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("403"), "{out:?}");
    let plain = curl(&[
        "-x",
        &proxy.proxy_url(),
        "-w",
        "%{http_code}",
        &format!("http://127.0.0.1:{}/", proxy.addr.port()),
    ])
    .await;
    assert!(plain.stdout.ends_with("403"), "{plain:?}");
    proxy.stop().await;

    // Default (lab mode off): loopback and private destinations are refused.
    let up = Upstream::plain().await;
    let proxy = Proxy::start(&ca, |c| c.upstream.allow_private = false).await;
    let out = curl(&[
        "-x",
        &proxy.proxy_url(),
        "-w",
        "%{http_code}",
        &format!("http://upstream.test:{}/hello", up.addr.port()),
    ])
    .await;
    assert!(out.stdout.ends_with("403"), "{out:?}");
    assert_eq!(get(&up.log.connections), 0);
    proxy.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_absolute_form_is_forwarded_and_inspected() {
    let ca = TestCa::new("Test Public CA");
    let up = Upstream::plain().await;
    let proxy = Proxy::start(&ca, |_| {}).await;
    let url = format!("http://upstream.test:{}/hello", up.addr.port());
    let out = curl(&["-x", &proxy.proxy_url(), &url]).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "hello from upstream\n");
    assert!(eventually(|| get(&proxy.counts.response_bytes) == 20).await);
    // Asking the proxy for a page directly (origin-form) is a client error, clearly explained.
    let direct = curl(&["-w", "%{http_code}", &format!("http://{}/", proxy.addr)]).await;
    assert!(direct.stdout.ends_with("400"), "{direct:?}");
    assert!(direct.stdout.contains("proxy"), "{direct:?}");
    proxy.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_body_flows_through_the_inspector() {
    let ca = TestCa::new("Test Public CA");
    let up = good_upstream(&ca).await;
    let proxy = Proxy::start(&ca, |_| {}).await;
    let file = proxy.dir.path().join("upload.bin");
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 253) as u8).collect();
    let sum: u64 = data.iter().map(|b| *b as u64).sum();
    std::fs::write(&file, &data).expect("write");
    let url = format!("https://upstream.test:{}/upload", up.addr.port());
    let body_arg = format!("@{}", file.display());
    for proto in ["--http1.1", "--http2"] {
        let out = curl(&[
            "-x",
            &proxy.proxy_url(),
            "--cacert",
            proxy.school_ca.to_str().expect("path"),
            proto,
            "--data-binary",
            &body_arg,
            &url,
        ])
        .await;
        assert_eq!(out.code, 0, "{out:?}");
        assert_eq!(out.stdout, format!("received 3000000 sum {sum}"), "{proto}");
    }
    assert!(eventually(|| get(&proxy.counts.request_bytes) == 6_000_000).await);
    proxy.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_upgrade_is_relayed() {
    let ca = TestCa::new("Test Public CA");
    let up = good_upstream(&ca).await;
    let proxy = Proxy::start(&ca, |_| {}).await;
    let mut tls = common::tls_through_proxy(&proxy, "upstream.test", up.addr.port()).await;
    tls.write_all(common::WS_UPGRADE).await.expect("write");
    let head = read_head(&mut tls).await;
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    tls.write_all(b"ping over the upgraded stream")
        .await
        .expect("write");
    let mut buf = vec![0u8; 29];
    tls.read_exact(&mut buf).await.expect("echo");
    assert_eq!(&buf, b"ping over the upgraded stream");
    proxy.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_oversized_requests_get_http_errors() {
    let ca = TestCa::new("Test Public CA");
    let proxy = Proxy::start(&ca, |c| c.limits.max_header_bytes = 8192).await;
    let mut tcp = TcpStream::connect(proxy.addr).await.expect("connect");
    tcp.write_all(b"THIS IS NOT HTTP\r\n\r\n")
        .await
        .expect("write");
    let head = read_head(&mut tcp).await;
    assert!(head.starts_with("HTTP/1.1 400"), "{head}");

    let mut tcp = TcpStream::connect(proxy.addr).await.expect("connect");
    let big = "a".repeat(20_000);
    tcp.write_all(
        format!(
            "GET http://upstream.test/ HTTP/1.1\r\nHost: upstream.test\r\nX-Big: {big}\r\n\r\n"
        )
        .as_bytes(),
    )
    .await
    .expect("write");
    let head = read_head(&mut tcp).await;
    assert!(head.starts_with("HTTP/1.1 431"), "{head}");

    // One bad connection never affects another.
    let up = Upstream::plain().await;
    let out = curl(&[
        "-x",
        &proxy.proxy_url(),
        &format!("http://upstream.test:{}/hello", up.addr.port()),
    ])
    .await;
    assert_eq!(out.stdout, "hello from upstream\n", "{out:?}");
    proxy.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls12_works_on_both_sides() {
    let ca = TestCa::new("Test Public CA");
    let up = Upstream::tls(ca.server_config_tls12(&["upstream.test"], H2_H1)).await;
    let proxy = Proxy::start(&ca, |_| {}).await;
    let url = format!("https://upstream.test:{}/hello", up.addr.port());
    let out = curl(&[
        "-x",
        &proxy.proxy_url(),
        "--cacert",
        proxy.school_ca.to_str().expect("path"),
        "--tlsv1.2",
        "--tls-max",
        "1.2",
        "-v",
        &url,
    ])
    .await;
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "hello from upstream\n");
    assert!(
        out.stderr.contains("TLSv1.2"),
        "client side negotiated TLS 1.2: {}",
        out.stderr
    );
    proxy.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_tls_through_connect_is_spliced() {
    let ca = TestCa::new("Test Public CA");
    let up = Upstream::plain().await;
    let proxy = Proxy::start(&ca, |_| {}).await;
    // -p: tunnel plain HTTP through CONNECT; gatewatch sees no ClientHello and splices.
    let out = curl(&[
        "-p",
        "-x",
        &proxy.proxy_url(),
        &format!("http://upstream.test:{}/hello", up.addr.port()),
    ])
    .await;
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "hello from upstream\n");
    assert_eq!(get(&proxy.metrics.spliced_total), 1);
    assert_eq!(get(&proxy.counts.requests), 0);
    proxy.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_closed() {
    let ca = TestCa::new("Test Public CA");
    let up = Upstream::plain().await;
    let proxy = Proxy::start(&ca, |c| {
        c.limits.idle_timeout = std::time::Duration::from_secs(1)
    })
    .await;
    // A spliced tunnel that goes quiet.
    let mut tcp = TcpStream::connect(proxy.addr).await.expect("connect");
    let port = up.addr.port();
    tcp.write_all(
        format!("CONNECT upstream.test:{port} HTTP/1.1\r\nHost: upstream.test:{port}\r\n\r\n")
            .as_bytes(),
    )
    .await
    .expect("write");
    assert!(read_head(&mut tcp).await.starts_with("HTTP/1.1 200"));
    tcp.write_all(format!("GET /hello HTTP/1.1\r\nHost: upstream.test:{port}\r\n\r\n").as_bytes())
        .await
        .expect("write");
    assert!(read_head(&mut tcp).await.starts_with("HTTP/1.1 200"));
    let started = std::time::Instant::now();
    let mut rest = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        tcp.read_to_end(&mut rest),
    )
    .await;
    assert!(read.is_ok(), "connection was not closed when idle");
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
    proxy.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_wait_for_a_free_slot() {
    let ca = TestCa::new("Test Public CA");
    let up = Upstream::plain().await;
    let proxy = Proxy::start(&ca, |c| c.limits.max_connections = 2).await;
    let url = format!("http://upstream.test:{}/hello", up.addr.port());
    // Two clients hold the two slots.
    let a = TcpStream::connect(proxy.addr).await.expect("a");
    let b = TcpStream::connect(proxy.addr).await.expect("b");
    assert!(eventually(|| get(&proxy.metrics.connections_active) == 2).await);
    let waiting = {
        let proxy_url = proxy.proxy_url();
        let url = url.clone();
        tokio::spawn(async move { curl(&["-x", &proxy_url, &url]).await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(
        !waiting.is_finished(),
        "a third connection must wait while two are open"
    );
    assert_eq!(get(&proxy.metrics.connections_active), 2);
    drop(a);
    let out = waiting.await.expect("curl");
    assert_eq!(
        out.stdout, "hello from upstream\n",
        "served once a slot freed: {out:?}"
    );
    drop(b);
    proxy.stop().await;
}
