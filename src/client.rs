//! The configured client: regions, configuration, credentials.
//!
//! The operations are in `src/operations/` (one file each) and all run
//! through the one request path in `src/request.rs`.
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use crate::auth::{self, Auth, TokenSource};
use crate::error::{ConfigError, Error};
use crate::retry::RetryPolicy;
use crate::secret::Secret;
use crate::transport;
use crate::validate;

/// The region a Conversation app lives in. Requests must go to the app's
/// region; there is no safe default.
///
/// ```
/// use sinch_conversation::Region;
///
/// let region: Region = "EU".parse()?;
/// assert_eq!(region.base_url(), "https://eu.conversation.api.sinch.com");
/// assert!("mars".parse::<Region>().is_err());
/// # Ok::<(), sinch_conversation::ConfigError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Region {
    /// United States.
    Us,
    /// Europe.
    Eu,
    /// Brazil.
    Br,
}

impl Region {
    /// Every region, in the spec's order.
    pub const ALL: [Region; 3] = [Region::Us, Region::Eu, Region::Br];

    /// The region's code: `us`, `eu` or `br`.
    pub fn as_str(self) -> &'static str {
        match self {
            Region::Us => "us",
            Region::Eu => "eu",
            Region::Br => "br",
        }
    }

    /// `https://{region}.conversation.api.sinch.com`.
    pub fn base_url(self) -> String {
        format!("https://{}.conversation.api.sinch.com", self.as_str())
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Region {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        Region::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| ConfigError::new("region", format!("{s:?} is not one of us, eu, br")))
    }
}

/// A client for the Conversation API webhooks.
///
/// Cheap to clone (an `Arc`), `Send + Sync`: build one per service and share
/// it; clones share the connection pool and the OAuth2 token cache.
///
/// ```
/// use sinch_conversation::{Client, Region};
///
/// let client = Client::builder()
///     .project_id("my-project")
///     .region(Region::Eu)
///     .oauth2("key-id", "key-secret")
///     .build()?;
/// assert!(!format!("{client:?}").contains("key-secret"));
/// # Ok::<(), sinch_conversation::Error>(())
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) project_id: String,
    pub(crate) base_url: String,
    pub(crate) http: reqwest::Client,
    pub(crate) auth: Auth,
    pub(crate) retry: RetryPolicy,
    pub(crate) max_answer_bytes: usize,
    pub(crate) recover_creates: bool,
    /// Shared by clones: one budget for the whole client.
    pub(crate) rate_limit: Option<governor::DefaultDirectRateLimiter>,
    /// Shared by every process using it: one budget for the project.
    #[cfg(feature = "redis")]
    pub(crate) shared_rate_limit: Option<Arc<crate::shared::RedisRateLimit>>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("project_id", &self.inner.project_id)
            .field("base_url", &self.inner.base_url)
            .field("auth", &self.inner.auth)
            .field("retry", &self.inner.retry)
            .field("rate_limit", &self.inner.rate_limit.is_some())
            .finish()
    }
}

impl Client {
    /// A builder; see [`ClientBuilder`].
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client configured from the environment; see
    /// [`ClientBuilder::from_env`].
    pub fn from_env() -> Result<Client, Error> {
        ClientBuilder::from_env()?.build()
    }

    /// The project this client works on.
    pub fn project_id(&self) -> &str {
        &self.inner.project_id
    }

    /// The API base URL requests go to.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    pub(crate) fn inner(&self) -> &Inner {
        &self.inner
    }
}

