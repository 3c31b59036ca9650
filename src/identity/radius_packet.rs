//! RFC 2866 RADIUS accounting packets, for controllers that send gatewatch a copy.
//!
//! `Code(1) Identifier(1) Length(2, 20..=4096) Authenticator(16)` then attributes
//! `Type(1) Length(1, including these two bytes) Value`. Bytes after `Length` are padding and
//! ignored (RFC 2865 section 3); a packet shorter than its `Length` is dropped. The Request
//! Authenticator of an Accounting-Request is `MD5(Code|Id|Length|16 zero bytes|attributes|
//! secret)`; the Accounting-Response authenticator is `MD5(Code|Id|Length|Request
//! Authenticator|attributes|secret)`. Nothing here allocates for a bad packet or can panic.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use md5::{Digest, Md5};

use super::event::{AccountingEvent, AcctStatus, Source, UnixTime};
use super::mac::MacAddr;

/// Accounting-Request.
pub const CODE_ACCOUNTING_REQUEST: u8 = 4;
/// Accounting-Response.
pub const CODE_ACCOUNTING_RESPONSE: u8 = 5;
/// The smallest valid packet: the header alone.
pub const MIN_LENGTH: usize = 20;
/// The largest valid packet.
pub const MAX_LENGTH: usize = 4096;

const USER_NAME: u8 = 1;
const NAS_IP_ADDRESS: u8 = 4;
const FRAMED_IP_ADDRESS: u8 = 8;
const CALLED_STATION_ID: u8 = 30;
const CALLING_STATION_ID: u8 = 31;
const NAS_IDENTIFIER: u8 = 32;
const ACCT_STATUS_TYPE: u8 = 40;
const ACCT_DELAY_TIME: u8 = 41;
const ACCT_SESSION_ID: u8 = 44;
const NAS_IPV6_ADDRESS: u8 = 95;
const FRAMED_IPV6_ADDRESS: u8 = 168;

/// A datagram that is not a usable accounting packet. The listener counts these and drops
/// the datagram; none of them is the NAS's fault to be told about (RADIUS has no error reply).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PacketError {
    /// Fewer bytes than a RADIUS header.
    #[error("datagram of {0} bytes is shorter than a RADIUS header (20); dropped")]
    TooShort(usize),
    /// The Length field is outside 20..=4096 or larger than the datagram.
    #[error("RADIUS length field {declared} is invalid for a {received}-byte datagram; dropped")]
    BadLength {
        /// The Length field.
        declared: usize,
        /// Bytes received.
        received: usize,
    },
    /// An attribute's length is below 2 or runs past the end of the packet.
    #[error("malformed attribute at byte {0}; dropped")]
    BadAttribute(usize),
    /// Not an Accounting-Request (code 4).
    #[error("RADIUS code {0} is not an Accounting-Request (4); is the NAS sending authentication to the accounting port?")]
    NotAccountingRequest(u8),
    /// A required attribute is absent.
    #[error("required attribute {0} is missing; dropped")]
    Missing(&'static str),
    /// A fixed-size attribute has the wrong size.
    #[error("attribute {0} has the wrong length; dropped")]
    BadValue(&'static str),
    /// An `Acct-Status-Type` gatewatch does not use (e.g. Failed).
    #[error("Acct-Status-Type {0} is not used; acknowledged and ignored")]
    UnsupportedStatus(u32),
}

/// A structurally valid RADIUS packet borrowed from the datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RadiusPacket<'a> {
    /// Code (4 for Accounting-Request).
    pub code: u8,
    /// Identifier, echoed in the response.
    pub identifier: u8,
    /// The (Request) Authenticator.
    pub authenticator: [u8; 16],
    /// The first `Length` bytes of the datagram.
    bytes: &'a [u8],
}

