//! Receiving callbacks with axum: the [`SinchCallback`] extractor reads the
//! raw body (up to a cap), verifies it with the [`Receiver`] in the router's
//! state, parses it into a typed event and claims it in the deduplication
//! store; the [`CallbackLayer`] settles the claim from the handler's answer.
//!
//! ```
//! use std::time::Duration;
//! use axum::{http::StatusCode, routing::post, Router};
//! use sinch_conversation::dedup::MemoryDeduplicator;
//! use sinch_conversation::receive::{CallbackLayer, Receiver, SinchCallback};
//!
//! async fn on_callback(callback: SinchCallback) -> StatusCode {
//!     // A copy of an event handled before never gets here (it is answered
//!     // 200), nor one being handled elsewhere (503 and Retry-After).
//!     println!("{:?} {}", callback.event.trigger(), callback.idempotency_key());
//!     StatusCode::OK // 2xx: completed. Anything else: released, Sinch retries.
//! }
//!
//! let receiver = Receiver::new(["the webhook's secret"])
//!     .deduplicate(MemoryDeduplicator::new(100_000, Duration::from_secs(24 * 3600)));
//! let app: Router = Router::new()
//!     .route("/sinch", post(on_callback))
//!     .layer(CallbackLayer::new())
//!     .with_state(receiver);
//! ```
//!
//! # What Sinch is answered
//! | case | answer |
//! |---|---|
//! | new event | the handler's; a 2xx **completes** the event, anything else (or a panic, or a dropped request) **releases** it so that Sinch's retry is handled |
//! | completed before (a retry, a duplicate) | 200, the handler does not run ([`CallbackRejection::AlreadyHandled`]) |
//! | being handled by another request or replica | 503 with `Retry-After`: the lease's time left ([`CallbackRejection::InProgress`]) |
//! | verification failed, a replayed nonce, a bad bearer token | 401 (the reason in the body, never a secret) |
//! | verified, not an event; body unreadable | 400 |
//! | body larger than the cap | 413 |
//! | body not complete within [`Receiver::body_timeout`] (10 s) | 408 |
//! | the store cannot answer | 503 (Sinch retries) |
//!
//! A claim is a lease ([`Receiver::lease`], [`Receiver::DEFAULT_LEASE`]): a
//! handler that outlives it, or a process that dies mid-handler, leaves it
//! to expire, and the next copy is handled. So each event is handled at
//! least once, and once unless a process dies between a handler's success
//! and its completion record.
//!
//! A handler that answers before it has finished (it queues the work)
//! takes the claim with [`SinchCallback::take_claim`] and settles it itself
//! with [`Claim::complete`](crate::dedup::Claim::complete) or
//! [`Claim::release`](crate::dedup::Claim::release). Without the layer, a
//! claim nobody settled is released when the callback is dropped (duplicates
//! are then handled again: never lost, but not deduplicated either).
//!
//! Other frameworks call [`Receiver::receive`] with the headers and the raw
//! body, answer a rejection with [`CallbackRejection::status`], and settle
//! with [`SinchCallback::complete`] or [`SinchCallback::release`]. Your own
//! state: implement `FromRef<YourState> for Receiver`.
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::callbacks::{NONCE_HEADER, Verifier, VerifyError};
use crate::dedup::{
    Claim, ClaimOutcome, ClaimRequest, DedupError, Deduplicator, MemoryDeduplicator, Settle,
};
use crate::events::{CallbackEvent, ParseError};
use crate::secret::Secret;

mod extract;
mod layer;

#[cfg(feature = "redis")]
pub(crate) use extract::read_body;

pub use layer::{CallbackLayer, CallbackService};

type BearerCheck = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// Where replayed nonces are looked for.
#[derive(Clone)]
enum Replays {
    /// In the deduplication store, in the claim's atomic step.
    InClaims,
    /// In this process (no deduplication store).
    Local(Arc<MemoryDeduplicator>),
}

/// How callbacks are received: the secrets, the body cap, and optionally a
/// deduplication store, a replay check and a bearer-token check. Cheap to
/// clone (the router clones it per request).
#[derive(Clone)]
pub struct Receiver {
    verifier: Verifier,
    max_body_bytes: usize,
    dedup: Option<Arc<dyn Deduplicator>>,
    replays: Option<Replays>,
    bearer: Option<BearerCheck>,
    lease: Duration,
    body_timeout: Duration,
}

