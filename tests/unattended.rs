//! Provisioning that runs unattended: unusual but possible list answers
//! (another app's entry, no id, an id twice, more than 5, duplicate
//! targets), targets compared as URLs, secrets Sinch may not echo, and an
//! empty desired set. A scripted server plays the odd answers; the
//! stand-in plays the rest.
mod common;

use std::time::Duration;

use common::*;
use sinch_conversation::mock::MockServer;
use sinch_conversation::{
    Ensured, Error, NewClientCredentials, NewWebhook, RetryPolicy, SyncStep, WebhookTrigger,
};

fn desired(target: &str) -> NewWebhook {
    let mut webhook = NewWebhook::new("app", target);
    webhook.triggers = vec![WebhookTrigger::MessageInbound];
    webhook
}

/// A listed webhook, as JSON.
fn listed(id: Option<&str>, app: &str, target: &str) -> serde_json::Value {
    let mut w = serde_json::json!({
        "app_id": app, "target": target, "target_type": "HTTP", "triggers": ["MESSAGE_INBOUND"],
    });
    if let Some(id) = id {
        w["id"] = id.into();
    }
    w
}

fn list_answer(webhooks: &[serde_json::Value]) -> Reply {
    reply(
        200,
        &serde_json::json!({ "webhooks": webhooks }).to_string(),
    )
}

fn problems(error: &Error) -> Vec<String> {
    match error {
        Error::UnexpectedAnswer(e) => e.problems().to_vec(),
        other => panic!("expected UnexpectedAnswer, got {other:?}"),
    }
}

#[tokio::test]
async fn list_answers_that_are_not_safe_to_act_on_change_nothing() {
    let (server, url) = serve().await;
    let client = basic(&url);
    let cases: Vec<(Vec<serde_json::Value>, &str)> = vec![
        (
            vec![
                listed(Some("W1"), "app", "https://e.com/keep"),
                listed(Some("W2"), "other-app", "https://e.com/theirs"),
            ],
            "entry 1 (id \"W2\", target https://e.com/theirs) belongs to app \"other-app\"",
        ),
        (
            vec![
                listed(Some("W1"), "app", "https://e.com/old"),
                listed(None, "app", "https://e.com/no-id"),
            ],
            "entry 1 (target https://e.com/no-id) has no id",
        ),
        (
            vec![
                listed(Some("W1"), "app", "https://e.com/1"),
                listed(Some("W1"), "app", "https://e.com/2"),
            ],
            "id \"W1\" is listed 2 times",
        ),
        (
            (0..6)
                .map(|i| listed(Some(&format!("W{i}")), "app", &format!("https://e.com/{i}")))
                .collect(),
            "6 entries, but an app has at most 5 webhooks",
        ),
    ];
    for (answer, problem) in cases {
        server.api.lock().unwrap().clear();
        server.script_api([list_answer(&answer), list_answer(&answer)]);
        let sync = client.sync_webhooks("app", [desired("https://e.com/keep")]);
        let err = sync.plan().await.unwrap_err();
        assert!(
            problems(&err)
                .iter()
                .any(|p| p == problem || p.starts_with(problem)),
            "{err}"
        );
        let err = sync.send().await.unwrap_err();
        assert!(err.to_string().starts_with("nothing was changed"), "{err}");
        let sent: Vec<String> = server
            .api_calls()
            .iter()
            .map(|r| r.method.clone())
            .collect();
        assert_eq!(sent, ["GET", "GET"], "only the lists: {problem}");
    }
}

#[tokio::test]
async fn ensure_refuses_a_listed_webhook_without_an_id_or_a_duplicate() {
    let (server, url) = serve().await;
    let client = basic(&url);
    // It differs (another trigger) but has no id: not "unchanged".
    let mut no_id = listed(None, "app", "https://e.com/h");
    no_id["triggers"] = serde_json::json!(["MESSAGE_DELIVERY"]);
    server.script_api([list_answer(&[no_id])]);
    let err = client
        .ensure_webhook("app", "https://e.com/h")
        .trigger(WebhookTrigger::MessageInbound)
        .send()
        .await
        .unwrap_err();
    assert!(problems(&err)[0].contains("has no id"), "{err}");

    server.script_api([list_answer(&[
        listed(Some("W1"), "app", "https://e.com/h"),
        listed(Some("W2"), "app", "https://E.com:443/h"),
    ])]);
    let err = client
        .ensure_webhook("app", "https://e.com/h")
        .trigger(WebhookTrigger::MessageInbound)
        .send()
        .await
        .unwrap_err();
    assert!(
        problems(&err)[0].starts_with("2 webhooks for target"),
        "{err}"
    );
    assert!(server.api_calls().iter().all(|r| r.method == "GET"));
}

