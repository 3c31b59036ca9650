//! Ethernet MAC addresses in every spelling DHCP servers and RADIUS clients use.
//!
//! Parsing mirrors FreeRADIUS `policy.d/canonicalization`: six groups of two hex digits, each
//! optionally followed by one non-hex separator character, case-insensitive, so
//! `AA-BB-CC-DD-EE-FF`, `aa:bb:cc:dd:ee:ff`, `aabbccddeeff` and Cisco `000c.29c3.a03a` all parse.
//! [`MacAddr::parse_station_id`] also accepts the RFC 3580 `:SSID` suffix (one non-hex
//! character, then at least one character) and returns it separately. The canonical form, used
//! for display and serde, is lowercase with colons: `aa:bb:cc:dd:ee:ff`.

use std::fmt;
use std::str::FromStr;

/// A 48-bit Ethernet (EUI-48) address.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MacAddr(pub [u8; 6]);

/// A string that is not a MAC address in any accepted spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MacParseError {
    /// Fewer than six hex pairs, a bad separator or a stray character.
    #[error(
        "not a MAC address: expected six pairs of hex digits such as aa:bb:cc:dd:ee:ff, \
         AA-BB-CC-DD-EE-FF, aabbccddeeff or aabb.ccdd.eeff"
    )]
    Malformed,
    /// A valid address followed by something other than a separator and a suffix.
    #[error("unexpected text after the MAC address; only a `:SSID`-style suffix is allowed")]
    TrailingText,
}

impl MacAddr {
    /// Parses a MAC address with nothing after it (surrounding whitespace is ignored).
    pub fn parse(s: &str) -> Result<Self, MacParseError> {
        match Self::parse_station_id(s)? {
            (mac, None) => Ok(mac),
            (_, Some(_)) => Err(MacParseError::TrailingText),
        }
    }

    /// Parses a RADIUS `Calling-Station-Id`/`Called-Station-Id`: a MAC address optionally
    /// followed by one non-hex separator and a suffix (the SSID), which is returned as is.
    pub fn parse_station_id(s: &str) -> Result<(Self, Option<&str>), MacParseError> {
        let s = s.trim();
        let bytes = s.as_bytes();
        let mut out = [0u8; 6];
        let mut i = 0;
        for (n, slot) in out.iter_mut().enumerate() {
            let hi = bytes.get(i).and_then(|b| hex_value(*b));
            let lo = bytes.get(i + 1).and_then(|b| hex_value(*b));
            let (Some(hi), Some(lo)) = (hi, lo) else {
                return Err(MacParseError::Malformed);
            };
            *slot = hi << 4 | lo;
            i += 2;
            // One optional separator between groups: any character that is not a hex digit.
            if n < 5 {
                if let Some(c) = s[i..].chars().next() {
                    if !c.is_ascii_hexdigit() {
                        i += c.len_utf8();
                    }
                }
            }
        }
        let rest = &s[i..];
        let mut chars = rest.chars();
        match chars.next() {
            None => Ok((MacAddr(out), None)),
            Some(c) if !c.is_ascii_hexdigit() && !chars.as_str().is_empty() => {
                Ok((MacAddr(out), Some(chars.as_str())))
            }
            Some(_) => Err(MacParseError::TrailingText),
        }
    }

    /// The six octets.
    pub fn octets(&self) -> [u8; 6] {
        self.0
    }

    /// True for locally administered addresses (bit 1 of the first octet), which is what
    /// phones and laptops use for per-network randomised ("private") MACs: such an address
    /// identifies a device on this network but not across networks, and may change.
    pub fn is_locally_administered(&self) -> bool {
        self.0[0] & 0x02 != 0
    }

    /// True for group (multicast/broadcast) addresses, which never belong to one device.
    pub fn is_multicast(&self) -> bool {
        self.0[0] & 0x01 != 0
    }
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

impl FromStr for MacAddr {
    type Err = MacParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

impl fmt::Debug for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MacAddr({self})")
    }
}

impl From<[u8; 6]> for MacAddr {
    fn from(octets: [u8; 6]) -> Self {
        MacAddr(octets)
    }
}

impl serde::Serialize for MacAddr {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for MacAddr {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        MacAddr::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: MacAddr = MacAddr([0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]);

