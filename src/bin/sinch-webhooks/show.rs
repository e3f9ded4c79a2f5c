//! What the command prints: webhooks, plans and outcomes as lines for
//! people or as JSON, always with secrets and URL passwords as `***`; and
//! errors with the exit code they mean.
use std::io::Write as _;
use std::process::ExitCode;

use serde_json::{Value, json};
use sinch_conversation::types::Webhook;
use sinch_conversation::{AppOutcome, Error, SyncPlan, SyncReport, SyncStep, redacted_json};

use crate::args::Output;

/// Invalid input: nothing was sent.
pub const INVALID: u8 = 2;
/// The API or the network failed, or answered what is not safe to act on.
pub const FAILED: u8 = 1;

/// JSON with every secret as `***`, pretty.
pub fn json_text(value: &impl serde::Serialize) -> String {
    let value = redacted_json(value);
    serde_json::to_string_pretty(&value).unwrap_or_else(|_| value.to_string())
}

/// A webhook as lines.
pub fn webhook_lines(webhook: &Webhook) -> String {
    let mut out = format!(
        "{}  {}\n",
        webhook.id.as_deref().unwrap_or("(no id)"),
        webhook.target
    );
    if let Some(app) = &webhook.app_id {
        out.push_str(&format!("  app_id: {app}\n"));
    }
    if let Some(kind) = &webhook.target_type {
        out.push_str(&format!("  target_type: {kind}\n"));
    }
    let triggers: Vec<&str> = webhook.triggers.iter().map(|t| t.as_str()).collect();
    out.push_str(&format!("  triggers: {}\n", triggers.join(", ")));
    let secret = if webhook.secret.is_some() {
        "*** (set)"
    } else {
        "none shown"
    };
    out.push_str(&format!("  secret: {secret}\n"));
    if let Some(cc) = &webhook.client_credentials {
        out.push_str(&format!(
            "  client_credentials: client_id {}, endpoint {}, token_request_type {}\n",
            cc.client_id,
            cc.endpoint,
            cc.token_request_type
                .as_ref()
                .map_or("(default BASIC)", |t| t.as_str())
        ));
    }
    out
}

/// Prints one webhook.
pub fn webhook(output: Output, webhook: &Webhook) {
    match output {
        Output::Json => say!("{}", json_text(webhook)),
        Output::Text => say_raw!("{}", webhook_lines(webhook)),
    }
}

/// A step as a line of a diff: `-` delete, `~` update, `+` create.
pub fn step_line(step: &SyncStep) -> String {
    let sign = match step {
        SyncStep::Delete { .. } | SyncStep::DeleteDuplicate { .. } => '-',
        SyncStep::Update { .. } => '~',
        SyncStep::Create { .. } => '+',
        _ => '*',
    };
    format!("{sign} {step}")
}

/// One app's plan or outcome, as lines or a JSON object.
pub struct AppReport {
    pub app_id: String,
    /// The steps planned (dry run) or applied.
    pub steps: Vec<SyncStep>,
    /// The app's webhooks after applying (not for a dry run).
    pub webhooks: Option<Vec<Webhook>>,
    pub dry_run: bool,
    /// Why the app failed, the step that failed (if one did), and what was
    /// not applied.
    pub error: Option<(String, Option<SyncStep>, Vec<SyncStep>)>,
}

/// A step as a JSON object: its kind, id, target (password as `***`),
/// fields, and for a duplicate the id kept.
pub fn step_json(step: &SyncStep) -> Value {
    match step {
        SyncStep::Delete { id, target } => json!({"kind": "delete", "id": id, "target": target}),
        SyncStep::DeleteDuplicate { id, target, kept } => {
            json!({"kind": "delete_duplicate", "id": id, "target": target, "kept": kept})
        }
        SyncStep::Update { id, target, fields } => {
            json!({"kind": "update", "id": id, "target": target, "fields": fields})
        }
        SyncStep::Create { target } => json!({"kind": "create", "target": target}),
        other => json!({"kind": "other", "text": other.to_string()}),
    }
}

