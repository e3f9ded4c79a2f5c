//! Verifying (and, for tests, signing) the callbacks Sinch sends to a
//! webhook that has a `secret`.
//!
//! Sinch signs every callback with four headers:
//! `x-sinch-webhook-signature-timestamp` (Unix seconds),
//! `x-sinch-webhook-signature-nonce`, `x-sinch-webhook-signature-algorithm`
//! (`HmacSHA256`) and `x-sinch-webhook-signature`: the base64 of
//! HMAC-SHA256, keyed with the secret's UTF-8 bytes, over
//! `body || "." || nonce || "." || timestamp`.
//!
//! [`Verifier`] checks all of it, and more than Sinch's SDKs do: the
//! comparison is constant-time, the timestamp must be within a window (5
//! minutes each way by default) so a captured callback cannot be replayed
//! later, and an optional hook can reject a nonce seen before.
//!
//! **Verify the raw body bytes**, exactly as received, before parsing JSON:
//! re-serialising parsed JSON (or adding a trailing newline) changes the bytes
//! and the signature no longer matches. [`Verifier::verify_event`] does both
//! in that order, returning the typed event (see [`crate::events`]). With
//! axum, take `Bytes` rather than `Json<T>`:
//!
//! ```
//! use axum::{body::Bytes, extract::State, http::{HeaderMap, StatusCode}};
//! use sinch_conversation::callbacks::{CallbackError, Verifier};
//!
//! async fn sinch_callback(
//!     State(verifier): State<Verifier>,
//!     headers: HeaderMap,
//!     body: Bytes, // the raw bytes Sinch signed
//! ) -> (StatusCode, String) {
//!     match verifier.verify_event(&headers, &body) {
//!         Ok(callback) => {
//!             println!("{:?} for app {}", callback.trigger(), callback.app_id);
//!             (StatusCode::OK, String::new())
//!         }
//!         Err(e @ CallbackError::Verify(_)) => (StatusCode::UNAUTHORIZED, e.to_string()),
//!         Err(e) => (StatusCode::BAD_REQUEST, e.to_string()),
//!     }
//! }
//!
//! let app: axum::Router = axum::Router::new()
//!     .route("/sinch", axum::routing::post(sinch_callback))
//!     .with_state(Verifier::new("the webhook's secret"));
//! ```
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use http::{HeaderMap, HeaderName, HeaderValue};

use crate::events::{CallbackEvent, ParseError};
use crate::secret::Secret;

/// `x-sinch-webhook-signature-timestamp`.
pub const TIMESTAMP_HEADER: &str = "x-sinch-webhook-signature-timestamp";
/// `x-sinch-webhook-signature-nonce`.
pub const NONCE_HEADER: &str = "x-sinch-webhook-signature-nonce";
/// `x-sinch-webhook-signature-algorithm`.
pub const ALGORITHM_HEADER: &str = "x-sinch-webhook-signature-algorithm";
/// `x-sinch-webhook-signature`.
pub const SIGNATURE_HEADER: &str = "x-sinch-webhook-signature";
/// The one algorithm Sinch uses today.
pub const HMAC_SHA256: &str = "HmacSHA256";

/// Why a callback was rejected. Never contains the secret.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum VerifyError {
    /// A signature header is absent (or not valid text).
    MissingHeader(&'static str),
    /// The timestamp is not a whole number of Unix seconds.
    MalformedTimestamp,
    /// The timestamp is outside the accepted window.
    OutsideWindow {
        /// How far from now the timestamp is.
        skew: Duration,
        /// `true` when it lies in the future.
        future: bool,
        /// The window allowed each way.
        tolerance: Duration,
    },
    /// An algorithm other than `HmacSHA256`.
    UnsupportedAlgorithm(String),
    /// The signature does not match the body, nonce, timestamp and secret.
    SignatureMismatch,
    /// The nonce hook said this nonce was seen before.
    ReplayedNonce,
    /// The verifier was made with an empty secret: anyone can compute an
    /// HMAC keyed with the empty string, so nothing is accepted.
    EmptySecret,
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VerifyError::MissingHeader(name) => write!(f, "missing header {name}"),
            VerifyError::MalformedTimestamp => {
                write!(f, "{TIMESTAMP_HEADER} is not a Unix time in seconds")
            }
            VerifyError::OutsideWindow {
                skew,
                future,
                tolerance,
            } => write!(
                f,
                "timestamp is {}s in the {}, outside the accepted {}s",
                skew.as_secs(),
                if *future { "future" } else { "past" },
                tolerance.as_secs()
            ),
            VerifyError::UnsupportedAlgorithm(algorithm) => {
                let shown: String = algorithm.chars().take(40).collect();
                write!(
                    f,
                    "unsupported signature algorithm {shown:?} (expected {HMAC_SHA256})"
                )
            }
            VerifyError::SignatureMismatch => f.write_str("signature does not match"),
            VerifyError::ReplayedNonce => f.write_str("nonce was already used (replay)"),
            VerifyError::EmptySecret => f.write_str(
                "the verifier's secret is empty: an HMAC keyed with it is forgeable, so every callback is refused",
            ),
        }
    }
}

