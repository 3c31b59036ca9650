//! Starting everything the `[identity]` settings ask for: the service (with its event log in
//! the data directory), the file followers, the upkeep thread, the DHCP sniffer and the RADIUS
//! listener. This is what `main` calls; each piece can also be started on its own.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::config::IdentitySettings;
use super::follow::{self, FollowerHandle};
use super::pseudonym::{PseudonymError, Pseudonymiser};
use super::radius_listener::{RadiusCounters, RadiusListener, RadiusListenerError};
use super::service::{IdentityService, MaintenanceHandle, ServiceOptions};
use super::sniff::{SniffError, Sniffer, SnifferHandle};
use super::store::{JsonlEventLog, StoreError};
use crate::shutdown::Shutdown;

/// Retention is applied this often while running.
const PRUNE_EVERY: Duration = Duration::from_secs(6 * 3600);

/// Why identity could not start.
#[derive(Debug, thiserror::Error)]
pub enum IdentityStartError {
    /// The event log cannot be opened or replayed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The pseudonymisation key cannot be used.
    #[error(transparent)]
    Pseudonym(#[from] PseudonymError),
    /// The sniffer cannot start.
    #[error(transparent)]
    Sniff(#[from] SniffError),
    /// The RADIUS listener cannot bind.
    #[error(transparent)]
    Radius(#[from] RadiusListenerError),
    /// A thread cannot be started.
    #[error("cannot start an identity thread: {0}")]
    Thread(#[from] std::io::Error),
}

/// The running identity subsystem. Dropping it stops the threads (with a final fsync); the
/// RADIUS listener stops with the shutdown signal.
#[derive(Debug)]
pub struct IdentityRuntime {
    /// The service, for lookups.
    pub service: IdentityService,
    /// The RADIUS listener's counters, when it runs.
    pub radius_counters: Option<Arc<RadiusCounters>>,
    /// The RADIUS listener task, when it runs.
    pub radius_task: Option<tokio::task::JoinHandle<Result<(), RadiusListenerError>>>,
    followers: FollowerHandle,
    sniffer: Option<SnifferHandle>,
    maintenance: MaintenanceHandle,
}

impl IdentityRuntime {
    /// Stops the threads, fsyncing the event log.
    pub fn stop(self) {
        let IdentityRuntime {
            followers,
            sniffer,
            maintenance,
            ..
        } = self;
        followers.stop();
        drop(sniffer);
        maintenance.stop();
    }
}

/// Opens the service from `data_dir` (blocking: call from a blocking context).
pub fn open_service(
    settings: &IdentitySettings,
    data_dir: &Path,
) -> Result<IdentityService, IdentityStartError> {
    let pseudonymiser = if settings.pseudonymise {
        Some(Pseudonymiser::load_or_create(data_dir)?)
    } else {
        None
    };
    let options = ServiceOptions {
        session_timeout: settings.session_timeout,
        retention: settings.retention,
        pseudonymiser,
    };
    let log = JsonlEventLog::open(data_dir)?;
    let (service, report) = IdentityService::open(options, Box::new(log), SystemTime::now())?;
    if report.skipped > 0 {
        tracing::warn!(report = %report, "skipped unreadable records in the identity event log");
    }
    tracing::info!(events = report.records, "identity history loaded");
    Ok(service)
}

/// Starts every source the settings enable.
pub async fn start(
    settings: IdentitySettings,
    data_dir: &Path,
    shutdown: Shutdown,
) -> Result<IdentityRuntime, IdentityStartError> {
    let dir = data_dir.to_path_buf();
    let s = settings.clone();
    let service = tokio::task::spawn_blocking(move || open_service(&s, &dir))
        .await
        .map_err(|e| IdentityStartError::Thread(std::io::Error::other(e)))??;
    let maintenance = service.maintain(settings.fsync_interval, PRUNE_EVERY)?;
    let followers = follow::spawn(
        follow::from_settings(&settings),
        service.clone(),
        settings.poll_interval,
    )?;
    let sniffer = match &settings.sniff_interface {
        Some(name) => Some(Sniffer::open(name)?.spawn(service.clone())?),
        None => None,
    };
    let (radius_counters, radius_task) = match settings.radius_listen {
        Some(addr) => {
            let listener =
                RadiusListener::bind(addr, settings.radius_clients.clone(), service.clone())
                    .await?;
            let counters = listener.counters();
            (Some(counters), Some(tokio::spawn(listener.run(shutdown))))
        }
        None => (None, None),
    };
    Ok(IdentityRuntime {
        service,
        radius_counters,
        radius_task,
        followers,
        sniffer,
        maintenance,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::config::IdentityConfig;

    #[tokio::test]
    async fn starts_from_a_config_and_follows_a_leases_file() {
        let dir = tempfile::tempdir().unwrap();
        let leases = dir.path().join("dnsmasq.leases");
        std::fs::write(
            &leases,
            include_str!("../../tests/fixtures/identity/dnsmasq-1.leases"),
        )
        .unwrap();
        let config: IdentityConfig = toml::from_str(
            "dnsmasq_leases = \"dnsmasq.leases\"\npoll_interval_ms = 50\nradius_listen = \"127.0.0.1:0\"\n[[radius_clients]]\nsubnet = \"127.0.0.1/32\"\nsecret = \"testing123\"\n",
        )
        .unwrap();
        let settings = config.validate(dir.path()).unwrap();
        let shutdown = Shutdown::new();
        let rt = start(settings, &dir.path().join("data"), shutdown.clone())
            .await
            .unwrap();
        let ip = "10.200.1.130".parse().unwrap();
        let mut found = None;
        for _ in 0..100 {
            found = rt.service.lookup(ip, SystemTime::now());
            if found.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(
            found.and_then(|a| a.hostname).as_deref(),
            Some("alice-laptop")
        );
        shutdown.trigger();
        if let Some(task) = rt.radius_task {
            task.await.unwrap().unwrap();
        }
        let rt = IdentityRuntime {
            radius_task: None,
            ..rt
        };
        rt.stop();
        let log = std::fs::read_to_string(dir.path().join("data/identity-events.jsonl")).unwrap();
        assert_eq!(log.lines().count(), 2, "both leases were stored");
    }
}
