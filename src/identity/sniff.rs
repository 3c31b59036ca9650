//! Passive DHCP sniffing, for gateways where the DHCP server is elsewhere: an `AF_PACKET`
//! socket on the client-facing interface sees clients' requests and the server's replies.
//!
//! The socket is made here (so a classic BPF filter for IPv4 UDP port 67/68 can be attached
//! before any frame is queued: the kernel copies nothing else to us) and handed to `pnet`,
//! which binds it to the interface without promiscuous mode. Frames are decoded Ethernet ->
//! IPv4 -> UDP -> [`dhcp_wire::parse`] -> [`DhcpTracker`] -> lease events for the
//! [`IdentityService`]. The reader runs on its own thread with a read timeout so it notices a
//! stop request. Needs root or `CAP_NET_RAW`. The socket belongs to the network namespace of
//! the thread that calls [`Sniffer::open`].

use std::os::fd::IntoRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use pnet_datalink::{Channel, Config, DataLinkReceiver};
use pnet_packet::ethernet::{EtherTypes, EthernetPacket};
use pnet_packet::ip::IpNextHeaderProtocols;
use pnet_packet::ipv4::Ipv4Packet;
use pnet_packet::udp::UdpPacket;
use pnet_packet::Packet;
use socket2::{Domain, Protocol, SockFilter, Socket, Type};

use super::dhcp_tracker::DhcpTracker;
use super::dhcp_wire;
use super::event::IdentityEvent;
use super::service::{unix_time, IdentityService};

/// How long a read waits before checking for a stop request.
const READ_TIMEOUT: Duration = Duration::from_millis(200);
const ETH_P_ALL: u16 = 0x0003;

/// `ip and udp and (port 67 or port 68)` and not a later fragment, as classic BPF
/// (`tcpdump -dd` style; accepted packets are passed whole).
const DHCP_FILTER: [(u16, u8, u8, u32); 15] = [
    (0x28, 0, 0, 12),      // ldh [12]            ethertype
    (0x15, 0, 12, 0x0800), // jeq IPv4            else drop
    (0x30, 0, 0, 23),      // ldb [23]            protocol
    (0x15, 0, 10, 17),     // jeq UDP             else drop
    (0x28, 0, 0, 20),      // ldh [20]            flags + fragment offset
    (0x45, 8, 0, 0x1fff),  // jset offset         a later fragment: drop
    (0xb1, 0, 0, 14),      // ldxb 4*([14]&0xf)   IP header length
    (0x48, 0, 0, 14),      // ldh [x+14]          source port
    (0x15, 4, 0, 67),      // jeq 67              accept
    (0x15, 3, 0, 68),      // jeq 68              accept
    (0x48, 0, 0, 16),      // ldh [x+16]          destination port
    (0x15, 1, 0, 67),      // jeq 67              accept
    (0x15, 0, 1, 68),      // jeq 68              accept, else drop
    (0x06, 0, 0, 0x40000), // ret whole packet
    (0x06, 0, 0, 0),       // ret 0 (drop)
];

/// Why sniffing cannot start.
#[derive(Debug, thiserror::Error)]
pub enum SniffError {
    /// No such interface (in this network namespace).
    #[error("no network interface named {0}; check sniff_interface (`ip link` lists them)")]
    NoInterface(String),
    /// The raw socket cannot be made (usually: not root and no CAP_NET_RAW).
    #[error("cannot open a packet socket on {interface}: {source}; DHCP sniffing needs root or CAP_NET_RAW")]
    Socket {
        /// The interface.
        interface: String,
        /// Why.
        source: std::io::Error,
    },
    /// pnet returned a channel type it does not document for Linux.
    #[error("unexpected datalink channel type on {0}")]
    ChannelType(String),
}

/// What the sniffer saw.
#[derive(Debug, Default)]
pub struct SniffCounters {
    /// Frames that passed the filter.
    pub frames: AtomicU64,
    /// DHCP messages decoded.
    pub dhcp_messages: AtomicU64,
    /// Frames or payloads that did not decode (counted, skipped).
    pub malformed: AtomicU64,
    /// Lease events produced.
    pub events: AtomicU64,
}

/// An open sniffing socket on one interface.
pub struct Sniffer {
    interface: String,
    rx: Box<dyn DataLinkReceiver>,
    counters: Arc<SniffCounters>,
}

