//! Workers: read the stream in a consumer group, handle, then acknowledge,
//! retry later or dead-letter; reclaim what a dead worker left.
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::LazyLock;
use std::time::Duration;

use axum::body::Bytes;
use redis::streams::{
    StreamAutoClaimOptions, StreamAutoClaimReply, StreamId, StreamReadOptions, StreamReadReply,
};

use super::{GROUP, Inbox, millis, now_ms, text};
use crate::events::CallbackEvent;
use crate::shared::RedisError;

/// KEYS: the stream. ARGV: the group, the id. Acknowledges and deletes.
const ACK: &str = r"
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
return redis.call('XDEL', KEYS[1], ARGV[2])
";

/// KEYS: the stream, the retry set. ARGV: the group, the id, when (ms), the
/// entry's fields as JSON. Moves the entry to the retry set, atomically.
const RETRY_LATER: &str = r"
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
return redis.call('XDEL', KEYS[1], ARGV[2])
";

/// KEYS: the stream, the dead-letter stream. ARGV: the group, the id, then
/// the dead letter's field, value pairs. Moves the entry, atomically.
const DEAD_LETTER: &str = r"
local fields = {}
for i = 3, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('XADD', KEYS[2], '*', unpack(fields))
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
return redis.call('XDEL', KEYS[1], ARGV[2])
";

/// KEYS: the retry set, the stream. ARGV: now (ms), at most this many.
/// Appends each due entry back to the stream and removes it from the set.
const MOVE_DUE: &str = r"
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, member in ipairs(due) do
  redis.call('XADD', KEYS[2], '*', unpack(cjson.decode(member)))
  redis.call('ZREM', KEYS[1], member)
end
return #due
";

static ACK_SCRIPT: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(ACK));
static RETRY_SCRIPT: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(RETRY_LATER));
static DEAD_SCRIPT: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(DEAD_LETTER));
static MOVE_SCRIPT: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(MOVE_DUE));

/// The fields an entry carries (the dead-letter fields add `error` and
/// `dead_at`).
pub(crate) const FIELDS: [&str; 9] = [
    "body", "trigger", "key", "app", "project", "received", "attempts", "origin", "error",
];

/// When a failed event is tried again: `first`, then each wait `factor`
/// times the last, at most `max`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// The wait after the first failure.
    pub first: Duration,
    /// What each next wait is multiplied by (0 and 1: constant).
    pub factor: u32,
    /// The longest wait.
    pub max: Duration,
}

impl Default for Backoff {
    /// 1 s, doubling, at most 5 minutes: with 5 attempts, retries after 1,
    /// 2, 4 and 8 s.
    fn default() -> Self {
        Self {
            first: Duration::from_secs(1),
            factor: 2,
            max: Duration::from_secs(300),
        }
    }
}

impl Backoff {
    /// The wait after the `failures`-th failure (1 for the first).
    pub fn after(&self, failures: u32) -> Duration {
        crate::retry::exponential(
            self.first,
            self.factor,
            failures.saturating_sub(1),
            self.max,
        )
    }
}

/// One event as a worker's handler gets it.
#[derive(Clone)]
#[non_exhaustive]
pub struct InboxEvent {
    /// The parsed event.
    pub event: CallbackEvent,
    /// The stream entry's id.
    pub id: String,
    /// The id of the entry first appended for it (retries and replays are
    /// appended anew).
    pub origin: String,
    /// Its trigger (or identifying key).
    pub trigger: String,
    /// Its idempotency key.
    pub key: String,
    /// Failed attempts before this one (a worker that died counts).
    pub attempts: u32,
    /// When the endpoint received it (ms since the Unix epoch).
    pub received_ms: u64,
    raw: Bytes,
}

impl fmt::Debug for InboxEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InboxEvent")
            .field("id", &self.id)
            .field("origin", &self.origin)
            .field("key", &self.key)
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

