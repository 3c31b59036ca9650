//! Identity: which device and which user stood behind an address at a given time.
//!
//! Schools' gateways already know this: their DHCP server binds addresses to devices and their
//! Wi-Fi's RADIUS accounting says who signed in on which device. This module reads those
//! sources, turns them into one event model, and keeps a time-indexed history so
//! "who was 10.20.3.41 at 10:42:17?" has the right answer even after the address moved on.
//!
//! Everything here is pure and synchronous: bytes or text in, events out, no sockets, no files.
//! Following files, sniffing and listening plug in around it.
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
//!   sessions) and [`attribution`], which joins them for [`AttributionIndex::lookup`].
//!
//! Personal data: MACs, host names and user names identify children. Nothing in this module
//! logs, and parse reports carry only counts, line numbers and field names.

pub mod attribution;
pub mod dhcp_tracker;
pub mod dhcp_wire;
pub mod dhcpd;
pub mod dnsmasq;
pub mod event;
pub mod ip_history;
pub mod kea;
pub mod mac;
pub mod radius_detail;
pub mod radius_packet;
pub mod report;
pub mod sessions;
mod text;

pub use attribution::{Attribution, AttributionIndex, Confidence, Conflict, IndexStats};
pub use dhcp_tracker::DhcpTracker;
pub use dhcp_wire::{DhcpMessage, DhcpWireError, MessageType};
pub use dhcpd::{DhcpdLease, DhcpdParser};
pub use dnsmasq::DnsmasqLease;
pub use event::{
    AccountingEvent, AcctStatus, LeaseEnd, LeaseEvent, LeaseKind, Source, SourceSet, UnixTime,
};
pub use ip_history::Applied;
pub use kea::{KeaLease, KeaParser};
pub use mac::{MacAddr, MacParseError};
pub use radius_detail::DetailParser;
pub use radius_packet::{
    build_accounting_response, verify_request_authenticator, PacketError, RadiusPacket,
};
pub use report::{ParseReport, Problem, RecordError};
