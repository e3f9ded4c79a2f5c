//! Sinch's official Node SDK (`@sinch/sdk-core`), unmodified, against the
//! stand-in: it fetches an OAuth2 token and creates a webhook.
//!
//! Needs `node` and `npm ci --prefix tests/node-sdk` (which `.ci/run` does when
//! npm is available). Without them the test prints why and passes.
use std::path::Path;
use std::process::Command;

use sinch_conversation::WebhookTrigger;
use sinch_conversation::mock::MockServer;

#[tokio::test]
async fn official_node_sdk_creates_a_webhook_with_oauth2() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/node-sdk");
    if Command::new("node").arg("--version").output().is_err() {
        eprintln!(
            "SKIPPED official_node_sdk_creates_a_webhook_with_oauth2: `node` is not installed"
        );
        return;
    }
    if !dir.join("node_modules/@sinch/sdk-core").exists() {
        eprintln!(
            "SKIPPED official_node_sdk_creates_a_webhook_with_oauth2: run `npm ci --prefix tests/node-sdk` first"
        );
        return;
    }
    let server = MockServer::start().await.unwrap();
    let script = dir.join("create-webhook.mjs");
    let base_url = server.base_url().to_owned();
    let output = tokio::process::Command::new("node")
        .arg(&script)
        .args([
            base_url.as_str(),
            MockServer::DEFAULT_PROJECT_ID,
            MockServer::DEFAULT_KEY_ID,
            MockServer::DEFAULT_KEY_SECRET,
        ])
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "node failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
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
