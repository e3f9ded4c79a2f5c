//! Every webhook operation from the command line: create, list, get, update,
//! delete, and ensure / sync (make sure a webhook, or an app's whole set, is
//! as described). Prints the JSON answer with secrets as `***`.
//!
//! With no configuration it runs against the embedded Sinch stand-in, seeded
//! with one webhook (`demo-webhook` of app `demo-app`) so that every command
//! has something to act on. With `SINCH_PROJECT_ID`, `SINCH_KEY_ID`,
//! `SINCH_KEY_SECRET` and `SINCH_CONVERSATION_REGION` (or
//! `SINCH_CONVERSATION_BASE_URL`, e.g. a running `sinch-mock`, and
//! `SINCH_AUTH_BASE_URL`) set, it talks to that API.
//!
//! ```text
//! cargo run --example webhooks -- list --app-id demo-app
//! cargo run --example webhooks -- update --id demo-webhook --trigger MESSAGE_DELIVERY --clear-secret
//! ```
//!
//! Exit codes: 0 done, 1 the API or the network failed, 2 invalid input
//! (every violation is printed; nothing is sent).
mod support;

use std::process::ExitCode;

use sinch_conversation::types::Webhook;
use sinch_conversation::{
    Client, Ensured, Error, NewWebhook, SyncStep, WebhookTargetType, WebhookTrigger,
};

const HELP: &str = "\
webhooks: manage Sinch Conversation API webhooks

Usage: webhooks <create|list|get|update|delete|ensure|sync> [options]

  create  --app-id ID --target URL [--trigger NAME]... [--secret S] [--target-type T]
  list    --app-id ID
  get     --id ID
  update  --id ID [--target URL] [--trigger NAME]... [--secret S | --clear-secret]
          [--target-type T]        (only what is given changes)
  delete  --id ID
  ensure  --app-id ID --target URL [--trigger NAME]... [--secret S] [--target-type T]
          (create it, update what differs, or nothing)
  sync    --app-id ID --file webhooks.toml
          (make the app's webhooks exactly the file's; --dry-run prints the plan)

Options:
  --app-id ID       the Conversation app (default: demo-app)
  --id ID           the webhook
  --target URL      where Sinch delivers events
  --trigger NAME    a trigger, repeatable (create default: MESSAGE_INBOUND, MESSAGE_DELIVERY)
  --secret S        secret Sinch signs callbacks with
  --clear-secret    update: remove the secret
  --target-type T   HTTP or DISMISS
  --file PATH       sync: a TOML file of [[webhook]] tables (target, triggers,
                    and optionally secret, target_type, client_credentials)
  --dry-run         validate and print what would be sent, send nothing
  -h, --help        this text

Without SINCH_PROJECT_ID, SINCH_KEY_ID, SINCH_KEY_SECRET and SINCH_CONVERSATION_REGION
in the environment, it runs against an embedded local stand-in for Sinch, seeded with
webhook demo-webhook of app demo-app.

Exit codes: 0 done, 1 the API or the network failed, 2 invalid input.
";

/// The stand-in's seeded webhook.
const DEMO_ID: &str = "demo-webhook";
const DEMO_APP: &str = "demo-app";

#[path = "support/webhooks_args.rs"]
mod args;

use args::{Args, parse};

impl Args {
    /// Present for the commands that need it (checked by `parse`).
    fn id(&self) -> &str {
        self.id.as_deref().unwrap_or_default()
    }

    fn app_id(&self) -> &str {
        self.app_id.as_deref().unwrap_or(DEMO_APP)
    }

    fn target(&self) -> &str {
        self.target
            .as_deref()
            .unwrap_or("https://example.com/sinch/callbacks")
    }

    fn triggers(&self) -> impl Iterator<Item = WebhookTrigger> + '_ {
        self.triggers
            .iter()
            .map(|t| WebhookTrigger::from(t.as_str()))
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = match support::arguments(parse, HELP) {
        Ok(args) => args,
        Err(code) => return code,
    };
    // The stand-in lives as long as `target`.
    let target = match support::connect().await {
        Ok(target) => target,
        Err(code) => return code,
    };
    if let Some(stand_in) = &target.stand_in {
        let demo = serde_json::json!({
            "id": DEMO_ID,
            "app_id": DEMO_APP,
            "target": "https://example.com/sinch/demo",
            "target_type": "HTTP",
            "triggers": ["MESSAGE_INBOUND"],
            "secret": "demo-secret",
        });
        match serde_json::from_value::<Webhook>(demo) {
            Ok(demo) => drop(stand_in.seed_webhook(demo)),
            Err(e) => eprintln!("warning: the demo webhook was not seeded: {e}"),
        }
    }
    let result = match run(&target.client, &args).await {
        Ok(code) => code,
        Err(e) => support::failed(&e),
    };
    // Not after invalid input: nothing was sent.
    if target.stand_in.is_some() && !args.dry_run && result != ExitCode::from(2) {
        eprintln!(
            "note: this ran against a local Sinch stand-in at {} (seeded with webhook {DEMO_ID} \
             of app {DEMO_APP}), not the real API.",
            target.client.base_url()
        );
    }
    result
}

