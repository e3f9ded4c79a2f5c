//! The durable inbox from the command line: `listen --inbox` (the
//! endpoint), `work` (the workers), `inbox stats|dead-letters|replay`.
use std::process::ExitCode;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse as _, Response};
use serde_json::json;
use sinch_conversation::inbox::{Appended, Backoff, Inbox, InboxEndpoint, Worker};
use sinch_conversation::receive::Receiver;

use crate::args::{InboxCommand, Output, Work};
use crate::show::{FAILED, INVALID, event_line};

/// Connects to the inbox, or says why not (2: a bad URL, 1: unreachable).
pub async fn connect(url: &str, name: &str) -> Result<Inbox, ExitCode> {
    if !crate::is_redis_url(url) {
        eprintln!("error: --redis must be a redis://, rediss:// or unix:// URL");
        return Err(ExitCode::from(INVALID));
    }
    Inbox::connect(url, name).await.map_err(|e| {
        eprintln!("error: --redis: {e}");
        ExitCode::from(FAILED)
    })
}

#[derive(Clone)]
struct Listening {
    endpoint: InboxEndpoint,
    output: Output,
}

/// `listen --inbox`: the endpoint's router, printing a line per callback.
pub async fn router(
    url: &str,
    name: &str,
    receiver: Receiver,
    path: &str,
    output: Output,
) -> Result<Router, ExitCode> {
    let inbox = connect(url, name).await?;
    let endpoint = InboxEndpoint::new(inbox, receiver);
    Ok(Router::new()
        .route(path, axum::routing::post(append))
        .with_state(Listening { endpoint, output }))
}

async fn append(State(listening): State<Listening>, request: Request) -> Response {
    let (outcome, trigger, key, status, detail) =
        match listening.endpoint.handle_request(request).await {
            Ok(Appended::New { id, trigger, key }) => (
                "appended",
                Some(trigger),
                Some(key),
                StatusCode::OK,
                Some(id),
            ),
            Ok(Appended::Duplicate { trigger, key }) => {
                ("duplicate", Some(trigger), Some(key), StatusCode::OK, None)
            }
            Ok(_) => ("appended", None, None, StatusCode::OK, None),
            Err(rejection) => {
                let why = rejection.to_string();
                let fields = [
                    ("outcome", Some("rejected")),
                    ("trigger", None),
                    ("key", None),
                ];
                event_line(
                    listening.output,
                    &fields,
                    Some(rejection.status().as_u16()),
                    Some(&why),
                );
                return rejection.into_response();
            }
        };
    let fields = [
        ("outcome", Some(outcome)),
        ("trigger", trigger.as_deref()),
        ("key", key.as_deref()),
    ];
    event_line(
        listening.output,
        &fields,
        Some(status.as_u16()),
        detail.as_deref(),
    );
    status.into_response()
}

