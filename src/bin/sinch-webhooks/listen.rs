//! `sinch-webhooks listen`: a receiving server on the crate's own receiver
//! (verification, claims, replays), printing one line per callback and
//! handling each new event by running a command, forwarding it, or just
//! printing it.
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRef, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse as _, Response};
use sinch_conversation::dedup::MemoryDeduplicator;
use sinch_conversation::receive::{CallbackLayer, CallbackRejection, Receiver, SinchCallback};
use sinch_conversation::shared::RedisDeduplicator;

use crate::args::{Listen, Output};
use crate::show::{FAILED, INVALID, event_line};

/// What is done with each new event.
enum Action {
    Print,
    Exec(String),
    Forward {
        url: reqwest::Url,
        http: reqwest::Client,
    },
}

#[derive(Clone)]
struct Listening {
    receiver: Receiver,
    action: Arc<Action>,
    output: Output,
}

impl FromRef<Listening> for Receiver {
    fn from_ref(listening: &Listening) -> Receiver {
        listening.receiver.clone()
    }
}

/// Events remembered without Redis: a day, at most this many.
const REMEMBERED: usize = 100_000;

/// Checks the flags (exit 2 before anything starts), then serves until
/// SIGTERM or Ctrl-C.
pub async fn run(flags: &Listen, output: Output) -> ExitCode {
    let invalid = |why: String| {
        eprintln!("error: {why}");
        ExitCode::from(INVALID)
    };
    if flags.secrets.iter().any(|s| s.trim().is_empty()) {
        return invalid(
            "--secret must not be empty or blank: the webhook's secret signs its callbacks"
                .to_owned(),
        );
    }
    if !flags.path.starts_with('/') {
        return invalid(format!("--path must start with /: {:?}", flags.path));
    }
    let action = match (&flags.exec, &flags.forward_to) {
        (Some(command), _) if command.trim().is_empty() => {
            return invalid("--exec must not be empty".to_owned());
        }
        (Some(command), _) => Action::Exec(command.clone()),
        (None, Some(url)) => match reqwest::Url::parse(url) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => {
                // reqwest is built without a default TLS provider.
                crate::command::install_crypto_provider();
                let http = match reqwest::Client::builder().build() {
                    Ok(http) => http,
                    Err(e) => return invalid(format!("--forward-to: {e}")),
                };
                Action::Forward { url, http }
            }
            _ => return invalid("--forward-to must be an absolute http(s) URL".to_owned()),
        },
        (None, None) => Action::Print,
    };
    if let Some(url) = &flags.redis
        && !crate::is_redis_url(url)
    {
        return invalid("--redis must be a redis://, rediss:// or unix:// URL".to_owned());
    }
    let lease = Duration::from_secs(flags.lease_secs);
    let receiver = Receiver::new(flags.secrets.iter().map(String::as_str))
        .lease(lease)
        .refuse_replays();
    if let Some(addr) = flags.metrics_addr {
        let inbox = match (&flags.inbox, &flags.redis) {
            (Some(name), Some(url)) => match crate::inbox::connect(url, name).await {
                Ok(inbox) => Some(inbox),
                Err(code) => return code,
            },
            _ => None,
        };
        if let Err(code) = crate::metrics::serve(addr, inbox).await {
            return code;
        }
    }
    if let (Some(name), Some(url)) = (&flags.inbox, &flags.redis) {
        // The inbox deduplicates in its append; the receiver verifies.
        let app = match crate::inbox::router(url, name, receiver, &flags.path, output).await {
            Ok(app) => app,
            Err(code) => return code,
        };
        let (listener, bound) = match bind(flags.addr).await {
            Ok(bound) => bound,
            Err(code) => return code,
        };
        eprintln!("listening on http://{bound}{} (inbox {name})", flags.path);
        return serve(listener, app, Duration::from_secs(flags.shutdown_secs)).await;
    }
    let receiver = match &flags.redis {
        Some(url) => match RedisDeduplicator::connect(url).await {
            Ok(store) => receiver.deduplicate(store),
            Err(e) => {
                eprintln!("error: --redis: {e}");
                return ExitCode::from(FAILED);
            }
        },
        None => receiver.deduplicate(MemoryDeduplicator::new(
            REMEMBERED,
            Duration::from_secs(24 * 3600),
        )),
    };
    let (listener, bound) = match bind(flags.addr).await {
        Ok(bound) => bound,
        Err(code) => return code,
    };
    let state = Listening {
        receiver,
        action: Arc::new(action),
        output,
    };
    let app = Router::new()
        .route(&flags.path, axum::routing::post(callback))
        .layer(CallbackLayer::new())
        .with_state(state);
    eprintln!("listening on http://{bound}{}", flags.path);
    serve(listener, app, Duration::from_secs(flags.shutdown_secs)).await
}

