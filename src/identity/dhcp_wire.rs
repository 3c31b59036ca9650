//! DHCPv4 messages on the wire (RFC 2131/2132), for passive sniffing: UDP payload bytes in,
//! the fields attribution needs out.
//!
//! BOOTP header offsets: 0 op, 1 htype, 2 hlen, 4..8 xid, 10..12 flags, 12..16 ciaddr, 16..20
//! yiaddr, 28..44 chaddr, 44..108 sname, 108..236 file, 236..240 magic cookie `63 82 53 63`,
//! then options (code, length, value; 0 pad, 255 end). Option 52 (overload) continues the
//! options in `file` (1), `sname` (2) or both (3); an option split across several instances is
//! concatenated (RFC 3396). Every read is bounds-checked.

use std::net::Ipv4Addr;

use super::mac::MacAddr;

/// The magic cookie that starts the options.
pub const MAGIC_COOKIE: [u8; 4] = [0x63, 0x82, 0x53, 0x63];
const OPTIONS_START: usize = 240;
const SNAME: std::ops::Range<usize> = 44..108;
const FILE: std::ops::Range<usize> = 108..236;

const OPT_PAD: u8 = 0;
const OPT_HOSTNAME: u8 = 12;
const OPT_REQUESTED_IP: u8 = 50;
const OPT_LEASE_TIME: u8 = 51;
const OPT_OVERLOAD: u8 = 52;
const OPT_MESSAGE_TYPE: u8 = 53;
const OPT_SERVER_ID: u8 = 54;
const OPT_CLIENT_ID: u8 = 61;
const OPT_END: u8 = 255;

/// A payload that is not a usable DHCP message; the sniffer counts and drops it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DhcpWireError {
    /// Shorter than the fixed header plus cookie.
    #[error("DHCP payload of {0} bytes is shorter than the 240-byte header; dropped")]
    TooShort(usize),
    /// No DHCP magic cookie: plain BOOTP or not DHCP at all.
    #[error("no DHCP magic cookie (plain BOOTP or not DHCP); dropped")]
    NoCookie,
    /// `op` is neither 1 (request) nor 2 (reply).
    #[error("BOOTP op {0} is neither request (1) nor reply (2); dropped")]
    BadOp(u8),
    /// An option runs past the end of its area.
    #[error("DHCP option at byte {0} runs past the end of the packet; dropped")]
    BadOption(usize),
    /// A fixed-size option has the wrong size.
    #[error("DHCP option {0} has the wrong length; dropped")]
    BadValue(u8),
}

/// DHCP message type (option 53).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageType {
    /// 1
    Discover,
    /// 2
    Offer,
    /// 3
    Request,
    /// 4
    Decline,
    /// 5
    Ack,
    /// 6
    Nak,
    /// 7
    Release,
    /// 8
    Inform,
}

impl MessageType {
    fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            1 => MessageType::Discover,
            2 => MessageType::Offer,
            3 => MessageType::Request,
            4 => MessageType::Decline,
            5 => MessageType::Ack,
            6 => MessageType::Nak,
            7 => MessageType::Release,
            8 => MessageType::Inform,
            _ => return None,
        })
    }
}

/// The fields of one DHCP message that attribution uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DhcpMessage {
    /// 1 BOOTREQUEST (client), 2 BOOTREPLY (server).
    pub op: u8,
    /// Hardware type (1 = Ethernet).
    pub htype: u8,
    /// Hardware address length.
    pub hlen: u8,
    /// Transaction id, the same in a client's request and the server's reply.
    pub xid: u32,
    /// Client's current address (set in RELEASE, renewals).
    pub ciaddr: Ipv4Addr,
    /// "Your" address: what the server offers or acknowledges.
    pub yiaddr: Ipv4Addr,
    /// Client hardware address field (the first `hlen` bytes count).
    pub chaddr: [u8; 16],
    /// Option 53.
    pub message_type: Option<MessageType>,
    /// Option 50.
    pub requested_ip: Option<Ipv4Addr>,
    /// Option 54.
    pub server_id: Option<Ipv4Addr>,
    /// Option 51, seconds (`u32::MAX` = infinite).
    pub lease_secs: Option<u32>,
    /// Option 12 (trailing NULs removed, lossy UTF-8).
    pub hostname: Option<String>,
    /// Option 61, raw.
    pub client_id: Option<Vec<u8>>,
}

