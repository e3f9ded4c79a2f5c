//! State shared by several processes, in Redis (feature `redis`): a request
//! rate limit that every worker of a project draws from
//! ([`RedisRateLimit`], one atomic GCRA script per request), and a
//! deduplication store every receiver replica asks ([`RedisDeduplicator`],
//! an atomic set-if-absent with a time-to-live).
//!
//! Every key expires; the rate limit has one key per project; nothing is
//! kept in memory but the connection. When Redis cannot be reached, each
//! says so in its errors and logs, and does what it was told
//! ([`WhenUnavailable`]): fail closed (an error; nothing is sent or
//! handled) or fail open (the rate limit falls back to a per-process limit
//! at the full rate, never to none; the deduplicator treats the event as
//! new). Never a panic, never a silent loss of the limit.
use std::fmt;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use redis::aio::ConnectionManager;

use crate::dedup::{DedupError, Deduplicator, Forgotten, Seen};

/// What to do when Redis cannot answer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum WhenUnavailable {
    /// Refuse: the rate limit returns [`Error::RateLimit`](crate::Error::RateLimit)
    /// (nothing is sent); the deduplicator returns an error (a receiver
    /// answers 503 and Sinch retries). The default: nothing happens that
    /// the shared state did not allow.
    #[default]
    FailClosed,
    /// Carry on: the rate limit uses a limit of this process alone (at the
    /// full rate: several processes may then exceed it together, so 429s
    /// are possible, and retried); the deduplicator treats the event as new
    /// (a duplicate may be handled twice). Logged as a warning.
    FailOpen,
}

/// Redis could not be reached or answered an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisError {
    message: String,
}

impl RedisError {
    fn new(what: &str, error: &redis::RedisError) -> Self {
        // Redis errors do not carry the URL's password; a URL is never put
        // in them here.
        Self {
            message: format!("{what}: {error}"),
        }
    }
}

impl fmt::Display for RedisError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Redis unavailable ({})", self.message)
    }
}

impl std::error::Error for RedisError {}

/// How long one Redis call may take before it counts as unavailable.
const RESPONSE_TIMEOUT: Duration = Duration::from_millis(500);

/// A reconnecting connection, with short timeouts so that an outage is
/// noticed in half a second rather than hanging requests.
async fn connect(url: &str) -> Result<ConnectionManager, RedisError> {
    let client = redis::Client::open(url).map_err(|e| RedisError::new("invalid URL", &e))?;
    let config = redis::aio::ConnectionManagerConfig::new()
        .set_connection_timeout(Some(RESPONSE_TIMEOUT))
        .set_response_timeout(Some(RESPONSE_TIMEOUT))
        .set_number_of_retries(1)
        .set_max_delay(Duration::from_secs(1));
    client
        .get_connection_manager_with_config(config)
        .await
        .map_err(|e| RedisError::new("cannot connect", &e))
}

/// A deduplication store in Redis, shared by every receiver that connects
/// to it: `SET <namespace><key> 1 NX PX <ttl>` per check, atomic across
/// processes. Every key expires after the time-to-live.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use sinch_conversation::receive::Receiver;
/// use sinch_conversation::shared::RedisDeduplicator;
///
/// let seen = RedisDeduplicator::connect("redis://127.0.0.1:6379").await?
///     .namespace("sinch:callbacks:")
///     .ttl(Duration::from_secs(24 * 3600));
/// let receiver = Receiver::new(["the webhook's secret"])
///     .deduplicate(seen.clone())
///     .refuse_replays(seen);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisDeduplicator {
    connection: ConnectionManager,
    namespace: String,
    ttl: Duration,
    when_unavailable: WhenUnavailable,
}

impl fmt::Debug for RedisDeduplicator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisDeduplicator")
            .field("namespace", &self.namespace)
            .field("ttl", &self.ttl)
            .field("when_unavailable", &self.when_unavailable)
            .finish_non_exhaustive()
    }
}

impl RedisDeduplicator {
    /// The default namespace of its keys.
    pub const DEFAULT_NAMESPACE: &'static str = "sinch-conversation:seen:";
    /// The default time-to-live: a day (Sinch's retries stop well before).
    pub const DEFAULT_TTL: Duration = Duration::from_secs(24 * 3600);

    /// Connects to `url` (`redis://host:port/db`); an error when Redis
    /// cannot be reached now.
    pub async fn connect(url: &str) -> Result<Self, RedisError> {
        Ok(Self {
            connection: connect(url).await?,
            namespace: Self::DEFAULT_NAMESPACE.to_owned(),
            ttl: Self::DEFAULT_TTL,
            when_unavailable: WhenUnavailable::default(),
        })
    }

    /// Prefix of every key (so several stores can share one Redis).
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// How long a key is remembered (at least a millisecond).
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl.max(Duration::from_millis(1));
        self
    }

    /// What to do when Redis cannot answer (default: fail closed).
    pub fn when_unavailable(mut self, when: WhenUnavailable) -> Self {
        self.when_unavailable = when;
        self
    }

    fn unavailable<T>(&self, error: &redis::RedisError, open: T) -> Result<T, DedupError> {
        match self.when_unavailable {
            WhenUnavailable::FailClosed => Err(DedupError::new(format!("Redis: {error}"))),
            WhenUnavailable::FailOpen => {
                tracing::warn!(%error, "Redis unavailable: deduplication skipped (fail open)");
                Ok(open)
            }
        }
    }
}

