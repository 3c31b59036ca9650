//! [`InspectedBody`]: a body wrapper that hands every data frame to an inspector as it passes.
//!
//! Frames go to a per-body inspection task over a bounded queue ([`InspectConfig::queue_frames`]
//! frames), so memory per stream is bounded and the body is never buffered whole. When the
//! queue is full the relay waits for the inspector, but for at most
//! [`InspectConfig::max_stall`] in total per body; after that the rest of the body is relayed
//! uninspected and the overrun is counted and reported to the inspector.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::sync::mpsc;
use tokio::time::{Instant, Sleep};
use tokio_util::sync::PollSender;

use super::{BodyEnd, BodyInspector};
use crate::config::InspectConfig;
use crate::metrics::Metrics;

const COMPLETE: u8 = 1;
const OVERRUN: u8 = 2;

/// The largest piece of a frame that occupies one queue slot. Frames can be hundreds of KiB
/// (HTTP/1.1 reads), so they are handed over in zero-copy slices of at most this size: the
/// queue then holds at most `queue_frames` x 64 KiB per body.
pub const MAX_PIECE: usize = 64 * 1024;

pin_project_lite::pin_project! {
    /// A body whose data frames are inspected as they are relayed.
    pub struct InspectedBody<B> {
        #[pin]
        inner: B,
        tap: Option<Tap>,
        // A frame read from `inner` that waits for room in the inspection queue.
        held: Option<Frame<Bytes>>,
        // How much of the held frame's data is already queued.
        queued: usize,
    }
}

/// The sending side of one body's inspection queue.
struct Tap {
    tx: PollSender<Bytes>,
    state: Arc<AtomicU8>,
    budget: Duration,
    stalled: Duration,
    waiting_since: Option<Instant>,
    timer: Option<Pin<Box<Sleep>>>,
    metrics: Arc<Metrics>,
}

enum Push {
    Sent,
    GaveUp,
}

impl Tap {
    fn poll_push(&mut self, cx: &mut Context<'_>, data: &Bytes) -> Poll<Push> {
        match self.tx.poll_reserve(cx) {
            Poll::Ready(Ok(())) => {
                if let Some(since) = self.waiting_since.take() {
                    self.stalled += since.elapsed();
                    self.timer = None;
                }
                Metrics::add(&self.metrics.inspected_bytes, data.len() as u64);
                match self.tx.send_item(data.clone()) {
                    Ok(()) => Poll::Ready(Push::Sent),
                    Err(_) => Poll::Ready(Push::GaveUp),
                }
            }
            // The inspection task is gone (it panicked or chose to stop): relay on.
            Poll::Ready(Err(_)) => Poll::Ready(Push::GaveUp),
            Poll::Pending => {
                let now = Instant::now();
                let since = *self.waiting_since.get_or_insert(now);
                let remaining = self.budget.saturating_sub(self.stalled + (now - since));
                if remaining.is_zero() {
                    return Poll::Ready(self.overrun());
                }
                let timer = self
                    .timer
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(remaining)));
                match timer.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(self.overrun()),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn overrun(&mut self) -> Push {
        self.state.fetch_or(OVERRUN, Ordering::Relaxed);
        Metrics::inc(&self.metrics.inspection_overruns);
        Push::GaveUp
    }

    fn complete(self) {
        self.state.fetch_or(COMPLETE, Ordering::Relaxed);
    }
}

impl<B: Body> InspectedBody<B> {
    /// Wraps `inner`. With `Some(inspector)`, spawns the body's inspection task (needs a tokio
    /// runtime); with `None` the body passes through untouched. An empty body (a GET, say) is
    /// finished at once, without a task.
    pub fn new(
        inner: B,
        inspector: Option<Box<dyn BodyInspector>>,
        cfg: &InspectConfig,
        metrics: &Arc<Metrics>,
    ) -> Self {
        let Some(mut inspector) = inspector else {
            return Self::passthrough(inner);
        };
        if inner.is_end_stream() {
            inspector.finish(BodyEnd {
                complete: true,
                overrun: false,
            });
            return Self::passthrough(inner);
        }
        Metrics::inc(&metrics.inspected_streams);
        let (tx, mut rx) = mpsc::channel::<Bytes>(cfg.queue_frames.max(1));
        let state = Arc::new(AtomicU8::new(0));
        let task_state = state.clone();
        tokio::spawn(async move {
            while let Some(chunk) = rx.recv().await {
                inspector.data(&chunk);
            }
            let s = task_state.load(Ordering::Relaxed);
            inspector.finish(BodyEnd {
                complete: s & COMPLETE != 0,
                overrun: s & OVERRUN != 0,
            });
        });
        Self::with_queue(inner, tx, state, cfg.max_stall, metrics.clone())
    }
}

impl<B> InspectedBody<B> {
    /// Wraps `inner` without inspection.
    pub fn passthrough(inner: B) -> Self {
        InspectedBody {
            inner,
            tap: None,
            held: None,
            queued: 0,
        }
    }