impl std::error::Error for VerifyError {}

/// Why [`Verifier::verify_event`] refused a callback.
///
/// A receiver answers `Verify` with 401: the body is not known to come from
/// Sinch. `Parse` means an authentic body this crate cannot read (see
/// [`crate::events`] for what that takes); answer it as you see fit (a
/// non-2xx answer makes Sinch retry it), and keep the body for a look.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallbackError {
    /// The signature, timestamp or nonce check failed; nothing was parsed.
    Verify(VerifyError),
    /// Verified, but not a callback event.
    Parse(ParseError),
}

impl fmt::Display for CallbackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallbackError::Verify(e) => write!(f, "callback refused: {e}"),
            CallbackError::Parse(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for CallbackError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CallbackError::Verify(e) => Some(e),
            CallbackError::Parse(e) => Some(e),
        }
    }
}

impl From<VerifyError> for CallbackError {
    fn from(e: VerifyError) -> Self {
        CallbackError::Verify(e)
    }
}

impl From<ParseError> for CallbackError {
    fn from(e: ParseError) -> Self {
        CallbackError::Parse(e)
    }
}

type NonceHook = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// Verifies signed callbacks. Cheap to clone; share one.
///
/// It can accept several secrets at once (each checked in constant time),
/// so that a secret is rotated without refusing a callback: accept the new
/// and the old, switch the webhook to the new one, then drop the old. See
/// [`with_secrets`](Self::with_secrets).
///
/// ```
/// use std::time::Duration;
/// use sinch_conversation::callbacks::{Signer, Verifier, VerifyError};
///
/// let body = br#"{"app_id":"01APP"}"#;
/// let headers = Signer::new("secret").sign(body).to_header_map();
///
/// let verifier = Verifier::new("secret").tolerance(Duration::from_secs(60));
/// assert_eq!(verifier.verify(&headers, body), Ok(()));
/// assert_eq!(
///     Verifier::new("other secret").verify(&headers, body),
///     Err(VerifyError::SignatureMismatch)
/// );
/// ```
#[derive(Clone)]
pub struct Verifier {
    /// One per secret that is not blank; none: refuse everything.
    keys: Arc<[ring::hmac::Key]>,
    tolerance: Option<Duration>,
    nonce_hook: Option<NonceHook>,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("secrets", &format_args!("{} × ***", self.keys.len()))
            .field("tolerance", &self.tolerance)
            .field("nonce_hook", &self.nonce_hook.is_some())
            .finish()
    }
}

impl Verifier {
    /// The default window: 5 minutes each way.
    pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

    /// A verifier for the webhook's `secret`, with the default window.
    ///
    /// An empty (or blank) secret gives a verifier that refuses every
    /// callback with [`VerifyError::EmptySecret`]: a signature keyed with
    /// the empty string proves nothing.
    pub fn new(secret: impl Into<Secret>) -> Self {
        Self::with_secrets([secret])
    }