async fn stand_in(omit_secrets: bool) -> (MockServer, sinch_conversation::Client) {
    let server = MockServer::builder()
        .omit_secrets(omit_secrets)
        .start()
        .await
        .unwrap();
    let client = server
        .client_builder()
        .retry(RetryPolicy::default().base_delay(Duration::from_millis(1)))
        .build()
        .unwrap();
    (server, client)
}

fn writes(server: &MockServer) -> Vec<String> {
    server
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/v1/") && r.method != "GET")
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

#[tokio::test]
async fn webhooks_with_one_target_are_reconciled_keeping_the_closest() {
    let (server, client) = stand_in(false).await;
    // Equivalent spellings of one URL, as another tool may have left them.
    for (id, target, trigger) in [
        ("W1", "https://EXAMPLE.com:443/h", "MESSAGE_DELIVERY"),
        ("W2", "https://example.com/h", "MESSAGE_INBOUND"),
        ("W3", "https://example.com/other", "MESSAGE_INBOUND"),
    ] {
        server.seed_webhook(
            serde_json::from_value(serde_json::json!({
                "id": id, "app_id": "app", "target": target, "target_type": "HTTP", "triggers": [trigger],
            }))
            .unwrap(),
        );
    }
    let sync = client.sync_webhooks("app", [desired("https://example.com/h")]);
    let plan = sync.plan().await.unwrap();
    assert_eq!(
        plan.steps(),
        [
            SyncStep::DeleteDuplicate {
                id: "W1".into(),
                target: "https://EXAMPLE.com:443/h".into(),
                kept: "W2".into(),
            },
            SyncStep::Delete {
                id: "W3".into(),
                target: "https://example.com/other".into(),
            },
        ],
        "W2 matches exactly: kept; W1 is its duplicate"
    );
    assert_eq!(
        plan.steps()[0].to_string(),
        "delete W1 (https://EXAMPLE.com:443/h): a duplicate of W2"
    );
    let report = sync.send().await.unwrap();
    assert_eq!(report.webhooks()[0].id.as_deref(), Some("W2"));
    let left: Vec<_> = server
        .webhooks("app")
        .into_iter()
        .filter_map(|w| w.id)
        .collect();
    assert_eq!(left, ["W2"]);
}

#[tokio::test]
async fn a_target_is_the_same_webhook_however_it_is_spelled() {
    let (server, client) = stand_in(false).await;
    let created = client
        .ensure_webhook("app", "https://example.com/h")
        .trigger(WebhookTrigger::MessageInbound)
        .send()
        .await
        .unwrap();
    assert!(matches!(created, Ensured::Created(_)));
    server.clear_requests();
    for spelling in ["HTTPS://EXAMPLE.COM/h", "https://example.com:443/%68"] {
        let again = client
            .ensure_webhook("app", spelling)
            .trigger(WebhookTrigger::MessageInbound)
            .send()
            .await
            .unwrap();
        assert!(
            matches!(again, Ensured::Unchanged(_)),
            "{spelling}: {again:?}"
        );
        let plan = client
            .sync_webhooks("app", [desired(spelling)])
            .plan()
            .await
            .unwrap();
        assert!(plan.is_empty(), "{spelling}: {plan:?}");
    }
    assert_eq!(writes(&server), Vec::<String>::new());
    // Path case and a trailing slash are another target.
    let plan = client
        .sync_webhooks("app", [desired("https://example.com/H/")])
        .plan()
        .await
        .unwrap();
    assert_eq!(plan.steps().len(), 2, "{plan:?}");
    // The stand-in agrees: an equivalent target is a duplicate.
    let err = client
        .create_webhook("app", "https://Example.com:443/h")
        .trigger(WebhookTrigger::MessageInbound)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400), "{err}");
    assert!(err.to_string().contains("already exists"), "{err}");
}

