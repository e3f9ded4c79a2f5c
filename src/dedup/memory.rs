//! The bounded in-process store.
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::{ClaimOutcome, ClaimRequest, Deduplicator, Settle, StoreFuture};

/// A bounded in-memory [`Deduplicator`] for one process: completed keys are
/// kept for `ttl`, claims for their lease; at most `capacity` records (the
/// oldest is dropped first). Each call is O(1) (amortised); memory never
/// grows past the capacity.
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

enum State {
    InProgress { owner: Box<str> },
    Done,
}

struct Record {
    state: State,
    until: Instant,
    /// The number of its entry in `order`.
    number: u64,
}

#[derive(Default)]
struct Inner {
    records: HashMap<Arc<str>, Record>,
    /// Keys in the order their records were made: the capacity drops the
    /// front. An entry whose number is no longer its key's record's (the key
    /// was released, then claimed again) is stale and only waits its turn.
    order: VecDeque<(Arc<str>, u64)>,
    next: u64,
}

impl Inner {
    /// The live record of `key` (an expired one is dropped).
    fn live(&mut self, key: &str, now: Instant) -> Option<&mut Record> {
        if self.records.get(key).is_some_and(|r| r.until <= now) {
            self.records.remove(key);
        }
        self.records.get_mut(key)
    }

    fn pop_oldest(&mut self) {
        if let Some((key, number)) = self.order.pop_front()
            && self.records.get(&key).is_some_and(|r| r.number == number)
        {
            self.records.remove(&key);
        }
    }

    /// Drops stale and expired entries from the front (lazily: one that
    /// expires behind a longer-lived one waits for the capacity).
    fn sweep(&mut self, now: Instant) {
        while let Some((key, number)) = self.order.front() {
            let dead = match self.records.get(key) {
                Some(r) => r.number != *number || r.until <= now,
                None => true,
            };
            if !dead {
                break;
            }
            self.pop_oldest();
        }
    }

    fn insert(&mut self, capacity: usize, key: &str, state: State, until: Instant) {
        while self.order.len() >= capacity {
            self.pop_oldest();
        }
        let key: Arc<str> = Arc::from(key);
        let number = self.next;
        self.next += 1;
        self.records.insert(
            key.clone(),
            Record {
                state,
                until,
                number,
            },
        );
        self.order.push_back((key, number));
    }
}