    /// A verifier that accepts a callback signed with any of `secrets`
    /// (e.g. the new and the previous one, while rotating). Each is checked
    /// in constant time. Empty or blank secrets are ignored; with none
    /// left, every callback is refused with [`VerifyError::EmptySecret`].
    ///
    /// ```
    /// use sinch_conversation::callbacks::{Signer, Verifier, VerifyError};
    ///
    /// let body = b"{}";
    /// let rotating = Verifier::with_secrets(["new secret", "old secret"]);
    /// for secret in ["new secret", "old secret"] {
    ///     let headers = Signer::new(secret).sign(body).to_header_map();
    ///     assert_eq!(rotating.verify(&headers, body), Ok(()));
    /// }
    /// let after = Verifier::new("new secret");
    /// let old = Signer::new("old secret").sign(body).to_header_map();
    /// assert_eq!(after.verify(&old, body), Err(VerifyError::SignatureMismatch));
    /// assert!(!format!("{rotating:?}").contains("secret\""));
    /// ```
    pub fn with_secrets<S: Into<Secret>>(secrets: impl IntoIterator<Item = S>) -> Self {
        let keys: Vec<ring::hmac::Key> = secrets
            .into_iter()
            .map(Into::into)
            .filter(|secret: &Secret| !secret.expose().trim().is_empty())
            .map(|secret| ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.expose().as_bytes()))
            .collect();
        Self {
            keys: keys.into(),
            tolerance: Some(Self::DEFAULT_TOLERANCE),
            nonce_hook: None,
        }
    }

    /// How many secrets it accepts (blank ones not counted).
    pub fn secret_count(&self) -> usize {
        self.keys.len()
    }

    /// Accepts timestamps at most `tolerance` from now, either way.
    pub fn tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = Some(tolerance);
        self
    }

    /// The window each way; `None` when the timestamp check is off.
    pub fn window(&self) -> Option<Duration> {
        self.tolerance
    }

    /// Turns the timestamp window off (not recommended: it is what stops a
    /// captured callback from being replayed later).
    pub fn without_timestamp_check(mut self) -> Self {
        self.tolerance = None;
        self
    }

    /// A hook called with the nonce of every callback whose signature is
    /// valid; return `false` if the nonce was seen before, to reject it.
    /// Keep nonces for at least the tolerance window.
    ///
    /// ```
    /// use std::collections::HashSet;
    /// use std::sync::Mutex;
    /// use sinch_conversation::callbacks::{Signer, Verifier, VerifyError};
    ///
    /// let seen = Mutex::new(HashSet::new());
    /// let verifier = Verifier::new("s").nonce_check(move |nonce| {
    ///     seen.lock().map(|mut s| s.insert(nonce.to_owned())).unwrap_or(false)
    /// });
    /// let headers = Signer::new("s").sign(b"{}").to_header_map();
    /// assert_eq!(verifier.verify(&headers, b"{}"), Ok(()));
    /// assert_eq!(verifier.verify(&headers, b"{}"), Err(VerifyError::ReplayedNonce));
    /// ```
    pub fn nonce_check(mut self, is_fresh: impl Fn(&str) -> bool + Send + Sync + 'static) -> Self {
        self.nonce_hook = Some(Arc::new(is_fresh));
        self
    }

    /// Verifies `body` (the raw bytes received) against the signature
    /// headers, now.
    pub fn verify(&self, headers: &HeaderMap, body: &[u8]) -> Result<(), VerifyError> {
        let get = |name: &'static str| headers.get(name).and_then(|v| v.to_str().ok());
        self.verify_with(get, body, SystemTime::now())
    }

    /// The same, with headers as name/value pairs (names compared
    /// case-insensitively), for frameworks without `http::HeaderMap`.
    ///
    /// ```
    /// use sinch_conversation::callbacks::{Signer, Verifier};
    ///
    /// let signed = Signer::new("s").sign(b"{}");
    /// let pairs: Vec<(String, String)> = signed
    ///     .pairs()
    ///     .map(|(name, value)| (name.to_uppercase(), value.to_owned()))
    ///     .collect();
    /// let verifier = Verifier::new("s");
    /// assert!(verifier.verify_pairs(pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())), b"{}").is_ok());
    /// ```
    pub fn verify_pairs<'a>(
        &self,
        headers: impl IntoIterator<Item = (&'a str, &'a str)>,
        body: &[u8],
    ) -> Result<(), VerifyError> {
        let headers: Vec<(&str, &str)> = headers.into_iter().collect();
        let get = |name: &'static str| {
            headers
                .iter()
                .find(|(n, _)| n.trim().eq_ignore_ascii_case(name))
                .map(|(_, v)| *v)
        };
        self.verify_with(get, body, SystemTime::now())
    }

    /// Verifies `body` (the raw bytes received) as [`verify`](Self::verify)
    /// does, window and nonce included, and only then parses it into a
    /// typed event (see [`crate::events`]). One call for a receiver.
    ///
    /// ```
    /// use sinch_conversation::callbacks::{CallbackError, Signer, Verifier};
    /// use sinch_conversation::events::Event;
    ///
    /// let body = br#"{"app_id":"a","project_id":"p","message_delivery_report":{"status":"DELIVERED"}}"#;
    /// let headers = Signer::new("s").sign(body).to_header_map();
    /// let callback = Verifier::new("s").verify_event(&headers, body)?;
    /// assert!(matches!(callback.event, Event::MessageDelivery(_)));
    ///
    /// // A forged body is refused before it is parsed.
    /// let forged = Verifier::new("other").verify_event(&headers, body);
    /// assert!(matches!(forged, Err(CallbackError::Verify(_))));
    /// # Ok::<(), CallbackError>(())
    /// ```
    pub fn verify_event(
        &self,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<CallbackEvent, CallbackError> {
        self.verify(headers, body)?;
        Ok(crate::events::parse(body)?)
    }

    /// [`verify_event`](Self::verify_event) with headers as name/value
    /// pairs, as [`verify_pairs`](Self::verify_pairs).
    pub fn verify_event_pairs<'a>(
        &self,
        headers: impl IntoIterator<Item = (&'a str, &'a str)>,
        body: &[u8],
    ) -> Result<CallbackEvent, CallbackError> {
        self.verify_pairs(headers, body)?;
        Ok(crate::events::parse(body)?)
    }

    /// [`verify_event`](Self::verify_event) as if the time were `now` (for tests).
    pub fn verify_event_at(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: SystemTime,
    ) -> Result<CallbackEvent, CallbackError> {
        self.verify_at(headers, body, now)?;
        Ok(crate::events::parse(body)?)
    }

    /// [`verify`](Self::verify) as if the time were `now` (for tests).
    pub fn verify_at(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: SystemTime,
    ) -> Result<(), VerifyError> {
        let get = |name: &'static str| headers.get(name).and_then(|v| v.to_str().ok());
        self.verify_with(get, body, now)
    }

    fn verify_with<'h>(
        &self,
        get: impl Fn(&'static str) -> Option<&'h str>,
        body: &[u8],
        now: SystemTime,
    ) -> Result<(), VerifyError> {
        if self.keys.is_empty() {
            return Err(VerifyError::EmptySecret);
        }
        let header = |name| get(name).ok_or(VerifyError::MissingHeader(name));
        let timestamp = header(TIMESTAMP_HEADER)?;
        let nonce = header(NONCE_HEADER)?;
        let algorithm = header(ALGORITHM_HEADER)?;
        let signature = header(SIGNATURE_HEADER)?;
        if algorithm.trim() != HMAC_SHA256 {
            return Err(VerifyError::UnsupportedAlgorithm(algorithm.to_owned()));
        }
        let seconds: u64 = timestamp
            .trim()
            .parse()
            .map_err(|_| VerifyError::MalformedTimestamp)?;
        if let Some(tolerance) = self.tolerance {
            // Checked: the timestamp is the sender's, and a large one
            // overflows `SystemTime`. That far ahead is outside any window.
            let (skew, future) = match UNIX_EPOCH.checked_add(Duration::from_secs(seconds)) {
                Some(sent) => match now.duration_since(sent) {
                    Ok(age) => (age, false),
                    Err(ahead) => (ahead.duration(), true),
                },
                None => (Duration::MAX, true),
            };
            if skew > tolerance {
                return Err(VerifyError::OutsideWindow {
                    skew,
                    future,
                    tolerance,
                });
            }
        }
        let expected = base64::engine::general_purpose::STANDARD
            .decode(signature.trim())
            .map_err(|_| VerifyError::SignatureMismatch)?;
        // The timestamp as sent, not as re-formatted: it is part of the
        // signed bytes. Every key is tried (no early exit), each compared in
        // constant time.
        let matched = self.keys.iter().fold(false, |matched, key| {
            let tag = tag(key, body, nonce, timestamp);
            same_bytes(tag.as_ref(), &expected) | matched
        });
        if !matched {
            return Err(VerifyError::SignatureMismatch);
        }
        if let Some(is_fresh) = &self.nonce_hook
            && !is_fresh(nonce)
        {
            return Err(VerifyError::ReplayedNonce);
        }
        Ok(())
    }
}

