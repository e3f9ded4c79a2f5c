//! list, get, update and delete against a raw recording server on loopback:
//! what goes on the wire (methods, paths, the update mask's form, no other
//! query parameter), what answers decode to, and which failures are resent.

mod common;

use std::time::Duration;

use common::*;
use sinch_conversation::{Client, Error, WebhookTrigger};

const WEBHOOK: &str = r#"{"id":"W1","app_id":"A","target":"https://e.com/h","target_type":"HTTP","triggers":["MESSAGE_INBOUND"]}"#;

#[tokio::test]
async fn the_update_mask_goes_out_as_one_comma_separated_parameter() {
    let (server, url) = serve().await;
    server.script_api([reply(200, WEBHOOK)]);
    basic(&url)
        .update_webhook("W1")
        .target("https://e.com/new")
        .triggers([
            WebhookTrigger::MessageInbound,
            WebhookTrigger::MessageDelivery,
        ])
        .send()
        .await
        .unwrap();
    let calls = server.api_calls();
    assert_eq!(calls.len(), 1);
    let call = &calls[0];
    assert_eq!(call.method, "PATCH");
    assert_eq!(call.path, "/v1/projects/proj/webhooks/W1");
    // Exactly Sinch's form: one parameter, literal commas, nothing else (the
    // generated code alone would send `update_mask=target&update_mask=triggers`).
    assert_eq!(call.query.as_deref(), Some("update_mask=target,triggers"));
    assert_eq!(header(call, "content-type"), "application/json");
    let body: serde_json::Value = serde_json::from_slice(&call.body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({
            "target": "https://e.com/new",
            "triggers": ["MESSAGE_INBOUND", "MESSAGE_DELIVERY"],
        })
    );
}

#[tokio::test]
async fn clearing_sends_the_field_in_the_mask_and_not_in_the_body() {
    let (server, url) = serve().await;
    server.script_api([reply(200, WEBHOOK)]);
    basic(&url)
        .update_webhook("W1")
        .clear_secret()
        .clear_client_credentials()
        .send()
        .await
        .unwrap();
    let call = &server.api_calls()[0];
    assert_eq!(
        call.query.as_deref(),
        Some("update_mask=client_credentials,secret")
    );
    assert_eq!(&call.body[..], b"{}");
}

