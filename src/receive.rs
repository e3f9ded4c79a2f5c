//! Receiving callbacks with axum in one line: the [`SinchCallback`]
//! extractor reads the raw body (up to a cap), verifies it with the
//! [`Receiver`] in the router's state, parses it into a typed event and
//! tells a repeat from a new event.
//!
//! ```
//! use std::time::Duration;
//! use axum::{http::StatusCode, routing::post, Router};
//! use sinch_conversation::dedup::MemoryDeduplicator;
//! use sinch_conversation::receive::{Receiver, SinchCallback};
//!
//! async fn on_callback(callback: SinchCallback) -> StatusCode {
//!     if callback.is_duplicate() {
//!         return StatusCode::OK; // handled before: Sinch stops retrying
//!     }
//!     println!("{:?} {}", callback.event.trigger(), callback.idempotency_key());
//!     StatusCode::OK
//! }
//!
//! let receiver = Receiver::new(["the webhook's secret"])
//!     .deduplicate(MemoryDeduplicator::new(100_000, Duration::from_secs(24 * 3600)));
//! let app: Router = Router::new().route("/sinch", post(on_callback)).with_state(receiver);
//! ```
//!
//! Rejections ([`CallbackRejection`]): 401 for anything that fails
//! verification (the reason in the body, never a secret), 400 for a
//! verified body that is not an event, 413 beyond the body cap, 503 when
//! the deduplication store cannot answer (Sinch retries). Your own state:
//! implement `FromRef<YourState> for Receiver`.
use std::fmt;
use std::sync::Arc;

use axum::extract::{FromRef, FromRequest, Request};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt as _;

use crate::callbacks::{NONCE_HEADER, Verifier, VerifyError};
use crate::dedup::{DedupError, Deduplicator};
use crate::events::{CallbackEvent, ParseError};
use crate::secret::Secret;

type BearerCheck = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// How callbacks are received: the secrets, the body cap, and optionally a
/// deduplication store, a replay check and a bearer-token check. Cheap to
/// clone (the router clones it per request).
#[derive(Clone)]
pub struct Receiver {
    verifier: Verifier,
    max_body_bytes: usize,
    dedup: Option<Arc<dyn Deduplicator>>,
    replays: Option<Arc<dyn Deduplicator>>,
    bearer: Option<BearerCheck>,
}

impl fmt::Debug for Receiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("verifier", &self.verifier)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("deduplicates", &self.dedup.is_some())
            .field("refuses_replays", &self.replays.is_some())
            .field("checks_bearer", &self.bearer.is_some())
            .finish()
    }
}

impl Receiver {
    /// The default body cap: 1 MiB. Sinch's callbacks are a few KiB; the
    /// largest (a submitted message, Smart Conversations' results) stay far
    /// below it.
    pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

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
        }
    }

    /// The largest body read; beyond it, 413.
    pub fn max_body_bytes(mut self, limit: usize) -> Self {
        self.max_body_bytes = limit;
        self
    }

    /// Asks `store` about every verified event's
    /// [idempotency key](CallbackEvent::idempotency_key):
    /// [`SinchCallback::is_duplicate`] says whether it was seen before.
    pub fn deduplicate(mut self, store: impl Deduplicator + 'static) -> Self {
        self.dedup = Some(Arc::new(store));
        self
    }

    /// Refuses (401) a callback whose nonce `store` has seen: a replay.
    /// Keep nonces at least as long as the verifier's window (10 minutes
    /// for the default ±5). The same store as
    /// [`deduplicate`](Self::deduplicate) may serve: nonces are keyed
    /// `nonce:…`.
    pub fn refuse_replays(mut self, store: impl Deduplicator + 'static) -> Self {
        self.replays = Some(Arc::new(store));
        self
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

    /// Verifies, checks and parses a callback: what the extractor does,
    /// for other frameworks (give it the headers and the raw body).
    pub async fn receive(
        &self,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<SinchCallback, CallbackRejection> {
        if body.len() > self.max_body_bytes {
            return Err(CallbackRejection::TooLarge {
                limit: self.max_body_bytes,
            });
        }
        self.verifier
            .verify(headers, body)
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
        if let Some(store) = &self.replays {
            let nonce = headers
                .get(NONCE_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            let fresh = store
                .first_seen(&format!("nonce:{nonce}"))
                .await
                .map_err(CallbackRejection::StoreUnavailable)?;
            if !fresh {
                return Err(CallbackRejection::Unauthorized(VerifyError::ReplayedNonce));
            }
        }
        let event = crate::events::parse(body).map_err(CallbackRejection::NotAnEvent)?;
        let key = event.idempotency_key();
        let duplicate = match &self.dedup {
            Some(store) => !store
                .first_seen(&format!("event:{key}"))
                .await
                .map_err(CallbackRejection::StoreUnavailable)?,
            None => false,
        };
        Ok(SinchCallback {
            event,
            key,
            duplicate,
            store: self.dedup.clone(),
        })
    }
}

/// A verified, parsed callback: what a handler takes.
#[derive(Clone)]
#[non_exhaustive]
pub struct SinchCallback {
    /// The event.
    pub event: CallbackEvent,
    key: String,
    duplicate: bool,
    store: Option<Arc<dyn Deduplicator>>,
}

impl fmt::Debug for SinchCallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SinchCallback")
            .field("event", &self.event)
            .field("key", &self.key)
            .field("duplicate", &self.duplicate)
            .finish_non_exhaustive()
    }
}

impl SinchCallback {
    /// The event's [idempotency key](CallbackEvent::idempotency_key).
    pub fn idempotency_key(&self) -> &str {
        &self.key
    }

    /// `true` when the [`Receiver`]'s deduplication store has seen this
    /// event before (a retry or a duplicate delivery): answer 200 without
    /// handling it again. Always `false` without a store.
    pub fn is_duplicate(&self) -> bool {
        self.duplicate
    }

    /// Forgets this event in the deduplication store: call it when your
    /// handling failed (and you answer an error), so that Sinch's retry is
    /// handled instead of being taken for a duplicate. Nothing to do
    /// without a store.
    pub async fn release(&self) -> Result<(), DedupError> {
        match &self.store {
            Some(store) => store.forget(&format!("event:{}", self.key)).await,
            None => Ok(()),
        }
    }
}

impl<S> FromRequest<S> for SinchCallback
where
    Receiver: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = CallbackRejection;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let receiver = Receiver::from_ref(state);
        let (parts, body) = request.into_parts();
        let limit = receiver.max_body_bytes;
        let declared = parts
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit as u64) {
            return Err(CallbackRejection::TooLarge { limit });
        }
        let body = match http_body_util::Limited::new(body, limit).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(e)
                if e.downcast_ref::<http_body_util::LengthLimitError>()
                    .is_some() =>
            {
                return Err(CallbackRejection::TooLarge { limit });
            }
            Err(e) => return Err(CallbackRejection::BodyUnreadable(e.to_string())),
        };
        receiver.receive(&parts.headers, &body).await
    }
}

/// Why a callback was refused, with the answer it gets.
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
    /// 503: the deduplication (or replay) store could not answer; Sinch
    /// will retry.
    StoreUnavailable(DedupError),
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
            CallbackRejection::StoreUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
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
            CallbackRejection::StoreUnavailable(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for CallbackRejection {}

impl IntoResponse for CallbackRejection {
    fn into_response(self) -> Response {
        let mut response = (self.status(), format!("{self}\n")).into_response();
        if self == CallbackRejection::BadBearer {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        response
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
