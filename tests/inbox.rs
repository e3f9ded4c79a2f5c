//! The durable inbox on a real Redis: append once (a duplicate is not
//! appended twice, an outage is 503), workers acknowledge, retry with
//! back-off, dead-letter with the error, reclaim what a dead worker left,
//! and a replay handles the dead letters; and the same from the command.
#![cfg(all(feature = "redis", feature = "cli"))]

#[path = "common/listen.rs"]
mod listen;
#[path = "common/redis_server.rs"]
mod redis_server;
#[path = "common/tls.rs"]
mod tls;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sinch_conversation::callbacks::Signer;
use sinch_conversation::inbox::{Appended, Backoff, Inbox, InboxEndpoint, Worker};
use sinch_conversation::receive::{CallbackRejection, Receiver};

const SECRET: &str = "inbox-secret-77c1";

fn redis() -> Option<(String, Option<redis_server::RedisServer>)> {
    match redis_server::url() {
        Ok(found) => Some(found),
        Err(why) => {
            assert!(
                std::env::var("CI").is_err(),
                "the inbox tests must run in CI: {why}"
            );
            eprintln!("skipped: {why}");
            None
        }
    }
}

fn name(test: &str) -> String {
    format!("test-{test}-{}-{}", std::process::id(), fastrand::u32(..))
}

fn body(id: &str, text: &str) -> String {
    format!(
        r#"{{"app_id":"a","project_id":"p","message":{{"id":"{id}","contact_message":{{"text_message":{{"text":"{text}"}}}}}}}}"#
    )
}

async fn append(endpoint: &InboxEndpoint, body: &str) -> Result<Appended, CallbackRejection> {
    let headers = Signer::new(SECRET).sign(body.as_bytes()).to_header_map();
    endpoint.receive(&headers, body.as_bytes()).await
}

