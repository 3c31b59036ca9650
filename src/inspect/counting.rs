//! An inspector that counts what flows through it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::{BodyEnd, BodyInspector, Inspector, RequestMeta, ResponseMeta};

/// Totals seen by a [`CountingInspector`].
#[derive(Debug, Default)]
pub struct Counts {
    /// Requests whose URL was seen.
    pub requests: AtomicU64,
    /// Request bodies opened.
    pub request_bodies: AtomicU64,
    /// Response bodies opened.
    pub response_bodies: AtomicU64,
    /// Request body bytes seen.
    pub request_bytes: AtomicU64,
    /// Response body bytes seen.
    pub response_bytes: AtomicU64,
    /// Bodies that reached their end.
    pub completed: AtomicU64,
    /// Bodies whose inspection overran.
    pub overruns: AtomicU64,
    /// Data frames seen.
    pub frames: AtomicU64,
}

impl Counts {
    /// Reads a counter.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// Counts requests, bodies, frames and bytes. Proves that data flows through the hook.
#[derive(Debug, Clone, Default)]
pub struct CountingInspector {
    counts: Arc<Counts>,
}

impl CountingInspector {
    /// A new inspector with zeroed counts.
    pub fn new() -> Self {
        Self::default()
    }

    /// The shared counts.
    pub fn counts(&self) -> Arc<Counts> {
        self.counts.clone()
    }
}

impl Inspector for CountingInspector {
    fn request(&self, _req: &RequestMeta) -> Option<Box<dyn BodyInspector>> {
        self.counts.requests.fetch_add(1, Ordering::Relaxed);
        self.counts.request_bodies.fetch_add(1, Ordering::Relaxed);
        Some(Box::new(CountingBody {
            counts: self.counts.clone(),
            request: true,
        }))
    }

    fn response(&self, _req: &RequestMeta, _resp: &ResponseMeta) -> Option<Box<dyn BodyInspector>> {
        self.counts.response_bodies.fetch_add(1, Ordering::Relaxed);
        Some(Box::new(CountingBody {
            counts: self.counts.clone(),
            request: false,
        }))
    }
}

struct CountingBody {
    counts: Arc<Counts>,
    request: bool,
}

impl BodyInspector for CountingBody {
    fn data(&mut self, chunk: &[u8]) {
        let bytes = if self.request {
            &self.counts.request_bytes
        } else {
            &self.counts.response_bytes
        };
        bytes.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        self.counts.frames.fetch_add(1, Ordering::Relaxed);
    }

    fn finish(self: Box<Self>, end: BodyEnd) {
        if end.complete {
            self.counts.completed.fetch_add(1, Ordering::Relaxed);
        }
        if end.overrun {
            self.counts.overruns.fetch_add(1, Ordering::Relaxed);
        }
    }
}
