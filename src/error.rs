//! The crate's one error type.
use std::fmt;
use std::time::Duration;

use crate::validate::ValidationErrors;

/// Everything that can go wrong, by what the caller can do about it.
///
/// ```
/// # async fn run(client: sinch_conversation::Client) {
/// use sinch_conversation::Error;
///
/// match client.create_webhook("01APP", "https://example.com/sinch")
///     .triggers(["MESSAGE_INBOUND"])
///     .send()
///     .await
/// {
///     Ok(webhook) => println!("created {:?}", webhook.id),
///     Err(Error::Validation(errors)) => eprintln!("fix the request: {errors}"),
///     Err(Error::Api(e)) if e.status() == 400 => eprintln!("Sinch refused it: {e}"),
///     Err(e) if e.is_retryable() => eprintln!("try again later: {e}"),
///     Err(e) => eprintln!("{e}"),
/// }
/// # }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The client is misconfigured (a missing region, a bad environment
    /// variable). Nothing was sent.
    Config(ConfigError),
    /// The request breaks the spec. Nothing was sent.
    Validation(ValidationErrors),
    /// Sinch (or a proxy in front of it) answered with a non-2xx status.
    Api(Box<ApiError>),
    /// Getting an OAuth2 token failed.
    Auth(AuthError),
    /// The request did not complete: connecting, TLS, a timeout, a broken
    /// connection.
    Transport(TransportError),
    /// A 2xx answer whose body is not what the spec describes.
    Decode(DecodeError),
    /// An answer larger than the client reads
    /// ([`ClientBuilder::max_answer_bytes`](crate::ClientBuilder::max_answer_bytes),
    /// 1 MiB by default). Its body was not read.
    AnswerTooLarge(AnswerTooLarge),
    /// A step of [`Client::sync_webhooks`](crate::Client::sync_webhooks)
    /// failed: which steps were applied, which failed, which were not.
    Sync(Box<crate::SyncError>),
    /// An answer that provisioning ([`ensure_webhook`](crate::Client::ensure_webhook),
    /// [`sync_webhooks`](crate::Client::sync_webhooks)) will not act on,
    /// e.g. a list holding another app's webhook or one without an id.
    /// Nothing was changed.
    UnexpectedAnswer(Box<UnexpectedAnswer>),
    /// The shared rate limit ([`RedisRateLimit`](crate::shared::RedisRateLimit),
    /// feature `redis`) could not be consulted and fails closed. Nothing
    /// was sent.
    #[cfg(feature = "redis")]
    RateLimit(crate::shared::RedisError),
}

impl Error {
    /// `true` when the same call may succeed later: 429, 500, 502, 503, 504,
    /// transport failures, and token endpoint failures of those kinds.
    ///
    /// Creating a webhook is not idempotent: after a 5xx or a timeout the
    /// webhook may exist. The client has already looked for it (see
    /// [`ClientBuilder::recover_ambiguous_creates`](crate::ClientBuilder::recover_ambiguous_creates));
    /// to try again safely, use [`Client::ensure_webhook`](crate::Client::ensure_webhook).
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Api(e) => e.is_retryable(),
            Error::Auth(e) => e.is_retryable(),
            Error::Transport(_) => true,
            #[cfg(feature = "redis")]
            Error::RateLimit(_) => true,
            Error::Sync(e) => e.error().is_retryable(),
            Error::Config(_)
            | Error::Validation(_)
            | Error::Decode(_)
            | Error::AnswerTooLarge(_)
            | Error::UnexpectedAnswer(_) => false,
        }
    }

    /// The HTTP status, when there was an answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api(e) => Some(e.status),
            Error::Auth(e) => e.status,
            Error::Decode(e) => Some(e.status),
            Error::AnswerTooLarge(e) => Some(e.status),
            Error::Sync(e) => e.error().status(),
            _ => None,
        }
    }
}

pub(crate) use crate::scrub::scrub_text;

