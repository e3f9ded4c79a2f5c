//! Metrics (feature `metrics`): each part of the crate records what it
//! promises, under the documented names and labels, into a debugging
//! recorder; and `sinch-webhooks listen --metrics-addr` serves them in
//! Prometheus' text format.
#![cfg(all(feature = "metrics", feature = "cli"))]

mod common;
#[path = "common/listen.rs"]
mod listen;
#[path = "common/redis_server.rs"]
mod redis_server;

use std::collections::HashMap;
use std::sync::LazyLock;
use std::time::Duration;

use axum::http::StatusCode;
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use metrics_util::{CompositeKey, MetricKind};
use sinch_conversation::callbacks::Signer;
use sinch_conversation::dedup::MemoryDeduplicator;
use sinch_conversation::metrics as names;
use sinch_conversation::mock::MockServer;
use sinch_conversation::receive::{CallbackLayer, Receiver, SinchCallback, signed_request};
use tower::ServiceExt as _;

/// One recorder for the whole binary; tests take turns (each reads what it
/// recorded since it started).
static RECORDER: LazyLock<Snapshotter> = LazyLock::new(|| {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder.install().expect("the only recorder");
    snapshotter
});
static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// What was recorded: counters and gauges by `name{label=value,…}` (labels
/// sorted), histograms by the number of values recorded.
#[derive(Debug, Default)]
struct Recorded(HashMap<String, f64>);

impl Recorded {
    fn take() -> Self {
        let mut recorded = HashMap::new();
        for (key, _, _, value) in RECORDER.snapshot().into_vec() {
            let value = match value {
                DebugValue::Counter(n) => n as f64,
                DebugValue::Gauge(g) => g.into_inner(),
                DebugValue::Histogram(values) => values.len() as f64,
            };
            *recorded.entry(series(&key)).or_insert(0.0) += value;
        }
        Self(recorded)
    }

    fn get(&self, series: &str) -> f64 {
        self.0.get(series).copied().unwrap_or(0.0)
    }
}

fn series(key: &CompositeKey) -> String {
    let mut labels: Vec<String> = key
        .key()
        .labels()
        .map(|l| format!("{}={}", l.key(), l.value()))
        .collect();
    labels.sort();
    let kind = match key.kind() {
        MetricKind::Histogram => "#",
        _ => "",
    };
    format!("{kind}{}{{{}}}", key.key().name(), labels.join(","))
}

/// The Redis to use, or `None` (skipped, with why) outside CI.
fn redis() -> Option<(String, Option<redis_server::RedisServer>)> {
    match redis_server::url() {
        Ok(found) => Some(found),
        Err(why) => {
            assert!(std::env::var("CI").is_err(), "must run in CI: {why}");
            eprintln!("skipped: {why}");
            None
        }
    }
}

/// Appends a MESSAGE_INBOUND event per id, signed with `s`.
async fn append(endpoint: &sinch_conversation::inbox::InboxEndpoint, ids: &[&str]) {
    for id in ids {
        let body = format!(r#"{{"app_id":"a","project_id":"p","message":{{"id":"{id}"}}}}"#);
        let headers = Signer::new("s").sign(body.as_bytes()).to_header_map();
        endpoint.receive(&headers, body.as_bytes()).await.unwrap();
    }
}

/// Every name is Prometheus-shaped and says its unit.
#[test]
fn names_follow_prometheus_conventions() {
    let all = [
        names::CLIENT_REQUESTS_TOTAL,
        names::CLIENT_ATTEMPT_DURATION_SECONDS,
        names::CLIENT_RETRIES_TOTAL,
        names::CLIENT_RATE_LIMIT_WAITS_TOTAL,
        names::CLIENT_TOKEN_FETCHES_TOTAL,
        names::CLIENT_TOKEN_FAILURES_TOTAL,
        names::CALLBACKS_TOTAL,
        names::CALLBACKS_REJECTED_TOTAL,
        names::CALLBACK_VERIFY_DURATION_SECONDS,
        names::CALLBACK_HANDLER_DURATION_SECONDS,
        names::STAND_IN_DELIVERIES_TOTAL,
        names::INBOX_APPENDED_TOTAL,
        names::INBOX_HANDLED_TOTAL,
        names::INBOX_HANDLER_DURATION_SECONDS,
        names::INBOX_DEPTH,
        names::INBOX_PENDING,
        names::INBOX_DEAD_LETTERS,
        names::INBOX_OLDEST_UNHANDLED_AGE_SECONDS,
    ];
    for name in all {
        assert!(name.starts_with("sinch_conversation_"), "{name}");
        assert!(
            name.chars()
                .all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit()),
            "{name}"
        );
    }
    let readme = include_str!("../README.md");
    for name in all {
        assert!(readme.contains(name), "the README's table lacks {name}");
    }
}