impl fmt::Debug for Receiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("verifier", &self.verifier)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("deduplicates", &self.dedup.is_some())
            .field("refuses_replays", &self.replays.is_some())
            .field("checks_bearer", &self.bearer.is_some())
            .field("lease", &self.lease)
            .field("body_timeout", &self.body_timeout)
            .finish()
    }
}

impl Receiver {
    /// The default body cap: 1 MiB. Sinch's callbacks are a few KiB; the
    /// largest (a submitted message, Smart Conversations' results) stay far
    /// below it.
    pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

    /// The default lease of a claim: 60 seconds. Long enough for a handler
    /// that writes to a database; short enough that the retry of an event
    /// whose receiver died is handled a minute later.
    pub const DEFAULT_LEASE: Duration = Duration::from_secs(60);

    /// The default time the extractor waits for a whole body: 10 seconds.
    pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(10);

    /// Nonces seen without a deduplication store, per process.
    const LOCAL_NONCES: usize = 100_000;

    /// Accepts callbacks signed with any of `secrets` (several while
    /// rotating; see [`Verifier::with_secrets`]), with the default window
    /// and body cap.
    pub fn new<S: Into<Secret>>(secrets: impl IntoIterator<Item = S>) -> Self {
        Self::with_verifier(Verifier::with_secrets(secrets))
    }

    /// With a verifier of your own (its window, its nonce hook).
    pub fn with_verifier(verifier: Verifier) -> Self {
        Self {
            verifier,
            max_body_bytes: Self::DEFAULT_MAX_BODY_BYTES,
            dedup: None,
            replays: None,
            bearer: None,
            lease: Self::DEFAULT_LEASE,
            body_timeout: Self::DEFAULT_BODY_TIMEOUT,
        }
    }

    /// The largest body read; beyond it, 413.
    pub fn max_body_bytes(mut self, limit: usize) -> Self {
        self.max_body_bytes = limit;
        self
    }

    /// Claims every verified event's
    /// [idempotency key](CallbackEvent::idempotency_key) in `store` before
    /// the handler runs: see the [module](self) for what each case answers.
    pub fn deduplicate(mut self, store: impl Deduplicator + 'static) -> Self {
        self.dedup = Some(Arc::new(store));
        if self.replays.is_some() {
            self.replays = Some(Replays::InClaims);
        }
        self
    }

    /// How long the extractor waits for the whole body (default
    /// [`DEFAULT_BODY_TIMEOUT`](Self::DEFAULT_BODY_TIMEOUT)); then 408, and
    /// the request's task ends: a sender dribbling bytes cannot hold it.
    pub fn body_timeout(mut self, timeout: Duration) -> Self {
        self.body_timeout = timeout;
        self
    }

