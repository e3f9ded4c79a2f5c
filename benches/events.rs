//! Callback events: what parsing a typed event costs next to parsing the
//! same body into `serde_json::Value` (the least any receiver does), and
//! what verify + parse costs next to verifying alone.
//!
//! ```text
//! cargo bench --bench events
//! ```
//! `cargo xtask bench` runs it and reports the ratios.
use std::hint::black_box;
use std::time::{Duration, UNIX_EPOCH};

use criterion::{Criterion, criterion_group, criterion_main};
use sinch_conversation::callbacks::{Signer, Verifier};
use sinch_conversation::events;

const TEXT: &[u8] = include_bytes!("../tests/corpus/events/message_inbound_text.json");
const DELIVERY: &[u8] = include_bytes!("../tests/corpus/events/message_delivery.json");

fn parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("event_parse");
    group.bench_function("typed_message_inbound_text", |b| {
        b.iter(|| events::parse(black_box(TEXT)).map(|e| e.event.is_known()))
    });
    group.bench_function("value_message_inbound_text", |b| {
        b.iter(|| {
            serde_json::from_slice::<serde_json::Value>(black_box(TEXT)).map(|v| v.is_object())
        })
    });
    group.bench_function("typed_message_delivery", |b| {
        b.iter(|| events::parse(black_box(DELIVERY)).map(|e| e.event.is_known()))
    });
    group.bench_function("value_message_delivery", |b| {
        b.iter(|| {
            serde_json::from_slice::<serde_json::Value>(black_box(DELIVERY)).map(|v| v.is_object())
        })
    });
    group.finish();
}

fn verify(c: &mut Criterion) {
    let secret = "a-webhook-secret-of-some-length";
    let seconds = 1_795_000_000;
    let now = UNIX_EPOCH + Duration::from_secs(seconds);
    let headers = Signer::new(secret)
        .sign_with(TEXT, "01EQBC1A3BEK731GY4YXEN0C2R", seconds)
        .to_header_map();
    let verifier = Verifier::new(secret);
    assert!(verifier.verify_event_at(&headers, TEXT, now).is_ok());
    let mut group = c.benchmark_group("event_verify");
    group.bench_function("verify", |b| {
        b.iter(|| {
            verifier
                .verify_at(black_box(&headers), black_box(TEXT), now)
                .is_ok()
        })
    });
    group.bench_function("verify_and_parse", |b| {
        b.iter(|| {
            verifier
                .verify_event_at(black_box(&headers), black_box(TEXT), now)
                .map(|e| e.event.is_known())
        })
    });
    // What a receiver does before it asks its store: the check, the typed
    // parse and the event's idempotency key.
    group.bench_function("verify_parse_key", |b| {
        b.iter(|| {
            verifier
                .verify_event_at(black_box(&headers), black_box(TEXT), now)
                .map(|e| e.idempotency_key(TEXT))
        })
    });
    group.finish();
}

criterion_group!(benches, parse, verify);
criterion_main!(benches);
