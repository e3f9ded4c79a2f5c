//! The whole webhook lifecycle against the embedded stand-in: the client's
//! list, get, update and delete, the stand-in's Sinch behaviour for each
//! (project scoping, masks, the create rules on the result, freed slots),
//! and retries through the stand-in's fault injection.

use std::time::Duration;

use sinch_conversation::mock::{Fault, MockServer};
use sinch_conversation::{Client, Error, RetryPolicy, Webhook, WebhookTargetType, WebhookTrigger};

fn fast_retry() -> RetryPolicy {
    RetryPolicy::default().base_delay(Duration::from_millis(1))
}

async fn start() -> (MockServer, Client) {
    let server = MockServer::start().await.unwrap();
    let client = server.client_builder().retry(fast_retry()).build().unwrap();
    (server, client)
}

async fn create(client: &Client, app: &str, target: &str) -> Webhook {
    client
        .create_webhook(app, target)
        .trigger(WebhookTrigger::MessageInbound)
        .secret("s1")
        .send()
        .await
        .unwrap()
}

fn id(webhook: &Webhook) -> &str {
    webhook.id.as_deref().unwrap()
}

#[tokio::test]
async fn create_list_get_update_delete() {
    let (server, client) = start().await;
    assert_eq!(client.list_webhooks("app").await.unwrap(), vec![]);
    let first = create(&client, "app", "https://e.com/1").await;
    let second = create(&client, "app", "https://e.com/2").await;
    create(&client, "other-app", "https://e.com/1").await;

    assert_eq!(
        client.list_webhooks("app").await.unwrap(),
        vec![first.clone(), second.clone()]
    );
    assert_eq!(client.get_webhook(id(&first)).await.unwrap(), first);

    let updated = client
        .update_webhook(id(&first))
        .target("https://e.com/1b")
        .triggers([
            WebhookTrigger::MessageDelivery,
            WebhookTrigger::EventInbound,
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(updated.id, first.id);
    assert_eq!(updated.target.as_str(), "https://e.com/1b");
    assert_eq!(
        updated.triggers,
        [
            WebhookTrigger::MessageDelivery,
            WebhookTrigger::EventInbound
        ]
    );
    // Fields outside the mask are untouched.
    assert_eq!(updated.secret, first.secret);
    assert_eq!(updated.target_type, first.target_type);
    assert_eq!(client.get_webhook(id(&first)).await.unwrap(), updated);

    client.delete_webhook(id(&first)).await.unwrap();
    let err = client.get_webhook(id(&first)).await.unwrap_err();
    let Error::Api(api) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(api.status(), 404);
    assert_eq!(api.api_status(), Some("NOT_FOUND"));
    assert_eq!(client.list_webhooks("app").await.unwrap(), vec![second]);
    assert_eq!(server.webhooks("other-app").len(), 1);
}

#[tokio::test]
async fn a_deleted_webhook_frees_its_slot() {
    let (_server, client) = start().await;
    let mut made = Vec::new();
    for i in 0..5 {
        made.push(create(&client, "app", &format!("https://e.com/{i}")).await);
    }
    let sixth = client
        .create_webhook("app", "https://e.com/6")
        .trigger("MESSAGE_INBOUND")
        .send()
        .await;
    assert_eq!(sixth.unwrap_err().status(), Some(400));
    client.delete_webhook(id(&made[2])).await.unwrap();
    create(&client, "app", "https://e.com/6").await;
    // The deleted target may be used again too.
    client.delete_webhook(id(&made[0])).await.unwrap();
    create(&client, "app", "https://e.com/2").await;
    assert_eq!(client.list_webhooks("app").await.unwrap().len(), 5);
}

#[tokio::test]
async fn ids_are_scoped_to_their_project() {
    let server = MockServer::builder()
        .also_project("project-b")
        .start()
        .await
        .unwrap();
    let a = server.client_builder().build().unwrap();
    let b = server
        .client_builder()
        .project_id("project-b")
        .build()
        .unwrap();
    let mine = create(&a, "app", "https://e.com/a").await;
    for err in [
        b.get_webhook(id(&mine)).await.map(drop).unwrap_err(),
        b.delete_webhook(id(&mine)).await.unwrap_err(),
        b.update_webhook(id(&mine))
            .target("https://e.com/b")
            .send()
            .await
            .map(drop)
            .unwrap_err(),
    ] {
        let Error::Api(api) = &err else {
            panic!("{err:?}")
        };
        assert_eq!(
            (api.status(), api.api_status()),
            (404, Some("NOT_FOUND")),
            "{err}"
        );
    }
    assert_eq!(b.list_webhooks("app").await.unwrap(), vec![]);
    // Untouched in its own project; the same app id is separate in project B.
    assert_eq!(a.get_webhook(id(&mine)).await.unwrap(), mine);
    let theirs = create(&b, "app", "https://e.com/a").await;
    assert_eq!(server.project_webhooks("project-b", "app"), vec![theirs]);
    assert_eq!(server.webhooks("app"), vec![mine]);
    // A project the key is not valid for: 403, as for create.
    let c = server
        .client_builder()
        .project_id("project-c")
        .build()
        .unwrap();
    assert_eq!(
        c.list_webhooks("app").await.unwrap_err().status(),
        Some(403)
    );
}

// ---- The stand-in's update semantics, over raw HTTP -------------------------

async fn patch(
    server: &MockServer,
    id: &str,
    query: &str,
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    let response = reqwest::Client::new()
        .patch(format!(
            "{}/v1/projects/mock-project/webhooks/{id}{query}",
            server.base_url()
        ))
        .basic_auth("mock-key-id", Some("mock-key-secret"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

fn assert_invalid(answer: &(u16, serde_json::Value), mentions: &str) {
    let (status, body) = answer;
    assert_eq!(*status, 400, "{body}");
    assert_eq!(body["error"]["status"], "INVALID_ARGUMENT", "{body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(mentions),
        "{message:?} should mention {mentions:?}"
    );
}

#[tokio::test]
async fn the_stand_in_applies_masks_as_sinch_does() {
    let (server, client) = start().await;
    let webhook = create(&client, "app", "https://e.com/1").await;
    let other = create(&client, "app", "https://e.com/2").await;
    let w = id(&webhook);
    let body = serde_json::json!({
        "target": "https://e.com/new",
        "triggers": ["MESSAGE_DELIVERY"],
    });

    // Only masked fields are applied.
    let (status, answer) = patch(&server, w, "?update_mask=triggers", body.clone()).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["target"], "https://e.com/1");
    assert_eq!(answer["triggers"], serde_json::json!(["MESSAGE_DELIVERY"]));

    // The comma form and repeated parameters are both accepted.
    for query in [
        "?update_mask=target,triggers",
        "?update_mask=target&update_mask=triggers",
    ] {
        let (status, answer) = patch(&server, w, query, body.clone()).await;
        assert_eq!(status, 200, "{query}: {answer}");
        assert_eq!(answer["target"], "https://e.com/new", "{query}");
    }

    // A masked field missing from the body is cleared.
    let (status, answer) = patch(&server, w, "?update_mask=secret", serde_json::json!({})).await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer.get("secret").is_none(), "{answer}");
    assert_eq!(server.webhooks("app")[0].secret, None);

    // A mask-only update with no body at all (as Sinch's Python SDK sends
    // it, with or without a content type) reads as `{}`.
    let _ = patch(&server, w, "", serde_json::json!({"secret": "s1"})).await;
    for content_type in [None, Some("application/json")] {
        let mut request = reqwest::Client::new()
            .patch(format!(
                "{}/v1/projects/mock-project/webhooks/{w}?update_mask=secret",
                server.base_url()
            ))
            .basic_auth("mock-key-id", Some("mock-key-secret"));
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200, "{content_type:?}");
        assert_eq!(server.webhooks("app")[0].secret, None);
    }

    // Without a mask, the fields present in the body are applied.
    let (status, answer) = patch(
        &server,
        w,
        "",
        serde_json::json!({"target_type": "DISMISS", "secret": "s2"}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["target_type"], "DISMISS");
    assert_eq!(answer["target"], "https://e.com/new");
    assert_eq!(
        server.webhooks("app")[0]
            .secret
            .as_ref()
            .map(|s| s.expose()),
        Some("s2")
    );

    // Refusals: an unknown mask field, the create rules on the result, a
    // target another webhook of the app has, a cleared target.
    assert_invalid(
        &patch(&server, w, "?update_mask=id", body.clone()).await,
        "\"id\"",
    );
    let forbidden = serde_json::json!({"target": "https://conversation-api.eu.sinch.com/x"});
    assert_invalid(
        &patch(&server, w, "?update_mask=target", forbidden).await,
        "forbidden",
    );
    let long = serde_json::json!({"target": format!("https://e.com/{}", "a".repeat(742))});
    assert_invalid(&patch(&server, w, "?update_mask=target", long).await, "742");
    let duplicate = serde_json::json!({"target": other.target.as_str()});
    assert_invalid(
        &patch(&server, w, "?update_mask=target", duplicate).await,
        "already exists",
    );
    assert_invalid(
        &patch(&server, w, "?update_mask=target", serde_json::json!({})).await,
        "target",
    );
    let unknown = serde_json::json!({"triggers": ["NOT_A_TRIGGER"]});
    assert_invalid(
        &patch(&server, w, "?update_mask=triggers", unknown).await,
        "NOT_A_TRIGGER",
    );
    // Nothing refused was applied.
    assert_eq!(
        server.webhooks("app")[0].target.as_str(),
        "https://e.com/new"
    );
    assert_eq!(
        server.webhooks("app")[0].target_type,
        Some(WebhookTargetType::Dismiss)
    );

    // An unknown id: 404 in Sinch's format.
    let (status, answer) = patch(&server, "NOPE", "?update_mask=target", body).await;
    assert_eq!(status, 404);
    assert_eq!(answer["error"]["status"], "NOT_FOUND");
}

#[tokio::test]
async fn the_stand_in_answers_delete_with_an_empty_object_and_logs_every_operation() {
    let (server, client) = start().await;
    let webhook = create(&client, "app", "https://e.com/1").await;
    let response = reqwest::Client::new()
        .delete(format!(
            "{}/v1/projects/mock-project/webhooks/{}",
            server.base_url(),
            id(&webhook)
        ))
        .basic_auth("mock-key-id", Some("mock-key-secret"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "{}");

    server.clear_requests();
    let webhook = create(&client, "app", "https://e.com/1").await;
    client.list_webhooks("app").await.unwrap();
    client.get_webhook(id(&webhook)).await.unwrap();
    client
        .update_webhook(id(&webhook))
        .trigger("MESSAGE_DELIVERY")
        .target("https://e.com/3")
        .send()
        .await
        .unwrap();
    client.delete_webhook(id(&webhook)).await.unwrap();
    let log: Vec<(String, String, Option<String>, u16)> = server
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/v1/"))
        .map(|r| (r.method, r.path, r.query, r.status))
        .collect();
    let path = format!("/v1/projects/mock-project/webhooks/{}", id(&webhook));
    assert_eq!(
        log,
        [
            (
                "POST".into(),
                "/v1/projects/mock-project/webhooks".into(),
                None,
                200
            ),
            (
                "GET".into(),
                "/v1/projects/mock-project/apps/app/webhooks".into(),
                None,
                200
            ),
            ("GET".into(), path.clone(), None, 200),
            (
                "PATCH".into(),
                path.clone(),
                Some("update_mask=target,triggers".into()),
                200
            ),
            ("DELETE".into(), path, None, 200),
        ]
    );
}

// ---- Retries through fault injection -----------------------------------------

#[tokio::test]
async fn reads_are_retried_after_server_errors_and_lost_connections() {
    let (server, client) = start().await;
    let webhook = create(&client, "app", "https://e.com/1").await;
    server.clear_requests();
    server.fail_next(
        1,
        Fault::Status {
            status: 503,
            retry_after: None,
        },
    );
    assert_eq!(client.get_webhook(id(&webhook)).await.unwrap(), webhook);
    server.fail_next(1, Fault::DropConnection);
    assert_eq!(client.get_webhook(id(&webhook)).await.unwrap(), webhook);
    server.fail_next(
        2,
        Fault::Status {
            status: 500,
            retry_after: None,
        },
    );
    assert_eq!(
        client.list_webhooks("app").await.unwrap(),
        vec![webhook.clone()]
    );
    server.fail_next(1, Fault::DropConnection);
    assert_eq!(client.list_webhooks("app").await.unwrap(), vec![webhook]);
    let statuses: Vec<u16> = server.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [503, 200, 0, 200, 500, 500, 200, 0, 200]);
}

#[tokio::test]
async fn a_delete_applied_before_a_lost_answer_succeeds_on_its_retry() {
    let (server, client) = start().await;
    for fault in [
        Fault::DropAfterApplying,
        Fault::StatusAfterApplying { status: 500 },
    ] {
        let webhook = create(&client, "app", "https://e.com/1").await;
        server.clear_requests();
        server.fail_next(1, fault.clone());
        client.delete_webhook(id(&webhook)).await.unwrap();
        let deletes: Vec<u16> = server.requests().iter().map(|r| r.status).collect();
        // Applied (answer lost), then the retry finds it gone: success.
        assert!(
            matches!(deletes[..], [0 | 500, 404]),
            "{fault:?}: {deletes:?}"
        );
        assert!(server.webhooks("app").is_empty());
    }
}

#[tokio::test]
async fn an_update_applied_before_a_lost_answer_is_applied_again() {
    let (server, client) = start().await;
    let webhook = create(&client, "app", "https://e.com/1").await;
    for (i, fault) in [
        Fault::DropAfterApplying,
        Fault::StatusAfterApplying { status: 503 },
    ]
    .into_iter()
    .enumerate()
    {
        server.fail_next(1, fault.clone());
        let target = format!("https://e.com/updated-{i}");
        let updated = client
            .update_webhook(id(&webhook))
            .target(&target)
            .send()
            .await
            .unwrap();
        assert_eq!(updated.target.as_str(), target, "{fault:?}");
        assert_eq!(server.webhooks("app"), vec![updated]);
    }
}

#[tokio::test]
async fn a_create_applied_before_a_lost_answer_is_not_resent() {
    let (server, _) = start().await;
    // Without the look-up afterwards (`tests/provisioning.rs` has it): the
    // error as it came.
    let client = server
        .client_builder()
        .recover_ambiguous_creates(false)
        .build()
        .unwrap();
    // A first call fetches the token, so the fault hits the create.
    assert!(client.list_webhooks("app").await.unwrap().is_empty());
    server.fail_next(1, Fault::StatusAfterApplying { status: 500 });
    let err = client
        .create_webhook("app", "https://e.com/1")
        .trigger("MESSAGE_INBOUND")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(500));
    let posts = server
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.starts_with("/v1/"))
        .count();
    assert_eq!(posts, 1);
    // It exists: what the caller must check (list) before creating again.
    assert_eq!(client.list_webhooks("app").await.unwrap().len(), 1);
}