impl Error {
    /// The same error with every needle (the request's secrets) replaced by
    /// `***` in what the server's answer put into it: a server or proxy may
    /// echo the request in its error page.
    #[cold]
    pub(crate) fn scrubbed(self, needles: &[String]) -> Self {
        let clean = |text: &mut String| *text = scrub_text(text, needles);
        match self {
            Error::Api(mut e) => {
                // Scrubbed whole, then cut: no prefix of a secret is left.
                e.body = truncate_body(scrub_text(&e.body, needles).as_bytes());
                [
                    &mut e.message,
                    &mut e.api_status,
                    &mut e.www_authenticate,
                    &mut e.location,
                ]
                .into_iter()
                .flatten()
                .for_each(clean);
                for detail in &mut e.details {
                    if let Some(value) = &mut detail.value {
                        clean(value);
                    }
                }
                Error::Api(e)
            }
            Error::Decode(e) => {
                let text = e.source.to_string();
                let scrubbed = scrub_text(&text, needles);
                if scrubbed == text {
                    return Error::Decode(e);
                }
                Error::Decode(DecodeError {
                    status: e.status,
                    field: scrub_text(&e.field, needles),
                    source: serde::de::Error::custom(scrubbed),
                })
            }
            other => other,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Config(e) => write!(f, "{e}"),
            Error::Validation(e) => write!(f, "{e}"),
            Error::Api(e) => write!(f, "{e}"),
            Error::Auth(e) => write!(f, "{e}"),
            Error::Transport(e) => write!(f, "{e}"),
            Error::Decode(e) => write!(f, "{e}"),
            Error::AnswerTooLarge(e) => write!(f, "{e}"),
            Error::Sync(e) => write!(f, "{e}"),
            Error::UnexpectedAnswer(e) => write!(f, "{e}"),
            #[cfg(feature = "redis")]
            Error::RateLimit(e) => write!(f, "{e}; nothing was sent"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Config(e) => Some(e),
            Error::Validation(e) => Some(e),
            Error::Api(e) => Some(e),
            Error::Auth(e) => Some(e),
            Error::Transport(e) => Some(e),
            Error::Decode(e) => Some(e),
            Error::AnswerTooLarge(e) => Some(e),
            Error::Sync(e) => Some(e.as_ref()),
            Error::UnexpectedAnswer(e) => Some(e.as_ref()),
            #[cfg(feature = "redis")]
            Error::RateLimit(e) => Some(e),
        }
    }
}

impl From<ValidationErrors> for Error {
    fn from(e: ValidationErrors) -> Self {
        Error::Validation(e)
    }
}

/// What made an answer unsafe to act on, for one app: every problem found,
/// each naming the entries concerned. Nothing was changed.
///
/// ```
/// # fn show(error: &sinch_conversation::Error) {
/// if let sinch_conversation::Error::UnexpectedAnswer(e) = error {
///     eprintln!("app {}: {} problem(s); nothing was changed", e.app_id(), e.problems().len());
/// }
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnexpectedAnswer {
    app_id: String,
    problems: Vec<String>,
}

impl UnexpectedAnswer {
    pub(crate) fn new(app_id: impl Into<String>, problems: Vec<String>) -> Self {
        Self {
            app_id: app_id.into(),
            problems,
        }
    }

    /// The app whose webhooks were listed.
    pub fn app_id(&self) -> &str {
        &self.app_id
    }

    /// What was wrong, one line each (URL passwords as `***`).
    pub fn problems(&self) -> &[String] {
        &self.problems
    }
}

impl fmt::Display for UnexpectedAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "nothing was changed: Sinch's list of app {:?}'s webhooks is not safe to act on: {}",
            self.app_id,
            self.problems.join("; ")
        )
    }
}

impl std::error::Error for UnexpectedAnswer {}

/// A configuration problem, naming the setting or environment variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    setting: String,
    problem: String,
}

impl ConfigError {
    pub(crate) fn new(setting: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            setting: setting.into(),
            problem: problem.into(),
        }
    }

    /// The setting or environment variable, e.g. `SINCH_CONVERSATION_REGION`.
    pub fn setting(&self) -> &str {
        &self.setting
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "configuration: {}: {}", self.setting, self.problem)
    }
}

impl std::error::Error for ConfigError {}

/// An answer larger than the client reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerTooLarge {
    pub(crate) status: u16,
    pub(crate) limit: usize,
    pub(crate) length: Option<u64>,
}

impl AnswerTooLarge {
    /// The answer's HTTP status.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The most the client reads, in bytes.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// The answer's `Content-Length`, when it sent one.
    pub fn length(&self) -> Option<u64> {
        self.length
    }
}

