//! Receiving callbacks with axum (feature `axum`) or actix-web (feature
//! `actix`, see `receive::actix`): the [`SinchCallback`] extractor reads
//! the raw body (up to a cap), verifies it with the [`Receiver`] in the
//! router's state, parses it into a typed event and claims it in the
//! deduplication store; the `CallbackLayer` (axum) or `CallbackMiddleware`
//! (actix-web) settles the claim from the handler's answer. Both frameworks
//! share this core, so they answer every case alike.
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

use bytes::Bytes;
use http::{HeaderMap, StatusCode, header};

use crate::callbacks::{NONCE_HEADER, Verifier, VerifyError};
use crate::dedup::{
    Claim, ClaimOutcome, ClaimRequest, DedupError, Deduplicator, MemoryDeduplicator, Settle,
};
use crate::events::{CallbackEvent, ParseError};
use crate::secret::Secret;

#[cfg(feature = "actix")]
#[cfg_attr(docsrs, doc(cfg(feature = "actix")))]
pub mod actix;
#[cfg(feature = "axum")]
mod axum_response;
#[cfg(feature = "axum")]
mod extract;
#[cfg(feature = "axum")]
mod layer;

#[cfg(feature = "axum")]
pub use axum_response::signed_request;
#[cfg(all(feature = "redis", feature = "axum"))]
pub(crate) use extract::read_body;
#[cfg(feature = "axum")]
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
        let result = self
            .receive_bytes(headers, Bytes::copy_from_slice(body), ClaimSlot::default())
            .await;
        observe(&result);
        result
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
        #[cfg(feature = "metrics")]
        let started = std::time::Instant::now();
        let verified = self.verifier.verify(headers, &body);
        // Literal names and labels (the constants' values) on the receiving
        // path: the macro then makes the key a static, not hashed per call.
        #[cfg(feature = "metrics")]
        ::metrics::histogram!("sinch_conversation_callback_verify_duration_seconds")
            .record(started.elapsed().as_secs_f64());
        verified.map_err(CallbackRejection::Unauthorized)?;
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
            slot.mark_accepted();
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
                slot.mark_accepted();
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
struct ClaimSlot(Arc<SlotInner>);

#[derive(Default)]
struct SlotInner {
    claim: Mutex<Option<Claim>>,
    /// Set when the extractor handed a callback over (claimed or not).
    accepted: AtomicBool,
}

impl ClaimSlot {
    fn put(&self, claim: Claim) {
        *self.0.claim.lock().unwrap_or_else(PoisonError::into_inner) = Some(claim);
    }

    fn take(&self) -> Option<Claim> {
        self.0
            .claim
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    fn mark_accepted(&self) {
        self.0.accepted.store(true, Ordering::Relaxed);
    }

    /// Whether a callback was handed to the handler through this slot.
    #[cfg(feature = "metrics")]
    fn accepted(&self) -> bool {
        self.0.accepted.load(Ordering::Relaxed)
    }

    /// Completes (`success`) or releases the claim left here, if any.
    /// Failures are logged: the answer is the handler's either way, and an
    /// unsettled claim expires at the end of its lease.
    async fn settle(&self, success: bool) {
        let Some(claim) = self.take() else { return };
        let key = claim.key().to_owned();
        let (step, result) = if success {
            ("complete", claim.complete().await)
        } else {
            ("release", claim.release().await)
        };
        match result {
            Ok(Settle::Settled) => {}
            Ok(_) => tracing::warn!(
                %key,
                step,
                "the claim's lease had expired and another receiver took the event: left to it"
            ),
            Err(error) => tracing::warn!(%key, step, %error, "claim not settled: left to expire"),
        }
    }

    fn expires_in(&self) -> Option<Duration> {
        self.0
            .claim
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
    /// 500: the framework found no [`Receiver`] for the route (actix-web:
    /// none in the app's data); Sinch will retry.
    NoReceiver,
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
            CallbackRejection::NoReceiver => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// What the sender reads: the reason, never a secret.
    fn body(&self) -> String {
        format!("{self}\n")
    }

    /// The `outcome` (and for a rejection, the `reason`) it counts under in
    /// the [metrics](crate::metrics).
    #[cfg(feature = "metrics")]
    fn metric_labels(&self) -> (&'static str, Option<&'static str>) {
        let reason = match self {
            CallbackRejection::AlreadyHandled { .. } => return ("duplicate", None),
            CallbackRejection::InProgress { .. } => return ("in_progress", None),
            CallbackRejection::TooLarge { .. } => return ("too_large", None),
            CallbackRejection::StoreUnavailable(_) => return ("unavailable", None),
            CallbackRejection::Unauthorized(e) => match e {
                VerifyError::MissingHeader(_) => "missing_header",
                VerifyError::MalformedTimestamp => "malformed_timestamp",
                VerifyError::OutsideWindow { .. } => "outside_window",
                VerifyError::UnsupportedAlgorithm(_) => "algorithm",
                VerifyError::SignatureMismatch => "signature",
                VerifyError::ReplayedNonce => "replayed_nonce",
                VerifyError::EmptySecret => "empty_secret",
            },
            CallbackRejection::BadBearer => "bearer",
            CallbackRejection::NotAnEvent(_) => "not_an_event",
            CallbackRejection::BodyUnreadable(_) => "body_unreadable",
            CallbackRejection::BodyTimeout { .. } => "body_timeout",
            CallbackRejection::NoReceiver => "no_receiver",
        };
        ("rejected", Some(reason))
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
            CallbackRejection::NoReceiver => {
                f.write_str("callback receiver not configured; retry later")
            }
            CallbackRejection::AlreadyHandled { key, .. } => write!(f, "already handled: {key}"),
            CallbackRejection::InProgress { key, .. } => {
                write!(f, "being handled elsewhere, retry later: {key}")
            }
        }
    }
}

impl std::error::Error for CallbackRejection {}

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

/// Whether the declared `Content-Length` exceeds `limit`: refused before a
/// byte of the body is read.
pub(crate) fn declared_too_large(headers: &HeaderMap, limit: usize) -> bool {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n > limit as u64)
}