/// HMAC-SHA256 keyed with the secret's UTF-8 bytes (not base64-decoded).
fn hmac_key(secret: &Secret) -> Arc<ring::hmac::Key> {
    Arc::new(ring::hmac::Key::new(
        ring::hmac::HMAC_SHA256,
        secret.expose().as_bytes(),
    ))
}

/// `a == b`, in time that depends only on the lengths (public: a tag is
/// 32 bytes), not on where they differ.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let difference = a.iter().zip(b).fold(0u8, |d, (x, y)| d | (x ^ y));
    std::hint::black_box(difference) == 0
}

/// The HMAC of `body || "." || nonce || "." || timestamp`, streamed: the
/// body is not copied.
fn tag(key: &ring::hmac::Key, body: &[u8], nonce: &str, timestamp: &str) -> ring::hmac::Tag {
    let mut context = ring::hmac::Context::with_key(key);
    context.update(body);
    context.update(b".");
    context.update(nonce.as_bytes());
    context.update(b".");
    context.update(timestamp.as_bytes());
    context.sign()
}

/// Signs bodies as Sinch does: for your own tests, and used by the stand-in.
///
/// ```
/// use sinch_conversation::callbacks::Signer;
///
/// let signed = Signer::new("foo_secret1234").sign_with(b"{}", "nonce", 1634579353);
/// assert_eq!(signed.algorithm, "HmacSHA256");
/// assert_eq!(signed.timestamp, "1634579353");
/// assert_eq!(signed.to_header_map().len(), 4);
/// ```
#[derive(Clone)]
pub struct Signer {
    key: Arc<ring::hmac::Key>,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Signer(***)")
    }
}