    /// How long a claim holds while its handler runs (default
    /// [`DEFAULT_LEASE`](Self::DEFAULT_LEASE); at least a millisecond).
    /// Then another copy of the event may be handled.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease.max(Duration::from_millis(1));
        self
    }

    /// Refuses (401) a callback whose nonce was seen before: a replay.
    /// Nonces are kept twice the verifier's window (a day without one) in
    /// the deduplication store, in the same atomic step as the claim; with
    /// no store, in this process (the last 100 000).
    pub fn refuse_replays(mut self) -> Self {
        self.replays = Some(match self.dedup {
            Some(_) => Replays::InClaims,
            None => Replays::Local(Arc::new(MemoryDeduplicator::new(
                Self::LOCAL_NONCES,
                self.nonce_ttl(),
            ))),
        });
        self
    }

    fn nonce_ttl(&self) -> Duration {
        self.verifier
            .window()
            .map_or(Duration::from_secs(24 * 3600), |window| window * 2)
    }

    /// For webhooks with `client_credentials`: requires
    /// `Authorization: Bearer <token>` and accepts it when `is_valid`
    /// says so (e.g. checks it against the tokens your token endpoint
    /// issued). Otherwise 401.
    pub fn bearer(mut self, is_valid: impl Fn(&str) -> bool + Send + Sync + 'static) -> Self {
        self.bearer = Some(Arc::new(is_valid));
        self
    }

    /// The verifier.
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// Verifies, checks, parses and claims a callback: what the extractor
    /// does, for other frameworks (give it the headers and the raw body).
    /// Settle the claim with [`SinchCallback::complete`] or
    /// [`SinchCallback::release`] once the outcome is known; unsettled, it
    /// is released when the callback is dropped.
    pub async fn receive(
        &self,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<SinchCallback, CallbackRejection> {
        self.receive_bytes(headers, Bytes::copy_from_slice(body), ClaimSlot::default())
            .await
    }

    /// Everything but the claim: the cap, the signature and window, the
    /// bearer token, a local replay check, the parse and the key. What the
    /// inbox (feature `redis`) shares with the extractor.
    pub(crate) fn verify_bytes(
        &self,
        headers: &HeaderMap,
        body: Bytes,
    ) -> Result<(SinchCallback, Option<String>), CallbackRejection> {
        if body.len() > self.max_body_bytes {
            return Err(CallbackRejection::TooLarge {
                limit: self.max_body_bytes,
            });
        }
        self.verifier
            .verify(headers, &body)
            .map_err(CallbackRejection::Unauthorized)?;
        if let Some(is_valid) = &self.bearer {
            let token = headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim);
            if !token.is_some_and(|t| !t.is_empty() && is_valid(t)) {
                return Err(CallbackRejection::BadBearer);
            }
        }
        let nonce_key = self.replays.as_ref().map(|_| {
            let nonce = headers
                .get(NONCE_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            format!("nonce:{nonce}")
        });
        if let (Some(Replays::Local(seen)), Some(nonce_key)) = (&self.replays, &nonce_key)
            && !seen.check(nonce_key)
        {
            return Err(CallbackRejection::Unauthorized(VerifyError::ReplayedNonce));
        }
        let event = crate::events::parse(&body).map_err(CallbackRejection::NotAnEvent)?;
        let key = event.idempotency_key(&body);
        let callback = SinchCallback {
            event,
            key,
            raw: body,
            slot: None,
        };
        Ok((callback, nonce_key))
    }

    async fn receive_bytes(
        &self,
        headers: &HeaderMap,
        body: Bytes,
        slot: ClaimSlot,
    ) -> Result<SinchCallback, CallbackRejection> {
        let (mut callback, nonce_key) = self.verify_bytes(headers, body)?;
        let Some(store) = &self.dedup else {
            return Ok(callback);
        };
        let stored = format!("event:{}", callback.key);
        let owner = crate::dedup::owner_token();
        let mut request = ClaimRequest::new(&stored, &owner, self.lease);
        if let (Some(Replays::InClaims), Some(nonce_key)) = (&self.replays, &nonce_key) {
            request = request.with_nonce(nonce_key, self.nonce_ttl());
        }
        match store
            .claim(request)
            .await
            .map_err(CallbackRejection::StoreUnavailable)?
        {
            ClaimOutcome::Claimed => {
                let claim = Claim::new(store.clone(), stored, owner, self.lease);
                slot.put(claim);
                callback.slot = Some(slot);
                Ok(callback)
            }
            ClaimOutcome::Completed => Err(CallbackRejection::AlreadyHandled {
                trigger: callback.trigger_name(),
                key: callback.key,
            }),
            ClaimOutcome::InProgress { remaining } => Err(CallbackRejection::InProgress {
                trigger: callback.trigger_name(),
                key: callback.key,
                retry_after: remaining,
            }),
            ClaimOutcome::ReplayedNonce => {
                Err(CallbackRejection::Unauthorized(VerifyError::ReplayedNonce))
            }
        }
    }
}

/// Where a request's claim waits for its outcome: shared by the extractor
/// (which puts the claim in), the callback (which may take it out) and the
/// [`CallbackLayer`] (which settles it from the answer).
#[derive(Clone, Default)]
struct ClaimSlot(Arc<Mutex<Option<Claim>>>);

impl ClaimSlot {
    fn put(&self, claim: Claim) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(claim);
    }

    fn take(&self) -> Option<Claim> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }

    fn expires_in(&self) -> Option<Duration> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(Claim::expires_in)
    }
}