impl DhcpMessage {
    /// The client's MAC, when the hardware is Ethernet (htype 1, hlen 6).
    pub fn mac(&self) -> Option<MacAddr> {
        if self.htype != 1 || self.hlen != 6 {
            return None;
        }
        let mut octets = [0u8; 6];
        octets.copy_from_slice(&self.chaddr[..6]);
        Some(MacAddr(octets))
    }
}

/// The raw values of the options we use, concatenated across instances.
#[derive(Default)]
struct Options {
    hostname: Option<Vec<u8>>,
    requested_ip: Option<Vec<u8>>,
    lease_time: Option<Vec<u8>>,
    overload: Option<Vec<u8>>,
    message_type: Option<Vec<u8>>,
    server_id: Option<Vec<u8>>,
    client_id: Option<Vec<u8>>,
}

impl Options {
    /// Walks one option area; `base` is its offset in the payload (for error positions).
    fn walk(&mut self, area: &[u8], base: usize) -> Result<(), DhcpWireError> {
        let mut i = 0;
        while let Some(&code) = area.get(i) {
            match code {
                OPT_PAD => i += 1,
                OPT_END => return Ok(()),
                _ => {
                    let len =
                        usize::from(*area.get(i + 1).ok_or(DhcpWireError::BadOption(base + i))?);
                    let value = area
                        .get(i + 2..i + 2 + len)
                        .ok_or(DhcpWireError::BadOption(base + i))?;
                    let slot = match code {
                        OPT_HOSTNAME => &mut self.hostname,
                        OPT_REQUESTED_IP => &mut self.requested_ip,
                        OPT_LEASE_TIME => &mut self.lease_time,
                        OPT_OVERLOAD => &mut self.overload,
                        OPT_MESSAGE_TYPE => &mut self.message_type,
                        OPT_SERVER_ID => &mut self.server_id,
                        OPT_CLIENT_ID => &mut self.client_id,
                        _ => {
                            i += 2 + len;
                            continue;
                        }
                    };
                    slot.get_or_insert_with(Vec::new).extend_from_slice(value);
                    i += 2 + len;
                }
            }
        }
        Ok(())
    }
}