impl std::fmt::Debug for Sniffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sniffer")
            .field("interface", &self.interface)
            .finish()
    }
}

impl Sniffer {
    /// Opens the socket on `interface` in the calling thread's network namespace.
    pub fn open(interface: &str) -> Result<Self, SniffError> {
        let iface = pnet_datalink::interfaces()
            .into_iter()
            .find(|i| i.name == interface)
            .ok_or_else(|| SniffError::NoInterface(interface.to_owned()))?;
        let err = |source| SniffError::Socket {
            interface: interface.to_owned(),
            source,
        };
        let socket = Socket::new(
            Domain::PACKET,
            Type::RAW,
            Some(Protocol::from(i32::from(ETH_P_ALL.to_be()))),
        )
        .map_err(err)?;
        let filter: Vec<SockFilter> = DHCP_FILTER
            .iter()
            .map(|(code, jt, jf, k)| SockFilter::new(*code, *jt, *jf, *k))
            .collect();
        socket.attach_filter(&filter).map_err(err)?;
        let config = Config {
            read_buffer_size: 65_536,
            read_timeout: Some(READ_TIMEOUT),
            promiscuous: false,
            socket_fd: Some(socket.into_raw_fd()),
            ..Config::default()
        };
        // pnet owns the descriptor from here (and closes it on error).
        match pnet_datalink::channel(&iface, config) {
            Ok(Channel::Ethernet(_tx, rx)) => Ok(Sniffer {
                interface: interface.to_owned(),
                rx,
                counters: Arc::default(),
            }),
            Ok(_) => Err(SniffError::ChannelType(interface.to_owned())),
            Err(source) => Err(err(source)),
        }
    }

    /// The counters (shared: they keep counting while the sniffer runs).
    pub fn counters(&self) -> Arc<SniffCounters> {
        self.counters.clone()
    }

    /// Runs the sniffer on its own thread, feeding `service`.
    pub fn spawn(self, service: IdentityService) -> std::io::Result<SnifferHandle> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("identity-sniff".into())
            .spawn(move || self.run(&service, &flag))?;
        Ok(SnifferHandle {
            stop,
            thread: Some(thread),
        })
    }

    fn run(mut self, service: &IdentityService, stop: &AtomicBool) {
        let mut tracker = DhcpTracker::new();
        while !stop.load(Ordering::Relaxed) {
            let frame = match self.rx.next() {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => continue,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    tracing::warn!(interface = %self.interface, error = %e, "DHCP sniffing stopped: the packet socket failed");
                    return;
                }
            };
            let c = &self.counters;
            c.frames.fetch_add(1, Ordering::Relaxed);
            let Some(event) = observe(frame, &mut tracker, c) else {
                continue;
            };
            c.events.fetch_add(1, Ordering::Relaxed);
            if let Err(e) = service.ingest([IdentityEvent::Lease(event)]) {
                tracing::warn!(error = %e, "sniffed lease applied but not persisted");
            }
        }
    }
}

fn observe(
    frame: &[u8],
    tracker: &mut DhcpTracker,
    c: &SniffCounters,
) -> Option<super::event::LeaseEvent> {
    let Some(payload) = dhcp_payload(frame) else {
        c.malformed.fetch_add(1, Ordering::Relaxed);
        return None;
    };
    match dhcp_wire::parse(payload) {
        Ok(msg) => {
            c.dhcp_messages.fetch_add(1, Ordering::Relaxed);
            tracker.observe(&msg, unix_time(SystemTime::now()))
        }
        Err(_) => {
            c.malformed.fetch_add(1, Ordering::Relaxed);
            None
        }
    }
}

