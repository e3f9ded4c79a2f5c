//! The client-wide rate limit (shared by clones) and the stand-in's
//! per-project limit with 429 and `Retry-After`, over loopback.

use std::time::{Duration, Instant};

use sinch_conversation::Client;
use sinch_conversation::mock::MockServer;

#[tokio::test]
async fn the_client_limit_is_shared_by_clones() {
    let server = MockServer::start().await.unwrap();
    // 20 a second, bursts of 2: 40 lists need about 2 s.
    let client = server.client_builder().rate_limit(20).build().unwrap();
    client.list_webhooks("warm-up").await.unwrap(); // the token, outside the count
    let started = Instant::now();
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move {
                for _ in 0..10 {
                    client.list_webhooks("a").await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(1700), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
}

#[tokio::test]
async fn the_stand_in_answers_429_with_retry_after_beyond_its_limit() {
    let server = MockServer::builder().rate_limit(5).start().await.unwrap();
    let http = reqwest::Client::new();
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for _ in 0..12 {
        let response = http
            .get(format!(
                "{}/v1/projects/mock-project/apps/a/webhooks",
                server.base_url()
            ))
            .basic_auth(
                MockServer::DEFAULT_KEY_ID,
                Some(MockServer::DEFAULT_KEY_SECRET),
            )
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
        if response.status() == 429 {
            retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let body: serde_json::Value = response.json().await.unwrap();
            assert_eq!(body["error"]["status"], "RESOURCE_EXHAUSTED");
        }
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        5,
        "{statuses:?}"
    );
    assert!(statuses.contains(&429));
    assert_eq!(retry_after.as_deref(), Some("1"));
    // The client honours it: a limited request waits and succeeds.
    let client: Client = server
        .client_builder()
        .basic_auth(MockServer::DEFAULT_KEY_ID, MockServer::DEFAULT_KEY_SECRET)
        .build()
        .unwrap();
    client.list_webhooks("a").await.unwrap();
}