#[tokio::test]
async fn list_get_and_delete_on_the_wire() {
    let (server, url) = serve().await;
    let client = basic(&url);
    server.script_api([
        reply(200, &format!(r#"{{"webhooks":[{WEBHOOK}]}}"#)),
        reply(200, WEBHOOK),
        reply(200, "{}"),
        reply(200, ""),
    ]);
    let listed = client.list_webhooks("A").await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id.as_deref(), Some("W1"));
    let got = client.get_webhook("W1").await.unwrap();
    assert_eq!(got, listed[0]);
    // 200 with `{}` and with an empty body are both a success.
    client.delete_webhook("W1").await.unwrap();
    client.delete_webhook("W1").await.unwrap();
    let calls = server.api_calls();
    let seen: Vec<(&str, &str, Option<&str>)> = calls
        .iter()
        .map(|c| (c.method.as_str(), c.path.as_str(), c.query.as_deref()))
        .collect();
    assert_eq!(
        seen,
        [
            ("GET", "/v1/projects/proj/apps/A/webhooks", None),
            ("GET", "/v1/projects/proj/webhooks/W1", None),
            ("DELETE", "/v1/projects/proj/webhooks/W1", None),
            ("DELETE", "/v1/projects/proj/webhooks/W1", None),
        ]
    );
    for call in &calls {
        let expected = format!("Basic {}", base64_of(&format!("kid:{SENTINEL}")));
        assert_eq!(header(call, "authorization"), expected);
        assert!(call.body.is_empty(), "{} sends no body", call.method);
    }
}

#[tokio::test]
async fn an_app_without_webhooks_lists_none() {
    let (server, url) = serve().await;
    server.script_api([reply(200, "{}")]);
    assert_eq!(basic(&url).list_webhooks("A").await.unwrap(), vec![]);
}

#[tokio::test]
async fn decode_errors_name_the_field_for_every_operation() {
    let (server, url) = serve().await;
    let client = basic(&url);
    server.script_api([
        reply(
            200,
            r#"{"webhooks":[{"target":"https://e.com"},{"target":5}]}"#,
        ),
        reply(200, r#"{"target":["x"]}"#),
    ]);
    match client.list_webhooks("A").await {
        Err(Error::Decode(e)) => assert_eq!(e.field(), "webhooks[1].target"),
        other => panic!("expected a decode error, got {other:?}"),
    }
    match client.get_webhook("W1").await {
        Err(Error::Decode(e)) => assert_eq!(e.field(), "target"),
        other => panic!("expected a decode error, got {other:?}"),
    }
}

#[tokio::test]
async fn ids_in_the_path_and_empty_updates_are_refused_before_sending() {
    let (server, url) = serve().await;
    let client = basic(&url);
    for bad in ["", "a/b", "x?y", "w#1", "%2e"] {
        let err = client.get_webhook(bad).await.unwrap_err();
        assert!(
            matches!(&err, Error::Validation(v) if v.at("webhook_id").is_some()),
            "{bad:?}: {err:?}"
        );
        let err = client.delete_webhook(bad).await.unwrap_err();
        assert!(
            matches!(&err, Error::Validation(v) if v.at("webhook_id").is_some()),
            "{bad:?}: {err:?}"
        );
        let err = client.list_webhooks(bad).await.unwrap_err();
        assert!(
            matches!(&err, Error::Validation(v) if v.at("app_id").is_some()),
            "{bad:?}: {err:?}"
        );
        let err = client
            .update_webhook(bad)
            .target("https://e.com")
            .send()
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::Validation(v) if v.at("webhook_id").is_some()),
            "{bad:?}: {err:?}"
        );
    }
    let err = client.update_webhook("W1").send().await.unwrap_err();
    assert!(
        matches!(&err, Error::Validation(v) if v.at("update_mask").is_some()),
        "{err:?}"
    );
    // Every violation of the set fields at once, with its JSON path.
    let err = client
        .update_webhook("W1")
        .target("https://conversation-api.us.sinch.com/x")
        .triggers(Vec::<WebhookTrigger>::new())
        .send()
        .await
        .unwrap_err();
    let Error::Validation(v) = &err else {
        panic!("{err:?}")
    };
    let paths: Vec<&str> = v.violations().iter().map(|v| v.path()).collect();
    assert_eq!(paths, ["target", "triggers"]);
    assert!(server.api_calls().is_empty(), "nothing was sent");
}

/// Runs operation `op` once (webhook `W1` of app `A`), its answer dropped.
async fn call(client: &Client, op: &str) -> Result<(), Error> {
    match op {
        "get" => client.get_webhook("W1").await.map(drop),
        "list" => client.list_webhooks("A").await.map(drop),
        "delete" => client.delete_webhook("W1").await,
        "update" => client
            .update_webhook("W1")
            .target("https://e.com/x")
            .send()
            .await
            .map(drop),
        _ => send_one(client, "https://e.com/x").await.map(drop),
    }
}

/// One failure, then success: how many requests were made.
async fn attempts_after(failure: Reply, op: &str) -> (Result<(), Error>, usize) {
    let (server, url) = serve().await;
    let client = basic(&url);
    server.script_api([failure, reply(200, WEBHOOK)]);
    let result = call(&client, op).await;
    (result, server.api_calls().len())
}

#[tokio::test]
async fn server_errors_are_resent_for_idempotent_operations_only() {
    for op in ["get", "list", "delete", "update"] {
        for status in [500, 502, 503, 504] {
            let (result, calls) = attempts_after(reply(status, "{}"), op).await;
            assert!(result.is_ok(), "{op} after {status}: {result:?}");
            assert_eq!(calls, 2, "{op} after {status}");
        }
        // Not for what will fail again the same way.
        for status in [400, 401, 403, 404, 501] {
            let (result, calls) = attempts_after(reply(status, "{}"), op).await;
            assert_eq!(result.unwrap_err().status(), Some(status), "{op}");
            assert_eq!(calls, 1, "{op} after {status}");
        }
    }
    // create: a 5xx may have created the webhook; never resent.
    let (result, calls) = attempts_after(reply(503, "{}"), "create").await;
    assert_eq!(result.unwrap_err().status(), Some(503));
    assert_eq!(calls, 1);
}