/// A verified, parsed (and, with a store, claimed) callback: what a handler
/// takes.
#[derive(Clone)]
#[non_exhaustive]
pub struct SinchCallback {
    /// The event.
    pub event: CallbackEvent,
    key: String,
    raw: Bytes,
    slot: Option<ClaimSlot>,
}

impl fmt::Debug for SinchCallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SinchCallback")
            .field("event", &self.event)
            .field("key", &self.key)
            .field("claimed", &self.slot.is_some())
            .finish_non_exhaustive()
    }
}

impl SinchCallback {
    /// The event's [idempotency key](CallbackEvent::idempotency_key).
    pub fn idempotency_key(&self) -> &str {
        &self.key
    }

    /// The trigger's name, or for a trigger this crate does not know, the
    /// identifying key the body has.
    pub fn trigger_name(&self) -> String {
        match self.event.trigger() {
            Some(trigger) => trigger.to_string(),
            None => self.event.event.key().to_owned(),
        }
    }

    /// The body exactly as received (and verified): every field, those this
    /// crate does not know yet included.
    ///
    /// ```
    /// # fn field(callback: &sinch_conversation::receive::SinchCallback) -> Option<i64> {
    /// let body: serde_json::Value = serde_json::from_slice(callback.raw()).ok()?;
    /// body["a_field_sinch_adds_later"].as_i64()
    /// # }
    /// ```
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    /// Time left on this event's claim; `None` without a store, or once the
    /// claim is settled or taken.
    pub fn lease_remaining(&self) -> Option<Duration> {
        self.slot.as_ref().and_then(ClaimSlot::expires_in)
    }

    /// Takes the claim, to settle it yourself: for a handler that answers
    /// before it has finished. The [`CallbackLayer`] then leaves it alone;
    /// dropped unsettled, it is released. `None` without a store (or when
    /// taken already).
    pub fn take_claim(&self) -> Option<Claim> {
        self.slot.as_ref().and_then(ClaimSlot::take)
    }

    /// Completes the claim now (see [`Claim::complete`]). Without a claim
    /// (no store, taken or settled already), [`Settle::NotHeld`].
    pub async fn complete(&self) -> Result<Settle, DedupError> {
        match self.take_claim() {
            Some(claim) => claim.complete().await,
            None => Ok(Settle::NotHeld),
        }
    }

    /// Releases the claim now, so Sinch's retry is handled (see
    /// [`Claim::release`]). Without a claim, [`Settle::NotHeld`].
    pub async fn release(&self) -> Result<Settle, DedupError> {
        match self.take_claim() {
            Some(claim) => claim.release().await,
            None => Ok(Settle::NotHeld),
        }
    }
}

/// Why a callback was not handed to the handler, with the answer it gets.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallbackRejection {
    /// 401: the signature, timestamp or nonce check failed.
    Unauthorized(VerifyError),
    /// 401: no `Authorization: Bearer` token, or one the check refused.
    BadBearer,
    /// 400: verified, but not a callback event.
    NotAnEvent(ParseError),
    /// 413: a body larger than the cap.
    TooLarge {
        /// The cap, in bytes.
        limit: usize,
    },
    /// 400: the body could not be read.
    BodyUnreadable(String),
    /// 408: the body was not complete within the
    /// [deadline](Receiver::body_timeout).
    BodyTimeout {
        /// The deadline.
        after: Duration,
    },
    /// 503: the deduplication (or replay) store could not answer; Sinch
    /// will retry.
    StoreUnavailable(DedupError),
    /// 200: this event was handled before (a retry or a duplicate), so
    /// Sinch stops sending it.
    AlreadyHandled {
        /// Its trigger (or, for a trigger this crate does not know, its
        /// identifying key).
        trigger: String,
        /// Its idempotency key.
        key: String,
    },
    /// 503 with `Retry-After`: another request (or replica) is handling
    /// this event now. Sinch retries; if that handling fails, the retry is
    /// handled.
    InProgress {
        /// Its trigger (or its identifying key).
        trigger: String,
        /// Its idempotency key.
        key: String,
        /// The time left on the other claim's lease.
        retry_after: Duration,
    },
}

