//! The shared rate limit and deduplication store on a real Redis server.
//!
//! `.ci/run` installs `redis-server` from the OS packages and starts one on
//! a free loopback port (`SINCH_TEST_REDIS_URL`); tests that take Redis
//! down start their own. Without `redis-server` on the machine (and outside
//! CI) each test says so and skips; in CI a missing server is a failure.
#![cfg(feature = "redis")]

#[path = "common/redis_server.rs"]
mod redis_server;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use redis_server::RedisServer;
use sinch_conversation::Error;
use sinch_conversation::callbacks::Signer;
use sinch_conversation::dedup::{ClaimOutcome, ClaimRequest, Deduplicator, Settle};
use sinch_conversation::mock::MockServer;
use sinch_conversation::receive::{CallbackRejection, Receiver};
use sinch_conversation::shared::{RedisDeduplicator, RedisRateLimit, WhenUnavailable};

fn skip(why: &str) {
    assert!(
        std::env::var("CI").is_err(),
        "the Redis tests must run in CI: {why}"
    );
    eprintln!("skipped: {why} (install redis-server, or set SINCH_TEST_REDIS_URL)");
}

/// A server of this test's own (to take down), or `None` after saying why.
fn own_server() -> Option<RedisServer> {
    redis_server::start().map_err(|why| skip(&why)).ok()
}

/// The CI server, or one of our own. (`_keep` keeps our own running.)
fn redis() -> Option<(String, Option<RedisServer>)> {
    redis_server::url().map_err(|why| skip(&why)).ok()
}

/// A namespace of this test's own, so tests sharing one server do not meet.
fn namespace(test: &str) -> String {
    format!("test:{test}:{}:{}:", std::process::id(), fastrand_u64())
}

fn fastrand_u64() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(Instant::now())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_are_atomic_across_connections_and_follow_their_owner() {
    let Some((url, _keep)) = redis() else { return };
    let ns = namespace("claims");
    // Three connections: three replicas.
    let mut stores = Vec::new();
    for _ in 0..3 {
        let store = RedisDeduplicator::connect(&url).await.unwrap();
        stores.push(Arc::new(
            store.namespace(&ns).ttl(Duration::from_millis(400)),
        ));
    }
    let lease = Duration::from_secs(30);
    let claimed = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let (store, claimed) = (stores[i % 3].clone(), claimed.clone());
            tokio::spawn(async move {
                let owner = format!("o{i}");
                match store
                    .claim(ClaimRequest::new("event:E1", &owner, lease))
                    .await
                    .unwrap()
                {
                    ClaimOutcome::Claimed => {
                        claimed.fetch_add(1, Ordering::Relaxed);
                        Some(owner)
                    }
                    ClaimOutcome::InProgress { remaining } => {
                        assert!(remaining <= lease && remaining > Duration::from_secs(20));
                        None
                    }
                    other => panic!("{other:?}"),
                }
            })
        })
        .collect();
    let mut owners = Vec::new();
    for task in tasks {
        owners.extend(task.await.unwrap());
    }
    assert_eq!(
        claimed.load(Ordering::Relaxed),
        1,
        "100 concurrent claims, one held"
    );
    let owner = &owners[0];
    // Nobody else settles it; its owner does.
    assert_eq!(
        stores[1].complete("event:E1", "intruder").await,
        Ok(Settle::NotHeld)
    );
    assert_eq!(
        stores[1].release("event:E1", "intruder").await,
        Ok(Settle::NotHeld)
    );
    assert_eq!(
        stores[2].release("event:E1", owner).await,
        Ok(Settle::Settled)
    );
    // Released: the next copy is claimed, then completed.
    assert_eq!(
        stores[0]
            .claim(ClaimRequest::new("event:E1", "B", lease))
            .await,
        Ok(ClaimOutcome::Claimed)
    );
    assert_eq!(
        stores[1].complete("event:E1", "B").await,
        Ok(Settle::Settled)
    );
    assert_eq!(
        stores[2]
            .claim(ClaimRequest::new("event:E1", "C", lease))
            .await,
        Ok(ClaimOutcome::Completed)
    );
    assert_eq!(
        stores[2].release("event:E1", "B").await,
        Ok(Settle::NotHeld)
    );
    // Completed keys expire with the time-to-live.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        stores[2]
            .claim(ClaimRequest::new("event:E1", "C", lease))
            .await,
        Ok(ClaimOutcome::Claimed)
    );
    // A lease that expires is claimed afresh; its old owner can then
    // neither complete nor release it.
    let short = Duration::from_millis(150);
    assert_eq!(
        stores[0]
            .claim(ClaimRequest::new("event:E2", "dead", short))
            .await,
        Ok(ClaimOutcome::Claimed)
    );
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(
        stores[1]
            .claim(ClaimRequest::new("event:E2", "alive", lease))
            .await,
        Ok(ClaimOutcome::Claimed)
    );
    assert_eq!(
        stores[0].complete("event:E2", "dead").await,
        Ok(Settle::NotHeld)
    );
    assert_eq!(
        stores[0].release("event:E2", "dead").await,
        Ok(Settle::NotHeld)
    );
    assert!(matches!(
        stores[2]
            .claim(ClaimRequest::new("event:E2", "other", lease))
            .await,
        Ok(ClaimOutcome::InProgress { .. })
    ));
    // The nonce check is part of the claim: a seen nonce claims nothing.
    let nonce = ClaimRequest::new("event:E3", "A", lease).with_nonce("nonce:n1", lease);
    assert_eq!(stores[0].claim(nonce).await, Ok(ClaimOutcome::Claimed));
    let replay = ClaimRequest::new("event:E4", "A", lease).with_nonce("nonce:n1", lease);
    assert_eq!(
        stores[1].claim(replay).await,
        Ok(ClaimOutcome::ReplayedNonce)
    );
    assert_eq!(
        stores[1]
            .claim(ClaimRequest::new("event:E4", "A", lease))
            .await,
        Ok(ClaimOutcome::Claimed)
    );
    // Namespaces keep stores apart.
    let other = RedisDeduplicator::connect(&url)
        .await
        .unwrap()
        .namespace(format!("{ns}other:"));
    assert_eq!(
        other.claim(ClaimRequest::new("event:E1", "X", lease)).await,
        Ok(ClaimOutcome::Claimed)
    );
}