/// Configures a [`Client`].
///
/// Required: a project id, a region or base URL, and credentials.
///
/// ```
/// use std::time::Duration;
/// use sinch_conversation::{Client, Error, Region, RetryPolicy};
///
/// let client = Client::builder()
///     .project_id("my-project")
///     .region(Region::Us)
///     .basic_auth("key-id", "key-secret")
///     .timeout(Duration::from_secs(10))
///     .retry(RetryPolicy::default().max_retries(5))
///     .build()?;
/// assert_eq!(client.base_url(), "https://us.conversation.api.sinch.com");
///
/// // No region, no base URL: refused, naming what is missing.
/// let err = Client::builder().project_id("p").basic_auth("k", "s").build().unwrap_err();
/// assert!(matches!(&err, Error::Config(e) if e.setting() == "region"));
/// # Ok::<(), Error>(())
/// ```
#[derive(Default)]
pub struct ClientBuilder {
    project_id: Option<String>,
    region: Option<Region>,
    base_url: Option<String>,
    auth_base_url: Option<String>,
    credentials: Option<(String, Secret, bool)>,
    connect_timeout: Option<Duration>,
    timeout: Option<Duration>,
    retry: Option<RetryPolicy>,
    http: Option<reqwest::Client>,
    max_answer_bytes: Option<usize>,
    keep_ambiguous_create_errors: bool,
    rate_limit: Option<std::num::NonZeroU32>,
    #[cfg(feature = "redis")]
    shared_rate_limit: Option<Arc<crate::shared::RedisRateLimit>>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("project_id", &self.project_id)
            .field("region", &self.region)
            .field("base_url", &self.base_url)
            .field("auth_base_url", &self.auth_base_url)
            .field("key_id", &self.credentials.as_ref().map(|c| &c.0))
            .finish_non_exhaustive()
    }
}

/// Environment variables read by [`ClientBuilder::from_env`].
///
/// ```
/// assert_eq!(sinch_conversation::env::REGION, "SINCH_CONVERSATION_REGION");
/// ```
pub mod env {
    /// The project id.
    pub const PROJECT_ID: &str = "SINCH_PROJECT_ID";
    /// The access key's id.
    pub const KEY_ID: &str = "SINCH_KEY_ID";
    /// The access key's secret.
    pub const KEY_SECRET: &str = "SINCH_KEY_SECRET";
    /// `us`, `eu` or `br`.
    pub const REGION: &str = "SINCH_CONVERSATION_REGION";
    /// Optional: an API base URL instead of the region's (proxies, the stand-in).
    pub const BASE_URL: &str = "SINCH_CONVERSATION_BASE_URL";
    /// Optional: the OAuth2 server's base URL instead of `https://auth.sinch.com`.
    pub const AUTH_BASE_URL: &str = "SINCH_AUTH_BASE_URL";
}

