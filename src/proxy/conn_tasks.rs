//! [`ConnTasks`]: work a connection hands off past its HTTP exchange (a `CONNECT` tunnel, a
//! WebSocket relay), kept inside the connection's lifetime. The connection waits for these
//! before it counts as closed, and dropping the connection (idle timeout, end of the shutdown
//! grace period) aborts them.

use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio::task::JoinSet;
use tracing::Instrument;

/// A connection's follow-up tasks.
#[derive(Debug, Clone, Default)]
pub struct ConnTasks {
    set: Arc<Mutex<JoinSet<()>>>,
}

impl ConnTasks {
    /// Runs `fut` as part of this connection, in the current span.
    pub fn spawn(&self, fut: impl Future<Output = ()> + Send + 'static) {
        let mut set = self
            .set
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        set.spawn(fut.instrument(tracing::Span::current()));
    }

    /// Waits for every task, including tasks spawned by tasks (a tunnel that upgrades to a
    /// WebSocket relay). Dropping this future aborts them.
    pub async fn join(&self) {
        loop {
            let mut set = {
                let mut guard = self
                    .set
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                std::mem::take(&mut *guard)
            };
            if set.is_empty() {
                return;
            }
            while set.join_next().await.is_some() {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn join_waits_and_dropping_it_aborts() {
        let tasks = ConnTasks::default();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tasks.spawn(async move {
            let _tx = tx;
            tokio::time::sleep(Duration::from_secs(3600)).await;
        });
        let joined = tokio::time::timeout(Duration::from_millis(50), tasks.join()).await;
        assert!(joined.is_err(), "join waits for the task");
        // The timeout dropped the join future, aborting the task: its sender is gone.
        assert!(rx.await.is_err());
    }
}
