//! `sinch-webhooks listen`: flags checked before starting, each outcome's
//! line and answer, `--exec` (stdin, environment, failure, the lease's
//! end), `--forward-to`, JSON lines, SIGTERM.
#![cfg(feature = "cli")]

#[path = "common/listen.rs"]
mod listen;
#[path = "common/tls.rs"]
mod tls;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use sinch_conversation::callbacks::Signer;

const SECRET: &str = "listen-secret-9d2f";
const WAIT: Duration = Duration::from_secs(20);

fn body(id: &str, text: &str) -> String {
    format!(
        r#"{{"app_id":"a","project_id":"p","message":{{"id":"{id}","contact_message":{{"text_message":{{"text":"{text}"}}}}}}}}"#
    )
}

/// Posts `body` signed with `secret` (fresh nonce): the status and
/// `Retry-After`.
async fn post(url: &str, secret: &str, body: &str) -> (u16, Option<String>) {
    let headers = Signer::new(secret).sign(body.as_bytes()).to_header_map();
    tls::install_crypto_provider();
    let answer = reqwest::Client::new()
        .post(url)
        .headers(headers)
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let retry_after = answer
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (answer.status().as_u16(), retry_after)
}

fn dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sinch-listen-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Records each run (`trigger|key|app|project|body`) in `log`; exits 3 when
/// the body says "fail", sleeps 2 s when it says "slow", 5 s for "stuck".
fn handler_command(log: &std::path::Path) -> String {
    format!(
        r#"body=$(cat); printf '%s|%s|%s|%s|%s\n' "$SINCH_TRIGGER" "$SINCH_EVENT_KEY" "$SINCH_APP_ID" "$SINCH_PROJECT_ID" "$body" >> '{}'; echo "handler output"; case "$body" in *'"fail"'*) exit 3;; *'"slow"'*) sleep 2;; *'"stuck"'*) sleep 5;; esac"#,
        log.display()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_handles_each_event_once_and_every_outcome_has_its_line() {
    let dir = dir("exec");
    let log = dir.join("runs.log");
    let listener = listen::start(&[
        "--addr",
        "127.0.0.1:0",
        "--path",
        "/sinch",
        "--secret",
        "old-secret",
        "--secret",
        SECRET,
        "--exec",
        &handler_command(&log),
    ]);
    let url = listener.url.clone();
    assert!(url.ends_with("/sinch"), "{url}");

    // New: run once, with the body on stdin and the event in its environment.
    let first = body("M1", "hi");
    assert_eq!(post(&url, SECRET, &first).await.0, 200);
    assert_eq!(
        listener.line(WAIT).unwrap(),
        "new MESSAGE_INBOUND p/a/MESSAGE_INBOUND:M1 200"
    );
    let runs = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        runs,
        format!("MESSAGE_INBOUND|p/a/MESSAGE_INBOUND:M1|a|p|{first}\n")
    );
    // A retry (signed afresh, with the older secret too): 200, not run.
    assert_eq!(post(&url, "old-secret", &first).await.0, 200);
    assert_eq!(
        listener.line(WAIT).unwrap(),
        "duplicate MESSAGE_INBOUND p/a/MESSAGE_INBOUND:M1 200"
    );
    // A failing command: 500 and released, so the retry runs it again.
    for _ in 0..2 {
        assert_eq!(post(&url, SECRET, &body("M2", "fail")).await.0, 500);
        assert_eq!(
            listener.line(WAIT).unwrap(),
            "new MESSAGE_INBOUND p/a/MESSAGE_INBOUND:M2 500 (command failed: exit status: 3)"
        );
    }
    // Forged: refused, with why.
    assert_eq!(post(&url, "not-the-secret", &first).await.0, 401);
    assert_eq!(
        listener.line(WAIT).unwrap(),
        "rejected - - 401 (callback refused: signature does not match)"
    );
    // A copy while the first is being handled: 503 with Retry-After.
    let slow = body("M3", "slow");
    let first_copy = tokio::spawn({
        let (url, slow) = (url.clone(), slow.clone());
        async move { post(&url, SECRET, &slow).await }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (status, retry_after) = post(&url, SECRET, &slow).await;
    assert_eq!(status, 503);
    let secs: u64 = retry_after.unwrap().parse().unwrap();
    assert!((1..=60).contains(&secs), "{secs}");
    assert_eq!(
        listener.line(WAIT).unwrap(),
        "in_progress MESSAGE_INBOUND p/a/MESSAGE_INBOUND:M3 503"
    );
    assert_eq!(first_copy.await.unwrap().0, 200);
    assert_eq!(
        listener.line(WAIT).unwrap(),
        "new MESSAGE_INBOUND p/a/MESSAGE_INBOUND:M3 200"
    );
    let runs = std::fs::read_to_string(&log).unwrap();
    assert_eq!(runs.lines().count(), 4, "{runs}");
    // The command's output went to stderr, not among the event lines.
    assert!(listener.stderr().iter().any(|l| l == "handler output"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_still_running_at_the_lease_end_is_killed_and_released() {
    let dir = dir("lease");
    let log = dir.join("runs.log");
    let listener = listen::start(&[
        "--addr",
        "127.0.0.1:0",
        "--secret",
        SECRET,
        "--lease-secs",
        "1",
        "--exec",
        &handler_command(&log),
    ]);
    let started = Instant::now();
    assert_eq!(
        post(&listener.url, SECRET, &body("K1", "stuck")).await.0,
        500
    );
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        listener.line(WAIT).unwrap(),
        "new MESSAGE_INBOUND p/a/MESSAGE_INBOUND:K1 500 (command still running at the lease's end: killed)"
    );
    // Released: the retry is handled (and killed again).
    assert_eq!(
        post(&listener.url, SECRET, &body("K1", "stuck")).await.0,
        500
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_lines_and_no_secret_in_any_output() {
    let mut listener = listen::start(&[
        "--addr",
        "127.0.0.1:0",
        "--secret",
        SECRET,
        "--output",
        "json",
    ]);
    assert_eq!(post(&listener.url, SECRET, &body("J1", "hi")).await.0, 200);
    assert_eq!(post(&listener.url, SECRET, &body("J1", "hi")).await.0, 200);
    assert_eq!(post(&listener.url, "wrong", &body("J1", "hi")).await.0, 401);
    let lines: Vec<serde_json::Value> = (0..3)
        .map(|_| serde_json::from_str(&listener.line(WAIT).unwrap()).unwrap())
        .collect();
    assert_eq!(
        lines[0],
        serde_json::json!({"outcome": "new", "trigger": "MESSAGE_INBOUND", "key": "p/a/MESSAGE_INBOUND:J1", "status": 200, "detail": null})
    );
    assert_eq!(lines[1]["outcome"], "duplicate");
    assert_eq!(lines[2]["outcome"], "rejected");
    assert_eq!(lines[2]["status"], 401);
    let _ = listener.child.kill();
    let _ = listener.child.wait();
    let everything = format!("{lines:?}{:?}", listener.stderr());
    assert!(!everything.contains(SECRET), "{everything}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forward_to_resends_the_verified_request_and_answers_with_its_status() {
    use axum::http::StatusCode;
    use sinch_conversation::receive::{Receiver, SinchCallback};
    // A local app that verifies with the same secret: the signature headers
    // and body arrive unchanged.
    async fn app(callback: SinchCallback) -> StatusCode {
        if String::from_utf8_lossy(callback.raw()).contains("teapot") {
            StatusCode::IM_A_TEAPOT
        } else {
            StatusCode::OK
        }
    }
    let local = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let local_url = format!("http://{}/app", local.local_addr().unwrap());
    let router = axum::Router::new()
        .route("/app", axum::routing::post(app))
        .with_state(Receiver::new([SECRET]));
    tokio::spawn(async move { axum::serve(local, router).await });

    let listener = listen::start(&[
        "--addr",
        "127.0.0.1:0",
        "--secret",
        SECRET,
        "--forward-to",
        &local_url,
    ]);
    assert_eq!(post(&listener.url, SECRET, &body("F1", "hi")).await.0, 200);
    assert_eq!(
        listener.line(WAIT).unwrap(),
        "new MESSAGE_INBOUND p/a/MESSAGE_INBOUND:F1 200"
    );
    assert_eq!(
        post(&listener.url, SECRET, &body("F2", "teapot")).await.0,
        418
    );
    assert_eq!(
        listener.line(WAIT).unwrap(),
        "new MESSAGE_INBOUND p/a/MESSAGE_INBOUND:F2 418"
    );
    // Not 2xx: released, so the retry is forwarded again.
    assert_eq!(
        post(&listener.url, SECRET, &body("F2", "teapot")).await.0,
        418
    );
    // An app that cannot be reached: 502, Sinch retries.
    let gone = format!("http://127.0.0.1:{}/", listen::free_port());
    let unreachable = listen::start(&[
        "--addr",
        "127.0.0.1:0",
        "--secret",
        SECRET,
        "--forward-to",
        &gone,
    ]);
    assert_eq!(
        post(&unreachable.url, SECRET, &body("F3", "hi")).await.0,
        502
    );
    let line = unreachable.line(WAIT).unwrap();
    assert!(
        line.starts_with("new MESSAGE_INBOUND p/a/MESSAGE_INBOUND:F3 502 (cannot forward:"),
        "{line}"
    );
}

#[test]
fn invalid_flags_exit_2_before_listening() {
    for args in [
        vec!["--secret", " "],
        vec!["--secret", SECRET, "--secret", ""],
        vec!["--secret", SECRET, "--redis", "not-a-url"],
        vec!["--secret", SECRET, "--redis", "http://127.0.0.1:6379"],
        vec!["--secret", SECRET, "--path", "sinch"],
        vec![
            "--secret",
            SECRET,
            "--exec",
            "true",
            "--forward-to",
            "http://127.0.0.1:1/",
        ],
        vec!["--secret", SECRET, "--forward-to", "not a url"],
        vec!["--secret", SECRET, "--lease-secs", "0"],
        vec![],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_sinch-webhooks"))
            .arg("listen")
            .args(["--addr", "127.0.0.1:0"])
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("listening on"), "{args:?}: {stderr}");
        assert!(!stderr.contains(SECRET) || args.is_empty(), "{stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_taking_callbacks_and_waits_for_running_handlers() {
    let dir = dir("term");
    let log = dir.join("runs.log");
    let mut listener = listen::start(&[
        "--addr",
        "127.0.0.1:0",
        "--secret",
        SECRET,
        "--exec",
        &handler_command(&log),
    ]);
    let running = tokio::spawn({
        let url = listener.url.clone();
        async move { post(&url, SECRET, &body("T1", "slow")).await }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let pid = listener.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    // The running handler finishes and is answered; then the process exits 0.
    assert_eq!(running.await.unwrap().0, 200);
    let started = Instant::now();
    let status = loop {
        if let Some(status) = listener.child.try_wait().unwrap() {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "did not exit");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0));
    assert!(listener.stderr().iter().any(|l| l.starts_with("stopping:")));
    let _ = std::fs::remove_dir_all(&dir);
}
