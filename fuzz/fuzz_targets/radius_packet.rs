//! RADIUS accounting datagrams: parse, convert, both authenticator checks, response.
#![no_main]
use gatewatch::identity::radius_hmac::check_message_authenticator;
use gatewatch::identity::{build_accounting_response, verify_request_authenticator, RadiusPacket};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = verify_request_authenticator(data, b"testing123");
    if let Ok(p) = RadiusPacket::parse(data) {
        let _ = p.to_accounting_event(1_800_000_000);
        let _ = p.attributes().count();
        let _ = check_message_authenticator(&p, b"testing123");
        let _ = build_accounting_response(&p, b"testing123");
    }
});
