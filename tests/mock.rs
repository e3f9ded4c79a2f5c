//! The real client against the embedded stand-in, the stand-in's own answers
//! over raw HTTP, and the `sinch-mock` binary and `create_webhook` example as
//! processes.

mod common;

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use sinch_conversation::mock::{Fault, MockServer};
use sinch_conversation::{Client, Error, RetryPolicy, Webhook, WebhookTrigger};

fn fast_retry() -> RetryPolicy {
    RetryPolicy::default().base_delay(Duration::from_millis(1))
}

async fn create(client: &Client, app: &str, target: &str) -> Result<Webhook, Error> {
    client
        .create_webhook(app, target)
        .trigger(WebhookTrigger::MessageInbound)
        .send()
        .await
}

fn count(server: &MockServer, path: &str) -> usize {
    server.requests().iter().filter(|r| r.path == path).count()
}

#[tokio::test]
async fn creates_with_oauth2_and_basic() {
    let server = MockServer::start().await.unwrap();
    let oauth = server.client_builder().build().unwrap();
    let webhook = create(&oauth, "app", "https://e.com/1").await.unwrap();
    assert_eq!(webhook.id.as_ref().map(String::len), Some(26));
    assert_eq!(webhook.app_id.as_deref(), Some("app"));
    let basic = server
        .client_builder()
        .basic_auth(MockServer::DEFAULT_KEY_ID, MockServer::DEFAULT_KEY_SECRET)
        .build()
        .unwrap();
    create(&basic, "app", "https://e.com/2").await.unwrap();
    let auths: Vec<_> = server
        .requests()
        .iter()
        .map(|r| (r.path.clone(), r.auth, r.status))
        .collect();
    assert_eq!(
        auths,
        [
            ("/oauth2/token".to_owned(), "basic", 200),
            (
                "/v1/projects/mock-project/webhooks".to_owned(),
                "bearer",
                200
            ),
            (
                "/v1/projects/mock-project/webhooks".to_owned(),
                "basic",
                200
            ),
        ]
    );
    assert_eq!(server.webhooks("app").len(), 2);
}

#[tokio::test]
async fn oauth2_tokens_expire_and_are_refreshed() {
    let server = MockServer::builder()
        .token_lifetime(Duration::from_secs(1))
        .start()
        .await
        .unwrap();
    let client = server.client_builder().build().unwrap();
    create(&client, "app", "https://e.com/1").await.unwrap();
    // Refreshed ahead of expiry (half of a 1 s lifetime).
    tokio::time::sleep(Duration::from_millis(600)).await;
    create(&client, "app", "https://e.com/2").await.unwrap();
    assert_eq!(count(&server, "/oauth2/token"), 2);

    // Expired server-side while still cached: a 401 saying so, one refresh,
    // one retry.
    server.set_token_lifetime(Duration::from_secs(3600));
    tokio::time::sleep(Duration::from_millis(600)).await;
    create(&client, "app", "https://e.com/3").await.unwrap();
    server.expire_tokens();
    create(&client, "app", "https://e.com/4").await.unwrap();
    let statuses: Vec<u16> = server
        .requests()
        .iter()
        .rev()
        .take(3)
        .map(|r| r.status)
        .collect();
    assert_eq!(
        statuses,
        [200, 200, 401],
        "retry, token, expired (newest first)"
    );
    assert_eq!(server.webhooks("app").len(), 4);
}

#[tokio::test]
async fn five_per_app_under_concurrency() {
    let server = MockServer::start().await.unwrap();
    let client = server.client_builder().build().unwrap();
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(
                async move { create(&client, "busy-app", &format!("https://e.com/{i}")).await },
            )
        })
        .collect();
    let mut ok = 0;
    let mut refused = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => ok += 1,
            Err(Error::Api(e)) if e.status() == 400 => {
                assert!(e.message().unwrap_or("").contains("maximum of 5"), "{e}");
                refused += 1;
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!((ok, refused), (5, 95));
    assert_eq!(server.webhooks("busy-app").len(), 5);
    assert_eq!(count(&server, "/oauth2/token"), 1, "one shared token");
}

