//! File followers: DHCP lease files and RADIUS detail files read as they change, without
//! re-reading from the start each time and without missing records.
//!
//! Polling, not inotify: every `poll_interval` (500 ms by default) each follower stats its
//! files (inode, size, modification time) and reads only what is new. That works the same on
//! every filesystem, survives files being replaced, and costs a few `stat` calls per second.
//! All followers run on one dedicated thread ([`spawn`]), never on the async runtime.
//!
//! # Layout
//! - [`tail`]: [`tail::TailReader`], the bytes appended to one path across truncation and
//!   rotation by rename.
//! - [`append`]: [`AppendFollower`] for append-only logs (ISC dhcpd, Kea, one detail file).
//! - [`dnsmasq`]: [`DnsmasqFollower`] for dnsmasq's rewritten-in-place leases file (debounce,
//!   snapshot diff).
//! - [`detail_dir`]: [`DetailDirFollower`] for a directory of per-day (per-NAS) detail files.

pub mod append;
pub mod detail_dir;
pub mod dnsmasq;
pub mod tail;

use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

pub use append::AppendFollower;
pub use detail_dir::DetailDirFollower;
pub use dnsmasq::DnsmasqFollower;

use super::config::IdentitySettings;
use super::event::{IdentityEvent, UnixTime};
use super::report::ParseReport;
use super::service::{unix_time, IdentityService};

/// What one poll of one follower produced.
#[derive(Debug, Default)]
pub struct Polled {
    /// New events, in file order.
    pub events: Vec<IdentityEvent>,
    /// What the parser made of the text read (skipped records are counted here).
    pub report: ParseReport,
    /// An I/O error (the follower keeps going and retries at the next poll).
    pub error: Option<std::io::Error>,
}

/// A source read by polling.
pub trait Follower: Send {
    /// The source's name, for logs.
    fn name(&self) -> &'static str;
    /// Reads what changed since the last poll; `now` is the time given to events that carry
    /// no time of their own (dnsmasq snapshot changes).
    fn poll(&mut self, now: UnixTime) -> Polled;
}

/// The followers the settings ask for.
pub fn from_settings(settings: &IdentitySettings) -> Vec<Box<dyn Follower>> {
    let mut out: Vec<Box<dyn Follower>> = Vec::new();
    if let Some(p) = &settings.dnsmasq_leases {
        out.push(Box::new(DnsmasqFollower::new(p)));
    }
    if let Some(p) = &settings.dhcpd_leases {
        out.push(Box::new(AppendFollower::dhcpd(p)));
    }
    if let Some(p) = &settings.kea_leases {
        out.push(Box::new(AppendFollower::kea(p)));
    }
    if let Some(d) = &settings.radius_detail {
        let max_age = Duration::from_secs(settings.retention.unsigned_abs());
        out.push(Box::new(DetailDirFollower::new(
            &d.dir,
            d.pattern.clone(),
            Some(max_age),
        )));
    }
    out
}

/// Polls every follower once and hands the events to `service`; returns the number of events.
pub fn poll_all(
    followers: &mut [Box<dyn Follower>],
    service: &IdentityService,
    now: UnixTime,
) -> usize {
    let mut total = 0;
    for f in followers.iter_mut() {
        let polled = f.poll(now);
        if let Some(err) = &polled.error {
            tracing::warn!(source = f.name(), error = %err, "cannot read identity source; retrying at the next poll");
        }
        if polled.report.skipped > 0 {
            // Counts and line numbers only: never record content.
            tracing::warn!(source = f.name(), report = %polled.report, "skipped malformed identity records");
        }
        total += polled.events.len();
        if !polled.events.is_empty() {
            if let Err(err) = service.ingest(polled.events) {
                tracing::warn!(source = f.name(), error = %err, "identity events were applied but not persisted");
            }
        }
    }
    total
}

/// The thread running the followers; stops (and joins) on [`FollowerHandle::stop`] or drop.
#[derive(Debug)]
pub struct FollowerHandle {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl FollowerHandle {
    /// Stops the thread after its current poll and waits for it.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for FollowerHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Runs `followers` on a dedicated thread, polling every `interval`.
pub fn spawn(
    mut followers: Vec<Box<dyn Follower>>,
    service: IdentityService,
    interval: Duration,
) -> std::io::Result<FollowerHandle> {
    let (tx, rx) = mpsc::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("identity-follow".into())
        .spawn(move || loop {
            poll_all(&mut followers, &service, unix_time(SystemTime::now()));
            match rx.recv_timeout(interval) {
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        })?;
    Ok(FollowerHandle {
        stop: Some(tx),
        thread: Some(thread),
    })
}
