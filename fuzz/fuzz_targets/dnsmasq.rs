//! dnsmasq leases snapshots: parse, diff against the previous snapshot (the first half).
#![no_main]
use gatewatch::identity::dnsmasq;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mid = text.len() / 2;
    let cut = (0..=mid)
        .rev()
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(0);
    let (old, _) = dnsmasq::parse_snapshot(&text[..cut]);
    let (new, report) = dnsmasq::parse_snapshot(&text);
    assert!(report.records as usize == new.len());
    let _ = dnsmasq::diff(&old, &new, 1_800_000_000);
    let _ = dnsmasq::diff(&new, &old, i64::MAX);
});
