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

use std::time::Duration;

use axum::http::StatusCode;
use axum::routing::post;
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

async fn serve(receiver: Receiver) -> String {
    support::serve(
        axum::Router::new()
            .route("/sinch", post(handler))
            .layer(CallbackLayer::new())
            .with_state(receiver),
    )
    .await
}

/// Callbacks per second, one sender and 32.
async fn rates(http: &reqwest::Client, receiver: Receiver) -> serde_json::Value {
    let sender = support::CallbackSender::new(http, serve(receiver).await, SECRET);
    let batch = |concurrency: u64, count: u64| {
        let sender = sender.clone();
        async move { sender.batch(concurrency, count).await }
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
        support::install_crypto_provider();
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