impl InboxEvent {
    /// The body as received.
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    /// From a stream entry; `Err` with why for one that is not an event.
    fn from_entry(entry: &StreamId) -> Result<Self, String> {
        let field = |name: &str| text(&entry.map, name);
        let body = match entry.map.get("body") {
            Some(redis::Value::BulkString(bytes)) => Bytes::copy_from_slice(bytes),
            _ => return Err("the entry has no body".to_owned()),
        };
        let event = crate::events::parse(&body).map_err(|e| e.to_string())?;
        let origin = field("origin")
            .filter(|o| !o.is_empty())
            .unwrap_or_else(|| entry.id.clone());
        Ok(Self {
            key: field("key").unwrap_or_else(|| event.idempotency_key(&body)),
            trigger: field("trigger").unwrap_or_default(),
            attempts: field("attempts").and_then(|a| a.parse().ok()).unwrap_or(0),
            received_ms: field("received").and_then(|r| r.parse().ok()).unwrap_or(0),
            id: entry.id.clone(),
            origin,
            event,
            raw: body,
        })
    }
}

/// A worker of an inbox's consumer group. Any number run at once, in any
/// number of processes, each under its own consumer name.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use sinch_conversation::inbox::Worker;
///
/// let worker = Worker::connect("redis://127.0.0.1:6379", "callbacks").await?.concurrency(8);
/// let stop = async { let _ = tokio::signal::ctrl_c().await; };
/// worker
///     .run(
///         |event| async move {
///             println!("{} {}", event.trigger, event.key);
///             Ok::<(), std::io::Error>(()) // Err: retried with back-off
///         },
///         stop,
///     )
///     .await;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Worker {
    inbox: Inbox,
    consumer: String,
    concurrency: usize,
    max_attempts: u32,
    backoff: Backoff,
    visibility: Duration,
    grace: Duration,
}

impl fmt::Debug for Worker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Worker")
            .field("inbox", &self.inbox.name)
            .field("consumer", &self.consumer)
            .field("concurrency", &self.concurrency)
            .field("max_attempts", &self.max_attempts)
            .field("backoff", &self.backoff)
            .field("visibility", &self.visibility)
            .finish()
    }
}

/// How long one blocking read waits for new entries.
const BLOCK: Duration = Duration::from_millis(500);

impl Worker {
    /// Handlers in flight by default.
    pub const DEFAULT_CONCURRENCY: usize = 4;
    /// Attempts before an event is dead-lettered, by default.
    pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;
    /// How long an entry may stay unacknowledged before another worker
    /// reclaims it, by default; also the longest a handler may run.
    pub const DEFAULT_VISIBILITY: Duration = Duration::from_secs(60);

