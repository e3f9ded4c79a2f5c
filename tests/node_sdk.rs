//! Sinch's official Node SDK (`@sinch/sdk-core`), unmodified, against the
//! stand-in: it fetches an OAuth2 token and creates a webhook; it lists,
//! gets, updates (with a mask) and deletes webhooks, and what it sees agrees
//! with what this crate sees.
//!
//! Needs `node` and `npm ci --prefix tests/node-sdk` (which `.ci/run` does when
//! npm is available). Without them the test prints why and passes.
use std::path::Path;
use std::process::Command;

use sinch_conversation::mock::MockServer;
use sinch_conversation::{Error, WebhookTrigger};

/// The directory of the Node scripts, or `None` (with the reason printed)
/// when node or the SDK is missing.
fn node_sdk(test: &str) -> Option<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/node-sdk");
    if Command::new("node").arg("--version").output().is_err() {
        eprintln!("SKIPPED {test}: `node` is not installed");
        return None;
    }
    if !dir.join("node_modules/@sinch/sdk-core").exists() {
        eprintln!("SKIPPED {test}: run `npm ci --prefix tests/node-sdk` first");
        return None;
    }
    Some(dir)
}

/// Runs `script` with the stand-in's URL, project and key, then `extra`;
/// its output, after checking that it succeeded.
async fn node(script: &Path, server: &MockServer, extra: &[&str]) -> std::process::Output {
    let output = tokio::process::Command::new("node")
        .arg(script)
        .args([
            server.base_url(),
            MockServer::DEFAULT_PROJECT_ID,
            MockServer::DEFAULT_KEY_ID,
            MockServer::DEFAULT_KEY_SECRET,
        ])
        .args(extra)
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "node failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

#[tokio::test]
async fn official_node_sdk_creates_a_webhook_with_oauth2() {
    let Some(dir) = node_sdk("official_node_sdk_creates_a_webhook_with_oauth2") else {
        return;
    };
    let server = MockServer::start().await.unwrap();
    let output = node(&dir.join("create-webhook.mjs"), &server, &[]).await;
    let webhook: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(webhook["app_id"], "node-app");
    assert_eq!(webhook["id"].as_str().map(str::len), Some(26));

    let stored = server.webhooks("node-app");
    assert_eq!(stored.len(), 1);
    assert_eq!(
        stored[0].triggers,
        [
            WebhookTrigger::MessageInbound,
            WebhookTrigger::MessageDelivery
        ]
    );
    let seen: Vec<(String, &str, u16)> = server
        .requests()
        .iter()
        .map(|r| (r.path.clone(), r.auth, r.status))
        .collect();
    assert_eq!(
        seen,
        [
            ("/oauth2/token".to_owned(), "basic", 200),
            (
                "/v1/projects/mock-project/webhooks".to_owned(),
                "bearer",
                200
            ),
        ]
    );
}

#[tokio::test]
async fn official_node_sdk_lists_gets_updates_and_deletes_as_we_do() {
    let Some(dir) = node_sdk("official_node_sdk_lists_gets_updates_and_deletes_as_we_do") else {
        return;
    };
    let server = MockServer::start().await.unwrap();
    let client = server.client_builder().build().unwrap();
    let mut made = Vec::new();
    for target in ["https://example.com/a", "https://example.com/b"] {
        let webhook = client
            .create_webhook("shared-app", target)
            .trigger(WebhookTrigger::MessageInbound)
            .secret("kept")
            .send()
            .await
            .unwrap();
        made.push(webhook);
    }
    let ours_listed = client.list_webhooks("shared-app").await.unwrap();
    let (update_id, delete_id) = (made[0].id.clone().unwrap(), made[1].id.clone().unwrap());
    let ours_got = client.get_webhook(&update_id).await.unwrap();

    server.clear_requests();
    let output = node(
        &dir.join("lifecycle.mjs"),
        &server,
        &["shared-app", &update_id, &delete_id],
    )
    .await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    // The SDK logs to stdout too; the answer is the last line.
    let last = stdout.lines().last().unwrap_or_default();
    let node: serde_json::Value =
        serde_json::from_str(last).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    // The wire as the SDK sent it: the mask in Sinch's comma form.
    let seen: Vec<(String, Option<String>, u16)> = server
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/v1/"))
        .map(|r| (r.method.clone(), r.query.clone(), r.status))
        .collect();
    let json = |v: &dyn ErasedSerialize| v.to_json();

    // The same answers, read by both.
    assert_eq!(node["listed"]["webhooks"], json(&ours_listed));
    assert_eq!(node["got"], json(&ours_got));
    let ours_after = client.get_webhook(&update_id).await.unwrap();
    assert_eq!(node["updated"], json(&ours_after));
    // Only the masked fields changed.
    assert_eq!(
        ours_after.target.as_str(),
        "https://example.com/updated-by-node"
    );
    assert_eq!(ours_after.triggers, [WebhookTrigger::MessageDelivery]);
    assert_eq!(ours_after.secret.as_ref().map(|s| s.expose()), Some("kept"));
    // Deleted for us too; the SDK saw its own 404.
    match client.get_webhook(&delete_id).await {
        Err(Error::Api(e)) => assert_eq!(e.status(), 404),
        other => panic!("expected 404, got {other:?}"),
    }
    assert_ne!(node["missing"], "found", "{node}");
    assert_eq!(
        client.list_webhooks("shared-app").await.unwrap(),
        vec![ours_after]
    );

    assert_eq!(
        seen,
        [
            ("GET".to_owned(), None, 200),
            ("GET".to_owned(), None, 200),
            (
                "PATCH".to_owned(),
                Some("update_mask=target,triggers".to_owned()),
                200
            ),
            ("DELETE".to_owned(), None, 200),
            ("GET".to_owned(), None, 404),
        ]
    );
}

/// JSON of anything serialisable, with secrets in clear (as on the wire).
trait ErasedSerialize {
    fn to_json(&self) -> serde_json::Value;
}

impl<T: serde::Serialize> ErasedSerialize for T {
    fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap()
    }
}
