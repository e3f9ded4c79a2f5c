//! No secret reaches `Debug`, `Display`, an error or tracing output.
//!
//! Its own test binary: it installs a global tracing subscriber, and tracing
//! caches per-callsite interest across threads, so sharing a binary with other
//! tests would make the captured output depend on test order.
mod common;

use std::sync::{Arc, Mutex};

use common::*;
use sinch_conversation::{Client, NewClientCredentials, Region};

/// Writes tracing output into a buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn secrets_never_reach_debug_display_errors_or_traces() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let (server, url) = serve().await;
    // The token itself is a sentinel too.
    server.script_tokens([reply(
        200,
        &format!(r#"{{"access_token":"{SENTINEL}","expires_in":3600}}"#),
    )]);
    server.script_api([expired_401()]);
    let client = oauth(&url);
    let builder = Client::builder()
        .project_id("p")
        .region(Region::Eu)
        .oauth2("k", SENTINEL);
    // URL passwords are secrets too: in the target and the token endpoint.
    let target = format!("https://user:{SENTINEL}@e.com/1");
    let endpoint = format!("https://id:{SENTINEL}@auth.example.com/t");
    let create = client
        .create_webhook("A", &target)
        .trigger("MESSAGE_INBOUND")
        .secret(SENTINEL)
        .client_credentials(NewClientCredentials::new("cid", SENTINEL, &endpoint));
    let mut shown = vec![
        format!("{client:?}"),
        format!("{builder:?}"),
        format!("{create:?}"),
    ];
    let webhook = create.clone().send().await.unwrap();
    shown.push(format!("{webhook:?}"));
    shown.push(format!("{:?}", create.build().unwrap()));
    shown.push(format!("{:?}", create.as_new_webhook()));

    // Errors from a request full of secrets.
    server.script_api([reply(500, "{}")]);
    let err = create.clone().send().await.unwrap_err();
    shown.push(format!("{err} {err:?}"));
    // A server (or a proxy's error page) that echoes the request: its body,
    // its message and details, the Authorization header.
    let sent = String::from_utf8_lossy(&server.api_calls().last().unwrap().body).into_owned();
    let echo = serde_json::json!({
        "error": {
            "code": 400,
            "message": format!("bad request {sent} Authorization: Bearer {SENTINEL}"),
            "status": format!("INVALID_ARGUMENT {SENTINEL}"),
            "details": [{"type_url": "x", "value": sent}],
        }
    });
    server.script_api([reply(400, &echo.to_string())]);
    let err = create.clone().send().await.unwrap_err();
    let sinch_conversation::Error::Api(api) = &err else {
        panic!("{err:?}")
    };
    shown.push(format!(
        "{} {:?} {:?}",
        api.body(),
        api.message(),
        api.details()
    ));
    shown.push(format!("{err} {err:?}"));
    // A 2xx that does not decode, quoting the secret.
    server.script_api([reply(
        200,
        &format!(r#"{{"target": 5, "secret": "{SENTINEL}", "x": {SENTINEL:?}}}"#),
    )]);
    let err = create.clone().send().await.unwrap_err();
    shown.push(format!("{err} {err:?}"));

    // Provisioning's results and errors.
    let ensured = client
        .ensure_webhook("A", &target)
        .trigger("MESSAGE_INBOUND")
        .secret(SENTINEL)
        .client_credentials(NewClientCredentials::new("cid", SENTINEL, &endpoint));
    shown.push(format!("{ensured:?}"));
    let ensured = ensured.send().await.unwrap();
    shown.push(format!("{ensured:?}"));
    let mut desired = sinch_conversation::NewWebhook::new("A", &target);
    desired.triggers = vec!["MESSAGE_INBOUND".into()];
    desired.secret = Some(SENTINEL.into());
    desired.client_credentials = Some(NewClientCredentials::new("cid", SENTINEL, &endpoint));
    shown.push(format!("{desired:?}"));
    let sync = client.sync_webhooks("A", [desired.clone()]);
    shown.push(format!("{sync:?}"));
    shown.push(format!("{:?}", sync.plan().await.unwrap()));
    let report = sync.send().await.unwrap();
    shown.push(format!("{report:?}"));
    let outcomes = client
        .sync_many([("A".to_owned(), vec![desired.clone()])], 1, |_| {})
        .await;
    shown.push(format!("{outcomes:?}"));
    // A list answer that is not safe to act on names the entries.
    let listed = serde_json::json!({"webhooks": [
        {"id": "W9", "app_id": "other", "target": target, "secret": SENTINEL},
    ]});
    server.script_api([reply(200, &listed.to_string())]);
    let err = client
        .sync_webhooks("A", [desired])
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(err, sinch_conversation::Error::UnexpectedAnswer(_)),
        "{err:?}"
    );
    shown.push(format!("{err} {err:?}"));
    let bad = client
        .create_webhook("", format!("ftp://user:{SENTINEL}@x"))
        .secret(SENTINEL)
        .client_credentials(NewClientCredentials::new("", SENTINEL, SENTINEL));
    let err = bad.send().await.unwrap_err();
    shown.push(format!("{err} {err:?}"));
    let bad_key = Client::builder()
        .project_id("p")
        .base_url(&url)
        .auth_base_url(&url)
        .oauth2("k", SENTINEL)
        .build()
        .unwrap();
    server.script_tokens([reply(401, r#"{"error":"invalid_client"}"#)]);
    let err = send_one(&bad_key, "https://e.com").await.unwrap_err();
    shown.push(format!("{err} {err:?}"));

    // Updates carry secrets too: the builder, the dry run and the answer.
    let update = client
        .update_webhook("W1")
        .target("https://e.com/2")
        .secret(SENTINEL)
        .client_credentials(NewClientCredentials::new(
            "cid",
            SENTINEL,
            "https://auth.example.com/t",
        ));
    shown.push(format!("{update:?}"));
    shown.push(format!("{:?}", update.changes()));
    let dry_run = update.build().unwrap();
    shown.push(format!("{dry_run:?}"));
    shown.push(sinch_conversation::redacted_json(&dry_run.body).to_string());
    let updated = update.clone().send().await.unwrap();
    shown.push(format!("{updated:?}"));
    server.script_api([reply(400, "{}")]);
    let err = update.send().await.unwrap_err();
    shown.push(format!("{err} {err:?}"));

    // Receiving: verifiers with several secrets, the receiver, a rejection.
    let verifier = sinch_conversation::callbacks::Verifier::with_secrets([SENTINEL, "other"]);
    shown.push(format!("{verifier:?}"));
    let receiver = sinch_conversation::receive::Receiver::with_verifier(verifier);
    shown.push(format!("{receiver:?}"));
    let forged = receiver
        .receive(&axum::http::HeaderMap::new(), b"{}")
        .await
        .unwrap_err();
    shown.push(format!("{forged} {forged:?}"));

    let traces = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    for text in shown.iter().chain([&traces]) {
        assert!(!text.contains(SENTINEL), "secret leaked in: {text}");
        assert!(
            !text.contains(&base64_of(&format!("k:{SENTINEL}"))),
            "encoded secret leaked in: {text}"
        );
    }
    // The span carries what an operator needs.
    for field in [
        "sinch.request",
        "operation=\"create_webhook\"",
        "method=\"POST\"",
        "path=/v1/projects/proj/webhooks",
        "status=200",
        "duration_ms=",
        "retries=0",
        "create_webhook succeeded",
        "operation=\"update_webhook\"",
        "method=\"PATCH\"",
        "path=/v1/projects/proj/webhooks/W1",
        "update_webhook succeeded",
        "update_webhook failed",
    ] {
        assert!(
            traces.contains(field),
            "{field} missing from traces:\n{traces}"
        );
    }
}
