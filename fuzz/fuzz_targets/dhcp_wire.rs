//! Sniffed frames: Ethernet/IPv4/UDP decoding, then DHCP parsing and request/ACK pairing.
//! The input is tried both as a whole frame and as a bare UDP payload.
#![no_main]
use gatewatch::identity::sniff::dhcp_payload;
use gatewatch::identity::{dhcp_wire, DhcpTracker};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut tracker = DhcpTracker::new();
    for payload in [dhcp_payload(data), Some(data)].into_iter().flatten() {
        if let Ok(msg) = dhcp_wire::parse(payload) {
            let _ = msg.mac();
            let _ = tracker.observe(&msg, 1_800_000_000);
            let _ = tracker.observe(&msg, i64::MAX);
        }
    }
});
