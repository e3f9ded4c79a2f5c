//! Several processes sharing state through Redis (feature `redis`):
//!
//! 1. four worker processes, each syncing 500 apps (a list and a create
//!    each) against one stand-in limited, as Sinch is, to 800 requests a
//!    second per project, sharing `RedisRateLimit`: the wall time next to
//!    the ideal (requests ÷ 800/s) and the 429 answers; then the same with
//!    only each process's own limit, for contrast;
//! 2. three receiver processes sharing a `RedisDeduplicator`, each sent the
//!    same event (fresh nonces, concurrently), then 100 concurrent copies
//!    of another: how many times each was handled;
//! 3. what one Redis round trip adds: a deduplication check per callback,
//!    a shared-limit check per request.
//!
//! Uses `SINCH_TEST_REDIS_URL`, or starts `redis-server` on a free loopback
//! port. Prints one JSON line. `cargo bench --bench shared_state`.
#[path = "../tests/common/redis_server.rs"]
mod redis_server;
mod support;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sinch_conversation::callbacks::Signer;
use sinch_conversation::dedup::{ClaimRequest, Deduplicator};
use sinch_conversation::mock::MockServer;
use sinch_conversation::receive::{CallbackLayer, Receiver, SinchCallback};
use sinch_conversation::shared::{RedisDeduplicator, RedisRateLimit};
use sinch_conversation::{ClientBuilder, NewWebhook, RetryPolicy, WebhookTrigger};

const WORKERS: usize = 4;
const APPS_PER_WORKER: usize = 500;
const LIMIT: u32 = ClientBuilder::SINCH_RATE_LIMIT;
const ROLE: &str = "SINCH_BENCH_ROLE";
const SECRET: &str = "bench-secret";

fn main() {
    support::install_crypto_provider();
    match std::env::var(ROLE).as_deref() {
        Ok("worker") => support::runtime().block_on(worker()),
        Ok("receiver") => support::runtime().block_on(receiver()),
        _ => support::runtime().block_on(parent()),
    }
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} not set"))
}

/// Syncs its 500 apps; prints its own figures.
async fn worker() {
    let prefix = env("SINCH_BENCH_PREFIX");
    let mut builder = ClientBuilder::default()
        .project_id(MockServer::DEFAULT_PROJECT_ID)
        .base_url(env("SINCH_BENCH_BASE_URL"))
        .auth_base_url(env("SINCH_BENCH_BASE_URL"))
        .oauth2(MockServer::DEFAULT_KEY_ID, MockServer::DEFAULT_KEY_SECRET)
        .retry(RetryPolicy::default().max_retries(10))
        .rate_limit(LIMIT);
    if std::env::var("SINCH_BENCH_SHARED").is_ok() {
        let limit = RedisRateLimit::connect(&env("SINCH_BENCH_REDIS"), LIMIT)
            .await
            .expect("Redis");
        builder = builder.shared_rate_limit(limit);
    }
    let client = builder.build().expect("client");
    let apps = (0..APPS_PER_WORKER).map(|i| {
        let app = format!("{prefix}-{i}");
        let mut webhook = NewWebhook::new(&app, format!("https://example.com/hooks/{app}"));
        webhook.triggers = vec![WebhookTrigger::MessageInbound];
        (app, vec![webhook])
    });
    let outcomes = client.sync_many(apps, 64, |_| {}).await;
    let failed = outcomes.iter().filter(|o| o.result.is_err()).count();
    println!("{}", serde_json::json!({ "failed": failed }));
}

