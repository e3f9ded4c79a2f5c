//! The `webhooks` example: every command, its JSON output with secrets
//! redacted, and its exit codes; against its own seeded stand-in and, through
//! the `SINCH_*` variables, against a stand-in that keeps state across runs.

use sinch_conversation::mock::MockServer;
use tokio::process::Command;

/// `target/debug/examples/webhooks`, built by `cargo test` with the other
/// examples.
fn example(args: &[&str]) -> Command {
    let mut path = std::env::current_exe().unwrap();
    path.pop();
    if path.ends_with("deps") {
        path.pop();
    }
    let mut command = Command::new(path.join("examples").join("webhooks"));
    command.args(args);
    for var in [
        "SINCH_PROJECT_ID",
        "SINCH_KEY_ID",
        "SINCH_KEY_SECRET",
        "SINCH_CONVERSATION_REGION",
        "SINCH_CONVERSATION_BASE_URL",
        "SINCH_AUTH_BASE_URL",
    ] {
        command.env_remove(var);
    }
    command
}

struct Run {
    code: Option<i32>,
    json: serde_json::Value,
    stdout: String,
    stderr: String,
}

async fn run(mut command: Command) -> Run {
    let output = command.output().await.unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    Run {
        code: output.status.code(),
        json: serde_json::from_str(&stdout).unwrap_or_default(),
        stdout,
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

#[tokio::test]
async fn every_command_against_the_seeded_stand_in() {
    let list = run(example(&["list"])).await;
    assert_eq!(list.code, Some(0), "{}", list.stderr);
    assert_eq!(list.json[0]["id"], "demo-webhook");
    assert_eq!(list.json[0]["secret"], "***");
    assert!(
        list.stderr.contains("local Sinch stand-in"),
        "{}",
        list.stderr
    );

    let get = run(example(&["get", "--id", "demo-webhook"])).await;
    assert_eq!(get.code, Some(0), "{}", get.stderr);
    assert_eq!(get.json["app_id"], "demo-app");
    assert!(!get.stdout.contains("demo-secret"));

    let update = run(example(&[
        "update",
        "--id",
        "demo-webhook",
        "--trigger",
        "MESSAGE_DELIVERY",
        "--clear-secret",
        "--target-type",
        "DISMISS",
    ]))
    .await;
    assert_eq!(update.code, Some(0), "{}", update.stderr);
    assert_eq!(
        update.json["triggers"],
        serde_json::json!(["MESSAGE_DELIVERY"])
    );
    assert_eq!(update.json["target_type"], "DISMISS");
    assert!(update.json.get("secret").is_none(), "{}", update.stdout);
    assert_eq!(update.json["target"], "https://example.com/sinch/demo");

    let delete = run(example(&["delete", "--id", "demo-webhook"])).await;
    assert_eq!(delete.code, Some(0), "{}", delete.stderr);
    assert_eq!(delete.json, serde_json::json!({}));

    let create = run(example(&[
        "create",
        "--target",
        "https://e.com/h",
        "--secret",
        "TOPSECRET",
    ]))
    .await;
    assert_eq!(create.code, Some(0), "{}", create.stderr);
    assert_eq!(create.json["secret"], "***");
    assert!(!create.stdout.contains("TOPSECRET"));
}

#[tokio::test]
async fn dry_runs_send_nothing_and_print_the_request() {
    let update = run(example(&[
        "update",
        "--id",
        "w1",
        "--target",
        "https://e.com/x",
        "--secret",
        "TOPSECRET",
        "--dry-run",
    ]))
    .await;
    assert_eq!(update.code, Some(0), "{}", update.stderr);
    assert_eq!(
        update.json,
        serde_json::json!({"target": "https://e.com/x", "secret": "***"})
    );
    assert!(
        update.stderr.contains("PATCH ")
            && update
                .stderr
                .contains("/webhooks/w1?update_mask=secret,target"),
        "{}",
        update.stderr
    );
    assert!(update.stderr.contains("nothing was sent"));
    let delete = run(example(&["delete", "--id", "w1", "--dry-run"])).await;
    assert_eq!(delete.code, Some(0), "{}", delete.stderr);
    assert!(
        delete.stderr.contains("DELETE ") && delete.stderr.contains("/webhooks/w1;"),
        "{}",
        delete.stderr
    );
}

#[tokio::test]
async fn invalid_input_exits_2_with_every_violation_and_api_errors_exit_1() {
    for args in [&["get"][..], &["frob"], &["update"], &["list", "--app-id"]] {
        let out = run(example(args)).await;
        assert_eq!(out.code, Some(2), "{args:?}: {}", out.stderr);
    }
    let out = run(example(&["update", "--id", "w1"])).await;
    assert_eq!(out.code, Some(2));
    assert!(
        out.stderr.contains("update_mask: nothing to update"),
        "{}",
        out.stderr
    );
    let out = run(example(&[
        "update",
        "--id",
        "a/b",
        "--target",
        "ftp://x",
        "--trigger",
        "UNSPECIFIED_TRIGGER",
    ]))
    .await;
    assert_eq!(out.code, Some(2));
    for path in ["webhook_id:", "target:", "triggers[0]:"] {
        assert!(
            out.stderr.contains(path),
            "{path} missing from {}",
            out.stderr
        );
    }
    assert!(
        !out.stderr.contains("stand-in"),
        "nothing was sent: {}",
        out.stderr
    );

    let out = run(example(&["get", "--id", "no-such-webhook"])).await;
    assert_eq!(out.code, Some(1));
    assert!(out.stderr.contains("Sinch answered 404"), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sinch_variables_point_it_at_another_api() {
    // A stand-in outside the example keeps state from one run to the next.
    let server = MockServer::start().await.unwrap();
    let with_env = |args: &[&str]| {
        let mut command = example(args);
        command
            .env("SINCH_PROJECT_ID", server.project_id())
            .env("SINCH_KEY_ID", MockServer::DEFAULT_KEY_ID)
            .env("SINCH_KEY_SECRET", MockServer::DEFAULT_KEY_SECRET)
            .env("SINCH_CONVERSATION_BASE_URL", server.base_url())
            .env("SINCH_AUTH_BASE_URL", server.base_url());
        command
    };
    let created = run(with_env(&[
        "create",
        "--app-id",
        "tenant",
        "--target",
        "https://e.com/t",
    ]))
    .await;
    assert_eq!(created.code, Some(0), "{}", created.stderr);
    assert!(!created.stderr.contains("stand-in"), "{}", created.stderr);
    let id = created.json["id"].as_str().unwrap().to_owned();
    let updated = run(with_env(&[
        "update",
        "--id",
        &id,
        "--target",
        "https://e.com/t2",
    ]))
    .await;
    assert_eq!(updated.code, Some(0), "{}", updated.stderr);
    assert_eq!(
        server.webhooks("tenant")[0].target.as_str(),
        "https://e.com/t2"
    );
    let listed = run(with_env(&["list", "--app-id", "tenant"])).await;
    assert_eq!(listed.json[0]["id"], id.as_str());
    assert_eq!(run(with_env(&["delete", "--id", &id])).await.code, Some(0));
    assert!(server.webhooks("tenant").is_empty());
    let gone = run(with_env(&["get", "--id", &id])).await;
    assert_eq!(gone.code, Some(1));
}

#[tokio::test]
async fn ensure_and_sync_from_the_command_line() {
    let ensure = run(example(&[
        "ensure",
        "--target",
        "https://example.com/sinch/demo",
        "--trigger",
        "MESSAGE_INBOUND",
        "--secret",
        "demo-secret",
    ]))
    .await;
    assert_eq!(ensure.code, Some(0), "{}", ensure.stderr);
    assert_eq!(
        ensure.json["outcome"], "unchanged",
        "the seeded webhook is already so"
    );
    let ensure = run(example(&[
        "ensure",
        "--trigger",
        "EVENT_INBOUND",
        "--target",
        "https://example.com/sinch/demo",
    ]))
    .await;
    assert_eq!(ensure.json["outcome"], "updated");
    assert_eq!(
        ensure.json["fields"],
        serde_json::json!(["secret", "triggers"])
    );

    let dir = std::env::temp_dir().join(format!("webhooks-example-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("webhooks.toml");
    std::fs::write(
        &file,
        "[[webhook]]\ntarget = \"https://example.com/in\"\ntriggers = [\"MESSAGE_INBOUND\"]\nsecret = \"TOPSECRET\"\n",
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let plan = run(example(&["sync", "--file", path, "--dry-run"])).await;
    assert_eq!(plan.code, Some(0), "{}", plan.stderr);
    assert_eq!(
        plan.json["plan"],
        serde_json::json!([
            "delete demo-webhook (https://example.com/sinch/demo)",
            "create https://example.com/in"
        ])
    );
    let applied = run(example(&["sync", "--file", path])).await;
    assert_eq!(applied.code, Some(0), "{}", applied.stderr);
    assert_eq!(applied.json["webhooks"][0]["secret"], "***");
    assert!(!applied.stdout.contains("TOPSECRET"));

    // Invalid input: no file, an unreadable one, a set that can never be valid.
    assert_eq!(run(example(&["sync"])).await.code, Some(2));
    assert_eq!(
        run(example(&["sync", "--file", "/nonexistent/x.toml"]))
            .await
            .code,
        Some(2)
    );
    std::fs::write(
        &file,
        "[[webhook]]\ntarget = \"https://e.com/a\"\ntriggers = [\"MESSAGE_INBOUND\"]\n\
         [[webhook]]\ntarget = \"https://e.com/a\"\ntriggers = [\"MESSAGE_INBOUND\"]\n",
    )
    .unwrap();
    let invalid = run(example(&["sync", "--file", path])).await;
    assert_eq!(invalid.code, Some(2));
    assert!(
        invalid.stderr.contains("webhooks[1].target"),
        "{}",
        invalid.stderr
    );
    let _ = std::fs::remove_dir_all(&dir);
}
