//! `ensure_webhook` and the recovery of ambiguous creates, against the
//! stand-in and its fault injection.

use std::time::Duration;

use sinch_conversation::mock::{Fault, MockServer};
use sinch_conversation::{
    Client, Ensured, Error, NewClientCredentials, RetryPolicy, WebhookTrigger,
};

async fn start() -> (MockServer, Client) {
    let server = MockServer::start().await.unwrap();
    let client = server
        .client_builder()
        .retry(RetryPolicy::default().base_delay(Duration::from_millis(1)))
        .build()
        .unwrap();
    // Fetch the token now, so faults hit the API requests.
    client.list_webhooks("warm-up").await.unwrap();
    server.clear_requests();
    (server, client)
}

/// (method, query) of the API requests so far.
fn api_requests(server: &MockServer) -> Vec<(String, Option<String>)> {
    server
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/v1/"))
        .map(|r| (r.method, r.query))
        .collect()
}

#[tokio::test]
async fn ensure_creates_then_changes_nothing_then_updates_only_what_differs() {
    let (server, client) = start().await;
    let ensure = || {
        client
            .ensure_webhook("app", "https://e.com/h")
            .triggers([
                WebhookTrigger::MessageInbound,
                WebhookTrigger::MessageDelivery,
            ])
            .secret("s1")
    };
    let created = ensure().send().await.unwrap();
    assert!(matches!(created, Ensured::Created(_)), "{created:?}");

    server.clear_requests();
    let again = ensure().send().await.unwrap();
    assert_eq!(again, Ensured::Unchanged(created.webhook().clone()));
    assert_eq!(
        api_requests(&server),
        [("GET".to_owned(), None)],
        "only the list"
    );

    // Trigger order is not a difference.
    let reordered = client
        .ensure_webhook("app", "https://e.com/h")
        .triggers([
            WebhookTrigger::MessageDelivery,
            WebhookTrigger::MessageInbound,
        ])
        .secret("s1")
        .send()
        .await
        .unwrap();
    assert!(matches!(reordered, Ensured::Unchanged(_)));

    server.clear_requests();
    let updated = client
        .ensure_webhook("app", "https://e.com/h")
        .trigger(WebhookTrigger::EventInbound)
        .secret("s1")
        .client_credentials(NewClientCredentials::new(
            "c",
            "cs",
            "https://auth.example.com/t",
        ))
        .send()
        .await
        .unwrap();
    let Ensured::Updated { webhook, fields } = &updated else {
        panic!("{updated:?}")
    };
    assert_eq!(fields, &["client_credentials", "triggers"]);
    assert_eq!(webhook.triggers, [WebhookTrigger::EventInbound]);
    assert_eq!(
        api_requests(&server),
        [
            ("GET".to_owned(), None),
            (
                "PATCH".to_owned(),
                Some("update_mask=client_credentials,triggers".to_owned())
            ),
        ]
    );
    // Not set means none: the secret goes.
    let cleared = client
        .ensure_webhook("app", "https://e.com/h")
        .trigger(WebhookTrigger::EventInbound)
        .client_credentials(NewClientCredentials::new(
            "c",
            "cs",
            "https://auth.example.com/t",
        ))
        .send()
        .await
        .unwrap();
    assert!(matches!(&cleared, Ensured::Updated { fields, .. } if fields == &["secret"]));
    assert_eq!(server.webhooks("app").len(), 1);
    assert_eq!(server.webhooks("app")[0].secret, None);
}

#[tokio::test]
async fn ensure_validates_before_any_call() {
    let (server, client) = start().await;
    let err = client
        .ensure_webhook("a/b", "ftp://e.com")
        .send()
        .await
        .unwrap_err();
    let Error::Validation(v) = &err else {
        panic!("{err:?}")
    };
    assert!(v.at("app_id").is_some() && v.at("target").is_some() && v.at("triggers").is_some());
    assert!(api_requests(&server).is_empty());
}

#[tokio::test]
async fn a_create_applied_before_its_answer_was_lost_is_recovered_with_one_post() {
    for fault in [
        Fault::StatusAfterApplying { status: 500 },
        Fault::DropAfterApplying,
    ] {
        let (server, client) = start().await;
        server.fail_next(1, fault.clone());
        let webhook = client
            .create_webhook("app", "https://e.com/h")
            .trigger(WebhookTrigger::MessageInbound)
            .secret("s")
            .send()
            .await
            .unwrap_or_else(|e| panic!("{fault:?}: {e}"));
        assert_eq!(server.webhooks("app"), vec![webhook], "{fault:?}");
        let posts = api_requests(&server)
            .iter()
            .filter(|(m, _)| m == "POST")
            .count();
        assert_eq!(posts, 1, "{fault:?}: never a second POST");
    }
}

#[tokio::test]
async fn an_ambiguous_create_that_did_not_happen_returns_the_original_error() {
    let (server, client) = start().await;
    server.fail_next(
        1,
        Fault::Status {
            status: 503,
            retry_after: None,
        },
    );
    let err = client
        .create_webhook("app", "https://e.com/h")
        .trigger(WebhookTrigger::MessageInbound)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert!(server.webhooks("app").is_empty());
    // A different webhook on the same target is not "the one sent".
    let (server, client) = start().await;
    server.seed_webhook(
        serde_json::from_value(serde_json::json!({
            "app_id": "app", "target": "https://e.com/h", "target_type": "HTTP",
            "triggers": ["MESSAGE_DELIVERY"],
        }))
        .unwrap(),
    );
    server.fail_next(
        1,
        Fault::Status {
            status: 500,
            retry_after: None,
        },
    );
    let err = client
        .create_webhook("app", "https://e.com/h")
        .trigger(WebhookTrigger::MessageInbound)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(500));
}

#[tokio::test]
async fn recovery_can_be_turned_off() {
    let server = MockServer::start().await.unwrap();
    let client = server
        .client_builder()
        .recover_ambiguous_creates(false)
        .build()
        .unwrap();
    client.list_webhooks("warm-up").await.unwrap();
    server.fail_next(1, Fault::StatusAfterApplying { status: 500 });
    let err = client
        .create_webhook("app", "https://e.com/h")
        .trigger(WebhookTrigger::MessageInbound)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(500));
    assert_eq!(
        server.webhooks("app").len(),
        1,
        "it was created all the same"
    );
}