impl MemoryDeduplicator {
    /// A store of at most `capacity` records (at least 1), completed keys
    /// kept `ttl`.
    pub fn new(capacity: usize, ttl: Duration) -> Self {
        Self {
            capacity: capacity.max(1),
            ttl,
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// "First time?" in one step (it cannot fail): `true` the first time
    /// `key` is seen within the time-to-live, and records it as completed.
    /// For nonces ([`Verifier::nonce_check`](crate::callbacks::Verifier::nonce_check)).
    pub fn check(&self, key: &str) -> bool {
        self.check_at(key, Instant::now())
    }

    fn check_at(&self, key: &str, now: Instant) -> bool {
        let mut inner = self.lock();
        inner.sweep(now);
        if inner.live(key, now).is_some() {
            return false;
        }
        inner.insert(self.capacity, key, State::Done, now + self.ttl);
        true
    }

    fn claim_at(&self, request: ClaimRequest<'_>, now: Instant) -> ClaimOutcome {
        let mut inner = self.lock();
        inner.sweep(now);
        if let Some((nonce, ttl)) = request.nonce {
            if inner.live(nonce, now).is_some() {
                return ClaimOutcome::ReplayedNonce;
            }
            inner.insert(self.capacity, nonce, State::Done, now + ttl);
        }
        match inner.live(request.key, now) {
            Some(Record {
                state: State::Done, ..
            }) => ClaimOutcome::Completed,
            Some(Record {
                state: State::InProgress { .. },
                until,
                ..
            }) => ClaimOutcome::InProgress {
                remaining: until.saturating_duration_since(now),
            },
            None => {
                let owner = request.owner.into();
                let state = State::InProgress { owner };
                inner.insert(self.capacity, request.key, state, now + request.lease);
                ClaimOutcome::Claimed
            }
        }
    }

    fn complete_at(&self, key: &str, owner: &str, now: Instant) -> Settle {
        let mut inner = self.lock();
        let until = now + self.ttl;
        match inner.live(key, now) {
            Some(record) => match &record.state {
                State::InProgress { owner: held } if &**held == owner => {
                    record.state = State::Done;
                    record.until = until;
                    Settle::Settled
                }
                _ => Settle::NotHeld,
            },
            None => {
                inner.insert(self.capacity, key, State::Done, until);
                Settle::Settled
            }
        }
    }

    fn release_at(&self, key: &str, owner: &str, now: Instant) -> Settle {
        let mut inner = self.lock();
        match inner.live(key, now) {
            Some(Record {
                state: State::InProgress { owner: held },
                ..
            }) if &**held == owner => {
                inner.records.remove(key);
                Settle::Settled
            }
            _ => Settle::NotHeld,
        }
    }

    /// Forgets `key` whatever its state (a completed event is new again).
    pub fn remove(&self, key: &str) {
        self.lock().records.remove(key);
    }

    /// Records held now (expired ones may still count until the next call).
    pub fn len(&self) -> usize {
        self.lock().records.len()
    }

    /// `true` when no record is held.
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
    fn claim<'a>(&'a self, request: ClaimRequest<'a>) -> StoreFuture<'a, ClaimOutcome> {
        let outcome = self.claim_at(request, Instant::now());
        Box::pin(std::future::ready(Ok(outcome)))
    }

    fn complete<'a>(&'a self, key: &'a str, owner: &'a str) -> StoreFuture<'a, Settle> {
        let settled = self.complete_at(key, owner, Instant::now());
        Box::pin(std::future::ready(Ok(settled)))
    }