impl AppReport {
    pub fn text(&self) -> String {
        let app = &self.app_id;
        let mut out = match (&self.error, self.steps.len(), self.dry_run) {
            (Some((error, _, _)), 0, _) => format!("app {app}: FAILED: {error}\n"),
            (Some((error, _, _)), n, _) => {
                format!("app {app}: FAILED: {error}\n  {n} step(s) applied before the failure:\n")
            }
            (None, 0, _) => format!("app {app}: in sync, nothing to change\n"),
            (None, n, true) => format!("app {app}: {n} change(s) planned (dry run)\n"),
            (None, n, false) => format!("app {app}: {n} change(s) applied\n"),
        };
        for step in &self.steps {
            out.push_str(&format!("  {}\n", step_line(step)));
        }
        if let Some((_, _, not_applied)) = &self.error {
            for step in not_applied {
                out.push_str(&format!("  not applied: {}\n", step_line(step)));
            }
        }
        out
    }

    pub fn json(&self) -> Value {
        let steps: Vec<Value> = self.steps.iter().map(step_json).collect();
        let mut object = json!({ "app_id": self.app_id });
        let key = if self.dry_run { "plan" } else { "applied" };
        object[key] = json!(steps);
        if let Some(webhooks) = &self.webhooks {
            object["webhooks"] = redacted_json(webhooks);
        }
        if let Some((error, failed, not_applied)) = &self.error {
            object["error"] = json!(error);
            object["failed"] = failed.as_ref().map_or(Value::Null, step_json);
            let not_applied: Vec<Value> = not_applied.iter().map(step_json).collect();
            object["not_applied"] = json!(not_applied);
        }
        object
    }

    /// One short line, for progress.
    pub fn summary(&self) -> String {
        match (&self.error, self.steps.len()) {
            (Some(_), _) => format!("{}: FAILED", self.app_id),
            (None, 0) => format!("{}: in sync", self.app_id),
            (None, n) if self.dry_run => format!("{}: {n} change(s) planned", self.app_id),
            (None, n) => format!("{}: {n} change(s) applied", self.app_id),
        }
    }

    /// The report of one app's sync.
    pub fn synced(outcome: &AppOutcome<SyncReport>) -> Self {
        let result = outcome
            .result
            .as_ref()
            .map(|r| (r.applied().to_vec(), Some(r.webhooks().to_vec())));
        Self::from_result(&outcome.app_id, false, result)
    }

    /// The report of one app's plan (a dry run).
    pub fn planned(outcome: &AppOutcome<SyncPlan>) -> Self {
        let result = outcome.result.as_ref().map(|p| (p.steps().to_vec(), None));
        Self::from_result(&outcome.app_id, true, result)
    }

    /// The report of a sync's (or a plan's) result.
    fn from_result(
        app_id: &str,
        dry_run: bool,
        result: Result<(Vec<SyncStep>, Option<Vec<Webhook>>), &Error>,
    ) -> Self {
        match result {
            Ok((steps, webhooks)) => Self {
                app_id: app_id.to_owned(),
                steps,
                webhooks,
                dry_run,
                error: None,
            },
            Err(Error::Sync(sync)) => Self {
                app_id: app_id.to_owned(),
                steps: sync.applied().to_vec(),
                webhooks: None,
                dry_run,
                error: Some((
                    format!("{} failed: {}", sync.failed(), sync.error()),
                    Some(sync.failed().clone()),
                    sync.not_applied().to_vec(),
                )),
            },
            Err(error) => Self {
                app_id: app_id.to_owned(),
                steps: Vec::new(),
                webhooks: None,
                dry_run,
                error: Some((error.to_string(), None, Vec::new())),
            },
        }
    }
}

/// One line per event (`listen`, `listen --inbox`, `work`): `fields` as
/// name and value (`-` in text, `null` in JSON when absent), the status
/// answered when there is one, and why in parentheses. Printed whole, or
/// not at all when stdout is gone (never a panic).
pub fn event_line(
    output: Output,
    fields: &[(&str, Option<&str>)],
    status: Option<u16>,
    detail: Option<&str>,
) {
    let text = match output {
        Output::Json => {
            let mut object = serde_json::Map::new();
            for (name, value) in fields {
                object.insert((*name).to_owned(), json!(value));
            }
            if let Some(status) = status {
                object.insert("status".to_owned(), json!(status));
            }
            object.insert("detail".to_owned(), json!(detail));
            Value::Object(object).to_string()
        }
        Output::Text => {
            let mut text: Vec<String> = fields
                .iter()
                .map(|(_, v)| v.unwrap_or("-").to_owned())
                .collect();
            text.extend(status.map(|s| s.to_string()));
            let mut text = text.join(" ");
            if let Some(detail) = detail {
                text.push_str(&format!(" ({})", detail.trim_end()));
            }
            text
        }
    };
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{text}").and_then(|()| stdout.flush());
}