#[tokio::test]
async fn duplicate_targets_unknown_projects_and_bad_keys_are_refused() {
    let server = MockServer::start().await.unwrap();
    let client = server.client_builder().build().unwrap();
    create(&client, "app", "https://e.com/same").await.unwrap();
    let err = create(&client, "app", "https://e.com/same")
        .await
        .unwrap_err();
    assert_eq!(
        (
            err.status(),
            matches!(&err, Error::Api(e) if e.api_status() == Some("INVALID_ARGUMENT"))
        ),
        (Some(400), true)
    );
    // Same target on another app is fine.
    create(&client, "other-app", "https://e.com/same")
        .await
        .unwrap();

    let other = server
        .client_builder()
        .project_id("someone-else")
        .build()
        .unwrap();
    let err = create(&other, "app", "https://e.com/x").await.unwrap_err();
    assert!(
        matches!(&err, Error::Api(e) if e.status() == 403 && e.api_status() == Some("PERMISSION_DENIED")),
        "{err:?}"
    );

    let wrong = server
        .client_builder()
        .oauth2("mock-key-id", "wrong")
        .build()
        .unwrap();
    let err = create(&wrong, "app", "https://e.com/x").await.unwrap_err();
    assert!(
        matches!(&err, Error::Auth(e) if e.status() == Some(401) && e.message() == "Bad client credentials"),
        "{err:?}"
    );
    let wrong = server
        .client_builder()
        .basic_auth("mock-key-id", "wrong")
        .build()
        .unwrap();
    let err = create(&wrong, "app", "https://e.com/x").await.unwrap_err();
    assert!(
        matches!(&err, Error::Api(e) if e.status() == 401),
        "{err:?}"
    );
}

#[tokio::test]
async fn injected_429s_are_retried_and_other_faults_are_not() {
    let server = MockServer::start().await.unwrap();
    let client = server
        .client_builder()
        .basic_auth("mock-key-id", "mock-key-secret")
        .retry(fast_retry())
        .build()
        .unwrap();
    let path = "/v1/projects/mock-project/webhooks";

    server.fail_next(
        2,
        Fault::Status {
            status: 429,
            retry_after: Some(Duration::ZERO),
        },
    );
    create(&client, "app", "https://e.com/1").await.unwrap();
    assert_eq!(count(&server, path), 3);

    for status in [500, 503] {
        server.fail_next(
            1,
            Fault::Status {
                status,
                retry_after: None,
            },
        );
        let err = create(&client, "app", "https://e.com/2").await.unwrap_err();
        assert_eq!(err.status(), Some(status));
        assert!(err.is_retryable());
    }
    assert_eq!(count(&server, path), 5, "5xx are never resent");

    server.fail_next(1, Fault::DropConnection);
    let err = create(&client, "app", "https://e.com/3").await.unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    assert_eq!(count(&server, path), 6, "a dropped answer is not resent");
    assert_eq!(server.webhooks("app").len(), 1);

    let impatient = server
        .client_builder()
        .basic_auth("mock-key-id", "mock-key-secret")
        .timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    server.fail_next(1, Fault::Delay(Duration::from_millis(400)));
    let err = create(&impatient, "app", "https://e.com/4")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Transport(t) if t.is_timeout()),
        "{err:?}"
    );
}

#[tokio::test]
async fn inspection_seeding_and_reset() {
    let server = MockServer::start().await.unwrap();
    let client = server.client_builder().build().unwrap();
    let mut seeded: Webhook = serde_json::from_value(
        serde_json::json!({"app_id": "app", "target": "https://e.com/seeded"}),
    )
    .unwrap();
    seeded = server.seed_webhook(seeded);
    assert!(seeded.id.is_some());
    // A seeded webhook counts toward the limit and the duplicate check.
    let err = create(&client, "app", "https://e.com/seeded")
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert_eq!(server.all_webhooks().len(), 1);
    server.reset();
    assert!(server.all_webhooks().is_empty());
    assert!(server.requests().is_empty());
}

// ---- The stand-in's answers, over raw HTTP ----------------------------------