    fn release<'a>(&'a self, key: &'a str, owner: &'a str) -> StoreFuture<'a, Settle> {
        let settled = self.release_at(key, owner, Instant::now());
        Box::pin(std::future::ready(Ok(settled)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    fn claim(key: &'static str, owner: &'static str, lease: Duration) -> ClaimRequest<'static> {
        ClaimRequest::new(key, owner, lease)
    }

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
        let store = MemoryDeduplicator::new(3, HOUR);
        let t0 = Instant::now();
        for i in 0..1000 {
            assert!(store.check_at(&format!("k{i}"), t0));
            let owner = format!("o{i}");
            let key = format!("c{i}");
            let _ = store.claim_at(ClaimRequest::new(&key, &owner, HOUR), t0);
            let inner = store.lock();
            assert!(inner.order.len() <= 3 && inner.records.len() <= inner.order.len());
        }
        // The oldest were dropped, the newest are kept.
        assert!(!store.check_at("k999", t0));
        assert!(store.check_at("k0", t0));
    }

    #[test]
    fn claim_complete_release_follow_the_owner() {
        let store = MemoryDeduplicator::new(100, HOUR);
        let t0 = Instant::now();
        let lease = Duration::from_secs(10);
        assert_eq!(
            store.claim_at(claim("e", "A", lease), t0),
            ClaimOutcome::Claimed
        );
        // A copy while A holds it: in progress, with what is left of the lease.
        assert_eq!(
            store.claim_at(claim("e", "B", lease), t0 + Duration::from_secs(4)),
            ClaimOutcome::InProgress {
                remaining: Duration::from_secs(6)
            }
        );
        // Only A can release it; then B claims it.
        assert_eq!(store.release_at("e", "B", t0), Settle::NotHeld);
        assert_eq!(store.release_at("e", "A", t0), Settle::Settled);
        assert_eq!(
            store.claim_at(claim("e", "B", lease), t0),
            ClaimOutcome::Claimed
        );
        assert_eq!(store.complete_at("e", "A", t0), Settle::NotHeld);
        assert_eq!(store.complete_at("e", "B", t0), Settle::Settled);
        // Completed: every later copy is told so, for the time-to-live.
        assert_eq!(
            store.claim_at(claim("e", "C", lease), t0 + HOUR - Duration::from_secs(1)),
            ClaimOutcome::Completed
        );
        assert_eq!(store.release_at("e", "B", t0), Settle::NotHeld);
        assert_eq!(
            store.claim_at(claim("e", "C", lease), t0 + HOUR),
            ClaimOutcome::Claimed
        );
    }

    #[test]
    fn an_expired_lease_is_claimed_afresh_and_its_owner_cannot_settle_it() {
        let store = MemoryDeduplicator::new(100, HOUR);
        let t0 = Instant::now();
        let lease = Duration::from_secs(10);
        assert_eq!(
            store.claim_at(claim("e", "dead", lease), t0),
            ClaimOutcome::Claimed
        );
        let later = t0 + lease;
        assert_eq!(
            store.claim_at(claim("e", "B", lease), later),
            ClaimOutcome::Claimed
        );
        assert_eq!(store.complete_at("e", "dead", later), Settle::NotHeld);
        assert_eq!(store.release_at("e", "dead", later), Settle::NotHeld);
        assert!(matches!(
            store.claim_at(claim("e", "C", lease), later),
            ClaimOutcome::InProgress { .. }
        ));
        // A lease that expired with nobody taking it over still completes:
        // the work was done.
        assert_eq!(
            store.claim_at(claim("f", "slow", lease), t0),
            ClaimOutcome::Claimed
        );
        assert_eq!(store.complete_at("f", "slow", later), Settle::Settled);
        assert_eq!(
            store.claim_at(claim("f", "X", lease), later),
            ClaimOutcome::Completed
        );
    }

    #[test]
    fn a_seen_nonce_is_a_replay_and_claims_nothing() {
        let store = MemoryDeduplicator::new(100, HOUR);
        let t0 = Instant::now();
        let lease = Duration::from_secs(10);
        let first = claim("e", "A", lease).with_nonce("nonce:n1", Duration::from_secs(600));
        assert_eq!(store.claim_at(first, t0), ClaimOutcome::Claimed);
        let again = claim("other", "B", lease).with_nonce("nonce:n1", Duration::from_secs(600));
        assert_eq!(store.claim_at(again, t0), ClaimOutcome::ReplayedNonce);
        assert_eq!(
            store.claim_at(claim("other", "B", lease), t0),
            ClaimOutcome::Claimed
        );
    }

    #[test]
    fn released_and_reclaimed_keys_leave_stale_entries_bounded() {
        let store = MemoryDeduplicator::new(4, HOUR);
        let t0 = Instant::now();
        for i in 0..100 {
            let owner = format!("o{i}");
            assert_eq!(
                store.claim_at(ClaimRequest::new("a", &owner, HOUR), t0),
                ClaimOutcome::Claimed
            );
            assert_eq!(store.release_at("a", &owner, t0), Settle::Settled);
            let inner = store.lock();
            assert!(inner.order.len() <= 4, "{}", inner.order.len());
        }
    }

    #[test]
    fn concurrent_claims_give_one_claimed_per_key() {
        let store = Arc::new(MemoryDeduplicator::new(1000, Duration::from_secs(60)));
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let store = store.clone();
                std::thread::spawn(move || {
                    let owner = format!("t{t}");
                    (0..100)
                        .filter(|i| {
                            let key = format!("k{i}");
                            let request = ClaimRequest::new(&key, &owner, HOUR);
                            store.claim_at(request, Instant::now()) == ClaimOutcome::Claimed
                        })
                        .count()
                })
            })
            .collect();
        let firsts: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
        assert_eq!(firsts, 100);
    }
}