/// `work`: handles the inbox's events with a command until SIGTERM.
pub async fn work(flags: &Work, output: Output) -> ExitCode {
    if flags.exec.trim().is_empty() {
        eprintln!("error: --exec must not be empty");
        return ExitCode::from(INVALID);
    }
    let inbox = match connect(&flags.redis, &flags.inbox).await {
        Ok(inbox) => inbox,
        Err(code) => return code,
    };
    if let Some(addr) = flags.metrics_addr
        && let Err(code) = crate::metrics::serve(addr, Some(inbox)).await
    {
        return code;
    }
    let worker = match Worker::connect(&flags.redis, flags.inbox.as_str()).await {
        Ok(worker) => worker,
        Err(e) => {
            eprintln!("error: --redis: {e}");
            return ExitCode::from(FAILED);
        }
    };
    let visibility = Duration::from_secs(flags.visibility_secs);
    let worker = worker
        .concurrency(usize::from(flags.concurrency))
        .max_attempts(flags.max_attempts)
        .backoff(Backoff {
            first: Duration::from_millis(flags.backoff_ms),
            ..Backoff::default()
        })
        .visibility_timeout(visibility)
        .shutdown_grace(Duration::from_secs(flags.shutdown_secs));
    eprintln!(
        "working on inbox {} as {} ({} at a time)",
        flags.inbox,
        worker.consumer(),
        flags.concurrency
    );
    let command = flags.exec.clone();
    let max_attempts = flags.max_attempts;
    let stop = async {
        crate::listen::stop_signal().await;
        eprintln!("stopping: no new events; waiting for running commands");
    };
    worker
        .run(
            move |event| {
                let command = command.clone();
                async move {
                    let attempt = event.attempts + 1;
                    let env = [
                        ("SINCH_TRIGGER", event.trigger.clone()),
                        ("SINCH_EVENT_KEY", event.key.clone()),
                        ("SINCH_APP_ID", event.event.app_id.clone()),
                        ("SINCH_PROJECT_ID", event.event.project_id.clone()),
                        ("SINCH_INBOX_ID", event.origin.clone()),
                        ("SINCH_ATTEMPT", attempt.to_string()),
                    ];
                    let result = crate::command::run(
                        &command,
                        &env,
                        event.raw(),
                        visibility,
                        "the visibility timeout",
                    )
                    .await;
                    let outcome = match &result {
                        Ok(()) => "handled",
                        Err(_) if attempt >= max_attempts => "dead",
                        Err(_) => "retry",
                    };
                    let attempt = attempt.to_string();
                    let fields = [
                        ("outcome", Some(outcome)),
                        ("trigger", Some(event.trigger.as_str())),
                        ("key", Some(event.key.as_str())),
                        ("attempt", Some(attempt.as_str())),
                    ];
                    event_line(
                        output,
                        &fields,
                        None,
                        result.as_ref().err().map(String::as_str),
                    );
                    result
                }
            },
            stop,
        )
        .await;
    ExitCode::SUCCESS
}

/// `inbox stats|dead-letters|replay`.
pub async fn admin(command: &InboxCommand, output: Output) -> ExitCode {
    let (name, url) = match command {
        InboxCommand::Stats { name, redis }
        | InboxCommand::DeadLetters { name, redis, .. }
        | InboxCommand::Replay { name, redis, .. } => (name, redis),
    };
    let inbox = match connect(url, name).await {
        Ok(inbox) => inbox,
        Err(code) => return code,
    };
    let failed = |e: sinch_conversation::shared::RedisError| {
        eprintln!("error: {e}");
        ExitCode::from(FAILED)
    };
    match command {
        InboxCommand::Stats { .. } => match inbox.stats().await {
            Ok(stats) => {
                match output {
                    Output::Json => say!("{}", json!(stats)),
                    Output::Text => {
                        say!("inbox {name}: {} unhandled", stats.length);
                        for p in &stats.pending {
                            say!(
                                "  pending {} at {} (idle {} ms)",
                                p.pending,
                                p.consumer,
                                p.idle_ms
                            );
                        }
                        say!("  waiting for a retry: {}", stats.waiting_retry);
                        say!("  dead letters: {}", stats.dead_letters);
                        match stats.oldest_unhandled_ms {
                            Some(ms) => say!("  oldest unhandled: received {ms} ms ago"),
                            None => say!("  oldest unhandled: none"),
                        }
                    }
                }
                ExitCode::SUCCESS
            }
            Err(e) => failed(e),
        },
        InboxCommand::DeadLetters { limit, .. } => match inbox.dead_letters(*limit).await {
            Ok(dead) => {
                match output {
                    Output::Json => say!("{}", json!(dead)),
                    Output::Text if dead.is_empty() => say!("inbox {name}: no dead letters"),
                    Output::Text => {
                        for d in &dead {
                            say!(
                                "{} {} {} after {} attempt(s): {}",
                                d.id,
                                d.trigger,
                                d.key,
                                d.attempts,
                                d.error
                            );
                        }
                    }
                }
                ExitCode::SUCCESS
            }
            Err(e) => failed(e),
        },
        InboxCommand::Replay { ids, all, .. } => {
            let replayed = if *all {
                inbox.replay_all().await
            } else {
                inbox.replay(ids).await
            };
            match replayed {
                Ok(n) => {
                    match output {
                        Output::Json => say!("{}", json!({ "replayed": n })),
                        Output::Text => say!("replayed {n} dead letter(s) into inbox {name}"),
                    }
                    if !*all && n < ids.len() as u64 {
                        eprintln!(
                            "error: {} of the ids given are not dead letters of inbox {name}",
                            ids.len() as u64 - n
                        );
                        return ExitCode::from(FAILED);
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => failed(e),
            }
        }
    }
}
