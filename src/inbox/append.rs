//! The endpoint: verify, then append once, then answer.
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::{Inbox, millis, now_ms};
use crate::receive::{CallbackRejection, Receiver, read_body};

/// KEYS: the stream, the seen key. ARGV: the dedup time-to-live (ms), then
/// field, value pairs. Appends unless the seen key exists; answers the new
/// entry's id, or `false` for a duplicate. One step: a duplicate is never
/// appended twice. The entry is written before the seen key, so a failing
/// write can at worst let a copy in again, never mark an event seen that
/// was not stored.
const APPEND: &str = r"
if redis.call('EXISTS', KEYS[2]) == 1 then
  return false
end
local fields = {}
for i = 2, #ARGV do fields[#fields + 1] = ARGV[i] end
local id = redis.call('XADD', KEYS[1], '*', unpack(fields))
redis.call('SET', KEYS[2], 1, 'PX', ARGV[1])
return id
";

static APPEND_SCRIPT: std::sync::LazyLock<redis::Script> =
    std::sync::LazyLock::new(|| redis::Script::new(APPEND));

/// What [`InboxEndpoint::receive`] did with a verified callback.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Appended {
    /// Stored: the entry's id in the stream.
    New {
        /// The stream entry's id.
        id: String,
        /// The event's trigger (or identifying key).
        trigger: String,
        /// Its idempotency key.
        key: String,
    },
    /// Appended before, within the dedup time-to-live: not again.
    Duplicate {
        /// The event's trigger (or identifying key).
        trigger: String,
        /// Its idempotency key.
        key: String,
    },
}

/// The inbox's receiving side: verification as the [`Receiver`] does it
/// (secrets, window, body cap and deadline, bearer check), then one atomic
/// append. An axum handler ([`handle`](Self::handle)) and a plain call
/// ([`receive`](Self::receive)) for other frameworks.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use axum::{routing::post, Router};
/// use sinch_conversation::inbox::{Inbox, InboxEndpoint};
/// use sinch_conversation::receive::Receiver;
///
/// let inbox = Inbox::connect("redis://127.0.0.1:6379", "callbacks").await?;
/// let endpoint = InboxEndpoint::new(inbox, Receiver::new(["the webhook's secret"]));
/// let app: Router = Router::new()
///     .route("/sinch", post(InboxEndpoint::handle))
///     .with_state(endpoint);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct InboxEndpoint {
    inbox: Inbox,
    receiver: Receiver,
    dedup_ttl: Duration,
    replicas: Option<(u32, Duration)>,
}

impl InboxEndpoint {
    /// How long an event's key is remembered to refuse appending it again:
    /// a day (Sinch's retries stop well before).
    pub const DEFAULT_DEDUP_TTL: Duration = Duration::from_secs(24 * 3600);

    /// Appends what `receiver` verifies to `inbox`. The receiver's own
    /// deduplication store, if it has one, is not used: the inbox
    /// deduplicates in its append, so a replayed request is a copy
    /// (answered 200, not appended again). A receiver without a store that
    /// [refuses replays](Receiver::refuse_replays) still answers them 401.
    pub fn new(inbox: Inbox, receiver: Receiver) -> Self {
        Self {
            inbox,
            receiver,
            dedup_ttl: Self::DEFAULT_DEDUP_TTL,
            replicas: None,
        }
    }

    /// How long a key is remembered (at least a millisecond).
    pub fn dedup_ttl(mut self, ttl: Duration) -> Self {
        self.dedup_ttl = ttl.max(Duration::from_millis(1));
        self
    }

    /// After each append, `WAIT` until `replicas` replicas have it (at most
    /// `timeout`); fewer is answered 503 (Sinch retries; the retry is then a
    /// duplicate, answered 200). For a replicated Redis whose primary may
    /// fail over: without it, an append answered 2xx may be lost with the
    /// primary.
    pub fn wait_for_replicas(mut self, replicas: u32, timeout: Duration) -> Self {
        self.replicas = Some((replicas, timeout));
        self
    }

    /// The inbox.
    pub fn inbox(&self) -> &Inbox {
        &self.inbox
    }