impl ClientBuilder {
    /// Reads `SINCH_PROJECT_ID`, `SINCH_KEY_ID`, `SINCH_KEY_SECRET` and
    /// `SINCH_CONVERSATION_REGION` (optional when `SINCH_CONVERSATION_BASE_URL`
    /// is set), plus the optional `SINCH_AUTH_BASE_URL`. Authenticates with
    /// OAuth2, as Sinch recommends. A missing or malformed variable is an
    /// error naming it.
    pub fn from_env() -> Result<Self, Error> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub(crate) fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let required = |name: &str| {
            get(name)
                .filter(|v| !v.trim().is_empty())
                .ok_or_else(|| Error::Config(ConfigError::new(name, "not set")))
        };
        let mut builder = Self::default()
            .project_id(required(env::PROJECT_ID)?)
            .oauth2(required(env::KEY_ID)?, required(env::KEY_SECRET)?);
        if let Some(url) = get(env::BASE_URL).filter(|v| !v.is_empty()) {
            builder = builder.base_url(url);
        }
        match get(env::REGION).filter(|v| !v.is_empty()) {
            Some(region) => {
                let region = region
                    .parse::<Region>()
                    .map_err(|e| Error::Config(ConfigError::new(env::REGION, e.to_string())))?;
                builder = builder.region(region);
            }
            None if builder.base_url.is_none() => {
                return Err(Error::Config(ConfigError::new(
                    env::REGION,
                    "not set (us, eu or br: the region your app was created in)",
                )));
            }
            None => {}
        }
        if let Some(url) = get(env::AUTH_BASE_URL).filter(|v| !v.is_empty()) {
            builder = builder.auth_base_url(url);
        }
        Ok(builder)
    }

    /// The project id (Sinch dashboard).
    pub fn project_id(mut self, project_id: impl Into<String>) -> Self {
        self.project_id = Some(project_id.into());
        self
    }

    /// The region of your Conversation app.
    pub fn region(mut self, region: Region) -> Self {
        self.region = Some(region);
        self
    }

    /// An explicit API base URL (a proxy, or the local stand-in server). Takes
    /// precedence over the region.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The OAuth2 server's base URL (`/oauth2/token` is appended). Default
    /// `https://auth.sinch.com`.
    pub fn auth_base_url(mut self, url: impl Into<String>) -> Self {
        self.auth_base_url = Some(url.into());
        self
    }

    /// HTTP Basic with the access key on every request.
    pub fn basic_auth(mut self, key_id: impl Into<String>, key_secret: impl Into<Secret>) -> Self {
        self.credentials = Some((key_id.into(), key_secret.into(), false));
        self
    }

    /// OAuth2 client credentials with the access key; tokens are cached and
    /// refreshed before they expire.
    pub fn oauth2(mut self, key_id: impl Into<String>, key_secret: impl Into<Secret>) -> Self {
        self.credentials = Some((key_id.into(), key_secret.into(), true));
        self
    }

    /// Connect timeout (default 10 s). Ignored with [`http_client`](Self::http_client).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// Whole-request timeout (default 30 s). Ignored with [`http_client`](Self::http_client).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Retries for what is safe to resend; see [`RetryPolicy`].
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = Some(retry);
        self
    }

    /// Use your own `reqwest::Client` (proxies, custom TLS, shared pool).
    /// It is used as configured: its timeouts and default headers apply
    /// (so it sends its own `User-Agent`, or none), and
    /// [`timeout`](Self::timeout) / [`connect_timeout`](Self::connect_timeout)
    /// are ignored. Credentials are still added to every request.
    ///
    /// Build it with `.redirect(reqwest::redirect::Policy::none())`, as the
    /// client this crate builds is: reqwest follows redirects by default,
    /// and a followed redirect re-sends the request, secrets included, to
    /// wherever it points.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// The largest answer the client reads, in bytes (default 1 MiB: a
    /// webhook is at most a few KiB, a list of five a few times that).
    /// A larger answer is [`Error::AnswerTooLarge`] and is not read, so a
    /// misbehaving server or proxy cannot make the client buffer
    /// without bound.
    pub fn max_answer_bytes(mut self, limit: usize) -> Self {
        self.max_answer_bytes = Some(limit);
        self
    }

    /// Whether a create that failed after it may have reached Sinch (a 5xx,
    /// a timeout, a connection lost after sending) looks at the app's
    /// webhooks for one matching what was sent, and returns it (default
    /// `true`). Nothing is sent twice either way; with `false` the error is
    /// returned as it is.
    pub fn recover_ambiguous_creates(mut self, recover: bool) -> Self {
        self.keep_ambiguous_create_errors = !recover;
        self
    }

    /// Limits the API requests of this client and all its clones to
    /// `per_second` (retries included; token requests go to the auth server
    /// and are not counted), waiting rather than sending more. Off by
    /// default. Sinch allows [`SINCH_RATE_LIMIT`](Self::SINCH_RATE_LIMIT)
    /// (800) requests a second per project, and answers 429 beyond it.
    /// Bursts are at most a tenth of a second's worth. Zero turns it off.
    ///
    /// ```
    /// use sinch_conversation::{Client, ClientBuilder, Region};
    ///
    /// let client = Client::builder()
    ///     .project_id("p")
    ///     .region(Region::Eu)
    ///     .oauth2("k", "s")
    ///     .rate_limit(ClientBuilder::SINCH_RATE_LIMIT)
    ///     .build()?;
    /// # Ok::<(), sinch_conversation::Error>(())
    /// ```
    pub fn rate_limit(mut self, per_second: u32) -> Self {
        self.rate_limit = std::num::NonZeroU32::new(per_second);
        self
    }

    /// Draws every request from a rate limit in Redis that all processes
    /// using it for this project share (feature `redis`): several workers
    /// together stay within Sinch's 800 requests a second. Can be combined
    /// with [`rate_limit`](Self::rate_limit) (this process's own cap).
    #[cfg(feature = "redis")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    pub fn shared_rate_limit(mut self, limit: crate::shared::RedisRateLimit) -> Self {
        self.shared_rate_limit = Some(Arc::new(limit));
        self
    }

    /// Requests per second Sinch allows per project (800).
    pub const SINCH_RATE_LIMIT: u32 = crate::rate::SINCH_REQUESTS_PER_SECOND;

    /// Checks the configuration and builds the client. Does no I/O.
    pub fn build(self) -> Result<Client, Error> {
        let config =
            |setting: &str, problem: &str| Error::Config(ConfigError::new(setting, problem));
        let project_id = self
            .project_id
            .ok_or_else(|| config("project_id", "not set"))?;
        let mut violations = Vec::new();
        validate::check_path_safe("project_id", &project_id, &mut violations);
        if let Some(v) = violations.first() {
            return Err(config("project_id", &v.rule().to_string()));
        }
        let base_url = match (self.base_url, self.region) {
            (Some(url), _) => checked_url("base_url", &url)?,
            (None, Some(region)) => region.base_url(),
            (None, None) => {
                return Err(config(
                    "region",
                    "not set: choose the region your app was created in (us, eu, br), or set a base URL",
                ));
            }
        };
        let (key_id, key_secret, oauth2) = self
            .credentials
            .ok_or_else(|| config("credentials", "not set: call basic_auth or oauth2"))?;
        if key_id.is_empty() || key_secret.is_empty() {
            return Err(config(
                "credentials",
                "the key id and key secret must not be empty",
            ));
        }
        let http = match self.http {
            Some(http) => http,
            None => {
                // reqwest is built without a default crypto provider (to avoid
                // aws-lc's C/cmake build); install ring unless the application
                // already chose one.
                crate::transport::install_crypto_provider();
                reqwest::Client::builder()
                    // Sinch's API does not redirect. Following one would
                    // re-send the body (secrets included) to another host,
                    // or turn a POST into a GET whose 200 reads as success.
                    .redirect(reqwest::redirect::Policy::none())
                    .connect_timeout(self.connect_timeout.unwrap_or(Duration::from_secs(10)))
                    .timeout(self.timeout.unwrap_or(Duration::from_secs(30)))
                    .user_agent(transport::USER_AGENT_VALUE)
                    .build()
                    .map_err(|e| config("http client", &e.to_string()))?
            }
        };
        let retry = self.retry.unwrap_or_default();
        let auth = if oauth2 {
            let auth_base = match self.auth_base_url {
                Some(url) => checked_url("auth_base_url", &url)?,
                None => auth::DEFAULT_AUTH_BASE_URL.to_owned(),
            };
            Auth::OAuth2(Arc::new(TokenSource::new(
                http.clone(),
                &auth_base,
                key_id,
                key_secret,
                retry.clone(),
            )))
        } else {
            Auth::Basic(auth::basic_header(&key_id, &key_secret)?)
        };
        Ok(Client {
            inner: Arc::new(Inner {
                project_id,
                base_url,
                http,
                auth,
                retry,
                max_answer_bytes: self.max_answer_bytes.unwrap_or(DEFAULT_MAX_ANSWER_BYTES),
                recover_creates: !self.keep_ambiguous_create_errors,
                rate_limit: self.rate_limit.map(crate::rate::limiter),
                #[cfg(feature = "redis")]
                shared_rate_limit: self.shared_rate_limit,
            }),
        })
    }
}

