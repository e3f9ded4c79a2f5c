//! The stand-in cannot be hung or bloated: deliveries never loop (not to
//! itself, not between two stand-ins), ids longer than its documented limit
//! are refused, and its resident memory stays within 1.5× of its documented
//! cap however large the fields sent. Loopback only; every wait is bounded.
mod common;

use std::time::{Duration, Instant};

use serde_json::json;
use sinch_conversation::mock::{DeliveryOutcome, MAX_ID_BYTES, MockServer};

fn events_route(server: &MockServer, app: &str) -> String {
    format!(
        "{}/_mock/projects/mock-project/apps/{app}/events",
        server.base_url()
    )
}

async fn http_webhook(server: &MockServer, app: &str, target: &str) {
    server
        .client_builder()
        .build()
        .unwrap()
        .create_webhook(app, target)
        .trigger("MESSAGE_INBOUND")
        .target_type("HTTP")
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn deliveries_to_the_stand_in_itself_are_skipped_as_a_loop() {
    let server = MockServer::start().await.unwrap();
    let own = events_route(&server, "app");
    let via_localhost = own.replace("127.0.0.1", "localhost");
    http_webhook(&server, "app", &own).await;
    http_webhook(&server, "app", &format!("{via_localhost}?again")).await;

    let started = Instant::now();
    let sent = tokio::time::timeout(
        Duration::from_secs(10),
        server.deliver_event("app", "MESSAGE_INBOUND", json!({"id": "m"})),
    )
    .await
    .expect("no loop");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(sent.len(), 2, "{sent:?}");
    for delivery in &sent {
        assert!(
            matches!(&delivery.outcome, DeliveryOutcome::Skipped(why) if why.contains("loop")),
            "{delivery:?}"
        );
    }
    // Nothing reached the events route.
    assert!(
        !server
            .requests()
            .iter()
            .any(|r| r.path.starts_with("/_mock/")),
        "{:?}",
        server.requests()
    );
}

#[tokio::test]
async fn two_stand_ins_delivering_to_each_other_stop_after_one_hop() {
    let a = MockServer::start().await.unwrap();
    let b = MockServer::start().await.unwrap();
    // Each app has two webhooks at the other's events route: without the
    // mark, every hop would double.
    for (from, to) in [(&a, &b), (&b, &a)] {
        http_webhook(from, "app", &events_route(to, "app")).await;
        http_webhook(from, "app", &format!("{}?twice", events_route(to, "app"))).await;
    }
    let injected = tokio::time::timeout(
        Duration::from_secs(10),
        reqwest::Client::new()
            .post(events_route(&a, "app"))
            .json(&json!({"trigger": "MESSAGE_INBOUND", "payload": {"id": "m"}}))
            .send(),
    )
    .await
    .expect("no loop")
    .unwrap();
    let answer: serde_json::Value = injected.json().await.unwrap();
    let outcomes: Vec<&serde_json::Value> = answer["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| &d["outcome"])
        .collect();
    // 508 is final: not retried.
    assert_eq!(outcomes, [&json!({"status": 508}), &json!({"status": 508})]);
    assert!(b.deliveries().is_empty(), "B delivered nothing onwards");
    // Both still answer.
    let client = a.client_builder().build().unwrap();
    client.list_webhooks("app").await.unwrap();
}

#[tokio::test]
async fn ids_longer_than_the_limit_are_refused() {
    let server = MockServer::start().await.unwrap();
    let http = reqwest::Client::new();
    let key = (
        MockServer::DEFAULT_KEY_ID,
        Some(MockServer::DEFAULT_KEY_SECRET),
    );
    let create = |app_id: String| {
        http.post(format!("{}/v1/projects/mock-project/webhooks", server.base_url()))
            .basic_auth(key.0, key.1)
            .json(&json!({"app_id": app_id, "target": "https://example.com/h", "triggers": ["MESSAGE_INBOUND"]}))
            .send()
    };
    let at_limit = "a".repeat(MAX_ID_BYTES);
    assert_eq!(create(at_limit.clone()).await.unwrap().status(), 200);
    let refused = create("a".repeat(MAX_ID_BYTES + 1)).await.unwrap();
    assert_eq!(refused.status(), 400);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&MAX_ID_BYTES.to_string()),
        "{body}"
    );
    // In a path: the app's webhooks, a webhook, the events route. A
    // percent-encoded id counts decoded.
    let long = "b".repeat(MAX_ID_BYTES + 1);
    let encoded_at_limit = "%41".repeat(MAX_ID_BYTES);
    for (path, expected) in [
        (
            format!("/v1/projects/mock-project/apps/{long}/webhooks"),
            400,
        ),
        (format!("/v1/projects/mock-project/webhooks/{long}"), 400),
        (format!("/v1/projects/{long}/webhooks/x"), 400),
        (
            format!("/v1/projects/mock-project/apps/{at_limit}/webhooks"),
            200,
        ),
        (
            format!("/v1/projects/mock-project/apps/{encoded_at_limit}/webhooks"),
            200,
        ),
    ] {
        let status = http
            .get(format!("{}{path}", server.base_url()))
            .basic_auth(key.0, key.1)
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, expected, "{path}");
    }
    let injected = http
        .post(format!(
            "{}/_mock/projects/mock-project/apps/{long}/events",
            server.base_url()
        ))
        .json(&json!({"trigger": "MESSAGE_INBOUND"}))
        .send()
        .await
        .unwrap();
    assert_eq!(injected.status(), 400);
}