impl CallbackRejection {
    /// The status it is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            CallbackRejection::Unauthorized(_) | CallbackRejection::BadBearer => {
                StatusCode::UNAUTHORIZED
            }
            CallbackRejection::NotAnEvent(_) | CallbackRejection::BodyUnreadable(_) => {
                StatusCode::BAD_REQUEST
            }
            CallbackRejection::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            CallbackRejection::BodyTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            CallbackRejection::StoreUnavailable(_) | CallbackRejection::InProgress { .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            CallbackRejection::AlreadyHandled { .. } => StatusCode::OK,
        }
    }

    /// `Retry-After` in whole seconds (at least 1) for
    /// [`InProgress`](Self::InProgress); `None` otherwise.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            CallbackRejection::InProgress { retry_after, .. } => {
                Some(retry_after.as_millis().div_ceil(1000).max(1) as u64)
            }
            _ => None,
        }
    }
}

impl fmt::Display for CallbackRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallbackRejection::Unauthorized(e) => write!(f, "callback refused: {e}"),
            CallbackRejection::BadBearer => {
                f.write_str("callback refused: missing or invalid bearer token")
            }
            CallbackRejection::NotAnEvent(e) => e.fmt(f),
            CallbackRejection::TooLarge { limit } => {
                write!(f, "callback body larger than {limit} bytes")
            }
            CallbackRejection::BodyUnreadable(why) => write!(f, "callback body unreadable: {why}"),
            CallbackRejection::BodyTimeout { after } => {
                write!(
                    f,
                    "callback body not complete within {} ms",
                    after.as_millis()
                )
            }
            CallbackRejection::StoreUnavailable(e) => e.fmt(f),
            CallbackRejection::AlreadyHandled { key, .. } => write!(f, "already handled: {key}"),
            CallbackRejection::InProgress { key, .. } => {
                write!(f, "being handled elsewhere, retry later: {key}")
            }
        }
    }
}

impl std::error::Error for CallbackRejection {}

impl IntoResponse for CallbackRejection {
    fn into_response(self) -> Response {
        let retry_after = self.retry_after_secs();
        let bearer = self == CallbackRejection::BadBearer;
        let mut response = (self.status(), format!("{self}\n")).into_response();
        if bearer {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, axum::http::HeaderValue::from(secs));
        }
        response
    }
}

/// Set once the extractor has warned that a route has no [`CallbackLayer`].
static WARNED_NO_LAYER: AtomicBool = AtomicBool::new(false);

fn warn_no_layer() {
    if !WARNED_NO_LAYER.swap(true, Ordering::Relaxed) {
        tracing::warn!(
            "SinchCallback on a route without CallbackLayer: each claim is released when the \
             handler returns, so copies of handled events are handled again; add \
             `.layer(CallbackLayer::new())` to the router"
        );
    }
}

/// For your handler's tests: a `POST` request to `uri` carrying `body`
/// signed with `secret` as Sinch signs it (fresh nonce, now), ready for
/// `tower::ServiceExt::oneshot` on your router.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use axum::{http::StatusCode, routing::post, Router};
/// use sinch_conversation::receive::{signed_request, Receiver, SinchCallback};
/// use tower::ServiceExt as _;
///
/// async fn on_callback(_: SinchCallback) -> StatusCode { StatusCode::OK }
/// let app = Router::new().route("/sinch", post(on_callback)).with_state(Receiver::new(["s"]));
///
/// let body = r#"{"app_id":"a","project_id":"p","message":{"id":"M1"}}"#;
/// let answer = app.clone().oneshot(signed_request("/sinch", "s", body)).await.unwrap();
/// assert_eq!(answer.status(), StatusCode::OK);
/// let forged = app.oneshot(signed_request("/sinch", "not the secret", body)).await.unwrap();
/// assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
/// # }
/// ```
pub fn signed_request(
    uri: &str,
    secret: impl Into<Secret>,
    body: impl Into<Vec<u8>>,
) -> axum::http::Request<axum::body::Body> {
    let body = body.into();
    let signed = crate::callbacks::Signer::new(secret).sign(&body);
    let mut request = axum::http::Request::new(axum::body::Body::from(body));
    *request.method_mut() = axum::http::Method::POST;
    if let Ok(uri) = uri.parse() {
        *request.uri_mut() = uri;
    }
    let headers = request.headers_mut();
    headers.extend(signed.to_header_map());
    headers.insert(
        header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/json"),
    );
    request
}