#[tokio::test]
async fn the_stand_in_refuses_ambiguous_input_and_answers_small_errors() {
    let server = MockServer::start().await.unwrap();
    let http = reqwest::Client::new();
    let url = |path: &str| format!("{}{path}", server.base_url());
    let basic = format!(
        "Basic {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            "mock-key-id:mock-key-secret"
        )
    );
    let send = |request: reqwest::RequestBuilder| async move {
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let bytes = response.bytes().await.unwrap();
        (status, bytes)
    };

    // Two Authorization headers, even two valid ones: 401, API and token.
    for path in ["/v1/projects/mock-project/apps/a/webhooks", "/oauth2/token"] {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.append("authorization", basic.parse().unwrap());
        headers.append("authorization", basic.parse().unwrap());
        let request = if path.starts_with("/oauth2") {
            http.post(url(path)).body("grant_type=client_credentials")
        } else {
            http.get(url(path))
        };
        let (status, _) = send(request.headers(headers)).await;
        assert_eq!(status, 401, "{path}");
    }

    // A content type that merely starts with application/json: 400; with a
    // parameter: fine.
    let create = r#"{"app_id":"a","target":"https://e.com","triggers":["MESSAGE_INBOUND"]}"#;
    for (content_type, expected) in [
        ("application/jsonx", 400),
        ("application/json-patch+json", 400),
        ("application/json; charset=utf-8", 200),
        ("Application/JSON", 200),
    ] {
        let request = http
            .post(url("/v1/projects/mock-project/webhooks"))
            .header("authorization", &basic)
            .header("content-type", content_type)
            .body(create.replace(
                "https://e.com",
                &format!("https://e.com/{expected}{}", content_type.len()),
            ));
        let (status, body) = send(request).await;
        assert_eq!(status, expected, "{content_type}: {body:?}");
    }

    // Too large, on every route that reads a body: 413 in Sinch's format.
    let large = "x".repeat(70_000);
    for (path, content_type) in [
        ("/v1/projects/mock-project/webhooks", "application/json"),
        ("/v1/projects/mock-project/webhooks/any", "application/json"),
        ("/oauth2/token", "application/x-www-form-urlencoded"),
        (
            "/_mock/projects/mock-project/apps/a/events",
            "application/json",
        ),
    ] {
        let request = if path.contains("/webhooks/") {
            http.patch(url(path))
        } else {
            http.post(url(path))
        };
        let (status, body) = send(
            request
                .header("authorization", &basic)
                .header("content-type", content_type)
                .body(large.clone()),
        )
        .await;
        assert_eq!(status, 413, "{path}");
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_sinch_error(&body, 413, "INVALID_ARGUMENT", "larger than");
    }

    // A 44 KB request full of violations gets a small answer.
    let triggers: Vec<String> = (0..1000)
        .map(|i| format!("NOT_A_TRIGGER_{i:030}"))
        .collect();
    let body = serde_json::json!({"app_id": "a", "target": "https://e.com", "triggers": triggers});
    let (status, answer) = send(
        http.post(url("/v1/projects/mock-project/webhooks"))
            .header("authorization", &basic)
            .json(&body),
    )
    .await;
    assert_eq!(status, 400);
    assert!(body.to_string().len() > 40_000);
    assert!(answer.len() < 8_192, "{} bytes", answer.len());
    let answer: serde_json::Value = serde_json::from_slice(&answer).unwrap();
    assert_sinch_error(&answer, 400, "INVALID_ARGUMENT", "and 990 more");

    // Long ids and paths: refused (400, ids are at most MAX_ID_BYTES), cut
    // short in answers and in the log.
    let long = "a".repeat(20_000);
    for path in [
        format!("/v1/projects/mock-project/webhooks/{long}"),
        format!("/nowhere/{long}"),
        format!("/v1/projects/{long}/apps/a/webhooks"),
    ] {
        let (status, answer) = send(http.get(url(&path)).header("authorization", &basic)).await;
        assert_eq!(status, 400);
        assert!(
            answer.len() < 2_048,
            "{} bytes for {status} {}: {}",
            answer.len(),
            &path[..40],
            String::from_utf8_lossy(&answer[..300.min(answer.len())])
        );
    }
    assert!(server.requests().iter().all(|r| r.path.len() < 512));
}

