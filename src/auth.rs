//! Credentials: HTTP Basic, or OAuth2 client credentials with a shared token
//! cache.
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use base64::Engine as _;
use reqwest::header::HeaderValue;
use tracing::Instrument as _;

use crate::error::{AuthError, Error, retry_after, truncate_body};
use crate::retry::RetryPolicy;
use crate::secret::Secret;

/// The default OAuth2 server.
pub const DEFAULT_AUTH_BASE_URL: &str = "https://auth.sinch.com";

/// How the client authenticates to Sinch.
#[derive(Clone)]
pub(crate) enum Auth {
    /// `Authorization: Basic …` on every request.
    Basic(HeaderValue),
    /// A bearer token from the OAuth2 server, shared by all clones.
    OAuth2(Arc<TokenSource>),
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::Basic(_) => f.write_str("Basic(***)"),
            Auth::OAuth2(source) => f
                .debug_struct("OAuth2")
                .field("token_url", &source.token_url)
                .field("key_id", &source.key_id)
                .field("key_secret", &"***")
                .finish(),
        }
    }
}

/// `Basic base64(id:secret)`, marked sensitive so `Debug` hides it.
pub(crate) fn basic_header(key_id: &str, key_secret: &Secret) -> Result<HeaderValue, Error> {
    let encoded = base64::engine::general_purpose::STANDARD
        .encode(format!("{key_id}:{}", key_secret.expose()));
    let mut value = HeaderValue::from_str(&format!("Basic {encoded}")).map_err(|_| {
        Error::Config(crate::error::ConfigError::new(
            "key id",
            "cannot be sent in an Authorization header",
        ))
    })?;
    value.set_sensitive(true);
    Ok(value)
}

impl Auth {
    /// The `Authorization` value for the next request, and which token it
    /// is (for [`Auth::invalidate`]; always 0 for Basic).
    pub(crate) async fn header(&self) -> Result<(HeaderValue, u64), Error> {
        match self {
            Auth::Basic(value) => Ok((value.clone(), 0)),
            Auth::OAuth2(source) => source.header().await,
        }
    }

    /// Drops token `generation` from the cache if it is still the cached
    /// one (not a newer one another request fetched meanwhile), so the next
    /// [`Auth::header`] fetches a new one.
    pub(crate) fn invalidate(&self, generation: u64) {
        if let Auth::OAuth2(source) = self {
            let mut cache = source.cache.lock().unwrap_or_else(PoisonError::into_inner);
            if cache.as_ref().is_some_and(|c| c.generation == generation) {
                *cache = None;
            }
        }
    }

    /// What an `Authorization` header of this client carries (the Basic
    /// encoding, the cached token, the key secret): to scrub from answers.
    pub(crate) fn credentials(&self) -> Vec<String> {
        let credential = |value: &HeaderValue| {
            value
                .to_str()
                .ok()
                .and_then(|v| v.split_once(' '))
                .map(|(_, credential)| credential.to_owned())
        };
        match self {
            Auth::Basic(value) => credential(value).into_iter().collect(),
            Auth::OAuth2(source) => {
                let cache = source.cache.lock().unwrap_or_else(PoisonError::into_inner);
                let token = cache.as_ref().and_then(|c| credential(&c.header));
                token
                    .into_iter()
                    .chain([source.key_secret.expose().to_owned()])
                    .collect()
            }
        }
    }

    pub(crate) fn is_oauth2(&self) -> bool {
        matches!(self, Auth::OAuth2(_))
    }
}

/// The largest token answer read (a token answer is a few KiB at most).
const MAX_TOKEN_ANSWER: usize = 64 * 1024;

