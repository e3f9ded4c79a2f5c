//! What the crash tests share: a stand-in that delivers as Sinch does (at
//! least once, retried with constant waits, shuffled) to two webhooks, and
//! a handler script in a directory of the test's own.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use sinch_conversation::mock::MockServer;

/// A fresh directory with `handler` as `handler.sh`, and the command that
/// runs it (`exec`: the handler is the shell that dies with its runner),
/// given the directory as `$1`.
pub fn handler(test: &str, handler: &str) -> (PathBuf, String) {
    let dir = std::env::temp_dir().join(format!("sinch-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("handler.sh");
    std::fs::write(&script, handler).unwrap();
    let command = format!("exec sh '{}' '{}'", script.display(), dir.display());
    (dir, command)
}

/// A stand-in delivering every callback twice, retried `retries` times
/// 200 ms apart (outlasting a receiver down or a claim held), shuffled, at
/// `rate` callbacks a second, to one webhook of `app` per port (signed with
/// `secret`, MESSAGE_INBOUND).
pub async fn stand_in(
    app: &str,
    secret: &str,
    ports: &[u16],
    retries: u32,
    rate: u32,
) -> Arc<MockServer> {
    let sinch = Arc::new(
        MockServer::builder()
            .delivery_retries(retries)
            .delivery_backoff(Duration::from_millis(200))
            .delivery_backoff_factor(1)
            .delivery_timeout(Duration::from_secs(3))
            .duplicate_deliveries(true)
            .shuffle_deliveries(fastrand::u64(..))
            .callback_rate(rate)
            .start()
            .await
            .unwrap(),
    );
    let client = sinch.client_builder().build().unwrap();
    for port in ports {
        client
            .create_webhook(app, format!("http://127.0.0.1:{port}/"))
            .trigger("MESSAGE_INBOUND")
            .secret(secret)
            .send()
            .await
            .unwrap();
    }
    sinch
}

/// One MESSAGE_INBOUND event per id.
pub fn batch(ids: &[String]) -> Vec<(&'static str, serde_json::Value)> {
    ids.iter()
        .map(|id| ("MESSAGE_INBOUND", serde_json::json!({ "id": id })))
        .collect()
}