const BODY: &str = r#"{"app_id":"a","project_id":"p","message":{"id":"M-REDIS"}}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_receivers_sharing_redis_handle_an_event_once() {
    let Some((url, _keep)) = redis() else { return };
    let ns = namespace("receivers");
    let mut receivers = Vec::new();
    for _ in 0..3 {
        let store = RedisDeduplicator::connect(&url)
            .await
            .unwrap()
            .namespace(&ns);
        receivers.push(Receiver::new(["s"]).deduplicate(store).refuse_replays());
    }
    for (copies, body) in [
        (3, BODY.to_owned()),
        (100, BODY.replace("M-REDIS", "M-100")),
    ] {
        let handled = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..copies)
            .map(|i| {
                let receiver = receivers[i % 3].clone();
                let (handled, body) = (handled.clone(), body.clone());
                tokio::spawn(async move {
                    // Each copy signed afresh: a new nonce, as a retry is.
                    let headers = Signer::new("s").sign(body.as_bytes()).to_header_map();
                    // Handled (and completed) or not handed out: already
                    // handled, or in progress elsewhere.
                    match receiver.receive(&headers, body.as_bytes()).await {
                        Ok(callback) => {
                            handled.fetch_add(1, Ordering::Relaxed);
                            assert_eq!(callback.complete().await, Ok(Settle::Settled));
                        }
                        Err(CallbackRejection::AlreadyHandled { .. })
                        | Err(CallbackRejection::InProgress { .. }) => {}
                        Err(other) => panic!("{other}"),
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(handled.load(Ordering::Relaxed), 1, "{copies} copies");
    }
    // A replayed request (same nonce) reaching another replica: refused,
    // in the claim's own round trip.
    let body = BODY.replace("M-REDIS", "M-REPLAY");
    let headers = Signer::new("s").sign(body.as_bytes()).to_header_map();
    let first = receivers[0]
        .receive(&headers, body.as_bytes())
        .await
        .unwrap();
    let replay = receivers[1]
        .receive(&headers, body.as_bytes())
        .await
        .unwrap_err();
    assert!(replay.to_string().contains("replay"), "{replay}");
    drop(first);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_clients_share_one_budget_and_the_stand_in_answers_no_429() {
    let Some((url, _keep)) = redis() else { return };
    let ns = namespace("clients");
    const RATE: u32 = 200;
    let sinch = MockServer::builder()
        .rate_limit(RATE)
        .start()
        .await
        .unwrap();
    // Spend the stand-in's own burst, then give it back a quarter of a
    // second's worth (50 requests; the shared limit's own burst is 20): from
    // here only the shared limit keeps the clients under its rate.
    let warm = sinch
        .client_builder()
        .retry(sinch_conversation::RetryPolicy::none())
        .build()
        .unwrap();
    while warm.list_webhooks("warm").await.is_ok() {}
    tokio::time::sleep(Duration::from_millis(250)).await;
    sinch.clear_requests();

    let mut clients = Vec::new();
    for _ in 0..2 {
        let limit = RedisRateLimit::connect(&url, RATE)
            .await
            .unwrap()
            .namespace(&ns);
        clients.push(
            sinch
                .client_builder()
                .shared_rate_limit(limit)
                .build()
                .unwrap(),
        );
    }
    let started = Instant::now();
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let client = clients[i % 2].clone();
            tokio::spawn(async move {
                for _ in 0..25 {
                    client.list_webhooks("app").await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let elapsed = started.elapsed();
    let statuses: Vec<u16> = sinch
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/v1/"))
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses.len(), 200, "no retries were needed");
    assert!(statuses.iter().all(|s| *s == 200), "429s: {statuses:?}");
    // 200 requests at 200/s, less a burst of 20: at least 0.9 s.
    assert!(
        elapsed >= Duration::from_millis(850),
        "{elapsed:?}: not limited"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_redis_goes_away_each_does_what_it_was_told_without_hanging() {
    let Some(own) = own_server() else { return };
    let closed_limit = RedisRateLimit::connect(&own.url, 100).await.unwrap();
    let open_limit = RedisRateLimit::connect(&own.url, 100)
        .await
        .unwrap()
        .when_unavailable(WhenUnavailable::FailOpen);
    let closed_seen = RedisDeduplicator::connect(&own.url).await.unwrap();
    let open_seen = RedisDeduplicator::connect(&own.url)
        .await
        .unwrap()
        .when_unavailable(WhenUnavailable::FailOpen);
    assert!(closed_limit.acquire("p").await.is_ok());
    let url = own.url.clone();
    drop(own); // Redis goes away.

    let started = Instant::now();
    let err = closed_limit.acquire("p").await.unwrap_err();
    assert!(matches!(err, Error::RateLimit(_)), "{err:?}");
    assert!(
        err.to_string().contains("Redis unavailable")
            && err.to_string().contains("nothing was sent"),
        "{err}"
    );
    assert!(err.is_retryable());
    assert!(
        open_limit.acquire("p").await.is_ok(),
        "fail open: this process's own limit"
    );
    assert!(open_limit.stats().unavailable >= 1);
    let claim = ClaimRequest::new("k", "o", Duration::from_secs(1));
    assert!(closed_seen.claim(claim).await.is_err());
    assert_eq!(open_seen.claim(claim).await, Ok(ClaimOutcome::Claimed));
    // Completing or releasing is never reported done when it was not,
    // failing open or not.
    for store in [&closed_seen, &open_seen] {
        assert!(store.complete("k", "o").await.is_err());
        assert!(store.release("k", "o").await.is_err());
    }
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );

    // Not reachable at all: a clear error, not a panic or a hang.
    let err = RedisDeduplicator::connect(&url).await.unwrap_err();
    assert!(
        err.to_string()
            .starts_with("Redis unavailable (cannot connect"),
        "{err}"
    );
    let err = RedisRateLimit::connect("not a url", 1).await.unwrap_err();
    assert!(err.to_string().contains("invalid URL"), "{err}");
}

fn example(name: &str) -> std::path::PathBuf {
    let mut path = std::env::current_exe().unwrap();
    path.pop();
    if path.ends_with("deps") {
        path.pop();
    }
    path.join("examples").join(name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_receiver_example_shares_duplicates_through_redis() {
    use std::io::BufRead as _;
    let Some((url, _keep)) = redis() else { return };
    // Two replicas of the example, one Redis.
    let mut replicas: Vec<_> = (0..2)
        .map(|_| {
            Command::new(example("receive_callbacks"))
                .args(["--addr", "127.0.0.1:0", "--secret", "s", "--redis", &url])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut outputs: Vec<_> = replicas
        .iter_mut()
        .map(|r| std::io::BufReader::new(r.stdout.take().unwrap()).lines())
        .collect();
    let urls: Vec<String> = outputs
        .iter_mut()
        .map(|o| o.next().unwrap().unwrap())
        .collect();
    let id = format!("M-{}", fastrand_u64());
    let body = format!(r#"{{"app_id":"a","project_id":"p","message":{{"id":"{id}"}}}}"#);
    let http = reqwest::Client::new();
    for url in &urls {
        let headers = Signer::new("s").sign(body.as_bytes()).to_header_map();
        let answer = http
            .post(url)
            .headers(headers)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status().as_u16(), 200);
    }
    let first = outputs[0].next().unwrap().unwrap();
    let second = outputs[1].next().unwrap().unwrap();
    assert_eq!(first, "MESSAGE_INBOUND no content from contact -");
    assert_eq!(
        second,
        format!("duplicate MESSAGE_INBOUND p/a/MESSAGE_INBOUND:{id}")
    );
    for replica in &mut replicas {
        let _ = replica.kill();
        let _ = replica.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sinch_webhooks_sync_shares_the_limit_through_redis() {
    let Some((url, _keep)) = redis() else { return };
    let sinch = MockServer::start().await.unwrap();
    let dir = std::env::temp_dir().join(format!("sinch-redis-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("one.toml");
    std::fs::write(
        &file,
        "[[webhook]]\ntarget = \"https://example.com/h\"\ntriggers = [\"MESSAGE_INBOUND\"]\n",
    )
    .unwrap();
    let sync = |redis: &str| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_sinch-webhooks"));
        command
            .args([
                "sync",
                "--app-id",
                "app",
                "--file",
                file.to_str().unwrap(),
                "--redis",
                redis,
            ])
            .env("SINCH_PROJECT_ID", sinch.project_id())
            .env("SINCH_KEY_ID", MockServer::DEFAULT_KEY_ID)
            .env("SINCH_KEY_SECRET", MockServer::DEFAULT_KEY_SECRET)
            .env("SINCH_CONVERSATION_BASE_URL", sinch.base_url())
            .env("SINCH_AUTH_BASE_URL", sinch.base_url());
        command.output().unwrap()
    };
    let done = tokio::task::block_in_place(|| sync(&url));
    assert_eq!(
        done.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert_eq!(sinch.webhooks("app").len(), 1);
    // Its requests went through the project's key in Redis.
    let mut redis = redis::Client::open(url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let key = format!(
        "{}{}",
        RedisRateLimit::DEFAULT_NAMESPACE,
        sinch.project_id()
    );
    let ttl: i64 = redis::cmd("PTTL")
        .arg(&key)
        .query_async(&mut redis)
        .await
        .unwrap();
    assert!(ttl > 0, "the shared limit's key expires (PTTL {ttl})");
    // Redis unreachable: a clear error, nothing synced.
    let dead = tokio::task::block_in_place(|| sync("redis://127.0.0.1:1"));
    assert_eq!(dead.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&dead.stderr);
    assert!(
        stderr.contains("--redis: Redis unavailable (cannot connect"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A Redis URL's password reaches no error: an invalid URL, a port where
/// nothing listens, and a password the server refuses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_password_reaches_no_error() {
    const PASSWORD: &str = "SENTINEL-REDIS-PW-7c1e";
    let dead_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let mut urls = vec![
        format!("redis://:{PASSWORD}@127.0.0.1:notaport/0"),
        format!("redis://user:{PASSWORD}@127.0.0.1:{dead_port}/0"),
        format!("rediss://:{PASSWORD}@[::1/0"),
    ];
    let server = redis();
    if let Some((url, _)) = &server {
        // The test server has no password: AUTH with one is refused.
        urls.push(url.replacen("redis://", &format!("redis://user:{PASSWORD}@"), 1));
    }
    for url in &urls {
        let dedup = RedisDeduplicator::connect(url).await;
        let limit = RedisRateLimit::connect(url, 10).await;
        for shown in [
            format!("{dedup:?}"),
            format!("{limit:?}"),
            dedup.err().map(|e| e.to_string()).unwrap_or_default(),
            limit.err().map(|e| e.to_string()).unwrap_or_default(),
        ] {
            assert!(!shown.contains(PASSWORD), "{url}: {shown}");
        }
    }
}