/// The listening socket and the address it got (for port 0).
async fn bind(
    addr: std::net::SocketAddr,
) -> Result<(tokio::net::TcpListener, std::net::SocketAddr), ExitCode> {
    match tokio::net::TcpListener::bind(addr).await {
        Ok(listener) => {
            let bound = listener.local_addr().unwrap_or(addr);
            Ok((listener, bound))
        }
        Err(e) => {
            eprintln!("error: cannot listen on {addr}: {e}");
            Err(ExitCode::from(FAILED))
        }
    }
}

/// Serves until a signal, then stops taking callbacks and waits for
/// running handlers, at most `grace`.
async fn serve(listener: tokio::net::TcpListener, app: Router, grace: Duration) -> ExitCode {
    let stopping = Arc::new(tokio::sync::Notify::new());
    let signalled = {
        let stopping = stopping.clone();
        async move {
            stop_signal().await;
            eprintln!(
                "stopping: no new callbacks; waiting up to {} s for running handlers",
                grace.as_secs()
            );
            stopping.notify_one();
        }
    };
    let server = axum::serve(listener, app).with_graceful_shutdown(signalled);
    let deadline = async {
        stopping.notified().await;
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        served = server => match served {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(FAILED)
            }
        },
        () = deadline => {
            eprintln!("stopped with handlers still running: their claims expire with their lease");
            ExitCode::SUCCESS
        }
    }
}

pub async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// One callback: the extractor's answer for anything not new; the
/// action's for a new event (2xx completes it, anything else releases it).
async fn callback(
    State(listening): State<Listening>,
    headers: HeaderMap,
    callback: Result<SinchCallback, CallbackRejection>,
) -> Response {
    let callback = match callback {
        Ok(callback) => callback,
        Err(rejection) => {
            let (outcome, trigger, key) = match &rejection {
                CallbackRejection::AlreadyHandled { trigger, key } => {
                    ("duplicate", Some(trigger.as_str()), Some(key.as_str()))
                }
                CallbackRejection::InProgress { trigger, key, .. } => {
                    ("in_progress", Some(trigger.as_str()), Some(key.as_str()))
                }
                _ => ("rejected", None, None),
            };
            let detail = (outcome == "rejected").then(|| rejection.to_string());
            let fields = [
                ("outcome", Some(outcome)),
                ("trigger", trigger),
                ("key", key),
            ];
            let status = Some(rejection.status().as_u16());
            event_line(listening.output, &fields, status, detail.as_deref());
            return rejection.into_response();
        }
    };
    let trigger = callback.trigger_name();
    let result = match &*listening.action {
        Action::Print => Ok(StatusCode::OK),
        Action::Exec(command) => exec(command, &callback).await,
        Action::Forward { url, http } => forward(http, url, &headers, &callback).await,
    };
    let failed = match &*listening.action {
        Action::Forward { .. } => StatusCode::BAD_GATEWAY,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let (status, detail) = match result {
        Ok(status) => (status, None),
        Err(why) => (failed, Some(why)),
    };
    let fields = [
        ("outcome", Some("new")),
        ("trigger", Some(trigger.as_str())),
        ("key", Some(callback.idempotency_key())),
    ];
    event_line(
        listening.output,
        &fields,
        Some(status.as_u16()),
        detail.as_deref(),
    );
    status.into_response()
}

/// Runs `command` for a new event (see `crate::command::run`), for at most
/// the claim's lease.
async fn exec(command: &str, callback: &SinchCallback) -> Result<StatusCode, String> {
    let lease = callback
        .lease_remaining()
        .unwrap_or(Receiver::DEFAULT_LEASE);
    let env = [
        ("SINCH_TRIGGER", callback.trigger_name()),
        ("SINCH_EVENT_KEY", callback.idempotency_key().to_owned()),
        ("SINCH_APP_ID", callback.event.app_id.clone()),
        ("SINCH_PROJECT_ID", callback.event.project_id.clone()),
    ];
    crate::command::run(command, &env, callback.raw(), lease, "the lease's end")
        .await
        .map(|()| StatusCode::OK)
}

/// The signature headers Sinch sent (and the content type), as received.
const FORWARDED: [&str; 5] = [
    "content-type",
    "x-sinch-webhook-signature",
    "x-sinch-webhook-signature-algorithm",
    "x-sinch-webhook-signature-nonce",
    "x-sinch-webhook-signature-timestamp",
];

/// Re-sends the verified request to `url`; its status is the answer (an
/// unreachable app: 502, so Sinch retries).
async fn forward(
    http: &reqwest::Client,
    url: &reqwest::Url,
    headers: &HeaderMap,
    callback: &SinchCallback,
) -> Result<StatusCode, String> {
    let mut request = http
        .post(url.clone())
        .body(Bytes::copy_from_slice(callback.raw()))
        .timeout(
            callback
                .lease_remaining()
                .unwrap_or(Receiver::DEFAULT_LEASE),
        );
    for name in FORWARDED {
        if let Some(value) = headers.get(name) {
            request = request.header(name, value.as_bytes());
        }
    }
    match request.send().await {
        Ok(answer) => {
            Ok(StatusCode::from_u16(answer.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY))
        }
        // reqwest's errors name the URL; shown without it (a password).
        Err(e) => Err(format!("cannot forward: {}", e.without_url())),
    }
}