/// The body, or `Err(None)` when it is longer than `limit` (not read
/// further), or the transport error.
async fn read_at_most(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, Option<reqwest::Error>> {
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(None);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(Some)? {
        if body.len() + chunk.len() > limit {
            return Err(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The longest a token is cached, whatever `expires_in` says.
const MAX_CACHE: Duration = Duration::from_secs(24 * 3600);

struct Cached {
    header: HeaderValue,
    refresh_at: Instant,
    generation: u64,
}

/// Fetches and caches OAuth2 tokens. A cached token is read under a short
/// synchronous lock (never held across an await), so concurrent requests
/// do not queue behind each other. The async `fetching` lock is held across
/// a fetch: callers with a cold or expired cache wait for the one request in
/// flight and then share its token.
pub(crate) struct TokenSource {
    http: reqwest::Client,
    token_url: String,
    key_id: String,
    key_secret: Secret,
    retry: RetryPolicy,
    cache: Mutex<Option<Cached>>,
    fetching: tokio::sync::Mutex<()>,
    generations: AtomicU64,
    /// Fetches finished so far, and the last one's outcome: callers that
    /// waited on a fetch share it.
    fetched: AtomicU64,
    last_outcome: Mutex<Option<Result<(HeaderValue, u64), AuthError>>>,
}

#[derive(serde::Deserialize)]
struct TokenAnswer {
    access_token: Secret,
    #[serde(default)]
    expires_in: Option<u64>,
}

impl TokenSource {
    pub(crate) fn new(
        http: reqwest::Client,
        auth_base_url: &str,
        key_id: String,
        key_secret: Secret,
        retry: RetryPolicy,
    ) -> Self {
        Self {
            http,
            token_url: format!("{}/oauth2/token", auth_base_url.trim_end_matches('/')),
            key_id,
            key_secret,
            retry,
            cache: Mutex::new(None),
            fetching: tokio::sync::Mutex::new(()),
            fetched: AtomicU64::new(0),
            last_outcome: Mutex::new(None),
            generations: AtomicU64::new(1),
        }
    }

    /// The cached token, unless it is due for a refresh.
    fn fresh_cached(&self) -> Option<(HeaderValue, u64)> {
        let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        cache
            .as_ref()
            .filter(|c| Instant::now() < c.refresh_at)
            .map(|c| (c.header.clone(), c.generation))
    }

    async fn header(&self) -> Result<(HeaderValue, u64), Error> {
        if let Some(cached) = self.fresh_cached() {
            return Ok(cached);
        }
        let fetched_before = self.fetched.load(Ordering::Acquire);
        let _single_flight = self.fetching.lock().await;
        // Another caller may have fetched while this one waited.
        if let Some(cached) = self.fresh_cached() {
            return Ok(cached);
        }
        // A fetch finished while this caller waited: its outcome is this
        // caller's too, success or failure. Fetching again would put the
        // waiters' fetches in series (100 callers, 100 fetches, against an
        // endpoint that fails or never answers), and a token with a zero
        // lifetime still serves the requests waiting for it.
        if self.fetched.load(Ordering::Acquire) != fetched_before
            && let Some(outcome) = self
                .last_outcome
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone()
        {
            return outcome.map_err(Error::Auth);
        }
        // Boxed: the fetch (an HTTP request) is the rare path, and inline it
        // would make every caller's future kilobytes larger.
        let fetched = Box::pin(self.fetch()).await;
        #[cfg(feature = "metrics")]
        crate::metrics::token_fetch(fetched.is_ok());
        let outcome = match fetched {
            Ok(fresh) => {
                let answer = (fresh.header.clone(), fresh.generation);
                *self.cache.lock().unwrap_or_else(PoisonError::into_inner) = Some(fresh);
                Ok(answer)
            }
            Err(Error::Auth(e)) => Err(e),
            Err(other) => return Err(other),
        };
        *self
            .last_outcome
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(outcome.clone());
        self.fetched.fetch_add(1, Ordering::Release);
        outcome.map_err(Error::Auth)
    }

    async fn fetch(&self) -> Result<Cached, Error> {
        let span = tracing::info_span!(
            "sinch.auth.token",
            url = %self.token_url,
            status = tracing::field::Empty,
            retries = tracing::field::Empty,
        );
        async {
            let mut attempt = 0;
            loop {
                let answer = self
                    .http
                    .post(&self.token_url)
                    .basic_auth(&self.key_id, Some(self.key_secret.expose()))
                    .form(&[("grant_type", "client_credentials")])
                    .send()
                    .await;
                let response = match answer {
                    Ok(response) => response,
                    Err(e) if e.is_connect() => {
                        if let Some(wait) = self.retry.delay(attempt, None) {
                            attempt += 1;
                            tokio::time::sleep(wait).await;
                            continue;
                        }
                        return Err(auth_error(
                            None,
                            format!("cannot reach {}", self.token_url),
                            Some(e),
                        ));
                    }
                    Err(e) => {
                        return Err(auth_error(
                            None,
                            format!("request to {} failed", self.token_url),
                            Some(e),
                        ));
                    }
                };
                let status = response.status();
                tracing::Span::current().record("status", status.as_u16());
                tracing::Span::current().record("retries", attempt);
                if status == reqwest::StatusCode::TOO_MANY_REQUESTS
                    && let Some(wait) = self.retry.delay(attempt, retry_after(response.headers()))
                {
                    attempt += 1;
                    tokio::time::sleep(wait).await;
                    continue;
                }
                let body = read_at_most(response, MAX_TOKEN_ANSWER)
                    .await
                    .map_err(|e| {
                        let message = match &e {
                            Some(_) => "reading the answer failed".to_owned(),
                            None => format!("the answer is larger than {MAX_TOKEN_ANSWER} bytes"),
                        };
                        auth_error(Some(status.as_u16()), message, e)
                    })?;
                if !status.is_success() {
                    // The server's text may echo what it was sent.
                    // Scrubbed whole, then cut: no prefix of a secret is left.
                    let message = truncate_body(
                        scrub(server_message(&body), &self.key_id, &self.key_secret).as_bytes(),
                    );
                    return Err(auth_error(Some(status.as_u16()), message, None));
                }
                return self.cached(&body, status.as_u16());
            }
        }
        .instrument(span)
        .await
    }

    fn cached(&self, body: &[u8], status: u16) -> Result<Cached, Error> {
        let answer: TokenAnswer = serde_json::from_slice(body).map_err(|e| {
            auth_error(
                Some(status),
                format!("the answer has no usable access_token/expires_in: {e}"),
                None,
            )
        })?;
        if answer.access_token.expose().trim().is_empty() {
            return Err(auth_error(
                Some(status),
                "the answer's access_token is empty".into(),
                None,
            ));
        }
        // Without `expires_in`, assume a short life rather than a long one.
        let lifetime = Duration::from_secs(answer.expires_in.unwrap_or(60));
        // Refresh a margin before expiry: 60 s as Sinch's SDKs do, less for
        // short-lived tokens.
        let margin = Duration::from_secs(60).min(lifetime / 2);
        let mut header = HeaderValue::from_str(&format!("Bearer {}", answer.access_token.expose()))
            .map_err(|_| {
                auth_error(
                    Some(status),
                    "the access token has characters not allowed in a header".into(),
                    None,
                )
            })?;
        header.set_sensitive(true);
        // Checked: `expires_in` comes from the server, and an `Instant` far
        // enough ahead overflows. Such a token is refreshed in a day anyway.
        let now = Instant::now();
        let refresh_at = now
            .checked_add(lifetime - margin)
            .unwrap_or(now + MAX_CACHE);
        Ok(Cached {
            header,
            refresh_at: refresh_at.min(now + MAX_CACHE),
            generation: self.generations.fetch_add(1, Ordering::Relaxed),
        })
    }
}

fn auth_error(status: Option<u16>, message: String, source: Option<reqwest::Error>) -> Error {
    let source = source.map(Arc::new);
    Error::Auth(AuthError {
        status,
        message,
        source,
    })
}

/// The OAuth2 server's own explanation: `error_description`, `error`,
/// `message`, or the raw body.
/// `text` with the key secret, `id:secret` and its Basic (base64) encoding
/// replaced by `***`: an auth server's error text may echo the request.
fn scrub(text: String, key_id: &str, key_secret: &Secret) -> String {
    let secret = key_secret.expose();
    if secret.is_empty() {
        return text;
    }
    let pair = format!("{key_id}:{secret}");
    let encoded = base64::engine::general_purpose::STANDARD.encode(&pair);
    let unpadded = encoded.trim_end_matches('=').to_owned();
    crate::error::scrub_text(&text, &[pair, encoded, unpadded, secret.to_owned()])
}

fn server_message(body: &[u8]) -> String {
    let parsed: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let field = |key: &str| {
        parsed
            .as_ref()
            .and_then(|v| v.get(key))
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
    };
    field("error_description")
        .or_else(|| field("error"))
        .or_else(|| field("message"))
        .unwrap_or_else(|| {
            let raw = String::from_utf8_lossy(body).into_owned();
            if raw.is_empty() {
                "(empty body)".to_owned()
            } else {
                raw
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source_with(header: &'static str, generation: u64) -> Arc<TokenSource> {
        crate::transport::install_crypto_provider();
        let source = TokenSource::new(
            reqwest::Client::new(),
            "http://127.0.0.1:9",
            "key".to_owned(),
            Secret::from("secret"),
            RetryPolicy::none(),
        );
        *source.cache.lock().unwrap_or_else(PoisonError::into_inner) = Some(Cached {
            header: HeaderValue::from_static(header),
            refresh_at: Instant::now() + Duration::from_secs(600),
            generation,
        });
        Arc::new(source)
    }

    #[tokio::test]
    async fn invalidating_an_older_token_keeps_the_newer_one() -> Result<(), Error> {
        let source = source_with("Bearer newer", 2);
        let auth = Auth::OAuth2(source.clone());
        // A request that used token 1 saw it expire; token 2 is already cached.
        auth.invalidate(1);
        assert_eq!(
            auth.header().await?,
            (HeaderValue::from_static("Bearer newer"), 2)
        );
        auth.invalidate(2);
        assert!(source.fresh_cached().is_none());
        Ok(())
    }

    #[tokio::test]
    async fn a_cached_token_is_served_while_a_fetch_holds_the_lock() {
        let source = source_with("Bearer cached", 7);
        let _fetch_in_flight = source.fetching.lock().await;
        let answer = tokio::time::timeout(Duration::from_secs(5), source.header()).await;
        assert!(
            matches!(&answer, Ok(Ok((value, 7))) if value == "Bearer cached"),
            "{answer:?}"
        );
    }
}
