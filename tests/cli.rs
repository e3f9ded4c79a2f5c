//! The `sinch-webhooks` command: every subcommand, its output with secrets
//! redacted, its exit codes, and `sync --file` from a deploy job's point of
//! view (strict input, nothing sent on a bad file, many apps, convergence).

use std::path::PathBuf;

use sinch_conversation::mock::MockServer;
use tokio::process::Command;

fn command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sinch-webhooks"));
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

/// Against the embedded stand-in, JSON output.
fn stand_in(args: &[&str]) -> Command {
    let mut all = vec!["--stand-in", "--output", "json"];
    all.extend_from_slice(args);
    command(&all)
}

/// Against `server` through the `SINCH_*` variables.
fn against(server: &MockServer, args: &[&str]) -> Command {
    let mut command = command(args);
    command
        .env("SINCH_PROJECT_ID", server.project_id())
        .env("SINCH_KEY_ID", MockServer::DEFAULT_KEY_ID)
        .env("SINCH_KEY_SECRET", MockServer::DEFAULT_KEY_SECRET)
        .env("SINCH_CONVERSATION_BASE_URL", server.base_url())
        .env("SINCH_AUTH_BASE_URL", server.base_url());
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

/// A file with `text` in a directory of this test's own.
fn file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sinch-webhooks-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test]
async fn every_command_against_the_seeded_stand_in() {
    let list = run(stand_in(&["list", "--app-id", "demo-app"])).await;
    assert_eq!(list.code, Some(0), "{}", list.stderr);
    assert_eq!(list.json[0]["id"], "demo-webhook");
    assert_eq!(list.json[0]["secret"], "***");
    assert!(
        list.stderr.contains("embedded Sinch stand-in"),
        "{}",
        list.stderr
    );

    let get = run(stand_in(&["get", "--id", "demo-webhook"])).await;
    assert_eq!(get.code, Some(0), "{}", get.stderr);
    assert_eq!(get.json["app_id"], "demo-app");
    assert!(!get.stdout.contains("demo-secret"));

    let update = run(stand_in(&[
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

    let delete = run(stand_in(&["delete", "--id", "demo-webhook"])).await;
    assert_eq!(delete.code, Some(0), "{}", delete.stderr);
    assert_eq!(delete.json, serde_json::json!({"deleted": "demo-webhook"}));

    let create = run(stand_in(&[
        "create",
        "--app-id",
        "demo-app",
        "--target",
        "https://user:URLPASSWORD@e.com/h",
        "--secret",
        "TOPSECRET",
    ]))
    .await;
    assert_eq!(create.code, Some(0), "{}", create.stderr);
    assert_eq!(create.json["secret"], "***");
    assert_eq!(create.json["target"], "https://user:***@e.com/h");
    assert_eq!(
        create.json["triggers"],
        serde_json::json!(["MESSAGE_INBOUND", "MESSAGE_DELIVERY"])
    );
    for secret in ["TOPSECRET", "URLPASSWORD"] {
        assert!(!create.stdout.contains(secret) && !create.stderr.contains(secret));
    }

    // Text output, for people.
    let text = run(command(&["--stand-in", "get", "--id", "demo-webhook"])).await;
    assert_eq!(text.code, Some(0), "{}", text.stderr);
    assert!(
        text.stdout
            .starts_with("demo-webhook  https://example.com/sinch/demo\n"),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout.contains("  secret: *** (set)\n"),
        "{}",
        text.stdout
    );
}

#[tokio::test]
async fn every_subcommand_has_help_with_an_example() {
    for sub in [
        &["create"][..],
        &["list"],
        &["get"],
        &["update"],
        &["delete"],
        &["ensure"],
        &["sync"],
        &["listen"],
        &["work"],
        &["verify"],
        &["inbox", "stats"],
        &["inbox", "dead-letters"],
        &["inbox", "replay"],
        &["trigger"],
        &["stand-in"],
    ] {
        let mut args = sub.to_vec();
        args.push("--help");
        let help = run(command(&args)).await;
        assert_eq!(help.code, Some(0), "{sub:?}: {}", help.stderr);
        assert!(help.stdout.contains("Example"), "{sub:?}: {}", help.stdout);
        assert!(help.stdout.contains("--output"), "{sub:?}: {}", help.stdout);
    }
    let top = run(command(&["--help"])).await;
    assert!(top.stdout.contains("SINCH_PROJECT_ID") && top.stdout.contains("Exit codes"));
}

#[tokio::test]
async fn it_never_falls_back_to_a_stand_in_without_credentials() {
    let out = run(command(&["list", "--app-id", "app"])).await;
    assert_eq!(out.code, Some(2));
    assert!(
        out.stderr.contains("no Sinch credentials") && out.stderr.contains("--stand-in"),
        "{}",
        out.stderr
    );
    // --app-id is required.
    let out = run(command(&["ensure", "--target", "https://e.com/h"])).await;
    assert_eq!(out.code, Some(2));
    assert!(out.stderr.contains("--app-id"), "{}", out.stderr);
}

#[tokio::test]
async fn dry_runs_send_nothing_and_print_the_request() {
    let update = run(stand_in(&[
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
    let delete = run(stand_in(&["delete", "--id", "w1", "--dry-run"])).await;
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
        let out = run(stand_in(args)).await;
        assert_eq!(out.code, Some(2), "{args:?}: {}", out.stderr);
    }
    let out = run(stand_in(&["update", "--id", "w1"])).await;
    assert_eq!(out.code, Some(2));
    // With --output json, the error is JSON too (on stderr).
    let error: serde_json::Value =
        serde_json::from_str(out.stderr.lines().next().unwrap_or_default()).unwrap();
    assert_eq!(error["exit"], 2);
    assert_eq!(error["error"]["kind"], "invalid");
    assert_eq!(error["error"]["violations"][0]["path"], "update_mask");
    let out = run(command(&["--stand-in", "update", "--id", "w1"])).await;
    assert_eq!(out.code, Some(2));
    assert!(
        out.stderr.contains("update_mask: nothing to update"),
        "{}",
        out.stderr
    );
    let out = run(stand_in(&[
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
    for path in ["\"webhook_id\"", "\"target\"", "\"triggers[0]\""] {
        assert!(
            out.stderr.contains(path),
            "{path} missing from {}",
            out.stderr
        );
    }
    let out = run(stand_in(&["get", "--id", "no-such-webhook"])).await;
    assert_eq!(out.code, Some(1));
    assert!(out.stderr.contains("\"status\":404"), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sinch_variables_point_it_at_another_api() {
    // A stand-in outside the command keeps state from one run to the next.
    let server = MockServer::start().await.unwrap();
    let json = |args: &[&str]| {
        let mut all = vec!["--output", "json"];
        all.extend_from_slice(args);
        against(&server, &all)
    };
    let created = run(json(&[
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
    let updated = run(json(&[
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
    let listed = run(json(&["list", "--app-id", "tenant"])).await;
    assert_eq!(listed.json[0]["id"], id.as_str());
    assert_eq!(run(json(&["delete", "--id", &id])).await.code, Some(0));
    assert!(server.webhooks("tenant").is_empty());
    assert_eq!(run(json(&["get", "--id", &id])).await.code, Some(1));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_file_is_refused_with_every_problem_and_no_request_at_all() {
    let server = MockServer::start().await.unwrap();
    let cases = [
        (
            "misspelled-table.toml",
            "[[webhooks]]\ntarget = \"https://e.com/h\"\ntriggers = [\"MESSAGE_INBOUND\"]\n",
            vec!["line 1: unknown table or key \"webhooks\""],
        ),
        (
            "misspelled-key.toml",
            "[[webhook]]\ntarget = \"https://e.com/h\"\ntriggers = [\"MESSAGE_INBOUND\"]\nsecrte = \"x\"\n",
            vec!["line 4: unknown key \"secrte\""],
        ),
        (
            "wrong-types.toml",
            "[[webhook]]\ntarget = 5\ntriggers = \"MESSAGE_INBOUND\"\n",
            vec![
                "line 2: webhook.target: expected a string",
                "line 3: webhook.triggers: expected an array of strings",
            ],
        ),
        (
            "empty.toml",
            "",
            vec!["no webhooks: this would delete every webhook"],
        ),
        (
            "invalid.toml",
            "[[webhook]]\ntarget = \"https://e.com/a\"\ntriggers = [\"MESSAGE_INBOUND\"]\n\n\
             [[webhook]]\ntarget = \"https://E.COM:443/a\"\ntriggers = [\"MESSAGE_INBOUND\"]\n\
             secret = \" \"\n",
            vec![
                "line 6: app \"app\": webhooks[1].target: the same target (as a URL)",
                "line 8: app \"app\": webhooks[1].secret: must not be empty",
            ],
        ),
        (
            "not-toml.toml",
            "[[webhook]\n",
            vec!["line 1: not valid TOML"],
        ),
    ];
    for (name, text, expected) in cases {
        let path = file(name, text);
        let path = path.to_str().unwrap();
        let out = run(against(
            &server,
            &["sync", "--app-id", "app", "--file", path],
        ))
        .await;
        assert_eq!(out.code, Some(2), "{name}: {}", out.stderr);
        assert!(
            out.stderr.contains("refused, nothing was sent"),
            "{}",
            out.stderr
        );
        for problem in expected {
            assert!(
                out.stderr.contains(problem),
                "{name}: {problem:?} missing from {}",
                out.stderr
            );
        }
    }
    let path = file(
        "one-app.toml",
        "[[webhook]]\ntarget = \"https://e.com/h\"\ntriggers = [\"MESSAGE_INBOUND\"]\n",
    );
    let out = run(against(
        &server,
        &["sync", "--file", path.to_str().unwrap()],
    ))
    .await;
    assert_eq!(out.code, Some(2));
    assert!(out.stderr.contains("need --app-id"), "{}", out.stderr);
    assert_eq!(
        run(against(
            &server,
            &["sync", "--app-id", "a", "--file", "/nonexistent/x.toml"]
        ))
        .await
        .code,
        Some(2)
    );
    // Not one request of any kind, not even for a token.
    assert_eq!(server.requests(), vec![]);
}

#[tokio::test(flavor = "multi_thread")]
async fn sync_converges_and_an_empty_set_needs_allow_empty() {
    // Sinch may not echo secrets: the second run must still send nothing.
    let server = MockServer::builder()
        .omit_secrets(true)
        .start()
        .await
        .unwrap();
    let desired = file(
        "converge.toml",
        "[[webhook]]\ntarget = \"https://example.com/in\"\ntriggers = [\"MESSAGE_INBOUND\"]\nsecret = \"TOPSECRET\"\n\
         [webhook.client_credentials]\nclient_id = \"c\"\nclient_secret = \"CLIENTSECRET\"\nendpoint = \"https://auth.example.com/t\"\n",
    );
    let path = desired.to_str().unwrap();
    let sync = |extra: &[&str]| {
        let mut args = vec!["sync", "--app-id", "app", "--file", path];
        args.extend_from_slice(extra);
        against(&server, &args)
    };
    let first = run(sync(&[])).await;
    assert_eq!(first.code, Some(0), "{}", first.stderr);
    assert_eq!(
        first.stdout,
        "app app: 1 change(s) applied\n  + create https://example.com/in\n"
    );
    for secret in ["TOPSECRET", "CLIENTSECRET"] {
        assert!(!first.stdout.contains(secret) && !first.stderr.contains(secret));
    }
    let stored = server.webhooks("app");
    assert_eq!(
        stored[0].secret.as_ref().map(|s| s.expose()),
        Some("TOPSECRET")
    );

    server.clear_requests();
    let second = run(sync(&[])).await;
    assert_eq!(second.code, Some(0), "{}", second.stderr);
    assert_eq!(second.stdout, "app app: in sync, nothing to change\n");
    let writes = server
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/v1/") && r.method != "GET")
        .count();
    assert_eq!(writes, 0, "a converged sync sends no update");

    // The same URL spelled differently is the same webhook: no change.
    let respelled = file(
        "respelled.toml",
        &std::fs::read_to_string(&desired)
            .unwrap()
            .replace("https://example.com/in", "HTTPS://Example.COM:443/in"),
    );
    let out = run(against(
        &server,
        &[
            "sync",
            "--app-id",
            "app",
            "--file",
            respelled.to_str().unwrap(),
        ],
    ))
    .await;
    assert_eq!(
        out.stdout, "app app: in sync, nothing to change\n",
        "{}",
        out.stderr
    );

    // A rotation sets the secrets although the answers do not show them.
    let rotated = run(sync(&["--rotate-secret", "--output", "json"])).await;
    assert_eq!(rotated.code, Some(0), "{}", rotated.stderr);
    assert_eq!(
        rotated.json["apps"][0]["applied"],
        serde_json::json!([{
            "kind": "update",
            "id": stored[0].id.as_deref().unwrap(),
            "target": "https://example.com/in",
            "fields": ["client_credentials", "secret"],
        }])
    );

    // Deleting everything takes --allow-empty.
    let empty = file("nothing.toml", "# no webhooks on purpose\n");
    let empty = empty.to_str().unwrap();
    let refused = run(against(
        &server,
        &["sync", "--app-id", "app", "--file", empty],
    ))
    .await;
    assert_eq!(refused.code, Some(2), "{}", refused.stderr);
    assert_eq!(server.webhooks("app").len(), 1);
    let plan = run(against(
        &server,
        &[
            "sync",
            "--app-id",
            "app",
            "--file",
            empty,
            "--allow-empty",
            "--dry-run",
        ],
    ))
    .await;
    assert_eq!(plan.code, Some(0), "{}", plan.stderr);
    assert!(plan.stdout.contains("  - delete "), "{}", plan.stdout);
    assert_eq!(server.webhooks("app").len(), 1, "a dry run changes nothing");
    let applied = run(against(
        &server,
        &["sync", "--app-id", "app", "--file", empty, "--allow-empty"],
    ))
    .await;
    assert_eq!(applied.code, Some(0), "{}", applied.stderr);
    assert!(server.webhooks("app").is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn many_apps_from_one_file_with_progress_and_a_summary() {
    let server = MockServer::start().await.unwrap();
    let mut text = String::new();
    for i in 0..5 {
        text.push_str(&format!(
            "[[app]]\nid = \"tenant-{i}\"\n[[app.webhook]]\ntarget = \"https://example.com/t{i}\"\ntriggers = [\"MESSAGE_INBOUND\"]\n\n"
        ));
    }
    let path = file("tenants.toml", &text);
    let path = path.to_str().unwrap();
    let out = run(against(
        &server,
        &["sync", "--file", path, "--concurrency", "2"],
    ))
    .await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    for i in 0..5 {
        assert_eq!(server.webhooks(&format!("tenant-{i}")).len(), 1);
        assert!(
            out.stdout
                .contains(&format!("app tenant-{i}: 1 change(s) applied\n"))
        );
    }
    assert!(
        out.stdout.ends_with("5 app(s): 5 ok, 0 failed\n"),
        "{}",
        out.stdout
    );
    // Not a terminal: one plain progress line per app.
    assert_eq!(
        out.stderr.matches(" change(s) applied").count(),
        5,
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("[5/5] "), "{}", out.stderr);

    let again = run(against(
        &server,
        &["sync", "--file", path, "--dry-run", "--output", "json"],
    ))
    .await;
    assert_eq!(again.code, Some(0), "{}", again.stderr);
    let apps = again.json["apps"].as_array().unwrap();
    assert_eq!(apps.len(), 5);
    assert!(
        apps.iter().all(|a| a["plan"] == serde_json::json!([])),
        "{}",
        again.stdout
    );

    // One app that fails fails the run (exit 1), the others go on: here
    // the first request (the first app's token) is refused.
    let mut more = text.clone();
    more.push_str("[[app]]\nid = \"tenant-5\"\n[[app.webhook]]\ntarget = \"https://e.com/y\"\ntriggers = [\"MESSAGE_INBOUND\"]\n");
    let path = file("with-failure.toml", &more);
    server.fail_next(
        1,
        sinch_conversation::mock::Fault::Status {
            status: 400,
            retry_after: None,
        },
    );
    let out = run(against(
        &server,
        &[
            "sync",
            "--file",
            path.to_str().unwrap(),
            "--concurrency",
            "1",
        ],
    ))
    .await;
    assert_eq!(out.code, Some(1), "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("app tenant-0: FAILED"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("app tenant-5: 1 change(s) applied"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.ends_with("6 app(s): 5 ok, 1 failed\n"),
        "{}",
        out.stdout
    );

    let refused = run(against(
        &server,
        &["sync", "--file", path.to_str().unwrap(), "--app-id", "x"],
    ))
    .await;
    assert_eq!(refused.code, Some(2), "{}", refused.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn no_secret_reaches_the_commands_output() {
    const KEY: &str = "KEY-SECRET-SENTINEL";
    let server = MockServer::builder()
        .key(MockServer::DEFAULT_KEY_ID, KEY)
        .start()
        .await
        .unwrap();
    let with_key = |args: &[&str]| {
        let mut command = against(&server, args);
        command.env("SINCH_KEY_SECRET", KEY);
        command
    };
    let desired = file(
        "secrets.toml",
        "[[webhook]]\ntarget = \"https://u:URL-PASSWORD-SENTINEL@example.com/in\"\ntriggers = [\"MESSAGE_INBOUND\"]\n\
         secret = \"WEBHOOK-SECRET-SENTINEL\"\n[webhook.client_credentials]\nclient_id = \"c\"\n\
         client_secret = \"CLIENT-SECRET-SENTINEL\"\nendpoint = \"https://id:ENDPOINT-SENTINEL@auth.example.com/t\"\n",
    );
    let path = desired.to_str().unwrap();
    let runs = [
        vec!["sync", "--app-id", "app", "--file", path, "--dry-run"],
        vec!["sync", "--app-id", "app", "--file", path],
        vec![
            "--output",
            "json",
            "sync",
            "--app-id",
            "app",
            "--file",
            path,
            "--rotate-secret",
        ],
        vec!["--output", "json", "list", "--app-id", "app"],
        vec!["list", "--app-id", "app"],
        vec!["get", "--id", "no-such-webhook"],
        vec![
            "create",
            "--app-id",
            "app",
            "--target",
            "https://u:URL-PASSWORD-SENTINEL@example.com/in",
            "--secret",
            "WEBHOOK-SECRET-SENTINEL",
        ],
        vec![
            "--output",
            "json",
            "ensure",
            "--app-id",
            "app",
            "--target",
            "https://u:URL-PASSWORD-SENTINEL@example.com/in",
            "--secret",
            "WEBHOOK-SECRET-SENTINEL",
            "--dry-run",
        ],
    ];
    for args in runs {
        let out = run(with_key(&args)).await;
        assert!(out.code.is_some(), "{args:?}");
        for text in [&out.stdout, &out.stderr] {
            assert!(
                !text.contains("SENTINEL"),
                "{args:?} printed a secret:\n{text}"
            );
        }
    }
    // And the work was done (the sentinels were really there).
    let stored = &server.webhooks("app")[0];
    assert_eq!(
        stored.secret.as_ref().map(|s| s.expose()),
        Some("WEBHOOK-SECRET-SENTINEL")
    );
}

#[tokio::test]
async fn a_closed_stdout_keeps_the_exit_status_and_never_panics() {
    let bin = env!("CARGO_BIN_EXE_sinch-webhooks");
    // stdout closed outright, and a reader that went away (a broken pipe).
    for script in [
        r#""$0" --stand-in list --app-id demo-app 1>&-; echo "status $?""#,
        r#""$0" --stand-in get --id no-such-webhook 1>&-; echo "status $?""#,
        r#"{ sleep 0.3; "$0" --stand-in list --app-id demo-app; echo "status $?" >&2; } | true"#,
    ] {
        let out = std::process::Command::new("bash")
            .args(["-c", script, bin])
            .env_remove("SINCH_PROJECT_ID")
            .output()
            .unwrap();
        let shown = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!shown.contains("panicked"), "{script}: {shown}");
        let expected = if script.contains("no-such-webhook") {
            "status 1"
        } else {
            "status 0"
        };
        assert!(shown.contains(expected), "{script}: {shown}");
    }
}

#[tokio::test]
async fn invalid_redis_urls_and_files_without_apps_exit_2() {
    let one = file(
        "one-app.toml",
        "[[webhook]]\ntarget = \"https://e.com/a\"\ntriggers = [\"MESSAGE_INBOUND\"]\n",
    );
    for url in ["not-a-url", "http://127.0.0.1:6379"] {
        let out = run(stand_in(&[
            "sync",
            "--app-id",
            "demo-app",
            "--file",
            one.to_str().unwrap(),
            "--redis",
            url,
        ]))
        .await;
        assert_eq!(out.code, Some(2), "{url}: {}", out.stderr);
    }
    let none = file("no-apps.toml", "app = []\n");
    let out = run(stand_in(&["sync", "--file", none.to_str().unwrap()])).await;
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("names no app"), "{}", out.stderr);
}

#[tokio::test]
async fn typos_in_triggers_are_refused_with_their_line_and_a_secret_is_kept_unless_cleared() {
    let typo = file(
        "typo.toml",
        "[[webhook]]\ntarget = \"https://example.com/sinch/demo\"\ntriggers = [\"MESAGE_INBOUND\"]\n",
    );
    let out = run(command(&[
        "--stand-in",
        "sync",
        "--app-id",
        "demo-app",
        "--file",
        typo.to_str().unwrap(),
    ]))
    .await;
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "line 3: app \"demo-app\": webhooks[0].triggers[0]: unknown value \"MESAGE_INBOUND\""
        ),
        "{}",
        out.stderr
    );
    // The seeded webhook has a secret; a file without one keeps it unless
    // --clear-secret.
    let same = file(
        "no-secret.toml",
        "[[webhook]]\ntarget = \"https://example.com/sinch/demo\"\ntriggers = [\"MESSAGE_INBOUND\"]\ntarget_type = \"HTTP\"\n",
    );
    let path = same.to_str().unwrap();
    let out = run(command(&[
        "--stand-in",
        "sync",
        "--app-id",
        "demo-app",
        "--file",
        path,
    ]))
    .await;
    // Found once the app's webhooks are listed: the app's sync fails, and
    // nothing is changed.
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(
        out.stdout.contains(
            "FAILED: invalid request (1 problem): webhooks[0].secret: the webhook has a secret"
        ),
        "{}",
        out.stdout
    );
    let out = run(command(&[
        "--stand-in",
        "sync",
        "--app-id",
        "demo-app",
        "--file",
        path,
        "--clear-secret",
    ]))
    .await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.stdout
            .contains("update demo-webhook (https://example.com/sinch/demo): secret"),
        "{}",
        out.stdout
    );
}

#[tokio::test]
async fn after_a_failed_step_the_text_output_lists_what_was_applied() {
    let server = MockServer::start().await.unwrap();
    let desired = file(
        "two.toml",
        "[[webhook]]\ntarget = \"https://e.com/a\"\ntriggers = [\"MESSAGE_INBOUND\"]\n\n[[webhook]]\ntarget = \"https://e.com/b\"\ntriggers = [\"MESSAGE_INBOUND\"]\n",
    );
    // The token and the list pass, the first create passes, the second gets a 400.
    server.fail_next(
        3,
        sinch_conversation::mock::Fault::Delay(std::time::Duration::ZERO),
    );
    server.fail_next(
        1,
        sinch_conversation::mock::Fault::Status {
            status: 400,
            retry_after: None,
        },
    );
    let out = run(against(
        &server,
        &[
            "sync",
            "--app-id",
            "app",
            "--file",
            desired.to_str().unwrap(),
        ],
    ))
    .await;
    assert_eq!(out.code, Some(1), "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains("1 step(s) applied before the failure:\n  + create https://e.com/a\n"),
        "{}",
        out.stdout
    );
}

#[tokio::test]
async fn the_shipped_sync_file_syncs_the_seeded_app() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/webhooks.toml");
    let out = run(command(&[
        "--stand-in",
        "sync",
        "--app-id",
        "demo-app",
        "--file",
        path,
    ]))
    .await;
    assert_eq!(out.code, Some(0), "{}{}", out.stdout, out.stderr);
    // The seeded webhook is kept as it is; the second one is created.
    assert_eq!(
        out.stdout,
        "app demo-app: 1 change(s) applied\n  + create https://example.com/sinch/delivery\n"
    );
}

/// A captured callback as files: `curl -D`-style headers and the raw body.
fn captured(name: &str, headers: &http::HeaderMap, body: &str) -> (PathBuf, PathBuf) {
    let mut text = "POST /sinch HTTP/1.1\r\n".to_owned();
    for (k, v) in headers {
        text.push_str(&format!("{}: {}\r\n", k, v.to_str().unwrap()));
    }
    text.push_str("content-type: application/json\r\n\r\n");
    (
        file(&format!("{name}.headers"), &text),
        file(&format!("{name}.body"), body),
    )
}

#[tokio::test]
async fn verify_says_whether_a_captured_callback_verifies_and_which_part_fails() {
    use sinch_conversation::callbacks::Signer;
    const SECRET: &str = "verify-secret-0c4e";
    let body = r#"{"app_id":"a","project_id":"p","message":{"id":"V1"}}"#;
    let verify = |headers: &PathBuf, body: &PathBuf, extra: &[&str]| {
        let mut args = vec![
            "verify",
            "--headers-file",
            headers.to_str().unwrap(),
            "--body-file",
            body.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        command(&args)
    };
    let (h, b) = captured(
        "good",
        &Signer::new(SECRET).sign(body.as_bytes()).to_header_map(),
        body,
    );
    let out = run(verify(&h, &b, &["--secret", "old", "--secret", SECRET])).await;
    assert_eq!(out.code, Some(0), "{}{}", out.stdout, out.stderr);
    assert_eq!(
        out.stdout,
        "verified: the signature matches one of the 2 secret(s)\nevent: MESSAGE_INBOUND p/a/MESSAGE_INBOUND:V1\n"
    );
    let out = run(verify(&h, &b, &["--secret", "wrong"])).await;
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (Some(1), "not verified: signature does not match\n")
    );
    // Signed an hour ago: outside the window, by how much.
    let old = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - 3600;
    let (h, b) = captured(
        "old",
        &Signer::new(SECRET)
            .sign_with(body.as_bytes(), "n1", old)
            .to_header_map(),
        body,
    );
    let out = run(verify(&h, &b, &["--secret", SECRET, "--output", "json"])).await;
    assert_eq!(out.code, Some(1));
    let reason = out.json["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("timestamp is 3600s in the past")
            || reason.starts_with("timestamp is 3601s in the past"),
        "{reason}"
    );
    assert_eq!(
        run(verify(
            &h,
            &b,
            &["--secret", SECRET, "--tolerance-secs", "0"]
        ))
        .await
        .code,
        Some(0)
    );
    // A header missing; a body changed by a byte.
    let mut headers = Signer::new(SECRET).sign(body.as_bytes()).to_header_map();
    headers.remove("x-sinch-webhook-signature-nonce");
    let (h, b) = captured("missing", &headers, body);
    let out = run(verify(&h, &b, &["--secret", SECRET])).await;
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (
            Some(1),
            "not verified: missing header x-sinch-webhook-signature-nonce\n"
        )
    );
    let (h, _) = captured(
        "changed",
        &Signer::new(SECRET).sign(body.as_bytes()).to_header_map(),
        body,
    );
    let b = file("changed.body", &body.replace("V1", "V2"));
    assert_eq!(
        run(verify(&h, &b, &["--secret", SECRET])).await.code,
        Some(1)
    );
    // Invalid input: 2; and no secret anywhere.
    assert_eq!(run(verify(&h, &b, &["--secret", " "])).await.code, Some(2));
    let missing = PathBuf::from("/nonexistent/headers.txt");
    let out = run(verify(&missing, &b, &["--secret", SECRET])).await;
    assert_eq!(out.code, Some(2));
    assert!(!format!("{}{}", out.stdout, out.stderr).contains(SECRET));
}

#[tokio::test]
async fn trigger_prints_a_signed_callback_for_every_trigger_that_parses_to_it() {
    use sinch_conversation::WebhookTrigger;
    use sinch_conversation::callbacks::Verifier;
    let triggers: Vec<&WebhookTrigger> = WebhookTrigger::KNOWN
        .iter()
        .filter(|t| t.as_str() != "UNSPECIFIED_TRIGGER")
        .collect();
    assert_eq!(triggers.len(), 21);
    for trigger in triggers {
        let out = run(command(&[
            "trigger",
            trigger.as_str(),
            "--secret",
            "s",
            "--print",
            "--app-id",
            "my-app",
        ]))
        .await;
        assert_eq!(out.code, Some(0), "{trigger}: {}", out.stderr);
        let lines: Vec<&str> = out.stdout.lines().filter(|l| !l.is_empty()).collect();
        let body = lines.last().unwrap().as_bytes();
        let event = sinch_conversation::events::parse(body).unwrap();
        assert_eq!(event.trigger().as_ref(), Some(trigger), "{}", out.stdout);
        assert_eq!(event.app_id, "my-app");
        // The printed headers verify the printed body.
        let mut headers = http::HeaderMap::new();
        for line in &lines[1..lines.len() - 1] {
            let (name, value) = line.split_once(": ").unwrap();
            headers.insert(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        Verifier::new("s").verify(&headers, body).unwrap();
    }
    let out = run(command(&[
        "trigger",
        "NO_SUCH_TRIGGER",
        "--secret",
        "s",
        "--print",
    ]))
    .await;
    assert_eq!(out.code, Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trigger_sends_distinct_events_and_duplicates_and_exits_1_on_a_refusal() {
    use axum::extract::{FromRef, State};
    use sinch_conversation::dedup::MemoryDeduplicator;
    use sinch_conversation::receive::{CallbackLayer, Receiver, SinchCallback};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    #[derive(Clone)]
    struct App(Receiver, Arc<AtomicUsize>);
    impl FromRef<App> for Receiver {
        fn from_ref(app: &App) -> Receiver {
            app.0.clone()
        }
    }
    async fn handle(State(app): State<App>, _: SinchCallback) -> http::StatusCode {
        app.1.fetch_add(1, Ordering::SeqCst);
        http::StatusCode::OK
    }
    let runs = Arc::new(AtomicUsize::new(0));
    let receiver = Receiver::new(["s"]).deduplicate(MemoryDeduplicator::new(
        100,
        std::time::Duration::from_secs(60),
    ));
    let router = axum::Router::new()
        .route("/sinch", axum::routing::post(handle))
        .layer(CallbackLayer::new())
        .with_state(App(receiver, runs.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/sinch", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });

    let out = run(command(&[
        "trigger",
        "MESSAGE_INBOUND",
        "--secret",
        "s",
        "--forward-to",
        &url,
        "--count",
        "3",
        "--duplicate",
        "--override",
        "message.contact_message.text_message.text=hello",
    ]))
    .await;
    assert_eq!(out.code, Some(0), "{}{}", out.stdout, out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 6, "{}", out.stdout);
    assert!(
        lines
            .iter()
            .all(|l| l.starts_with("MESSAGE_INBOUND ") && l.ends_with(" 200")),
        "{}",
        out.stdout
    );
    assert_eq!(
        runs.load(Ordering::SeqCst),
        3,
        "3 events, each handled once"
    );
    let out = run(command(&[
        "trigger",
        "MESSAGE_INBOUND",
        "--secret",
        "wrong",
        "--forward-to",
        &url,
    ]))
    .await;
    assert_eq!(out.code, Some(1));
    assert!(out.stdout.trim_end().ends_with(" 401"), "{}", out.stdout);
}

/// `sinch-webhooks stand-in` and `sinch-mock` are one parser and one
/// server: the same flags, the same first line and request log, the same
/// clean stop on Ctrl-C; the subcommand starts empty.
#[tokio::test]
async fn the_stand_in_subcommand_serves_as_sinch_mock_does() {
    use tokio::io::{AsyncBufReadExt as _, BufReader};
    let flags = [
        "--addr",
        "127.0.0.1:0",
        "--project-id",
        "p1",
        "--key-id",
        "k1",
        "--key-secret",
        "s1",
        "--token-lifetime-secs",
        "60",
        "--rate-limit",
        "800",
        "--omit-secrets",
        "--also-project",
        "p2",
        "--delivery-retries",
        "0",
        "--delivery-backoff-ms",
        "10",
        "--delivery-timeout-ms",
        "500",
        "--duplicate-deliveries",
        "--shuffle-deliveries",
        "7",
        "--callback-rate",
        "0",
    ];
    for (program, prefix) in [
        (
            env!("CARGO_BIN_EXE_sinch-webhooks"),
            "sinch-webhooks stand-in:",
        ),
        (env!("CARGO_BIN_EXE_sinch-mock"), "sinch-mock:"),
    ] {
        let mut child = Command::new(program);
        if prefix.starts_with("sinch-webhooks") {
            child.arg("stand-in");
        }
        let mut child = child
            .args(flags)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let base_url = lines.next_line().await.unwrap().unwrap();
        assert!(base_url.starts_with("http://127.0.0.1:"), "{base_url}");

        let mut list = command(&["list", "--app-id", "app"]);
        list.env("SINCH_PROJECT_ID", "p2")
            .env("SINCH_KEY_ID", "k1")
            .env("SINCH_KEY_SECRET", "s1")
            .env("SINCH_CONVERSATION_BASE_URL", &base_url)
            .env("SINCH_AUTH_BASE_URL", &base_url);
        let listed = run(list).await;
        assert_eq!(listed.code, Some(0), "{program}: {}", listed.stderr);
        assert!(
            listed.stdout.contains("no webhooks"),
            "empty: {}",
            listed.stdout
        );
        let token = lines.next_line().await.unwrap().unwrap();
        assert!(
            token.starts_with("POST /oauth2/token -> 200 (basic auth"),
            "{token}"
        );
        let listing = lines.next_line().await.unwrap().unwrap();
        assert!(
            listing.starts_with("GET /v1/projects/p2/apps/app/webhooks -> 200 (bearer auth"),
            "{listing}"
        );

        let pid = child.id().unwrap().to_string();
        let kill = Command::new("kill").args(["-INT", &pid]).status().await;
        assert!(kill.unwrap().success());
        let output = child.wait_with_output().await.unwrap();
        assert!(output.status.success(), "{program}: {:?}", output.status);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(&format!(
                "{prefix} serving project \"p1\" for key id \"k1\""
            )) && stderr.contains(&format!("{prefix} stopping (0 log lines dropped")),
            "{stderr}"
        );
    }
}

/// A bad flag is refused by the same parser in both, naming the flag, with
/// exit 2; `sinch-mock --help` reads as it always has.
#[tokio::test]
async fn the_stand_in_parser_refuses_bad_flags_in_both_commands() {
    for args in [
        &["--nope"][..],
        &["--rate-limit", "fast"],
        &["--addr"],
        &["--callback-rate", "-3"],
    ] {
        let mut subcommand = vec!["stand-in"];
        subcommand.extend_from_slice(args);
        let ours = run(command(&subcommand)).await;
        let mut mock = Command::new(env!("CARGO_BIN_EXE_sinch-mock"));
        mock.args(args);
        let mock = run(mock).await;
        for (who, out) in [("stand-in", &ours), ("sinch-mock", &mock)] {
            assert_eq!(out.code, Some(2), "{who} {args:?}: {}", out.stderr);
            assert!(
                out.stderr.contains(args[0]),
                "{who} {args:?}: {}",
                out.stderr
            );
        }
        assert!(mock.stderr.starts_with("sinch-mock: "), "{}", mock.stderr);
    }
    let mut help = Command::new(env!("CARGO_BIN_EXE_sinch-mock"));
    help.arg("--help");
    let help = run(help).await;
    assert_eq!(help.code, Some(0));
    let before = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sinch-mock-help.txt"),
    )
    .unwrap();
    assert_eq!(help.stdout, before);
}