    #[test]
    fn every_spelling_parses_to_the_same_address() {
        for s in [
            "AA-BB-CC-DD-EE-FF",
            "aa:bb:cc:dd:ee:ff",
            "aabbccddeeff",
            "AABBCCDDEEFF",
            "aabb.ccdd.eeff",
            "aa bb cc dd ee ff",
            "  aa:bb:cc:dd:ee:ff\n",
            "Aa-bB:cc.dD_eE ff",
        ] {
            assert_eq!(MacAddr::parse(s), Ok(M), "{s:?}");
        }
        let cisco = MacAddr::parse("000c.29c3.a03a").unwrap();
        assert_eq!(cisco.to_string(), "00:0c:29:c3:a0:3a");
    }

    #[test]
    fn ssid_suffix_is_returned_separately() {
        let (mac, ssid) = MacAddr::parse_station_id("AA-BB-CC-DD-EE-FF:SchoolWiFi").unwrap();
        assert_eq!(mac, M);
        assert_eq!(ssid, Some("SchoolWiFi"));
        let (_, ssid) = MacAddr::parse_station_id("aabbccddeeff:Staff Wi-Fi: 2.4").unwrap();
        assert_eq!(ssid, Some("Staff Wi-Fi: 2.4"));
        let (_, ssid) = MacAddr::parse_station_id("aa:bb:cc:dd:ee:ff").unwrap();
        assert_eq!(ssid, None);
        // A suffix is not a plain MAC.
        assert_eq!(
            MacAddr::parse("AA-BB-CC-DD-EE-FF:SchoolWiFi"),
            Err(MacParseError::TrailingText)
        );
    }

    #[test]
    fn malformed_spellings_are_rejected() {
        for s in [
            "",
            "aa:bb:cc:dd:ee",
            "aa:bb:cc:dd:ee:f",
            "aa::bb:cc:dd:ee:ff",
            "gg:bb:cc:dd:ee:ff",
            "a:bb:cc:dd:ee:ff",
            "10.20.0.57",
            "é",
        ] {
            assert_eq!(MacAddr::parse(s), Err(MacParseError::Malformed), "{s:?}");
        }
        // A seventh hex digit, or a separator with nothing after it, is not a suffix.
        for s in [
            "aabbccddeeff1",
            "aa:bb:cc:dd:ee:ff:",
            "aa:bb:cc:dd:ee:ff:00",
        ] {
            assert_eq!(
                MacAddr::parse_station_id(s).map(|(_, x)| x.is_some()),
                if s.ends_with(":00") {
                    Ok(true)
                } else {
                    Err(MacParseError::TrailingText)
                },
                "{s:?}"
            );
        }
    }

    #[test]
    fn multibyte_separators_and_suffixes_do_not_panic() {
        assert_eq!(MacAddr::parse("aa→bb→cc→dd→ee→ff"), Ok(M));
        let (_, ssid) = MacAddr::parse_station_id("aabbccddeeff→Zoë's").unwrap();
        assert_eq!(ssid, Some("Zoë's"));
        assert!(MacAddr::parse_station_id("aabbccddeeffé").is_err());
    }

    #[test]
    fn locally_administered_and_multicast_bits() {
        assert!(MacAddr::parse("3a:9f:01:c2:77:10")
            .unwrap()
            .is_locally_administered());
        assert!(MacAddr::parse("02:0c:29:c3:a0:ff")
            .unwrap()
            .is_locally_administered());
        assert!(!MacAddr::parse("00:16:3e:5a:01:0a")
            .unwrap()
            .is_locally_administered());
        assert!(MacAddr::parse("01:00:5e:00:00:01").unwrap().is_multicast());
        assert!(!M.is_multicast());
        assert!(M.is_locally_administered());
    }

    #[test]
    fn serde_uses_the_canonical_string() {
        let json = serde_json::to_string(&M).unwrap();
        assert_eq!(json, "\"aa:bb:cc:dd:ee:ff\"");
        let back: MacAddr = serde_json::from_str("\"AA-BB-CC-DD-EE-FF\"").unwrap();
        assert_eq!(back, M);
        assert!(serde_json::from_str::<MacAddr>("\"nope\"").is_err());
    }
}
