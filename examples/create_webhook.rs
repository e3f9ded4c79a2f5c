//! Creates a webhook and prints it.
//!
//! With no configuration it starts the embedded Sinch stand-in and runs
//! against it: no account, no credentials, no network. With
//! `SINCH_PROJECT_ID`, `SINCH_KEY_ID`, `SINCH_KEY_SECRET` and
//! `SINCH_CONVERSATION_REGION` set, it talks to the real API.
//!
//! ```text
//! cargo run --example create_webhook -- [--app-id ID] [--target URL]
//!     [--trigger NAME]... [--secret S] [--dry-run]
//! ```
//!
//! Exit codes: 0 done, 1 the API or the network failed, 2 invalid input.
use std::process::ExitCode;

use sinch_conversation::mock::MockServer;
use sinch_conversation::{Client, Error, WebhookTrigger, env, redacted_json};

const HELP: &str = "\
create_webhook: create a Sinch Conversation API webhook and print it

Options:
  --app-id ID       the Conversation app (default: demo-app)
  --target URL      where Sinch delivers events (default: https://example.com/sinch/callbacks)
  --trigger NAME    a trigger, repeatable (default: MESSAGE_INBOUND and MESSAGE_DELIVERY)
  --secret S        secret Sinch signs callbacks with
  --dry-run         validate and print the request, send nothing
  -h, --help        this text

Without SINCH_PROJECT_ID, SINCH_KEY_ID, SINCH_KEY_SECRET and SINCH_CONVERSATION_REGION
in the environment, it runs against an embedded local stand-in for Sinch.
";

#[derive(Default)]
struct Args {
    app_id: Option<String>,
    target: Option<String>,
    triggers: Vec<String>,
    secret: Option<String>,
    dry_run: bool,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut parsed = Args::default();
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--dry-run" => parsed.dry_run = true,
            "--app-id" => parsed.app_id = Some(value()?),
            "--target" => parsed.target = Some(value()?),
            "--trigger" => parsed.triggers.push(value()?),
            "--secret" => parsed.secret = Some(value()?),
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(Some(parsed))
}

fn real_api_configured() -> bool {
    [env::PROJECT_ID, env::KEY_ID, env::KEY_SECRET]
        .iter()
        .all(|name| std::env::var(name).is_ok_and(|v| !v.is_empty()))
}

fn pretty(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            print!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("error: {message}\n\n{HELP}");
            return ExitCode::from(2);
        }
    };

    // The stand-in lives as long as `stand_in`.
    let (client, stand_in) = if real_api_configured() {
        match Client::from_env() {
            Ok(client) => (client, None),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        }
    } else {
        let server = match MockServer::start().await {
            Ok(server) => server,
            Err(e) => {
                eprintln!("error: cannot start the local Sinch stand-in: {e}");
                return ExitCode::FAILURE;
            }
        };
        match server.client_builder().build() {
            Ok(client) => (client, Some(server)),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        }
    };

    let triggers: Vec<WebhookTrigger> = if args.triggers.is_empty() {
        vec![
            WebhookTrigger::MessageInbound,
            WebhookTrigger::MessageDelivery,
        ]
    } else {
        args.triggers
            .iter()
            .map(|t| WebhookTrigger::from(t.as_str()))
            .collect()
    };
    let mut request = client
        .create_webhook(
            args.app_id.as_deref().unwrap_or("demo-app"),
            args.target
                .as_deref()
                .unwrap_or("https://example.com/sinch/callbacks"),
        )
        .triggers(triggers);
    if let Some(secret) = args.secret {
        request = request.secret(secret);
    }

    if args.dry_run {
        return match request.build() {
            Ok(body) => {
                println!("{}", pretty(&redacted_json(&body)));
                eprintln!(
                    "dry run: this is the body of POST {}/v1/projects/{}/webhooks; nothing was sent",
                    client.base_url(),
                    client.project_id()
                );
                ExitCode::SUCCESS
            }
            Err(errors) => {
                eprintln!("invalid request:");
                for violation in errors.violations() {
                    eprintln!("  {violation}");
                }
                ExitCode::from(2)
            }
        };
    }

    match request.send().await {
        Ok(webhook) => {
            println!("{}", pretty(&redacted_json(&webhook)));
            if stand_in.is_some() {
                eprintln!(
                    "note: this ran against a local Sinch stand-in at {}, not the real API.\n\
                     To create a real webhook, set SINCH_PROJECT_ID, SINCH_KEY_ID, SINCH_KEY_SECRET\n\
                     and SINCH_CONVERSATION_REGION (us, eu or br) and run this again.",
                    client.base_url()
                );
            }
            ExitCode::SUCCESS
        }
        Err(Error::Validation(errors)) => {
            eprintln!("invalid request:");
            for violation in errors.violations() {
                eprintln!("  {violation}");
            }
            ExitCode::from(2)
        }
        Err(Error::Api(e)) => {
            eprintln!(
                "error: Sinch answered {}: {}",
                e.status(),
                e.message().unwrap_or(e.body())
            );
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
