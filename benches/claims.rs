//! Callbacks per second through the `SinchCallback` extractor and
//! `CallbackLayer` on a real axum server on loopback, each callback a new
//! event (so each is claimed, then completed): with no store (verify and
//! parse only), with a `MemoryDeduplicator`, and with a `RedisDeduplicator`
//! refusing replays (one round trip to claim, nonce included, one to
//! complete). One sender at a time, and 32 concurrent senders; the senders
//! (reqwest) run in the same process, on the same 2 cores.
//!
//! Redis: `SINCH_TEST_REDIS_URL`, or a `redis-server` of its own; without
//! either the Redis rows say why they were skipped. Prints one JSON line.
//! `cargo bench --bench claims`.
#[path = "../tests/common/redis_server.rs"]
mod redis_server;
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::http::StatusCode;
use axum::routing::post;
use sinch_conversation::callbacks::Signer;
use sinch_conversation::dedup::MemoryDeduplicator;
use sinch_conversation::receive::{CallbackLayer, Receiver, SinchCallback};
use sinch_conversation::shared::RedisDeduplicator;

const SECRET: &str = "bench-secret";
const SEQUENTIAL: u64 = 3_000;
const CONCURRENCY: u64 = 32;
const CONCURRENT: u64 = 32 * 500;

async fn handler(callback: SinchCallback) -> StatusCode {
    std::hint::black_box(&callback);
    StatusCode::OK
}

struct Sender {
    http: reqwest::Client,
    url: String,
    signer: Signer,
    next: AtomicU64,
    run: u64,
}

impl Sender {
    async fn one(&self) {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let body = format!(
            r#"{{"app_id":"01EB37HMH1M6SV18ASNS3G135H","project_id":"c36f3d3d-1513-4edd-ae42-11995557ff61","accepted_time":"2026-11-17T16:05:51.724083123Z","message":{{"id":"01EQ{:08X}{n:012}","direction":"TO_APP","contact_message":{{"text_message":{{"text":"Hello, I would like to know more about my order"}}}},"channel_identity":{{"channel":"WHATSAPP","identity":"46732000000","app_id":"01EB37HMH1M6SV18ASNS3G135H"}},"conversation_id":"01EQBC1A3BEK731GY4YXEN0C2R","contact_id":"01EQBC1A3BEK731GY4YXEN0C2S","processing_mode":"CONVERSATION"}},"message_metadata":""}}"#,
            self.run as u32
        );
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
}

async fn serve(receiver: Receiver) -> String {
    let app = axum::Router::new()
        .route("/sinch", post(handler))
        .layer(CallbackLayer::new())
        .with_state(receiver);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/sinch", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// Callbacks per second, one sender and 32.
async fn rates(http: &reqwest::Client, receiver: Receiver) -> serde_json::Value {
    let sender = Arc::new(Sender {
        http: http.clone(),
        url: serve(receiver).await,
        signer: Signer::new(SECRET),
        next: AtomicU64::new(0),
        run: fastrand::u64(..),
    });
    let batch = |concurrency: u64, count: u64| {
        let sender = sender.clone();
        support::timed_batch(concurrency, count, move || {
            let sender = sender.clone();
            async move { sender.one().await }
        })
    };
    let per_second = |mean: Duration| (1.0 / mean.as_secs_f64()).round();
    batch(CONCURRENCY, CONCURRENCY * 20).await; // warm: connections, caches
    let sequential = per_second(batch(1, SEQUENTIAL).await);
    let concurrent = per_second(batch(CONCURRENCY, CONCURRENT).await);
    serde_json::json!({ "sequential": sequential, "concurrent_32": concurrent })
}

fn main() {
    let runtime = support::runtime();
    runtime.block_on(async {
        // Deprecated from rustls 0.23.48 (no post-quantum key exchange in ring);
        // ring is kept for its build cost (no cmake).
        #[allow(deprecated)]
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::new();
        let verify_only = rates(&http, Receiver::new([SECRET])).await;
        let memory = rates(
            &http,
            Receiver::new([SECRET])
                .deduplicate(MemoryDeduplicator::new(
                    1_000_000,
                    Duration::from_secs(3600),
                ))
                .refuse_replays(),
        )
        .await;
        let redis = match redis_server::url() {
            Ok((url, _keep)) => {
                let store = RedisDeduplicator::connect(&url)
                    .await
                    .expect("Redis")
                    .namespace(format!("bench:claims:{}:", fastrand::u64(..)))
                    .ttl(Duration::from_secs(600));
                rates(
                    &http,
                    Receiver::new([SECRET]).deduplicate(store).refuse_replays(),
                )
                .await
            }
            Err(why) => serde_json::json!({ "skipped": why }),
        };
        println!(
            "{}",
            serde_json::json!({
                "callbacks_per_second": {
                    "verify_only": verify_only,
                    "memory": memory,
                    "redis": redis,
                }
            })
        );
    });
}
