//! What the benchmarks share: the request with every field set, as our
//! builder and as the identical raw JSON, and a raw `reqwest` sender.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine as _;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use sinch_conversation::mock::MockServer;
use sinch_conversation::{
    Client, CreateWebhook, NewClientCredentials, Webhook, WebhookTargetType, WebhookTrigger,
};

pub const TARGET: &str = "https://example.com/sinch/callbacks";

/// Unique app ids, so no create hits the 5-per-app limit.
pub fn next_app() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("bench-app-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Resident set size in KiB, from /proc (Linux); 0 elsewhere.
pub fn rss_kib() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4
}

/// A multi-threaded runtime, as a service runs the client.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Ours against the stand-in with Basic auth; on `http` when given, so that
/// ours and raw share one connection pool.
pub fn basic_client(server: &MockServer, http: Option<reqwest::Client>) -> Client {
    let builder = server
        .client_builder()
        .basic_auth(MockServer::DEFAULT_KEY_ID, MockServer::DEFAULT_KEY_SECRET);
    match http {
        Some(http) => builder.http_client(http),
        None => builder,
    }
    .build()
    .expect("client")
}

/// Ours against the stand-in with OAuth2 (the stand-in's token endpoint),
/// sharing `http`'s connection pool.
pub fn oauth2_client(server: &MockServer, http: reqwest::Client) -> Client {
    server
        .client_builder()
        .http_client(http)
        .build()
        .expect("client")
}

/// A create request with every field set.
pub fn full_request(client: &Client, app: String) -> CreateWebhook<'_> {
    client
        .create_webhook(app, TARGET)
        .triggers([
            WebhookTrigger::MessageInbound,
            WebhookTrigger::MessageDelivery,
            WebhookTrigger::EventInbound,
        ])
        .target_type(WebhookTargetType::Http)
        .secret("bench-secret")
        .client_credentials(
            NewClientCredentials::new(
                "client-id",
                "client-secret",
                "https://auth.example.com/token",
            )
            .scope("callbacks")
            .token_request_type("FORM"),
        )
}

/// The JSON `full_request` sends.
pub fn full_json(app: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "app_id": app,
        "client_credentials": {
            "client_id": "client-id",
            "client_secret": "client-secret",
            "endpoint": "https://auth.example.com/token",
            "scope": "callbacks",
            "token_request_type": "FORM",
        },
        "secret": "bench-secret",
        "target": TARGET,
        "target_type": "HTTP",
        "triggers": ["MESSAGE_INBOUND", "MESSAGE_DELIVERY", "EVENT_INBOUND"],
    }))
    .unwrap_or_default()
}

/// A raw POST of the same JSON with the same Basic header, and a raw GET of
/// one webhook.
pub struct Raw {
    http: reqwest::Client,
    url: String,
    authorization: HeaderValue,
    /// The id of the webhook `get` reads.
    get_id: String,
}

impl Raw {
    pub fn new(server: &MockServer, http: reqwest::Client) -> Self {
        let credentials = format!(
            "{}:{}",
            MockServer::DEFAULT_KEY_ID,
            MockServer::DEFAULT_KEY_SECRET
        );
        let encoded = base64::engine::general_purpose::STANDARD.encode(credentials);
        Self {
            http,
            url: format!(
                "{}/v1/projects/{}/webhooks",
                server.base_url(),
                server.project_id()
            ),
            authorization: HeaderValue::from_str(&format!("Basic {encoded}")).expect("header"),
            get_id: String::new(),
        }
    }

    /// Reads webhook `id` with `get`.
    pub fn reading(mut self, id: &str) -> Self {
        self.get_id = id.to_owned();
        self
    }

    /// GETs the webhook, reads the answer's bytes, and decodes them into
    /// `Webhook` when `decode` is set. The URL is built from the id on each
    /// call, as a caller reading webhooks by id must (ours also
    /// percent-encodes the id; this does not).
    pub async fn get(&self, decode: bool) {
        let response = self
            .http
            .get(format!("{}/{}", self.url, self.get_id))
            .header(AUTHORIZATION, self.authorization.clone())
            .header(ACCEPT, "application/json")
            .send()
            .await
            .expect("raw send");
        read(response, decode).await;
    }

