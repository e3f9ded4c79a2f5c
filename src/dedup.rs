//! "Have I seen this before?": the store a receiver asks, atomically, about
//! each callback's [idempotency key](crate::events::CallbackEvent::idempotency_key)
//! (Sinch delivers at least once) and, if it wants, each nonce (replays).
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// What [`Deduplicator::first_seen`] answers.
pub type Seen<'a> = Pin<Box<dyn Future<Output = Result<bool, DedupError>> + Send + 'a>>;

/// What [`Deduplicator::forget`] answers.
pub type Forgotten<'a> = Pin<Box<dyn Future<Output = Result<(), DedupError>> + Send + 'a>>;

/// An atomic "is this the first time I see `key`?" with a time-to-live:
/// `true` the first time, `false` for every repeat until the key expires.
/// Two concurrent calls with one new key get one `true` between them.
///
/// [`MemoryDeduplicator`] serves one process; a store shared by several
/// replicas (Redis, a database) implements the same trait.
pub trait Deduplicator: Send + Sync {
    /// Records `key` and says whether it is new. An error means the store
    /// could not answer (the caller decides: a receiver answers 503 so that
    /// Sinch retries).
    fn first_seen<'a>(&'a self, key: &'a str) -> Seen<'a>;

    /// Forgets `key`, so that it is new again: for an event whose handling
    /// failed, so that Sinch's retry is handled rather than skipped.
    fn forget<'a>(&'a self, key: &'a str) -> Forgotten<'a>;
}

impl<T: Deduplicator + ?Sized> Deduplicator for Arc<T> {
    fn first_seen<'a>(&'a self, key: &'a str) -> Seen<'a> {
        (**self).first_seen(key)
    }

    fn forget<'a>(&'a self, key: &'a str) -> Forgotten<'a> {
        (**self).forget(key)
    }
}

/// A store could not say whether a key was seen.
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

/// A bounded in-memory [`Deduplicator`] for one process: keys are kept for
/// `ttl`, at most `capacity` of them (the oldest is forgotten first). Each
/// call is O(1) (amortised); memory never grows past the capacity.
///
/// ```
/// use std::time::Duration;
/// use sinch_conversation::dedup::MemoryDeduplicator;
///
/// let seen = MemoryDeduplicator::new(10_000, Duration::from_secs(24 * 3600));
/// assert!(seen.check("MESSAGE_INBOUND:01M"));
/// assert!(!seen.check("MESSAGE_INBOUND:01M")); // a repeat
///
/// // The same store can refuse replayed nonces (keep them at least as
/// // long as the verifier's timestamp window).
/// use sinch_conversation::callbacks::Verifier;
/// let nonces = MemoryDeduplicator::new(100_000, Duration::from_secs(600));
/// let verifier = Verifier::new("secret").nonce_check(move |nonce| nonces.check(&format!("nonce:{nonce}")));
/// ```
pub struct MemoryDeduplicator {
    capacity: usize,
    ttl: Duration,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Key → the number of its record (in `order`).
    seen: HashMap<Arc<str>, u64>,
    /// Records in the order made: also the order they expire in, since
    /// every key lives `ttl`. A record whose number is no longer its key's
    /// (the key was forgotten, then seen again) is stale and only waits
    /// to be dropped.
    order: VecDeque<(Arc<str>, Instant, u64)>,
    next: u64,
}

impl Inner {
    fn pop_oldest(&mut self) {
        if let Some((key, _, number)) = self.order.pop_front()
            && self.seen.get(&key) == Some(&number)
        {
            self.seen.remove(&key);
        }
    }
}

