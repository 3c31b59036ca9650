//! Streaming inspection: every request URL and every request and response body flows, frame by
//! frame, through an [`Inspector`].
//!
//! # Layout
//! - [`Inspector`] / [`BodyInspector`]: the interface the detection engine implements.
//! - [`body::InspectedBody`]: wraps a body, hands each data frame to a per-body inspection task
//!   over a bounded queue, and never buffers the body whole. A slow inspector can hold the
//!   relay back for at most [`crate::config::InspectConfig::max_stall`] per body; after that the
//!   rest of that body is relayed uninspected and the overrun is counted.
//! - [`counting::CountingInspector`]: counts what flows; used until the detection engine plugs in
//!   and by tests to prove the data flows.

pub mod body;
pub mod counting;

use std::net::SocketAddr;

pub use body::InspectedBody;
pub use counting::CountingInspector;

/// Which way a body travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From the client to the upstream (what the user sent).
    Request,
    /// From the upstream to the client (what the user was shown).
    Response,
}

/// What an inspector learns about a request before its body.
#[derive(Debug, Clone)]
pub struct RequestMeta {
    /// The connection this request arrived on.
    pub conn_id: u64,
    /// The client's address.
    pub client: SocketAddr,
    /// The request method.
    pub method: http::Method,
    /// The full request URL (`https://host/path?query`).
    pub url: String,
    /// The host the request is for.
    pub host: String,
    /// The request's `Content-Type`, if any.
    pub content_type: Option<String>,
    /// The request's `Content-Encoding`, if any.
    pub content_encoding: Option<String>,
    /// Who was behind the client address when the connection was accepted (device, user), if
    /// the identity sources knew.
    pub device: Option<std::sync::Arc<crate::identity::Attribution>>,
}

/// What an inspector learns about a response before its body.
#[derive(Debug, Clone)]
pub struct ResponseMeta {
    /// The status code.
    pub status: u16,
    /// The response's `Content-Type`, if any.
    pub content_type: Option<String>,
    /// The response's `Content-Encoding`, if any.
    pub content_encoding: Option<String>,
}

/// How a body stream ended, as seen by the inspector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyEnd {
    /// The body reached its end (false when the connection broke off).
    pub complete: bool,
    /// Inspection stopped early because the inspector fell behind; the rest was relayed
    /// uninspected.
    pub overrun: bool,
}

/// The detection engine's entry point. Implementations must be cheap to call and must not
/// block: CPU work only, no I/O, no sleeping.
pub trait Inspector: Send + Sync + 'static {
    /// Called once per request with its URL, before any body. Returns the inspector for the
    /// request body, or `None` to let the body pass uninspected.
    fn request(&self, req: &RequestMeta) -> Option<Box<dyn BodyInspector>>;

    /// Called once per response, before its body. Returns the inspector for the response body,
    /// or `None` to let it pass uninspected.
    fn response(&self, req: &RequestMeta, resp: &ResponseMeta) -> Option<Box<dyn BodyInspector>>;

    /// Called when a request was upgraded (a WebSocket): inspectors for the bytes the client
    /// sends and the bytes it receives, fed inline as the relay copies them. `None` relays the
    /// stream uninspected.
    fn upgraded(
        &self,
        _req: &RequestMeta,
    ) -> Option<(Box<dyn BodyInspector>, Box<dyn BodyInspector>)> {
        None
    }
}

/// Per-body inspection state, fed the body's data frames in order.
pub trait BodyInspector: Send + 'static {
    /// One data frame, in order. Frames arrive as the relay sees them: a phrase may be split
    /// across two calls.
    fn data(&mut self, chunk: &[u8]);

    /// The body ended (or inspection stopped); no more data follows.
    fn finish(self: Box<Self>, end: BodyEnd);
}
