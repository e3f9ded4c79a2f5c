//! The stand-in over a long run: 200 000 mixed requests from 32 concurrent
//! clients — creates with every field near its largest (about 60 KB a
//! body), token requests, lists, gets, updates and deletes, on 50 000
//! rotating apps — in 10 windows of 20 000, with the throughput and the
//! resident memory after each. Memory must stay under the documented bound
//! (the stand-in keeps about 64 MiB of webhooks, 20 000 tokens and 10 000
//! log entries) and the last window's throughput within 2× of the first.
//!
//! `cargo bench --bench stand_in_long_run` prints one JSON line.
mod support;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use sinch_conversation::mock::MockServer;
use sinch_conversation::{Client, NewClientCredentials, WebhookTrigger};

const TOTAL: u64 = 200_000;
const WINDOWS: u64 = 10;
const CONCURRENCY: u64 = 32;
const APPS: u64 = 50_000;

/// Ids created so far (the last few thousand), for gets, updates, deletes.
#[derive(Default)]
struct Known(Mutex<Vec<String>>);

impl Known {
    fn add(&self, id: String) {
        let mut ids = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if ids.len() >= 4096 {
            ids.swap_remove(fastrand::usize(..4096));
        }
        ids.push(id);
    }
    fn any(&self) -> Option<String> {
        let ids = self.0.lock().unwrap_or_else(|e| e.into_inner());
        (!ids.is_empty()).then(|| ids[fastrand::usize(..ids.len())].clone())
    }
}

/// One request of the mix; errors (limits reached, ids deleted meanwhile)
/// are part of the mix too.
async fn one(n: u64, client: &Client, http: &reqwest::Client, server: &MockServer, known: &Known) {
    let app = format!("long-run-app-{}", n % APPS);
    match n % 10 {
        0..=3 => {
            let target = format!("https://example.com/{n}/{}", "t".repeat(700));
            let created = client
                .create_webhook(app, target)
                .triggers([
                    WebhookTrigger::MessageInbound,
                    WebhookTrigger::MessageDelivery,
                ])
                .secret("s".repeat(40_000))
                .client_credentials(
                    NewClientCredentials::new(
                        "c".repeat(8_000),
                        "x".repeat(8_000),
                        format!("https://auth.example.com/{}", "e".repeat(700)),
                    )
                    .scope("o".repeat(1024))
                    .response_type("r".repeat(64)),
                )
                .send()
                .await;
            if let Ok(webhook) = created
                && let Some(id) = webhook.id
            {
                known.add(id);
            }
        }
        4 => {
            let _ = http
                .post(format!("{}/oauth2/token", server.base_url()))
                .basic_auth(
                    MockServer::DEFAULT_KEY_ID,
                    Some(MockServer::DEFAULT_KEY_SECRET),
                )
                .form(&[("grant_type", "client_credentials")])
                .send()
                .await;
        }
        5 | 6 => drop(client.list_webhooks(&app).await),
        7 => drop(client.get_webhook(&known.any().unwrap_or(app)).await),
        8 => {
            let id = known.any().unwrap_or(app);
            let _ = client
                .update_webhook(id)
                .target(format!("https://example.com/updated/{n}"))
                .send()
                .await;
        }
        _ => drop(client.delete_webhook(&known.any().unwrap_or(app)).await),
    }
}

fn main() {
    let runtime = support::runtime();
    runtime.block_on(async {
        let server = Arc::new(MockServer::start().await.expect("stand-in"));
        let client = support::basic_client(&server, None);
        let http = reqwest::Client::new();
        let known = Arc::new(Known::default());
        let next = Arc::new(AtomicU64::new(0));
        let mut windows = Vec::new();
        for window in 1..=WINDOWS {
            let end = TOTAL / WINDOWS * window;
            let started = Instant::now();
            let tasks: Vec<_> = (0..CONCURRENCY)
                .map(|_| {
                    let (client, http, server) = (client.clone(), http.clone(), server.clone());
                    let (known, next) = (known.clone(), next.clone());
                    tokio::spawn(async move {
                        loop {
                            let n = next.fetch_add(1, Ordering::Relaxed);
                            if n >= end {
                                break;
                            }
                            one(n, &client, &http, &server, &known).await;
                        }
                    })
                })
                .collect();
            for task in tasks {
                task.await.expect("task");
            }
            next.store(end, Ordering::Relaxed);
            let per_sec = (TOTAL / WINDOWS) as f64 / started.elapsed().as_secs_f64();
            windows.push(serde_json::json!({
                "requests": end,
                "requests_per_sec": per_sec.round(),
                "rss_kib": support::rss_kib(),
            }));
        }
        let rate = |w: &serde_json::Value| w["requests_per_sec"].as_f64().unwrap_or(0.0);
        let first = windows.first().map(rate).unwrap_or(0.0);
        let last = windows.last().map(rate).unwrap_or(0.0);
        let max_rss = windows
            .iter()
            .filter_map(|w| w["rss_kib"].as_u64())
            .max()
            .unwrap_or(0);
        println!(
            "{}",
            serde_json::json!({
                "requests": TOTAL,
                "concurrency": CONCURRENCY,
                "windows": windows,
                "first_to_last_throughput": (first / last.max(1.0) * 1000.0).round() / 1000.0,
                "max_rss_kib": max_rss,
                "apps_kept": server.all_webhooks().len(),
                "webhooks_kept": server.all_webhooks().values().map(Vec::len).sum::<usize>(),
            })
        );
    });
}