/// Resident memory of a process, in KiB (Linux).
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The documented cap on what the stand-in keeps (`mock` module docs).
const CAP_BYTES: u64 = 64 * 1024 * 1024;

#[test]
fn oversized_fields_keep_resident_memory_within_one_and_a_half_times_the_cap() {
    let Some(_) = rss_kib(std::process::id()) else {
        eprintln!("no /proc: resident memory cannot be read here; skipped");
        return;
    };
    let (mut child, mut stdout, base_url) = common::spawn_sinch_mock(&[]);
    // Keep reading the request log, so stdout never backs up.
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));

    common::tls::install_crypto_provider();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (before, after, statuses) = runtime.block_on(async {
        let http = reqwest::Client::new();
        let create = |body: serde_json::Value| {
            http.post(format!("{base_url}/v1/projects/mock-project/webhooks"))
                .basic_auth(MockServer::DEFAULT_KEY_ID, Some(MockServer::DEFAULT_KEY_SECRET))
                .json(&body)
                .send()
        };
        let spawn_create = |body: serde_json::Value| tokio::spawn(create(body));
        // Warm up: the runtime and the connection pool.
        create(json!({"app_id": "warm", "target": "https://example.com/w", "triggers": ["MESSAGE_INBOUND"]}))
            .await
            .unwrap();
        let before = rss_kib(child.id()).unwrap();
        let field = |i: usize, c: char| format!("{i}-{}", c.to_string().repeat(60_000));
        let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
        // 1 500 creates with 60 KB app ids (the attack that grew it by
        // 135 MB), then twice the cap in 60 KB secrets and client
        // credentials, 8 at a time.
        let bodies = (0..1500)
            .map(|i| json!({"app_id": field(i, 'a'), "target": "https://example.com/h", "triggers": ["MESSAGE_INBOUND"]}))
            .chain((0..2300).map(|i| {
                json!({
                    "app_id": format!("app-{i}"),
                    "target": "https://example.com/h",
                    "triggers": ["MESSAGE_INBOUND"],
                    "secret": if i % 2 == 0 { field(i, 's') } else { "s".into() },
                    "client_credentials": {
                        "client_id": if i % 2 == 1 { field(i, 'c') } else { "c".into() },
                        "client_secret": "x",
                        "endpoint": "https://example.com/token",
                    },
                })
            }));
        let bodies: Vec<serde_json::Value> = bodies.collect();
        for chunk in bodies.chunks(8) {
            let tasks: Vec<_> = chunk.iter().cloned().map(spawn_create).collect();
            for task in tasks {
                let status = task.await.unwrap().unwrap().status().as_u16();
                *statuses.entry(status).or_default() += 1;
            }
        }
        (before, rss_kib(child.id()).unwrap(), statuses)
    });
    let _ = child.kill();
    let _ = child.wait();
    let grown = after.saturating_sub(before) * 1024;
    eprintln!("resident memory: {before} KiB before, {after} KiB after");
    assert!(
        grown * 2 <= CAP_BYTES * 3,
        "resident memory grew by {} MiB ({before} KiB → {after} KiB), more than 1.5 × the 64 MiB cap",
        grown / (1024 * 1024)
    );
    assert_eq!(statuses.get(&400), Some(&1500), "{statuses:?}");
    assert_eq!(statuses.get(&200), Some(&2300), "{statuses:?}");
}