#[tokio::test]
async fn provisioning_converges_whether_or_not_sinch_echoes_secrets() {
    for omit in [false, true] {
        let (server, client) = stand_in(omit).await;
        let credentials =
            |secret: &str| NewClientCredentials::new("c", secret, "https://auth.example.com/t");
        let ensure = |secret: &str, client_secret: &str| {
            client
                .ensure_webhook("app", "https://example.com/h")
                .trigger(WebhookTrigger::MessageInbound)
                .secret(secret)
                .client_credentials(credentials(client_secret))
        };
        let created = ensure("s1", "cs").send().await.unwrap();
        assert!(matches!(created, Ensured::Created(_)), "omit={omit}");
        assert_eq!(created.webhook().secret.is_none(), omit);
        // Answers without `client_secret` decode.
        let listed = client.list_webhooks("app").await.unwrap();
        let cc = listed[0].client_credentials.as_ref().unwrap();
        assert_eq!(cc.client_secret.is_none(), omit);
        let id = listed[0].id.clone().unwrap();
        assert_eq!(client.get_webhook(&id).await.unwrap(), listed[0]);

        server.clear_requests();
        let again = ensure("s1", "cs").send().await.unwrap();
        assert!(
            matches!(again, Ensured::Unchanged(_)),
            "omit={omit}: {again:?}"
        );
        let mut wanted = desired("https://example.com/h");
        wanted.secret = Some("s1".into());
        wanted.client_credentials = Some(credentials("cs"));
        let plan = client.sync_webhooks("app", [wanted]).plan().await.unwrap();
        assert!(plan.is_empty(), "omit={omit}: {plan:?}");
        assert_eq!(writes(&server), Vec::<String>::new(), "omit={omit}");

        // A rotation sets them anyway, and the stand-in stores the new one.
        let rotated = ensure("s2", "cs2").rotate_secrets().send().await.unwrap();
        let Ensured::Updated { fields, .. } = &rotated else {
            panic!("{rotated:?}")
        };
        assert_eq!(fields, &["client_credentials", "secret"]);
        let stored = &server.webhooks("app")[0];
        assert_eq!(stored.secret.as_ref().map(|s| s.expose()), Some("s2"));
        let stored_cc = stored.client_credentials.as_ref().unwrap();
        assert_eq!(
            stored_cc.client_secret.as_ref().map(|s| s.expose()),
            Some("cs2")
        );
    }
}

#[tokio::test]
async fn an_empty_desired_set_must_be_asked_for() {
    let (server, client) = stand_in(false).await;
    client
        .create_webhook("app", "https://example.com/h")
        .trigger(WebhookTrigger::MessageInbound)
        .send()
        .await
        .unwrap();
    server.clear_requests();
    let err = client
        .sync_webhooks("app", Vec::<NewWebhook>::new())
        .send()
        .await
        .unwrap_err();
    let Error::Validation(errors) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        errors.violations()[0].rule(),
        &sinch_conversation::validate::Rule::EmptyDesiredSet
    );
    assert!(server.requests().is_empty(), "nothing sent");
    let outcomes = client
        .sync_many([("app".to_owned(), Vec::new())], 1, |_| {})
        .await;
    assert!(matches!(outcomes[0].result, Err(Error::Validation(_))));
    assert_eq!(server.webhooks("app").len(), 1);

    let report = client
        .sync_webhooks("app", Vec::<NewWebhook>::new())
        .allow_empty()
        .send()
        .await
        .unwrap();
    assert_eq!(report.applied().len(), 1);
    assert!(server.webhooks("app").is_empty());
}

#[tokio::test]
async fn plan_many_is_the_dry_run_of_sync_many() {
    let (server, client) = stand_in(false).await;
    client
        .create_webhook("app-1", "https://example.com/old")
        .trigger(WebhookTrigger::MessageInbound)
        .send()
        .await
        .unwrap();
    server.clear_requests();
    let apps = (1..=3).map(|i| {
        let app = format!("app-{i}");
        let mut webhook = desired("https://example.com/new");
        webhook.app_id.clone_from(&app);
        (app, vec![webhook])
    });
    let mut seen = 0;
    let plans = client.plan_many(apps, 2, |_| seen += 1).await;
    assert_eq!(seen, 3);
    let ids: Vec<&str> = plans.iter().map(|p| p.app_id.as_str()).collect();
    assert_eq!(ids, ["app-1", "app-2", "app-3"], "in the order given");
    let steps = |i: usize| plans[i].result.as_ref().unwrap().steps().len();
    assert_eq!((steps(0), steps(1), steps(2)), (2, 1, 1));
    assert_eq!(
        writes(&server),
        Vec::<String>::new(),
        "a plan changes nothing"
    );
}
