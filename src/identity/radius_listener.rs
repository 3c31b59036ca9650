//! The RADIUS accounting listener (RFC 2866, UDP 1813) for controllers that send gatewatch a
//! copy of their accounting.
//!
//! For each datagram: the source must fall in a configured client subnet; the packet must
//! parse as an Accounting-Request whose Request Authenticator verifies with that client's
//! secret, and whose `Message-Authenticator`, if present, verifies too. Anything else is
//! dropped without a reply and counted ([`RadiusCounters`]). A retransmission (same source,
//! Identifier and authenticator within [`DUPLICATE_WINDOW`]) is answered again but applied
//! once. A valid request is applied to the [`IdentityService`] (on a blocking thread: it may
//! write the event log) and only then acknowledged with an Accounting-Response, so the NAS
//! retransmits anything gatewatch did not take.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio::net::UdpSocket;

use super::config::RadiusClient;
use super::event::IdentityEvent;
use super::radius_hmac::{check_message_authenticator, MessageAuth};
use super::radius_packet::{
    build_accounting_response, verify_request_authenticator, PacketError, RadiusPacket,
    CODE_ACCOUNTING_REQUEST, MAX_LENGTH,
};
use super::service::{unix_time, IdentityService};
use crate::shutdown::Shutdown;

/// Retransmissions within this window are answered but not applied again.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(5);
/// At most this many recent requests are remembered for duplicate detection.
const MAX_REMEMBERED: usize = 16_384;

/// What the listener did with the datagrams it received.
#[derive(Debug, Default)]
pub struct RadiusCounters {
    /// Datagrams received.
    pub received: AtomicU64,
    /// Requests applied and acknowledged.
    pub accepted: AtomicU64,
    /// Retransmissions answered without applying them again.
    pub duplicates: AtomicU64,
    /// Dropped: the source is not a configured client.
    pub unknown_client: AtomicU64,
    /// Dropped: the Request Authenticator does not verify (wrong secret or tampering).
    pub bad_authenticator: AtomicU64,
    /// Dropped: the Message-Authenticator does not verify.
    pub bad_message_authenticator: AtomicU64,
    /// Dropped: not a well-formed Accounting-Request.
    pub malformed: AtomicU64,
    /// Acknowledged but not applied: an Acct-Status-Type gatewatch does not use.
    pub unsupported: AtomicU64,
    /// Replies that could not be sent.
    pub send_errors: AtomicU64,
}

/// A point-in-time copy of [`RadiusCounters`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RadiusCounts {
    /// See [`RadiusCounters::received`].
    pub received: u64,
    /// See [`RadiusCounters::accepted`].
    pub accepted: u64,
    /// See [`RadiusCounters::duplicates`].
    pub duplicates: u64,
    /// See [`RadiusCounters::unknown_client`].
    pub unknown_client: u64,
    /// See [`RadiusCounters::bad_authenticator`].
    pub bad_authenticator: u64,
    /// See [`RadiusCounters::bad_message_authenticator`].
    pub bad_message_authenticator: u64,
    /// See [`RadiusCounters::malformed`].
    pub malformed: u64,
    /// See [`RadiusCounters::unsupported`].
    pub unsupported: u64,
    /// See [`RadiusCounters::send_errors`].
    pub send_errors: u64,
}

impl RadiusCounters {
    /// The current counts.
    pub fn snapshot(&self) -> RadiusCounts {
        let l = |c: &AtomicU64| c.load(Ordering::Relaxed);
        RadiusCounts {
            received: l(&self.received),
            accepted: l(&self.accepted),
            duplicates: l(&self.duplicates),
            unknown_client: l(&self.unknown_client),
            bad_authenticator: l(&self.bad_authenticator),
            bad_message_authenticator: l(&self.bad_message_authenticator),
            malformed: l(&self.malformed),
            unsupported: l(&self.unsupported),
            send_errors: l(&self.send_errors),
        }
    }
}

fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// Errors that stop the listener.
#[derive(Debug, thiserror::Error)]
pub enum RadiusListenerError {
    /// The socket cannot be bound.
    #[error("cannot listen for RADIUS accounting on {addr}: {source}; is another RADIUS server using the port, or does gatewatch lack permission for a port below 1024?")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// Receiving failed.
    #[error("RADIUS accounting socket failed: {0}")]
    Receive(std::io::Error),
}

/// What to do with one datagram.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    /// Drop it silently (already counted).
    Drop,
    /// Apply the event (if any), then send the response.
    Answer(Option<IdentityEvent>, [u8; 20]),
}

/// What makes a request a retransmission: source, Identifier and Request Authenticator.
type RequestKey = (SocketAddr, u8, [u8; 16]);

/// Recent requests, for duplicate detection.
#[derive(Debug, Default)]
struct Recent {
    seen: HashMap<RequestKey, Instant>,
    order: VecDeque<(RequestKey, Instant)>,
}

