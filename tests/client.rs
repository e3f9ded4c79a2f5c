//! The client against a scripted HTTP server on loopback: wire format, auth,
//! token caching, errors, retries, forward compatibility and redaction.

mod common;

use std::time::Duration;

use common::*;
use sinch_conversation::{
    Client, Error, NewClientCredentials, RetryPolicy, WebhookTargetType, WebhookTrigger,
};

#[tokio::test]
async fn wire_format_with_basic_auth() {
    let (server, url) = serve().await;
    let webhook = basic(&url)
        .create_webhook("01APP", "https://example.com/hook")
        .triggers([WebhookTrigger::MessageInbound])
        .send()
        .await
        .unwrap();
    assert_eq!(webhook.id.as_deref(), Some("01HZZZZZZZZZZZZZZZZZZZZZZZ"));
    let calls = server.api_calls();
    assert_eq!(calls.len(), 1);
    let call = &calls[0];
    assert_eq!(call.path, "/v1/projects/proj/webhooks");
    // base64("kid:SENTINEL-SECRET-4f1c")
    let expected = format!("Basic {}", base64_of(&format!("kid:{SENTINEL}")));
    assert_eq!(header(call, "authorization"), expected);
    assert_eq!(header(call, "content-type"), "application/json");
    assert_eq!(header(call, "accept"), "application/json");
    assert_eq!(
        header(call, "user-agent"),
        concat!("sinch-conversation-rust/", env!("CARGO_PKG_VERSION"))
    );
    assert!(
        call.headers.get("api-version").is_none(),
        "progenitor's api-version header is removed"
    );
    let body: serde_json::Value = serde_json::from_slice(&call.body).unwrap();
    // Optional fields that were not set are omitted; target_type is HTTP.
    assert_eq!(
        body,
        serde_json::json!({
            "app_id": "01APP",
            "target": "https://example.com/hook",
            "target_type": "HTTP",
            "triggers": ["MESSAGE_INBOUND"],
        })
    );
    assert_eq!(server.token_calls(), 0);
}

#[tokio::test]
async fn a_callers_http_client_is_used_as_configured() {
    let (server, url) = serve().await;
    common::tls::install_crypto_provider();
    let http = reqwest::Client::builder()
        .user_agent("my-platform/2.0")
        .build()
        .unwrap();
    let client = Client::builder()
        .project_id("proj")
        .base_url(&url)
        .basic_auth("kid", SENTINEL)
        .http_client(http)
        .build()
        .unwrap();
    send_one(&client, "https://example.com/hook").await.unwrap();
    let calls = server.api_calls();
    assert_eq!(header(&calls[0], "user-agent"), "my-platform/2.0");
    let expected = format!("Basic {}", base64_of(&format!("kid:{SENTINEL}")));
    assert_eq!(header(&calls[0], "authorization"), expected);
}

#[tokio::test]
async fn every_field_goes_on_the_wire_with_its_json_name() {
    let (server, url) = serve().await;
    let webhook = basic(&url)
        .create_webhook("01APP", "https://example.com/hook")
        .trigger(WebhookTrigger::MessageDelivery)
        .trigger("A_TRIGGER_FROM_THE_FUTURE")
        .secret("whsec")
        .target_type(WebhookTargetType::Dismiss)
        .client_credentials(
            NewClientCredentials::new("cid", "csecret", "https://auth.example.com/t")
                .scope("a b")
                .response_type("token")
                .token_request_type("FORM"),
        )
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&server.api_calls()[0].body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({
            "app_id": "01APP",
            "target": "https://example.com/hook",
            "target_type": "DISMISS",
            "triggers": ["MESSAGE_DELIVERY", "A_TRIGGER_FROM_THE_FUTURE"],
            "secret": "whsec",
            "client_credentials": {
                "client_id": "cid",
                "client_secret": "csecret",
                "endpoint": "https://auth.example.com/t",
                "scope": "a b",
                "response_type": "token",
                "token_request_type": "FORM",
            },
        })
    );
    // The echoed unknown trigger decodes and keeps its spelling.
    assert_eq!(
        webhook.triggers[1],
        WebhookTrigger::Unknown("A_TRIGGER_FROM_THE_FUTURE".into())
    );
}

