//! What the durable inbox costs, on a real Redis (`SINCH_TEST_REDIS_URL`,
//! or a `redis-server` of its own), everything on one 2-core machine:
//!
//! 1. callbacks/s with 32 concurrent senders over loopback: the inbox
//!    endpoint (verify, then one deduplicated append) next to the
//!    verify-only receiver, in alternating rounds of the same run (medians,
//!    and the median of the per-round ratios);
//! 2. events/s drained by one worker with a no-op handler (concurrency 64)
//!    from an inbox holding 20 000 events;
//! 3. the time from a callback's 2xx (as the sender sees it) to its
//!    handler's start, p50 and p99, at 1 000 callbacks/s (a start before the
//!    2xx reached the sender counts as 0).
//!
//! Prints one JSON line. `cargo bench --bench inbox`.
#[path = "../tests/common/redis_server.rs"]
mod redis_server;
mod support;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use axum::routing::post;
use sinch_conversation::callbacks::Signer;
use sinch_conversation::inbox::{Inbox, InboxEndpoint, Worker};
use sinch_conversation::receive::{Receiver, SinchCallback};

const SECRET: &str = "bench-secret";
const CONCURRENCY: u64 = 32;
const SENT: u64 = 32 * 400;
const ROUNDS: u64 = 9;
const DRAINED: u64 = 20_000;
const PACED: u64 = 3_000;

async fn verify_only(callback: SinchCallback) -> StatusCode {
    std::hint::black_box(&callback);
    StatusCode::OK
}

/// Sends `count` new events, `concurrency` at a time; callbacks/s.
async fn rate(http: &reqwest::Client, url: &str, concurrency: u64, count: u64) -> f64 {
    let sender = support::CallbackSender::new(http, url.to_owned(), SECRET);
    let mean = sender.batch(concurrency, count).await;
    (1.0 / mean.as_secs_f64()).round()
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    let at = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    (sorted.get(at).copied().unwrap_or(0.0) * 1000.0).round() / 1000.0
}

