//! What validation costs, on its own: a create with every field set and an
//! update, as `NewWebhook::validate` / `WebhookChanges::validate` run them.
//! Used to decide whether hand-written fast paths in `src/validate.rs` earn
//! their place (each must save more than about 1% of a loopback round trip,
//! i.e. more than about 1.6 µs; see the README's Performance section).
//!
//! `cargo bench --bench validate -- --save-baseline NAME` and
//! `-- --baseline NAME` compare two versions of the code.
mod support;

use criterion::{Criterion, criterion_group, criterion_main};
use sinch_conversation::{Client, NewWebhook, Region, WebhookChanges, WebhookTrigger};

/// The benches' create request with every field set, unchecked.
fn create() -> NewWebhook {
    let client = Client::builder()
        .project_id("bench")
        .region(Region::Eu)
        .basic_auth("k", "s")
        .build()
        .expect("client");
    support::full_request(&client, "bench-app".to_owned())
        .as_new_webhook()
        .clone()
}

fn benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("validate");
    let webhook = create();
    group.bench_function("create_all_fields", |b| {
        b.iter(|| std::hint::black_box(&webhook).validate().expect("valid"))
    });
    let mut mixed_case = create();
    mixed_case.target = "https://Tenant-42.Example.COM:8443/sinch/callbacks".into();
    group.bench_function("create_mixed_case_host", |b| {
        b.iter(|| std::hint::black_box(&mixed_case).validate().expect("valid"))
    });
    let mut changes = WebhookChanges::default();
    changes.target = Some("https://example.com/sinch/v2".into());
    changes.triggers = Some(vec![WebhookTrigger::MessageInbound]);
    group.bench_function("update_target_and_triggers", |b| {
        b.iter(|| {
            std::hint::black_box(&changes)
                .validate("01H8Z6WEBHOOK")
                .expect("valid")
        })
    });
    group.finish();
}

criterion_group!(benches_group, benches);
criterion_main!(benches_group);