    /// Connects to `url` for the inbox `name`, as a consumer of its own
    /// (host, process and a random part).
    pub async fn connect(url: &str, name: impl Into<String>) -> Result<Self, RedisError> {
        // A blocking read waits `BLOCK`: calls may take that long.
        let connection = crate::shared::connect_with(url, BLOCK + Duration::from_secs(2)).await?;
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "host".to_owned());
        Ok(Self {
            inbox: Inbox {
                connection,
                name: name.into(),
            },
            consumer: format!("{host}-{}-{:08x}", std::process::id(), fastrand::u32(..)),
            concurrency: Self::DEFAULT_CONCURRENCY,
            max_attempts: Self::DEFAULT_MAX_ATTEMPTS,
            backoff: Backoff::default(),
            visibility: Self::DEFAULT_VISIBILITY,
            grace: Duration::from_secs(30),
        })
    }

    /// Handlers in flight at once (at least 1).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// Attempts before the dead-letter stream (at least 1).
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n.max(1);
        self
    }

    /// The retry schedule.
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// How long an entry may stay unacknowledged before another worker
    /// reclaims it (that counts as an attempt), and the longest a handler
    /// may run (then it counts as failed). At least a second.
    pub fn visibility_timeout(mut self, timeout: Duration) -> Self {
        self.visibility = timeout.max(Duration::from_secs(1));
        self
    }

    /// After `shutdown`, how long to wait for handlers in flight.
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// This worker's consumer name.
    pub fn consumer(&self) -> &str {
        &self.consumer
    }

    /// Reads and handles events until `shutdown` completes; then stops
    /// reading and waits for the handlers in flight (at most the grace).
    /// Redis outages are logged and waited out (the connection reconnects);
    /// nothing acknowledged is lost, and nothing unacknowledged is: it is
    /// reclaimed after the visibility timeout.
    pub async fn run<F, Fut, E>(&self, handler: F, shutdown: impl Future<Output = ()>)
    where
        F: Fn(InboxEvent) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: fmt::Display + Send + 'static,
    {
        let handler = Arc::new(handler);
        let permits = Arc::new(tokio::sync::Semaphore::new(self.concurrency));
        #[cfg(feature = "metrics")]
        let _gauges = GaugeRefresh(tokio::spawn(refresh_gauges(self.inbox.clone())));
        tokio::pin!(shutdown);
        let mut group_ready = false;
        loop {
            let first = tokio::select! {
                () = &mut shutdown => break,
                permit = permits.clone().acquire_owned() => match permit {
                    Ok(permit) => permit,
                    Err(_) => break,
                },
            };
            if !group_ready {
                match self.inbox.ensure_group().await {
                    Ok(()) => group_ready = true,
                    Err(error) => {
                        self.pause(&error, &mut shutdown).await;
                        continue;
                    }
                }
            }
            let room = permits.available_permits() + 1;
            // Not cancelled by the shutdown: a blocking read dropped midway
            // would leave what Redis delivered to it pending, unseen, until
            // the visibility timeout. It ends within `BLOCK`.
            let entries = match self.next_entries(room).await {
                Ok(entries) => entries,
                Err(error) => {
                    if error.to_string().contains("NOGROUP") {
                        group_ready = false;
                    }
                    drop(first);
                    self.pause(&error, &mut shutdown).await;
                    continue;
                }
            };
            let mut first = Some(first);
            for (entry, reclaimed) in entries {
                let permit = match first.take() {
                    Some(permit) => permit,
                    None => match permits.clone().try_acquire_owned() {
                        Ok(permit) => permit,
                        // Cannot happen (`room` were free): handled next round.
                        Err(_) => break,
                    },
                };
                let (worker, handler) = (self.clone(), handler.clone());
                tokio::spawn(async move {
                    worker.handle(entry, reclaimed, handler).await;
                    drop(permit);
                });
            }
            let stopping = tokio::select! {
                biased;
                () = &mut shutdown => true,
                () = std::future::ready(()) => false,
            };
            if stopping {
                break;
            }
        }
        // Stop reading; let the handlers in flight finish.
        let all = u32::try_from(self.concurrency).unwrap_or(u32::MAX);
        if tokio::time::timeout(self.grace, permits.acquire_many(all))
            .await
            .is_err()
        {
            tracing::warn!(
                "inbox worker stopped with handlers still running: their entries are reclaimed after the visibility timeout"
            );
        }
    }

    /// Logs a Redis error and waits a little (or until shutdown).
    async fn pause(
        &self,
        error: &redis::RedisError,
        shutdown: &mut (impl Future<Output = ()> + Unpin),
    ) {
        tracing::warn!(%error, inbox = %self.inbox.name, "inbox worker: Redis unavailable, retrying");
        tokio::select! {
            () = shutdown => {}
            () = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
    }

    /// Due retries moved back into the stream, then entries a dead worker
    /// left (reclaimed: `true`), else new ones (a blocking read).
    async fn next_entries(&self, room: usize) -> Result<Vec<(StreamId, bool)>, redis::RedisError> {
        let mut connection = self.inbox.connection();
        let now = now_ms();
        let _: i64 = MOVE_SCRIPT
            .key(self.inbox.retry_key())
            .key(self.inbox.stream_key())
            .arg(now)
            .arg(100)
            .invoke_async(&mut connection)
            .await?;
        let reclaimed: StreamAutoClaimReply = redis::AsyncCommands::xautoclaim_options(
            &mut connection,
            self.inbox.stream_key(),
            GROUP,
            &self.consumer,
            millis(self.visibility),
            "0-0",
            StreamAutoClaimOptions::default().count(room),
        )
        .await?;
        if !reclaimed.claimed.is_empty() {
            return Ok(reclaimed.claimed.into_iter().map(|e| (e, true)).collect());
        }
        let options = StreamReadOptions::default()
            .group(GROUP, &self.consumer)
            .count(room)
            .block(usize::try_from(millis(BLOCK)).unwrap_or(500));
        let read: Option<StreamReadReply> = redis::AsyncCommands::xread_options(
            &mut connection,
            &[self.inbox.stream_key()],
            &[">"],
            &options,
        )
        .await?;
        Ok(read
            .into_iter()
            .flat_map(|r| r.keys)
            .flat_map(|k| k.ids)
            .map(|e| (e, false))
            .collect())
    }

    /// How often an entry was delivered (`XPENDING`): each delivery after
    /// the first is a worker that stopped without acknowledging it.
    async fn deliveries(&self, id: &str) -> usize {
        let pending: Result<redis::streams::StreamPendingCountReply, _> = redis::cmd("XPENDING")
            .arg(self.inbox.stream_key())
            .arg(GROUP)
            .arg(id)
            .arg(id)
            .arg(1)
            .query_async(&mut self.inbox.connection())
            .await;
        pending
            .ok()
            .and_then(|p| p.ids.first().map(|p| p.times_delivered))
            .unwrap_or(1)
    }

    async fn handle<F, Fut, E>(&self, entry: StreamId, reclaimed: bool, handler: Arc<F>)
    where
        F: Fn(InboxEvent) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: fmt::Display + Send + 'static,
    {
        let mut event = match InboxEvent::from_entry(&entry) {
            Ok(event) => event,
            Err(why) => {
                self.settle(&entry, Outcome::Dead(format!("not an event: {why}"), 0))
                    .await;
                return;
            }
        };
        if reclaimed {
            let died = u32::try_from(self.deliveries(&entry.id).await.saturating_sub(1))
                .unwrap_or(u32::MAX);
            event.attempts = event.attempts.saturating_add(died.max(1));
        }
        if event.attempts >= self.max_attempts {
            let why = format!(
                "{} attempts (its workers stopped before finishing)",
                event.attempts
            );
            self.settle(&entry, Outcome::Dead(why, event.attempts))
                .await;
            return;
        }
        let attempts = event.attempts + 1;
        #[cfg(feature = "metrics")]
        let started = std::time::Instant::now();
        let run = tokio::spawn(handler(event));
        let abort = run.abort_handle();
        let outcome = match tokio::time::timeout(self.visibility, run).await {
            Ok(Ok(Ok(()))) => Outcome::Done,
            Ok(Ok(Err(error))) => self.failed(error.to_string(), attempts),
            Ok(Err(join)) if join.is_panic() => {
                self.failed("the handler panicked".to_owned(), attempts)
            }
            Ok(Err(_)) => self.failed("the handler was cancelled".to_owned(), attempts),
            Err(_) => {
                abort.abort();
                self.failed(
                    format!(
                        "the handler ran past the visibility timeout ({} s)",
                        self.visibility.as_secs()
                    ),
                    attempts,
                )
            }
        };
        #[cfg(feature = "metrics")]
        ::metrics::histogram!(
            crate::metrics::INBOX_HANDLER_DURATION_SECONDS,
            "inbox" => self.inbox.name().to_owned()
        )
        .record(started.elapsed().as_secs_f64());
        self.settle(&entry, outcome).await;
    }

    fn failed(&self, error: String, attempts: u32) -> Outcome {
        if attempts >= self.max_attempts {
            Outcome::Dead(error, attempts)
        } else {
            Outcome::Retry(error, attempts)
        }
    }

    /// Acknowledges, schedules a retry or dead-letters, in one script. If
    /// Redis cannot be reached, the entry stays pending and is reclaimed
    /// after the visibility timeout: handled again, never lost.
    async fn settle(&self, entry: &StreamId, outcome: Outcome) {
        let mut connection = self.inbox.connection();
        let stream = self.inbox.stream_key();
        let result: Result<i64, redis::RedisError> = match &outcome {
            Outcome::Done => {
                ACK_SCRIPT
                    .key(&stream)
                    .arg(GROUP)
                    .arg(&entry.id)
                    .invoke_async(&mut connection)
                    .await
            }
            Outcome::Retry(error, attempts) => {
                let fields = carried(entry, *attempts, error);
                let flat: Vec<String> = fields.into_iter().flat_map(|(k, v)| [k, v]).collect();
                let member = serde_json::to_string(&flat).unwrap_or_default();
                let due = now_ms() + millis(self.backoff.after(*attempts));
                RETRY_SCRIPT
                    .key(&stream)
                    .key(self.inbox.retry_key())
                    .arg(GROUP)
                    .arg(&entry.id)
                    .arg(due)
                    .arg(member)
                    .invoke_async(&mut connection)
                    .await
            }
            Outcome::Dead(error, attempts) => {
                let mut fields = carried(entry, *attempts, error);
                let now = now_ms();
                fields.push(("dead_at".to_owned(), now.to_string()));
                let mut invocation = DEAD_SCRIPT.prepare_invoke();
                invocation
                    .key(&stream)
                    .key(self.inbox.dead_key())
                    .arg(GROUP)
                    .arg(&entry.id);
                for (field, value) in &fields {
                    invocation.arg(field).arg(value);
                }
                invocation.invoke_async(&mut connection).await
            }
        };
        match result {
            // Counted once Redis has it: an attempt not settled is made again.
            #[cfg(feature = "metrics")]
            Ok(_) => ::metrics::counter!(
                crate::metrics::INBOX_HANDLED_TOTAL,
                "inbox" => self.inbox.name().to_owned(),
                "outcome" => match &outcome {
                    Outcome::Done => "done",
                    Outcome::Retry(..) => "retry",
                    Outcome::Dead(..) => "dead",
                }
            )
            .increment(1),
            #[cfg(not(feature = "metrics"))]
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(%error, id = %entry.id, "inbox: entry not settled; it is reclaimed after the visibility timeout");
            }
        }
    }
}