impl fmt::Display for AnswerTooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the answer (status {}) is larger than the {} bytes the client reads",
            self.status, self.limit
        )?;
        if let Some(length) = self.length {
            write!(f, " (Content-Length: {length})")?;
        }
        f.write_str("; it was not read")
    }
}

impl std::error::Error for AnswerTooLarge {}

/// How much of a raw error body is kept.
pub(crate) const BODY_LIMIT: usize = 2048;

/// Keeps at most [`BODY_LIMIT`] bytes, cut on a character boundary.
pub(crate) fn truncate_body(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    if text.len() <= BODY_LIMIT {
        return text.into_owned();
    }
    let mut end = BODY_LIMIT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes in all)", &text[..end], bytes.len())
}

/// One entry of a Sinch error's `details`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorDetail {
    /// `type_url` (or `@type` in some answers).
    pub type_url: Option<String>,
    /// The detail's value, as JSON text when it is not a string.
    pub value: Option<String>,
}

/// A non-2xx answer, with whatever Sinch's error body said.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub(crate) status: u16,
    pub(crate) code: Option<i64>,
    pub(crate) api_status: Option<String>,
    pub(crate) message: Option<String>,
    pub(crate) details: Vec<ErrorDetail>,
    pub(crate) body: String,
    pub(crate) retry_after: Option<Duration>,
    pub(crate) www_authenticate: Option<String>,
    pub(crate) location: Option<String>,
}

