//! Event log lines (what a restart replays): decode, and re-encode what decodes.
#![no_main]
use gatewatch::identity::IdentityEvent;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for line in data.split(|b| *b == b'\n') {
        if let Ok(ev) = serde_json::from_slice::<IdentityEvent>(line) {
            let again = serde_json::to_vec(&ev).expect("a decoded event encodes");
            let back: IdentityEvent = serde_json::from_slice(&again).expect("round trip");
            assert_eq!(back, ev);
            let _ = ev.horizon(43_200);
        }
    }
});
