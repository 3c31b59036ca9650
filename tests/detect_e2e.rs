//! Detection end to end through the proxy with real curl: a search typed into a search page, a
//! form post, and a page response (plain, gzip and br) each produce the expected finding, with
//! the right direction (typed / search / page) and highlighted context.

mod common;

use std::sync::Arc;

use common::{curl, eventually, Proxy, TestCa, Upstream, Validity};
use gatewatch::detect::inspector::{DetectInspector, Detection, Flow, MemorySink};
use gatewatch::detect::matcher::CompiledLibrary;
use gatewatch::detect::TextKind;

/// The detection engine with the built-in starter library, recording into memory.
fn starter_inspector() -> (Arc<DetectInspector>, Arc<MemorySink>) {
    let library = gatewatch::detect::embedded::starter_library().expect("starter library");
    let compiled = Arc::new(CompiledLibrary::compile(&library).expect("compile"));
    let sink = Arc::new(MemorySink::default());
    let inspector = DetectInspector::new(
        compiled,
        Default::default(),
        Default::default(),
        sink.clone(),
    );
    (Arc::new(inspector), sink)
}

async fn start(ca: &TestCa) -> (Proxy, Arc<MemorySink>) {
    let (inspector, sink) = starter_inspector();
    let proxy = Proxy::start_with(ca, inspector, Default::default(), |_| {}).await;
    (proxy, sink)
}

