//! "Is this event handled, being handled, or new?": the store receivers
//! share to turn Sinch's at-least-once delivery into "handled once".
//!
//! Each callback's [idempotency key](crate::events::CallbackEvent::idempotency_key)
//! goes through three states, as in AWS Lambda Powertools' idempotency
//! utility:
//!
//! 1. **claimed** ([`Deduplicator::claim`]): in progress, held by one
//!    receiver (its owner token) for a *lease*. A copy arriving meanwhile is
//!    told [`ClaimOutcome::InProgress`] (a receiver answers 503 with
//!    `Retry-After`, so Sinch tries again later). A lease whose owner died
//!    expires, and the next copy is claimed afresh: nothing stays stuck.
//! 2. **completed** ([`Deduplicator::complete`], after the handler
//!    succeeded): kept for the store's time-to-live; a copy arriving then is
//!    [`ClaimOutcome::Completed`] (answered 200 without handling it again).
//! 3. **released** ([`Deduplicator::release`], after the handler failed):
//!    gone, so Sinch's retry is claimed and handled.
//!
//! Completing and releasing take the owner token: a receiver whose lease
//! expired cannot complete or release a claim another receiver took since
//! ([`Settle::NotHeld`]). Each step is atomic: two concurrent claims of one
//! new key give one [`ClaimOutcome::Claimed`].
//!
//! [`MemoryDeduplicator`] serves one process; `shared::RedisDeduplicator`
//! (feature `redis`) is shared by replicas. `receive::Receiver` (feature
//! `axum`) drives it; [`Claim`] is what a handler holds.
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

mod claim;
mod memory;

pub use claim::Claim;
pub use memory::MemoryDeduplicator;

/// What a store's calls answer.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, DedupError>> + Send + 'a>>;

/// What a receiver asks a store for one callback.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClaimRequest<'a> {
    /// The event's key (as stored: the receiver prefixes it `event:`).
    pub key: &'a str,
    /// Who claims: a token unique to this claim.
    pub owner: &'a str,
    /// How long the claim holds unless completed or released.
    pub lease: Duration,
    /// A nonce key to record in the same atomic step, with how long to keep
    /// it: if it was seen already the callback is a replay
    /// ([`ClaimOutcome::ReplayedNonce`]) and the event is not looked at.
    pub nonce: Option<(&'a str, Duration)>,
}

impl<'a> ClaimRequest<'a> {
    /// A claim of `key` by `owner` for `lease`, without a nonce check.
    pub fn new(key: &'a str, owner: &'a str, lease: Duration) -> Self {
        Self {
            key,
            owner,
            lease,
            nonce: None,
        }
    }

    /// Also records `nonce_key` (kept `ttl`), refusing a nonce seen before.
    pub fn with_nonce(mut self, nonce_key: &'a str, ttl: Duration) -> Self {
        self.nonce = Some((nonce_key, ttl));
        self
    }
}

/// What [`Deduplicator::claim`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClaimOutcome {
    /// New (or its last claim was released or expired): now held by the
    /// caller for the lease.
    Claimed,
    /// Handled already (completed within the time-to-live).
    Completed,
    /// Held by another claim, for this much longer at most.
    InProgress {
        /// The time left on the other claim's lease.
        remaining: Duration,
    },
    /// The nonce was seen before: a replayed request. Nothing was claimed.
    ReplayedNonce,
}

/// What completing or releasing a claim did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Settle {
    /// Done: the event is recorded as completed, or released.
    Settled,
    /// Nothing changed: the claim is no longer the caller's (its lease
    /// expired and another receiver claimed the event or completed it), or,
    /// for a release, it had expired already (the event is free again).
    NotHeld,
}

/// A store of claims, atomic per key, every record with an expiry. See the
/// [module](self) for the states.
///
/// Implement it for a store of your own (a database); an error means the
/// store could not answer, and is never reported as success: a receiver
/// answers 503 so that Sinch retries, and a failed release leaves the claim
/// to expire.
pub trait Deduplicator: Send + Sync {
    /// Claims `request.key` for `request.owner`, unless it is completed or
    /// held by another owner; with `request.nonce`, first refuses a nonce
    /// seen before and records it (one atomic step).
    fn claim<'a>(&'a self, request: ClaimRequest<'a>) -> StoreFuture<'a, ClaimOutcome>;

    /// Marks `key` completed (kept for the store's time-to-live) if `owner`
    /// holds it, or if nobody does (the lease expired and nobody claimed it
    /// since: the work was done all the same).
    fn complete<'a>(&'a self, key: &'a str, owner: &'a str) -> StoreFuture<'a, Settle>;

    /// Deletes `owner`'s claim of `key`, so that the next copy is handled.
    fn release<'a>(&'a self, key: &'a str, owner: &'a str) -> StoreFuture<'a, Settle>;
}

impl<T: Deduplicator + ?Sized> Deduplicator for Arc<T> {
    fn claim<'a>(&'a self, request: ClaimRequest<'a>) -> StoreFuture<'a, ClaimOutcome> {
        (**self).claim(request)
    }

    fn complete<'a>(&'a self, key: &'a str, owner: &'a str) -> StoreFuture<'a, Settle> {
        (**self).complete(key, owner)
    }

    fn release<'a>(&'a self, key: &'a str, owner: &'a str) -> StoreFuture<'a, Settle> {
        (**self).release(key, owner)
    }
}

/// A store could not answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DedupError {
    message: String,
}

impl DedupError {
    /// An error with this explanation (never put a secret in it).
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

impl fmt::Display for DedupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "deduplication store unavailable: {}", self.message)
    }
}

impl std::error::Error for DedupError {}

/// A token unique to one claim (128 random bits, hex).
#[cfg_attr(not(feature = "axum"), allow(dead_code))] // the receiver's
pub(crate) fn owner_token() -> String {
    format!("{:032x}", fastrand::u128(..))
}
