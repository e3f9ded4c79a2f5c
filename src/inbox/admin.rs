//! Watching an inbox and replaying its dead letters.
use std::sync::LazyLock;

use redis::streams::StreamRangeReply;
use serde::Serialize;

use super::{GROUP, Inbox, now_ms, text};
use crate::shared::RedisError;

/// KEYS: the dead-letter stream, the stream. ARGV: ids. Appends each dead
/// letter back to the stream with its attempts reset, and deletes it from
/// the dead letters, in one step; answers how many.
const REPLAY: &str = r"
local moved = 0
for _, id in ipairs(ARGV) do
  local found = redis.call('XRANGE', KEYS[1], id, id)
  if #found == 1 then
    local fields = {}
    local kv = found[1][2]
    for i = 1, #kv, 2 do
      local k = kv[i]
      if k == 'attempts' then
        fields[#fields + 1] = k
        fields[#fields + 1] = '0'
      elseif k ~= 'error' and k ~= 'dead_at' then
        fields[#fields + 1] = k
        fields[#fields + 1] = kv[i + 1]
      end
    end
    redis.call('XADD', KEYS[2], '*', unpack(fields))
    redis.call('XDEL', KEYS[1], id)
    moved = moved + 1
  end
end
return moved
";

static REPLAY_SCRIPT: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(REPLAY));

/// One consumer's unacknowledged entries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ConsumerPending {
    /// The consumer (worker) name.
    pub consumer: String,
    /// Entries it holds unacknowledged.
    pub pending: u64,
    /// Milliseconds since it last read or acknowledged.
    pub idle_ms: u64,
}

/// What an inbox holds now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct InboxStats {
    /// Entries in the stream: not handled yet (new, or being handled).
    pub length: u64,
    /// Of those, read by a worker and not acknowledged, per worker.
    pub pending: Vec<ConsumerPending>,
    /// Events waiting for their retry.
    pub waiting_retry: u64,
    /// Dead letters.
    pub dead_letters: u64,
    /// How long ago the oldest entry in the stream was received (ms).
    pub oldest_unhandled_ms: Option<u64>,
}

/// One dead letter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct DeadLetter {
    /// Its id in the dead-letter stream (what `replay` takes).
    pub id: String,
    /// The event's trigger.
    pub trigger: String,
    /// Its idempotency key.
    pub key: String,
    /// Its app.
    pub app_id: String,
    /// Attempts made.
    pub attempts: u32,
    /// The last error.
    pub error: String,
}

fn error(what: &str) -> impl Fn(redis::RedisError) -> RedisError + '_ {
    move |e| RedisError::from_redis(what, &e)
}

impl Inbox {
    /// Reads the [stats](Self::stats) into the inbox's gauges (depth,
    /// pending, dead letters, oldest unhandled age; see
    /// [`metrics`](crate::metrics)). Each [`Worker`](super::Worker) does
    /// this every few seconds; call it to refresh them yourself (e.g. when
    /// `/metrics` is scraped).
    #[cfg(feature = "metrics")]
    #[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
    pub async fn record_metrics(&self) -> Result<(), RedisError> {
        use crate::metrics::{
            INBOX_DEAD_LETTERS, INBOX_DEPTH, INBOX_OLDEST_UNHANDLED_AGE_SECONDS, INBOX_PENDING,
        };
        let stats = self.stats().await?;
        let inbox = self.name.clone();
        let pending: u64 = stats.pending.iter().map(|p| p.pending).sum();
        ::metrics::gauge!(INBOX_DEPTH, "inbox" => inbox.clone()).set(stats.length as f64);
        ::metrics::gauge!(INBOX_PENDING, "inbox" => inbox.clone()).set(pending as f64);
        ::metrics::gauge!(INBOX_DEAD_LETTERS, "inbox" => inbox.clone())
            .set(stats.dead_letters as f64);
        ::metrics::gauge!(INBOX_OLDEST_UNHANDLED_AGE_SECONDS, "inbox" => inbox)
            .set(stats.oldest_unhandled_ms.unwrap_or(0) as f64 / 1000.0);
        Ok(())
    }

