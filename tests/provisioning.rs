//! `ensure_webhook`, `sync_webhooks` and the recovery of ambiguous creates,
//! against the stand-in and its fault injection.

use std::time::Duration;

use sinch_conversation::mock::{Fault, MockServer};
use sinch_conversation::{
    Client, Ensured, Error, NewClientCredentials, NewWebhook, RetryPolicy, SyncStep, WebhookTrigger,
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
    // Not set means none, but removing a secret takes asking for it:
    // anyone could forge the callbacks of a webhook without one.
    let without = || {
        client
            .ensure_webhook("app", "https://e.com/h")
            .trigger(WebhookTrigger::EventInbound)
            .client_credentials(NewClientCredentials::new(
                "c",
                "cs",
                "https://auth.example.com/t",
            ))
    };
    server.clear_requests();
    let refused = without().send().await.unwrap_err();
    let Error::Validation(v) = &refused else {
        panic!("{refused:?}")
    };
    assert_eq!(
        v.at("secret").map(|v| v.rule()),
        Some(&sinch_conversation::validate::Rule::WouldRemoveSecret)
    );
    assert_eq!(
        api_requests(&server),
        [("GET".to_owned(), None)],
        "nothing changed"
    );
    assert!(server.webhooks("app")[0].secret.is_some());
    let cleared = without().clear_secret().send().await.unwrap();
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

fn desired(target: &str, triggers: &[WebhookTrigger]) -> NewWebhook {
    let mut webhook = NewWebhook::new("", target);
    webhook.triggers = triggers.to_vec();
    webhook
}

fn seed(server: &MockServer, target: &str, trigger: &str) {
    server.seed_webhook(
        serde_json::from_value(serde_json::json!({
            "app_id": "app", "target": target, "target_type": "HTTP", "triggers": [trigger],
        }))
        .unwrap(),
    );
}

#[tokio::test]
async fn sync_plans_updates_then_creates_then_deletes_and_a_dry_run_changes_nothing() {
    let (server, client) = start().await;
    seed(&server, "https://e.com/a", "MESSAGE_INBOUND");
    seed(&server, "https://e.com/b", "MESSAGE_INBOUND");
    seed(&server, "https://e.com/c", "MESSAGE_INBOUND");
    let wanted = [
        desired("https://e.com/d", &[WebhookTrigger::MessageInbound]),
        desired("https://e.com/b", &[WebhookTrigger::MessageDelivery]),
        desired("https://e.com/a", &[WebhookTrigger::MessageInbound]),
    ];
    let c_id = server.webhooks("app")[2].id.clone().unwrap();
    let b_id = server.webhooks("app")[1].id.clone().unwrap();
    let sync = client.sync_webhooks("app", wanted.clone());
    let plan = sync.plan().await.unwrap();
    assert_eq!(
        plan.steps(),
        [
            SyncStep::Update {
                id: b_id,
                target: "https://e.com/b".into(),
                fields: vec!["triggers".into()]
            },
            SyncStep::Create {
                target: "https://e.com/d".into()
            },
            SyncStep::Delete {
                id: c_id,
                target: "https://e.com/c".into()
            },
        ]
    );
    assert_eq!(
        api_requests(&server),
        [("GET".to_owned(), None)],
        "the dry run only lists"
    );

    let report = sync.send().await.unwrap();
    assert_eq!(report.applied(), plan.steps());
    let targets: Vec<String> = report
        .webhooks()
        .iter()
        .map(|w| w.target.to_string())
        .collect();
    assert_eq!(
        targets,
        ["https://e.com/d", "https://e.com/b", "https://e.com/a"]
    );
    assert_eq!(server.webhooks("app").len(), 3);

    server.clear_requests();
    let again = client.sync_webhooks("app", wanted).send().await.unwrap();
    assert!(again.applied().is_empty());
    assert_eq!(
        api_requests(&server),
        [("GET".to_owned(), None)],
        "nothing to change"
    );
}

#[tokio::test]
async fn sync_never_crosses_the_five_per_app_limit() {
    let (server, client) = start().await;
    for i in 0..5 {
        seed(&server, &format!("https://e.com/old{i}"), "MESSAGE_INBOUND");
    }
    let wanted: Vec<NewWebhook> = std::iter::once("https://e.com/old0".to_owned())
        .chain((0..4).map(|i| format!("https://e.com/new{i}")))
        .map(|t| desired(&t, &[WebhookTrigger::MessageInbound]))
        .collect();
    let report = client.sync_webhooks("app", wanted).send().await.unwrap();
    assert_eq!(report.applied().len(), 8, "4 deletes, then 4 creates");
    assert_eq!(server.webhooks("app").len(), 5);
}

#[tokio::test]
async fn only_the_deletes_the_limit_forces_go_before_the_creates() {
    let (server, client) = start().await;
    for i in 0..4 {
        seed(&server, &format!("https://e.com/old{i}"), "MESSAGE_INBOUND");
    }
    // 4 listed, 2 to create: one delete must go first, the others last.
    let wanted: Vec<NewWebhook> = ["old0", "new0", "new1"]
        .iter()
        .map(|t| {
            desired(
                &format!("https://e.com/{t}"),
                &[WebhookTrigger::MessageInbound],
            )
        })
        .collect();
    let plan = client
        .sync_webhooks("app", wanted.clone())
        .plan()
        .await
        .unwrap();
    let kinds: Vec<&str> = plan
        .steps()
        .iter()
        .map(|s| match s {
            SyncStep::Delete { .. } => "delete",
            SyncStep::Create { .. } => "create",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["delete", "create", "create", "delete", "delete"]);
    client.sync_webhooks("app", wanted).send().await.unwrap();
    assert_eq!(server.webhooks("app").len(), 3);
}

#[tokio::test]
async fn unknown_triggers_and_target_types_are_refused_before_any_call_unless_allowed() {
    let (server, client) = start().await;
    let mut typo = desired("https://e.com/a", &[WebhookTrigger::MessageInbound]);
    typo.triggers.push("MESAGE_DELIVERY".into());
    typo.target_type = Some("HTTPS".into());
    let mut blank = desired("https://e.com/b", &[WebhookTrigger::MessageInbound]);
    blank.triggers.push("".into());
    let err = client
        .sync_webhooks("app", [typo.clone(), blank.clone()])
        .plan()
        .await
        .unwrap_err();
    let Error::Validation(v) = &err else {
        panic!("{err:?}")
    };
    let paths: Vec<&str> = v.violations().iter().map(|v| v.path()).collect();
    assert_eq!(
        paths,
        [
            "webhooks[0].triggers[1]",
            "webhooks[0].target_type",
            "webhooks[1].triggers[1]"
        ]
    );
    assert!(api_requests(&server).is_empty());
    // Opted in, values newer than the crate go to Sinch; a blank one never.
    let err = client
        .sync_webhooks("app", [typo.clone(), blank])
        .allow_unknown_values()
        .plan()
        .await
        .unwrap_err();
    let Error::Validation(v) = &err else {
        panic!("{err:?}")
    };
    let paths: Vec<&str> = v.violations().iter().map(|v| v.path()).collect();
    assert_eq!(paths, ["webhooks[1].triggers[1]"]);
    let err = client
        .ensure_webhook("app", "https://e.com/a")
        .triggers(typo.triggers.clone())
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Validation(v) if v.at("triggers[1]").is_some()),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_sync_that_would_remove_a_secret_is_refused_unless_asked() {
    let (server, client) = start().await;
    server.seed_webhook(
        serde_json::from_value(serde_json::json!({
            "app_id": "app", "target": "https://e.com/a", "target_type": "HTTP",
            "triggers": ["MESSAGE_INBOUND"], "secret": "keep-me",
        }))
        .unwrap(),
    );
    let wanted = [desired(
        "https://e.com/a",
        &[WebhookTrigger::MessageInbound],
    )];
    let err = client
        .sync_webhooks("app", wanted.clone())
        .send()
        .await
        .unwrap_err();
    let Error::Validation(v) = &err else {
        panic!("{err:?}")
    };
    assert!(v.at("webhooks[0].secret").is_some(), "{err}");
    assert_eq!(
        server.webhooks("app")[0]
            .secret
            .as_ref()
            .map(|s| s.expose().to_owned()),
        Some("keep-me".to_owned())
    );
    let report = client
        .sync_webhooks("app", wanted)
        .clear_secrets()
        .send()
        .await
        .unwrap();
    assert_eq!(report.applied().len(), 1);
    assert!(server.webhooks("app")[0].secret.is_none());
}

#[tokio::test]
async fn a_desired_set_that_can_never_be_valid_is_refused_before_any_call() {
    let (server, client) = start().await;
    let mut wanted: Vec<NewWebhook> = (0..6)
        .map(|i| {
            desired(
                &format!("https://e.com/{i}"),
                &[WebhookTrigger::MessageInbound],
            )
        })
        .collect();
    wanted[3].target = "https://e.com/1".into();
    wanted[5].target = "ftp://e.com".into();
    let err = client
        .sync_webhooks("app", wanted)
        .plan()
        .await
        .unwrap_err();
    let Error::Validation(v) = &err else {
        panic!("{err:?}")
    };
    let paths: Vec<&str> = v.violations().iter().map(|v| v.path()).collect();
    assert_eq!(
        paths,
        ["webhooks", "webhooks[3].target", "webhooks[5].target"]
    );
    assert!(api_requests(&server).is_empty());
}

#[tokio::test]
async fn a_failed_step_reports_what_was_applied_and_what_was_not() {
    let (server, client) = start().await;
    seed(&server, "https://e.com/x", "MESSAGE_INBOUND");
    let wanted = [
        desired("https://e.com/y", &[WebhookTrigger::MessageInbound]),
        desired("https://e.com/z", &[WebhookTrigger::MessageInbound]),
    ];
    let x_id = server.webhooks("app")[0].id.clone().unwrap();
    // The sync's requests: the list and the first create pass, the second
    // create gets a 400. Make before break: the delete was not applied.
    let err = sync_failing_at_third_request(&server, &client, wanted).await;
    let Error::Sync(sync) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        sync.applied(),
        [SyncStep::Create {
            target: "https://e.com/y".into()
        }]
    );
    assert_eq!(
        sync.failed(),
        &SyncStep::Create {
            target: "https://e.com/z".into()
        }
    );
    assert_eq!(
        sync.not_applied(),
        [SyncStep::Delete {
            id: x_id,
            target: "https://e.com/x".into()
        }]
    );
    assert_eq!(err.status(), Some(400));
    let shown = err.to_string();
    assert!(
        shown.contains("applied before it: [create https://e.com/y]")
            && shown.contains("not applied: [delete"),
        "{shown}"
    );
    // The app keeps what it had (and the new webhook created before).
    let targets: Vec<String> = server
        .webhooks("app")
        .iter()
        .map(|w| w.target.to_string())
        .collect();
    assert_eq!(targets, ["https://e.com/x", "https://e.com/y"]);
}

#[tokio::test]
async fn many_apps_each_get_an_outcome_and_one_failure_stops_none_of_the_others() {
    let (server, client) = start().await;
    let apps: Vec<(String, Vec<NewWebhook>)> = (0..30)
        .map(|i| {
            let app = format!("tenant-{i}");
            let mut wanted = vec![desired(
                &format!("https://e.com/{app}"),
                &[WebhookTrigger::MessageInbound],
            )];
            if i == 7 {
                // Can never be valid: the same target twice.
                wanted.push(wanted[0].clone());
            }
            (app, wanted)
        })
        .collect();
    let mut seen = Vec::new();
    let outcomes = client
        .sync_many(apps, 4, |outcome| seen.push(outcome.app_id.clone()))
        .await;
    assert_eq!(outcomes.len(), 30);
    assert_eq!(seen.len(), 30);
    for (i, outcome) in outcomes.iter().enumerate() {
        assert_eq!(outcome.app_id, format!("tenant-{i}"), "in the order given");
        assert_eq!(outcome.result.is_ok(), i != 7, "{i}: {:?}", outcome.result);
    }
    assert!(matches!(&outcomes[7].result, Err(Error::Validation(_))));
    assert_eq!(
        server.all_webhooks().values().map(Vec::len).sum::<usize>(),
        29
    );
    // Again: nothing to change anywhere.
    let again: Vec<(String, Vec<NewWebhook>)> = (0..30)
        .filter(|i| *i != 7)
        .map(|i| {
            let app = format!("tenant-{i}");
            (
                app.clone(),
                vec![desired(
                    &format!("https://e.com/{app}"),
                    &[WebhookTrigger::MessageInbound],
                )],
            )
        })
        .collect();
    server.clear_requests();
    let outcomes = client.sync_many(again, 8, |_| {}).await;
    assert!(
        outcomes
            .iter()
            .all(|o| o.result.as_ref().is_ok_and(|r| r.applied().is_empty()))
    );
    assert!(
        api_requests(&server)
            .iter()
            .all(|(method, _)| method == "GET")
    );
}

#[tokio::test]
async fn a_password_in_a_target_never_shows_in_a_plan_or_a_sync_error() {
    let (server, client) = start().await;
    seed(&server, "https://user:hunter2@e.com/old", "MESSAGE_INBOUND");
    let wanted = [desired(
        "https://user:hunter3@e.com/new",
        &[WebhookTrigger::MessageInbound],
    )];
    let plan = client
        .sync_webhooks("app", wanted.clone())
        .plan()
        .await
        .unwrap();
    let shown: Vec<String> = plan.steps().iter().map(ToString::to_string).collect();
    assert!(shown[0].contains("https://user:***@e.com/new"), "{shown:?}");
    assert!(shown[1].contains("https://user:***@e.com/old"), "{shown:?}");
    let err = sync_failing_at_third_request(&server, &client, wanted).await;
    let text = format!("{err} {err:?}");
    assert!(!text.contains("hunter"), "{text}");
}

/// Runs a sync whose first two requests pass and whose third gets a 400.
async fn sync_failing_at_third_request(
    server: &MockServer,
    client: &Client,
    wanted: impl IntoIterator<Item = NewWebhook>,
) -> Error {
    server.fail_next(2, Fault::Delay(Duration::ZERO));
    server.fail_next(
        1,
        Fault::Status {
            status: 400,
            retry_after: None,
        },
    );
    client
        .sync_webhooks("app", wanted)
        .send()
        .await
        .expect_err("the third request fails")
}