impl Recent {
    fn is_duplicate(&mut self, key: RequestKey, now: Instant) -> bool {
        while let Some((k, t)) = self.order.front() {
            if now.duration_since(*t) < DUPLICATE_WINDOW && self.order.len() < MAX_REMEMBERED {
                break;
            }
            if self.seen.get(k) == Some(t) {
                self.seen.remove(k);
            }
            self.order.pop_front();
        }
        if self.seen.contains_key(&key) {
            return true;
        }
        self.seen.insert(key, now);
        self.order.push_back((key, now));
        false
    }
}

/// The listener; see the module documentation.
#[derive(Debug)]
pub struct RadiusListener {
    socket: UdpSocket,
    clients: Arc<Vec<RadiusClient>>,
    service: IdentityService,
    counters: Arc<RadiusCounters>,
    recent: Recent,
}

impl RadiusListener {
    /// Binds `addr` (tests use `127.0.0.1:0`). `clients` should be most specific first, as
    /// [`super::config::IdentityConfig::validate`] orders them.
    pub async fn bind(
        addr: SocketAddr,
        clients: Vec<RadiusClient>,
        service: IdentityService,
    ) -> Result<Self, RadiusListenerError> {
        let socket = UdpSocket::bind(addr)
            .await
            .map_err(|source| RadiusListenerError::Bind { addr, source })?;
        Ok(RadiusListener {
            socket,
            clients: Arc::new(clients),
            service,
            counters: Arc::default(),
            recent: Recent::default(),
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// The counters (shared: they keep counting while the listener runs).
    pub fn counters(&self) -> Arc<RadiusCounters> {
        self.counters.clone()
    }

    /// Serves until `shutdown` is triggered.
    pub async fn run(mut self, shutdown: Shutdown) -> Result<(), RadiusListenerError> {
        let mut buf = vec![0u8; MAX_LENGTH + 1];
        loop {
            let (n, src) = tokio::select! {
                r = self.socket.recv_from(&mut buf) => match r {
                    Ok(x) => x,
                    // ICMP port unreachable from an earlier reply, and similar: not fatal.
                    Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => continue,
                    Err(e) => return Err(RadiusListenerError::Receive(e)),
                },
                () = shutdown.wait() => return Ok(()),
            };
            let verdict = self.judge(&buf[..n], src, Instant::now(), SystemTime::now());
            let Verdict::Answer(event, response) = verdict else {
                continue;
            };
            if let Some(ev) = event {
                let svc = self.service.clone();
                match tokio::task::spawn_blocking(move || svc.ingest([ev])).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => {
                        tracing::warn!(error = %e, "RADIUS accounting applied but not persisted")
                    }
                    Err(_) => continue, // the blocking task panicked: no ack, the NAS retries
                }
                bump(&self.counters.accepted);
            }
            if let Err(e) = self.socket.send_to(&response, src).await {
                bump(&self.counters.send_errors);
                tracing::debug!(error = %e, "cannot send an Accounting-Response");
            }
        }
    }

    fn judge(
        &mut self,
        datagram: &[u8],
        src: SocketAddr,
        now: Instant,
        wall: SystemTime,
    ) -> Verdict {
        let c = &self.counters;
        bump(&c.received);
        let ip = src.ip().to_canonical();
        let Some(client) = self.clients.iter().find(|cl| cl.subnet.contains(&ip)) else {
            bump(&c.unknown_client);
            tracing::debug!(%src, "RADIUS packet from an unknown client dropped");
            return Verdict::Drop;
        };
        let packet = match RadiusPacket::parse(datagram) {
            Ok(p) if p.code == CODE_ACCOUNTING_REQUEST => p,
            _ => {
                bump(&c.malformed);
                return Verdict::Drop;
            }
        };
        if !verify_request_authenticator(datagram, &client.secret) {
            bump(&c.bad_authenticator);
            tracing::debug!(%src, "RADIUS packet with a bad Request Authenticator dropped (wrong secret?)");
            return Verdict::Drop;
        }
        if check_message_authenticator(&packet, &client.secret) == MessageAuth::Invalid {
            bump(&c.bad_message_authenticator);
            return Verdict::Drop;
        }
        let response = build_accounting_response(&packet, &client.secret);
        if self
            .recent
            .is_duplicate((src, packet.identifier, packet.authenticator), now)
        {
            bump(&c.duplicates);
            return Verdict::Answer(None, response);
        }
        match packet.to_accounting_event(unix_time(wall)) {
            Ok(ev) => Verdict::Answer(Some(IdentityEvent::Accounting(ev)), response),
            Err(PacketError::UnsupportedStatus(_)) => {
                bump(&c.unsupported);
                Verdict::Answer(None, response)
            }
            Err(_) => {
                bump(&c.malformed);
                Verdict::Drop
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::radius_hmac::tests::signed;
    use crate::identity::service::ServiceOptions;

    const START: &[u8] = include_bytes!("../../tests/fixtures/identity/radius-acct-start.bin");
    const WRONG: &[u8] =
        include_bytes!("../../tests/fixtures/identity/radius-acct-wrong-secret.bin");

    fn clients() -> Vec<RadiusClient> {
        vec![RadiusClient {
            subnet: "127.0.0.0/8".parse().unwrap(),
            secret: b"testing123".to_vec(),
        }]
    }

    async fn listener() -> RadiusListener {
        let svc = IdentityService::in_memory(ServiceOptions::default());
        RadiusListener::bind("127.0.0.1:0".parse().unwrap(), clients(), svc)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn verdicts_for_each_kind_of_datagram() {
        let mut l = listener().await;
        let src: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        let t0 = Instant::now();
        let wall = SystemTime::now();
        let Verdict::Answer(Some(IdentityEvent::Accounting(ev)), resp) =
            l.judge(START, src, t0, wall)
        else {
            panic!("a valid Start is applied and answered");
        };
        assert_eq!(ev.user.as_deref(), Some("alice"));
        assert_eq!(resp[0], 5);
        // A retransmission: answered the same, not applied.
        assert_eq!(
            l.judge(START, src, t0 + Duration::from_secs(1), wall),
            Verdict::Answer(None, resp)
        );
        // After the window it counts as new again.
        assert!(matches!(
            l.judge(START, src, t0 + Duration::from_secs(7), wall),
            Verdict::Answer(Some(_), _)
        ));
        assert_eq!(l.judge(WRONG, src, t0, wall), Verdict::Drop);
        let outsider: SocketAddr = "192.0.2.1:1813".parse().unwrap();
        assert_eq!(l.judge(START, outsider, t0, wall), Verdict::Drop);
        assert_eq!(l.judge(&START[..30], src, t0, wall), Verdict::Drop);
        // Message-Authenticator: good passes, a bad one is dropped even with a good
        // Request Authenticator.
        let attrs = [
            40u8, 6, 0, 0, 0, 1, 31, 19, b'0', b'2', b'-', b'0', b'0', b'-', b'0', b'0', b'-',
            b'0', b'0', b'-', b'0', b'0', b'-', b'0', b'9',
        ];
        let good = signed(b"testing123", &attrs, true);
        assert!(matches!(
            l.judge(&good, src, t0, wall),
            Verdict::Answer(Some(_), _)
        ));
        let mut forged = signed(b"testing123", &attrs, false);
        forged.extend_from_slice(&[80, 18]);
        forged.extend_from_slice(&[1; 16]);
        let len = u16::try_from(forged.len()).unwrap().to_be_bytes();
        forged[2..4].copy_from_slice(&len);
        forged[4..20].fill(0);
        let mut md5 = <md5::Md5 as md5::Digest>::new();
        md5::Digest::update(&mut md5, &forged);
        md5::Digest::update(&mut md5, b"testing123");
        let auth = md5::Digest::finalize(md5);
        forged[4..20].copy_from_slice(&auth);
        assert_eq!(l.judge(&forged, src, t0, wall), Verdict::Drop);
        // An unsupported status (Failed = 15) is acknowledged, not applied.
        let failed = signed(b"testing123", &[40, 6, 0, 0, 0, 15], false);
        assert!(matches!(
            l.judge(&failed, src, t0, wall),
            Verdict::Answer(None, _)
        ));

        let c = l.counters().snapshot();
        assert_eq!(
            (
                c.received,
                c.duplicates,
                c.bad_authenticator,
                c.unknown_client,
                c.malformed
            ),
            (9, 1, 1, 1, 1)
        );
        assert_eq!((c.bad_message_authenticator, c.unsupported), (1, 1));
    }

    #[tokio::test]
    async fn serves_over_a_real_socket_until_shutdown() {
        let l = listener().await;
        let addr = l.local_addr().unwrap();
        let counters = l.counters();
        let svc = l.service.clone();
        let shutdown = Shutdown::new();
        let task = tokio::spawn(l.run(shutdown.clone()));
        let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let mut buf = [0u8; 64];
        for _ in 0..2 {
            client.send_to(START, addr).await.unwrap();
            let (n, _) = tokio::time::timeout(Duration::from_secs(5), client.recv_from(&mut buf))
                .await
                .unwrap()
                .unwrap();
            assert_eq!((n, buf[0], buf[1]), (20, 5, START[1]));
        }
        client.send_to(WRONG, addr).await.unwrap();
        let silent =
            tokio::time::timeout(Duration::from_millis(300), client.recv_from(&mut buf)).await;
        assert!(silent.is_err(), "no reply to a wrong secret");
        let c = counters.snapshot();
        assert_eq!((c.accepted, c.duplicates, c.bad_authenticator), (1, 1, 1));
        let a = svc
            .lookup("10.20.0.57".parse().unwrap(), SystemTime::now())
            .unwrap();
        assert_eq!(a.user.as_deref(), Some("alice"));
        shutdown.trigger();
        task.await.unwrap().unwrap();
    }
}