impl MemoryDeduplicator {
    /// A store of at most `capacity` keys (at least 1), each kept `ttl`.
    pub fn new(capacity: usize, ttl: Duration) -> Self {
        Self {
            capacity: capacity.max(1),
            ttl,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// The synchronous form of [`Deduplicator::first_seen`] (it cannot
    /// fail): `true` the first time `key` is seen within the time-to-live.
    pub fn check(&self, key: &str) -> bool {
        self.check_at(key, Instant::now())
    }

    fn check_at(&self, key: &str, now: Instant) -> bool {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        // Forget what expired: it is all at the front.
        while inner
            .order
            .front()
            .is_some_and(|(_, at, _)| now.saturating_duration_since(*at) >= self.ttl)
        {
            inner.pop_oldest();
        }
        if inner.seen.contains_key(key) {
            return false;
        }
        // Records, stale ones included, never exceed the capacity.
        while inner.order.len() >= self.capacity {
            inner.pop_oldest();
        }
        let key: Arc<str> = Arc::from(key);
        let number = inner.next;
        inner.next += 1;
        inner.seen.insert(key.clone(), number);
        inner.order.push_back((key, now, number));
        true
    }

    /// The synchronous form of [`Deduplicator::forget`].
    pub fn remove(&self, key: &str) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.seen.remove(key);
    }

    /// Keys held now (expired ones may still count until the next call).
    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .seen
            .len()
    }

    /// `true` when no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Debug for MemoryDeduplicator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryDeduplicator")
            .field("capacity", &self.capacity)
            .field("ttl", &self.ttl)
            .field("len", &self.len())
            .finish()
    }
}

impl Deduplicator for MemoryDeduplicator {
    fn first_seen<'a>(&'a self, key: &'a str) -> Seen<'a> {
        let first = self.check(key);
        Box::pin(std::future::ready(Ok(first)))
    }

    fn forget<'a>(&'a self, key: &'a str) -> Forgotten<'a> {
        self.remove(key);
        Box::pin(std::future::ready(Ok(())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_new_once_until_it_expires() {
        let store = MemoryDeduplicator::new(10, Duration::from_secs(60));
        let t0 = Instant::now();
        assert!(store.check_at("a", t0));
        assert!(!store.check_at("a", t0 + Duration::from_secs(59)));
        assert!(store.check_at("b", t0 + Duration::from_secs(59)));
        // Expired: new again.
        assert!(store.check_at("a", t0 + Duration::from_secs(60)));
        assert!(!store.check_at("b", t0 + Duration::from_secs(61)));
    }

    #[test]
    fn it_never_holds_more_than_its_capacity() {
        let store = MemoryDeduplicator::new(3, Duration::from_secs(3600));
        let t0 = Instant::now();
        for i in 0..1000 {
            assert!(store.check_at(&format!("k{i}"), t0));
            assert!(store.len() <= 3);
            let inner = store.inner.lock().unwrap();
            assert!(inner.order.len() <= 3 && inner.seen.len() <= inner.order.len());
        }
        // The oldest were forgotten, the newest are kept.
        assert!(!store.check_at("k999", t0));
        assert!(store.check_at("k0", t0));
    }

    #[test]
    fn a_forgotten_key_is_new_again_and_stale_records_stay_bounded() {
        let store = MemoryDeduplicator::new(4, Duration::from_secs(3600));
        let t0 = Instant::now();
        assert!(store.check_at("a", t0));
        for _ in 0..100 {
            store.remove("a");
            assert!(store.check_at("a", t0));
            assert!(!store.check_at("a", t0));
            let inner = store.inner.lock().unwrap();
            assert!(inner.order.len() <= 4, "{}", inner.order.len());
        }
        // Its stale records, dropped, do not take the live one with them.
        assert!(store.check_at("b", t0));
        assert!(store.check_at("c", t0));
        assert!(!store.check_at("a", t0));
    }

    #[test]
    fn concurrent_callers_get_one_true_per_key() {
        let store = Arc::new(MemoryDeduplicator::new(1000, Duration::from_secs(60)));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let store = store.clone();
                std::thread::spawn(move || {
                    (0..100).filter(|i| store.check(&format!("k{i}"))).count()
                })
            })
            .collect();
        let firsts: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
        assert_eq!(firsts, 100);
    }
}