/// Parses a DHCP message from a UDP payload.
pub fn parse(payload: &[u8]) -> Result<DhcpMessage, DhcpWireError> {
    if payload.len() < OPTIONS_START {
        return Err(DhcpWireError::TooShort(payload.len()));
    }
    if payload[236..240] != MAGIC_COOKIE {
        return Err(DhcpWireError::NoCookie);
    }
    let op = payload[0];
    if op != 1 && op != 2 {
        return Err(DhcpWireError::BadOp(op));
    }
    let ipv4 = |at: usize| {
        Ipv4Addr::new(
            payload[at],
            payload[at + 1],
            payload[at + 2],
            payload[at + 3],
        )
    };
    let mut chaddr = [0u8; 16];
    chaddr.copy_from_slice(&payload[28..44]);

    let mut options = Options::default();
    options.walk(&payload[OPTIONS_START..], OPTIONS_START)?;
    let overload = match options.overload.as_deref() {
        None => 0,
        Some([v]) => *v,
        Some(_) => return Err(DhcpWireError::BadValue(OPT_OVERLOAD)),
    };
    if overload & 1 != 0 {
        options.walk(&payload[FILE], FILE.start)?;
    }
    if overload & 2 != 0 {
        options.walk(&payload[SNAME], SNAME.start)?;
    }

    let addr = |v: Option<Vec<u8>>, code| -> Result<Option<Ipv4Addr>, DhcpWireError> {
        v.map(|v| {
            <[u8; 4]>::try_from(v.as_slice())
                .map(Ipv4Addr::from)
                .map_err(|_| DhcpWireError::BadValue(code))
        })
        .transpose()
    };
    let message_type = match options.message_type.as_deref() {
        None => None,
        Some([t]) => MessageType::from_code(*t),
        Some(_) => return Err(DhcpWireError::BadValue(OPT_MESSAGE_TYPE)),
    };
    let lease_secs = options
        .lease_time
        .map(|v| {
            <[u8; 4]>::try_from(v.as_slice())
                .map(u32::from_be_bytes)
                .map_err(|_| DhcpWireError::BadValue(OPT_LEASE_TIME))
        })
        .transpose()?;
    let hostname = options.hostname.and_then(|mut h| {
        while h.last() == Some(&0) {
            h.pop();
        }
        (!h.is_empty()).then(|| String::from_utf8_lossy(&h).into_owned())
    });
    Ok(DhcpMessage {
        op,
        htype: payload[1],
        hlen: payload[2],
        xid: u32::from_be_bytes([payload[4], payload[5], payload[6], payload[7]]),
        ciaddr: ipv4(12),
        yiaddr: ipv4(16),
        chaddr,
        message_type,
        requested_ip: addr(options.requested_ip, OPT_REQUESTED_IP)?,
        server_id: addr(options.server_id, OPT_SERVER_ID)?,
        lease_secs,
        hostname,
        client_id: options.client_id.filter(|c| !c.is_empty()),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) const CAPTURE: &str = include_str!("../../tests/fixtures/identity/dhcp-wire.hex");

    /// The captured payloads with the message type the capture script noted for each.
    pub(crate) fn captured() -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        let mut label = String::new();
        for line in CAPTURE.lines() {
            if let Some(l) = line.strip_prefix("# ") {
                label = l.split(' ').next().unwrap_or("").to_owned();
            } else if !line.is_empty() {
                let bytes = (0..line.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&line[i..i + 2], 16).unwrap())
                    .collect();
                out.push((label.clone(), bytes));
            }
        }
        out
    }

    /// A minimal valid message: header, cookie, then `options`.
    pub(crate) fn message(
        op: u8,
        xid: u32,
        mac: [u8; 6],
        yiaddr: [u8; 4],
        options: &[u8],
    ) -> Vec<u8> {
        let mut p = vec![0u8; 240];
        p[0] = op;
        p[1] = 1;
        p[2] = 6;
        p[4..8].copy_from_slice(&xid.to_be_bytes());
        p[16..20].copy_from_slice(&yiaddr);
        p[28..34].copy_from_slice(&mac);
        p[236..240].copy_from_slice(&MAGIC_COOKIE);
        p.extend_from_slice(options);
        p
    }

    #[test]
    fn every_captured_packet_parses_with_the_right_type() {
        let packets = captured();
        assert!(
            packets.len() >= 20,
            "the capture has {} packets",
            packets.len()
        );
        for (label, bytes) in &packets {
            let m = parse(bytes).unwrap_or_else(|e| panic!("{label}: {e}"));
            let expected = match label.as_str() {
                "DISCOVER" => MessageType::Discover,
                "OFFER" => MessageType::Offer,
                "REQUEST" => MessageType::Request,
                "ACK" => MessageType::Ack,
                "RELEASE" => MessageType::Release,
                other => panic!("unexpected packet {other} in the capture"),
            };
            assert_eq!(m.message_type, Some(expected));
            assert_eq!(
                m.op,
                if matches!(expected, MessageType::Offer | MessageType::Ack) {
                    2
                } else {
                    1
                }
            );
            assert!(m.mac().is_some());
        }
        let request = packets.iter().find(|(l, _)| l == "REQUEST").unwrap();
        let m = parse(&request.1).unwrap();
        assert_eq!(m.hostname.as_deref(), Some("alice-laptop"));
        assert_eq!(
            m.client_id,
            Some(vec![1, 0x00, 0x16, 0x3e, 0x5a, 0x01, 0x0a])
        );
        assert!(m.requested_ip.is_some());
        let ack = packets.iter().find(|(l, _)| l == "ACK").unwrap();
        let a = parse(&ack.1).unwrap();
        assert_eq!(a.xid, m.xid);
        assert_eq!(a.lease_secs, Some(12 * 3600));
        assert_eq!(a.server_id, Some(Ipv4Addr::new(10, 200, 1, 1)));
        assert_eq!(Some(a.yiaddr), m.requested_ip);
    }

    #[test]
    fn overloaded_and_split_options_are_read() {
        let mac = [2, 0, 0, 0, 0, 1];
        // Hostname split in two (RFC 3396), client id in `file` via overload 1.
        let mut p = message(
            1,
            7,
            mac,
            [0; 4],
            &[
                53, 1, 3, 12, 2, b'a', b'b', 0, 12, 3, b'c', 0, 0, 52, 1, 1, 255,
            ],
        );
        p[108..114].copy_from_slice(&[61, 3, 1, 2, 3, 255]);
        let m = parse(&p).unwrap();
        assert_eq!(
            m.hostname.as_deref(),
            Some("abc"),
            "split and NUL-terminated"
        );
        assert_eq!(m.client_id, Some(vec![1, 2, 3]));
        // Overload 2 reads `sname` too; missing END is fine.
        let mut p = message(2, 7, mac, [10, 0, 0, 9], &[53, 1, 5, 52, 1, 2]);
        p[44..50].copy_from_slice(&[51, 4, 0xff, 0xff, 0xff, 0xff]);
        let m = parse(&p).unwrap();
        assert_eq!(m.lease_secs, Some(u32::MAX));
        assert_eq!(m.yiaddr, Ipv4Addr::new(10, 0, 0, 9));
    }

    #[test]
    fn malformed_payloads_are_rejected() {
        let mac = [2, 0, 0, 0, 0, 1];
        let good = message(1, 1, mac, [0; 4], &[53, 1, 1, 255]);
        assert_eq!(parse(&good[..239]), Err(DhcpWireError::TooShort(239)));
        let mut no_cookie = good.clone();
        no_cookie[236] = 0;
        assert_eq!(parse(&no_cookie), Err(DhcpWireError::NoCookie));
        let mut bad_op = good.clone();
        bad_op[0] = 3;
        assert_eq!(parse(&bad_op), Err(DhcpWireError::BadOp(3)));
        assert_eq!(
            parse(&message(1, 1, mac, [0; 4], &[53, 5, 1])),
            Err(DhcpWireError::BadOption(240))
        );
        assert_eq!(
            parse(&message(1, 1, mac, [0; 4], &[0, 0, 12])),
            Err(DhcpWireError::BadOption(242))
        );
        assert_eq!(
            parse(&message(1, 1, mac, [0; 4], &[53, 2, 1, 1])),
            Err(DhcpWireError::BadValue(53))
        );
        assert_eq!(
            parse(&message(2, 1, mac, [0; 4], &[51, 2, 1, 1])),
            Err(DhcpWireError::BadValue(51))
        );
        assert_eq!(
            parse(&message(1, 1, mac, [0; 4], &[50, 3, 1, 1, 1])),
            Err(DhcpWireError::BadValue(50))
        );
        // Overload into a zeroed `file` area is only padding; an option running out of it is not.
        let mut overloaded = message(1, 1, mac, [0; 4], &[52, 1, 1]);
        assert!(parse(&overloaded).is_ok());
        overloaded[234..236].copy_from_slice(&[61, 9]);
        assert_eq!(parse(&overloaded), Err(DhcpWireError::BadOption(234)));
    }

    #[test]
    fn no_input_panics() {
        for (_, p) in captured() {
            for n in 0..=p.len() {
                let _ = parse(&p[..n]);
            }
            for i in 0..p.len() {
                let mut q = p.clone();
                q[i] ^= 0xff;
                let _ = parse(&q);
            }
        }
    }
}
