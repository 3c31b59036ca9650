//! [`IdentityService`]: the shared, concurrent attribution service.
//!
//! Sources push events in ([`IdentityService::ingest`]); the proxy asks
//! [`IdentityService::lookup`] at accept time. The index sits behind a `RwLock`: a lookup takes
//! the read lock for a hash lookup and a binary search (well under a microsecond, no I/O, no
//! allocation beyond reference counts), and ingestion takes the write lock for at most
//! [`APPLY_BATCH`] events at a time, so a large file read at start never stalls lookups for
//! long. Ingestion itself is serialised by a separate mutex that also guards persistence.
//!
//! On the way in, user names are pseudonymised (when configured), events already known are
//! dropped (files are re-read from their start after a restart or a rotation: the same lease
//! block or detail record gives the same event), and only events that changed the index are
//! appended to the [`EventStore`]. Replaying that log at start rebuilds the same index.
//! [`IdentityService::maintain`] fsyncs the log in batches and applies retention.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::attribution::{Attribution, AttributionIndex, IndexStats};
use super::devices::{current_devices, Device};
use super::event::{IdentityEvent, Source, UnixTime};
use super::ip_history::Applied;
use super::pseudonym::Pseudonymiser;
use super::report::ParseReport;
use super::sessions::DEFAULT_SESSION_TIMEOUT_SECS;
use super::store::{EventStore, StoreError};

/// The most events applied under one hold of the write lock.
pub const APPLY_BATCH: usize = 512;

/// Seconds since the Unix epoch (negative before it).
pub fn unix_time(t: SystemTime) -> UnixTime {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => UnixTime::try_from(d.as_secs()).unwrap_or(UnixTime::MAX),
        Err(e) => -UnixTime::try_from(e.duration().as_secs()).unwrap_or(UnixTime::MAX),
    }
}

/// How the service behaves.
#[derive(Debug, Clone)]
pub struct ServiceOptions {
    /// RADIUS sessions without a Stop end this long after their last update (seconds).
    pub session_timeout: UnixTime,
    /// History older than this (seconds) is forgotten.
    pub retention: UnixTime,
    /// Replace user names with keyed-hash IDs.
    pub pseudonymiser: Option<Pseudonymiser>,
}

impl Default for ServiceOptions {
    fn default() -> Self {
        ServiceOptions {
            session_timeout: DEFAULT_SESSION_TIMEOUT_SECS,
            retention: 90 * 86_400,
            pseudonymiser: None,
        }
    }
}

/// Counts of what the service did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServiceStats {
    /// Events handed to [`IdentityService::ingest`].
    pub received: u64,
    /// Events dropped because they were already known (re-read files, retransmissions).
    pub duplicates: u64,
    /// Events that changed the index (and were stored).
    pub stored: u64,
    /// Events replayed from the store at start.
    pub replayed: u64,
    /// Store failures (events stay in memory but would be lost at restart).
    pub store_errors: u64,
    /// What the index did.
    pub index: IndexStats,
}

#[derive(Debug, Default)]
struct Counters {
    received: AtomicU64,
    duplicates: AtomicU64,
    stored: AtomicU64,
    replayed: AtomicU64,
    store_errors: AtomicU64,
}

struct Ingest {
    /// Hashes of events from re-readable files, with the time they stop mattering.
    seen: HashMap<u64, UnixTime>,
    store: Option<Box<dyn EventStore>>,
    dirty: bool,
    /// The earliest horizon of any stored event: retention rewrites the store only when this
    /// is past the cut-off.
    oldest: UnixTime,
}

struct Shared {
    index: RwLock<AttributionIndex>,
    ingest: Mutex<Ingest>,
    options: ServiceOptions,
    counters: Counters,
}

/// The attribution service; cheap to clone, safe to share between threads and tasks.
#[derive(Clone)]
pub struct IdentityService {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for IdentityService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentityService")
            .field("stats", &self.stats())
            .finish()
    }
}