    fn with_queue(
        inner: B,
        tx: mpsc::Sender<Bytes>,
        state: Arc<AtomicU8>,
        budget: Duration,
        metrics: Arc<Metrics>,
    ) -> Self {
        InspectedBody {
            inner,
            tap: Some(Tap {
                tx: PollSender::new(tx),
                state,
                budget,
                stalled: Duration::ZERO,
                waiting_since: None,
                timer: None,
                metrics,
            }),
            held: None,
            queued: 0,
        }
    }
}

impl<B> Body for InspectedBody<B>
where
    B: Body<Data = Bytes>,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let mut this = self.project();
        loop {
            if let Some(frame) = this.held.as_ref() {
                if let Some(data) = frame.data_ref() {
                    while *this.queued < data.len() {
                        let Some(tap) = this.tap.as_mut() else { break };
                        let end = (*this.queued + MAX_PIECE).min(data.len());
                        let piece = data.slice(*this.queued..end);
                        match ready!(tap.poll_push(cx, &piece)) {
                            Push::Sent => *this.queued = end,
                            Push::GaveUp => *this.tap = None,
                        }
                    }
                }
                *this.queued = 0;
                return Poll::Ready(this.held.take().map(Ok));
            }
            match ready!(this.inner.as_mut().poll_frame(cx)) {
                Some(Ok(frame)) => {
                    let inspect =
                        this.tap.is_some() && frame.data_ref().is_some_and(|data| !data.is_empty());
                    if inspect {
                        *this.held = Some(frame);
                        continue;
                    }
                    return Poll::Ready(Some(Ok(frame)));
                }
                None => {
                    if let Some(tap) = this.tap.take() {
                        tap.complete();
                    }
                    return Poll::Ready(None);
                }
                Some(Err(err)) => {
                    *this.tap = None;
                    return Poll::Ready(Some(Err(err)));
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.held.is_none() && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inspect::CountingInspector;
    use crate::inspect::{Inspector, RequestMeta};
    use http_body_util::{BodyExt, StreamBody};
    use std::convert::Infallible;

    fn frames(n: usize, size: usize) -> Vec<Result<Frame<Bytes>, Infallible>> {
        (0..n)
            .map(|i| Ok(Frame::data(Bytes::from(vec![i as u8; size]))))
            .collect()
    }

    fn meta() -> RequestMeta {
        RequestMeta {
            conn_id: 1,
            client: "127.0.0.1:1".parse().expect("literal"),
            method: http::Method::POST,
            url: "https://example.test/".into(),
            host: "example.test".into(),
            content_type: None,
            content_encoding: None,
            device: None,
        }
    }

    #[tokio::test]
    async fn every_frame_reaches_the_inspector_and_the_client() {
        let counting = CountingInspector::new();
        let metrics = Arc::new(Metrics::default());
        let cfg = InspectConfig {
            queue_frames: 2,
            max_stall: Duration::from_secs(5),
        };
        let inner = StreamBody::new(futures_stream(frames(100, 1000)));
        let body = InspectedBody::new(inner, counting.request(&meta()), &cfg, &metrics);
        let collected = body.collect().await.expect("infallible").to_bytes();
        assert_eq!(collected.len(), 100_000);
        // The inspection task finishes shortly after the body ends.
        let counts = counting.counts();
        for _ in 0..100 {
            if Counts::get(&counts.completed) == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(Counts::get(&counts.request_bytes), 100_000);
        assert_eq!(Counts::get(&counts.frames), 100);
        assert_eq!(Counts::get(&counts.completed), 1);
        assert_eq!(Counts::get(&counts.overruns), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_stuck_inspector_stalls_the_relay_at_most_the_budget() {
        let metrics = Arc::new(Metrics::default());
        // A queue of one frame that nobody reads: the inspector is stuck.
        let (tx, _rx) = mpsc::channel::<Bytes>(1);
        let state = Arc::new(AtomicU8::new(0));
        let inner = StreamBody::new(futures_stream(frames(10, 10)));
        let budget = Duration::from_millis(500);
        let body = InspectedBody::with_queue(inner, tx, state.clone(), budget, metrics.clone());
        let start = Instant::now();
        let collected = body.collect().await.expect("infallible").to_bytes();
        let waited = start.elapsed();
        assert_eq!(collected.len(), 100, "every frame is relayed");
        assert!(waited >= budget, "waited {waited:?}");
        assert!(waited < budget * 2, "waited {waited:?}");
        assert_eq!(state.load(Ordering::Relaxed) & OVERRUN, OVERRUN);
        assert_eq!(metrics.inspection_overruns.load(Ordering::Relaxed), 1);
    }

    #[tokio::test]
    async fn large_frames_are_queued_in_bounded_pieces() {
        let counting = CountingInspector::new();
        let metrics = Arc::new(Metrics::default());
        let cfg = InspectConfig {
            queue_frames: 2,
            max_stall: Duration::from_secs(5),
        };
        // One 1 MiB frame: 16 pieces of 64 KiB, through a queue of 2.
        let inner = StreamBody::new(futures_stream(frames(1, 1024 * 1024)));
        let body = InspectedBody::new(inner, counting.request(&meta()), &cfg, &metrics);
        let collected = body.collect().await.expect("infallible").to_bytes();
        assert_eq!(collected.len(), 1024 * 1024, "the frame is relayed whole");
        let counts = counting.counts();
        for _ in 0..100 {
            if Counts::get(&counts.completed) == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(Counts::get(&counts.frames), 16);
        assert_eq!(Counts::get(&counts.request_bytes), 1024 * 1024);
    }

    #[tokio::test]
    async fn an_empty_body_is_finished_at_once_without_a_task() {
        let counting = CountingInspector::new();
        let metrics = Arc::new(Metrics::default());
        let cfg = InspectConfig {
            queue_frames: 1,
            max_stall: Duration::from_secs(1),
        };
        let empty = http_body_util::Empty::<Bytes>::new();
        let body = InspectedBody::new(empty, counting.request(&meta()), &cfg, &metrics);
        // Finished synchronously, before the body is even polled.
        assert_eq!(Counts::get(&counting.counts().completed), 1);
        assert_eq!(metrics.inspected_streams.load(Ordering::Relaxed), 0);
        assert!(body.collect().await.expect("empty").to_bytes().is_empty());
    }

    #[tokio::test]
    async fn passthrough_and_trailers_are_untouched() {
        let mut items = frames(3, 5);
        let mut trailers = http::HeaderMap::new();
        trailers.insert("x-check", http::HeaderValue::from_static("1"));
        items.push(Ok(Frame::trailers(trailers)));
        let counting = CountingInspector::new();
        let metrics = Arc::new(Metrics::default());
        let cfg = InspectConfig {
            queue_frames: 4,
            max_stall: Duration::from_secs(1),
        };
        let body = InspectedBody::new(
            StreamBody::new(futures_stream(items)),
            counting.request(&meta()),
            &cfg,
            &metrics,
        );
        let collected = body.collect().await.expect("infallible");
        assert_eq!(
            collected.trailers().and_then(|t| t.get("x-check")),
            Some(&http::HeaderValue::from_static("1"))
        );
        assert_eq!(collected.to_bytes().len(), 15);
    }

    use crate::inspect::counting::Counts;

    /// A minimal `Stream` over a vector.
    fn futures_stream<T: Send + 'static>(
        items: Vec<T>,
    ) -> impl futures_core::Stream<Item = T> + Send + Unpin {
        struct Iter<T>(std::vec::IntoIter<T>);
        impl<T> Unpin for Iter<T> {}
        impl<T> futures_core::Stream for Iter<T> {
            type Item = T;
            fn poll_next(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<T>> {
                Poll::Ready(self.0.next())
            }
        }
        Iter(items.into_iter())
    }
}