impl<'a> RadiusPacket<'a> {
    /// Checks the header and walks every attribute; padding after `Length` is ignored.
    pub fn parse(datagram: &'a [u8]) -> Result<Self, PacketError> {
        let (code, identifier, declared) = match datagram {
            [code, id, hi, lo, ..] if datagram.len() >= MIN_LENGTH => {
                (*code, *id, usize::from(u16::from_be_bytes([*hi, *lo])))
            }
            _ => return Err(PacketError::TooShort(datagram.len())),
        };
        if !(MIN_LENGTH..=MAX_LENGTH).contains(&declared) || declared > datagram.len() {
            return Err(PacketError::BadLength {
                declared,
                received: datagram.len(),
            });
        }
        let bytes = &datagram[..declared];
        let mut authenticator = [0u8; 16];
        authenticator.copy_from_slice(&bytes[4..MIN_LENGTH]);
        let mut at = MIN_LENGTH;
        while at < bytes.len() {
            let len = bytes.get(at + 1).map_or(0, |l| usize::from(*l));
            if len < 2 || at + len > bytes.len() {
                return Err(PacketError::BadAttribute(at));
            }
            at += len;
        }
        Ok(RadiusPacket {
            code,
            identifier,
            authenticator,
            bytes,
        })
    }

    /// The packet as sent, without padding.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Every attribute as (type, value), in packet order.
    pub fn attributes(&self) -> Attributes<'a> {
        Attributes {
            rest: self.bytes.get(MIN_LENGTH..).unwrap_or(&[]),
        }
    }

    /// The value of the first attribute of type `kind`.
    pub fn attribute(&self, kind: u8) -> Option<&'a [u8]> {
        self.attributes().find(|(t, _)| *t == kind).map(|(_, v)| v)
    }

    /// The accounting record in this Accounting-Request, received at `received`: its time is
    /// `received` minus `Acct-Delay-Time` (the NAS's own `Event-Timestamp` clock is not
    /// trusted).
    pub fn to_accounting_event(&self, received: UnixTime) -> Result<AccountingEvent, PacketError> {
        if self.code != CODE_ACCOUNTING_REQUEST {
            return Err(PacketError::NotAccountingRequest(self.code));
        }
        let status_code = self
            .u32_attribute(ACCT_STATUS_TYPE, "Acct-Status-Type")?
            .ok_or(PacketError::Missing("Acct-Status-Type"))?;
        let status = AcctStatus::from_code(status_code)
            .ok_or(PacketError::UnsupportedStatus(status_code))?;
        let delay = self
            .u32_attribute(ACCT_DELAY_TIME, "Acct-Delay-Time")?
            .unwrap_or(0);
        let text = |kind| {
            self.attribute(kind)
                .map(|v| String::from_utf8_lossy(v).into_owned())
        };
        let calling = text(CALLING_STATION_ID);
        let calling = calling
            .as_deref()
            .and_then(|s| MacAddr::parse_station_id(s).ok());
        let called = text(CALLED_STATION_ID);
        let called_ssid = called
            .as_deref()
            .and_then(|s| MacAddr::parse_station_id(s).ok())
            .and_then(|(_, ssid)| ssid);
        let ssid = called_ssid
            .or(calling.and_then(|(_, ssid)| ssid))
            .map(str::to_owned);
        let framed_ip = match self.ip_attribute(FRAMED_IP_ADDRESS, "Framed-IP-Address")? {
            Some(ip) => Some(ip),
            None => self.ip_attribute(FRAMED_IPV6_ADDRESS, "Framed-IPv6-Address")?,
        };
        let nas_ip = match self.ip_attribute(NAS_IP_ADDRESS, "NAS-IP-Address")? {
            Some(ip) => Some(ip),
            None => self.ip_attribute(NAS_IPV6_ADDRESS, "NAS-IPv6-Address")?,
        };
        Ok(AccountingEvent {
            status,
            user: text(USER_NAME),
            mac: calling.map(|(mac, _)| mac),
            ssid,
            framed_ip,
            session_id: text(ACCT_SESSION_ID),
            nas_ip,
            nas_identifier: text(NAS_IDENTIFIER),
            time: received.saturating_sub(UnixTime::from(delay)),
            source: Source::RadiusPacket,
        })
    }

    fn u32_attribute(&self, kind: u8, name: &'static str) -> Result<Option<u32>, PacketError> {
        self.attribute(kind)
            .map(|v| {
                <[u8; 4]>::try_from(v)
                    .map(u32::from_be_bytes)
                    .map_err(|_| PacketError::BadValue(name))
            })
            .transpose()
    }

    fn ip_attribute(&self, kind: u8, name: &'static str) -> Result<Option<IpAddr>, PacketError> {
        let Some(v) = self.attribute(kind) else {
            return Ok(None);
        };
        match (kind, v.len()) {
            (FRAMED_IP_ADDRESS | NAS_IP_ADDRESS, 4) => {
                let octets = <[u8; 4]>::try_from(v).map_err(|_| PacketError::BadValue(name))?;
                Ok(Some(IpAddr::V4(Ipv4Addr::from(octets))))
            }
            (NAS_IPV6_ADDRESS | FRAMED_IPV6_ADDRESS, 16) => {
                let octets = <[u8; 16]>::try_from(v).map_err(|_| PacketError::BadValue(name))?;
                Ok(Some(IpAddr::V6(Ipv6Addr::from(octets))))
            }
            _ => Err(PacketError::BadValue(name)),
        }
    }
}