impl Deduplicator for RedisDeduplicator {
    fn first_seen<'a>(&'a self, key: &'a str) -> Seen<'a> {
        Box::pin(async move {
            let mut connection = self.connection.clone();
            let ttl = u64::try_from(self.ttl.as_millis()).unwrap_or(u64::MAX);
            let set: Result<Option<String>, _> = redis::cmd("SET")
                .arg(format!("{}{key}", self.namespace))
                .arg(1)
                .arg("NX")
                .arg("PX")
                .arg(ttl)
                .query_async(&mut connection)
                .await;
            match set {
                Ok(answer) => Ok(answer.is_some()),
                Err(error) => self.unavailable(&error, true),
            }
        })
    }

    fn forget<'a>(&'a self, key: &'a str) -> Forgotten<'a> {
        Box::pin(async move {
            let mut connection = self.connection.clone();
            let deleted: Result<i64, _> = redis::cmd("DEL")
                .arg(format!("{}{key}", self.namespace))
                .query_async(&mut connection)
                .await;
            match deleted {
                Ok(_) => Ok(()),
                Err(error) => self.unavailable(&error, ()),
            }
        })
    }
}

/// GCRA with reservation, atomically in Redis, on Redis's clock (so the
/// processes' clocks do not matter). KEYS[1]: the project's key. ARGV[1]:
/// the interval between requests, ARGV[2]: the burst tolerance, both in
/// microseconds. Reserves the next slot and returns how many microseconds
/// to wait before sending (0: now). The key expires when the schedule has
/// caught up with the present.
const GCRA: &str = r"
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000000 + tonumber(now_parts[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local wait = tat - burst - now
if wait < 0 then wait = 0 end
local next_tat = tat + interval
redis.call('SET', KEYS[1], next_tat, 'PX', math.floor((next_tat - now) / 1000) + 1000)
return wait
";

/// A request rate limit shared by every client (in any process) that uses
/// it for the same project: the budget is the project's, as Sinch's limit
/// is. One atomic script per request, one key per project, and the key
/// expires when idle.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use sinch_conversation::{ClientBuilder, Region};
/// use sinch_conversation::shared::RedisRateLimit;
///
/// let limit = RedisRateLimit::connect("redis://127.0.0.1:6379", ClientBuilder::SINCH_RATE_LIMIT).await?;
/// let client = ClientBuilder::from_env()?.shared_rate_limit(limit).build()?;
/// # Ok(()) }
/// ```
pub struct RedisRateLimit {
    connection: ConnectionManager,
    script: redis::Script,
    namespace: String,
    per_second: NonZeroU32,
    when_unavailable: WhenUnavailable,
    /// The per-process limit used while Redis is unavailable (fail open).
    fallback: governor::DefaultDirectRateLimiter,
    waited: AtomicU64,
    unavailable: AtomicU64,
}

impl fmt::Debug for RedisRateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisRateLimit")
            .field("namespace", &self.namespace)
            .field("per_second", &self.per_second)
            .field("when_unavailable", &self.when_unavailable)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

/// What a [`RedisRateLimit`] has done so far (for metrics).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimitStats {
    /// Requests that had to wait for their slot: the limit biting.
    pub waited: u64,
    /// Checks Redis could not answer.
    pub unavailable: u64,
}

impl RedisRateLimit {
    /// The default namespace of its keys.
    pub const DEFAULT_NAMESPACE: &'static str = "sinch-conversation:rate:";

    /// Connects to `url`; `per_second` requests a second per project (0
    /// counts as 1). An error when Redis cannot be reached now.
    pub async fn connect(url: &str, per_second: u32) -> Result<Self, RedisError> {
        let per_second = NonZeroU32::new(per_second).unwrap_or(NonZeroU32::MIN);
        Ok(Self {
            connection: connect(url).await?,
            script: redis::Script::new(GCRA),
            namespace: Self::DEFAULT_NAMESPACE.to_owned(),
            per_second,
            when_unavailable: WhenUnavailable::default(),
            fallback: crate::rate::limiter(per_second),
            waited: AtomicU64::new(0),
            unavailable: AtomicU64::new(0),
        })
    }

    /// Prefix of its keys (one per project).
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// What to do when Redis cannot answer (default: fail closed).
    pub fn when_unavailable(mut self, when: WhenUnavailable) -> Self {
        self.when_unavailable = when;
        self
    }

    /// What it has done so far.
    pub fn stats(&self) -> RateLimitStats {
        RateLimitStats {
            waited: self.waited.load(Ordering::Relaxed),
            unavailable: self.unavailable.load(Ordering::Relaxed),
        }
    }

    /// Waits for `project_id`'s next slot. Bursts of at most a tenth of a
    /// second's worth, as the per-process limit.
    pub async fn acquire(&self, project_id: &str) -> Result<(), crate::Error> {
        let interval = 1_000_000 / u64::from(self.per_second.get());
        let burst = interval * u64::from((self.per_second.get() / 10).max(1) - 1);
        let mut connection = self.connection.clone();
        let wait: Result<u64, _> = self
            .script
            .key(format!("{}{project_id}", self.namespace))
            .arg(interval)
            .arg(burst)
            .invoke_async(&mut connection)
            .await;
        match wait {
            Ok(0) => Ok(()),
            Ok(micros) => {
                self.waited.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(wait_us = micros, "shared rate limit: waiting for a slot");
                tokio::time::sleep(Duration::from_micros(micros)).await;
                Ok(())
            }
            Err(error) => {
                self.unavailable.fetch_add(1, Ordering::Relaxed);
                let error = RedisError::new("rate limit", &error);
                match self.when_unavailable {
                    WhenUnavailable::FailClosed => Err(crate::Error::RateLimit(error)),
                    WhenUnavailable::FailOpen => {
                        tracing::warn!(%error, "shared rate limit unavailable: this process alone is limited (fail open)");
                        crate::rate::acquire(&self.fallback).await;
                        Ok(())
                    }
                }
            }
        }
    }
}
