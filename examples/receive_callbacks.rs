//! A small receiver for Sinch callbacks, on the `SinchCallback` axum
//! extractor: every signature verified, every event read, repeats told
//! apart.
//!
//! ```text
//! cargo run --example receive_callbacks -- --secret S [--secret OLD] [--addr 127.0.0.1:8788] [--tolerance-secs 300] [--redis URL]
//! ```
//!
//! Prints its URL as the first line on stdout, then one line per new
//! callback: the trigger and a summary (the text of an inbound text
//! message, the status of a delivery report, ...), and
//! `duplicate <TRIGGER> <key>` for an event it has handled before (answered
//! 200 all the same, so Sinch stops retrying). `--secret` may be given
//! more than once, to rotate a secret without refusing a callback. A
//! callback that fails verification gets 401 with the reason in the body;
//! a verified body that is not an event 400; a replayed one (same nonce)
//! 401. `--tolerance-secs 0` turns the timestamp check off. With
//! `--redis URL`, repeats and replays are recognised across every replica
//! using that Redis (feature `redis`), not just this process.
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::{IntoResponse as _, Response};
use sinch_conversation::callbacks::Verifier;
use sinch_conversation::dedup::{Deduplicator, MemoryDeduplicator};
use sinch_conversation::events::{CallbackEvent, ContactMessageContent, Event};
use sinch_conversation::receive::{CallbackLayer, CallbackRejection, Receiver, SinchCallback};
use sinch_conversation::shared::RedisDeduplicator;

const HELP: &str = "\
receive_callbacks: verify and print Sinch Conversation API callbacks

Options:
  --secret S            the webhook's secret (required; repeat it while rotating:
                        the new and the old one)
  --addr ADDR           listen address (default 127.0.0.1:8788)
  --tolerance-secs N    accepted timestamp skew each way (default 300; 0 = no check)
  --redis URL           share repeats and replays with other replicas through this Redis
  -h, --help            this text
";

/// Events remembered to recognise repeats: a day, at most this many.
const REMEMBERED: usize = 100_000;

/// Prints each new event and each copy of one handled before; every other
/// answer is the extractor's (401, 400, 503, ...).
async fn receive(callback: Result<SinchCallback, CallbackRejection>) -> Response {
    match callback {
        Ok(callback) => {
            let trigger = match callback.event.trigger() {
                Some(trigger) => trigger.to_string(),
                None => format!("(unknown key {})", callback.event.event.key()),
            };
            println!("{trigger} {}", summary(&callback.event));
            // 200: the CallbackLayer records the event as handled.
            StatusCode::OK.into_response()
        }
        Err(rejection) => {
            if let CallbackRejection::AlreadyHandled { trigger, key } = &rejection {
                println!("duplicate {trigger} {key}");
            }
            rejection.into_response()
        }
    }
}

/// One line about the event.
fn summary(callback: &CallbackEvent) -> String {
    match &callback.event {
        Event::MessageInbound(message)
        | Event::MessageInboundSmartConversationRedaction(message) => {
            let what = match message.contact_message.as_ref().map(|m| &m.content) {
                Some(ContactMessageContent::TextMessage(text)) => {
                    format!("text {:?}", text.text.as_deref().unwrap_or(""))
                }
                Some(ContactMessageContent::MediaMessage(media)) => {
                    format!("media {}", shown(&media.url))
                }
                Some(ContactMessageContent::LocationMessage(location)) => {
                    let point = location.coordinates.clone().unwrap_or_default();
                    format!(
                        "location {},{}",
                        shown(&point.latitude),
                        shown(&point.longitude)
                    )
                }
                Some(ContactMessageContent::ChoiceResponseMessage(choice)) => {
                    format!("choice {}", shown(&choice.postback_data))
                }
                Some(other) => format!("{} content", other.key()),
                None => "no content".to_owned(),
            };
            format!("{what} from contact {}", shown(&message.contact_id))
        }
        Event::MessageDelivery(report) => {
            let code = report.reason.as_ref().and_then(|r| r.code.as_ref());
            let reason = code.map(|code| format!(" ({code})")).unwrap_or_default();
            format!(
                "message {} {}{reason}",
                shown(&report.message_id),
                shown(&report.status)
            )
        }
        Event::EventDelivery(report) => {
            format!(
                "event {} {}",
                shown(&report.event_id),
                shown(&report.status)
            )
        }
        Event::Unknown(unknown) => unknown.json.get().chars().take(80).collect(),
        other => format!("under `{}` for app {}", other.key(), callback.app_id),
    }
}

/// An optional field, or `-`.
fn shown<T: std::fmt::Display>(value: &Option<T>) -> String {
    value.as_ref().map_or_else(|| "-".to_owned(), T::to_string)
}

/// The command line (clap, with the help above).
#[derive(clap::Parser)]
#[command(
    name = "receive_callbacks",
    override_usage = "receive_callbacks --secret S [OPTIONS]",
    override_help = HELP.trim_end(),
    disable_version_flag = true
)]
struct Args {
    #[arg(long = "secret", required = true, value_parser = not_blank)]
    secrets: Vec<String>,
    #[arg(long, default_value = "127.0.0.1:8788")]
    addr: SocketAddr,
    #[arg(long, default_value_t = Verifier::DEFAULT_TOLERANCE.as_secs())]
    tolerance_secs: u64,
    #[arg(long)]
    redis: Option<String>,
}

/// A blank secret would make every callback fail verification (an HMAC
/// keyed with it proves nothing): refuse to start.
fn not_blank(secret: &str) -> Result<String, String> {
    if secret.trim().is_empty() {
        return Err(
            "must not be empty or blank: the webhook's secret signs its callbacks".to_owned(),
        );
    }
    Ok(secret.to_owned())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let Args {
        secrets,
        addr,
        tolerance_secs: tolerance,
        redis,
    } = match <Args as clap::Parser>::try_parse() {
        Ok(args) => args,
        Err(e) => {
            // Help to stdout with 0; usage errors to stderr with 2.
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let verifier = match tolerance {
        0 => Verifier::with_secrets(secrets).without_timestamp_check(),
        secs => Verifier::with_secrets(secrets).tolerance(Duration::from_secs(secs)),
    };
    // One store for repeats (a day) and replayed nonces (the window): in
    // Redis when given, shared by every replica; in memory otherwise.
    let seen: std::sync::Arc<dyn Deduplicator> = match redis {
        Some(url) => match RedisDeduplicator::connect(&url).await {
            Ok(store) => std::sync::Arc::new(store),
            Err(e) => {
                eprintln!("error: --redis: {e}");
                return ExitCode::FAILURE;
            }
        },
        None => std::sync::Arc::new(MemoryDeduplicator::new(
            REMEMBERED,
            Duration::from_secs(24 * 3600),
        )),
    };
    let receiver = Receiver::with_verifier(verifier)
        .deduplicate(seen)
        .refuse_replays();
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("error: cannot listen on {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    match listener.local_addr() {
        Ok(bound) => println!("http://{bound}"),
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    }
    let app = axum::Router::new()
        .fallback(axum::routing::post(receive))
        .layer(CallbackLayer::new())
        .with_state(receiver);
    let stop = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    match axum::serve(listener, app)
        .with_graceful_shutdown(stop)
        .await
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
