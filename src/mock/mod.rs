//! An embedded Sinch stand-in server, for examples and tests that need no
//! account, no credentials and no network (feature `mock`).
//!
//! It listens on loopback, behaves as Sinch does for what this crate's spec
//! covers, and can be inspected, seeded and told to fail.
//!
//! - `POST /oauth2/token`: client credentials with HTTP Basic; answers a
//!   JWT-shaped `access_token` (with an `exp` claim), `expires_in` and
//!   `token_type`. Wrong credentials: 401.
//! - `POST /v1/projects/{project_id}/webhooks`: Basic with the configured key
//!   or a Bearer token it issued (an expired one gets a 401 whose
//!   `WWW-Authenticate` says so); another project: 403; the body checked with
//!   the same validation code the client uses, as strictly as Sinch (an
//!   unknown trigger or `target_type` is refused; an unknown
//!   `token_request_type` becomes `BASIC`); at most 5 webhooks per app and no
//!   duplicate target per app; an omitted `target_type` is stored as Sinch's
//!   default, `DISMISS`.
//! - Malformed JSON, a content type other than JSON, a body over the size
//!   limit (64 KiB by default): 400. An id longer than [`MAX_ID_BYTES`]:
//!   400. Unknown paths: 404. All errors in Sinch's
//!   `{"error": {"code", "message", "status", "details"}}` format.
//! - Events delivered as Sinch delivers them ([`MockServer::deliver_event`]):
//!   signed, with an OAuth2 token for webhooks with `client_credentials`,
//!   retried with back-off, at the app's callback rate, optionally twice and
//!   shuffled; never to the stand-in itself.
//! - It cannot be held: headers, bodies and answers each have a deadline
//!   (a client that never reads is disconnected), connections a lifetime,
//!   and at most `max_connections` are served at once.
//!
//! State is kept in memory and capped, so it stays flat however long a test
//! suite runs: at most 5 webhooks per app and 10 000 apps (creating a webhook
//! for one more app forgets the oldest app), the last 10 000 requests and
//! deliveries. [`MockServer::reset`] clears it between tests that share a
//! server.
//!
//! ```
//! use sinch_conversation::mock::MockServer;
//! use sinch_conversation::WebhookTrigger;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let server = MockServer::start().await?;
//! let client = server.client_builder().build()?;
//! let webhook = client
//!     .create_webhook("my-app", "https://example.com/hook")
//!     .trigger(WebhookTrigger::MessageInbound)
//!     .send()
//!     .await?;
//! assert_eq!(server.webhooks("my-app"), vec![webhook]);
//! # Ok(()) }
//! ```
mod deliver;
mod listen;
mod routes;
mod server;
mod state;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use deliver::{Delivery, DeliveryOutcome};
pub use routes::MAX_ID_BYTES;

/// Callbacks per second per app by default: Sinch's default
/// `rate_limits.webhooks`.
pub const SINCH_CALLBACK_RATE: u32 = 25;
pub use state::LoggedRequest;

use crate::client::ClientBuilder;
use crate::secret::Secret;
use crate::types::Webhook;
use server::{OnRequest, Shared};

/// What an injected fault does to a request.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use sinch_conversation::mock::{Fault, MockServer};
///
/// let server = MockServer::start().await?;
/// let client = server.client_builder().build()?;
/// // Two rate-limit answers; the client waits Retry-After and retries.
/// server.fail_next(2, Fault::Status { status: 429, retry_after: Some(Duration::ZERO) });
/// client.create_webhook("app", "https://example.com/h").trigger("MESSAGE_INBOUND").send().await?;
/// let statuses: Vec<u16> = server.requests().iter().map(|r| r.status).collect();
/// assert_eq!(statuses, [429, 429, 200, 200]); // the token request is the third
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Answer this status in Sinch's error format, with `Retry-After` (in
    /// whole seconds) when set. E.g. 429, 500, 503.
    Status {
        /// The HTTP status.
        status: u16,
        /// The `Retry-After` to send.
        retry_after: Option<Duration>,
    },
    /// Wait, then handle the request normally.
    Delay(Duration),
    /// Send the status line and headers, then drop the connection: the
    /// request was received, the answer never completes.
    DropConnection,
    /// Handle the request normally (a create creates, a delete deletes),
    /// then answer this status in Sinch's error format instead of the real
    /// answer: the request was applied, the caller is told it failed.
    StatusAfterApplying {
        /// The HTTP status, e.g. 500.
        status: u16,
    },
    /// Handle the request normally, then drop the connection instead of
    /// answering: the request was applied, the caller sees a lost
    /// connection.
    DropAfterApplying,
}

