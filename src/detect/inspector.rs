//! [`DetectInspector`]: the detection engine behind the proxy's [`Inspector`] hook.
//!
//! Per request: the URL's search terms and the request body (what the user typed) go through
//! one scanner; per response: the page body (what the user was shown) through another. Each
//! body is decoded ([`super::decode`]), extracted ([`super::extract`]) and scanned
//! ([`super::scanner`]) as it streams; when a body ends, its verdict goes to a
//! [`DetectionSink`] if anything was found.
//!
//! The compiled library is shared and can be swapped atomically ([`DetectInspector::reload`]):
//! bodies already being scanned finish with the library they started with.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};

use super::extract::extract_url;
use super::extract::{BodyContext, BodyExtractor, Caps, WebSocketExtractor, WsCaps};
use super::matcher::CompiledLibrary;
use super::scanner::Scanner;
use super::score::{BodyVerdict, Thresholds};
use super::{TextKind, TextSink};
use crate::inspect::{BodyEnd, BodyInspector, Inspector, RequestMeta, ResponseMeta};

/// Which way the scanned text travelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Flow {
    /// The request: its URL (search terms) and body (what the user typed).
    Request,
    /// The response body (what the user was shown).
    Response,
}

/// What one scanned request or response produced.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Detection {
    /// The connection it arrived on.
    pub conn_id: u64,
    /// The client's address.
    pub client: SocketAddr,
    /// The site.
    pub host: String,
    /// The request URL.
    pub url: String,
    /// Request or response.
    pub flow: Flow,
    /// The search engine, when the URL was a search.
    pub search_engine: Option<String>,
    /// Findings, score, severity, incident decision and page title.
    pub verdict: BodyVerdict,
    /// The device and user behind the client address, if known.
    #[serde(skip)]
    pub device: Option<Arc<crate::identity::Attribution>>,
}

/// Where detections go (the incident store, on the roadmap).
pub trait DetectionSink: Send + Sync + 'static {
    /// Records one detection. Must not block.
    fn record(&self, detection: Detection);
}

/// Logs detections: at `info` only the category, severity and whether it is an incident (no
/// content, no URL, no personal data); details at `debug`.
#[derive(Debug, Default)]
pub struct LogSink;

impl DetectionSink for LogSink {
    fn record(&self, d: Detection) {
        let top = d.verdict.findings.iter().max_by_key(|f| f.severity);
        tracing::info!(
            conn = d.conn_id,
            flow = ?d.flow,
            category = top.map(|f| f.category.id()).unwrap_or("-"),
            severity = d.verdict.severity.map(|s| s.get()).unwrap_or(0),
            findings = d.verdict.findings.len(),
            incident = d.verdict.incident,
            "detection"
        );
        tracing::debug!(url = %d.url, findings = ?d.verdict.findings, "detection details");
    }
}

/// Keeps detections in memory (tests, and the CLI).
#[derive(Debug, Default)]
pub struct MemorySink {
    detections: Mutex<Vec<Detection>>,
}