#[tokio::test]
async fn unknown_enum_values_and_fields_in_responses_decode() {
    let (server, url) = serve().await;
    server.script_api([reply(
        200,
        r#"{"id":"W","app_id":"A","target":"https://e.com","target_type":"GRPC","triggers":["NEW_ONE","MESSAGE_INBOUND"],
            "client_credentials":{"client_id":"c","client_secret":"s","endpoint":"https://e.com/t","token_request_type":"MTLS"},
            "created_at":"2026-01-01T00:00:00Z"}"#,
    )]);
    let webhook = send_one(&basic(&url), "https://e.com").await.unwrap();
    assert_eq!(
        webhook.target_type,
        Some(WebhookTargetType::Unknown("GRPC".into()))
    );
    assert_eq!(
        webhook.triggers[0],
        WebhookTrigger::Unknown("NEW_ONE".into())
    );
    assert_eq!(webhook.triggers[1], WebhookTrigger::MessageInbound);
    let cc = webhook.client_credentials.as_ref().unwrap();
    assert_eq!(
        cc.token_request_type.as_ref().map(|t| t.as_str()),
        Some("MTLS")
    );
    // Serialises back unchanged.
    let again = serde_json::to_value(&webhook).unwrap();
    assert_eq!(again["target_type"], "GRPC");
    assert_eq!(again["triggers"][0], "NEW_ONE");
}

#[tokio::test]
async fn invalid_requests_are_not_sent() {
    let (server, url) = serve().await;
    let err = basic(&url)
        .create_webhook("", "ftp://x")
        .send()
        .await
        .unwrap_err();
    let Error::Validation(errors) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(errors.violations().len(), 3, "{errors}");
    assert!(!err.is_retryable());
    assert!(server.api_calls().is_empty());
}

#[tokio::test]
async fn oauth2_token_is_fetched_once_and_sent_as_bearer() {
    let (server, url) = serve().await;
    let client = oauth(&url);
    for _ in 0..3 {
        send_one(&client, "https://e.com/x").await.unwrap();
    }
    assert_eq!(server.token_calls(), 1);
    let token_call = server.tokens.lock().unwrap()[0].clone();
    assert_eq!(
        header(&token_call, "authorization"),
        format!("Basic {}", base64_of(&format!("kid:{SENTINEL}")))
    );
    assert_eq!(
        header(&token_call, "content-type"),
        "application/x-www-form-urlencoded"
    );
    assert_eq!(&token_call.body[..], b"grant_type=client_credentials");
    for call in server.api_calls() {
        assert_eq!(header(&call, "authorization"), "Bearer tok-1");
    }
}

