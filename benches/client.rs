//! What the client costs: request building, response decoding, and end-to-end
//! creates against the embedded stand-in over loopback, each next to a raw
//! `reqwest` POST of the same JSON on the same connection pool.
//!
//! `cargo xtask bench` runs this and prints the table with ratios.
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use sinch_conversation::Webhook;
use sinch_conversation::mock::MockServer;
use support::{Raw, TARGET, full_request, ours};

const CONCURRENCY: u64 = 32;

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
    let runtime = support::runtime();
    let server = runtime.block_on(MockServer::start()).expect("stand-in");
    // One pool for ours and raw.
    let http = reqwest::Client::new();
    let basic = support::basic_client(&server, Some(http.clone()));
    let oauth = support::oauth2_client(&server, http.clone());
    runtime.block_on(ours(&oauth)); // warm the token cache
    let raw = Arc::new(Raw::new(&server, http.clone()));
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
        b.to_async(&runtime).iter(|| raw.create(false))
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
                async move { raw.create(false).await }
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