    /// Length, pending per worker with idle time, retries waiting, dead
    /// letters, and the oldest unhandled entry's age.
    pub async fn stats(&self) -> Result<InboxStats, RedisError> {
        let mut connection = self.connection();
        let stream = self.stream_key();
        let length: u64 = redis::cmd("XLEN")
            .arg(&stream)
            .query_async(&mut connection)
            .await
            .map_err(error("XLEN"))?;
        let consumers: Result<redis::streams::StreamInfoConsumersReply, _> = redis::cmd("XINFO")
            .arg("CONSUMERS")
            .arg(&stream)
            .arg(GROUP)
            .query_async(&mut connection)
            .await;
        // No group yet (no worker has run): nothing pending.
        let pending = consumers
            .map(|c| {
                c.consumers
                    .into_iter()
                    .filter(|c| c.pending > 0)
                    .map(|c| ConsumerPending {
                        consumer: c.name,
                        pending: c.pending as u64,
                        idle_ms: c.idle as u64,
                    })
                    .collect()
            })
            .unwrap_or_default();
        let waiting_retry: u64 = redis::cmd("ZCARD")
            .arg(self.retry_key())
            .query_async(&mut connection)
            .await
            .map_err(error("ZCARD"))?;
        let dead_letters: u64 = redis::cmd("XLEN")
            .arg(self.dead_key())
            .query_async(&mut connection)
            .await
            .map_err(error("XLEN"))?;
        let first: StreamRangeReply = redis::cmd("XRANGE")
            .arg(&stream)
            .arg("-")
            .arg("+")
            .arg("COUNT")
            .arg(1)
            .query_async(&mut connection)
            .await
            .map_err(error("XRANGE"))?;
        let oldest_unhandled_ms = first.ids.first().and_then(|entry| {
            let received: u64 = text(&entry.map, "received")?.parse().ok()?;
            Some(now_ms().saturating_sub(received))
        });
        Ok(InboxStats {
            length,
            pending,
            waiting_retry,
            dead_letters,
            oldest_unhandled_ms,
        })
    }

    /// The dead letters, oldest first (at most `limit`).
    pub async fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>, RedisError> {
        let range: StreamRangeReply = redis::cmd("XRANGE")
            .arg(self.dead_key())
            .arg("-")
            .arg("+")
            .arg("COUNT")
            .arg(limit)
            .query_async(&mut self.connection())
            .await
            .map_err(error("XRANGE"))?;
        Ok(range
            .ids
            .iter()
            .map(|entry| {
                let field = |name: &str| text(&entry.map, name).unwrap_or_default();
                DeadLetter {
                    id: entry.id.clone(),
                    trigger: field("trigger"),
                    key: field("key"),
                    app_id: field("app"),
                    attempts: field("attempts").parse().unwrap_or(0),
                    error: field("error"),
                }
            })
            .collect())
    }

    /// Puts these dead letters back into the stream, attempts reset; answers
    /// how many were found and moved (an id that is not a dead letter is
    /// skipped).
    pub async fn replay(&self, ids: &[String]) -> Result<u64, RedisError> {
        let mut moved = 0;
        for batch in ids.chunks(100) {
            let mut invocation = REPLAY_SCRIPT.prepare_invoke();
            invocation.key(self.dead_key()).key(self.stream_key());
            for id in batch {
                invocation.arg(id);
            }
            let n: u64 = invocation
                .invoke_async(&mut self.connection())
                .await
                .map_err(error("replay"))?;
            moved += n;
        }
        Ok(moved)
    }

    /// Puts every dead letter back (in batches); answers how many.
    pub async fn replay_all(&self) -> Result<u64, RedisError> {
        let mut moved = 0;
        loop {
            let batch = self.dead_letters(100).await?;
            if batch.is_empty() {
                return Ok(moved);
            }
            let ids: Vec<String> = batch.into_iter().map(|d| d.id).collect();
            let n = self.replay(&ids).await?;
            if n == 0 {
                return Ok(moved);
            }
            moved += n;
        }
    }
}
