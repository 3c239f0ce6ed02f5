//! The store's background writers (the ingest batch writers and the
//! quarantine writer): started with the store, stopped on request — they
//! write what is queued and exit — and awaited, each exit logged.

use std::sync::Mutex;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Default)]
pub(crate) struct Writers {
    stop: CancellationToken,
    tasks: Mutex<Vec<(&'static str, JoinHandle<()>)>>,
}

impl Writers {
    /// Cancelled when the writers should finish what is queued and exit.
    pub(crate) fn stop_token(&self) -> CancellationToken {
        self.stop.clone()
    }

    pub(crate) fn spawn(
        &self,
        name: &'static str,
        task: impl Future<Output = ()> + Send + 'static,
    ) {
        let handle = tokio::spawn(task);
        if let Ok(mut tasks) = self.tasks.lock() {
            tasks.push((name, handle));
        }
    }

    /// Stops the writers and waits for each, logging how it ended.
    pub(crate) async fn stop(&self) {
        self.stop.cancel();
        let tasks = self
            .tasks
            .lock()
            .map(|mut tasks| std::mem::take(&mut *tasks))
            .unwrap_or_default();
        for (name, handle) in tasks {
            match handle.await {
                Ok(()) => tracing::debug!(writer = name, "writer stopped"),
                Err(err) if err.is_panic() => {
                    tracing::error!(writer = name, error = %err, "writer panicked");
                }
                Err(err) => tracing::warn!(writer = name, error = %err, "writer was cancelled"),
            }
        }
    }
}
