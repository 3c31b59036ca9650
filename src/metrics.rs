//! Process-wide counters, rendered in the Prometheus text format.
//!
//! Counters are plain relaxed atomics: cheap on the data path, read rarely.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

macro_rules! counters {
    ($( $(#[$doc:meta])* $name:ident ),* $(,)?) => {
        /// Process-wide counters.
        #[derive(Debug, Default)]
        pub struct Metrics {
            $( $(#[$doc])* pub $name: AtomicU64, )*
        }

        impl Metrics {
            /// Every counter as `(name, value)`, in declaration order.
            pub fn snapshot(&self) -> Vec<(&'static str, u64)> {
                vec![ $( (stringify!($name), self.$name.load(Ordering::Relaxed)), )* ]
            }
        }
    };
}

counters! {
    /// Client connections accepted.
    connections_total,
    /// Client connections currently open.
    connections_active,
    /// Client connections refused (client outside the allowed subnets, or limit reached).
    connections_refused,
    /// Connections whose TLS was intercepted.
    intercepted_total,
    /// Connections spliced without decryption.
    spliced_total,
    /// Requests refused (destination not allowed, bad request).
    requests_refused,
    /// HTTP requests forwarded upstream.
    requests_total,
    /// Client TLS handshakes completed with a school-CA certificate.
    client_handshakes_ok,
    /// Client TLS handshakes that failed (including clients rejecting our certificate).
    client_handshakes_failed,
    /// Upstream TLS handshakes completed.
    upstream_handshakes_ok,
    /// Upstream connections or handshakes that failed.
    upstream_failures,
    /// Upstreams whose certificate was invalid (expired, wrong name, unknown issuer).
    upstream_cert_invalid,
    /// Hosts added to the automatic bypass list.
    auto_bypassed_hosts,
    /// Bytes relayed from clients to upstreams.
    bytes_client_to_upstream,
    /// Bytes relayed from upstreams to clients.
    bytes_upstream_to_client,
    /// Body streams handed to the inspector.
    inspected_streams,
    /// Body bytes handed to the inspector.
    inspected_bytes,
    /// Body streams whose inspection stopped early because the inspector fell behind.
    inspection_overruns,
    /// Leaf certificates minted.
    certificates_minted,
}

impl Metrics {
    /// Adds `n` to a counter.
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Increments a counter.
    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Decrements a gauge such as `connections_active`.
    pub fn dec(counter: &AtomicU64) {
        counter.fetch_sub(1, Ordering::Relaxed);
    }

    /// The counters in the Prometheus text exposition format.
    pub fn render_prometheus(&self) -> String {
        let mut out = String::new();
        for (name, value) in self.snapshot() {
            let kind = if name.ends_with("_active") {
                "gauge"
            } else {
                "counter"
            };
            let _ = writeln!(out, "# TYPE gatewatch_{name} {kind}");
            let _ = writeln!(out, "gatewatch_{name} {value}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_counter() {
        let m = Metrics::default();
        Metrics::add(&m.bytes_client_to_upstream, 42);
        Metrics::inc(&m.connections_active);
        let text = m.render_prometheus();
        assert!(text.contains("gatewatch_bytes_client_to_upstream 42\n"));
        assert!(text.contains("# TYPE gatewatch_connections_active gauge\n"));
        assert_eq!(text.lines().count(), m.snapshot().len() * 2);
    }
}