/// The four signature headers for one body.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SignedHeaders {
    /// Unix seconds.
    pub timestamp: String,
    /// The nonce.
    pub nonce: String,
    /// `HmacSHA256`.
    pub algorithm: &'static str,
    /// base64 HMAC-SHA256.
    pub signature: String,
}

impl SignedHeaders {
    /// (header name, value) pairs, names lower-case.
    pub fn pairs(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            (TIMESTAMP_HEADER, self.timestamp.as_str()),
            (NONCE_HEADER, self.nonce.as_str()),
            (ALGORITHM_HEADER, self.algorithm),
            (SIGNATURE_HEADER, self.signature.as_str()),
        ]
        .into_iter()
    }

    /// As an `http::HeaderMap`. A nonce that is not valid header text is
    /// left out (and verification then reports it missing).
    pub fn to_header_map(&self) -> HeaderMap {
        let mut map = HeaderMap::with_capacity(4);
        for (name, value) in self.pairs() {
            if let Ok(value) = HeaderValue::from_str(value) {
                map.insert(HeaderName::from_static(name), value);
            }
        }
        map
    }
}

impl Signer {
    /// A signer for `secret`.
    pub fn new(secret: impl Into<Secret>) -> Self {
        Self {
            key: hmac_key(&secret.into()),
        }
    }

    /// Signs with a fresh random nonce and the current time.
    pub fn sign(&self, body: &[u8]) -> SignedHeaders {
        let nonce_bytes: [u8; 16] = std::array::from_fn(|_| fastrand::u8(..));
        let nonce = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(nonce_bytes);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.sign_with(body, &nonce, now)
    }

    /// Signs with the given nonce and timestamp.
    pub fn sign_with(&self, body: &[u8], nonce: &str, timestamp: u64) -> SignedHeaders {
        let timestamp = timestamp.to_string();
        let tag = tag(&self.key, body, nonce, &timestamp);
        SignedHeaders {
            signature: base64::engine::general_purpose::STANDARD.encode(tag.as_ref()),
            timestamp,
            nonce: nonce.to_owned(),
            algorithm: HMAC_SHA256,
        }
    }
}