/// Runs `worker` with `handler` until `done` says so (or 20 s).
async fn work_until<F, Fut>(worker: &Worker, handler: F, done: impl Fn() -> bool + Send + 'static)
where
    F: Fn(sinch_conversation::inbox::InboxEvent) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), String>> + Send + 'static,
{
    let started = Instant::now();
    let stop = async move {
        while !done() && started.elapsed() < Duration::from_secs(20) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    worker.run(handler, stop).await;
}

/// Runs `worker` until it has handled one event (successfully); the
/// attempts that event had before.
async fn attempts_of_the_first_event(worker: &Worker) -> Vec<u32> {
    let attempts: Arc<Mutex<Vec<u32>>> = Arc::default();
    let (seen, probe) = (attempts.clone(), attempts.clone());
    work_until(
        worker,
        move |event| {
            let seen = seen.clone();
            async move {
                seen.lock().unwrap().push(event.attempts);
                Ok(())
            }
        },
        move || !probe.lock().unwrap().is_empty(),
    )
    .await;
    attempts.lock().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_is_appended_once_and_handled_retried_dead_lettered_and_replayed() {
    let Some((url, _keep)) = redis() else { return };
    let name = name("flow");
    let inbox = Inbox::connect(&url, &name).await.unwrap();
    let endpoint = InboxEndpoint::new(inbox.clone(), Receiver::new([SECRET]));
    // New, then a copy (signed afresh): appended once.
    let first = append(&endpoint, &body("M1", "ok")).await.unwrap();
    assert!(
        matches!(first, Appended::New { ref key, .. } if key == "p/a/MESSAGE_INBOUND:M1"),
        "{first:?}"
    );
    assert!(matches!(
        append(&endpoint, &body("M1", "ok")).await.unwrap(),
        Appended::Duplicate { .. }
    ));
    // Forged: refused, not appended.
    let headers = Signer::new("wrong")
        .sign(body("M9", "x").as_bytes())
        .to_header_map();
    let forged = endpoint
        .receive(&headers, body("M9", "x").as_bytes())
        .await
        .unwrap_err();
    assert_eq!(forged.status().as_u16(), 401);
    append(&endpoint, &body("M2", "fail")).await.unwrap();
    assert_eq!(inbox.stats().await.unwrap().length, 2);
    // Concurrent copies of a new event: one appended.
    let copies: Vec<_> = (0..20)
        .map(|_| {
            let endpoint = endpoint.clone();
            tokio::spawn(async move { append(&endpoint, &body("M3", "ok")).await.unwrap() })
        })
        .collect();
    let mut new = 0;
    for copy in copies {
        if matches!(copy.await.unwrap(), Appended::New { .. }) {
            new += 1;
        }
    }
    assert_eq!(new, 1);

    // A worker: M1 and M3 handled, M2 fails every time: retried after the
    // back-off, then dead-lettered with its error after 3 attempts.
    let runs: Arc<Mutex<Vec<(String, u32)>>> = Arc::default();
    let worker = Worker::connect(&url, name.as_str())
        .await
        .unwrap()
        .max_attempts(3)
        .backoff(Backoff {
            first: Duration::from_millis(100),
            factor: 2,
            max: Duration::from_secs(1),
        });
    let (seen, probe) = (runs.clone(), inbox.clone());
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = done.clone();
    tokio::spawn(async move {
        loop {
            let stats = probe.stats().await.unwrap();
            if stats.dead_letters == 1 && stats.length == 0 && stats.waiting_retry == 0 {
                flag.store(true, std::sync::atomic::Ordering::SeqCst);
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    let started = Instant::now();
    work_until(
        &worker,
        move |event| {
            let seen = seen.clone();
            async move {
                seen.lock()
                    .unwrap()
                    .push((event.key.clone(), event.attempts));
                if String::from_utf8_lossy(event.raw()).contains("fail") {
                    Err(format!("cannot handle {}", event.key))
                } else {
                    Ok(())
                }
            }
        },
        move || done.load(std::sync::atomic::Ordering::SeqCst),
    )
    .await;
    let runs = runs.lock().unwrap().clone();
    let failing: Vec<u32> = runs
        .iter()
        .filter(|(k, _)| k.ends_with("M2"))
        .map(|(_, a)| *a)
        .collect();
    assert_eq!(failing, [0, 1, 2], "{runs:?}");
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "100 + 200 ms of back-off"
    );
    assert_eq!(runs.iter().filter(|(k, _)| k.ends_with("M1")).count(), 1);
    assert_eq!(runs.iter().filter(|(k, _)| k.ends_with("M3")).count(), 1);
    let dead = inbox.dead_letters(10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(
        (dead[0].key.as_str(), dead[0].attempts),
        ("p/a/MESSAGE_INBOUND:M2", 3)
    );
    assert_eq!(dead[0].error, "cannot handle p/a/MESSAGE_INBOUND:M2");
    let stats = inbox.stats().await.unwrap();
    assert_eq!(
        (stats.length, stats.dead_letters, stats.waiting_retry),
        (0, 1, 0)
    );

    // Replayed, it is handled (the handler is fixed now).
    assert_eq!(
        inbox
            .replay(&[dead[0].id.clone(), "0-1".into()])
            .await
            .unwrap(),
        1
    );
    let stats = inbox.stats().await.unwrap();
    assert_eq!((stats.dead_letters, stats.length), (0, 1), "{stats:?}");
    let handled = attempts_of_the_first_event(&worker).await;
    let (stats, dead) = (inbox.stats().await, inbox.dead_letters(5).await);
    assert_eq!(handled, [0], "attempts reset; {stats:?} {dead:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_a_dead_worker_left_is_reclaimed_and_counts_as_an_attempt() {
    let Some((url, _keep)) = redis() else { return };
    let name = name("reclaim");
    let inbox = Inbox::connect(&url, &name).await.unwrap();
    let endpoint = InboxEndpoint::new(inbox.clone(), Receiver::new([SECRET]));
    append(&endpoint, &body("R1", "ok")).await.unwrap();
    // A worker that reads the entry and dies before acknowledging it.
    let dead = Worker::connect(&url, name.as_str()).await.unwrap();
    let mut connection = redis::Client::open(url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let _: redis::Value = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(inbox.stream_key())
        .arg(sinch_conversation::inbox::GROUP)
        .arg("0")
        .arg("MKSTREAM")
        .query_async(&mut connection)
        .await
        .unwrap_or(redis::Value::Nil);
    let read: redis::Value = redis::cmd("XREADGROUP")
        .arg("GROUP")
        .arg(sinch_conversation::inbox::GROUP)
        .arg(dead.consumer())
        .arg("COUNT")
        .arg(1)
        .arg("STREAMS")
        .arg(inbox.stream_key())
        .arg(">")
        .query_async(&mut connection)
        .await
        .unwrap();
    assert_ne!(read, redis::Value::Nil);
    assert_eq!(inbox.stats().await.unwrap().pending.len(), 1);
    // Another worker takes it over after the visibility timeout.
    let worker = Worker::connect(&url, name.as_str())
        .await
        .unwrap()
        .visibility_timeout(Duration::from_secs(1));
    let started = Instant::now();
    let attempts = attempts_of_the_first_event(&worker).await;
    assert!(started.elapsed() >= Duration::from_millis(900));
    assert_eq!(attempts, [1], "the dead worker's try counts");
    let stats = inbox.stats().await.unwrap();
    assert_eq!((stats.length, stats.pending.len()), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_or_a_run_past_the_visibility_timeout_is_a_failed_attempt() {
    let Some((url, _keep)) = redis() else { return };
    let name = name("fail");
    let inbox = Inbox::connect(&url, &name).await.unwrap();
    let endpoint = InboxEndpoint::new(inbox.clone(), Receiver::new([SECRET]));
    append(&endpoint, &body("P1", "panic")).await.unwrap();
    append(&endpoint, &body("S1", "slow")).await.unwrap();
    let worker = Worker::connect(&url, name.as_str())
        .await
        .unwrap()
        .visibility_timeout(Duration::from_secs(1))
        .backoff(Backoff {
            first: Duration::from_millis(50),
            factor: 1,
            max: Duration::from_secs(1),
        });
    let runs: Arc<Mutex<Vec<(String, u32)>>> = Arc::default();
    let (seen, probe) = (runs.clone(), runs.clone());
    work_until(
        &worker,
        move |event| {
            let seen = seen.clone();
            async move {
                seen.lock()
                    .unwrap()
                    .push((event.key.clone(), event.attempts));
                let text = String::from_utf8_lossy(event.raw()).into_owned();
                if event.attempts == 0 && text.contains("panic") {
                    panic!("the handler panicked on purpose");
                }
                if event.attempts == 0 && text.contains("slow") {
                    tokio::time::sleep(Duration::from_secs(3)).await;
                }
                Ok(())
            }
        },
        move || probe.lock().unwrap().len() >= 4,
    )
    .await;
    let mut runs = runs.lock().unwrap().clone();
    runs.sort();
    // Each failed once (a panic; a run past the 1 s visibility timeout) and
    // was handled on its second attempt.
    assert_eq!(
        runs,
        [
            ("p/a/MESSAGE_INBOUND:P1".to_owned(), 0),
            ("p/a/MESSAGE_INBOUND:P1".to_owned(), 1),
            ("p/a/MESSAGE_INBOUND:S1".to_owned(), 0),
            ("p/a/MESSAGE_INBOUND:S1".to_owned(), 1),
        ]
    );
    let stats = inbox.stats().await.unwrap();
    assert_eq!(
        (stats.length, stats.dead_letters, stats.waiting_retry),
        (0, 0, 0),
        "{stats:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_for_replicas_that_are_not_there_is_503() {
    let Some((url, _keep)) = redis() else { return };
    let inbox = Inbox::connect(&url, name("wait")).await.unwrap();
    // The test server has no replica: WAIT answers 0 of 1.
    let endpoint = InboxEndpoint::new(inbox.clone(), Receiver::new([SECRET]))
        .wait_for_replicas(1, Duration::from_millis(50));
    let err = append(&endpoint, &body("W1", "ok")).await.unwrap_err();
    assert_eq!(err.status().as_u16(), 503, "{err}");
    assert!(err.to_string().contains("0 of 1 replicas"), "{err}");
    // Stored all the same: Sinch's retry is a copy, answered 200.
    assert!(matches!(
        append(&endpoint, &body("W1", "ok")).await.unwrap(),
        Appended::Duplicate { .. }
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_is_503_so_sinch_retries() {
    let Ok(own) = redis_server::start() else {
        assert!(std::env::var("CI").is_err());
        return;
    };
    let inbox = Inbox::connect(&own.url, "down").await.unwrap();
    let endpoint = InboxEndpoint::new(inbox, Receiver::new([SECRET]));
    drop(own);
    let err = append(&endpoint, &body("D1", "ok")).await.unwrap_err();
    assert_eq!(err.status().as_u16(), 503, "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_commands_append_work_watch_and_replay() {
    let Some((url, _keep)) = redis() else { return };
    let name = name("cli");
    let dir = std::env::temp_dir().join(format!("sinch-inbox-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("handled.log");
    let listener = listen::start(&[
        "--addr",
        "127.0.0.1:0",
        "--secret",
        SECRET,
        "--redis",
        &url,
        "--inbox",
        &name,
    ]);
    tls::install_crypto_provider();
    let http = reqwest::Client::new();
    let post = |text: &str, id: &str| {
        let body = body(id, text);
        let headers = Signer::new(SECRET).sign(body.as_bytes()).to_header_map();
        http.post(&listener.url).headers(headers).body(body).send()
    };
    assert_eq!(post("ok", "C1").await.unwrap().status().as_u16(), 200);
    assert!(
        listener
            .line(Duration::from_secs(10))
            .unwrap()
            .starts_with("appended MESSAGE_INBOUND p/a/MESSAGE_INBOUND:C1 200 (")
    );
    assert_eq!(post("ok", "C1").await.unwrap().status().as_u16(), 200);
    assert_eq!(
        listener.line(Duration::from_secs(10)).unwrap(),
        "duplicate MESSAGE_INBOUND p/a/MESSAGE_INBOUND:C1 200"
    );
    assert_eq!(post("fail", "C2").await.unwrap().status().as_u16(), 200);
    let _ = listener.line(Duration::from_secs(10));

    let bin = env!("CARGO_BIN_EXE_sinch-webhooks");
    let command = format!(
        r#"body=$(cat); case "$body" in *fail*) echo "no" >&2; exit 3;; esac; echo "$SINCH_EVENT_KEY $SINCH_ATTEMPT" >> '{}'"#,
        log.display()
    );
    let mut worker = std::process::Command::new(bin)
        .args([
            "work",
            "--redis",
            &url,
            "--inbox",
            &name,
            "--exec",
            &command,
            "--max-attempts",
            "2",
            "--backoff-ms",
            "50",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let inbox = Inbox::connect(&url, &name).await.unwrap();
    let started = Instant::now();
    while inbox.stats().await.unwrap().dead_letters < 1
        || std::fs::read_to_string(&log).unwrap_or_default().is_empty()
    {
        assert!(started.elapsed() < Duration::from_secs(20), "not handled");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        "p/a/MESSAGE_INBOUND:C1 1\n"
    );
    let out = |args: &[&str]| {
        let out = std::process::Command::new(bin).args(args).output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, stats) = out(&["inbox", "stats", &name, "--redis", &url, "--output", "json"]);
    assert_eq!(code, Some(0));
    let stats: serde_json::Value = serde_json::from_str(&stats).unwrap();
    assert_eq!(
        (stats["length"].as_u64(), stats["dead_letters"].as_u64()),
        (Some(0), Some(1)),
        "{stats}"
    );
    let (code, dead) = out(&["inbox", "dead-letters", &name, "--redis", &url]);
    assert_eq!(code, Some(0));
    assert!(
        dead.contains("p/a/MESSAGE_INBOUND:C2 after 2 attempt(s): command failed: exit status: 3"),
        "{dead}"
    );
    let (code, replayed) = out(&["inbox", "replay", &name, "--redis", &url, "--all"]);
    assert_eq!(
        (code, replayed.as_str()),
        (
            Some(0),
            format!("replayed 1 dead letter(s) into inbox {name}\n").as_str()
        )
    );
    assert_eq!(
        out(&["inbox", "replay", &name, "--redis", "not-a-url", "--all"]).0,
        Some(2)
    );
    let _ = worker.kill();
    let _ = worker.wait();
    let _ = std::fs::remove_dir_all(&dir);
}
