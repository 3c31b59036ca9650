//! gatewatch: a network-level safeguarding monitor for school BYOD Wi-Fi.
//!
//! gatewatch runs on the school's Wi-Fi gateway as a TLS-intercepting forward proxy
//! (explicit `CONNECT` and transparent redirect). Every HTTP body streams through an
//! [`inspect::Inspector`]; hits are attributed to a device and user and recorded as incidents.
//!
//! # Layout
//! The data path reads top to bottom, one module per arrow:
//!
//! - [`config`]: the TOML configuration, parsed then validated into [`config::Config`].
//! - [`proxy`]: listeners, accept loop, classification (plain HTTP, TLS, bypass), interception,
//!   forwarding and splicing. [`proxy::decision`] is the one place that decides what happens
//!   to a connection.
//! - [`tls`]: the school CA, per-host leaf certificates and upstream trust.
//! - [`inspect`]: the streaming inspection hook every body flows through.
//! - [`detect`]: the detection engine behind that hook: decode, extract, normalise, match,
//!   score ([`detect::inspector::DetectInspector`]).
//! - [`identity`]: who was behind an address at a given time (DHCP and RADIUS).
//! - [`library`]: threat libraries (categories, severities, phrases and patterns).
//! - [`metrics`]: process-wide counters.
//! - [`shutdown`]: the one shutdown signal handed to every task.

pub mod config;
pub mod detect;
pub mod identity;
pub mod inspect;
pub mod library;
pub mod metrics;
pub mod proxy;
pub mod shutdown;
pub mod tls;
