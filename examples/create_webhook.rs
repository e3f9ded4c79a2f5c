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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn argument() -> impl Strategy<Value = String> {
        prop_oneof![
            prop::sample::select(vec![
                "--app-id",
                "--target",
                "--trigger",
                "--secret",
                "--dry-run",
                "-h",
                "--help"
            ])
            .prop_map(str::to_owned),
            "\\PC{0,24}",
        ]
    }

    proptest! {
        /// Any command line parses or is refused with a message; never a
        /// panic. `PROPTEST_CASES=100000 cargo test --release --all-features
        /// --example create_webhook` for the long run.
        #[test]
        fn any_command_line_parses_or_is_refused(args in prop::collection::vec(argument(), 0..8)) {
            match parse(args.into_iter()) {
                Ok(_) => {}
                Err(message) => prop_assert!(!message.is_empty()),
            }
        }
    }
}