    /// Sends, reads the answer's bytes, and decodes them into `Webhook` when
    /// `decode` is set.
    pub async fn create(&self, decode: bool) {
        let response = self
            .http
            .post(&self.url)
            .header(AUTHORIZATION, self.authorization.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json")
            .body(full_json(&next_app()))
            .send()
            .await
            .expect("raw send");
        read(response, decode).await;
    }
}

/// Reads an answer's bytes, and decodes them into `Webhook` when `decode`
/// is set, as a caller that uses the answer must.
async fn read(response: reqwest::Response, decode: bool) {
    assert!(response.status().is_success());
    let bytes = response.bytes().await.expect("raw body");
    if decode {
        let webhook: Webhook = serde_json::from_slice(&bytes).expect("decode");
        std::hint::black_box(webhook);
    }
}

/// Ours, with every field set.
pub async fn ours(client: &Client) {
    full_request(client, next_app())
        .send()
        .await
        .expect("create");
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Paired ratios, so that machine noise hits all variants alike: after a
/// warm-up batch each, every round runs one batch per variant (`batch`
/// returns the mean time per operation), in a rotating order, and a ratio
/// to each baseline (index, name) is taken within the round. Per variant:
/// its median time (`median_us`) and the median of its per-round ratios
/// with their interquartile range (`<name>`, `<name>_iqr`).
pub async fn paired_ratios<V, F, Fut>(
    variants: &[(&str, V)],
    rounds: usize,
    baselines: &[(usize, &str)],
    mut batch: F,
) -> serde_json::Value
where
    F: FnMut(&V) -> Fut,
    Fut: std::future::Future<Output = std::time::Duration>,
{
    for (_, v) in variants {
        batch(v).await;
    }
    // times[round][variant], in nanoseconds per operation.
    let mut times = vec![vec![0.0; variants.len()]; rounds];
    for (round, row) in times.iter_mut().enumerate() {
        for k in 0..variants.len() {
            let i = (round + k) % variants.len();
            row[i] = batch(&variants[i].1).await.as_nanos() as f64;
        }
    }
    let mut out = serde_json::Map::new();
    for (i, (name, _)) in variants.iter().enumerate() {
        let mut own: Vec<f64> = times.iter().map(|row| row[i]).collect();
        own.sort_by(f64::total_cmp);
        let mut entry = serde_json::Map::new();
        entry.insert(
            "median_us".to_owned(),
            ((quantile(&own, 0.5) / 100.0).round() / 10.0).into(),
        );
        for (base, key) in baselines {
            let mut ratios: Vec<f64> = times.iter().map(|row| row[i] / row[*base]).collect();
            ratios.sort_by(f64::total_cmp);
            entry.insert((*key).to_owned(), round3(quantile(&ratios, 0.5)).into());
            entry.insert(
                format!("{key}_iqr"),
                serde_json::json!([
                    round3(quantile(&ratios, 0.25)),
                    round3(quantile(&ratios, 0.75))
                ]),
            );
        }
        out.insert((*name).to_owned(), serde_json::Value::Object(entry));
    }
    serde_json::Value::Object(out)
}

/// Mean time per operation over `count` runs of `op`, `concurrency` tasks
/// at a time (1: one after the other, on this task).
pub async fn timed_batch<F, Fut>(concurrency: u64, count: u64, op: F) -> std::time::Duration
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let started = std::time::Instant::now();
    if concurrency == 1 {
        for _ in 0..count {
            op().await;
        }
        return started.elapsed() / count as u32;
    }
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let op = op.clone();
            tokio::spawn(async move {
                for _ in 0..count / concurrency {
                    op().await;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("task");
    }
    started.elapsed() / count as u32
}

/// A MESSAGE_INBOUND text callback (about 700 bytes) whose message id is
/// made of `run` and `n`: a new event for each.
pub fn inbound_body(run: u64, n: u64) -> String {
    format!(
        r#"{{"app_id":"01EB37HMH1M6SV18ASNS3G135H","project_id":"c36f3d3d-1513-4edd-ae42-11995557ff61","accepted_time":"2026-11-17T16:05:51.724083123Z","event_time":"2026-11-17T16:05:51Z","message":{{"id":"B{run:016X}{n:010}","direction":"TO_APP","contact_message":{{"text_message":{{"text":"Hello, I would like to know more about my order"}}}},"channel_identity":{{"channel":"WHATSAPP","identity":"46732000000","app_id":"01EB37HMH1M6SV18ASNS3G135H"}},"conversation_id":"01EQBC1A3BEK731GY4YXEN0C2R","contact_id":"01EQBC1A3BEK731GY4YXEN0C2S","metadata":"","accept_time":"2026-11-17T16:05:51.724083123Z","processing_mode":"CONVERSATION"}},"message_metadata":""}}"#
    )
}

/// Serves `app` on a free loopback port; its URL at `/sinch`.
pub async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/sinch", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// Sends signed callbacks, each a new event, to one receiver.
pub struct CallbackSender {
    pub http: reqwest::Client,
    pub url: String,
    pub signer: sinch_conversation::callbacks::Signer,
    pub next: AtomicU64,
    pub run: u64,
}

impl CallbackSender {
    pub fn new(http: &reqwest::Client, url: String, secret: &str) -> std::sync::Arc<Self> {
        std::sync::Arc::new(Self {
            http: http.clone(),
            url,
            signer: sinch_conversation::callbacks::Signer::new(secret),
            next: AtomicU64::new(0),
            run: fastrand::u64(..),
        })
    }

    /// One callback; its answer must be 200.
    pub async fn one(&self) {
        let body = inbound_body(self.run, self.next.fetch_add(1, Ordering::Relaxed));
        let headers = self.signer.sign(body.as_bytes()).to_header_map();
        let answer = self
            .http
            .post(&self.url)
            .headers(headers)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("send");
        assert_eq!(answer.status().as_u16(), 200, "{}", self.url);
        std::hint::black_box(answer.bytes().await.expect("answer"));
    }

    /// Mean time per callback over `count`, `concurrency` at a time.
    pub async fn batch(
        self: &std::sync::Arc<Self>,
        concurrency: u64,
        count: u64,
    ) -> std::time::Duration {
        let sender = self.clone();
        timed_batch(concurrency, count, move || {
            let sender = sender.clone();
            async move { sender.one().await }
        })
        .await
    }
}

/// Installs ring as rustls' process-wide crypto provider, unless one is
/// installed already: reqwest is built without a default (aws-lc would need
/// cmake). For the benchmarks' own reqwest clients.
pub fn install_crypto_provider() {
    // Deprecated from rustls 0.23.48 (no post-quantum key exchange in ring);
    // ring is kept for its build cost (no cmake).
    #[allow(deprecated)]
    let _ = rustls::crypto::ring::default_provider().install_default();
}