fn main() {
    let runtime = support::runtime();
    runtime.block_on(async {
        let (url, _keep) = match redis_server::url() {
            Ok(found) => found,
            Err(why) => {
                println!("{}", serde_json::json!({ "skipped": why }));
                return;
            }
        };
        support::install_crypto_provider();
        let http = reqwest::Client::new();

        // 1. The endpoint next to the verify-only receiver.
        let receiver_url = support::serve(
            axum::Router::new()
                .route("/sinch", post(verify_only))
                .with_state(Receiver::new([SECRET])),
        )
        .await;
        let name = format!("bench-{}", fastrand::u32(..));
        let inbox = Inbox::connect(&url, &name).await.expect("Redis");
        let endpoint = InboxEndpoint::new(inbox.clone(), Receiver::new([SECRET]));
        let inbox_url = support::serve(
            axum::Router::new()
                .route("/sinch", post(InboxEndpoint::handle))
                .with_state(endpoint.clone()),
        )
        .await;
        rate(&http, &receiver_url, CONCURRENCY, 640).await; // warm
        rate(&http, &inbox_url, CONCURRENCY, 640).await;
        // Rounds of one batch each, in turn: the machine's drift hits both.
        let (mut receiver_rates, mut inbox_rates, mut ratios) =
            (Vec::new(), Vec::new(), Vec::new());
        for round in 0..ROUNDS {
            let batch = SENT / ROUNDS;
            let (r, i) = if round % 2 == 0 {
                let r = rate(&http, &receiver_url, CONCURRENCY, batch).await;
                (r, rate(&http, &inbox_url, CONCURRENCY, batch).await)
            } else {
                let i = rate(&http, &inbox_url, CONCURRENCY, batch).await;
                (rate(&http, &receiver_url, CONCURRENCY, batch).await, i)
            };
            receiver_rates.push(r);
            inbox_rates.push(i);
            ratios.push(i / r);
        }
        let median = |v: &mut Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let receiver_rate = median(&mut receiver_rates).round();
        let inbox_rate = median(&mut inbox_rates).round();
        let ratio = (median(&mut ratios) * 1000.0).round() / 1000.0;

        // 2. Draining what is there (and more, appended in-process).
        let run = fastrand::u64(..);
        let mut appends = Vec::new();
        for n in 0..DRAINED.saturating_sub(SENT + 640) {
            let endpoint = endpoint.clone();
            appends.push(tokio::spawn(async move {
                let body = support::inbound_body(run, n);
                let headers = Signer::new(SECRET).sign(body.as_bytes()).to_header_map();
                endpoint
                    .receive(&headers, body.as_bytes())
                    .await
                    .expect("append");
            }));
            if appends.len() >= 64 {
                for a in appends.drain(..) {
                    a.await.expect("append task");
                }
            }
        }
        for a in appends {
            a.await.expect("append task");
        }
        let queued = inbox.stats().await.expect("stats").length;
        let worker = Worker::connect(&url, name.as_str())
            .await
            .expect("Redis")
            .concurrency(64);
        let handled = Arc::new(AtomicU64::new(0));
        let started = Instant::now();
        let (count, probe) = (handled.clone(), handled.clone());
        worker
            .run(
                move |_event| {
                    let count = count.clone();
                    async move {
                        count.fetch_add(1, Ordering::Relaxed);
                        Ok::<(), String>(())
                    }
                },
                async move {
                    while probe.load(Ordering::Relaxed) < queued {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                },
            )
            .await;
        let drain_rate = (queued as f64 / started.elapsed().as_secs_f64()).round();

        // 3. From the 2xx to the handler's start, at 1 000/s.
        let answered: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
        let began: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
        let worker_task = {
            let began = began.clone();
            let worker = worker.clone();
            tokio::spawn(async move {
                let done = began.clone();
                worker
                    .run(
                        move |event| {
                            let began = began.clone();
                            async move {
                                began
                                    .lock()
                                    .unwrap()
                                    .insert(event.key.clone(), Instant::now());
                                Ok::<(), String>(())
                            }
                        },
                        async move {
                            while (done.lock().unwrap().len() as u64) < PACED {
                                tokio::time::sleep(Duration::from_millis(10)).await;
                            }
                        },
                    )
                    .await;
            })
        };
        let run = fastrand::u64(..);
        let mut tick = tokio::time::interval(Duration::from_millis(1));
        let mut sends = Vec::new();
        for n in 0..PACED {
            tick.tick().await;
            let (http, url, answered) = (http.clone(), inbox_url.clone(), answered.clone());
            sends.push(tokio::spawn(async move {
                let body = support::inbound_body(run, n);
                let headers = Signer::new(SECRET).sign(body.as_bytes()).to_header_map();
                let key = sinch_conversation::events::parse(body.as_bytes())
                    .expect("event")
                    .idempotency_key(body.as_bytes());
                let answer = http
                    .post(&url)
                    .headers(headers)
                    .body(body)
                    .send()
                    .await
                    .expect("send");
                assert_eq!(answer.status().as_u16(), 200);
                answered.lock().unwrap().insert(key, Instant::now());
            }));
        }
        for send in sends {
            send.await.expect("send task");
        }
        worker_task.await.expect("worker");
        let answered = answered.lock().unwrap();
        let began = began.lock().unwrap();
        let mut delays: Vec<f64> = answered
            .iter()
            .filter_map(|(key, at)| {
                let start = began.get(key)?;
                Some(start.saturating_duration_since(*at).as_secs_f64() * 1000.0)
            })
            .collect();
        delays.sort_by(f64::total_cmp);
        println!(
            "{}",
            serde_json::json!({
                "concurrent_32": {
                    "verify_only_per_second": receiver_rate,
                    "inbox_per_second": inbox_rate,
                    "ratio_median_of_rounds": ratio,
                    "rounds": ROUNDS,
                },
                "drain": { "events": queued, "per_second": drain_rate, "concurrency": 64 },
                "to_handler_ms_at_1000_per_second": {
                    "p50": quantile(&delays, 0.5),
                    "p99": quantile(&delays, 0.99),
                    "events": delays.len(),
                },
            })
        );
    });
}