/// Sources whose files are re-read from their start (their events carry their own times).
fn rereadable(source: Source) -> bool {
    matches!(
        source,
        Source::IscDhcpd | Source::Kea | Source::RadiusDetail | Source::RadiusPacket
    )
}

fn event_hash(ev: &IdentityEvent) -> u64 {
    let mut h = DefaultHasher::new();
    ev.hash(&mut h);
    h.finish()
}

fn changed(a: Applied) -> bool {
    matches!(a, Applied::Opened | Applied::Extended | Applied::Closed)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl IdentityService {
    /// A service that keeps history in memory only.
    pub fn in_memory(options: ServiceOptions) -> Self {
        Self::build(options, None)
    }

    fn build(options: ServiceOptions, store: Option<Box<dyn EventStore>>) -> Self {
        IdentityService {
            shared: Arc::new(Shared {
                index: RwLock::new(AttributionIndex::with_session_timeout(
                    options.session_timeout,
                )),
                ingest: Mutex::new(Ingest {
                    seen: HashMap::new(),
                    store,
                    dirty: false,
                    oldest: UnixTime::MAX,
                }),
                options,
                counters: Counters::default(),
            }),
        }
    }

    /// A service backed by `store`: replays it, then applies retention as of `now`. Returns
    /// the replay report (records read, unreadable records skipped).
    pub fn open(
        options: ServiceOptions,
        mut store: Box<dyn EventStore>,
        now: SystemTime,
    ) -> Result<(Self, ParseReport), StoreError> {
        let svc = Self::build(options, None);
        let report = {
            let mut ingest = lock(&svc.shared.ingest);
            let mut index = svc.write_index();
            let timeout = svc.shared.options.session_timeout;
            let mut oldest = UnixTime::MAX;
            let report = store.replay(&mut |ev| {
                let horizon = ev.horizon(timeout);
                oldest = oldest.min(horizon);
                if rereadable(ev.source()) {
                    ingest.seen.insert(event_hash(&ev), horizon);
                }
                apply(&mut index, &ev);
            })?;
            ingest.oldest = oldest;
            ingest.store = Some(store);
            report
        };
        svc.shared
            .counters
            .replayed
            .store(report.records, Ordering::Relaxed);
        svc.prune(now)?;
        Ok((svc, report))
    }

    fn write_index(&self) -> std::sync::RwLockWriteGuard<'_, AttributionIndex> {
        self.shared
            .index
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Applies events from a source (pseudonymising, dropping known ones) and stores those
    /// that changed the index. An `Err` means storing failed: the index was still updated.
    pub fn ingest(
        &self,
        events: impl IntoIterator<Item = IdentityEvent>,
    ) -> Result<usize, StoreError> {
        let c = &self.shared.counters;
        let timeout = self.shared.options.session_timeout;
        let mut ingest = lock(&self.shared.ingest);
        let mut fresh = Vec::new();
        for mut ev in events {
            c.received.fetch_add(1, Ordering::Relaxed);
            if let (Some(p), IdentityEvent::Accounting(a)) =
                (&self.shared.options.pseudonymiser, &mut ev)
            {
                if let Some(user) = &a.user {
                    a.user = Some(p.pseudonymise(user));
                }
            }
            if rereadable(ev.source()) {
                let h = event_hash(&ev);
                if ingest.seen.insert(h, ev.horizon(timeout)).is_some() {
                    c.duplicates.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
            }
            fresh.push(ev);
        }
        let mut to_store = Vec::new();
        for batch in fresh.chunks(APPLY_BATCH) {
            let mut index = self.write_index();
            for ev in batch {
                if changed(apply(&mut index, ev)) {
                    to_store.push(ev.clone());
                }
            }
        }
        c.stored.fetch_add(to_store.len() as u64, Ordering::Relaxed);
        let n = to_store.len();
        let ingest = &mut *ingest;
        if let Some(store) = ingest.store.as_mut() {
            if !to_store.is_empty() {
                ingest.oldest = to_store
                    .iter()
                    .map(|e| e.horizon(timeout))
                    .fold(ingest.oldest, UnixTime::min);
                ingest.dirty = true;
                if let Err(e) = store.append(&to_store) {
                    c.store_errors.fetch_add(1, Ordering::Relaxed);
                    return Err(e);
                }
            }
        }
        Ok(n)
    }

    /// Who was behind `ip` at `at`. No I/O; safe to call on the data path.
    pub fn lookup(&self, ip: IpAddr, at: SystemTime) -> Option<Attribution> {
        self.lookup_unix(ip, unix_time(at))
    }

    /// [`IdentityService::lookup`] with a Unix time.
    pub fn lookup_unix(&self, ip: IpAddr, t: UnixTime) -> Option<Attribution> {
        let index = self
            .shared
            .index
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        index.lookup(ip, t)
    }

    /// Every address held at `now`, with device, host name and user (for the admin view).
    pub fn current_devices(&self, now: SystemTime) -> Vec<Device> {
        let index = self
            .shared
            .index
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        current_devices(&index, unix_time(now))
    }

    /// Makes stored events durable (flush and fsync), if any were added since the last call.
    pub fn sync(&self) -> Result<(), StoreError> {
        let mut guard = lock(&self.shared.ingest);
        let ingest = &mut *guard;
        if !ingest.dirty {
            return Ok(());
        }
        if let Some(store) = ingest.store.as_mut() {
            store.sync()?;
        }
        ingest.dirty = false;
        Ok(())
    }

    /// Forgets history older than the retention period, in memory and in the store.
    pub fn prune(&self, now: SystemTime) -> Result<(), StoreError> {
        let cutoff = unix_time(now).saturating_sub(self.shared.options.retention);
        let timeout = self.shared.options.session_timeout;
        let mut guard = lock(&self.shared.ingest);
        let ingest = &mut *guard;
        self.write_index().prune_before(cutoff);
        ingest.seen.retain(|_, horizon| *horizon > cutoff);
        if ingest.oldest > cutoff {
            return Ok(()); // nothing stored is old enough to drop: no rewrite
        }
        if let Some(store) = ingest.store.as_mut() {
            let mut oldest = UnixTime::MAX;
            store.retain(&mut |ev| {
                let horizon = ev.horizon(timeout);
                let keep = horizon > cutoff;
                if keep {
                    oldest = oldest.min(horizon);
                }
                keep
            })?;
            ingest.oldest = oldest;
        }
        Ok(())
    }

    /// Counts so far.
    pub fn stats(&self) -> ServiceStats {
        let c = &self.shared.counters;
        let index = self
            .shared
            .index
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .stats();
        ServiceStats {
            received: c.received.load(Ordering::Relaxed),
            duplicates: c.duplicates.load(Ordering::Relaxed),
            stored: c.stored.load(Ordering::Relaxed),
            replayed: c.replayed.load(Ordering::Relaxed),
            store_errors: c.store_errors.load(Ordering::Relaxed),
            index,
        }
    }

    /// Runs upkeep on a dedicated thread: fsync every `sync_every`, retention every
    /// `prune_every`; a final fsync when stopped.
    pub fn maintain(
        &self,
        sync_every: Duration,
        prune_every: Duration,
    ) -> std::io::Result<MaintenanceHandle> {
        let svc = self.clone();
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("identity-store".into())
            .spawn(move || {
                let mut last_prune = std::time::Instant::now();
                loop {
                    let stop = !matches!(
                        rx.recv_timeout(sync_every),
                        Err(std::sync::mpsc::RecvTimeoutError::Timeout)
                    );
                    if let Err(e) = svc.sync() {
                        svc.shared
                            .counters
                            .store_errors
                            .fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(error = %e, "cannot sync the identity event log");
                    }
                    if stop {
                        break;
                    }
                    if last_prune.elapsed() >= prune_every {
                        last_prune = std::time::Instant::now();
                        if let Err(e) = svc.prune(SystemTime::now()) {
                            tracing::warn!(error = %e, "cannot apply identity retention");
                        }
                    }
                }
            })?;
        Ok(MaintenanceHandle {
            stop: Some(tx),
            thread: Some(thread),
        })
    }
}

fn apply(index: &mut AttributionIndex, ev: &IdentityEvent) -> Applied {
    match ev {
        IdentityEvent::Lease(l) => index.apply_lease(l),
        IdentityEvent::Accounting(a) => index.apply_accounting(a),
    }
}

/// The upkeep thread; stops (after a final fsync) on [`MaintenanceHandle::stop`] or drop.
#[derive(Debug)]
pub struct MaintenanceHandle {
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl MaintenanceHandle {
    /// Stops the thread and waits for its final fsync.
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

impl Drop for MaintenanceHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::event::{AccountingEvent, AcctStatus, LeaseEnd, LeaseEvent, LeaseKind};
    use crate::identity::store::JsonlEventLog;
    use crate::identity::MacAddr;

    const IP: &str = "10.20.3.41";
    const NOW: UnixTime = 1_800_000_000;

    fn at(t: UnixTime) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(t.unsigned_abs())
    }

    fn bind(mac: &str, start: UnixTime, source: Source) -> IdentityEvent {
        IdentityEvent::Lease(LeaseEvent {
            kind: LeaseKind::Bind,
            ip: IP.parse().unwrap(),
            mac: MacAddr::parse(mac).ok(),
            hostname: Some(format!("host-{}", &mac[15..])),
            client_id: None,
            start,
            end: LeaseEnd::At(start + 600),
            source,
        })
    }

    fn start(user: &str, mac: &str, t: UnixTime) -> IdentityEvent {
        IdentityEvent::Accounting(AccountingEvent {
            status: AcctStatus::Start,
            user: Some(user.into()),
            mac: MacAddr::parse(mac).ok(),
            ssid: None,
            framed_ip: None,
            session_id: Some("1".into()),
            nas_ip: None,
            nas_identifier: None,
            time: t,
            source: Source::RadiusDetail,
        })
    }

    fn user(svc: &IdentityService, t: UnixTime) -> Option<String> {
        svc.lookup(IP.parse().unwrap(), at(t))
            .and_then(|a| a.user.as_deref().map(str::to_owned))
    }

    #[test]
    fn history_survives_a_restart_and_rereads_are_not_stored_twice() {
        let dir = tempfile::tempdir().unwrap();
        let open = || {
            let log = JsonlEventLog::open(dir.path()).unwrap();
            IdentityService::open(ServiceOptions::default(), Box::new(log), at(NOW)).unwrap()
        };
        let (svc, report) = open();
        assert_eq!(report.records, 0);
        let events = vec![
            bind("02:00:00:00:00:0a", NOW - 100, Source::IscDhcpd),
            start("alice", "02:00:00:00:00:0a", NOW - 90),
        ];
        assert_eq!(svc.ingest(events.clone()).unwrap(), 2);
        assert_eq!(
            svc.ingest(events.clone()).unwrap(),
            0,
            "the same file read again"
        );
        assert_eq!(svc.stats().duplicates, 2);
        svc.sync().unwrap();
        drop(svc);

        let log_inode = || {
            use std::os::unix::fs::MetadataExt;
            std::fs::metadata(dir.path().join(crate::identity::store::EVENT_LOG_FILE))
                .unwrap()
                .ino()
        };
        let before = log_inode();
        let (svc, report) = open();
        assert_eq!(report.records, 2);
        assert_eq!(
            log_inode(),
            before,
            "nothing to drop: the log is not rewritten"
        );
        assert_eq!(user(&svc, NOW - 50).as_deref(), Some("alice"));
        // After a restart the follower reads its files from the start again: nothing new.
        assert_eq!(svc.ingest(events).unwrap(), 0);
        assert_eq!(svc.stats().duplicates, 2);
        // A dnsmasq snapshot re-read binds "now" inside the known lease: unchanged, not stored.
        let mut again = bind("02:00:00:00:00:0a", NOW - 50, Source::IscDhcpd);
        if let IdentityEvent::Lease(l) = &mut again {
            l.end = LeaseEnd::At(NOW + 500);
        }
        assert_eq!(svc.ingest([again.clone()]).unwrap(), 0);
        if let IdentityEvent::Lease(l) = &mut again {
            l.source = Source::Dnsmasq;
            l.start = NOW - 40;
        }
        assert_eq!(
            svc.ingest([again.clone()]).unwrap(),
            1,
            "a new source corroborates"
        );
        assert_eq!(svc.ingest([again]).unwrap(), 0);
    }

    #[test]
    fn retention_forgets_old_history_in_memory_and_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let options = ServiceOptions {
            retention: 86_400,
            session_timeout: 3600,
            ..ServiceOptions::default()
        };
        let log = JsonlEventLog::open(dir.path()).unwrap();
        let (svc, _) = IdentityService::open(options.clone(), Box::new(log), at(NOW)).unwrap();
        svc.ingest([
            bind("02:00:00:00:00:0a", NOW - 3 * 86_400, Source::Kea),
            start("old", "02:00:00:00:00:0a", NOW - 3 * 86_400),
            bind("02:00:00:00:00:0b", NOW - 100, Source::Kea),
        ])
        .unwrap();
        svc.prune(at(NOW)).unwrap();
        assert!(svc
            .lookup_unix(IP.parse().unwrap(), NOW - 3 * 86_400)
            .is_none());
        assert!(svc.lookup_unix(IP.parse().unwrap(), NOW - 50).is_some());
        drop(svc);
        let log = JsonlEventLog::open(dir.path()).unwrap();
        let (svc, report) = IdentityService::open(options, Box::new(log), at(NOW)).unwrap();
        assert_eq!(report.records, 1, "only the recent bind is left in the log");
        assert!(svc.lookup_unix(IP.parse().unwrap(), NOW - 50).is_some());
    }

    #[test]
    fn user_names_are_pseudonymised_before_they_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let p = Pseudonymiser::from_key(b"k");
        let options = ServiceOptions {
            pseudonymiser: Some(p.clone()),
            ..ServiceOptions::default()
        };
        let log = JsonlEventLog::open(dir.path()).unwrap();
        let (svc, _) = IdentityService::open(options, Box::new(log), at(NOW)).unwrap();
        svc.ingest([
            bind("02:00:00:00:00:0a", NOW - 100, Source::Kea),
            start("alice", "02:00:00:00:00:0a", NOW - 90),
        ])
        .unwrap();
        assert_eq!(user(&svc, NOW - 50), Some(p.pseudonymise("alice")));
        svc.sync().unwrap();
        let stored =
            std::fs::read_to_string(dir.path().join(crate::identity::store::EVENT_LOG_FILE))
                .unwrap();
        assert!(!stored.contains("alice") && stored.contains(&p.pseudonymise("alice")));
    }

    #[test]
    fn lookups_run_while_another_thread_ingests() {
        let svc = IdentityService::in_memory(ServiceOptions::default());
        let writer = svc.clone();
        let t = std::thread::spawn(move || {
            for i in 0..2000 {
                let mac = format!("02:00:00:00:{:02x}:{:02x}", i / 256, i % 256);
                writer
                    .ingest([bind(&mac, NOW + i * 10, Source::DhcpSniff)])
                    .unwrap();
            }
        });
        let mut seen = 0;
        while !t.is_finished() {
            seen += usize::from(svc.lookup_unix(IP.parse().unwrap(), NOW + 5).is_some());
        }
        t.join().unwrap();
        let last = svc.lookup_unix(IP.parse().unwrap(), NOW + 19_995).unwrap();
        assert_eq!(last.mac.unwrap().to_string(), "02:00:00:00:07:cf");
        assert_eq!(svc.stats().received, 2000);
        let _ = seen;
        assert_eq!(svc.current_devices(at(NOW + 19_995)).len(), 1);
    }
}
