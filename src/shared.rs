//! State shared by several processes, in Redis (feature `redis`): a request
//! rate limit that every worker of a project draws from
//! ([`RedisRateLimit`], one atomic GCRA script per request), and a
//! claim store every receiver replica asks ([`RedisDeduplicator`]: claim,
//! complete and release, each one atomic script).
//!
//! Every key expires; the rate limit has one key per project; nothing is
//! kept in memory but the connection. When Redis cannot be reached, each
//! says so in its errors and logs, and does what it was told
//! ([`WhenUnavailable`]): fail closed (an error; nothing is sent or
//! handled) or fail open (the rate limit falls back to a per-process limit
//! at the full rate, never to none; the deduplicator handles the event
//! without a claim). Never a panic, never a silent loss of the limit.
use std::fmt;
use std::num::NonZeroU32;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use redis::aio::ConnectionManager;

use crate::dedup::{ClaimOutcome, ClaimRequest, DedupError, Deduplicator, Settle, StoreFuture};

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

impl RedisError {
    /// For the inbox's calls: what failed, and Redis's error.
    #[cfg(feature = "axum")]
    pub(crate) fn from_redis(what: &str, error: &redis::RedisError) -> Self {
        Self::new(what, error)
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
    connect_with(url, RESPONSE_TIMEOUT).await
}

/// The same for the inbox's endpoint.
#[cfg(feature = "axum")]
pub(crate) async fn connect_to(url: &str) -> Result<ConnectionManager, RedisError> {
    connect(url).await
}

/// A reconnecting connection whose calls may take `response_timeout` (a
/// worker's blocking read waits longer than half a second).
pub(crate) async fn connect_with(
    url: &str,
    response_timeout: Duration,
) -> Result<ConnectionManager, RedisError> {
    let client = redis::Client::open(url).map_err(|e| RedisError::new("invalid URL", &e))?;
    let config = redis::aio::ConnectionManagerConfig::new()
        .set_connection_timeout(Some(RESPONSE_TIMEOUT))
        .set_response_timeout(Some(response_timeout))
        .set_number_of_retries(1)
        .set_max_delay(Duration::from_secs(1));
    client
        .get_connection_manager_with_config(config)
        .await
        .map_err(|e| RedisError::new("cannot connect", &e))
}

/// Claims in Redis, shared by every receiver that connects to it: each
/// step is one Lua script, atomic across processes, in one round trip
/// (the claim includes the nonce check when replays are refused). A claim
/// is `<namespace>event:<key>` holding `p:<owner>` with the lease as its
/// expiry; a completed one holds `done` for the time-to-live; a nonce is
/// `<namespace>nonce:<nonce>`. Every key expires.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use sinch_conversation::receive::Receiver;
/// use sinch_conversation::shared::RedisDeduplicator;
///
/// let claims = RedisDeduplicator::connect("redis://127.0.0.1:6379").await?
///     .namespace("sinch:callbacks:")
///     .ttl(Duration::from_secs(24 * 3600));
/// let receiver = Receiver::new(["the webhook's secret"])
///     .deduplicate(claims)
///     .refuse_replays();
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

/// KEYS[1]: the event, KEYS[2] (optional): the nonce. ARGV: owner, lease
/// (ms), nonce time-to-live (ms). Answers {'replay'}, {'claimed'},
/// {'completed'} or {'in_progress', remaining ms}.
const CLAIM: &str = r"
if KEYS[2] then
  if not redis.call('SET', KEYS[2], 1, 'NX', 'PX', ARGV[3]) then return {'replay'} end
end
local held = redis.call('GET', KEYS[1])
if not held then
  redis.call('SET', KEYS[1], 'p:' .. ARGV[1], 'PX', ARGV[2])
  return {'claimed'}
end
if held == 'done' then return {'completed'} end
return {'in_progress', redis.call('PTTL', KEYS[1])}
";

/// KEYS[1]: the event. ARGV: owner, time-to-live (ms). 1: completed, 0:
/// another owner holds it or completed it.
const COMPLETE: &str = r"
local held = redis.call('GET', KEYS[1])
if held == 'p:' .. ARGV[1] or not held then
  redis.call('SET', KEYS[1], 'done', 'PX', ARGV[2])
  return 1
end
return 0
";

/// KEYS[1]: the event. ARGV: owner. 1: released, 0: not this owner's.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == 'p:' .. ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
";

// Hashed once; each call is one EVALSHA (EVAL the first time on a server).
static CLAIM_SCRIPT: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(CLAIM));
static COMPLETE_SCRIPT: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(COMPLETE));
static RELEASE_SCRIPT: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(RELEASE));

