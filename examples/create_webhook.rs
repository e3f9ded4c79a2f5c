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
mod support;

use std::process::ExitCode;

use sinch_conversation::WebhookTrigger;

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

#[path = "support/create_args.rs"]
mod args;

use args::parse;

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
    let client = &target.client;

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
                support::print_json(&body);
                eprintln!(
                    "dry run: this is the body of POST {}/v1/projects/{}/webhooks; nothing was sent",
                    client.base_url(),
                    client.project_id()
                );
                ExitCode::SUCCESS
            }
            Err(errors) => support::invalid(&errors),
        };
    }

    match request.send().await {
        Ok(webhook) => {
            support::print_json(&webhook);
            if target.stand_in.is_some() {
                eprintln!(
                    "note: this ran against a local Sinch stand-in at {}, not the real API.\n\
                     To create a real webhook, set SINCH_PROJECT_ID, SINCH_KEY_ID, SINCH_KEY_SECRET\n\
                     and SINCH_CONVERSATION_REGION (us, eu or br) and run this again.",
                    client.base_url()
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => support::failed(&e),
    }
}
