//! Redirects are never followed, by the client (API and token requests) or
//! by the stand-in's deliveries: a redirect is an error (or a delivery's
//! outcome) naming where it pointed, and nothing reaches that place. Both
//! ends are loopback servers.

mod common;

use common::*;
use sinch_conversation::mock::{DeliveryOutcome, MockServer};
use sinch_conversation::{Error, Webhook, WebhookTrigger};

fn redirect(status: u16, to: &str) -> Reply {
    let mut r = reply(status, "");
    r.headers.push(("location", to.to_owned()));
    r
}

#[tokio::test]
async fn api_redirects_are_errors_naming_the_target_and_nothing_is_resent() {
    let (elsewhere, elsewhere_url) = serve().await;
    for status in [301, 302, 303, 307, 308] {
        let (server, url) = serve().await;
        let to = format!("{elsewhere_url}/v1/projects/proj/webhooks");
        server.script_api([redirect(status, &to)]);
        let err = basic(&url)
            .create_webhook("A", "https://e.com/h")
            .trigger("MESSAGE_INBOUND")
            .secret(SENTINEL)
            .send()
            .await
            .unwrap_err();
        let Error::Api(api) = &err else {
            panic!("{status}: {err:?}")
        };
        assert_eq!(api.status(), status);
        assert_eq!(api.location(), Some(to.as_str()));
        assert!(err.to_string().contains(&to), "{err}");
        assert!(!err.is_retryable());
        assert_eq!(server.api_calls().len(), 1, "{status}: not resent");
        // And a GET is not followed either.
        server.script_api([redirect(status, &to)]);
        let err = basic(&url).get_webhook("W1").await.unwrap_err();
        assert_eq!(err.status(), Some(status));
    }
    assert!(
        elsewhere.api_calls().is_empty(),
        "nothing reached the target"
    );
}

#[tokio::test]
async fn token_redirects_are_auth_errors_and_are_not_followed() {
    let (elsewhere, elsewhere_url) = serve().await;
    let (server, url) = serve().await;
    server.script_tokens([redirect(307, &format!("{elsewhere_url}/oauth2/token"))]);
    let err = send_one(&oauth(&url), "https://e.com/h").await.unwrap_err();
    assert!(matches!(&err, Error::Auth(_)), "{err:?}");
    assert_eq!(err.status(), Some(307));
    assert_eq!(elsewhere.token_calls(), 0);
    assert!(server.api_calls().is_empty());
}

#[tokio::test]
async fn a_password_in_the_redirect_target_is_not_shown() {
    let (server, url) = serve().await;
    server.script_api([redirect(302, "http://user:hunter2@127.0.0.1:9/x")]);
    let err = basic(&url).get_webhook("W1").await.unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    let Error::Api(api) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(api.location(), Some("http://user:***@127.0.0.1:9/x"));
}

#[tokio::test]
async fn the_stand_in_does_not_follow_a_targets_redirect() {
    let (elsewhere, elsewhere_url) = serve().await;
    let (target, target_url) = serve().await;
    target.script_api([redirect(307, &format!("{elsewhere_url}/stolen"))]);
    let sinch = MockServer::start().await.unwrap();
    let webhook: Webhook = serde_json::from_value(serde_json::json!({
        "app_id": "app",
        "target": format!("{target_url}/hook"),
        "target_type": "HTTP",
        "triggers": ["MESSAGE_INBOUND"],
        "secret": "s",
    }))
    .unwrap();
    sinch.seed_webhook(webhook);
    let deliveries = sinch
        .deliver_event("app", WebhookTrigger::MessageInbound, serde_json::json!({}))
        .await;
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].outcome, DeliveryOutcome::Status(307));
    assert_eq!(target.api_calls().len(), 1);
    assert!(
        elsewhere.api_calls().is_empty(),
        "the signed event stayed put"
    );
}