/// 1 MiB.
const DEFAULT_MAX_ANSWER_BYTES: usize = 1024 * 1024;

fn checked_url(setting: &str, url: &str) -> Result<String, Error> {
    match url::Url::parse(url) {
        // Credentials in the URL would be printed by every transport error.
        Ok(parsed) if !parsed.username().is_empty() || parsed.password().is_some() => {
            Err(Error::Config(ConfigError::new(
                setting,
                "must not contain credentials; use basic_auth or oauth2",
            )))
        }
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") && parsed.host().is_some() => {
            Ok(url.trim_end_matches('/').to_owned())
        }
        _ => Err(Error::Config(ConfigError::new(
            setting,
            "must be an absolute http(s) URL such as https://eu.conversation.api.sinch.com",
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    const FULL: &[(&str, &str)] = &[
        (env::PROJECT_ID, "proj"),
        (env::KEY_ID, "kid"),
        (env::KEY_SECRET, "ksecret"),
        (env::REGION, "eu"),
    ];

    fn config_setting(result: Result<ClientBuilder, Error>) -> String {
        match result {
            Err(Error::Config(e)) => e.setting().to_owned(),
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    #[test]
    fn from_env_reads_sinch_variables() {
        let client = ClientBuilder::from_lookup(lookup(FULL))
            .and_then(ClientBuilder::build)
            .unwrap();
        assert_eq!(client.project_id(), "proj");
        assert_eq!(client.base_url(), "https://eu.conversation.api.sinch.com");
        assert!(client.inner.auth.is_oauth2());
    }

    #[test]
    fn from_env_names_the_missing_or_bad_variable() {
        for missing in [env::PROJECT_ID, env::KEY_ID, env::KEY_SECRET, env::REGION] {
            let vars: Vec<_> = FULL
                .iter()
                .copied()
                .filter(|(k, _)| *k != missing)
                .collect();
            assert_eq!(
                config_setting(ClientBuilder::from_lookup(lookup(&vars))),
                missing
            );
        }
        let mut vars = FULL.to_vec();
        vars[3] = (env::REGION, "mars");
        assert_eq!(
            config_setting(ClientBuilder::from_lookup(lookup(&vars))),
            env::REGION
        );
    }

    #[test]
    fn base_url_override_makes_region_optional() {
        let vars = [
            (env::PROJECT_ID, "proj"),
            (env::KEY_ID, "kid"),
            (env::KEY_SECRET, "ksecret"),
            (env::BASE_URL, "http://127.0.0.1:9/"),
        ];
        let client = ClientBuilder::from_lookup(lookup(&vars))
            .and_then(ClientBuilder::build)
            .unwrap();
        assert_eq!(client.base_url(), "http://127.0.0.1:9");
    }

    #[test]
    fn build_refuses_incomplete_configuration() {
        let setting = |b: ClientBuilder| match b.build() {
            Err(Error::Config(e)) => e.setting().to_owned(),
            other => panic!("expected a config error, got {other:?}"),
        };
        let full = || {
            Client::builder()
                .project_id("p")
                .region(Region::Us)
                .basic_auth("k", "s")
        };
        assert!(full().build().is_ok());
        assert_eq!(
            setting(Client::builder().region(Region::Us).basic_auth("k", "s")),
            "project_id"
        );
        assert_eq!(
            setting(Client::builder().project_id("p").basic_auth("k", "s")),
            "region"
        );
        assert_eq!(
            setting(Client::builder().project_id("p").region(Region::Us)),
            "credentials"
        );
        assert_eq!(setting(full().project_id("a/b")), "project_id");
        // `..` would change the request path (`/v1/projects/../webhooks`).
        assert_eq!(setting(full().project_id("..")), "project_id");
        assert_eq!(setting(full().project_id("a\\b")), "project_id");
        assert_eq!(setting(full().base_url("not a url")), "base_url");
        assert_eq!(
            setting(full().base_url("https://user:pw@proxy.example.com")),
            "base_url"
        );
        let oauth = || full().oauth2("k", "s");
        assert_eq!(
            setting(oauth().auth_base_url("https://u:SECRET@auth.example.com")),
            "auth_base_url"
        );
        match full()
            .base_url("https://u:SECRET@proxy.example.com")
            .build()
        {
            Err(e) => assert!(!format!("{e} {e:?}").contains("SECRET")),
            Ok(_) => panic!("credentials in the URL were accepted"),
        }
    }

    #[test]
    fn client_is_send_sync_and_cheap_to_clone() {
        fn assert_send_sync<T: Send + Sync + Clone>() {}
        assert_send_sync::<Client>();
    }
}
