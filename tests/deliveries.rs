//! Signed event deliveries from the stand-in: to a receiver in this test that
//! uses the verifier, and to the `receive_callbacks` example as a process.
use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use sinch_conversation::callbacks::{CallbackError, Verifier};
use sinch_conversation::events::{CallbackEvent, Event};
use sinch_conversation::mock::{DeliveryOutcome, MockServer};
use sinch_conversation::{Client, WebhookTargetType, WebhookTrigger};

/// (path, signature valid?, body as JSON, the typed event when verified).
type Record = (String, bool, serde_json::Value, Option<CallbackEvent>);

#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<Record>>>);

/// Records what arrives. `/slow` takes 3 s to answer.
async fn receiver_handler(
    State((verifier, received)): State<(Verifier, Received)>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    if uri.path() == "/slow" {
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    let verified = verifier.verify_event(&headers, &body);
    let valid = !matches!(verified, Err(CallbackError::Verify(_)));
    let json = serde_json::from_slice(&body).unwrap_or_default();
    let typed = verified.ok();
    received
        .0
        .lock()
        .unwrap()
        .push((uri.path().to_owned(), valid, json, typed));
    if valid {
        StatusCode::OK
    } else {
        StatusCode::UNAUTHORIZED
    }
}

async fn receiver(secret: &str) -> (String, Received) {
    let received = Received::default();
    let app = axum::Router::new()
        .fallback(receiver_handler)
        .with_state((Verifier::new(secret), received.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, received)
}

fn dead_url() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("http://127.0.0.1:{port}/dead")
}

async fn add(
    client: &Client,
    target: &str,
    trigger: WebhookTrigger,
    secret: Option<&str>,
    kind: WebhookTargetType,
) {
    let mut request = client
        .create_webhook("app", target)
        .trigger(trigger)
        .target_type(kind);
    if let Some(secret) = secret {
        request = request.secret(secret);
    }
    request.send().await.unwrap();
}

#[tokio::test]
async fn events_reach_subscribed_http_webhooks_signed_and_slow_targets_block_nothing() {
    let (url, received) = receiver("whsec").await;
    // One attempt each: retries have their own tests (tests/delivery_retries.rs).
    let server = MockServer::builder()
        .delivery_timeout(Duration::from_millis(500))
        .delivery_retries(0)
        .start()
        .await
        .unwrap();
    let client = server.client_builder().build().unwrap();
    use WebhookTrigger::{MessageDelivery as Delivery, MessageInbound as Inbound};
    add(
        &client,
        &format!("{url}/signed"),
        Inbound,
        Some("whsec"),
        WebhookTargetType::Http,
    )
    .await;
    add(
        &client,
        &format!("{url}/unsigned"),
        Inbound,
        None,
        WebhookTargetType::Http,
    )
    .await;
    add(
        &client,
        &format!("{url}/other-trigger"),
        Delivery,
        Some("whsec"),
        WebhookTargetType::Http,
    )
    .await;
    add(
        &client,
        &format!("{url}/dismissed"),
        Inbound,
        Some("whsec"),
        WebhookTargetType::Dismiss,
    )
    .await;
    add(
        &client,
        &format!("{url}/slow"),
        Inbound,
        Some("whsec"),
        WebhookTargetType::Http,
    )
    .await;
    // The sixth would exceed the limit; use another app for the dead target.
    client
        .create_webhook("app2", dead_url())
        .trigger(Inbound)
        .send()
        .await
        .unwrap();

    let payload =
        serde_json::json!({"message": {"contact_message": {"text_message": {"text": "hi"}}}});
    let delivering = {
        let server = &server;
        let payload = payload.clone();
        async move { server.deliver_event("app", Inbound, payload).await }
    };
    // The API answers while a delivery hangs on the slow target.
    let api_during_delivery = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        client
            .create_webhook("app3", "https://e.com/x")
            .trigger(Inbound)
            .send()
            .await
            .unwrap();
        std::time::Instant::now()
    };
    let (deliveries, api_done) = tokio::join!(delivering, api_during_delivery);
    let delivered_at = std::time::Instant::now();
    assert!(
        api_done < delivered_at,
        "the API answered before the slow delivery gave up"
    );

    let mut outcomes: Vec<(String, bool, DeliveryOutcome)> = deliveries
        .iter()
        .map(|d| {
            (
                d.target.trim_start_matches(&url).to_owned(),
                d.signed,
                d.outcome.clone(),
            )
        })
        .collect();
    outcomes.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(outcomes.len(), 3, "{outcomes:?}");
    assert_eq!(
        outcomes[0],
        ("/signed".to_owned(), true, DeliveryOutcome::Status(200))
    );
    assert_eq!(outcomes[1].0, "/slow");
    assert!(
        matches!(outcomes[1].2, DeliveryOutcome::Failed(_)),
        "{:?}",
        outcomes[1]
    );
    assert_eq!(
        outcomes[2],
        ("/unsigned".to_owned(), false, DeliveryOutcome::Status(401))
    );

    let got = received.0.lock().unwrap().clone();
    let signed = got.iter().find(|(p, ..)| p == "/signed").unwrap();
    assert!(signed.1, "the signature verified");
    assert_eq!(signed.2["message"], payload["message"]);
    assert_eq!(signed.2["app_id"], "app");
    assert_eq!(signed.2["project_id"], "mock-project");

    let dead = server
        .deliver_event("app2", Inbound, serde_json::json!({}))
        .await;
    assert!(
        matches!(&dead[0].outcome, DeliveryOutcome::Failed(_)),
        "{dead:?}"
    );
    assert_eq!(server.deliveries().len(), 4);
}

