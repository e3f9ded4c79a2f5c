//! A durable inbox on Redis Streams (features `redis` and `axum`): answer
//! Sinch only once the callback is stored, then handle it with workers that
//! retry, dead-letter and replay.
//!
//! ```text
//! Sinch ──POST──▶ InboxEndpoint ──XADD (after verify, deduplicated)──▶ stream
//!                 2xx only once Redis has it                            │
//!                                       Worker × N processes ◀──XREADGROUP┘
//!                                       Ok → XACK + XDEL
//!                                       Err → retry set (back-off) → stream
//!                                       N attempts → dead-letter stream
//! ```
//!
//! - **Endpoint** ([`InboxEndpoint`]): verifies as the
//!   [`Receiver`](crate::receive::Receiver) does, then in one atomic script
//!   appends the raw body with the trigger, key, app, project and received
//!   time — unless the same idempotency key was appended within the dedup
//!   time-to-live (a duplicate: answered 200, not appended). 2xx only after
//!   Redis acknowledged the append; 503 otherwise, so Sinch retries.
//!   Optionally, [`InboxEndpoint::wait_for_replicas`] also waits for `WAIT`.
//! - **Workers** ([`Worker`]): one consumer group, any number of processes,
//!   each with `concurrency` handlers in flight. `Ok` acknowledges (and
//!   deletes) the entry. `Err` (or a handler that outlives the visibility
//!   timeout) is retried after a back-off ([`Backoff`]: 1 s, doubling, at
//!   most 5 min by default), through a retry set, by any worker. After
//!   `max_attempts` (5) the event goes to the dead-letter stream with its
//!   attempts and last error. An entry left unacknowledged by a worker that
//!   died is reclaimed (`XAUTOCLAIM`) after the visibility timeout (60 s) and
//!   that counts as an attempt.
//! - **Nothing is trimmed**: an acknowledged entry is deleted by the same
//!   script that acknowledges it, so the stream holds only what is not
//!   handled yet; nothing else removes entries. Dead letters stay until
//!   replayed ([`Inbox::replay`]).
//! - **Order is not promised** across events (retries overtake, workers run
//!   in parallel), as Sinch does not promise it either: handle each event on
//!   its own (its `accepted_time` says when Sinch accepted it).
//! - **Redis Cluster**: every key of an inbox carries one hash tag,
//!   `sinch-inbox:{<name>}:…`, so every atomic step touches one slot.
//!
//! Persistence: the guarantee is Redis's. Run it with the append-only file
//! (`appendonly yes`); with `appendfsync everysec` a power cut can lose the
//! last second of appends that were already answered 2xx, with `always`
//! none (slower). A replica does not help unless
//! [`wait_for_replicas`](InboxEndpoint::wait_for_replicas) is set.
use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use redis::aio::ConnectionManager;

mod admin;
mod append;
mod worker;

pub use admin::{ConsumerPending, DeadLetter, InboxStats};
pub use append::{Appended, InboxEndpoint};
pub use worker::{Backoff, InboxEvent, Worker};

use crate::shared::{RedisError, millis};

/// The consumer group every worker of an inbox joins.
pub const GROUP: &str = "sinch-workers";

/// One inbox in Redis: its name and connection; what the endpoint, the
/// workers and the admin calls share.
#[derive(Clone)]
pub struct Inbox {
    connection: ConnectionManager,
    name: String,
}

impl fmt::Debug for Inbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inbox")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Inbox {
    /// Connects to `url` for the inbox `name` (any text; it becomes the
    /// keys' hash tag). An error when Redis cannot be reached now.
    pub async fn connect(url: &str, name: impl Into<String>) -> Result<Self, RedisError> {
        Ok(Self {
            connection: crate::shared::connect_to(url).await?,
            name: name.into(),
        })
    }

    /// The inbox's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `sinch-inbox:{<name>}:<what>`: one hash tag for every key.
    fn key(&self, what: &str) -> String {
        format!("sinch-inbox:{{{}}}:{what}", self.name)
    }

    /// The stream of events not handled yet.
    pub fn stream_key(&self) -> String {
        self.key("stream")
    }

    /// The stream of dead letters.
    pub fn dead_key(&self) -> String {
        self.key("dead")
    }

    /// The sorted set of events waiting for their retry.
    pub fn retry_key(&self) -> String {
        self.key("retry")
    }

    fn seen_prefix(&self) -> String {
        self.key("seen:")
    }

    fn connection(&self) -> ConnectionManager {
        self.connection.clone()
    }

    /// Creates the consumer group (and the stream) if missing.
    pub(crate) async fn ensure_group(&self) -> Result<(), redis::RedisError> {
        let created: Result<(), redis::RedisError> = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(self.stream_key())
            .arg(GROUP)
            .arg("0")
            .arg("MKSTREAM")
            .query_async(&mut self.connection())
            .await;
        match created {
            Err(e) if e.to_string().contains("BUSYGROUP") => Ok(()),
            other => other,
        }
    }
}

/// Now, in milliseconds since the Unix epoch (what entries carry).
fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(millis)
        .unwrap_or_default()
}

/// Reads a stream entry's field as text.
fn text(map: &std::collections::HashMap<String, redis::Value>, field: &str) -> Option<String> {
    match map.get(field)? {
        redis::Value::BulkString(bytes) => Some(String::from_utf8_lossy(bytes).into_owned()),
        redis::Value::SimpleString(text) => Some(text.clone()),
        redis::Value::Int(n) => Some(n.to_string()),
        _ => None,
    }
}
