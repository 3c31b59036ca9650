//! Proxy errors, each saying which side failed: the client, the upstream, or gatewatch itself.
//! The side decides the status code and the log level.

use std::io;

use http::StatusCode;

/// Which side of the relay failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The client sent something we cannot serve, or went away.
    Client,
    /// The upstream could not be reached or misbehaved.
    Upstream,
    /// gatewatch itself (a bug or a local resource problem).
    Us,
}

/// An error while proxying one connection or request.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// The request cannot be proxied as sent (bad target, missing Host, ...).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The destination is not allowed (the gateway itself, a private address, an admin port).
    #[error("destination refused: {0}")]
    Refused(String),
    /// The upstream name did not resolve.
    #[error("cannot resolve {host}: {reason}")]
    Resolve {
        /// The host name.
        host: String,
        /// Why.
        reason: String,
    },
    /// The upstream could not be reached in time or refused the connection.
    #[error("cannot connect to {target}: {source}")]
    Connect {
        /// `host:port` or address.
        target: String,
        /// The I/O error.
        source: io::Error,
    },
    /// The upstream's TLS handshake failed for a reason other than its certificate.
    #[error("TLS handshake with {target} failed: {source}")]
    UpstreamTls {
        /// `host:port` or address.
        target: String,
        /// The error.
        source: io::Error,
    },
    /// The upstream failed while exchanging HTTP.
    #[error("upstream HTTP error: {0}")]
    UpstreamHttp(#[from] hyper::Error),
    /// Something on our side failed.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ProxyError {
    /// Which side failed.
    pub fn side(&self) -> Side {
        match self {
            ProxyError::BadRequest(_) | ProxyError::Refused(_) => Side::Client,
            ProxyError::Resolve { .. }
            | ProxyError::Connect { .. }
            | ProxyError::UpstreamTls { .. }
            | ProxyError::UpstreamHttp(_) => Side::Upstream,
            ProxyError::Internal(_) => Side::Us,
        }
    }

    /// The status code a client gets for this error.
    pub fn status(&self) -> StatusCode {
        match self {
            ProxyError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ProxyError::Refused(_) => StatusCode::FORBIDDEN,
            ProxyError::Connect { source, .. } if source.kind() == io::ErrorKind::TimedOut => {
                StatusCode::GATEWAY_TIMEOUT
            }
            ProxyError::Resolve { .. }
            | ProxyError::Connect { .. }
            | ProxyError::UpstreamTls { .. }
            | ProxyError::UpstreamHttp(_) => StatusCode::BAD_GATEWAY,
            ProxyError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}