#[tokio::test]
async fn timeouts_are_resent_for_idempotent_operations_only() {
    let slow = || Reply {
        delay: Duration::from_millis(400),
        ..reply(200, WEBHOOK)
    };
    for op in ["get", "list", "delete", "update", "create"] {
        let (server, url) = serve().await;
        let client = Client::builder()
            .project_id("proj")
            .base_url(&url)
            .basic_auth("kid", SENTINEL)
            .timeout(Duration::from_millis(150))
            .retry(fast_retry())
            .build()
            .unwrap();
        server.script_api([slow(), reply(200, WEBHOOK)]);
        let result = call(&client, op).await;
        if op == "create" {
            assert!(matches!(result, Err(Error::Transport(_))), "{result:?}");
            let posts = server
                .api_calls()
                .iter()
                .filter(|c| c.method == "POST")
                .count();
            assert_eq!(posts, 1, "create after a timeout");
        } else {
            assert!(result.is_ok(), "{op}: {result:?}");
            assert_eq!(server.api_calls().len(), 2, "{op} after a timeout");
        }
    }
}

#[tokio::test]
async fn a_first_404_is_an_error_and_a_404_after_a_429_too() {
    let (server, url) = serve().await;
    let client = basic(&url);
    server.script_api([reply(404, r#"{"error":{"code":404,"status":"NOT_FOUND"}}"#)]);
    let err = client.delete_webhook("W1").await.unwrap_err();
    assert_eq!(err.status(), Some(404));
    // A 429 was not processed: the 404 after it means there was nothing.
    let mut limited = reply(429, "{}");
    limited.headers.push(("retry-after", "0".into()));
    server.script_api([limited, reply(404, "{}")]);
    let err = client.delete_webhook("W1").await.unwrap_err();
    assert_eq!(err.status(), Some(404));
}

#[tokio::test]
async fn a_404_after_a_server_error_means_the_delete_was_applied() {
    let (server, url) = serve().await;
    server.script_api([reply(503, "{}"), reply(404, "{}")]);
    basic(&url).delete_webhook("W1").await.unwrap();
    assert_eq!(server.api_calls().len(), 2);
}

#[tokio::test]
async fn a_2xx_other_than_200_carrying_the_answer_is_a_success() {
    let (server, url) = serve().await;
    let client = basic(&url);
    // A created webhook reported as a failure would invite a duplicate.
    server.script_api([reply(201, WEBHOOK)]);
    let created = send_one(&client, "https://e.com/h").await.unwrap();
    assert_eq!(created.id.as_deref(), Some("W1"));
    server.script_api([
        reply(203, WEBHOOK),
        reply(202, &format!(r#"{{"webhooks":[{WEBHOOK}]}}"#)),
    ]);
    assert_eq!(client.get_webhook("W1").await.unwrap(), created);
    assert_eq!(client.list_webhooks("A").await.unwrap(), vec![created]);
    // A delete's 204 (no body) and 202 `{}`.
    server.script_api([reply(204, ""), reply(202, "{}")]);
    client.delete_webhook("W1").await.unwrap();
    client.delete_webhook("W1").await.unwrap();
    // A 2xx whose body is not the answer is a decode error naming the field.
    server.script_api([reply(201, r#"{"target": 7}"#), reply(204, "")]);
    match send_one(&client, "https://e.com/h").await {
        Err(Error::Decode(e)) => assert_eq!(e.field(), "target"),
        other => panic!("expected a decode error, got {other:?}"),
    }
    assert!(matches!(
        client.get_webhook("W1").await,
        Err(Error::Decode(_))
    ));
    assert_eq!(server.api_calls().len(), 7, "nothing was resent");
}