#[tokio::test]
async fn the_client_counts_requests_attempts_retries_waits_and_tokens() {
    let _turn = TURN.lock().await;
    Recorded::take();
    let (server, url) = common::serve().await;
    // A 503 then a 200: one retry. The token endpoint answers once.
    server.script_api([
        common::reply(503, "{}"),
        common::reply(200, r#"{"webhooks":[]}"#),
        common::reply(
            404,
            r#"{"error":{"code":404,"message":"no","status":"NOT_FOUND"}}"#,
        ),
    ]);
    let client = common::oauth(&url);
    client.list_webhooks("A").await.unwrap();
    assert!(client.get_webhook("W").await.is_err());
    let recorded = Recorded::take();
    let requests = |op: &str, status: &str| {
        recorded.get(&format!(
            "{}{{operation={op},status={status}}}",
            names::CLIENT_REQUESTS_TOTAL
        ))
    };
    assert_eq!(requests("list_webhooks", "5xx"), 1.0, "{recorded:#?}");
    assert_eq!(requests("list_webhooks", "2xx"), 1.0, "{recorded:#?}");
    assert_eq!(requests("get_webhook", "4xx"), 1.0, "{recorded:#?}");
    assert_eq!(
        recorded.get(&format!(
            "{}{{operation=list_webhooks}}",
            names::CLIENT_RETRIES_TOTAL
        )),
        1.0
    );
    assert_eq!(
        recorded.get(&format!(
            "#{}{{operation=list_webhooks}}",
            names::CLIENT_ATTEMPT_DURATION_SECONDS
        )),
        2.0
    );
    assert_eq!(
        recorded.get(&format!("{}{{}}", names::CLIENT_TOKEN_FETCHES_TOTAL)),
        1.0
    );
    assert_eq!(
        recorded.get(&format!("{}{{}}", names::CLIENT_TOKEN_FAILURES_TOTAL)),
        0.0
    );

    // A token endpoint that fails; nothing reaches the API.
    let (server, url) = common::serve().await;
    server.script_tokens([common::reply(400, r#"{"error":"invalid_client"}"#)]);
    assert!(common::oauth(&url).list_webhooks("A").await.is_err());
    // No answer at all: status `error`.
    let refused = common::basic(&common::unused_local_url());
    assert!(refused.get_webhook("W").await.is_err());
    let recorded = Recorded::take();
    assert_eq!(
        recorded.get(&format!("{}{{}}", names::CLIENT_TOKEN_FAILURES_TOTAL)),
        1.0
    );
    assert!(
        recorded.get(&format!(
            "{}{{operation=get_webhook,status=error}}",
            names::CLIENT_REQUESTS_TOTAL
        )) >= 1.0,
        "{recorded:#?}"
    );

    // A local rate limit of 20/s (bursts of 2): the third request waits.
    let sinch = MockServer::start().await.unwrap();
    let limited = sinch_conversation::Client::builder()
        .project_id(sinch.project_id())
        .base_url(sinch.base_url())
        .basic_auth(MockServer::DEFAULT_KEY_ID, MockServer::DEFAULT_KEY_SECRET)
        .rate_limit(20)
        .build()
        .unwrap();
    for _ in 0..4 {
        limited.list_webhooks("A").await.unwrap();
    }
    let recorded = Recorded::take();
    assert!(
        recorded.get(&format!(
            "{}{{limit=local}}",
            names::CLIENT_RATE_LIMIT_WAITS_TOTAL
        )) >= 1.0,
        "{recorded:#?}"
    );
}

#[tokio::test]
async fn the_receiver_counts_callbacks_by_outcome_and_reason() {
    let _turn = TURN.lock().await;
    Recorded::take();
    async fn handler(callback: SinchCallback) -> StatusCode {
        if String::from_utf8_lossy(callback.raw()).contains("fail") {
            StatusCode::INTERNAL_SERVER_ERROR
        } else {
            StatusCode::OK
        }
    }
    let app = axum::Router::new()
        .route("/", axum::routing::post(handler))
        .layer(CallbackLayer::new())
        .with_state(
            Receiver::new(["s"])
                .max_body_bytes(512)
                .deduplicate(MemoryDeduplicator::new(100, Duration::from_secs(60))),
        );
    let event =
        |id: &str| format!(r#"{{"app_id":"a","project_id":"p","message":{{"id":"{id}"}}}}"#);
    let status = async |secret: &str, body: String| {
        let request = signed_request("/", secret, body);
        app.clone().oneshot(request).await.unwrap().status()
    };
    assert_eq!(status("s", event("M1")).await, 200);
    assert_eq!(status("s", event("M1")).await, 200);
    assert_eq!(status("s", event("fail")).await, 500);
    assert_eq!(status("x", event("M2")).await, 401);
    assert_eq!(status("s", event(&"x".repeat(600))).await, 413);
    assert_eq!(status("s", "{}".to_owned()).await, 400);

    let recorded = Recorded::take();
    let outcome = |o: &str| recorded.get(&format!("{}{{outcome={o}}}", names::CALLBACKS_TOTAL));
    assert_eq!(outcome("accepted"), 2.0, "{recorded:#?}");
    assert_eq!(outcome("duplicate"), 1.0);
    assert_eq!(outcome("rejected"), 2.0);
    assert_eq!(outcome("too_large"), 1.0);
    let reason = |r: &str| {
        recorded.get(&format!(
            "{}{{reason={r}}}",
            names::CALLBACKS_REJECTED_TOTAL
        ))
    };
    assert_eq!(reason("signature"), 1.0);
    assert_eq!(reason("not_an_event"), 1.0);
    // Verified: every callback that reached the check (not the 413).
    assert_eq!(
        recorded.get(&format!("#{}{{}}", names::CALLBACK_VERIFY_DURATION_SECONDS)),
        5.0
    );
    let handled = |o: &str| {
        recorded.get(&format!(
            "#{}{{outcome={o}}}",
            names::CALLBACK_HANDLER_DURATION_SECONDS
        ))
    };
    assert_eq!((handled("completed"), handled("released")), (1.0, 1.0));
}

#[tokio::test]
async fn the_stand_in_counts_its_deliveries() {
    let _turn = TURN.lock().await;
    Recorded::take();
    let sinch = MockServer::builder()
        .delivery_retries(1)
        .delivery_backoff(Duration::from_millis(1))
        .start()
        .await
        .unwrap();
    let app = axum::Router::new().route("/", axum::routing::post(|| async { StatusCode::OK }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let ok = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    for (id, target) in [("ok", ok.as_str()), ("down", &common::unused_local_url())] {
        let webhook = serde_json::from_value(serde_json::json!({
            "id": id, "app_id": "app", "target": target, "target_type": "HTTP",
            "triggers": ["MESSAGE_INBOUND"], "secret": "s",
        }))
        .unwrap();
        sinch.seed_webhook(webhook);
    }
    let deliveries = sinch
        .deliver_event("app", "MESSAGE_INBOUND", serde_json::json!({"id": "M1"}))
        .await;
    assert_eq!(deliveries.len(), 3, "{deliveries:?}");
    let recorded = Recorded::take();
    let outcome = |o: &str| {
        recorded.get(&format!(
            "{}{{outcome={o}}}",
            names::STAND_IN_DELIVERIES_TOTAL
        ))
    };
    assert_eq!(
        (outcome("2xx"), outcome("failed")),
        (1.0, 2.0),
        "{recorded:#?}"
    );
}

/// A worker refreshes its inbox's gauges by itself (when it starts, then
/// every 5 s), with nobody calling `record_metrics`.
#[tokio::test]
async fn a_worker_reports_its_inbox_gauges_by_itself() {
    use sinch_conversation::inbox::{Inbox, InboxEndpoint, Worker};
    let Some((url, _own)) = redis() else { return };
    let _turn = TURN.lock().await;
    let name = format!(
        "metrics-refresh-{}-{}",
        std::process::id(),
        fastrand::u32(..)
    );
    let inbox = Inbox::connect(&url, name.as_str()).await.unwrap();
    let endpoint = InboxEndpoint::new(inbox, Receiver::new(["s"]));
    append(&endpoint, &["G1", "G2"]).await;
    Recorded::take();
    // Each handler holds its entry (still in the stream) for a second; the
    // run stops reading after 300 ms and ends when they finish, before the
    // next refresh: the gauge is the one read at the start.
    let worker = Worker::connect(&url, name.as_str()).await.unwrap();
    worker
        .run(
            |_| async {
                tokio::time::sleep(Duration::from_secs(1)).await;
                Ok::<(), String>(())
            },
            tokio::time::sleep(Duration::from_millis(300)),
        )
        .await;
    let recorded = Recorded::take();
    assert_eq!(
        recorded.get(&format!("{}{{inbox={name}}}", names::INBOX_DEPTH)),
        2.0,
        "{recorded:#?}"
    );
}

#[tokio::test]
async fn the_inbox_counts_appends_and_attempts_and_reports_its_gauges() {
    use sinch_conversation::inbox::{Backoff, Inbox, InboxEndpoint, Worker};
    let Some((url, _own)) = redis() else { return };
    let _turn = TURN.lock().await;
    Recorded::take();
    let name = format!("metrics-{}-{}", std::process::id(), fastrand::u32(..));
    let inbox = Inbox::connect(&url, name.as_str()).await.unwrap();
    let endpoint = InboxEndpoint::new(inbox.clone(), Receiver::new(["s"]));
    append(&endpoint, &["E1", "E2", "E1", "fail"]).await;
    inbox.record_metrics().await.unwrap();
    let recorded = Recorded::take();
    let labelled = |metric: &str| recorded.get(&format!("{metric}{{inbox={name}}}"));
    assert_eq!(labelled(names::INBOX_APPENDED_TOTAL), 3.0, "{recorded:#?}");
    assert_eq!(labelled(names::INBOX_DEPTH), 3.0);
    assert_eq!(
        recorded.get(&format!("{}{{outcome=duplicate}}", names::CALLBACKS_TOTAL)),
        1.0
    );

    let worker = Worker::connect(&url, name.as_str())
        .await
        .unwrap()
        .max_attempts(1)
        .backoff(Backoff {
            first: Duration::from_millis(1),
            ..Backoff::default()
        });
    let stop = tokio::time::sleep(Duration::from_secs(2));
    worker
        .run(
            |event| async move {
                if event.key.contains("fail") {
                    Err("refused")
                } else {
                    Ok(())
                }
            },
            stop,
        )
        .await;
    inbox.record_metrics().await.unwrap();
    let recorded = Recorded::take();
    let handled = |o: &str| {
        recorded.get(&format!(
            "{}{{inbox={name},outcome={o}}}",
            names::INBOX_HANDLED_TOTAL
        ))
    };
    assert_eq!(
        (handled("done"), handled("dead")),
        (2.0, 1.0),
        "{recorded:#?}"
    );
    assert_eq!(labelled_in(&recorded, names::INBOX_DEPTH, &name), 0.0);
    assert_eq!(
        labelled_in(&recorded, names::INBOX_DEAD_LETTERS, &name),
        1.0
    );
    assert_eq!(
        recorded.get(&format!(
            "#{}{{inbox={name}}}",
            names::INBOX_HANDLER_DURATION_SECONDS
        )),
        3.0
    );
}

fn labelled_in(recorded: &Recorded, metric: &str, inbox: &str) -> f64 {
    recorded.get(&format!("{metric}{{inbox={inbox}}}"))
}

/// `listen --metrics-addr`: Prometheus' text format at `/metrics`, with
/// descriptions, after real callbacks.
#[test]
fn listen_serves_its_metrics_in_prometheus_text_format() {
    let metrics_port = listen::free_port();
    let metrics_addr = format!("127.0.0.1:{metrics_port}");
    let listener = listen::start(&[
        "--addr",
        "127.0.0.1:0",
        "--secret",
        "s",
        "--metrics-addr",
        &metrics_addr,
    ]);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    common::tls::install_crypto_provider();
    let text = runtime.block_on(async {
        let http = reqwest::Client::new();
        let body = r#"{"app_id":"a","project_id":"p","message":{"id":"L1"}}"#;
        for secret in ["s", "s", "wrong"] {
            let headers = Signer::new(secret).sign(body.as_bytes()).to_header_map();
            let _ = http
                .post(&listener.url)
                .headers(headers)
                .body(body)
                .send()
                .await
                .unwrap();
        }
        let answer = http
            .get(format!("http://{metrics_addr}/metrics"))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
        assert!(
            answer.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain; version=0.0.4")
        );
        answer.text().await.unwrap()
    });
    for line in [
        "sinch_conversation_callbacks_total{outcome=\"accepted\"} 1",
        "sinch_conversation_callbacks_total{outcome=\"duplicate\"} 1",
        "sinch_conversation_callbacks_total{outcome=\"rejected\"} 1",
        "sinch_conversation_callbacks_rejected_total{reason=\"signature\"} 1",
        "sinch_conversation_callback_verify_duration_seconds_count 3",
        "sinch_conversation_callback_handler_duration_seconds_count{outcome=\"completed\"} 1",
        "# TYPE sinch_conversation_callbacks_total counter",
        "# HELP sinch_conversation_callbacks_total Callbacks received, by outcome",
        "# TYPE sinch_conversation_callback_verify_duration_seconds histogram",
    ] {
        assert!(text.contains(line), "{line:?} not in:\n{text}");
    }
    assert!(!text.contains("L1") && !text.contains("\"s\""), "{text}");
}

/// `work --metrics-addr`: the worker's counts, and the inbox's gauges read
/// from Redis at each scrape.
#[test]
fn work_serves_the_inbox_metrics() {
    use sinch_conversation::inbox::{Inbox, InboxEndpoint};
    let Some((url, _own)) = redis() else { return };
    common::tls::install_crypto_provider();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let name = format!("metrics-work-{}-{}", std::process::id(), fastrand::u32(..));
    runtime.block_on(async {
        let inbox = Inbox::connect(&url, name.as_str()).await.unwrap();
        let endpoint = InboxEndpoint::new(inbox, Receiver::new(["s"]));
        append(&endpoint, &["W1", "W2"]).await;
    });
    let metrics_addr = format!("127.0.0.1:{}", listen::free_port());
    let mut worker = std::process::Command::new(env!("CARGO_BIN_EXE_sinch-webhooks"))
        .args([
            "work",
            "--redis",
            &url,
            "--inbox",
            &name,
            "--exec",
            "cat >/dev/null",
        ])
        .args(["--metrics-addr", &metrics_addr])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let scrape = || {
        runtime.block_on(async {
            let answer = reqwest::get(format!("http://{metrics_addr}/metrics")).await;
            match answer {
                Ok(answer) => answer.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            }
        })
    };
    let handled =
        format!("sinch_conversation_inbox_handled_total{{inbox=\"{name}\",outcome=\"done\"}} 2");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !scrape().contains(&handled) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    // Counted once acknowledged: the next scrape reads the gauges after it.
    let text = scrape();
    let _ = worker.kill();
    let _ = worker.wait();
    for line in [
        handled.as_str(),
        &format!("sinch_conversation_inbox_depth{{inbox=\"{name}\"}} 0"),
        &format!("sinch_conversation_inbox_dead_letters{{inbox=\"{name}\"}} 0"),
        &format!("sinch_conversation_inbox_handler_duration_seconds_count{{inbox=\"{name}\"}} 2"),
    ] {
        assert!(text.contains(line), "{line:?} not in:\n{text}");
    }
}