#[tokio::test]
async fn targets_off_loopback_are_skipped_by_default() {
    let server = MockServer::start().await.unwrap();
    let client = server.client_builder().build().unwrap();
    client
        .create_webhook("app", "https://example.com/hook")
        .trigger("MESSAGE_INBOUND")
        .send()
        .await
        .unwrap();
    let deliveries = server
        .deliver_event("app", "MESSAGE_INBOUND", serde_json::json!({}))
        .await;
    assert!(
        matches!(&deliveries[0].outcome, DeliveryOutcome::Skipped(why) if why.contains("loopback")),
        "{deliveries:?}"
    );
}

#[tokio::test]
async fn the_admin_route_injects_events() {
    let (url, received) = receiver("s").await;
    let server = MockServer::start().await.unwrap();
    let client = server.client_builder().build().unwrap();
    client
        .create_webhook("app", format!("{url}/hook"))
        .trigger("OPT_IN")
        .secret("s")
        .send()
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let answer: serde_json::Value = http
        .post(format!(
            "{}/_mock/projects/mock-project/apps/app/events",
            server.base_url()
        ))
        .json(&serde_json::json!({"trigger": "OPT_IN", "payload": {"status": "OPT_IN_SUCCEEDED"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        answer["deliveries"][0]["outcome"],
        serde_json::json!({"status": 200})
    );
    assert_eq!(answer["deliveries"][0]["signed"], true);
    let got = received.0.lock().unwrap()[0].clone();
    // The payload arrives under OPT_IN's identifying key, and parses.
    assert_eq!(got.2["opt_in_notification"]["status"], "OPT_IN_SUCCEEDED");
    match got.3.map(|e| e.event) {
        Some(Event::OptIn(n)) => assert_eq!(n.status, Some("OPT_IN_SUCCEEDED".into())),
        other => panic!("{other:?}"),
    }

    let bad = http
        .post(format!(
            "{}/_mock/projects/mock-project/apps/app/events",
            server.base_url()
        ))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 400);
}

/// `target/debug/examples/receive_callbacks`, built by `cargo test`.
fn receive_callbacks(args: &[&str]) -> std::process::Child {
    let mut path = std::env::current_exe().unwrap();
    path.pop();
    if path.ends_with("deps") {
        path.pop();
    }
    Command::new(path.join("examples").join("receive_callbacks"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[tokio::test]
async fn the_receive_callbacks_example_verifies_stand_in_deliveries() {
    let mut child = receive_callbacks(&[
        "--addr",
        "127.0.0.1:0",
        "--secret",
        "example-secret",
        "--secret",
        "previous-secret",
        "--tolerance-secs",
        "60",
    ]);
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = stdout.next().unwrap().unwrap();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");

    let server = MockServer::start().await.unwrap();
    let client = server.client_builder().build().unwrap();
    let right = format!("{url}/sinch");
    let wrong = format!("{url}/wrong-secret");
    let right_id = client
        .create_webhook("app", &right)
        .trigger("MESSAGE_INBOUND")
        .secret("example-secret")
        .send()
        .await
        .unwrap()
        .id
        .unwrap();
    client
        .create_webhook("app", &wrong)
        .trigger("MESSAGE_INBOUND")
        .secret("not-the-secret")
        .send()
        .await
        .unwrap();
    let deliveries = server
        .deliver_event(
            "app",
            "MESSAGE_INBOUND",
            serde_json::json!({"message": {"id": "m1"}}),
        )
        .await;
    let outcome = |target: &str| {
        deliveries
            .iter()
            .find(|d| d.target == target)
            .map(|d| d.outcome.clone())
    };
    assert_eq!(outcome(&right), Some(DeliveryOutcome::Status(200)));
    assert_eq!(outcome(&wrong), Some(DeliveryOutcome::Status(401)));

    assert_eq!(
        stdout.next().unwrap().unwrap(),
        "MESSAGE_INBOUND no content from contact -"
    );
    for (trigger, payload, line) in [
        (
            "MESSAGE_INBOUND",
            serde_json::json!({"contact_id": "c1", "contact_message": {"text_message": {"text": "hi there"}}}),
            r#"MESSAGE_INBOUND text "hi there" from contact c1"#,
        ),
        (
            "MESSAGE_DELIVERY",
            serde_json::json!({"message_id": "m2", "status": "FAILED", "reason": {"code": "RECIPIENT_NOT_REACHABLE"}}),
            "MESSAGE_DELIVERY message m2 FAILED (RECIPIENT_NOT_REACHABLE)",
        ),
    ] {
        client
            .update_webhook(&right_id)
            .triggers([trigger])
            .send()
            .await
            .unwrap();
        let sent = server.deliver_event("app", trigger, payload).await;
        assert!(
            sent.iter()
                .any(|d| d.outcome == DeliveryOutcome::Status(200)),
            "{sent:?}"
        );
        assert_eq!(stdout.next().unwrap().unwrap(), line);
    }
    // Sinch delivers the same event again: recognised, answered 200.
    let again = server
        .deliver_event(
            "app",
            "MESSAGE_DELIVERY",
            serde_json::json!({"message_id": "m2", "status": "FAILED", "reason": {"code": "RECIPIENT_NOT_REACHABLE"}}),
        )
        .await;
    assert!(
        again
            .iter()
            .any(|d| d.outcome == DeliveryOutcome::Status(200)),
        "{again:?}"
    );
    assert_eq!(
        stdout.next().unwrap().unwrap(),
        format!(
            "duplicate MESSAGE_DELIVERY {}/app/MESSAGE_DELIVERY:m2:FAILED",
            server.project_id()
        )
    );
    // Signed with the other secret it was given: accepted too (rotation).
    client
        .update_webhook(&right_id)
        .secret("previous-secret")
        .send()
        .await
        .unwrap();
    let rotated = server
        .deliver_event(
            "app",
            "MESSAGE_DELIVERY",
            serde_json::json!({"message_id": "m3", "status": "DELIVERED"}),
        )
        .await;
    assert!(
        rotated
            .iter()
            .any(|d| d.outcome == DeliveryOutcome::Status(200)),
        "{rotated:?}"
    );
    assert_eq!(
        stdout.next().unwrap().unwrap(),
        "MESSAGE_DELIVERY message m3 DELIVERED"
    );
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
}

#[test]
fn the_receive_callbacks_example_refuses_a_blank_secret() {
    for blank in ["", "   "] {
        let child = receive_callbacks(&["--addr", "127.0.0.1:0", "--secret", blank]);
        let output = child.wait_with_output().unwrap();
        assert_eq!(output.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("must not be empty or blank"), "{stderr}");
    }
}

#[tokio::test]
async fn a_password_in_a_target_url_is_not_recorded() {
    let sinch = sinch_conversation::mock::MockServer::start().await.unwrap();
    let webhook: sinch_conversation::Webhook = serde_json::from_value(serde_json::json!({
        "app_id": "app",
        "target": "http://user:hunter2@127.0.0.1:9/hook",
        "target_type": "HTTP",
        "triggers": ["MESSAGE_INBOUND"],
    }))
    .unwrap();
    sinch.seed_webhook(webhook);
    let deliveries = sinch
        .deliver_event("app", "MESSAGE_INBOUND", serde_json::json!({}))
        .await;
    let shown = format!("{deliveries:?} {:?}", sinch.deliveries());
    assert!(!shown.contains("hunter2"), "{shown}");
    assert_eq!(deliveries[0].target, "http://user:***@127.0.0.1:9/hook");
}

/// Every trigger's event, delivered by the stand-in, arrives as the real
/// envelope and parses back to the same variant with the same payload.
#[tokio::test]
async fn every_trigger_is_delivered_as_the_real_envelope() {
    let (url, received) = receiver("s").await;
    let server = MockServer::start().await.unwrap();
    let client = server.client_builder().build().unwrap();
    let triggers: Vec<WebhookTrigger> = WebhookTrigger::KNOWN
        .iter()
        .filter(|t| Event::key_of(t).is_some())
        .cloned()
        .collect();
    client
        .create_webhook("app", format!("{url}/all"))
        .triggers(triggers.clone())
        .secret("s")
        .send()
        .await
        .unwrap();

    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus/events");
    let mut checked = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let body = std::fs::read(entry.unwrap().path()).unwrap();
        let whole: serde_json::Value = serde_json::from_slice(&body).unwrap();
        // Through `Value`, as the stand-in sends it (keys sorted), so that
        // the JSON kept for unknown content compares equal.
        let expected =
            sinch_conversation::events::parse(&serde_json::to_vec(&whole).unwrap()).unwrap();
        let Some(trigger) = expected.trigger() else {
            continue;
        };
        let payload = whole[expected.event.key()].clone();
        // The payload alone goes under the trigger's key ...
        let sent = server.deliver_event("app", trigger.clone(), payload).await;
        assert_eq!(sent[0].outcome, DeliveryOutcome::Status(200), "{trigger}");
        let (_, valid, json, typed) = received.0.lock().unwrap().pop().unwrap();
        assert!(valid);
        let typed = typed.unwrap_or_else(|| panic!("{trigger}: {json}"));
        assert_eq!(typed.event, expected.event, "{trigger}");
        assert_eq!(
            (typed.app_id.as_str(), typed.project_id.as_str()),
            ("app", "mock-project")
        );
        let accepted = typed.accepted_time.expect("accepted_time");
        assert_eq!(typed.event_time, Some(accepted));
        assert!(
            json["accepted_time"].as_str().unwrap().len() == "2026-11-17T16:05:51.724083123Z".len()
        );
        // ... a payload holding the key is the whole event, its fields kept ...
        server
            .deliver_event("app", trigger.clone(), whole.clone())
            .await;
        let (_, _, _, typed) = received.0.lock().unwrap().pop().unwrap();
        assert_eq!(typed.as_ref(), Some(&expected), "{trigger}");
        // ... and an empty payload still parses to the trigger's variant.
        server
            .deliver_event("app", trigger.clone(), serde_json::Value::Null)
            .await;
        let (_, _, json, typed) = received.0.lock().unwrap().pop().unwrap();
        assert_eq!(
            typed.and_then(|t| t.trigger()),
            Some(trigger.clone()),
            "{json}"
        );
        checked.insert(trigger);
    }
    assert_eq!(checked.len(), triggers.len());
}

#[test]
fn the_receive_callbacks_example_keeps_its_flags_and_help_on_clap() {
    let help = receive_callbacks(&["--help"]).wait_with_output().unwrap();
    assert_eq!(help.status.code(), Some(0));
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(
        help.starts_with("receive_callbacks: verify and print Sinch Conversation API callbacks"),
        "{help}"
    );
    for flag in [
        "--secret S",
        "--addr ADDR",
        "--tolerance-secs N",
        "--redis URL",
    ] {
        assert!(help.contains(flag), "{flag}: {help}");
    }
    for args in [
        &["--nope"][..],
        &[],
        &["--secret", "s", "--tolerance-secs", "soon"],
    ] {
        let out = receive_callbacks(args).wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let named = args.first().copied().unwrap_or("--secret");
        assert!(
            stderr.contains(if args.len() == 4 {
                "--tolerance-secs"
            } else {
                named
            }),
            "{stderr}"
        );
    }
}