/// The exit code an error means: 2 for input that was refused before
/// anything was sent, 1 otherwise.
fn exit_code(error: &Error) -> u8 {
    match error {
        Error::Validation(_) | Error::Config(_) => INVALID,
        _ => FAILED,
    }
}

/// Prints the error on stderr (a JSON object with `--output json`), and
/// returns the exit code it means.
pub fn failed(output: Output, error: &Error) -> ExitCode {
    let code = exit_code(error);
    let mut stderr = std::io::stderr().lock();
    let _ = match (output, error) {
        (Output::Json, Error::Validation(errors)) => {
            let violations: Vec<Value> = errors
                .violations()
                .iter()
                .map(|v| json!({"path": v.path(), "problem": v.rule().to_string()}))
                .collect();
            writeln!(
                stderr,
                "{}",
                json!({"error": {"kind": "invalid", "message": "invalid request (nothing was sent)", "violations": violations}, "exit": code})
            )
        }
        (Output::Json, Error::Api(e)) => writeln!(
            stderr,
            "{}",
            json!({"error": {"kind": "api", "status": e.status(), "message": e.message().unwrap_or(e.body()), "detail": e.to_string()}, "exit": code})
        ),
        (Output::Json, e) => writeln!(
            stderr,
            "{}",
            json!({"error": {"kind": if code == INVALID { "invalid" } else { "failed" }, "message": e.to_string()}, "exit": code})
        ),
        (Output::Text, Error::Validation(errors)) => {
            let _ = writeln!(stderr, "invalid request (nothing was sent):");
            errors
                .violations()
                .iter()
                .try_for_each(|violation| writeln!(stderr, "  {violation}"))
        }
        (Output::Text, Error::Api(e)) => {
            // Error bodies are scrubbed of the request's secrets by the client.
            writeln!(
                stderr,
                "error: Sinch answered {}: {}",
                e.status(),
                e.message().unwrap_or(e.body())
            )
        }
        (Output::Text, e) => writeln!(stderr, "error: {e}"),
    };
    ExitCode::from(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed() -> Webhook {
        serde_json::from_value(json!({
            "id": "W1",
            "app_id": "app",
            "target": "https://user:pw-sentinel@example.com/h",
            "target_type": "HTTP",
            "triggers": ["MESSAGE_INBOUND"],
            "secret": "secret-sentinel",
            "client_credentials": {
                "client_id": "c",
                "client_secret": "cs-sentinel",
                "endpoint": "https://u:ep-sentinel@auth.example.com/t"
            }
        }))
        .unwrap()
    }

    #[test]
    fn webhooks_print_without_any_secret() {
        let text = webhook_lines(&listed());
        let json = json_text(&listed());
        for shown in [&text, &json] {
            assert!(!shown.contains("sentinel"), "{shown}");
            assert!(shown.contains("https://user:***@example.com/h"), "{shown}");
        }
        assert!(text.contains("secret: *** (set)"), "{text}");
    }

    #[test]
    fn plans_read_as_a_diff() {
        let report = AppReport {
            app_id: "app".into(),
            steps: vec![
                SyncStep::Delete {
                    id: "W1".into(),
                    target: "https://e.com/old".into(),
                },
                SyncStep::Update {
                    id: "W2".into(),
                    target: "https://e.com/h".into(),
                    fields: vec!["triggers".into()],
                },
                SyncStep::Create {
                    target: "https://e.com/new".into(),
                },
            ],
            webhooks: None,
            dry_run: true,
            error: None,
        };
        assert_eq!(
            report.text(),
            "app app: 3 change(s) planned (dry run)\n  - delete W1 (https://e.com/old)\n  ~ update W2 (https://e.com/h): triggers\n  + create https://e.com/new\n"
        );
        assert_eq!(
            report.json()["plan"][2],
            json!({"kind": "create", "target": "https://e.com/new"})
        );
        assert_eq!(
            report.json()["plan"][1],
            json!({"kind": "update", "id": "W2", "target": "https://e.com/h", "fields": ["triggers"]})
        );
    }
}