#[tokio::test]
async fn concurrent_callers_share_one_token_request() {
    let (server, url) = serve().await;
    *server.token_delay.lock().unwrap() = Duration::from_millis(200);
    let client = oauth(&url);
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move {
                client
                    .create_webhook("A", format!("https://e.com/{i}"))
                    .trigger("MESSAGE_INBOUND")
                    .send()
                    .await
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(server.token_calls(), 1);
    assert_eq!(server.api_calls().len(), 20);
}

#[tokio::test]
async fn token_is_refreshed_before_it_expires() {
    let (server, url) = serve().await;
    server.script_tokens([reply(
        200,
        r#"{"access_token":"short","expires_in":1,"token_type":"bearer"}"#,
    )]);
    let client = oauth(&url);
    send_one(&client, "https://e.com/1").await.unwrap();
    // The margin for a 1 s token is 0.5 s.
    tokio::time::sleep(Duration::from_millis(600)).await;
    send_one(&client, "https://e.com/2").await.unwrap();
    assert_eq!(server.token_calls(), 2);
    let calls = server.api_calls();
    assert_eq!(header(&calls[0], "authorization"), "Bearer short");
    assert_eq!(header(&calls[1], "authorization"), "Bearer tok-1");
}

#[tokio::test]
async fn an_expired_token_401_refreshes_and_retries_once() {
    let (server, url) = serve().await;
    server.script_api([expired_401()]);
    let client = oauth(&url);
    send_one(&client, "https://e.com/1").await.unwrap();
    assert_eq!(server.token_calls(), 2);
    let calls = server.api_calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(header(&calls[1], "authorization"), "Bearer tok-2");

    // Twice in a row: one retry only, then the 401 is returned.
    server.script_api([expired_401(), expired_401()]);
    let err = send_one(&client, "https://e.com/2").await.unwrap_err();
    assert_eq!(err.status(), Some(401));
    assert_eq!(server.api_calls().len(), 4);
}

#[tokio::test]
async fn a_plain_401_is_not_retried() {
    let (server, url) = serve().await;
    server.script_api([reply(
        401,
        r#"{"error":{"code":401,"message":"bad key","status":"UNAUTHENTICATED"}}"#,
    )]);
    let err = send_one(&oauth(&url), "https://e.com/1").await.unwrap_err();
    assert_eq!(err.status(), Some(401));
    assert_eq!(server.api_calls().len(), 1);
    assert!(err.to_string().contains("bad key"), "{err}");
}

#[tokio::test]
async fn token_endpoint_429_is_retried_honouring_retry_after() {
    let (server, url) = serve().await;
    let mut limited = reply(429, r#"{"error":"rate limited"}"#);
    limited.headers.push(("retry-after", "0".into()));
    server.script_tokens([limited.clone(), limited]);
    send_one(&oauth(&url), "https://e.com/1").await.unwrap();
    assert_eq!(server.token_calls(), 3);

    // A Retry-After beyond max_delay is not waited for.
    let (server, url) = serve().await;
    let mut long = reply(429, r#"{"error":"slow down"}"#);
    long.headers.push(("retry-after", "3600".into()));
    server.script_tokens([long]);
    let err = send_one(&oauth(&url), "https://e.com/1").await.unwrap_err();
    assert!(
        matches!(&err, Error::Auth(e) if e.status() == Some(429)),
        "{err:?}"
    );
    assert!(err.is_retryable());
    assert_eq!(server.token_calls(), 1);
}

#[tokio::test]
async fn auth_server_failures_carry_its_message() {
    let (server, url) = serve().await;
    server.script_tokens([reply(
        401,
        r#"{"error":"invalid_client","error_description":"Bad client credentials"}"#,
    )]);
    let err = send_one(&oauth(&url), "https://e.com/1").await.unwrap_err();
    let Error::Auth(auth) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(auth.status(), Some(401));
    assert_eq!(auth.message(), "Bad client credentials");
    assert!(!err.is_retryable());
    assert!(server.api_calls().is_empty());
}

#[tokio::test]
async fn sinch_error_bodies_become_api_errors() {
    let (server, url) = serve().await;
    server.script_api([reply(
        400,
        r#"{"error":{"code":400,"message":"Invalid target","status":"INVALID_ARGUMENT",
            "details":[{"type_url":"type.googleapis.com/google.rpc.BadRequest","value":"target"},{"@type":"x.y/Z","field":"f"}]}}"#,
    )]);
    let err = send_one(&basic(&url), "https://e.com/1").await.unwrap_err();
    let Error::Api(api) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(api.status(), 400);
    assert_eq!(api.code(), Some(400));
    assert_eq!(api.api_status(), Some("INVALID_ARGUMENT"));
    assert_eq!(api.message(), Some("Invalid target"));
    assert_eq!(api.details().len(), 2);
    assert_eq!(api.details()[0].value.as_deref(), Some("target"));
    assert_eq!(api.details()[1].type_url.as_deref(), Some("x.y/Z"));
    assert_eq!(
        err.to_string(),
        "Sinch answered 400 Bad Request INVALID_ARGUMENT: Invalid target"
    );
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn unlisted_and_non_json_errors_keep_status_and_body() {
    let (server, url) = serve().await;
    let html = format!("<html><body>Bad gateway{}</body></html>", "x".repeat(5000));
    let mut bad_gateway = reply(502, &html);
    bad_gateway.headers = vec![("content-type", "text/html".into())];
    let mut html_500 = bad_gateway.clone();
    html_500.status = 500;
    server.script_api([
        reply(
            404,
            r#"{"error":{"code":404,"message":"App not found","status":"NOT_FOUND"}}"#,
        ),
        bad_gateway,
        html_500,
    ]);
    let client = basic(&url);
    let send = || {
        client
            .create_webhook("A", "https://e.com/1")
            .trigger("MESSAGE_INBOUND")
            .send()
    };

    let err = send().await.unwrap_err();
    let Error::Api(api) = &err else {
        panic!("{err:?}")
    };
    assert_eq!((api.status(), api.message()), (404, Some("App not found")));
    assert!(err.to_string().contains("another region"), "{err}");

    for status in [502, 500] {
        let err = send().await.unwrap_err();
        let Error::Api(api) = &err else {
            panic!("{err:?}")
        };
        assert_eq!(api.status(), status);
        assert!(api.body().starts_with("<html><body>Bad gateway"));
        assert!(api.body().len() < 2200, "the body is truncated");
        assert!(err.to_string().contains("not a Sinch error body"), "{err}");
        assert!(err.is_retryable());
    }
    // 5xx answers are never resent: the webhook may exist.
    assert_eq!(server.api_calls().len(), 3);
}

#[tokio::test]
async fn bad_success_bodies_name_the_field() {
    let (server, url) = serve().await;
    server.script_api([reply(200, r#"{"target":"https://e.com","triggers":[1]}"#)]);
    let err = send_one(&basic(&url), "https://e.com/1").await.unwrap_err();
    let Error::Decode(decode) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(decode.field(), "triggers[0]");
    assert!(std::error::Error::source(&err).is_some());
}

#[tokio::test]
async fn only_429_and_connect_failures_are_retried() {
    let (server, url) = serve().await;
    let mut limited = reply(
        429,
        r#"{"error":{"code":429,"message":"slow","status":"RESOURCE_EXHAUSTED"}}"#,
    );
    limited.headers.push(("retry-after", "0".into()));
    server.script_api([limited.clone(), limited]);
    send_one(&basic(&url), "https://e.com/1").await.unwrap();
    assert_eq!(server.api_calls().len(), 3);

    server.script_api([reply(503, "{}")]);
    let err = send_one(&basic(&url), "https://e.com/2").await.unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert_eq!(server.api_calls().len(), 4, "a 503 is not resent");

    // Retries are bounded: 429 forever gives 1 + max_retries attempts.
    server.script_api(std::iter::repeat_n(reply(429, "{}"), 10));
    let err = send_one(&basic(&url), "https://e.com/3").await.unwrap_err();
    assert_eq!(err.status(), Some(429));
    assert_eq!(server.api_calls().len(), 4 + 4);
}

#[tokio::test]
async fn connect_failures_are_retried_then_reported() {
    let client = Client::builder()
        .project_id("p")
        .base_url(unused_local_url())
        .basic_auth("k", "s")
        .retry(
            RetryPolicy::default()
                .max_retries(2)
                .base_delay(Duration::from_millis(1)),
        )
        .build()
        .unwrap();
    let err = send_one(&client, "https://e.com").await.unwrap_err();
    let Error::Transport(t) = &err else {
        panic!("{err:?}")
    };
    assert!(t.is_connect());
    assert!(err.is_retryable());
    assert!(
        err.to_string().starts_with("could not connect to Sinch"),
        "{err}"
    );
}

#[tokio::test]
async fn an_unreachable_token_endpoint_is_an_auth_error() {
    let (server, url) = serve().await;
    let client = Client::builder()
        .project_id("p")
        .base_url(&url)
        .auth_base_url(unused_local_url())
        .oauth2("k", "s")
        .retry(
            RetryPolicy::default()
                .max_retries(1)
                .base_delay(Duration::from_millis(1)),
        )
        .build()
        .unwrap();
    let err = send_one(&client, "https://e.com").await.unwrap_err();
    let Error::Auth(auth) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(auth.status(), None);
    assert!(auth.message().starts_with("cannot reach"), "{err}");
    assert!(err.is_retryable());
    assert!(std::error::Error::source(auth).is_some());
    assert!(server.api_calls().is_empty());
}

#[tokio::test]
async fn a_timeout_after_sending_is_not_resent() {
    let (server, url) = serve().await;
    let mut slow = reply(200, "{}");
    slow.delay = Duration::from_millis(500);
    server.script_api([slow]);
    let client = Client::builder()
        .project_id("p")
        .base_url(&url)
        .basic_auth("k", "s")
        .timeout(Duration::from_millis(100))
        .retry(fast_retry())
        .build()
        .unwrap();
    let err = send_one(&client, "https://e.com").await.unwrap_err();
    assert!(
        matches!(&err, Error::Transport(t) if t.is_timeout()),
        "{err:?}"
    );
    // One POST, then one look at the app's webhooks (which finds none like
    // it, so the timeout is the answer); never a second POST.
    let methods: Vec<String> = server.api_calls().into_iter().map(|c| c.method).collect();
    assert_eq!(methods, ["POST", "GET"]);
    assert_eq!(server.api_calls()[1].path, "/v1/projects/p/apps/A/webhooks");
}

#[tokio::test]
async fn build_validates_without_sending() {
    let (server, url) = serve().await;
    let client = basic(&url);
    let request = client
        .create_webhook("A", "https://e.com")
        .trigger("MESSAGE_INBOUND")
        .secret(SENTINEL)
        .build()
        .unwrap();
    assert_eq!(request.target.as_str(), "https://e.com");
    assert!(!format!("{request:?}").contains(SENTINEL));
    assert!(server.api_calls().is_empty());
}

#[tokio::test]
async fn a_token_lifetime_too_large_for_the_clock_is_used_not_a_panic() {
    let (server, url) = serve().await;
    for expires_in in [u64::MAX, u64::MAX / 1000, 1 << 62] {
        server.script_tokens([reply(
            200,
            &format!(r#"{{"access_token":"tok","expires_in":{expires_in},"token_type":"bearer"}}"#),
        )]);
        let client = oauth(&url);
        send_one(&client, "https://e.com/1").await.unwrap();
        // Cached: a second request fetches no new token.
        let before = server.token_calls();
        send_one(&client, "https://e.com/2").await.unwrap();
        assert_eq!(server.token_calls(), before, "expires_in {expires_in}");
    }
}

#[tokio::test]
async fn an_empty_access_token_is_an_auth_error_and_nothing_is_sent_with_it() {
    let (server, url) = serve().await;
    server.script_tokens([reply(
        200,
        r#"{"access_token":"","expires_in":3600,"token_type":"bearer"}"#,
    )]);
    let err = send_one(&oauth(&url), "https://e.com/1").await.unwrap_err();
    assert!(matches!(&err, Error::Auth(_)), "{err:?}");
    assert!(err.to_string().contains("empty"), "{err}");
    assert!(server.api_calls().is_empty());
}

#[tokio::test]
async fn retry_after_as_an_http_date_is_honoured_and_too_far_is_the_error() {
    let (server, url) = serve().await;
    let client = basic(&url);
    let at = |ahead: Duration| httpdate::fmt_http_date(std::time::SystemTime::now() + ahead);
    // Soon (an HTTP-date has whole seconds: at most about 1 s from now).
    let mut limited = reply(429, "{}");
    limited
        .headers
        .push(("retry-after", at(Duration::from_secs(1))));
    server.script_api([limited]);
    let started = std::time::Instant::now();
    send_one(&client, "https://e.com/1").await.unwrap();
    assert_eq!(server.api_calls().len(), 2);
    assert!(started.elapsed() <= Duration::from_secs(3));
    // Later than the policy's maximum wait (2 s in these tests): returned.
    let mut later = reply(429, "{}");
    later
        .headers
        .push(("retry-after", at(Duration::from_secs(3600))));
    server.script_api([later]);
    let err = send_one(&client, "https://e.com/2").await.unwrap_err();
    let Error::Api(api) = &err else {
        panic!("{err:?}")
    };
    let wait = api.retry_after().unwrap();
    assert!(
        wait > Duration::from_secs(3500) && wait <= Duration::from_secs(3600),
        "{wait:?}"
    );
    assert_eq!(server.api_calls().len(), 3, "not retried");
    // A date in the past means now.
    let mut past = reply(429, "{}");
    past.headers
        .push(("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT".into()));
    server.script_api([past]);
    send_one(&client, "https://e.com/3").await.unwrap();
}

/// `n` creates at once on clones of `client`; their results.
async fn concurrently(
    client: &Client,
    n: usize,
) -> Vec<Result<sinch_conversation::Webhook, Error>> {
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move { send_one(&client, &format!("https://e.com/{i}")).await })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap());
    }
    results
}

#[tokio::test]
async fn callers_waiting_on_a_failed_token_fetch_share_its_failure() {
    let (server, url) = serve().await;
    *server.token_delay.lock().unwrap() = Duration::from_millis(300);
    server.script_tokens([reply(500, r#"{"error":"server_error"}"#)]);
    let results = concurrently(&oauth(&url), 100).await;
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Err(Error::Auth(e)) if e.status() == Some(500)))
    );
    assert_eq!(server.token_calls(), 1, "one fetch for all 100 callers");
    assert!(server.api_calls().is_empty());
    // The next caller, after the failure, tries again.
    *server.token_delay.lock().unwrap() = Duration::ZERO;
    send_one(&oauth(&url), "https://e.com/later").await.unwrap();
}

#[tokio::test]
async fn callers_waiting_on_a_token_endpoint_that_never_answers_fail_together() {
    let (server, url) = serve().await;
    *server.token_delay.lock().unwrap() = Duration::from_secs(30);
    let client = Client::builder()
        .project_id("proj")
        .base_url(&url)
        .auth_base_url(&url)
        .oauth2("kid", SENTINEL)
        .timeout(Duration::from_millis(300))
        .retry(fast_retry())
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let results = concurrently(&client, 20).await;
    assert!(results.iter().all(|r| matches!(r, Err(Error::Auth(_)))));
    // One timeout, not twenty in series.
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(server.token_calls(), 1);
}

#[tokio::test]
async fn a_token_with_no_lifetime_serves_the_requests_waiting_for_it() {
    let (server, url) = serve().await;
    *server.token_delay.lock().unwrap() = Duration::from_millis(300);
    server.script_tokens([reply(
        200,
        r#"{"access_token":"zero","expires_in":0,"token_type":"bearer"}"#,
    )]);
    let results = concurrently(&oauth(&url), 50).await;
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(server.token_calls(), 1);
    assert_eq!(server.api_calls().len(), 50);
    assert!(
        server
            .api_calls()
            .iter()
            .all(|c| header(c, "authorization") == "Bearer zero")
    );
}

#[tokio::test]
async fn an_auth_servers_error_text_never_shows_our_credentials() {
    let (server, url) = serve().await;
    let encoded = base64_of(&format!("kid:{SENTINEL}"));
    server.script_tokens([reply(
        401,
        &format!(
            r#"{{"error":"invalid_client","error_description":"bad credentials kid:{SENTINEL} (Basic {encoded}) secret={SENTINEL} raw={}"}}"#,
            encoded.trim_end_matches('=')
        ),
    )]);
    let err = send_one(&oauth(&url), "https://e.com/1").await.unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains(SENTINEL), "{shown}");
    assert!(!shown.contains(encoded.trim_end_matches('=')), "{shown}");
    assert!(shown.contains("bad credentials"), "{shown}");
}
