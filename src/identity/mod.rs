//! Identity: which device and which user stood behind an address at a given time.
//!
//! Schools' gateways already know this: their DHCP server binds addresses to devices and their
//! Wi-Fi's RADIUS accounting says who signed in on which device. This module reads those
//! sources, turns them into one event model, and keeps a time-indexed history so
//! "who was 10.20.3.41 at 10:42:17?" has the right answer even after the address moved on.
//!
//! The parsers and the index are pure and synchronous: bytes or text in, events out. Around
//! them: file followers and the DHCP sniffer on dedicated threads, the RADIUS listener as an
//! async task, and the shared [`IdentityService`] the proxy asks at accept time.
//!
//! # Layout
//! - [`mac`]: [`MacAddr`], parsing every spelling (FreeRADIUS canonicalisation rules).
//! - [`event`]: the event model, [`LeaseEvent`] (DHCP) and [`AccountingEvent`] (RADIUS), with
//!   times as Unix seconds.
//! - [`report`]: [`ParseReport`]; every parser skips and counts bad records, never fails whole.
//! - DHCP sources: [`dnsmasq`] (whole-file snapshots and diffs), [`dhcpd`] (ISC lease log,
//!   incremental), [`kea`] (Kea memfile CSV, incremental), [`dhcp_wire`] (DHCP packets) and
//!   [`dhcp_tracker`] (pairs requests with ACKs into lease events).
//! - RADIUS sources: [`radius_detail`] (FreeRADIUS detail files, incremental) and
//!   [`radius_packet`] (RFC 2866 Accounting-Request parsing, authenticator check, response).
//! - The index: [`ip_history`] (IP -> device intervals), [`sessions`] (device -> user
//!   sessions) and [`attribution`], which joins them for [`AttributionIndex::lookup`];
//!   [`devices`] lists the addresses in use now.
//! - Running it: [`config`] (the `[identity]` section), [`follow`] (lease and detail files
//!   followed as they change), [`sniff`] (passive DHCP), [`radius_listener`] (UDP 1813) with
//!   [`radius_hmac`] (Message-Authenticator), [`service`] (the shared index, dedup and
//!   retention), [`store`] (the event log), [`pseudonym`] (keyed-hash user IDs) and
//!   [`runtime`] (starts all of it from the settings).
//!
//! Personal data: MACs, host names and user names identify children. Logs carry only counts,
//! line numbers, field names, paths and errors, and parse reports the same.

pub mod attribution;
pub mod config;
pub mod devices;
pub mod dhcp_tracker;
pub mod dhcp_wire;
pub mod dhcpd;
pub mod dnsmasq;
pub mod event;
pub mod follow;
pub mod ip_history;
pub mod kea;
pub mod mac;
pub mod pseudonym;
pub mod radius_detail;
pub mod radius_hmac;
pub mod radius_listener;
pub mod radius_packet;
pub mod report;
pub mod runtime;
pub mod service;
pub mod sessions;
pub mod sniff;
pub mod store;
mod text;

pub use attribution::{Attribution, AttributionIndex, Confidence, Conflict, IndexStats};
pub use config::{IdentityConfig, IdentityConfigError, IdentitySettings, RadiusClient};
pub use devices::Device;
pub use dhcp_tracker::DhcpTracker;
pub use dhcp_wire::{DhcpMessage, DhcpWireError, MessageType};
pub use dhcpd::{DhcpdLease, DhcpdParser};
pub use dnsmasq::DnsmasqLease;
pub use event::{
    AccountingEvent, AcctStatus, IdentityEvent, LeaseEnd, LeaseEvent, LeaseKind, Source, SourceSet,
    UnixTime,
};
pub use ip_history::Applied;
pub use kea::{KeaLease, KeaParser};
pub use mac::{MacAddr, MacParseError};
pub use radius_detail::DetailParser;
pub use radius_listener::{RadiusCounters, RadiusCounts, RadiusListener, RadiusListenerError};
pub use radius_packet::{
    build_accounting_response, verify_request_authenticator, PacketError, RadiusPacket,
};
pub use report::{ParseReport, Problem, RecordError};
pub use runtime::{start, IdentityRuntime, IdentityStartError};
pub use service::{IdentityService, ServiceOptions, ServiceStats};
pub use sniff::{SniffError, Sniffer, SnifferHandle};
pub use store::{EventStore, JsonlEventLog, StoreError};