fn suicide_findings(d: &Detection) -> Vec<&gatewatch::detect::finding::Finding> {
    d.verdict
        .findings
        .iter()
        .filter(|f| f.category.id() == "suicide")
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_form_and_pages_produce_findings() {
    let ca = TestCa::new("Test Public CA");
    let up =
        Upstream::tls(ca.server_config(&["upstream.test"], Validity::Good, &[b"h2", b"http/1.1"]))
            .await;
    let (proxy, sink) = start(&ca).await;
    let school = proxy.school_ca.to_str().expect("path").to_string();
    let base = format!("https://upstream.test:{}", up.addr.port());

    // A search typed into a (local) search page.
    let out = curl(&[
        "-x",
        &proxy.proxy_url(),
        "--cacert",
        &school,
        &format!("{base}/search?q=how+many+paracetamol+to+die"),
    ])
    .await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        eventually(|| sink
            .detections()
            .iter()
            .any(|d| d.flow == Flow::Request && d.url.contains("/search")))
        .await,
        "no search detection: {:?}",
        sink.detections()
    );
    let search = sink
        .detections()
        .into_iter()
        .find(|d| d.url.contains("/search"))
        .expect("search");
    let hits = suicide_findings(&search);
    assert!(!hits.is_empty(), "{search:?}");
    assert!(hits.iter().all(|f| f.kind == TextKind::Search));
    assert!(search.verdict.incident);
    assert!(hits.iter().any(|f| f.highlighted().contains('«')));

    // A form post: what the user typed.
    let out = curl(&[
        "-x",
        &proxy.proxy_url(),
        "--cacert",
        &school,
        "--data-urlencode",
        "message=i cant do this anymore, i want to kill myself",
        &format!("{base}/upload"),
    ])
    .await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(eventually(|| sink.detections().iter().any(|d| d.url.contains("/upload"))).await);
    let post = sink
        .detections()
        .into_iter()
        .find(|d| d.url.contains("/upload"))
        .expect("post");
    let hits = suicide_findings(&post);
    assert!(!hits.is_empty(), "{post:?}");
    assert!(hits.iter().all(|f| f.kind == TextKind::Typed));
    assert_eq!(post.verdict.severity.map(|s| s.get()), Some(5));

    // Page responses, plain and compressed: what the user was shown. Script text is not.
    for enc in ["identity", "gzip", "br"] {
        let url = format!("{base}/page?enc={enc}");
        let out = curl(&[
            "-x",
            &proxy.proxy_url(),
            "--cacert",
            &school,
            "--compressed",
            &url,
        ])
        .await;
        assert_eq!(out.code, 0, "{out:?}");
        assert!(
            out.stdout.contains("nobody would even notice"),
            "client got the page ({enc})"
        );
        assert!(
            eventually(|| sink
                .detections()
                .iter()
                .any(|d| d.url == url && d.flow == Flow::Response))
            .await,
            "no page detection for {enc}: {:?}",
            sink.detections()
        );
        let page = sink
            .detections()
            .into_iter()
            .find(|d| d.url == url && d.flow == Flow::Response)
            .expect("page");
        let hits = suicide_findings(&page);
        assert!(!hits.is_empty(), "{enc}: {page:?}");
        assert!(hits.iter().all(|f| f.kind == TextKind::Page));
        assert_eq!(page.verdict.title.as_deref(), Some("Anonymous forum"));
        assert!(
            hits.iter()
                .all(|f| f.context.contains("nobody would even notice")
                    || f.context.contains("honestly")),
            "context comes from the visible text, not the script: {hits:?}"
        );
    }
    // A harmless page produces nothing.
    let out = curl(&[
        "-x",
        &proxy.proxy_url(),
        "--cacert",
        &school,
        &format!("{base}/hello"),
    ])
    .await;
    assert_eq!(out.code, 0);
    assert!(!sink.detections().iter().any(|d| d.url.ends_with("/hello")));
    proxy.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_chat_message_produces_a_typed_finding() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let ca = TestCa::new("Test Public CA");
    let up =
        Upstream::tls(ca.server_config(&["upstream.test"], Validity::Good, &[b"http/1.1"])).await;
    let (proxy, sink) = start(&ca).await;

    let mut tls = common::tls_through_proxy(&proxy, "upstream.test", up.addr.port()).await;
    tls.write_all(common::WS_UPGRADE).await.expect("write");
    let reply = common::read_head(&mut tls).await;
    assert!(reply.starts_with("HTTP/1.1 101"), "{reply}");

    // One masked text frame, as a browser sends it.
    let message = b"honestly i want to kill myself tonight";
    let mask = [0x12u8, 0x34, 0x56, 0x78];
    let mut frame = vec![0x81, 0x80 | message.len() as u8];
    frame.extend_from_slice(&mask);
    frame.extend(message.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    tls.write_all(&frame).await.expect("frame");
    let mut echo = vec![0u8; frame.len()];
    tls.read_exact(&mut echo).await.expect("echo");
    assert!(
        eventually(|| sink
            .detections()
            .iter()
            .any(|d| d.flow == Flow::Request && d.url.ends_with("/ws")))
        .await,
        "no detection for the WebSocket message: {:?}",
        sink.detections()
    );
    let chat = sink
        .detections()
        .into_iter()
        .find(|d| d.flow == Flow::Request && d.url.ends_with("/ws"))
        .expect("chat");
    let hits = suicide_findings(&chat);
    assert!(!hits.is_empty(), "{chat:?}");
    assert!(hits.iter().all(|f| f.kind == TextKind::Typed));
    drop(tls);
    proxy.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reloaded_library_is_used_for_the_next_request() {
    let ca = TestCa::new("Test Public CA");
    let up =
        Upstream::tls(ca.server_config(&["upstream.test"], Validity::Good, &[b"http/1.1"])).await;
    let (inspector, sink) = starter_inspector();
    let proxy = Proxy::start_with(&ca, inspector.clone(), Default::default(), |_| {}).await;
    let school = proxy.school_ca.to_str().expect("path").to_string();
    let url = format!(
        "https://upstream.test:{}/search?q=meet+at+the+old+quarry+gate",
        up.addr.port()
    );

    let out = curl(&["-x", &proxy.proxy_url(), "--cacert", &school, &url]).await;
    assert_eq!(out.code, 0);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(
        sink.detections().is_empty(),
        "the starter library has no such phrase"
    );

    // A school adds a local term; the new library is swapped in without a restart.
    let file = "category = \"violence\"\n\n[[entry]]\nid = \"violence/old-quarry-gate\"\n\
                match = \"old quarry gate\"\nseverity = 4\nrationale = \"Local fight meeting point.\"\n";
    let local =
        gatewatch::library::Library::from_sources("local", "1", "test", &[("violence.toml", file)])
            .expect("library");
    inspector.reload(Arc::new(CompiledLibrary::compile(&local).expect("compile")));
    let out = curl(&["-x", &proxy.proxy_url(), "--cacert", &school, &url]).await;
    assert_eq!(out.code, 0);
    assert!(
        eventually(|| !sink.detections().is_empty()).await,
        "reloaded library not used"
    );
    let d = &sink.detections()[0];
    assert_eq!(d.verdict.findings[0].rule_id, "violence/old-quarry-gate");
    proxy.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detections_carry_the_device_attributed_at_accept_time() {
    use gatewatch::identity::{
        IdentityEvent, IdentityService, LeaseEnd, LeaseEvent, LeaseKind, MacAddr, ServiceOptions,
        Source,
    };
    let ca = TestCa::new("Test Public CA");
    let up =
        Upstream::tls(ca.server_config(&["upstream.test"], Validity::Good, &[b"http/1.1"])).await;
    let (inspector, sink) = starter_inspector();

    // The DHCP server leased the client's address (loopback here) to a known device.
    let identity = IdentityService::in_memory(ServiceOptions::default());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    let mac: MacAddr = "02:aa:bb:cc:dd:01".parse().expect("mac");
    identity
        .ingest([IdentityEvent::Lease(LeaseEvent {
            kind: LeaseKind::Bind,
            ip: "127.0.0.1".parse().expect("ip"),
            mac: Some(mac),
            hostname: Some("pupil-laptop".into()),
            client_id: None,
            start: now - 60,
            end: LeaseEnd::At(now + 3600),
            source: Source::Dnsmasq,
        })])
        .expect("ingest");

    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = common::lab_config(dir.path(), &ca);
    config.listen.explicit = vec!["127.0.0.1:0".parse().expect("addr")];
    let listeners = gatewatch::proxy::BoundListeners::bind(&config)
        .await
        .expect("bind");
    let school = config.paths.ca_dir.join("ca.pem");
    let gateway = gatewatch::proxy::Gateway::new(config, inspector, listeners)
        .expect("gateway")
        .with_identity(identity);
    let addr = gateway.explicit_addrs()[0];
    let shutdown = gatewatch::shutdown::Shutdown::new();
    let task = tokio::spawn(gateway.run(shutdown.clone()));

    let url = format!(
        "https://upstream.test:{}/search?q=how+many+paracetamol+to+die",
        up.addr.port()
    );
    let out = curl(&[
        "-x",
        &format!("http://{addr}"),
        "--cacert",
        school.to_str().expect("path"),
        &url,
    ])
    .await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(eventually(|| !sink.detections().is_empty()).await);
    let d = &sink.detections()[0];
    let device = d.device.as_ref().expect("the detection names the device");
    assert_eq!(device.mac, Some(mac));
    assert_eq!(device.hostname.as_deref(), Some("pupil-laptop"));
    shutdown.trigger();
    let _ = task.await;
}
