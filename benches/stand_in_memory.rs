//! The stand-in under load: 100 000 creates (one app each) from 32 concurrent
//! clients, with the resident memory of the process after 10 000, 50 000 and
//! 100 000. The stand-in keeps 10 000 apps, so memory should level off once
//! it starts forgetting the oldest.
//! Prints one JSON line; `cargo xtask bench` reads it.
mod support;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use sinch_conversation::WebhookTrigger;
use sinch_conversation::mock::MockServer;

const TOTAL: u64 = 100_000;
const CONCURRENCY: u64 = 32;

fn main() {
    // `cargo bench` passes --bench; nothing to configure.
    let runtime = support::runtime();
    runtime.block_on(async {
        let server = MockServer::start().await.expect("stand-in");
        let client = support::basic_client(&server, None);
        let next = std::sync::Arc::new(AtomicU64::new(0));
        let mut rss = Vec::new();
        let started = Instant::now();
        for phase_end in [10_000, 50_000, TOTAL] {
            let tasks: Vec<_> = (0..CONCURRENCY)
                .map(|_| {
                    let client = client.clone();
                    let next = next.clone();
                    tokio::spawn(async move {
                        loop {
                            let n = next.fetch_add(1, Ordering::Relaxed);
                            if n >= phase_end {
                                break;
                            }
                            client
                                .create_webhook(format!("load-app-{n}"), "https://example.com/hook")
                                .trigger(WebhookTrigger::MessageInbound)
                                .send()
                                .await
                                .expect("create");
                        }
                    })
                })
                .collect();
            for task in tasks {
                task.await.expect("task");
            }
            next.store(phase_end, Ordering::Relaxed);
            rss.push(support::rss_kib());
        }
        let elapsed = started.elapsed();
        println!(
            "{}",
            serde_json::json!({
                "creates": TOTAL,
                "concurrency": CONCURRENCY,
                "creates_per_sec": (TOTAL as f64 / elapsed.as_secs_f64()).round(),
                "rss_kib_after_10k": rss[0],
                "rss_kib_after_50k": rss[1],
                "rss_kib_after_100k": rss[2],
                "apps_kept": server.all_webhooks().len(),
                "log_entries_kept": server.requests().len(),
            })
        );
    });
}