/// Milliseconds, for Redis arguments.
pub(crate) fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// An expiry in milliseconds: at least 1 (`PX 0` is an error in Redis).
fn expiry(duration: Duration) -> u64 {
    millis(duration).max(1)
}

impl RedisDeduplicator {
    /// The default namespace of its keys.
    pub const DEFAULT_NAMESPACE: &'static str = "sinch-conversation:seen:";
    /// The default time-to-live of a completed event: a day (Sinch's
    /// retries stop well before).
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

    /// How long a completed event is remembered (at least a millisecond).
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl.max(Duration::from_millis(1));
        self
    }

    /// What to do when Redis cannot answer a claim (default: fail closed).
    /// Completing and releasing report an error either way: a step that was
    /// not done is never reported as done.
    pub fn when_unavailable(mut self, when: WhenUnavailable) -> Self {
        self.when_unavailable = when;
        self
    }

    fn error(error: &redis::RedisError) -> DedupError {
        DedupError::new(format!("Redis: {error}"))
    }

    async fn run<T: redis::FromRedisValue>(
        &self,
        script: &redis::Script,
        keys: &[&str],
        args: &[&str],
    ) -> Result<T, redis::RedisError> {
        let mut invocation = script.prepare_invoke();
        for key in keys {
            invocation.key(format!("{}{key}", self.namespace));
        }
        for arg in args {
            invocation.arg(*arg);
        }
        let mut connection = self.connection.clone();
        invocation.invoke_async(&mut connection).await
    }
}

/// Reads the claim script's answer; anything else is an error, never a
/// claim.
fn claim_outcome(answer: &[redis::Value]) -> Result<ClaimOutcome, DedupError> {
    let word = match answer.first() {
        Some(redis::Value::BulkString(word)) => word.as_slice(),
        Some(redis::Value::SimpleString(word)) => word.as_bytes(),
        _ => b"",
    };
    match word {
        b"claimed" => Ok(ClaimOutcome::Claimed),
        b"completed" => Ok(ClaimOutcome::Completed),
        b"replay" => Ok(ClaimOutcome::ReplayedNonce),
        b"in_progress" => {
            let ms = match answer.get(1) {
                Some(redis::Value::Int(ms)) => u64::try_from(*ms).unwrap_or(0),
                _ => 0,
            };
            Ok(ClaimOutcome::InProgress {
                remaining: Duration::from_millis(ms),
            })
        }
        _ => Err(DedupError::new(format!(
            "unexpected answer to a claim: {answer:?}"
        ))),
    }
}

impl RedisDeduplicator {
    /// Completes or releases: the script answers 1 when it did it. An
    /// unreachable Redis is an error whatever `when_unavailable` says: a
    /// step not done is never reported done.
    async fn settle(
        &self,
        script: &redis::Script,
        key: &str,
        args: &[&str],
    ) -> Result<Settle, DedupError> {
        let done: i64 = self
            .run(script, &[key], args)
            .await
            .map_err(|e| Self::error(&e))?;
        Ok(if done == 1 {
            Settle::Settled
        } else {
            Settle::NotHeld
        })
    }
}

impl Deduplicator for RedisDeduplicator {
    fn claim<'a>(&'a self, request: ClaimRequest<'a>) -> StoreFuture<'a, ClaimOutcome> {
        Box::pin(async move {
            let lease = expiry(request.lease).to_string();
            let (keys, nonce_ttl) = match request.nonce {
                Some((nonce, ttl)) => (vec![request.key, nonce], expiry(ttl).to_string()),
                None => (vec![request.key], String::new()),
            };
            let answer: Result<Vec<redis::Value>, _> = self
                .run(&CLAIM_SCRIPT, &keys, &[request.owner, &lease, &nonce_ttl])
                .await;
            match answer {
                Ok(answer) => claim_outcome(&answer),
                Err(error) => match self.when_unavailable {
                    WhenUnavailable::FailClosed => Err(Self::error(&error)),
                    WhenUnavailable::FailOpen => {
                        tracing::warn!(%error, "Redis unavailable: event handled without a claim (fail open)");
                        Ok(ClaimOutcome::Claimed)
                    }
                },
            }
        })
    }

    fn complete<'a>(&'a self, key: &'a str, owner: &'a str) -> StoreFuture<'a, Settle> {
        Box::pin(async move {
            let ttl = expiry(self.ttl).to_string();
            self.settle(&COMPLETE_SCRIPT, key, &[owner, &ttl]).await
        })
    }

    fn release<'a>(&'a self, key: &'a str, owner: &'a str) -> StoreFuture<'a, Settle> {
        Box::pin(async move { self.settle(&RELEASE_SCRIPT, key, &[owner]).await })
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
                #[cfg(feature = "metrics")]
                crate::metrics::rate_limit_wait("shared");
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