/// Configures a [`MockServer`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// use std::time::Duration;
/// use sinch_conversation::mock::MockServer;
///
/// let server = MockServer::builder()
///     .project_id("tenant-42")
///     .key("key-id", "key-secret")
///     .token_lifetime(Duration::from_secs(2))
///     .on_request(|r| println!("{} {} -> {}", r.method, r.path, r.status))
///     .start()
///     .await?;
/// assert_eq!(server.project_id(), "tenant-42");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct MockServerBuilder {
    addr: SocketAddr,
    project_id: String,
    other_projects: Vec<String>,
    key_id: String,
    key_secret: Secret,
    token_lifetime: Duration,
    max_body_bytes: usize,
    delivery_timeout: Duration,
    allow_external_deliveries: bool,
    omit_secrets: bool,
    on_request: Option<OnRequest>,
    header_timeout: Duration,
    body_timeout: Duration,
    max_connections: usize,
    rate_limit: Option<std::num::NonZeroU32>,
    delivery: deliver::DeliveryOptions,
    shuffle_seed: Option<u64>,
    callback_rate: Option<std::num::NonZeroU32>,
    write_timeout: Duration,
    connection_lifetime: Duration,
}

impl std::fmt::Debug for MockServerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockServerBuilder")
            .field("addr", &self.addr)
            .field("project_id", &self.project_id)
            .field("key_id", &self.key_id)
            .field("key_secret", &self.key_secret)
            .field("token_lifetime", &self.token_lifetime)
            .field("max_body_bytes", &self.max_body_bytes)
            .finish_non_exhaustive()
    }
}

impl Default for MockServerBuilder {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            project_id: MockServer::DEFAULT_PROJECT_ID.to_owned(),
            other_projects: Vec::new(),
            key_id: MockServer::DEFAULT_KEY_ID.to_owned(),
            key_secret: Secret::from(MockServer::DEFAULT_KEY_SECRET),
            token_lifetime: Duration::from_secs(3600),
            max_body_bytes: 64 * 1024,
            delivery_timeout: Duration::from_secs(5),
            allow_external_deliveries: false,
            omit_secrets: false,
            on_request: None,
            header_timeout: listen::HEADER_TIMEOUT,
            body_timeout: listen::BODY_TIMEOUT,
            max_connections: listen::MAX_CONNECTIONS,
            rate_limit: None,
            delivery: deliver::DeliveryOptions::DEFAULT,
            shuffle_seed: None,
            callback_rate: std::num::NonZeroU32::new(SINCH_CALLBACK_RATE),
            write_timeout: listen::WRITE_TIMEOUT,
            connection_lifetime: listen::CONNECTION_LIFETIME,
        }
    }
}