/// Counts a callback's outcome in the [metrics](crate::metrics) (feature
/// `metrics`; nothing otherwise).
#[inline]
pub(crate) fn observe(_result: &Result<SinchCallback, CallbackRejection>) {
    #[cfg(feature = "metrics")]
    match _result {
        Ok(_) => {
            ::metrics::counter!("sinch_conversation_callbacks_total", "outcome" => "accepted")
                .increment(1);
        }
        Err(rejection) => observe_rejection(rejection),
    }
}

/// The rare path: labels chosen at run time.
#[cfg(feature = "metrics")]
#[cold]
pub(crate) fn observe_rejection(rejection: &CallbackRejection) {
    let (outcome, reason) = rejection.metric_labels();
    ::metrics::counter!(crate::metrics::CALLBACKS_TOTAL, "outcome" => outcome).increment(1);
    if let Some(reason) = reason {
        ::metrics::counter!(crate::metrics::CALLBACKS_REJECTED_TOTAL, "reason" => reason)
            .increment(1);
    }
}

/// Counts a handler's run (claim to settlement) when `slot` saw a callback
/// handed over.
#[cfg(feature = "metrics")]
fn observe_handler(slot: &ClaimSlot, success: bool, started: std::time::Instant) {
    if !slot.accepted() {
        return;
    }
    let elapsed = started.elapsed().as_secs_f64();
    // Literal labels: a static key (see `verify_bytes`).
    if success {
        ::metrics::histogram!(
            "sinch_conversation_callback_handler_duration_seconds",
            "outcome" => "completed"
        )
        .record(elapsed);
    } else {
        ::metrics::histogram!(
            "sinch_conversation_callback_handler_duration_seconds",
            "outcome" => "released"
        )
        .record(elapsed);
    }
}

#[cfg(all(test, feature = "metrics"))]
mod tests {
    use super::*;

    /// Every rejection counts under a documented outcome and reason.
    #[test]
    fn every_rejection_has_a_documented_metric_label() {
        let docs = include_str!("../metrics.rs");
        let key = || ("t".to_owned(), "k".to_owned());
        let rejections = [
            CallbackRejection::Unauthorized(VerifyError::MissingHeader("x")),
            CallbackRejection::Unauthorized(VerifyError::MalformedTimestamp),
            CallbackRejection::Unauthorized(VerifyError::OutsideWindow {
                skew: Duration::ZERO,
                future: false,
                tolerance: Duration::ZERO,
            }),
            CallbackRejection::Unauthorized(VerifyError::UnsupportedAlgorithm("x".into())),
            CallbackRejection::Unauthorized(VerifyError::SignatureMismatch),
            CallbackRejection::Unauthorized(VerifyError::ReplayedNonce),
            CallbackRejection::Unauthorized(VerifyError::EmptySecret),
            CallbackRejection::BadBearer,
            CallbackRejection::NotAnEvent(crate::events::parse(b"{}").unwrap_err()),
            CallbackRejection::TooLarge { limit: 1 },
            CallbackRejection::BodyUnreadable("x".into()),
            CallbackRejection::BodyTimeout {
                after: Duration::ZERO,
            },
            CallbackRejection::StoreUnavailable(DedupError::new("x")),
            CallbackRejection::NoReceiver,
            CallbackRejection::AlreadyHandled {
                trigger: key().0,
                key: key().1,
            },
            CallbackRejection::InProgress {
                trigger: key().0,
                key: key().1,
                retry_after: Duration::ZERO,
            },
        ];
        let mut reasons = std::collections::HashSet::new();
        for rejection in &rejections {
            let (outcome, reason) = rejection.metric_labels();
            assert!(docs.contains(&format!("`{outcome}`")), "{outcome}");
            if let Some(reason) = reason {
                assert!(docs.contains(&format!("`{reason}`")), "{reason}");
                assert!(reasons.insert(reason), "{reason} twice");
            }
        }
        assert_eq!(reasons.len(), 12);
    }
}