async fn raw(
    server: &MockServer,
    content_type: &str,
    body: impl Into<reqwest::Body>,
) -> (u16, serde_json::Value) {
    let response = reqwest::Client::new()
        .post(format!(
            "{}/v1/projects/mock-project/webhooks",
            server.base_url()
        ))
        .basic_auth("mock-key-id", Some("mock-key-secret"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

fn assert_sinch_error(body: &serde_json::Value, code: u16, status: &str, mentions: &str) {
    assert_eq!(body["error"]["code"], code, "{body}");
    assert_eq!(body["error"]["status"], status, "{body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(mentions),
        "{message:?} should mention {mentions:?}"
    );
}

#[tokio::test]
async fn the_stand_in_is_as_strict_as_sinch() {
    let server = MockServer::start().await.unwrap();
    let json = "application/json";

    let (status, body) = raw(&server, json, "{not json").await;
    assert_eq!(status, 400);
    assert_sinch_error(&body, 400, "INVALID_ARGUMENT", "Invalid JSON payload");

    let (status, body) = raw(
        &server,
        "text/plain",
        r#"{"app_id":"a","target":"https://e.com"}"#,
    )
    .await;
    assert_eq!(status, 400);
    assert_sinch_error(&body, 400, "INVALID_ARGUMENT", "Content-Type");

    let huge = format!(
        r#"{{"app_id":"a","target":"https://e.com","secret":"{}"}}"#,
        "x".repeat(70_000)
    );
    let (status, body) = raw(&server, json, huge).await;
    assert_eq!(status, 413);
    assert_sinch_error(&body, 413, "INVALID_ARGUMENT", "larger than 65536 bytes");

    let (status, body) = raw(
        &server,
        json,
        r#"{"app_id":"a","target":"https://e.com","triggers":["FROM_THE_FUTURE"]}"#,
    )
    .await;
    assert_eq!(status, 400);
    assert_sinch_error(&body, 400, "INVALID_ARGUMENT", "triggers[0]");

    let (status, body) = raw(
        &server,
        json,
        r#"{"app_id":"a","target":"https://e.com","target_type":"GRPC"}"#,
    )
    .await;
    assert_eq!(status, 400);
    assert_sinch_error(&body, 400, "INVALID_ARGUMENT", "target_type");

    let (status, body) = raw(&server, json, r#"{"app_id":"a"}"#).await;
    assert_eq!(status, 400);
    assert_sinch_error(&body, 400, "INVALID_ARGUMENT", "target: required");
    assert_eq!(
        body["error"]["details"][0]["type_url"],
        "type.googleapis.com/google.rpc.BadRequest"
    );

    let (status, body) = raw(&server, json, r#"{"app_id":"a","target":"https://conversation-api.eu.sinch.com/x","triggers":["MESSAGE_INBOUND"]}"#).await;
    assert_eq!(status, 400);
    assert_sinch_error(&body, 400, "INVALID_ARGUMENT", "forbidden");

    // Lenient where Sinch is: an unknown token_request_type becomes BASIC, an
    // omitted target_type is Sinch's default DISMISS, no triggers is allowed.
    let (status, body) = raw(
        &server,
        json,
        r#"{"app_id":"a","target":"https://e.com/ok","client_credentials":{"client_id":"c","client_secret":"s","endpoint":"https://e.com/t","token_request_type":"MTLS"}}"#,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["client_credentials"]["token_request_type"], "BASIC");
    assert_eq!(body["target_type"], "DISMISS");
    assert_eq!(
        body["client_credentials"]["client_secret"], "s",
        "echoed as the seed's 200 describes"
    );

    let response = reqwest::get(format!("{}/v1/nothing/here", server.base_url()))
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);
    assert_sinch_error(
        &response.json().await.unwrap(),
        404,
        "NOT_FOUND",
        "/v1/nothing/here",
    );

    let token = reqwest::Client::new()
        .post(format!("{}/oauth2/token", server.base_url()))
        .basic_auth("mock-key-id", Some("mock-key-secret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    let token: serde_json::Value = token.json().await.unwrap();
    assert_eq!(token["token_type"], "bearer");
    assert_eq!(token["expires_in"], 3600);
    assert_eq!(
        token["access_token"].as_str().unwrap().split('.').count(),
        3,
        "JWT-shaped"
    );
}

// ---- Processes ---------------------------------------------------------------

#[test]
fn sinch_mock_binary_prints_its_url_logs_requests_and_stops_on_ctrl_c() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sinch-mock"))
        .args([
            "--addr",
            "127.0.0.1:0",
            "--project-id",
            "p1",
            "--key-id",
            "k1",
            "--key-secret",
            "s1",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let base_url = lines.next().unwrap().unwrap();
    assert!(base_url.starts_with("http://127.0.0.1:"), "{base_url}");

    let response = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let client = Client::builder()
                .project_id("p1")
                .base_url(&base_url)
                .auth_base_url(&base_url)
                .oauth2("k1", "s1")
                .build()
                .unwrap();
            create(&client, "app", "https://e.com/1").await
        })
    })
    .join()
    .unwrap();
    assert!(response.is_ok(), "{response:?}");
    assert!(
        lines
            .next()
            .unwrap()
            .unwrap()
            .starts_with("POST /oauth2/token -> 200 (basic auth")
    );
    assert!(
        lines
            .next()
            .unwrap()
            .unwrap()
            .starts_with("POST /v1/projects/p1/webhooks -> 200 (bearer auth")
    );

    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "clean exit on Ctrl-C: {status:?}");
}

/// `n` authenticated list requests, one after another; how many got a 200.
fn list_requests(base_url: &str, n: usize) -> usize {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    common::tls::install_crypto_provider();
    runtime.block_on(async {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        let mut ok = 0;
        for _ in 0..n {
            let response = http
                .get(format!(
                    "{base_url}/v1/projects/mock-project/apps/a/webhooks"
                ))
                .basic_auth(
                    MockServer::DEFAULT_KEY_ID,
                    Some(MockServer::DEFAULT_KEY_SECRET),
                )
                .send()
                .await;
            ok += usize::from(response.is_ok_and(|r| r.status() == 200));
        }
        ok
    })
}

#[test]
fn sinch_mock_keeps_serving_when_its_stdout_is_closed_or_never_read() {
    // Closed: every log write fails (EPIPE).
    let (mut child, stdout, base_url) = common::spawn_sinch_mock(&[]);
    drop(stdout);
    assert_eq!(list_requests(&base_url, 300), 300);
    assert!(child.try_wait().unwrap().is_none(), "still running");
    child.kill().unwrap();
    let _ = child.wait();

    // Never read: the pipe fills (64 KiB, about 1000 lines) and writes block.
    let (mut child, _stdout, base_url) = common::spawn_sinch_mock(&[]);
    let started = std::time::Instant::now();
    assert_eq!(list_requests(&base_url, 3000), 3000);
    assert!(started.elapsed() < Duration::from_secs(60));
    assert!(child.try_wait().unwrap().is_none(), "still running");
    child.kill().unwrap();
    let _ = child.wait();
}

/// `target/debug/examples/create_webhook`, built by `cargo test` with the
/// other examples.
fn example() -> Command {
    let mut path = std::env::current_exe().unwrap();
    path.pop();
    if path.ends_with("deps") {
        path.pop();
    }
    let mut command = Command::new(path.join("examples").join("create_webhook"));
    for var in [
        "SINCH_PROJECT_ID",
        "SINCH_KEY_ID",
        "SINCH_KEY_SECRET",
        "SINCH_CONVERSATION_REGION",
    ] {
        command.env_remove(var);
    }
    command
}

#[test]
fn the_example_runs_against_the_stand_in_by_default() {
    let output = example().output().unwrap();
    assert!(output.status.success(), "{output:?}");
    let webhook: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(webhook["target_type"], "HTTP");
    assert_eq!(
        webhook["triggers"],
        serde_json::json!(["MESSAGE_INBOUND", "MESSAGE_DELIVERY"])
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("local Sinch stand-in"), "{stderr}");
    assert!(stderr.contains("SINCH_CONVERSATION_REGION"), "{stderr}");
}

#[test]
fn the_example_flags_and_exit_codes() {
    let output = example()
        .args([
            "--app-id",
            "a1",
            "--target",
            "https://e.com/h",
            "--trigger",
            "OPT_IN",
            "--secret",
            "TOPSECRET",
            "--dry-run",
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let request: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(request["secret"], "***");
    assert_eq!(request["triggers"], serde_json::json!(["OPT_IN"]));
    assert!(!String::from_utf8_lossy(&output.stdout).contains("TOPSECRET"));
    assert!(String::from_utf8_lossy(&output.stderr).contains("nothing was sent"));

    let output = example()
        .args([
            "--app-id",
            "a/b",
            "--target",
            "ftp://x",
            "--trigger",
            "UNSPECIFIED_TRIGGER",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    for path in ["app_id:", "target:", "triggers[0]:"] {
        assert!(stderr.contains(path), "{path} missing from {stderr}");
    }

    // The client sends a trigger newer than the crate; the stand-in, like
    // Sinch, refuses it.
    let output = example()
        .args(["--trigger", "FROM_THE_FUTURE"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("Sinch answered 400") && stderr.contains("FROM_THE_FUTURE"),
        "{stderr}"
    );
}
