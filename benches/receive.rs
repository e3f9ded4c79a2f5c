//! One callback through the axum extractor and `CallbackLayer`, in process
//! (no sockets): verified, parsed, claimed in a `MemoryDeduplicator` and
//! completed, each a new event. Every metric on the receiving path is
//! recorded here, so this is the bench that shows what feature `metrics`
//! costs with no recorder installed:
//!
//! ```text
//! cargo bench --bench receive --features axum -- --save-baseline off
//! cargo bench --bench receive --features axum,metrics -- --baseline off
//! ```
//!
//! (criterion prints the change against the run without the feature). Its
//! spread on a loaded 2-core machine is wider than 2 %, so the figure in
//! `docs/performance.md` comes from instructions counted by callgrind, which
//! repeat exactly: `SINCH_BENCH_CALLGRIND=N` makes this binary run N
//! receives in `measured` and exit, and
//!
//! ```text
//! SINCH_BENCH_CALLGRIND=2000 valgrind --tool=callgrind --collect-atstart=no \
//!     --toggle-collect='*measured*' target/release/deps/receive-<hash>
//! ```
//!
//! counts only those (once built without the feature, once with it).
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::http::StatusCode;
use axum::routing::post;
use criterion::{BatchSize, Criterion, criterion_group};
use sinch_conversation::dedup::MemoryDeduplicator;
use sinch_conversation::receive::{CallbackLayer, Receiver, SinchCallback, signed_request};
use tower::ServiceExt as _;

async fn handler(callback: SinchCallback) -> StatusCode {
    std::hint::black_box(&callback);
    StatusCode::OK
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

fn app() -> axum::Router {
    axum::Router::new()
        .route("/sinch", post(handler))
        .layer(CallbackLayer::new())
        .with_state(
            Receiver::new(["bench-secret"]).deduplicate(MemoryDeduplicator::new(
                1_000_000,
                Duration::from_secs(3600),
            )),
        )
}

/// A signed MESSAGE_INBOUND callback, a new event for each `id`.
fn request(id: u64) -> axum::http::Request<axum::body::Body> {
    let body = format!(
        r#"{{"app_id":"app","project_id":"p","accepted_time":"2026-12-07T10:00:00Z","message":{{"id":"M{id}","direction":"TO_APP","contact_message":{{"text_message":{{"text":"hello"}}}}}}}}"#
    );
    signed_request("/sinch", "bench-secret", body)
}

/// What callgrind counts: `requests` received, one after another.
#[inline(never)]
fn measured(
    runtime: &tokio::runtime::Runtime,
    app: &axum::Router,
    requests: Vec<axum::http::Request<axum::body::Body>>,
) {
    runtime.block_on(async {
        for request in requests {
            let answer = app.clone().oneshot(request).await.expect("infallible");
            assert_eq!(answer.status(), StatusCode::OK);
        }
    });
}

fn receive(c: &mut Criterion) {
    let runtime = runtime();
    let app = app();
    let next = AtomicU64::new(0);
    c.bench_function("receive_new_event", |b| {
        b.to_async(&runtime).iter_batched(
            || request(next.fetch_add(1, Ordering::Relaxed)),
            |request| {
                let app = app.clone();
                async move {
                    let answer = app.oneshot(request).await.expect("infallible");
                    assert_eq!(answer.status(), StatusCode::OK);
                }
            },
            BatchSize::SmallInput,
        );
    });
}

criterion_group!(benches, receive);

fn main() {
    if let Some(n) = std::env::var("SINCH_BENCH_CALLGRIND")
        .ok()
        .and_then(|n| n.parse::<u64>().ok())
    {
        let (runtime, app) = (runtime(), app());
        // Warm: the first requests fill the router's and allocator's caches.
        measured_warmup(&runtime, &app);
        measured(&runtime, &app, (1_000..1_000 + n).map(request).collect());
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}

fn measured_warmup(runtime: &tokio::runtime::Runtime, app: &axum::Router) {
    runtime.block_on(async {
        for id in 0..1_000 {
            let _ = app.clone().oneshot(request(id)).await;
        }
    });
}
