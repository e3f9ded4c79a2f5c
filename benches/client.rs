//! What the client costs: request building, response decoding, and end-to-end
//! creates against the embedded stand-in over loopback, each next to a raw
//! `reqwest` POST of the same JSON on the same connection pool.
//!
//! `cargo xtask bench` runs this and prints the table with ratios.
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use sinch_conversation::mock::MockServer;
use sinch_conversation::{
    Client, NewClientCredentials, Webhook, WebhookTargetType, WebhookTrigger,
};

/// Unique app ids, so no create hits the 5-per-app limit.
static NEXT_APP: AtomicU64 = AtomicU64::new(0);

fn next_app() -> String {
    format!("bench-app-{}", NEXT_APP.fetch_add(1, Ordering::Relaxed))
}

const TARGET: &str = "https://example.com/sinch/callbacks";
const CONCURRENCY: u64 = 32;

fn full_request(client: &Client, app: String) -> sinch_conversation::CreateWebhook<'_> {
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

/// The JSON `full_request` sends, for the raw baseline.
fn full_json(app: &str) -> Vec<u8> {
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

struct Raw {
    http: reqwest::Client,
    url: String,
    authorization: HeaderValue,
}

impl Raw {
    async fn create(&self) {
        let body = full_json(&next_app());
        let response = self
            .http
            .post(&self.url)
            .header(AUTHORIZATION, self.authorization.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json")
            .body(body)
            .send()
            .await
            .expect("raw send");
        assert!(response.status().is_success());
        let _ = response.bytes().await.expect("raw body");
    }
}

async fn ours(client: &Client) {
    full_request(client, next_app())
        .send()
        .await
        .expect("create");
}

/// Runs `iters` creates spread over `CONCURRENCY` tasks; the wall time.
async fn concurrently<F, Fut>(iters: u64, make: F) -> Duration
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let started = Instant::now();
    let per_task = iters.div_ceil(CONCURRENCY);
    let tasks: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let jobs: Vec<Fut> = (0..per_task).map(|_| make()).collect();
            tokio::spawn(async move {
                for job in jobs {
                    job.await;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("task");
    }
    // Normalise to exactly `iters` creates.
    started
        .elapsed()
        .mul_f64(iters as f64 / (per_task * CONCURRENCY) as f64)
}

fn benches(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let server = runtime.block_on(MockServer::start()).expect("stand-in");
    // One pool for ours and raw.
    let http = reqwest::Client::new();
    let basic = server
        .client_builder()
        .basic_auth(MockServer::DEFAULT_KEY_ID, MockServer::DEFAULT_KEY_SECRET)
        .http_client(http.clone())
        .build()
        .expect("client");
    let oauth = server
        .client_builder()
        .http_client(http.clone())
        .build()
        .expect("client");
    runtime.block_on(ours(&oauth)); // warm the token cache
    let raw = Arc::new(Raw {
        http: http.clone(),
        url: format!(
            "{}/v1/projects/{}/webhooks",
            server.base_url(),
            server.project_id()
        ),
        authorization: {
            use base64::Engine as _;
            let creds = format!(
                "{}:{}",
                MockServer::DEFAULT_KEY_ID,
                MockServer::DEFAULT_KEY_SECRET
            );
            HeaderValue::from_str(&format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(creds)
            ))
            .expect("header")
        },
    });

    let mut group = c.benchmark_group("request");
    group.bench_function("build_validate_serialize", |b| {
        b.iter(|| {
            let request = full_request(&basic, "bench-app".to_owned())
                .build()
                .expect("valid");
            serde_json::to_vec(&request).expect("serialise")
        })
    });
    group.finish();

    let known = serde_json::to_vec(&serde_json::json!({
        "id": "01M8DTMPBN3C6WA55QAJAZJRXS", "app_id": "a", "target": TARGET, "target_type": "HTTP",
        "secret": "s", "triggers": ["MESSAGE_INBOUND", "MESSAGE_DELIVERY", "EVENT_INBOUND"],
        "client_credentials": {"client_id": "c", "client_secret": "s", "endpoint": "https://e.com/t", "token_request_type": "FORM"},
    }))
    .unwrap_or_default();
    let unknown = serde_json::to_vec(&serde_json::json!({
        "id": "01M8DTMPBN3C6WA55QAJAZJRXS", "app_id": "a", "target": TARGET, "target_type": "GRPC",
        "secret": "s", "triggers": ["NEW_ONE", "NEWER_ONE", "NEWEST_ONE"], "extra_field": {"nested": [1, 2, 3]},
        "client_credentials": {"client_id": "c", "client_secret": "s", "endpoint": "https://e.com/t", "token_request_type": "MTLS"},
    }))
    .unwrap_or_default();
    let mut group = c.benchmark_group("decode");
    group.bench_function("known_values", |b| {
        b.iter(|| serde_json::from_slice::<Webhook>(&known).expect("decode"))
    });
    group.bench_function("unknown_values", |b| {
        b.iter(|| serde_json::from_slice::<Webhook>(&unknown).expect("decode"))
    });
    group.finish();

    let mut group = c.benchmark_group("e2e_sequential");
    group.bench_function("raw_reqwest", |b| {
        b.to_async(&runtime).iter(|| raw.create())
    });
    group.bench_function("ours_basic", |b| b.to_async(&runtime).iter(|| ours(&basic)));
    group.bench_function("ours_oauth2_cached", |b| {
        b.to_async(&runtime).iter(|| ours(&oauth))
    });
    group.finish();

    let mut group = c.benchmark_group("e2e_concurrent_32");
    group.bench_function("raw_reqwest", |b| {
        b.to_async(&runtime).iter_custom(|iters| {
            let raw = raw.clone();
            concurrently(iters, move || {
                let raw = raw.clone();
                async move { raw.create().await }
            })
        })
    });
    group.bench_function("ours_basic", |b| {
        b.to_async(&runtime).iter_custom(|iters| {
            let client = basic.clone();
            concurrently(iters, move || {
                let client = client.clone();
                async move { ours(&client).await }
            })
        })
    });
    group.bench_function("ours_oauth2_cached", |b| {
        b.to_async(&runtime).iter_custom(|iters| {
            let client = oauth.clone();
            concurrently(iters, move || {
                let client = client.clone();
                async move { ours(&client).await }
            })
        })
    });
    group.finish();
    drop(server);
}

criterion_group! {
    name = client;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    targets = benches
}
criterion_main!(client);