/// How often a worker refreshes its inbox's gauges.
#[cfg(feature = "metrics")]
const GAUGE_REFRESH: Duration = Duration::from_secs(5);

/// Refreshes `inbox`'s gauges until aborted.
#[cfg(feature = "metrics")]
async fn refresh_gauges(inbox: super::Inbox) {
    loop {
        if let Err(error) = inbox.record_metrics().await {
            tracing::debug!(%error, "inbox gauges not refreshed");
        }
        tokio::time::sleep(GAUGE_REFRESH).await;
    }
}

/// Stops the gauge refresh when the worker's run ends.
#[cfg(feature = "metrics")]
struct GaugeRefresh(tokio::task::JoinHandle<()>);

#[cfg(feature = "metrics")]
impl Drop for GaugeRefresh {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// What became of one attempt.
enum Outcome {
    Done,
    Retry(String, u32),
    Dead(String, u32),
}

/// The entry's fields as they go on (a retry, a dead letter): the same
/// body and metadata, the attempts so far, the last error (no secret: the
/// handler's own message), the first entry's id.
fn carried(entry: &StreamId, attempts: u32, error: &str) -> Vec<(String, String)> {
    let map: &HashMap<String, redis::Value> = &entry.map;
    let mut fields = Vec::new();
    for name in FIELDS {
        let value = match name {
            "attempts" => attempts.to_string(),
            "error" => error.chars().take(1000).collect(),
            "origin" => text(map, "origin")
                .filter(|o| !o.is_empty())
                .unwrap_or_else(|| entry.id.clone()),
            _ => match text(map, name) {
                Some(value) => value,
                None => continue,
            },
        };
        fields.push((name.to_owned(), value));
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_back_off_doubles_up_to_its_cap() {
        let backoff = Backoff::default();
        let waits: Vec<u64> = (1..=11).map(|n| backoff.after(n).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
        let constant = Backoff {
            first: Duration::from_millis(50),
            factor: 1,
            max: Duration::from_secs(1),
        };
        assert_eq!(constant.after(7), Duration::from_millis(50));
        // No overflow, however many failures.
        assert_eq!(backoff.after(u32::MAX), Duration::from_secs(300));
    }
}