impl ApiError {
    /// Builds the error from a raw answer, reading a google.rpc.Status body
    /// (`{"error": {"code", "message", "status", "details"}}`) when there is one.
    pub(crate) fn from_raw(status: u16, headers: &reqwest::header::HeaderMap, body: &[u8]) -> Self {
        let parsed: Option<serde_json::Value> = serde_json::from_slice(body).ok();
        let error = parsed
            .as_ref()
            .and_then(|v| v.get("error"))
            .filter(|e| e.is_object());
        let text = |key: &str| {
            error
                .and_then(|e| e.get(key))
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
        };
        let details = error
            .and_then(|e| e.get("details"))
            .and_then(serde_json::Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .map(|d| ErrorDetail {
                        type_url: d
                            .get("type_url")
                            .or_else(|| d.get("@type"))
                            .and_then(serde_json::Value::as_str)
                            .map(str::to_owned),
                        value: d.get("value").map(|v| match v.as_str() {
                            Some(s) => s.to_owned(),
                            None => v.to_string(),
                        }),
                    })
                    .collect()
            })
            .unwrap_or_default();
        Self {
            status,
            code: error
                .and_then(|e| e.get("code"))
                .and_then(serde_json::Value::as_i64),
            api_status: text("status"),
            message: text("message"),
            details,
            // Kept whole until scrubbed of the request's secrets, then cut
            // to 2 KiB (`Error::scrubbed`).
            body: String::from_utf8_lossy(body).into_owned(),
            retry_after: retry_after(headers),
            www_authenticate: headers
                .get(reqwest::header::WWW_AUTHENTICATE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            location: (300..400)
                .contains(&status)
                .then(|| headers.get(reqwest::header::LOCATION))
                .flatten()
                .and_then(|v| v.to_str().ok())
                .map(|location| crate::target::redact_userinfo(location).into_owned()),
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// `error.code` of the body.
    pub fn code(&self) -> Option<i64> {
        self.code
    }

    /// `error.status` of the body, e.g. `INVALID_ARGUMENT`,
    /// `PERMISSION_DENIED`, `BILLING_CREDIT_LIMIT_BREACHED`.
    pub fn api_status(&self) -> Option<&str> {
        self.api_status.as_deref()
    }

    /// `error.message` of the body.
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }

    /// `error.details` of the body.
    pub fn details(&self) -> &[ErrorDetail] {
        &self.details
    }

    /// The body as received (not re-encoded), with the request's secrets
    /// as `***` in any encoding, cut to 2 KiB; its decoded fields are
    /// [`code`](Self::code), [`api_status`](Self::api_status),
    /// [`message`](Self::message) and [`details`](Self::details).
    pub fn body(&self) -> &str {
        &self.body
    }

    /// The `Retry-After` the server sent, in seconds.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// For a redirect (3xx), where it pointed (any password in it replaced
    /// by `***`). Redirects are never followed: Sinch's API does not
    /// redirect, and following one would re-send the request elsewhere.
    pub fn location(&self) -> Option<&str> {
        self.location.as_deref()
    }

    /// 429, 500, 502, 503 and 504.
    pub fn is_retryable(&self) -> bool {
        matches!(self.status, 429 | 500 | 502 | 503 | 504)
    }

    /// A 401 whose `WWW-Authenticate` says the token expired.
    pub(crate) fn is_expired_token(&self) -> bool {
        self.status == 401
            && self
                .www_authenticate
                .as_deref()
                .is_some_and(|h| h.to_ascii_lowercase().contains("expired"))
    }

    fn hint(&self) -> Option<&'static str> {
        Some(match self.status {
            300..=399 => {
                "Sinch's API does not redirect and redirects are not followed; check the base URL or the proxy"
            }
            401 => "check SINCH_KEY_ID and SINCH_KEY_SECRET",
            403 => "the key is not valid for this project, or the account cannot be billed",
            404 => "unknown project or app, or the app lives in another region",
            429 => "rate limited; slow down",
            500..=599 => "Sinch or a proxy failed; retry with back-off",
            _ => return None,
        })
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let reason = reqwest::StatusCode::from_u16(self.status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("");
        write!(f, "Sinch answered {} {reason}", self.status)?;
        if let Some(location) = &self.location {
            write!(f, " redirecting to {location}")?;
        }
        if let Some(status) = &self.api_status {
            write!(f, " {status}")?;
        }
        match &self.message {
            Some(message) => write!(f, ": {message}")?,
            None if self.body.is_empty() => f.write_str(" with an empty body")?,
            None => {
                let snippet: String = self.body.chars().take(200).collect();
                write!(f, " (not a Sinch error body: {snippet:?})")?;
            }
        }
        if let Some(hint) = self.hint() {
            write!(f, " [{hint}]")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

/// Getting an OAuth2 token failed.
#[derive(Debug, Clone)]
pub struct AuthError {
    pub(crate) status: Option<u16>,
    pub(crate) message: String,
    // Shared: callers waiting on one token request all get its failure.
    pub(crate) source: Option<std::sync::Arc<reqwest::Error>>,
}

impl AuthError {
    /// The token endpoint's HTTP status, if it answered.
    pub fn status(&self) -> Option<u16> {
        self.status
    }

    /// What went wrong, with the auth server's own message when it sent one.
    pub fn message(&self) -> &str {
        &self.message
    }

    fn is_retryable(&self) -> bool {
        match self.status {
            Some(status) => status == 429 || status >= 500,
            None => self.source.is_some(),
        }
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.status {
            Some(status) => write!(
                f,
                "OAuth2 token request failed with {status}: {}",
                self.message
            ),
            None => write!(f, "OAuth2 token request failed: {}", self.message),
        }
    }
}

impl std::error::Error for AuthError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as _)
    }
}

/// The request did not complete.
#[derive(Debug)]
pub struct TransportError {
    pub(crate) source: reqwest::Error,
}

impl TransportError {
    /// The connection could not be made: nothing was sent.
    pub fn is_connect(&self) -> bool {
        self.source.is_connect()
    }

    /// A timeout; the request may have reached Sinch.
    pub fn is_timeout(&self) -> bool {
        self.source.is_timeout()
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = if self.is_connect() {
            "could not connect to Sinch"
        } else if self.is_timeout() {
            "timed out talking to Sinch (the request may have been processed)"
        } else {
            "the request to Sinch failed"
        };
        // reqwest's message names the URL, which holds no secret.
        write!(f, "{what}: {}", self.source)
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// A 2xx body that does not match the spec.
#[derive(Debug)]
pub struct DecodeError {
    pub(crate) status: u16,
    pub(crate) field: String,
    pub(crate) source: serde_json::Error,
}

impl DecodeError {
    /// The JSON path of the field that failed, e.g. `triggers[0]`; `.` for
    /// the whole body.
    pub fn field(&self) -> &str {
        &self.field
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "could not decode Sinch's {} answer at `{}`: {}",
            self.status, self.field, self.source
        )
    }
}

impl std::error::Error for DecodeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// `Retry-After` in seconds. (The HTTP-date form is not used by Sinch.)
/// `Retry-After` as delay-seconds or as an HTTP-date (a date in the past
/// means now), as RFC 9110 allows both.
pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(
        date.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}
