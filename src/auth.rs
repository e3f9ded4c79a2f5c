//! Credentials: HTTP Basic, or OAuth2 client credentials with a shared token
//! cache.
use std::fmt;
use std::sync::Arc;
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
    /// The `Authorization` value for the next request.
    pub(crate) async fn header(&self) -> Result<HeaderValue, Error> {
        match self {
            Auth::Basic(value) => Ok(value.clone()),
            Auth::OAuth2(source) => source.header().await,
        }
    }

    /// Drops `used` from the cache if it is still the cached token, so the
    /// next [`Auth::header`] fetches a new one.
    pub(crate) async fn invalidate(&self, used: &HeaderValue) {
        if let Auth::OAuth2(source) = self {
            let mut cache = source.cache.lock().await;
            if cache.as_ref().is_some_and(|c| c.header == used) {
                *cache = None;
            }
        }
    }

    pub(crate) fn is_oauth2(&self) -> bool {
        matches!(self, Auth::OAuth2(_))
    }
}

struct Cached {
    header: HeaderValue,
    refresh_at: Instant,
}

/// Fetches and caches OAuth2 tokens. The async mutex is held across the
/// fetch: concurrent callers with a cold or expired cache wait for the one
/// request in flight and then share its token.
pub(crate) struct TokenSource {
    http: reqwest::Client,
    token_url: String,
    key_id: String,
    key_secret: Secret,
    retry: RetryPolicy,
    cache: tokio::sync::Mutex<Option<Cached>>,
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
            cache: tokio::sync::Mutex::new(None),
        }
    }

    async fn header(&self) -> Result<HeaderValue, Error> {
        let mut cache = self.cache.lock().await;
        if let Some(cached) = cache.as_ref()
            && Instant::now() < cached.refresh_at
        {
            return Ok(cached.header.clone());
        }
        let fresh = self.fetch().await?;
        let header = fresh.header.clone();
        *cache = Some(fresh);
        Ok(header)
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
                let body = response.bytes().await.map_err(|e| {
                    auth_error(
                        Some(status.as_u16()),
                        "reading the answer failed".into(),
                        Some(e),
                    )
                })?;
                if !status.is_success() {
                    return Err(auth_error(
                        Some(status.as_u16()),
                        server_message(&body),
                        None,
                    ));
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
        Ok(Cached {
            header,
            refresh_at: Instant::now() + lifetime - margin,
        })
    }
}

fn auth_error(status: Option<u16>, message: String, source: Option<reqwest::Error>) -> Error {
    Error::Auth(AuthError {
        status,
        message,
        source,
    })
}

/// The OAuth2 server's own explanation: `error_description`, `error`,
/// `message`, or the raw body.
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
            let raw = truncate_body(body);
            if raw.is_empty() {
                "(empty body)".to_owned()
            } else {
                raw
            }
        })
}
