//! ISC dhcpd lease log: fed in two chunks split at a fuzzer-chosen point, events derived.
#![no_main]
use gatewatch::identity::DhcpdParser;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&split, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let at = usize::from(split) * text.len() / 256;
    let at = (0..=at)
        .rev()
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(0);
    let mut p = DhcpdParser::new();
    let mut leases = p.feed(&text[..at]);
    leases.extend(p.feed(&text[at..]));
    for l in &leases {
        let _ = l.to_event();
    }
    let _ = p.take_report().to_string();
});
