//! `Message-Authenticator` (attribute 80, RFC 2869 section 5.14, RFC 3579 section 3.2):
//! HMAC-MD5 keyed with the shared secret over the whole packet with the attribute's value
//! zeroed. For an Accounting-Request the Request Authenticator field is also taken as 16 zero
//! bytes (the Request Authenticator itself is computed after, over the signed attribute), as
//! FreeRADIUS and `radclient` do.

use md5::{Digest, Md5};

use super::radius_packet::{RadiusPacket, CODE_ACCOUNTING_REQUEST, MIN_LENGTH};

/// The attribute type.
pub const MESSAGE_AUTHENTICATOR: u8 = 80;
const BLOCK: usize = 64;

/// HMAC-MD5 (RFC 2104) of the concatenation of `parts`.
pub fn hmac_md5(key: &[u8], parts: &[&[u8]]) -> [u8; 16] {
    let mut k = [0u8; BLOCK];
    if key.len() > BLOCK {
        k[..16].copy_from_slice(&Md5::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Md5::new();
    inner.update(k.map(|b| b ^ 0x36));
    for p in parts {
        inner.update(p);
    }
    let mut outer = Md5::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

/// The outcome of checking a packet's `Message-Authenticator`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageAuth {
    /// The packet has none.
    Absent,
    /// It matches the secret.
    Valid,
    /// It does not match, has the wrong length, or appears twice.
    Invalid,
}

/// Checks `packet`'s `Message-Authenticator`, if it has one, against `secret`.
pub fn check_message_authenticator(packet: &RadiusPacket<'_>, secret: &[u8]) -> MessageAuth {
    let bytes = packet.as_bytes();
    let mut found = None;
    let mut at = MIN_LENGTH;
    for (kind, value) in packet.attributes() {
        if kind == MESSAGE_AUTHENTICATOR {
            if found.is_some() || value.len() != 16 {
                return MessageAuth::Invalid;
            }
            found = Some(at + 2);
        }
        at += 2 + value.len();
    }
    let Some(value_at) = found else {
        return MessageAuth::Absent;
    };
    let Some(received) = bytes.get(value_at..value_at + 16) else {
        return MessageAuth::Invalid;
    };
    let mut copy = bytes.to_vec();
    copy[value_at..value_at + 16].fill(0);
    if packet.code == CODE_ACCOUNTING_REQUEST {
        copy[4..MIN_LENGTH].fill(0);
    }
    let expected = hmac_md5(secret, &[&copy]);
    let diff = expected
        .iter()
        .zip(received)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
    if diff == 0 {
        MessageAuth::Valid
    } else {
        MessageAuth::Invalid
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn rfc_2202_vectors() {
        assert_eq!(
            hmac_md5(&[0x0b; 16], &[b"Hi There"]).to_vec(),
            hex("9294727a3638bb1c13f48ef8158bfc9d")
        );
        assert_eq!(
            hmac_md5(b"Jefe", &[b"what do ya want ", b"for nothing?"]).to_vec(),
            hex("750c783e6ab0b503eaa86e310a5db738")
        );
        // A key longer than the block is hashed first (test case 6).
        assert_eq!(
            hmac_md5(
                &[0xaa; 80],
                &[b"Test Using Larger Than Block-Size Key - Hash Key First"]
            )
            .to_vec(),
            hex("6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd")
        );
    }

    /// An Accounting-Request signed as radclient does: Message-Authenticator over the packet
    /// with a zero authenticator, then the Request Authenticator over the result.
    pub(crate) fn signed(secret: &[u8], attrs: &[u8], with_ma: bool) -> Vec<u8> {
        let mut p = vec![CODE_ACCOUNTING_REQUEST, 7, 0, 0];
        p.extend_from_slice(&[0; 16]);
        p.extend_from_slice(attrs);
        let ma_at = p.len() + 2;
        if with_ma {
            p.extend_from_slice(&[MESSAGE_AUTHENTICATOR, 18]);
            p.extend_from_slice(&[0; 16]);
        }
        let len = u16::try_from(p.len()).unwrap().to_be_bytes();
        p[2..4].copy_from_slice(&len);
        if with_ma {
            let mac = hmac_md5(secret, &[&p]);
            p[ma_at..ma_at + 16].copy_from_slice(&mac);
        }
        let mut md5 = Md5::new();
        md5.update(&p);
        md5.update(secret);
        let auth = md5.finalize();
        p[4..20].copy_from_slice(&auth);
        p
    }

    #[test]
    fn message_authenticator_is_checked() {
        let attrs = [40u8, 6, 0, 0, 0, 1, 1, 7, b'a', b'l', b'i', b'c', b'e'];
        let good = signed(b"testing123", &attrs, true);
        let p = RadiusPacket::parse(&good).unwrap();
        assert_eq!(
            check_message_authenticator(&p, b"testing123"),
            MessageAuth::Valid
        );
        assert_eq!(
            check_message_authenticator(&p, b"other"),
            MessageAuth::Invalid
        );
        let plain = signed(b"testing123", &attrs, false);
        let p = RadiusPacket::parse(&plain).unwrap();
        assert_eq!(
            check_message_authenticator(&p, b"testing123"),
            MessageAuth::Absent
        );
        let mut tampered = good.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        let p = RadiusPacket::parse(&tampered).unwrap();
        assert_eq!(
            check_message_authenticator(&p, b"testing123"),
            MessageAuth::Invalid
        );
        // Wrong length.
        let mut short = attrs.to_vec();
        short.extend_from_slice(&[MESSAGE_AUTHENTICATOR, 4, 0, 0]);
        let bad = signed(b"s", &short, false);
        let p = RadiusPacket::parse(&bad).unwrap();
        assert_eq!(check_message_authenticator(&p, b"s"), MessageAuth::Invalid);
    }
}
