//! End-to-end cost of the client next to a raw `reqwest` POST, measured so
//! that machine noise hits all alike: rounds alternate (raw, raw plus
//! decoding the answer, ours Basic, ours OAuth2 with a cached token, in a
//! rotating order), each round a batch
//! of creates against the embedded stand-in over loopback; the result is each
//! variant's median per-create time and its ratio to raw. Sequential, and
//! with 32 concurrent tasks. Prints one JSON line; `cargo xtask bench` reads it.
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use sinch_conversation::Client;
use sinch_conversation::mock::MockServer;
use support::{Raw, ours};

const ROUNDS: usize = 21;
const SEQUENTIAL_BATCH: u64 = 200;
const CONCURRENCY: u64 = 32;
const CONCURRENT_BATCH: u64 = 32 * 40;

#[derive(Clone)]
enum Variant {
    /// The floor: send the bytes, read the answer's bytes.
    Raw(Arc<Raw>),
    /// The same, then decoding the answer into `Webhook` as any caller that
    /// uses it must.
    RawTyped(Arc<Raw>),
    Ours(Client),
}

impl Variant {
    async fn create(&self) {
        match self {
            Variant::Raw(raw) => raw.create(false).await,
            Variant::RawTyped(raw) => raw.create(true).await,
            Variant::Ours(client) => ours(client).await,
        }
    }

    /// Mean time per create over a batch.
    async fn batch(&self, concurrency: u64, creates: u64) -> Duration {
        let started = Instant::now();
        let tasks: Vec<_> = (0..concurrency)
            .map(|_| {
                let variant = self.clone();
                tokio::spawn(async move {
                    for _ in 0..creates / concurrency {
                        variant.create().await;
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("task");
        }
        started.elapsed() / creates as u32
    }
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

async fn compare(variants: &[(&str, Variant)], concurrency: u64, batch: u64) -> serde_json::Value {
    // Warm up every connection the batch will use.
    for (_, v) in variants {
        v.batch(concurrency, batch).await;
    }
    let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); variants.len()];
    for round in 0..ROUNDS {
        for k in 0..variants.len() {
            let i = (round + k) % variants.len();
            samples[i].push(variants[i].1.batch(concurrency, batch).await);
        }
    }
    let medians: Vec<Duration> = samples.into_iter().map(median).collect();
    let raw = medians[0].as_nanos() as f64;
    let mut out = serde_json::Map::new();
    for ((name, _), m) in variants.iter().zip(&medians) {
        out.insert(
            (*name).to_owned(),
            serde_json::json!({
                "median_us": (m.as_nanos() as f64 / 1000.0 * 10.0).round() / 10.0,
                "ratio_to_raw": ((m.as_nanos() as f64 / raw) * 1000.0).round() / 1000.0,
            }),
        );
    }
    serde_json::Value::Object(out)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let server = MockServer::start().await.expect("stand-in");
        let http = reqwest::Client::new();
        let raw = Arc::new(Raw::new(&server, http.clone()));
        let basic = server
            .client_builder()
            .basic_auth(MockServer::DEFAULT_KEY_ID, MockServer::DEFAULT_KEY_SECRET)
            .http_client(http.clone())
            .build()
            .expect("client");
        let oauth = server.client_builder().http_client(http.clone()).build().expect("client");
        let variants = [
            ("raw_reqwest", Variant::Raw(raw.clone())),
            ("raw_reqwest_typed", Variant::RawTyped(raw)),
            ("ours_basic", Variant::Ours(basic)),
            ("ours_oauth2_cached", Variant::Ours(oauth)),
        ];
        let sequential = compare(&variants, 1, SEQUENTIAL_BATCH).await;
        let concurrent = compare(&variants, CONCURRENCY, CONCURRENT_BATCH).await;
        println!(
            "{}",
            serde_json::json!({"rounds": ROUNDS, "sequential": sequential, "concurrent_32": concurrent})
        );
    });
}