    /// Verifies and appends a callback: for other frameworks (give it the
    /// headers and the raw body; answer a rejection with its
    /// [`status`](CallbackRejection::status)).
    pub async fn receive(
        &self,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Appended, CallbackRejection> {
        let appended = self.append(headers, Bytes::copy_from_slice(body)).await;
        self.observe(&appended);
        appended
    }

    /// Counts what happened in the [metrics](crate::metrics) (feature
    /// `metrics`; nothing otherwise): the callback's outcome, and what was
    /// stored.
    #[inline]
    fn observe(&self, _appended: &Result<Appended, CallbackRejection>) {
        #[cfg(feature = "metrics")]
        {
            use crate::metrics::{CALLBACKS_TOTAL, INBOX_APPENDED_TOTAL};
            match _appended {
                Ok(Appended::New { .. }) => {
                    ::metrics::counter!(CALLBACKS_TOTAL, "outcome" => "accepted").increment(1);
                    ::metrics::counter!(INBOX_APPENDED_TOTAL, "inbox" => self.inbox.name.clone())
                        .increment(1);
                }
                Ok(Appended::Duplicate { .. }) => {
                    ::metrics::counter!(CALLBACKS_TOTAL, "outcome" => "duplicate").increment(1);
                }
                Err(rejection) => crate::receive::observe_rejection(rejection),
            }
        }
    }

    async fn append(
        &self,
        headers: &HeaderMap,
        body: Bytes,
    ) -> Result<Appended, CallbackRejection> {
        let (callback, _) = self.receiver.verify_bytes(headers, body)?;
        let trigger = callback.trigger_name();
        let key = callback.idempotency_key().to_owned();
        let received = now_ms().to_string();
        let unavailable = |e: redis::RedisError| {
            CallbackRejection::StoreUnavailable(crate::dedup::DedupError::new(format!(
                "inbox: Redis: {e}"
            )))
        };
        let mut connection = self.inbox.connection();
        let mut invocation = APPEND_SCRIPT.prepare_invoke();
        invocation
            .key(self.inbox.stream_key())
            .key(format!("{}{key}", self.inbox.seen_prefix()))
            .arg(millis(self.dedup_ttl))
            .arg("body")
            .arg(callback.raw())
            .arg("trigger")
            .arg(&trigger)
            .arg("key")
            .arg(&key)
            .arg("app")
            .arg(&callback.event.app_id)
            .arg("project")
            .arg(&callback.event.project_id)
            .arg("received")
            .arg(&received)
            .arg("attempts")
            .arg(0);
        let id: Option<String> = invocation
            .invoke_async(&mut connection)
            .await
            .map_err(unavailable)?;
        let Some(id) = id else {
            return Ok(Appended::Duplicate { trigger, key });
        };
        if let Some((replicas, timeout)) = self.replicas {
            let acked: i64 = redis::cmd("WAIT")
                .arg(replicas)
                .arg(millis(timeout))
                .query_async(&mut connection)
                .await
                .map_err(unavailable)?;
            if acked < i64::from(replicas) {
                return Err(CallbackRejection::StoreUnavailable(
                    crate::dedup::DedupError::new(format!(
                        "inbox: {acked} of {replicas} replicas have the event"
                    )),
                ));
            }
        }
        Ok(Appended::New { id, trigger, key })
    }

    /// The axum handler: reads the body (the receiver's cap and deadline),
    /// appends, answers 200 (new or duplicate) or the rejection's status
    /// (503 when Redis did not take it, so Sinch retries).
    pub async fn handle(State(endpoint): State<InboxEndpoint>, request: Request) -> Response {
        match endpoint.handle_request(request).await {
            Ok(_) => StatusCode::OK.into_response(),
            Err(rejection) => rejection.into_response(),
        }
    }

    /// What [`handle`](Self::handle) does, with what happened.
    pub async fn handle_request(&self, request: Request) -> Result<Appended, CallbackRejection> {
        let (parts, body) = request.into_parts();
        let appended = match read_body(&self.receiver, &parts.headers, body).await {
            Ok(body) => self.append(&parts.headers, body).await,
            Err(rejection) => Err(rejection),
        };
        self.observe(&appended);
        appended
    }
}