/// Iterator over the attributes of a parsed packet.
#[derive(Debug, Clone)]
pub struct Attributes<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Attributes<'a> {
    type Item = (u8, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let (kind, len) = match self.rest {
            [kind, len, ..] => (*kind, usize::from(*len)),
            _ => return None,
        };
        // `parse` checked every length; stay defensive anyway.
        let value = self.rest.get(2..len)?;
        self.rest = self.rest.get(len..).unwrap_or(&[]);
        Some((kind, value))
    }
}

/// True when `datagram` is a RADIUS packet whose Request Authenticator is right for `secret`
/// (RFC 2866 section 3). False for anything malformed and for an empty secret.
pub fn verify_request_authenticator(datagram: &[u8], secret: &[u8]) -> bool {
    if secret.is_empty() {
        return false;
    }
    let Ok(packet) = RadiusPacket::parse(datagram) else {
        return false;
    };
    let bytes = packet.as_bytes();
    let expected = Md5::new()
        .chain_update(&bytes[..4])
        .chain_update([0u8; 16])
        .chain_update(&bytes[MIN_LENGTH..])
        .chain_update(secret)
        .finalize();
    constant_time_eq(expected.as_slice(), &packet.authenticator)
}

/// The 20-byte Accounting-Response (no attributes) for `request`.
pub fn build_accounting_response(request: &RadiusPacket<'_>, secret: &[u8]) -> [u8; 20] {
    let mut response = [0u8; 20];
    response[0] = CODE_ACCOUNTING_RESPONSE;
    response[1] = request.identifier;
    response[2..4].copy_from_slice(&20u16.to_be_bytes());
    let digest = Md5::new()
        .chain_update(&response[..4])
        .chain_update(request.authenticator)
        .chain_update(secret)
        .finalize();
    response[4..].copy_from_slice(digest.as_slice());
    response
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// From formats-and-protocols.md: a Start for alice, secret `testing123`.
    const VECTOR: &str = "04b2005dc97d9166bae743190e2ace911019fa392806000000010107616c6963651f1e41412d42422d43432d44442d45452d46463a5363686f6f6c5769466908060a1400392c12354632413142334330303030303030313706694a8440";
    const START: &[u8] = include_bytes!("../../tests/fixtures/identity/radius-acct-start.bin");
    const STOP: &[u8] = include_bytes!("../../tests/fixtures/identity/radius-acct-stop.bin");
    const ON: &[u8] = include_bytes!("../../tests/fixtures/identity/radius-acct-on.bin");
    const WRONG: &[u8] =
        include_bytes!("../../tests/fixtures/identity/radius-acct-wrong-secret.bin");

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn the_documented_vector_verifies_only_with_its_secret() {
        let v = hex(VECTOR);
        assert!(verify_request_authenticator(&v, b"testing123"));
        assert!(!verify_request_authenticator(&v, b"testing124"));
        assert!(!verify_request_authenticator(&v, b""));
        let mut tampered = v.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(!verify_request_authenticator(&tampered, b"testing123"));
        // Padding after Length is ignored.
        let mut padded = v.clone();
        padded.extend_from_slice(&[0; 7]);
        assert!(verify_request_authenticator(&padded, b"testing123"));
    }

    #[test]
    fn the_documented_vector_converts_and_gets_the_right_response() {
        let v = hex(VECTOR);
        let packet = RadiusPacket::parse(&v).unwrap();
        let e = packet.to_accounting_event(1_795_435_352).unwrap();
        assert_eq!(e.status, AcctStatus::Start);
        assert_eq!(e.user.as_deref(), Some("alice"));
        assert_eq!(e.mac, MacAddr::parse("aa:bb:cc:dd:ee:ff").ok());
        assert_eq!(e.ssid.as_deref(), Some("SchoolWiFi"));
        assert_eq!(e.framed_ip, "10.20.0.57".parse().ok());
        assert_eq!(e.session_id.as_deref(), Some("5F2A1B3C00000001"));
        assert_eq!((e.time, e.source), (1_795_435_352, Source::RadiusPacket));
        // Computed independently with Python's hashlib.
        assert_eq!(
            build_accounting_response(&packet, b"testing123").to_vec(),
            hex("05b2001483f9a3b25438a439a1055fc7e320e19e")
        );
    }

    #[test]
    fn radclient_packets_verify_and_convert() {
        for p in [START, STOP, ON] {
            assert!(verify_request_authenticator(p, b"testing123"));
            assert!(!verify_request_authenticator(p, b"wrongsecret"));
        }
        assert!(!verify_request_authenticator(WRONG, b"testing123"));
        assert!(verify_request_authenticator(WRONG, b"wrongsecret"));

        let start = RadiusPacket::parse(START).unwrap();
        let e = start.to_accounting_event(1_000).unwrap();
        assert_eq!(
            (e.status, e.user.as_deref()),
            (AcctStatus::Start, Some("alice"))
        );
        assert_eq!(e.nas_identifier.as_deref(), Some("ap-hall-1"));
        assert_eq!(e.nas_ip, "10.0.0.2".parse().ok());
        assert_eq!(e.ssid.as_deref(), Some("SchoolWiFi"));
        let stop = RadiusPacket::parse(STOP)
            .unwrap()
            .to_accounting_event(1_000)
            .unwrap();
        assert_eq!((stop.status, stop.time), (AcctStatus::Stop, 995));
        assert_eq!(stop.mac, e.mac);
        let on = RadiusPacket::parse(ON)
            .unwrap()
            .to_accounting_event(1_000)
            .unwrap();
        assert_eq!(
            (on.status, on.user, on.mac),
            (AcctStatus::AccountingOn, None, None)
        );

        // The response authenticator chains from the request's.
        let response = build_accounting_response(&start, b"testing123");
        assert_eq!(
            (response[0], response[1]),
            (CODE_ACCOUNTING_RESPONSE, start.identifier)
        );
        assert_eq!(u16::from_be_bytes([response[2], response[3]]), 20);
        let mut check = Md5::new();
        check.update(&response[..4]);
        check.update(start.authenticator);
        check.update(b"testing123");
        assert_eq!(&response[4..], check.finalize().as_slice());
    }

    #[test]
    fn malformed_packets_are_rejected_with_a_reason() {
        let v = hex(VECTOR);
        assert_eq!(
            RadiusPacket::parse(&v[..19]),
            Err(PacketError::TooShort(19))
        );
        assert_eq!(
            RadiusPacket::parse(&v[..92]),
            Err(PacketError::BadLength {
                declared: 93,
                received: 92
            })
        );
        let mut short_len = v.clone();
        short_len[2..4].copy_from_slice(&19u16.to_be_bytes());
        assert!(matches!(
            RadiusPacket::parse(&short_len),
            Err(PacketError::BadLength { .. })
        ));
        let mut huge = vec![0u8; 5000];
        huge[..4].copy_from_slice(&[4, 1, 0x13, 0x88]);
        assert!(matches!(
            RadiusPacket::parse(&huge),
            Err(PacketError::BadLength { .. })
        ));
        let mut zero_attr = v.clone();
        zero_attr[21] = 0;
        assert_eq!(
            RadiusPacket::parse(&zero_attr),
            Err(PacketError::BadAttribute(20))
        );
        let mut overrun = v.clone();
        overrun[21] = 200;
        assert_eq!(
            RadiusPacket::parse(&overrun),
            Err(PacketError::BadAttribute(20))
        );
        // Cutting Length so the last attribute no longer fits.
        let mut cut = v[..92].to_vec();
        cut[2..4].copy_from_slice(&92u16.to_be_bytes());
        assert!(matches!(
            RadiusPacket::parse(&cut),
            Err(PacketError::BadAttribute(_))
        ));

        let mut access = v.clone();
        access[0] = 1;
        let p = RadiusPacket::parse(&access).unwrap();
        assert_eq!(
            p.to_accounting_event(0),
            Err(PacketError::NotAccountingRequest(1))
        );
        let header_only = [
            4u8, 1, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        let p = RadiusPacket::parse(&header_only).unwrap();
        assert_eq!(
            p.to_accounting_event(0),
            Err(PacketError::Missing("Acct-Status-Type"))
        );
        assert_eq!(p.attributes().count(), 0);
    }

    #[test]
    fn bad_attribute_values_are_rejected() {
        let packet = |attrs: &[u8]| {
            let mut p = vec![4u8, 9, 0, 0];
            p.extend_from_slice(&[0; 16]);
            p.extend_from_slice(attrs);
            let len = u16::try_from(p.len()).unwrap().to_be_bytes();
            p[2..4].copy_from_slice(&len);
            p
        };
        let failed = packet(&[40, 6, 0, 0, 0, 15]);
        let p = RadiusPacket::parse(&failed).unwrap();
        assert_eq!(
            p.to_accounting_event(0),
            Err(PacketError::UnsupportedStatus(15))
        );
        let short_status = packet(&[40, 5, 0, 0, 1]);
        let p = RadiusPacket::parse(&short_status).unwrap();
        assert_eq!(
            p.to_accounting_event(0),
            Err(PacketError::BadValue("Acct-Status-Type"))
        );
        let bad_ip = packet(&[40, 6, 0, 0, 0, 1, 8, 5, 10, 0, 0]);
        let p = RadiusPacket::parse(&bad_ip).unwrap();
        assert_eq!(
            p.to_accounting_event(0),
            Err(PacketError::BadValue("Framed-IP-Address"))
        );
        let v6 = packet(&[
            40, 6, 0, 0, 0, 3, 95, 18, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 31, 16,
            b'0', b'0', b'0', b'c', b'.', b'2', b'9', b'c', b'3', b'.', b'a', b'0', b'3', b'a',
        ]);
        let e = RadiusPacket::parse(&v6)
            .unwrap()
            .to_accounting_event(7)
            .unwrap();
        assert_eq!(e.nas_ip, "fd00::1".parse().ok());
        assert_eq!(e.mac, MacAddr::parse("00:0c:29:c3:a0:3a").ok());
        assert_eq!(e.status, AcctStatus::Interim);
    }

    #[test]
    fn no_input_panics() {
        // Every prefix and every single-byte corruption of real packets, plus pseudo-random
        // datagrams (a fixed xorshift sequence, so failures reproduce).
        for p in [START, STOP, ON, WRONG] {
            for n in 0..=p.len() {
                let _ = RadiusPacket::parse(&p[..n]).map(|x| x.to_accounting_event(0));
                let _ = verify_request_authenticator(&p[..n], b"testing123");
            }
            for i in 0..p.len() {
                for flip in [0x01u8, 0x80, 0xff] {
                    let mut q = p.to_vec();
                    q[i] ^= flip;
                    if let Ok(x) = RadiusPacket::parse(&q) {
                        let _ = x.to_accounting_event(0);
                        let _ = x.attributes().count();
                        let _ = build_accounting_response(&x, b"s");
                    }
                }
            }
        }
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..2_000 {
            let mut buf = vec![0u8; usize::try_from(state % 300).unwrap()];
            for b in buf.iter_mut() {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                *b = state.to_le_bytes()[0];
            }
            if buf.len() >= 4 {
                buf[0] = 4;
                let len = u16::try_from(buf.len()).unwrap().to_be_bytes();
                buf[2..4].copy_from_slice(&len);
            }
            if let Ok(x) = RadiusPacket::parse(&buf) {
                let _ = x.to_accounting_event(0);
            }
        }
    }
}
