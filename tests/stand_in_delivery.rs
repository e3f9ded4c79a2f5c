//! The stand-in delivers as Sinch does, end to end on loopback: OAuth2
//! client credentials (BASIC and FORM, the token cache and its clamp, a
//! failing token endpoint), retries with back-off (503, a timeout, not a
//! 400), each attempt signed afresh, duplicates, a seeded shuffle and the
//! per-app callback rate. The token endpoint and the receiver are the
//! scripted server of `common`.
mod common;

use std::time::{Duration, Instant};

use common::{Recorded, base64_of, header, reply};
use serde_json::json;
use sinch_conversation::mock::{DeliveryOutcome, MockServer, MockServerBuilder};
use sinch_conversation::{Client, NewClientCredentials, WebhookTrigger};

const SECRET: &str = "whsec-delivery";

/// A stand-in with short retries, and a client for it.
async fn stand_in(builder: MockServerBuilder) -> (MockServer, Client) {
    let server = builder.start().await.unwrap();
    let client = server.client_builder().build().unwrap();
    (server, client)
}

/// Short back-off, no rate; a delivery timeout long enough that a loaded
/// machine's slow answer is not taken for a timeout.
fn fast() -> MockServerBuilder {
    MockServer::builder()
        .delivery_backoff(Duration::from_millis(20))
        .delivery_timeout(Duration::from_secs(3))
        .callback_rate(0)
}

async fn webhook(
    client: &Client,
    app: &str,
    target: &str,
    credentials: Option<NewClientCredentials>,
) -> String {
    let mut create = client
        .create_webhook(app, target)
        .trigger(WebhookTrigger::MessageInbound)
        .target_type("HTTP")
        .secret(SECRET);
    if let Some(credentials) = credentials {
        create = create.client_credentials(credentials);
    }
    create.send().await.unwrap().id.unwrap()
}

async fn inbound(
    server: &MockServer,
    app: &str,
    id: &str,
) -> Vec<sinch_conversation::mock::Delivery> {
    server
        .deliver_event(app, "MESSAGE_INBOUND", json!({"id": id}))
        .await
}

/// The form fields of a token request.
fn form(request: &Recorded) -> Vec<(String, String)> {
    url::form_urlencoded::parse(&request.body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn token_requests(scripted: &common::Server) -> Vec<Recorded> {
    scripted.tokens.lock().unwrap().clone()
}

/// The scripted server (token endpoint and receiver) and a stand-in whose
/// app `app` has one webhook at the scripted `/hook`, with `credentials`
/// (given the id `cid`, the secret `c-secret` and the scripted token route).
async fn oauth_webhook(
    credentials: impl FnOnce(NewClientCredentials) -> NewClientCredentials,
) -> (std::sync::Arc<common::Server>, MockServer) {
    let (scripted, url) = common::serve().await;
    let (server, client) = stand_in(fast()).await;
    let given = NewClientCredentials::new("cid", "c-secret", format!("{url}/oauth2/token"));
    webhook(
        &client,
        "app",
        &format!("{url}/hook"),
        Some(credentials(given)),
    )
    .await;
    (scripted, server)
}

#[tokio::test]
async fn basic_credentials_go_as_http_basic_and_the_token_as_bearer() {
    let (scripted, server) =
        oauth_webhook(|c| c.scope("callbacks:write events").response_type("token")).await;

    let sent = inbound(&server, "app", "m1").await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].outcome, DeliveryOutcome::Status(200));
    assert!(sent[0].bearer && sent[0].signed);

    let tokens = token_requests(&scripted);
    assert_eq!(tokens.len(), 1);
    assert_eq!(
        header(&tokens[0], "authorization"),
        format!("Basic {}", base64_of("cid:c-secret"))
    );
    assert_eq!(
        header(&tokens[0], "content-type"),
        "application/x-www-form-urlencoded"
    );
    assert_eq!(
        form(&tokens[0]),
        [
            ("grant_type".to_owned(), "client_credentials".to_owned()),
            ("scope".to_owned(), "callbacks:write events".to_owned()),
            ("response_type".to_owned(), "token".to_owned()),
        ]
    );
    let callback = &scripted.api_calls()[0];
    assert_eq!(callback.path, "/hook");
    assert_eq!(header(callback, "authorization"), "Bearer tok-1");
    // Signed as well: the bearer token does not replace the signature.
    let verifier = sinch_conversation::callbacks::Verifier::new(SECRET);
    verifier.verify(&callback.headers, &callback.body).unwrap();
}