impl MockServerBuilder {
    /// Where to listen (default `127.0.0.1:0`, a free port).
    pub fn addr(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// The one project the stand-in knows; others get 403.
    pub fn project_id(mut self, project_id: impl Into<String>) -> Self {
        self.project_id = project_id.into();
        self
    }

    /// Another project the key is valid for (repeatable). Webhook ids are
    /// scoped to their project, as at Sinch: another project's webhook is
    /// a 404 there. The client from [`MockServer::client_builder`] uses the
    /// main project; set `.project_id(..)` on it for this one.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use sinch_conversation::mock::MockServer;
    ///
    /// let server = MockServer::builder().also_project("project-b").start().await?;
    /// let a = server.client_builder().build()?;
    /// let b = server.client_builder().project_id("project-b").build()?;
    /// let webhook = a.create_webhook("app", "https://example.com/h").trigger("MESSAGE_INBOUND").send().await?;
    /// let id = webhook.id.as_deref().unwrap_or_default();
    /// assert_eq!(b.get_webhook(id).await.unwrap_err().status(), Some(404));
    /// assert_eq!(server.project_webhooks("project-b", "app"), vec![]);
    /// # Ok(()) }
    /// ```
    pub fn also_project(mut self, project_id: impl Into<String>) -> Self {
        self.other_projects.push(project_id.into());
        self
    }

    /// The access key it accepts.
    pub fn key(mut self, key_id: impl Into<String>, key_secret: impl Into<Secret>) -> Self {
        self.key_id = key_id.into();
        self.key_secret = key_secret.into();
        self
    }

    /// How long issued tokens live (default one hour). Short lifetimes make
    /// clients refresh; see also [`MockServer::set_token_lifetime`].
    pub fn token_lifetime(mut self, lifetime: Duration) -> Self {
        self.token_lifetime = lifetime;
        self
    }

    /// Largest request body accepted (default 64 KiB).
    pub fn max_body_bytes(mut self, limit: usize) -> Self {
        self.max_body_bytes = limit;
        self
    }

    /// How long one event delivery may take (default 5 s).
    pub fn delivery_timeout(mut self, timeout: Duration) -> Self {
        self.delivery_timeout = timeout;
        self
    }

    /// Deliver events to targets outside loopback too. Off by default, so
    /// tests never send traffic off the machine by accident.
    pub fn allow_external_deliveries(mut self, allow: bool) -> Self {
        self.allow_external_deliveries = allow;
        self
    }

    /// Answer webhooks (create, list, get, update) without `secret` and
    /// `client_credentials.client_secret`. Whether Sinch echoes them is not
    /// documented, so test both; by default the stand-in echoes them. What
    /// it stores, and signs deliveries with, is the same either way.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use sinch_conversation::mock::MockServer;
    ///
    /// let server = MockServer::builder().omit_secrets(true).start().await?;
    /// let client = server.client_builder().build()?;
    /// let webhook = client.create_webhook("app", "https://example.com/h")
    ///     .trigger("MESSAGE_INBOUND").secret("s3cret").send().await?;
    /// assert_eq!(webhook.secret, None);
    /// assert!(server.webhooks("app")[0].secret.is_some());
    /// # Ok(()) }
    /// ```
    pub fn omit_secrets(mut self, omit: bool) -> Self {
        self.omit_secrets = omit;
        self
    }

    /// Time a connection has to send a request's headers, also the longest
    /// it may sit idle between requests (default 10 s): slow or idle
    /// clients cannot hold connections.
    pub fn header_timeout(mut self, timeout: Duration) -> Self {
        self.header_timeout = timeout;
        self
    }

    /// Time a request has to send its body (default 10 s); later is a 408.
    pub fn body_timeout(mut self, timeout: Duration) -> Self {
        self.body_timeout = timeout;
        self
    }

    /// Connections served at once (default 512); more wait to be accepted.
    pub fn max_connections(mut self, limit: usize) -> Self {
        self.max_connections = limit;
        self
    }

    /// Enforces Sinch's per-project rate limit: more than `per_second` API
    /// requests a second to one project get 429 with `Retry-After`, in
    /// Sinch's error format. Off by default (0 turns it off); Sinch's is 800.
    pub fn rate_limit(mut self, per_second: u32) -> Self {
        self.rate_limit = std::num::NonZeroU32::new(per_second);
        self
    }

    /// Retries after a failed delivery (default 3; 0 turns retries off). A
    /// delivery is retried when the target answers a 5xx or 429, times out
    /// ([`delivery_timeout`](Self::delivery_timeout)) or cannot be reached,
    /// or when its OAuth2 token endpoint does; other answers (2xx, 3xx, other
    /// 4xx) are final. Each attempt is signed afresh (new nonce and
    /// timestamp, the same body) and recorded in [`MockServer::deliveries`]
    /// with its attempt number.
    pub fn delivery_retries(mut self, retries: u32) -> Self {
        self.delivery.retries = retries;
        self
    }

    /// The wait before the first retry (default 1 s); each next wait is
    /// [`delivery_backoff_factor`](Self::delivery_backoff_factor) times
    /// longer, at most an hour. Sinch does not publish its schedule (its SMS
    /// API's: 5 s, doubling, for about 22 h); the default keeps the shape,
    /// shortened so tests wait seconds.
    pub fn delivery_backoff(mut self, first: Duration) -> Self {
        self.delivery.backoff = first;
        self
    }

    /// What each wait between retries is multiplied by (default 2; 0 and 1
    /// both mean constant waits).
    pub fn delivery_backoff_factor(mut self, factor: u32) -> Self {
        self.delivery.factor = factor;
        self
    }

    /// Sends every callback twice (each copy with its own signature and
    /// retries; [`Delivery::duplicate`] marks the second), as Sinch's
    /// at-least-once delivery may: to test that a receiver handles an event
    /// once. Off by default.
    pub fn duplicate_deliveries(mut self, duplicate: bool) -> Self {
        self.delivery.duplicate = duplicate;
        self
    }

    /// Shuffles the callbacks of each batch ([`MockServer::deliver_events`],
    /// and the copies of [`duplicate_deliveries`](Self::duplicate_deliveries))
    /// before sending them, from this seed: the same seed and the same
    /// batches give the same order, run after run. Off by default (callbacks
    /// go out in the batch's order).
    pub fn shuffle_deliveries(mut self, seed: u64) -> Self {
        self.shuffle_seed = Some(seed);
        self
    }

    /// Callbacks per second per app (default 25, Sinch's default
    /// `rate_limits.webhooks`; 0 turns the limit off). Callbacks beyond it
    /// wait their turn, evenly spaced; retries count too.
    pub fn callback_rate(mut self, per_second: u32) -> Self {
        self.callback_rate = std::num::NonZeroU32::new(per_second);
        self
    }

    /// The longest a write of an answer may make no progress (default 10 s):
    /// a client that never reads its answers is disconnected instead of
    /// holding its connection slot.
    pub fn write_timeout(mut self, timeout: Duration) -> Self {
        self.write_timeout = timeout;
        self
    }

    /// The longest a connection is served (default 60 s): then it is closed
    /// after the request in progress (which gets as long again to finish),
    /// so a client that keeps a connection busy forever, or reads its
    /// answers a byte at a time, cannot hold a slot.
    pub fn connection_lifetime(mut self, lifetime: Duration) -> Self {
        self.connection_lifetime = lifetime;
        self
    }

    /// Called after every request with its log entry (e.g. to print it).
    pub fn on_request(mut self, hook: impl Fn(&LoggedRequest) + Send + Sync + 'static) -> Self {
        self.on_request = Some(Arc::new(hook));
        self
    }

    /// Binds and starts serving on the current tokio runtime.
    pub async fn start(self) -> std::io::Result<MockServer> {
        let listener = tokio::net::TcpListener::bind(self.addr).await?;
        let addr = listener.local_addr()?;
        // Deliveries may go to https targets; see ClientBuilder::build.
        crate::transport::install_crypto_provider();
        let http = reqwest::Client::builder()
            // No redirects: a loopback target must not forward a signed
            // event to another host. A 3xx is the delivery's outcome.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(self.delivery_timeout)
            .user_agent(concat!("sinch-mock/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(std::io::Error::other)?;
        let rate_limits = self
            .rate_limit
            .map(|per_second| {
                std::iter::once(&self.project_id)
                    .chain(&self.other_projects)
                    .map(|project| {
                        let quota = governor::Quota::per_second(per_second);
                        (
                            project.clone(),
                            governor::DefaultDirectRateLimiter::direct(quota),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let callback_rate = self.callback_rate.map(|per_second| {
            // Evenly spaced: Sinch documents a rate, not a burst.
            let quota =
                governor::Quota::per_second(per_second).allow_burst(std::num::NonZeroU32::MIN);
            governor::DefaultKeyedRateLimiter::keyed(quota)
        });
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let shared = Arc::new(Shared {
            rate_limits,
            delivery: self.delivery,
            delivery_order: self
                .shuffle_seed
                .map(|seed| Mutex::new(fastrand::Rng::with_seed(seed))),
            callback_rate,
            tokens: deliver::TokenCache::default(),
            own_addr: addr,
            stopped: stopped.clone(),
            project_id: self.project_id,
            other_projects: self.other_projects,
            key_id: self.key_id,
            key_secret: self.key_secret,
            max_body_bytes: self.max_body_bytes,
            body_timeout: self.body_timeout,
            allow_external_deliveries: self.allow_external_deliveries,
            omit_secrets: self.omit_secrets,
            http,
            state: Mutex::new(state::State::new(self.token_lifetime)),
            on_request: self.on_request,
        });
        let app = server::router(shared.clone());
        let limits = listen::Limits {
            header_timeout: self.header_timeout,
            max_connections: self.max_connections,
            write_timeout: self.write_timeout,
            connection_lifetime: self.connection_lifetime,
        };
        tokio::spawn(listen::serve(listener, app, limits, stopped));
        Ok(MockServer {
            base_url: format!("http://{addr}"),
            addr,
            shared,
            stop: Some(stop),
        })
    }
}

/// A running stand-in; stops when dropped.
pub struct MockServer {
    base_url: String,
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::watch::Sender<bool>>,
}

impl std::fmt::Debug for MockServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockServer")
            .field("base_url", &self.base_url)
            .field("project_id", &self.shared.project_id)
            .field("key_id", &self.shared.key_id)
            .finish_non_exhaustive()
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
        }
    }
}

impl MockServer {
    /// The default project id.
    pub const DEFAULT_PROJECT_ID: &'static str = "mock-project";
    /// The default access key id.
    pub const DEFAULT_KEY_ID: &'static str = "mock-key-id";
    /// The default access key secret.
    pub const DEFAULT_KEY_SECRET: &'static str = "mock-key-secret";

    /// Starts with the defaults on a free loopback port.
    pub async fn start() -> std::io::Result<MockServer> {
        MockServerBuilder::default().start().await
    }

    /// A builder for other settings.
    pub fn builder() -> MockServerBuilder {
        MockServerBuilder::default()
    }

    /// `http://127.0.0.1:<port>`: both the API and the OAuth2 base URL.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The project id it serves.
    pub fn project_id(&self) -> &str {
        &self.shared.project_id
    }

    /// A client builder aimed at this stand-in: its project, API and OAuth2
    /// URLs, and its key with OAuth2. Call `.basic_auth(..)` to use Basic.
    pub fn client_builder(&self) -> ClientBuilder {
        ClientBuilder::default()
            .project_id(self.shared.project_id.clone())
            .base_url(self.base_url.clone())
            .auth_base_url(self.base_url.clone())
            .oauth2(self.shared.key_id.clone(), self.shared.key_secret.clone())
    }

    /// The webhooks of one app of the main project, in creation order.
    pub fn webhooks(&self, app_id: &str) -> Vec<Webhook> {
        self.project_webhooks(&self.shared.project_id, app_id)
    }

    /// The webhooks of one app of any project, in creation order.
    pub fn project_webhooks(&self, project_id: &str, app_id: &str) -> Vec<Webhook> {
        self.shared.lock().app(project_id, app_id).to_vec()
    }

    /// Every app of the main project with its webhooks.
    pub fn all_webhooks(&self) -> std::collections::BTreeMap<String, Vec<Webhook>> {
        self.shared.lock().apps_of(&self.shared.project_id)
    }

    /// Stores a webhook in the main project as if it had been created (no
    /// validation, no limit): for tests that start from existing state. An
    /// id is assigned if absent.
    pub fn seed_webhook(&self, mut webhook: Webhook) -> Webhook {
        if webhook.id.is_none() {
            webhook.id = Some(state::new_id());
        }
        self.shared
            .lock()
            .insert(&self.shared.project_id, webhook.clone());
        webhook
    }

    /// The requests answered so far (the last 10 000), oldest first.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.shared.lock().log.iter().cloned().collect()
    }

    /// Forgets the request log (webhooks and tokens are kept), e.g. to look
    /// only at what one step of a test sent.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use sinch_conversation::mock::MockServer;
    ///
    /// let server = MockServer::start().await?;
    /// let client = server.client_builder().build()?;
    /// client.list_webhooks("app").await?; // fetches a token too
    /// server.clear_requests();
    /// client.list_webhooks("app").await?;
    /// let log = server.requests();
    /// assert_eq!(log.len(), 1);
    /// assert_eq!((log[0].method.as_str(), log[0].path.as_str()), ("GET", "/v1/projects/mock-project/apps/app/webhooks"));
    /// # Ok(()) }
    /// ```
    pub fn clear_requests(&self) {
        self.shared.lock().log.clear();
    }

    /// Makes the next `n` requests, whatever their path, suffer `fault`.
    pub fn fail_next(&self, n: usize, fault: Fault) {
        let mut state = self.shared.lock();
        state.faults.extend(std::iter::repeat_n(fault, n));
    }

    /// Changes the lifetime of tokens issued from now on.
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        self.shared.lock().token_lifetime = lifetime;
    }

    /// Delivers an event to every webhook of `app_id` that has `target_type`
    /// `HTTP` and subscribes to `trigger`, as Sinch would: a JSON POST,
    /// signed with the webhook's `secret` when it has one.
    ///
    /// The body is the real envelope: `payload` under the trigger's
    /// identifying key (`message` for MESSAGE_INBOUND, ... as the spec maps
    /// them), with `app_id`, `project_id`, `accepted_time` and `event_time`
    /// (now, with nanoseconds). A payload that already holds the trigger's
    /// key is taken as the whole event (shared fields it has are kept);
    /// `null` stands for `{}`. For a trigger the spec names no key for, an
    /// object payload is the event as given, anything else goes under the
    /// trigger's name in lower case. Every body built from an object payload
    /// of a known trigger parses back, with [`crate::events::parse`], to that
    /// trigger's variant.
    ///
    /// As Sinch delivers:
    /// - **OAuth2**: a webhook with `client_credentials` gets
    ///   `Authorization: Bearer <token>`, the token fetched from its
    ///   `endpoint` with the client-credentials grant (a form POST with
    ///   `grant_type=client_credentials`, `scope` when not blank,
    ///   `response_type` when given; the id and secret as HTTP Basic for
    ///   `BASIC`, unset or unknown, as `client_id` and `client_secret` form
    ///   fields for `FORM`) and kept for its `expires_in` clamped to 30–3600 s
    ///   (per credentials). A failed fetch is the attempt's outcome
    ///   ([`DeliveryOutcome::TokenFailed`]), and nothing is sent.
    /// - **Retries** with exponential back-off after a 5xx, 429, timeout or
    ///   refused connection ([`MockServerBuilder::delivery_retries`]); each
    ///   attempt signed afresh and returned (and recorded) with its number.
    /// - **At the app's callback rate** ([`MockServerBuilder::callback_rate`],
    ///   25 a second by default), optionally twice
    ///   ([`MockServerBuilder::duplicate_deliveries`]) and shuffled
    ///   ([`MockServerBuilder::shuffle_deliveries`]).
    ///
    /// Callbacks run concurrently, each attempt bounded by the delivery
    /// timeout; this returns when every attempt is done. Only loopback
    /// targets (and token endpoints) are contacted unless
    /// [`MockServerBuilder::allow_external_deliveries`] is set, and never
    /// the stand-in itself (skipped as a loop).
    ///
    /// The binary offers the same as
    /// `POST /_mock/projects/{project_id}/apps/{app_id}/events` with
    /// `{"trigger": "MESSAGE_INBOUND", "payload": {...}}` (or an array of
    /// them, a batch), answering `{"deliveries": [...]}`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use sinch_conversation::mock::MockServer;
    /// use sinch_conversation::WebhookTrigger;
    ///
    /// let server = MockServer::start().await.unwrap();
    /// // No webhook subscribes yet: nothing is sent.
    /// let payload = serde_json::json!({"contact_message": {"text_message": {"text": "hi"}}});
    /// let sent = server.deliver_event("app", WebhookTrigger::MessageInbound, payload).await;
    /// assert!(sent.is_empty());
    /// # }
    /// ```
    pub async fn deliver_event(
        &self,
        app_id: &str,
        trigger: impl Into<crate::WebhookTrigger>,
        payload: serde_json::Value,
    ) -> Vec<Delivery> {
        deliver::deliver(&self.shared, app_id, vec![(trigger.into(), payload)]).await
    }

    /// Delivers a batch of events, as [`deliver_event`](Self::deliver_event)
    /// each: the callbacks go out in the batch's order (shuffled with
    /// [`MockServerBuilder::shuffle_deliveries`]), at the app's callback
    /// rate. Returns every attempt of every callback once all are done.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use sinch_conversation::mock::MockServer;
    /// use serde_json::json;
    ///
    /// let server = MockServer::builder().shuffle_deliveries(7).start().await.unwrap();
    /// let sent = server
    ///     .deliver_events("app", [
    ///         ("MESSAGE_INBOUND", json!({"id": "m1"})),
    ///         ("MESSAGE_DELIVERY", json!({"message_id": "m0", "status": "READ"})),
    ///     ])
    ///     .await;
    /// assert!(sent.is_empty()); // no webhook yet
    /// # }
    /// ```
    pub async fn deliver_events<T: Into<crate::WebhookTrigger>>(
        &self,
        app_id: &str,
        events: impl IntoIterator<Item = (T, serde_json::Value)>,
    ) -> Vec<Delivery> {
        let events = events
            .into_iter()
            .map(|(trigger, payload)| (trigger.into(), payload))
            .collect();
        deliver::deliver(&self.shared, app_id, events).await
    }

    /// Every delivery so far (the last 10 000), oldest first.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.shared.lock().deliveries.iter().cloned().collect()
    }

    /// Makes every token issued so far expired, as if its time had run out
    /// early (clock skew, revocation): the next request with one gets a 401
    /// whose `WWW-Authenticate` says the token expired.
    pub fn expire_tokens(&self) {
        let past = std::time::SystemTime::now() - Duration::from_secs(1);
        self.shared
            .lock()
            .tokens
            .values_mut()
            .for_each(|exp| *exp = past);
    }

    /// Clears webhooks, the request log, pending faults and issued tokens.
    pub fn reset(&self) {
        let mut state = self.shared.lock();
        state.clear_webhooks();
        state.log.clear();
        state.faults.clear();
        state.clear_tokens();
        state.deliveries.clear();
        drop(state);
        self.shared.tokens.clear();
    }
}
