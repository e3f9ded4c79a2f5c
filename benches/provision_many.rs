//! Provisioning at scale: one webhook for each of 2 000 apps with
//! `sync_many` (64 apps at a time) against the stand-in limited, as Sinch
//! is, to 800 requests a second per project.
//!
//! 1. With the client limited to 800/s: wall time next to the ideal
//!    (requests ÷ 800/s), and the 429 answers (should be none).
//! 2. The same job again (nothing to change: one list per app).
//! 3. Without the client limit, on 2 000 other apps: the 429s, the retries
//!    they cause, the apps that failed, and the time.
//!
//! The client's resident memory is sampled before and after each run.
//! `cargo bench --bench provision_many` prints one JSON line;
//! `cargo xtask bench` reads it.
mod support;

use std::time::Instant;

use sinch_conversation::mock::MockServer;
use sinch_conversation::{Client, ClientBuilder, NewWebhook, RetryPolicy, WebhookTrigger};

const APPS: usize = 2_000;
const CONCURRENCY: usize = 64;
const LIMIT: u32 = ClientBuilder::SINCH_RATE_LIMIT;

fn jobs(prefix: &str) -> Vec<(String, Vec<NewWebhook>)> {
    (0..APPS)
        .map(|i| {
            let app = format!("{prefix}-{i}");
            let mut webhook = NewWebhook::new(&app, format!("https://example.com/hooks/{app}"));
            webhook.triggers = vec![
                WebhookTrigger::MessageInbound,
                WebhookTrigger::MessageDelivery,
            ];
            (app, vec![webhook])
        })
        .collect()
}

/// Runs one job; its figures.
async fn run(
    client: &Client,
    server: &MockServer,
    prefix: &str,
    ideal_requests: usize,
) -> serde_json::Value {
    server.clear_requests();
    let rss_before = support::rss_kib();
    let started = Instant::now();
    let outcomes = client.sync_many(jobs(prefix), CONCURRENCY, |_| {}).await;
    let seconds = started.elapsed().as_secs_f64();
    let log = server.requests();
    let api: Vec<_> = log.iter().filter(|r| r.path.starts_with("/v1/")).collect();
    let ideal = ideal_requests as f64 / f64::from(LIMIT);
    serde_json::json!({
        "apps": APPS,
        "seconds": (seconds * 100.0).round() / 100.0,
        "ideal_seconds": ideal,
        "ratio_to_ideal": (seconds / ideal * 1000.0).round() / 1000.0,
        "requests": api.len(),
        "answers_429": api.iter().filter(|r| r.status == 429).count(),
        "apps_failed": outcomes.iter().filter(|o| o.result.is_err()).count(),
        "rss_kib_before": rss_before,
        "rss_kib_after": support::rss_kib(),
    })
}

fn main() {
    let runtime = support::runtime();
    runtime.block_on(async {
        let server = MockServer::builder()
            .rate_limit(LIMIT)
            .start()
            .await
            .expect("stand-in");
        let basic = || {
            server
                .client_builder()
                .basic_auth(MockServer::DEFAULT_KEY_ID, MockServer::DEFAULT_KEY_SECRET)
        };
        let limited = basic().rate_limit(LIMIT).build().expect("client");
        // A list and a create per app, then a list per app.
        let first = run(&limited, &server, "tenant", 2 * APPS).await;
        let again = run(&limited, &server, "tenant", APPS).await;
        // Without the limit: Sinch's 429s, retried after their Retry-After
        // (the default policy: 3 retries).
        let unlimited = basic()
            .retry(RetryPolicy::default())
            .build()
            .expect("client");
        let unlimited = run(&unlimited, &server, "other", 2 * APPS).await;
        println!(
            "{}",
            serde_json::json!({
                "limit_per_second": LIMIT,
                "concurrency": CONCURRENCY,
                "limited_first_run": first,
                "limited_second_run": again,
                "unlimited": unlimited,
            })
        );
    });
}