#[tokio::test]
async fn form_credentials_go_as_form_fields_and_blank_scope_is_left_out() {
    let (scripted, server) = oauth_webhook(|c| c.scope("   ").token_request_type("FORM")).await;

    assert_eq!(
        inbound(&server, "app", "m1").await[0].outcome,
        DeliveryOutcome::Status(200)
    );
    let tokens = token_requests(&scripted);
    assert_eq!(
        header(&tokens[0], "authorization"),
        "",
        "no Basic with FORM"
    );
    assert_eq!(
        form(&tokens[0]),
        [
            ("grant_type".to_owned(), "client_credentials".to_owned()),
            ("client_id".to_owned(), "cid".to_owned()),
            ("client_secret".to_owned(), "c-secret".to_owned()),
        ]
    );
    assert_eq!(
        header(&scripted.api_calls()[0], "authorization"),
        "Bearer tok-1"
    );
}

#[tokio::test]
async fn an_unknown_token_request_type_means_basic() {
    let (scripted, url) = common::serve().await;
    let (server, _) = stand_in(fast()).await;
    // Stored as another client (or a newer Sinch) could have stored it.
    let webhook: sinch_conversation::Webhook = serde_json::from_value(json!({
        "app_id": "app", "target": format!("{url}/hook"), "target_type": "HTTP",
        "triggers": ["MESSAGE_INBOUND"],
        "client_credentials": {"client_id": "cid", "client_secret": "c-secret",
            "endpoint": format!("{url}/oauth2/token"), "token_request_type": "JWT_BEARER"}
    }))
    .unwrap();
    server.seed_webhook(webhook);
    assert_eq!(
        inbound(&server, "app", "m1").await[0].outcome,
        DeliveryOutcome::Status(200)
    );
    let tokens = token_requests(&scripted);
    assert_eq!(
        header(&tokens[0], "authorization"),
        format!("Basic {}", base64_of("cid:c-secret"))
    );
    assert_eq!(form(&tokens[0]).len(), 1, "only grant_type in the form");
}

#[tokio::test]
async fn the_token_is_cached_for_its_expires_in_clamped_to_at_least_30_s() {
    let (scripted, server) = oauth_webhook(|c| c).await;
    // expires_in 1: kept 30 s (the clamp), so a delivery 1.5 s later reuses it.
    scripted.script_tokens([reply(
        200,
        r#"{"access_token":"short","expires_in":1,"token_type":"bearer"}"#,
    )]);

    inbound(&server, "app", "m1").await;
    inbound(&server, "app", "m2").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    inbound(&server, "app", "m3").await;
    assert_eq!(
        token_requests(&scripted).len(),
        1,
        "three deliveries, one token"
    );
    let bearers: Vec<String> = scripted
        .api_calls()
        .iter()
        .map(|c| header(c, "authorization").to_owned())
        .collect();
    assert_eq!(bearers, ["Bearer short"; 3]);
}

#[tokio::test]
async fn other_credentials_get_their_own_token() {
    let (scripted, url) = common::serve().await;
    let (server, client) = stand_in(fast()).await;
    let endpoint = format!("{url}/oauth2/token");
    webhook(
        &client,
        "app",
        &format!("{url}/a"),
        Some(NewClientCredentials::new("one", "s", &endpoint)),
    )
    .await;
    webhook(
        &client,
        "app",
        &format!("{url}/b"),
        Some(NewClientCredentials::new("two", "s", &endpoint)),
    )
    .await;
    inbound(&server, "app", "m1").await;
    inbound(&server, "app", "m2").await;
    assert_eq!(token_requests(&scripted).len(), 2);
}