/// Serves `SinchCallback` with the shared store; prints `handled <key>` per
/// new event; stops when its standard input closes.
async fn receiver() {
    let store = RedisDeduplicator::connect(&env("SINCH_BENCH_REDIS"))
        .await
        .expect("Redis")
        .namespace(env("SINCH_BENCH_PREFIX"));
    let receiver = Receiver::new([SECRET]).deduplicate(store).refuse_replays();
    async fn handle(callback: SinchCallback) -> axum::http::StatusCode {
        println!("handled {}", callback.idempotency_key());
        axum::http::StatusCode::OK
    }
    let app = axum::Router::new()
        .route("/sinch", axum::routing::post(handle))
        .layer(CallbackLayer::new())
        .with_state(receiver);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    println!("http://{}/sinch", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    // Until the parent closes our standard input.
    let _ = tokio::task::spawn_blocking(|| std::io::stdin().lines().count()).await;
}

fn spawn(role: &str, vars: &[(&str, String)]) -> Child {
    let mut command = Command::new(std::env::current_exe().expect("exe"));
    command
        .env(ROLE, role)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (name, value) in vars {
        command.env(name, value);
    }
    command.spawn().expect("spawn")
}

/// Four workers at once; (wall seconds, requests, 429s, failed apps).
fn provision(server: &MockServer, redis: &str, shared: bool, run: &str) -> serde_json::Value {
    server.clear_requests();
    let started = Instant::now();
    let children: Vec<Child> = (0..WORKERS)
        .map(|w| {
            let mut vars = vec![
                ("SINCH_BENCH_PREFIX", format!("{run}-w{w}")),
                ("SINCH_BENCH_BASE_URL", server.base_url().to_owned()),
                ("SINCH_BENCH_REDIS", redis.to_owned()),
            ];
            if shared {
                vars.push(("SINCH_BENCH_SHARED", "1".to_owned()));
            }
            spawn("worker", &vars)
        })
        .collect();
    let mut failed = 0;
    for child in children {
        let output = child.wait_with_output().expect("worker");
        let line = String::from_utf8_lossy(&output.stdout);
        let figures: serde_json::Value = serde_json::from_str(line.trim()).unwrap_or_default();
        failed += figures["failed"].as_u64().unwrap_or(u64::MAX / 8);
    }
    let seconds = started.elapsed().as_secs_f64();
    let api: Vec<u16> = server
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/v1/"))
        .map(|r| r.status)
        .collect();
    let answers_429 = api.iter().filter(|s| **s == 429).count();
    let useful = (WORKERS * APPS_PER_WORKER * 2) as f64;
    let ideal = useful / f64::from(LIMIT);
    serde_json::json!({
        "processes": WORKERS,
        "apps": WORKERS * APPS_PER_WORKER,
        "requests": api.len(),
        "answers_429": answers_429,
        "apps_failed": failed,
        "seconds": (seconds * 100.0).round() / 100.0,
        "ideal_seconds": ideal,
        "ratio_to_ideal": (seconds / ideal * 1000.0).round() / 1000.0,
    })
}

/// Three receivers; how often one event, sent to all (and then 100 copies
/// of another), was handled.
async fn receivers(redis: &str) -> serde_json::Value {
    let prefix = format!("bench:{}:", std::process::id());
    let mut children: Vec<Child> = (0..3)
        .map(|_| {
            spawn(
                "receiver",
                &[
                    ("SINCH_BENCH_REDIS", redis.to_owned()),
                    ("SINCH_BENCH_PREFIX", prefix.clone()),
                ],
            )
        })
        .collect();
    let mut lines: Vec<_> = children
        .iter_mut()
        .map(|c| BufReader::new(c.stdout.take().expect("stdout")).lines())
        .collect();
    let urls: Vec<String> = lines
        .iter_mut()
        .map(|l| l.next().expect("url").expect("url"))
        .collect();
    let http = reqwest::Client::new();
    let mut results = serde_json::Map::new();
    for (copies, id) in [(3usize, "M-ALL-THREE"), (100, "M-HUNDRED")] {
        let body = format!(r#"{{"app_id":"a","project_id":"p","message":{{"id":"{id}"}}}}"#);
        let sends: Vec<_> = (0..copies)
            .map(|i| {
                let (http, url, body) = (http.clone(), urls[i % 3].clone(), body.clone());
                tokio::spawn(async move {
                    let headers = Signer::new(SECRET).sign(body.as_bytes()).to_header_map();
                    let answer = http.post(url).headers(headers).body(body).send().await;
                    answer.map(|a| a.status().as_u16()).unwrap_or(0)
                })
            })
            .collect();
        let mut statuses = Vec::new();
        for send in sends {
            statuses.push(send.await.expect("send"));
        }
        results.insert(
            format!("{copies}_copies_answered_200"),
            statuses.iter().filter(|s| **s == 200).count().into(),
        );
    }
    // Close their standard input: they stop and their output ends.
    for child in &mut children {
        drop(child.stdin.take());
    }
    let mut handled: Vec<String> = Vec::new();
    for lines in lines {
        handled.extend(
            lines
                .map_while(Result::ok)
                .filter(|l| l.starts_with("handled")),
        );
    }
    for child in &mut children {
        let _ = child.wait();
    }
    for id in ["M-ALL-THREE", "M-HUNDRED"] {
        let times = handled.iter().filter(|l| l.ends_with(id)).count();
        results.insert(format!("{id}_handled"), times.into());
    }
    serde_json::Value::Object(results)
}

/// Median microseconds of `n` calls of `f`.
async fn median_us<F: std::future::Future<Output = ()>>(
    n: usize,
    mut f: impl FnMut(usize) -> F,
) -> f64 {
    let mut times = Vec::with_capacity(n);
    for i in 0..n {
        let started = Instant::now();
        f(i).await;
        times.push(started.elapsed().as_secs_f64() * 1e6);
    }
    times.sort_by(f64::total_cmp);
    (times[n / 2] * 10.0).round() / 10.0
}

async fn parent() {
    let (redis, _own) = redis_server::url().expect("a Redis (or set SINCH_TEST_REDIS_URL)");
    let server = MockServer::builder()
        .rate_limit(LIMIT)
        .start()
        .await
        .expect("stand-in");
    let shared = provision(&server, &redis, true, "shared");
    // Let the stand-in's budget refill before the contrast.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let unshared = provision(&server, &redis, false, "unshared");
    let receiving = receivers(&redis).await;

    let store = RedisDeduplicator::connect(&redis)
        .await
        .expect("Redis")
        .namespace("bench:rt:");
    let dedup_us = median_us(2000, |i| {
        let store = &store;
        async move {
            let key = format!("k{i}");
            let _ = store
                .claim(ClaimRequest::new(&key, "bench", Duration::from_secs(60)))
                .await;
        }
    })
    .await;
    let limit = RedisRateLimit::connect(&redis, 1_000_000)
        .await
        .expect("Redis")
        .namespace("bench:rt:");
    let limit_us = median_us(2000, |_| {
        let limit = &limit;
        async move {
            let _ = limit.acquire("p").await;
        }
    })
    .await;
    let mut stdout = std::io::stdout();
    let _ = writeln!(
        stdout,
        "{}",
        serde_json::json!({
            "limit_per_second": LIMIT,
            "shared_limit": shared,
            "own_limit_only": unshared,
            "receivers": receiving,
            "redis_round_trip_us": {"dedup_check_per_callback": dedup_us, "shared_limit_per_request": limit_us},
        })
    );
}
