//! A handler's hold on one event: complete it, release it, or drop it.
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{DedupError, Deduplicator, Settle};

/// One event claimed in a [`Deduplicator`] for a lease: settle it with
/// [`complete`](Self::complete) when it was handled or
/// [`release`](Self::release) when it was not.
///
/// Dropped unsettled (a handler that failed, panicked or was cancelled), it
/// is released in the background, so Sinch's retry is handled; without a
/// runtime to do that, it is left to expire at the end of its lease.
#[must_use = "an unsettled claim is released when dropped"]
pub struct Claim {
    store: Arc<dyn Deduplicator>,
    key: String,
    owner: String,
    expires: Instant,
    settled: bool,
}

impl fmt::Debug for Claim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Claim")
            .field("key", &self.key)
            .field("expires_in", &self.expires_in())
            .field("settled", &self.settled)
            .finish_non_exhaustive()
    }
}

impl Claim {
    #[cfg_attr(not(feature = "axum"), allow(dead_code))] // the receiver's
    pub(crate) fn new(
        store: Arc<dyn Deduplicator>,
        key: String,
        owner: String,
        lease: Duration,
    ) -> Self {
        Self {
            store,
            key,
            owner,
            expires: Instant::now() + lease,
            settled: false,
        }
    }

    /// The key as stored.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Time left on the lease (zero once it has expired: another receiver
    /// may then claim the event).
    pub fn expires_in(&self) -> Duration {
        self.expires.saturating_duration_since(Instant::now())
    }

    /// Records the event as handled: later copies are answered 200 without
    /// being handled. [`Settle::NotHeld`] when the lease had expired and
    /// another receiver has claimed or completed the event since.
    pub async fn complete(mut self) -> Result<Settle, DedupError> {
        self.settled = true;
        self.store.complete(&self.key, &self.owner).await
    }

    /// Gives the event up: the next copy Sinch sends is handled.
    /// [`Settle::NotHeld`] when the claim was no longer this one's. An
    /// error (the store could not answer) leaves it to expire.
    pub async fn release(mut self) -> Result<Settle, DedupError> {
        self.settled = true;
        self.store.release(&self.key, &self.owner).await
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!(key = %self.key, "claim dropped outside a runtime: left to expire");
            return;
        };
        let (store, key, owner) = (
            self.store.clone(),
            std::mem::take(&mut self.key),
            std::mem::take(&mut self.owner),
        );
        runtime.spawn(async move {
            match store.release(&key, &owner).await {
                Ok(_) => tracing::debug!(%key, "unsettled claim released"),
                Err(error) => {
                    tracing::warn!(%key, %error, "unsettled claim not released: left to expire")
                }
            }
        });
    }
}