#[tokio::test]
async fn a_failing_token_endpoint_fails_the_delivery_with_the_reason_and_sends_nothing() {
    let (scripted, server) = oauth_webhook(|c| c).await;
    // 401: not retried. Then an answer without a token, and one not JSON.
    let huge = format!(r#"{{"access_token":"{}"}}"#, "t".repeat(70_000));
    scripted.script_tokens([
        reply(401, r#"{"error":"invalid_client"}"#),
        reply(200, r#"{"expires_in":60}"#),
        reply(200, "not json"),
        reply(200, &huge),
    ]);

    for expected in [
        "answered 401",
        "no access_token",
        "not JSON",
        "larger than 65536 bytes",
    ] {
        let sent = inbound(&server, "app", "m").await;
        assert_eq!(sent.len(), 1, "not retried: {sent:?}");
        match &sent[0].outcome {
            DeliveryOutcome::TokenFailed(why) => {
                assert!(why.contains(expected), "{why}");
                assert!(why.contains("/oauth2/token"), "{why}");
                assert!(!why.contains("c-secret"), "{why}");
            }
            other => panic!("{other:?}"),
        }
        assert!(!sent[0].bearer);
    }
    assert!(
        scripted.api_calls().is_empty(),
        "no callback without a token"
    );
}

#[tokio::test]
async fn a_token_endpoint_answering_503_is_retried_then_the_callback_goes_out() {
    let (scripted, server) = oauth_webhook(|c| c).await;
    scripted.script_tokens([reply(503, "{}")]);

    let sent = inbound(&server, "app", "m").await;
    let outcomes: Vec<_> = sent
        .iter()
        .map(|d| (d.attempt, d.outcome.clone()))
        .collect();
    assert!(matches!(&outcomes[0], (1, DeliveryOutcome::TokenFailed(why)) if why.contains("503")));
    assert_eq!(outcomes[1], (2, DeliveryOutcome::Status(200)));
    assert_eq!(token_requests(&scripted).len(), 2);
}

#[tokio::test]
async fn a_503_is_retried_with_back_off_each_attempt_signed_afresh() {
    let (scripted, url) = common::serve().await;
    scripted.script_api([reply(503, "{}"), reply(503, "{}")]);
    let (server, client) = stand_in(fast().delivery_backoff(Duration::from_millis(100))).await;
    webhook(&client, "app", &format!("{url}/hook"), None).await;

    let started = Instant::now();
    let sent = inbound(&server, "app", "m").await;
    let elapsed = started.elapsed();
    let outcomes: Vec<_> = sent
        .iter()
        .map(|d| (d.attempt, d.outcome.clone()))
        .collect();
    assert_eq!(
        outcomes,
        [
            (1, DeliveryOutcome::Status(503)),
            (2, DeliveryOutcome::Status(503)),
            (3, DeliveryOutcome::Status(200)),
        ]
    );
    // 100 ms, then 200 ms.
    assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
    assert_eq!(server.deliveries(), sent, "every attempt recorded");

    let calls = scripted.api_calls();
    assert_eq!(calls.len(), 3);
    let verifier = sinch_conversation::callbacks::Verifier::new(SECRET);
    for call in &calls {
        verifier.verify(&call.headers, &call.body).unwrap();
        assert_eq!(call.body, calls[0].body, "the same body every time");
    }
    let nonces: std::collections::HashSet<&str> = calls
        .iter()
        .map(|c| header(c, "x-sinch-webhook-signature-nonce"))
        .collect();
    assert_eq!(nonces.len(), 3, "a new nonce per attempt");
}

#[tokio::test]
async fn a_429_and_a_timeout_are_retried_until_the_retries_are_spent() {
    let (scripted, url) = common::serve().await;
    let mut slow = reply(200, "{}");
    slow.delay = Duration::from_secs(6);
    // 429, a timeout (300 ms), then 500 twice more: four attempts, all failed.
    scripted.script_api([reply(429, "{}"), slow, reply(500, "{}"), reply(500, "{}")]);
    let (server, client) = stand_in(
        fast()
            .delivery_retries(3)
            .delivery_timeout(Duration::from_secs(2)),
    )
    .await;
    webhook(&client, "app", &format!("{url}/hook"), None).await;

    let sent = inbound(&server, "app", "m").await;
    let outcomes: Vec<_> = sent.iter().map(|d| d.outcome.clone()).collect();
    assert_eq!(outcomes.len(), 4, "{outcomes:?}");
    assert_eq!(outcomes[0], DeliveryOutcome::Status(429));
    assert_eq!(outcomes[1], DeliveryOutcome::Failed("timed out".into()));
    assert_eq!(
        outcomes[2..],
        [DeliveryOutcome::Status(500), DeliveryOutcome::Status(500)]
    );
    assert_eq!(
        sent.iter().map(|d| d.attempt).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
}

#[tokio::test]
async fn a_refused_connection_is_retried() {
    let (server, client) = stand_in(fast().delivery_retries(2)).await;
    webhook(
        &client,
        "app",
        &format!("{}/gone", common::unused_local_url()),
        None,
    )
    .await;
    let sent = inbound(&server, "app", "m").await;
    assert_eq!(sent.len(), 3, "{sent:?}");
    assert!(
        sent.iter()
            .all(|d| matches!(&d.outcome, DeliveryOutcome::Failed(why) if why.contains("connect"))),
        "{sent:?}"
    );
}

#[tokio::test]
async fn a_400_or_a_redirect_is_not_retried() {
    let (scripted, url) = common::serve().await;
    let mut moved = reply(302, "");
    moved.headers.push(("location", format!("{url}/elsewhere")));
    scripted.script_api([reply(400, "{}"), moved]);
    let (server, client) = stand_in(fast()).await;
    webhook(&client, "app", &format!("{url}/hook"), None).await;

    assert_eq!(
        inbound(&server, "app", "m1")
            .await
            .iter()
            .map(|d| d.outcome.clone())
            .collect::<Vec<_>>(),
        [DeliveryOutcome::Status(400)]
    );
    assert_eq!(
        inbound(&server, "app", "m2")
            .await
            .iter()
            .map(|d| d.outcome.clone())
            .collect::<Vec<_>>(),
        [DeliveryOutcome::Status(302)]
    );
    assert_eq!(scripted.api_calls().len(), 2);
}

#[tokio::test]
async fn duplicates_send_each_callback_twice_signed_separately() {
    let (scripted, url) = common::serve().await;
    let (server, client) = stand_in(fast().duplicate_deliveries(true)).await;
    webhook(&client, "app", &format!("{url}/hook"), None).await;

    let sent = inbound(&server, "app", "m1").await;
    assert_eq!(sent.len(), 2);
    assert_eq!(
        sent.iter().map(|d| d.duplicate).collect::<Vec<_>>(),
        [false, true]
    );
    let calls = scripted.api_calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].body, calls[1].body, "the same event");
    assert_ne!(
        header(&calls[0], "x-sinch-webhook-signature-nonce"),
        header(&calls[1], "x-sinch-webhook-signature-nonce")
    );
    // The receiver's idempotency key is what makes them one event.
    let keys: Vec<String> = calls
        .iter()
        .map(|c| {
            sinch_conversation::events::parse(&c.body)
                .unwrap()
                .idempotency_key(&c.body)
        })
        .collect();
    assert_eq!(keys[0], keys[1]);
}

/// The message ids in the order the receiver got them.
fn arrival_order(scripted: &common::Server) -> Vec<String> {
    scripted
        .api_calls()
        .iter()
        .map(|c| {
            let body: serde_json::Value = serde_json::from_slice(&c.body).unwrap();
            body["message"]["id"].as_str().unwrap().to_owned()
        })
        .collect()
}

async fn shuffled_batch(seed: Option<u64>) -> Vec<String> {
    let (scripted, url) = common::serve().await;
    // 10 a second: callbacks 100 ms apart, so they arrive in the order sent.
    let mut builder = fast().callback_rate(10);
    if let Some(seed) = seed {
        builder = builder.shuffle_deliveries(seed);
    }
    let (server, client) = stand_in(builder).await;
    webhook(&client, "app", &format!("{url}/hook"), None).await;
    let batch = (0..8).map(|i| ("MESSAGE_INBOUND", json!({"id": format!("m{i}")})));
    let sent = server.deliver_events("app", batch).await;
    assert_eq!(sent.len(), 8);
    arrival_order(&scripted)
}

#[tokio::test]
async fn a_batch_goes_in_order_or_shuffled_reproducibly_by_seed() {
    let in_order: Vec<String> = (0..8).map(|i| format!("m{i}")).collect();
    assert_eq!(shuffled_batch(None).await, in_order);
    let first = shuffled_batch(Some(42)).await;
    let again = shuffled_batch(Some(42)).await;
    let other = shuffled_batch(Some(7)).await;
    assert_eq!(first, again, "the same seed, the same order");
    assert_ne!(first, in_order);
    assert_ne!(first, other);
    let mut sorted = first.clone();
    sorted.sort();
    assert_eq!(sorted, in_order, "a permutation: nothing lost or repeated");
}

#[tokio::test]
async fn callbacks_keep_to_the_per_app_rate() {
    let (scripted, url) = common::serve().await;
    let (server, client) = stand_in(fast().callback_rate(10)).await;
    webhook(&client, "app", &format!("{url}/a"), None).await;
    webhook(&client, "other", &format!("{url}/b"), None).await;

    let started = Instant::now();
    let batch = |n| (0..n).map(|i| ("MESSAGE_INBOUND", json!({"id": format!("m{i}")})));
    let (slow, other) = tokio::join!(
        server.deliver_events("app", batch(12)),
        server.deliver_events("other", batch(3))
    );
    let elapsed = started.elapsed();
    assert_eq!((slow.len(), other.len()), (12, 3));
    // 12 callbacks at 10 a second, evenly spaced: 1.1 s at least.
    assert!(elapsed >= Duration::from_millis(1050), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    assert_eq!(scripted.api_calls().len(), 15);
}

#[tokio::test]
async fn sinchs_default_rate_is_25_a_second_per_app() {
    let (scripted, url) = common::serve().await;
    let (server, client) = stand_in(fast().callback_rate(25)).await;
    webhook(&client, "app", &format!("{url}/a"), None).await;
    let started = Instant::now();
    let batch = (0..26).map(|i| ("MESSAGE_INBOUND", json!({"id": format!("m{i}")})));
    server.deliver_events("app", batch).await;
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(950), "{elapsed:?}");
    assert_eq!(scripted.api_calls().len(), 26);
    assert_eq!(sinch_conversation::mock::SINCH_CALLBACK_RATE, 25);
}

#[tokio::test]
async fn the_events_route_takes_a_batch_and_answers_every_attempt() {
    let (scripted, url) = common::serve().await;
    scripted.script_api([reply(503, "{}")]);
    let (server, client) = stand_in(fast()).await;
    webhook(&client, "app", &format!("{url}/hook"), None).await;
    let answer: serde_json::Value = reqwest::Client::new()
        .post(format!(
            "{}/_mock/projects/mock-project/apps/app/events",
            server.base_url()
        ))
        .json(&json!([
            {"trigger": "MESSAGE_INBOUND", "payload": {"id": "m1"}},
            {"trigger": "MESSAGE_INBOUND", "payload": {"id": "m2"}},
        ]))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let attempts: Vec<(u64, serde_json::Value)> = answer["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["attempt"].as_u64().unwrap(), d["outcome"].clone()))
        .collect();
    assert_eq!(
        attempts,
        [
            (1, json!({"status": 503})),
            (2, json!({"status": 200})),
            (1, json!({"status": 200})),
        ]
    );
}

#[tokio::test]
async fn a_stopped_stand_in_drops_its_pending_retries() {
    let (scripted, url) = common::serve().await;
    scripted.script_api([reply(503, "{}")]);
    let (server, client) = stand_in(fast().delivery_backoff(Duration::from_secs(1))).await;
    webhook(&client, "app", &format!("{url}/hook"), None).await;
    let route = format!(
        "{}/_mock/projects/mock-project/apps/app/events",
        server.base_url()
    );
    let injecting = tokio::spawn(async move {
        reqwest::Client::new()
            .post(route)
            .json(&json!({"trigger": "MESSAGE_INBOUND", "payload": {"id": "m"}}))
            .send()
            .await
    });
    let first = std::time::Instant::now();
    while scripted.api_calls().is_empty() && first.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(scripted.api_calls().len(), 1, "the first attempt went out");
    drop(server);
    let answered = tokio::time::timeout(Duration::from_secs(5), injecting).await;
    assert!(
        answered.is_ok(),
        "the route answered once the stand-in stopped"
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(scripted.api_calls().len(), 1, "no retry after the stop");
}

#[tokio::test]
async fn sinch_mock_takes_the_delivery_flags() {
    let (scripted, url) = common::serve().await;
    scripted.script_api([reply(503, "{}")]);
    let (mut child, stdout, base_url) = common::spawn_sinch_mock(&[
        "--delivery-retries",
        "1",
        "--delivery-backoff-ms",
        "10",
        "--duplicate-deliveries",
        "--callback-rate",
        "0",
        "--also-project",
        "project-b",
    ]);
    std::thread::spawn(move || std::io::copy(&mut { stdout }, &mut std::io::sink()));
    let client = |project: &str| {
        sinch_conversation::Client::builder()
            .project_id(project)
            .base_url(&base_url)
            .basic_auth(MockServer::DEFAULT_KEY_ID, MockServer::DEFAULT_KEY_SECRET)
            .build()
            .unwrap()
    };
    webhook(&client("mock-project"), "app", &format!("{url}/hook"), None).await;
    // --also-project: the key is valid for project-b too.
    client("project-b").list_webhooks("app").await.unwrap();

    let answer: serde_json::Value = reqwest::Client::new()
        .post(format!(
            "{base_url}/_mock/projects/mock-project/apps/app/events"
        ))
        .json(&json!({"trigger": "MESSAGE_INBOUND", "payload": {"id": "m1"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let mut attempts: Vec<(bool, u64, serde_json::Value)> = answer["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["duplicate"].as_bool().unwrap(),
                d["attempt"].as_u64().unwrap(),
                d["outcome"].clone(),
            )
        })
        .collect();
    attempts.sort_by_key(|a| (a.0, a.1));
    // Two copies; whichever got the 503 was retried once (--delivery-retries 1).
    assert_eq!(attempts.len(), 3, "{answer}");
    assert_eq!(scripted.api_calls().len(), 3);
    let retried: Vec<_> = attempts.iter().filter(|a| a.1 == 2).collect();
    assert_eq!(retried.len(), 1, "{answer}");
    assert_eq!(retried[0].2, json!({"status": 200}));
    assert!(attempts.iter().any(|a| a.0) && attempts.iter().any(|a| !a.0));
}

#[tokio::test]
async fn a_target_with_credentials_in_its_url_gets_them_as_basic_and_the_record_hides_them() {
    let (scripted, url) = common::serve().await;
    let (server, client) = stand_in(fast()).await;
    let with_password = url.replace("http://", "http://hook-user:hook-pw@");
    webhook(&client, "app", &format!("{with_password}/hook"), None).await;
    let sent = inbound(&server, "app", "m1").await;
    assert_eq!(sent[0].outcome, DeliveryOutcome::Status(200));
    // Sent to the real URL, not to its redacted form.
    assert_eq!(
        header(&scripted.api_calls()[0], "authorization"),
        format!("Basic {}", base64_of("hook-user:hook-pw"))
    );
    assert!(!sent[0].target.contains("hook-pw"), "{}", sent[0].target);
    assert!(!format!("{:?}", server.deliveries()).contains("hook-pw"));
}

#[tokio::test]
async fn a_token_endpoint_with_credentials_in_its_url_reaches_no_record() {
    let (scripted, url) = common::serve().await;
    scripted.script_tokens([reply(401, "{}")]);
    let (server, client) = stand_in(fast()).await;
    let endpoint = format!(
        "{}/oauth2/token",
        url.replace("http://", "http://ep-user:ep-pw@")
    );
    let credentials = NewClientCredentials::new("cid", "c-secret", endpoint);
    webhook(&client, "app", &format!("{url}/hook"), Some(credentials)).await;
    let sent = inbound(&server, "app", "m1").await;
    assert!(
        matches!(&sent[0].outcome, DeliveryOutcome::TokenFailed(_)),
        "{sent:?}"
    );
    let shown = format!(
        "{:?} {}",
        server.deliveries(),
        serde_json::to_string(&sent).unwrap()
    );
    for secret in ["ep-pw", "c-secret", SECRET] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
}

#[tokio::test]
async fn a_target_with_a_password_and_client_credentials_gets_one_authorization_the_bearer() {
    let (scripted, url) = common::serve().await;
    let (server, client) = stand_in(fast()).await;
    let credentials = NewClientCredentials::new("cid", "c-secret", format!("{url}/oauth2/token"));
    let with_password = url.replace("http://", "http://hook-user:hook-pw@");
    webhook(
        &client,
        "app",
        &format!("{with_password}/hook"),
        Some(credentials),
    )
    .await;
    let sent = inbound(&server, "app", "m1").await;
    assert_eq!(sent[0].outcome, DeliveryOutcome::Status(200));
    let callback = &scripted.api_calls()[0];
    let all: Vec<_> = callback.headers.get_all("authorization").iter().collect();
    assert_eq!(all, ["Bearer tok-1"], "one Authorization header");
    // The crate's own receiver takes it.
    let receiver = sinch_conversation::receive::Receiver::new([SECRET]).bearer(|t| t == "tok-1");
    receiver
        .receive(&callback.headers, &callback.body)
        .await
        .unwrap();
}