impl MemorySink {
    /// Everything recorded so far.
    pub fn detections(&self) -> Vec<Detection> {
        self.detections
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl DetectionSink for MemorySink {
    fn record(&self, detection: Detection) {
        self.detections
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(detection);
    }
}

/// The detection engine as an [`Inspector`].
pub struct DetectInspector {
    library: RwLock<Arc<CompiledLibrary>>,
    thresholds: Thresholds,
    caps: Caps,
    sink: Arc<dyn DetectionSink>,
}

impl DetectInspector {
    /// An inspector scanning with `library`, reporting to `sink`.
    pub fn new(
        library: Arc<CompiledLibrary>,
        thresholds: Thresholds,
        caps: Caps,
        sink: Arc<dyn DetectionSink>,
    ) -> Self {
        DetectInspector {
            library: RwLock::new(library),
            thresholds,
            caps,
            sink,
        }
    }

    /// Swaps in a newly compiled library; bodies already being scanned keep the old one.
    pub fn reload(&self, library: Arc<CompiledLibrary>) {
        *self.library.write().unwrap_or_else(|p| p.into_inner()) = library;
    }

    fn scanner(&self) -> Scanner {
        let lib = self
            .library
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        Scanner::new(lib, self.thresholds.clone())
    }
}

impl Inspector for DetectInspector {
    fn request(&self, req: &RequestMeta) -> Option<Box<dyn BodyInspector>> {
        let mut scanner = self.scanner();
        let engine = extract_url(&req.url, &mut scanner).map(|e| format!("{e:?}"));
        match BodyExtractor::new(BodyContext::request(req, self.caps)) {
            Some(extractor) => Some(Box::new(DetectBody {
                scanner,
                extractor,
                report: Report {
                    req: req.clone(),
                    flow: Flow::Request,
                    engine,
                    sink: self.sink.clone(),
                },
            })),
            None => {
                let verdict = scanner.finish();
                if !verdict.findings.is_empty() {
                    self.sink
                        .record(detection(req, Flow::Request, engine, verdict));
                }
                None
            }
        }
    }

    fn upgraded(
        &self,
        req: &RequestMeta,
    ) -> Option<(Box<dyn BodyInspector>, Box<dyn BodyInspector>)> {
        let side = |kind: TextKind, flow: Flow| -> Box<dyn BodyInspector> {
            Box::new(DetectWebSocket {
                extractor: WebSocketExtractor::new(kind, WsCaps::default()),
                messages: MessageScanner {
                    library: self
                        .library
                        .read()
                        .unwrap_or_else(|p| p.into_inner())
                        .clone(),
                    thresholds: self.thresholds.clone(),
                    scanner: Some(self.scanner()),
                    pending: false,
                    report: Report {
                        req: req.clone(),
                        flow,
                        engine: None,
                        sink: self.sink.clone(),
                    },
                },
            })
        };
        Some((
            side(TextKind::Typed, Flow::Request),
            side(TextKind::Page, Flow::Response),
        ))
    }

    fn response(&self, req: &RequestMeta, resp: &ResponseMeta) -> Option<Box<dyn BodyInspector>> {
        let extractor = BodyExtractor::new(BodyContext::response(resp, self.caps))?;
        Some(Box::new(DetectBody {
            scanner: self.scanner(),
            extractor,
            report: Report {
                req: req.clone(),
                flow: Flow::Response,
                engine: None,
                sink: self.sink.clone(),
            },
        }))
    }
}

fn detection(
    req: &RequestMeta,
    flow: Flow,
    search_engine: Option<String>,
    verdict: BodyVerdict,
) -> Detection {
    Detection {
        conn_id: req.conn_id,
        client: req.client,
        host: req.host.clone(),
        url: req.url.clone(),
        flow,
        search_engine,
        verdict,
        device: req.device.clone(),
    }
}

/// Where a body's verdict goes when it ends.
struct Report {
    req: RequestMeta,
    flow: Flow,
    engine: Option<String>,
    sink: Arc<dyn DetectionSink>,
}

/// One body being scanned.
struct DetectBody {
    scanner: Scanner,
    extractor: BodyExtractor,
    report: Report,
}

impl BodyInspector for DetectBody {
    fn data(&mut self, chunk: &[u8]) {
        self.extractor.feed(chunk, &mut self.scanner);
    }

    fn finish(mut self: Box<Self>, _end: BodyEnd) {
        self.extractor.finish(&mut self.scanner);
        let DetectBody {
            scanner, report, ..
        } = *self;
        let verdict = scanner.finish();
        if verdict.findings.is_empty() {
            return;
        }
        report
            .sink
            .record(detection(&report.req, report.flow, report.engine, verdict));
    }
}

/// A WebSocket direction: frames parsed into messages, each message scanned on its own so a
/// long chat reports as it goes.
struct DetectWebSocket {
    extractor: WebSocketExtractor,
    messages: MessageScanner,
}

impl BodyInspector for DetectWebSocket {
    fn data(&mut self, chunk: &[u8]) {
        self.extractor.feed(chunk, &mut self.messages);
    }

    fn finish(mut self: Box<Self>, _end: BodyEnd) {
        self.extractor.finish(&mut self.messages);
        self.messages.flush();
    }
}

/// A [`TextSink`] that scans each message separately and reports it at its boundary.
struct MessageScanner {
    library: Arc<CompiledLibrary>,
    thresholds: Thresholds,
    scanner: Option<Scanner>,
    pending: bool,
    report: Report,
}

impl MessageScanner {
    fn flush(&mut self) {
        if !self.pending {
            return;
        }
        self.pending = false;
        let next = Scanner::new(self.library.clone(), self.thresholds.clone());
        let Some(scanner) = self.scanner.replace(next) else {
            return;
        };
        let verdict = scanner.finish();
        if !verdict.findings.is_empty() {
            let r = &self.report;
            r.sink.record(detection(&r.req, r.flow, None, verdict));
        }
    }
}

impl TextSink for MessageScanner {
    fn text(&mut self, kind: TextKind, text: &str) {
        if let Some(scanner) = self.scanner.as_mut() {
            scanner.text(kind, text);
            self.pending = true;
        }
    }

    fn boundary(&mut self) {
        if let Some(scanner) = self.scanner.as_mut() {
            scanner.boundary();
        }
        self.flush();
    }

    fn title(&mut self, _title: &str) {}
}