/// The UDP payload of an Ethernet frame carrying IPv4 UDP to or from port 67 or 68; `None`
/// for anything else (including fragments and truncated frames).
pub fn dhcp_payload(frame: &[u8]) -> Option<&[u8]> {
    let eth = EthernetPacket::new(frame)?;
    if eth.get_ethertype() != EtherTypes::Ipv4 {
        return None;
    }
    let ip_bytes = &frame[EthernetPacket::minimum_packet_size()..];
    let ip = Ipv4Packet::new(ip_bytes)?;
    let header = usize::from(ip.get_header_length()) * 4;
    let total = usize::from(ip.get_total_length());
    if ip.get_next_level_protocol() != IpNextHeaderProtocols::Udp
        || ip.get_fragment_offset() != 0
        || ip.get_flags() & 1 != 0 // more fragments
        || header < 20
        || total < header
        || total > ip_bytes.len()
    {
        return None;
    }
    let udp_bytes = &ip_bytes[header..total];
    let udp = UdpPacket::new(udp_bytes)?;
    let ports = [udp.get_source(), udp.get_destination()];
    if !ports.iter().any(|p| *p == 67 || *p == 68) {
        return None;
    }
    let len = usize::from(udp.get_length());
    if len < 8 || len > udp_bytes.len() {
        return None;
    }
    let _ = udp.payload();
    udp_bytes.get(8..len)
}

/// The sniffing thread; stops (and joins) on [`SnifferHandle::stop`] or drop.
#[derive(Debug)]
pub struct SnifferHandle {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl SnifferHandle {
    /// Stops the thread (within the read timeout) and waits for it.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for SnifferHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::dhcp_wire::tests::captured;
    use crate::identity::event::LeaseKind;

    /// Wraps a UDP payload in Ethernet + IPv4 + UDP headers.
    fn frame(payload: &[u8], sport: u16, dport: u16) -> Vec<u8> {
        let mut f = vec![0xff; 6];
        f.extend_from_slice(&[0x02, 0, 0, 0, 0, 1, 0x08, 0x00]);
        let total = u16::try_from(20 + 8 + payload.len()).unwrap();
        f.extend_from_slice(&[0x45, 0]);
        f.extend_from_slice(&total.to_be_bytes());
        f.extend_from_slice(&[0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 255, 255, 255, 255]);
        f.extend_from_slice(&sport.to_be_bytes());
        f.extend_from_slice(&dport.to_be_bytes());
        f.extend_from_slice(&u16::try_from(8 + payload.len()).unwrap().to_be_bytes());
        f.extend_from_slice(&[0, 0]);
        f.extend_from_slice(payload);
        f.extend_from_slice(&[0; 4]); // Ethernet padding after the IP packet
        f
    }

    #[test]
    fn the_captured_exchange_decodes_from_frames() {
        let mut tracker = DhcpTracker::new();
        let c = SniffCounters::default();
        let mut events = Vec::new();
        for (_, payload) in captured() {
            let f = frame(&payload, 68, 67);
            assert_eq!(dhcp_payload(&f), Some(payload.as_slice()));
            events.extend(observe(&f, &mut tracker, &c));
        }
        let kinds: Vec<_> = events.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            vec![
                LeaseKind::Bind,
                LeaseKind::Bind,
                LeaseKind::Bind,
                LeaseKind::Release
            ]
        );
        assert_eq!(c.malformed.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn other_traffic_and_broken_frames_are_rejected() {
        let payload = vec![0u8; 300];
        assert!(dhcp_payload(&frame(&payload, 53, 53)).is_none(), "DNS");
        let mut tcp = frame(&payload, 68, 67);
        tcp[23] = 6;
        assert!(dhcp_payload(&tcp).is_none(), "TCP");
        let mut fragment = frame(&payload, 68, 67);
        fragment[20] = 0x20; // more fragments
        assert!(dhcp_payload(&fragment).is_none());
        let mut arp = frame(&payload, 68, 67);
        arp[12..14].copy_from_slice(&[0x08, 0x06]);
        assert!(dhcp_payload(&arp).is_none());
        let whole = frame(&payload, 67, 68);
        for n in 0..whole.len() - 4 {
            assert!(dhcp_payload(&whole[..n]).is_none(), "cut at {n}");
        }
        let mut liar = frame(&payload, 68, 67);
        liar[38..40].copy_from_slice(&9000u16.to_be_bytes()); // UDP length past the end
        assert!(dhcp_payload(&liar).is_none());
    }

    #[test]
    fn the_filter_jumps_stay_inside_the_program() {
        for (pc, (code, jt, jf, _)) in DHCP_FILTER.iter().enumerate() {
            if code & 0x07 == 0x05 {
                assert!(pc + 1 + usize::from(*jt) < DHCP_FILTER.len());
                assert!(pc + 1 + usize::from(*jf) < DHCP_FILTER.len());
            }
        }
        assert_eq!(DHCP_FILTER.last().map(|i| i.0), Some(0x06));
    }
}
