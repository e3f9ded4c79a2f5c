//! What receiving with the crate costs per callback: an axum server on
//! loopback whose handler takes `SinchCallback` (raw body, signature and
//! window checked, event parsed, idempotency key claimed in a
//! `MemoryDeduplicator` and completed by `CallbackLayer`), next to a raw
//! axum handler that reads the body and checks the HMAC by hand. The same client sends each the same kind
//! of signed MESSAGE_INBOUND body, each with its own message id. A third
//! server does what the raw one does and then parses the body into a
//! `serde_json::Value`: what any receiver that reads the event pays.
//!
//! Paired ratios as in `e2e_ratio`: each round runs a batch per variant,
//! in a rotating order; the result is the median of the per-round ratios
//! with its interquartile range. Sequential, and with 32 concurrent
//! senders. Prints one JSON line.
//! `cargo bench --bench receive_ratio`.
mod support;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use base64::Engine as _;
use sinch_conversation::callbacks::{NONCE_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use sinch_conversation::dedup::MemoryDeduplicator;
use sinch_conversation::receive::{CallbackLayer, Receiver, SinchCallback};

const SECRET: &str = "bench-secret";
const SEQUENTIAL_ROUNDS: usize = 201;
const SEQUENTIAL_BATCH: u64 = 25;
const CONCURRENT_ROUNDS: usize = 101;
const CONCURRENCY: u64 = 32;
const CONCURRENT_BATCH: u64 = 32 * 8;

/// The floor: the body, and the HMAC checked by hand.
async fn raw(headers: HeaderMap, body: Bytes) -> StatusCode {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(nonce), Some(timestamp), Some(signature)) = (
        get(NONCE_HEADER),
        get(TIMESTAMP_HEADER),
        get(SIGNATURE_HEADER),
    ) else {
        return StatusCode::UNAUTHORIZED;
    };
    let Ok(expected) = base64::engine::general_purpose::STANDARD.decode(signature) else {
        return StatusCode::UNAUTHORIZED;
    };
    let mut signed = body.to_vec();
    signed.extend_from_slice(format!(".{nonce}.{timestamp}").as_bytes());
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, SECRET.as_bytes());
    match ring::hmac::verify(&key, &signed, &expected) {
        Ok(()) => StatusCode::OK,
        Err(_) => StatusCode::UNAUTHORIZED,
    }
}

/// The floor plus reading the event, untyped.
async fn raw_parsed(headers: HeaderMap, body: Bytes) -> StatusCode {
    let status = raw(headers, body.clone()).await;
    if status == StatusCode::OK {
        let value: Result<serde_json::Value, _> = serde_json::from_slice(&body);
        std::hint::black_box(value.expect("JSON"));
    }
    status
}

async fn ours(callback: SinchCallback) -> StatusCode {
    std::hint::black_box(&callback);
    StatusCode::OK
}

async fn compare(
    variants: &[(&str, Arc<support::CallbackSender>)],
    concurrency: u64,
    batch: u64,
    rounds: usize,
) -> serde_json::Value {
    support::paired_ratios(
        variants,
        rounds,
        &[(0, "ratio_to_raw"), (1, "ratio_to_raw_parsed")],
        |v| {
            // Owned, so the batch's future borrows nothing.
            let v = v.clone();
            async move { v.batch(concurrency, batch).await }
        },
    )
    .await
}

fn main() {
    let runtime = support::runtime();
    runtime.block_on(async {
        let receiver = Receiver::new([SECRET]).deduplicate(MemoryDeduplicator::new(
            1_000_000,
            Duration::from_secs(3600),
        ));
        let raw_url = support::serve(axum::Router::new().route("/sinch", post(raw))).await;
        let parsed_url = support::serve(axum::Router::new().route("/sinch", post(raw_parsed))).await;
        let our_url = support::serve(
            axum::Router::new()
                .route("/sinch", post(ours))
                .layer(CallbackLayer::new())
                .with_state(receiver),
        )
        .await;
        support::install_crypto_provider();
        let http = reqwest::Client::new();
        let sender = |url: String| support::CallbackSender::new(&http, url, SECRET);
        let variants = [
            ("raw", sender(raw_url)),
            ("raw_parsed", sender(parsed_url)),
            ("ours", sender(our_url)),
        ];
        let out = serde_json::json!({
            "sequential": compare(&variants, 1, SEQUENTIAL_BATCH, SEQUENTIAL_ROUNDS).await,
            "concurrent_32": compare(&variants, CONCURRENCY, CONCURRENT_BATCH, CONCURRENT_ROUNDS).await,
        });
        println!("{out}");
    });
}