async fn run(client: &Client, args: &Args) -> Result<ExitCode, Error> {
    let done = |value: &dyn erased::Json| {
        value.print();
        Ok(ExitCode::SUCCESS)
    };
    match args.command.as_str() {
        "create" => {
            let mut request = client.create_webhook(args.app_id(), args.target());
            request = with_create_flags!(request, args);
            if args.dry_run {
                return Ok(dry_run(client, "POST", "webhooks", &request.build()?));
            }
            done(&request.send().await?)
        }
        "ensure" => {
            let mut request = client.ensure_webhook(args.app_id(), args.target());
            request = with_create_flags!(request, args);
            if args.dry_run {
                return Ok(dry_run(client, "ensure", "webhooks", &request.build()?));
            }
            let (outcome, fields, webhook) = match request.send().await? {
                Ensured::Created(w) => ("created", vec![], w),
                Ensured::Updated { webhook, fields } => ("updated", fields, webhook),
                Ensured::Unchanged(w) => ("unchanged", vec![], w),
                other => ("done", vec![], other.into_webhook()),
            };
            done(&serde_json::json!({
                "outcome": outcome,
                "fields": fields,
                // Printed through `redacted_json`: the secret shows as ***.
                "webhook": webhook,
            }))
        }
        "sync" => {
            let desired = match read_file(args.file.as_deref().unwrap_or_default()) {
                Ok(desired) => desired,
                Err(message) => {
                    eprintln!("error: {message}");
                    return Ok(ExitCode::from(2));
                }
            };
            let sync = client.sync_webhooks(args.app_id(), desired);
            let steps = |steps: &[SyncStep]| -> Vec<String> {
                steps.iter().map(ToString::to_string).collect()
            };
            if args.dry_run {
                let plan = sync.plan().await?;
                done(&serde_json::json!({ "plan": steps(plan.steps()) }))
            } else {
                let report = sync.send().await?;
                done(&serde_json::json!({
                    "applied": steps(report.applied()),
                    "webhooks": report.webhooks(),
                }))
            }
        }
        "list" if args.dry_run => {
            sinch_conversation::validate::check_id("app_id", args.app_id())?;
            let path = format!("apps/{}/webhooks", args.app_id());
            Ok(dry_run(client, "GET", &path, &serde_json::Value::Null))
        }
        "list" => done(&client.list_webhooks(args.app_id()).await?),
        "get" | "delete" if args.dry_run => {
            let id = args.id();
            let method = if args.command == "get" {
                "GET"
            } else {
                "DELETE"
            };
            // The same check the client makes before sending.
            sinch_conversation::validate::check_id("webhook_id", id)?;
            let path = format!("webhooks/{id}");
            Ok(dry_run(client, method, &path, &serde_json::Value::Null))
        }
        "get" => done(&client.get_webhook(args.id()).await?),
        "delete" => {
            client.delete_webhook(args.id()).await?;
            done(&serde_json::json!({}))
        }
        _ => {
            let id = args.id();
            let mut request = client.update_webhook(id);
            if let Some(target) = &args.target {
                request = request.target(target.as_str());
            }
            if !args.triggers.is_empty() {
                request = request.triggers(args.triggers());
            }
            if let Some(secret) = &args.secret {
                request = request.secret(secret.as_str());
            }
            if args.clear_secret {
                request = request.clear_secret();
            }
            if let Some(kind) = &args.target_type {
                request = request.target_type(WebhookTargetType::from(kind.as_str()));
            }
            if args.dry_run {
                let built = request.build()?;
                let path = format!("webhooks/{id}?update_mask={}", built.update_mask.join(","));
                return Ok(dry_run(client, "PATCH", &path, &built.body));
            }
            done(&request.send().await?)
        }
    }
}

/// The create flags (`--trigger`, default MESSAGE_INBOUND and
/// MESSAGE_DELIVERY; `--secret`; `--target-type`) on a create or ensure
/// builder (they have the same setters).
macro_rules! with_create_flags {
    ($request:expr, $args:expr) => {{
        let mut request = if $args.triggers.is_empty() {
            $request.triggers([
                WebhookTrigger::MessageInbound,
                WebhookTrigger::MessageDelivery,
            ])
        } else {
            $request.triggers($args.triggers())
        };
        if let Some(secret) = &$args.secret {
            request = request.secret(secret.as_str());
        }
        if let Some(kind) = &$args.target_type {
            request = request.target_type(WebhookTargetType::from(kind.as_str()));
        }
        request
    }};
}
use with_create_flags;

/// The desired webhooks of a sync file: `[[webhook]]` tables with the
/// create fields; `target_type` is `HTTP` unless given.
fn read_file(path: &str) -> Result<Vec<NewWebhook>, String> {
    #[derive(serde::Deserialize)]
    struct File {
        #[serde(default)]
        webhook: Vec<NewWebhook>,
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let file: File = toml::from_str(&text).map_err(|e| format!("{path}: {e}"))?;
    Ok(file
        .webhook
        .into_iter()
        .map(|mut webhook| {
            webhook.target_type.get_or_insert(WebhookTargetType::Http);
            webhook
        })
        .collect())
}

/// Prints the body (if any) and what would have been sent.
fn dry_run(client: &Client, method: &str, path: &str, body: &dyn erased::Json) -> ExitCode {
    body.print();
    eprintln!(
        "dry run: {method} {}/v1/projects/{}/{path}; nothing was sent",
        client.base_url(),
        client.project_id()
    );
    ExitCode::SUCCESS
}

/// A JSON value to print, whatever its type.
mod erased {
    pub trait Json {
        fn print(&self);
    }

    impl<T: serde::Serialize> Json for T {
        fn print(&self) {
            super::support::print_json(self);
        }
    }
}
