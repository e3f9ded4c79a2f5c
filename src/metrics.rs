//! Metrics on the [`metrics`](https://docs.rs/metrics) facade (feature
//! `metrics`): the client's requests, the receiver's callbacks, the
//! stand-in's deliveries and the durable inbox, for whatever recorder the
//! application installs (e.g. `metrics-exporter-prometheus`). Without a
//! recorder each costs about an atomic load; without the feature, nothing.
//!
//! Names and units follow Prometheus' conventions; no label holds an id or a
//! URL, so the number of series stays small and fixed.
//!
//! | name | type | labels | what |
//! |---|---|---|---|
//! | `sinch_conversation_client_requests_total` | counter | `operation`, `status` (`2xx` `3xx` `4xx` `5xx` `error`) | HTTP requests (each attempt) to the API |
//! | `sinch_conversation_client_attempt_duration_seconds` | histogram | `operation` | one attempt, sent to answered |
//! | `sinch_conversation_client_retries_total` | counter | `operation` | attempts made again (after a 429, a 5xx, a timeout…) |
//! | `sinch_conversation_client_rate_limit_waits_total` | counter | `limit` (`local` `shared`) | requests that waited for the rate limit |
//! | `sinch_conversation_client_token_fetches_total` | counter | | OAuth2 tokens requested |
//! | `sinch_conversation_client_token_failures_total` | counter | | of those, failed |
//! | `sinch_conversation_callbacks_total` | counter | `outcome` (`accepted` `duplicate` `in_progress` `rejected` `too_large` `unavailable`) | callbacks received |
//! | `sinch_conversation_callbacks_rejected_total` | counter | `reason` | rejected callbacks, by [reason](#rejection-reasons) |
//! | `sinch_conversation_callback_verify_duration_seconds` | histogram | | signature check of one callback |
//! | `sinch_conversation_callback_handler_duration_seconds` | histogram | `outcome` (`completed` `released`) | a handler's run, claim to settlement |
//! | `sinch_conversation_stand_in_deliveries_total` | counter | `outcome` (`2xx` `3xx` `4xx` `5xx` `failed` `token_failed` `skipped`) | the stand-in's delivery attempts |
//! | `sinch_conversation_inbox_appended_total` | counter | `inbox` | events stored in a durable inbox |
//! | `sinch_conversation_inbox_handled_total` | counter | `inbox`, `outcome` (`done` `retry` `dead`) | worker attempts |
//! | `sinch_conversation_inbox_handler_duration_seconds` | histogram | `inbox` | one worker attempt |
//! | `sinch_conversation_inbox_depth` | gauge | `inbox` | entries not handled yet |
//! | `sinch_conversation_inbox_pending` | gauge | `inbox` | of those, being handled |
//! | `sinch_conversation_inbox_dead_letters` | gauge | `inbox` | dead letters |
//! | `sinch_conversation_inbox_oldest_unhandled_age_seconds` | gauge | `inbox` | age of the oldest unhandled event |
//!
//! The inbox's gauges are refreshed by each `inbox::Worker` every 5 seconds,
//! and whenever `Inbox::record_metrics` is called (`sinch-webhooks listen
//! --inbox` and `work` call it at each scrape).
//!
//! # Rejection reasons
//! `missing_header`, `malformed_timestamp`, `outside_window`, `algorithm`,
//! `signature`, `replayed_nonce`, `empty_secret`, `bearer`, `not_an_event`,
//! `body_unreadable`, `body_timeout`, `no_receiver` (actix-web: no
//! `Receiver` in the app's data).
//!
//! # With Prometheus
//! ```
//! # #[cfg(any())] {
//! let handle = metrics_exporter_prometheus::PrometheusBuilder::new()
//!     .install_recorder()?;
//! sinch_conversation::metrics::describe();
//! // … serve `handle.render()` at /metrics.
//! # }
//! ```
//! `sinch-webhooks listen --metrics-addr 127.0.0.1:9100` (and `work`) do
//! this for you.

/// HTTP requests to the API (each attempt), by `operation` and `status`.
pub const CLIENT_REQUESTS_TOTAL: &str = "sinch_conversation_client_requests_total";
/// One attempt's duration, by `operation`.
pub const CLIENT_ATTEMPT_DURATION_SECONDS: &str =
    "sinch_conversation_client_attempt_duration_seconds";
/// Attempts made again, by `operation`.
pub const CLIENT_RETRIES_TOTAL: &str = "sinch_conversation_client_retries_total";
/// Requests that waited for the rate limit, by `limit`.
pub const CLIENT_RATE_LIMIT_WAITS_TOTAL: &str = "sinch_conversation_client_rate_limit_waits_total";
/// OAuth2 tokens requested.
pub const CLIENT_TOKEN_FETCHES_TOTAL: &str = "sinch_conversation_client_token_fetches_total";
/// OAuth2 token requests that failed.
pub const CLIENT_TOKEN_FAILURES_TOTAL: &str = "sinch_conversation_client_token_failures_total";
/// Callbacks received, by `outcome`.
pub const CALLBACKS_TOTAL: &str = "sinch_conversation_callbacks_total";
/// Callbacks rejected, by `reason`.
pub const CALLBACKS_REJECTED_TOTAL: &str = "sinch_conversation_callbacks_rejected_total";
/// One callback's signature check.
pub const CALLBACK_VERIFY_DURATION_SECONDS: &str =
    "sinch_conversation_callback_verify_duration_seconds";
/// A handler's run, from the claim to its settlement, by `outcome`.
pub const CALLBACK_HANDLER_DURATION_SECONDS: &str =
    "sinch_conversation_callback_handler_duration_seconds";
/// The stand-in's delivery attempts, by `outcome`.
pub const STAND_IN_DELIVERIES_TOTAL: &str = "sinch_conversation_stand_in_deliveries_total";
/// Events stored in a durable inbox, by `inbox`.
pub const INBOX_APPENDED_TOTAL: &str = "sinch_conversation_inbox_appended_total";
/// Worker attempts, by `inbox` and `outcome`.
pub const INBOX_HANDLED_TOTAL: &str = "sinch_conversation_inbox_handled_total";
/// One worker attempt's duration, by `inbox`.
pub const INBOX_HANDLER_DURATION_SECONDS: &str =
    "sinch_conversation_inbox_handler_duration_seconds";
/// Entries not handled yet, by `inbox`.
pub const INBOX_DEPTH: &str = "sinch_conversation_inbox_depth";
/// Entries being handled, by `inbox`.
pub const INBOX_PENDING: &str = "sinch_conversation_inbox_pending";
/// Dead letters, by `inbox`.
pub const INBOX_DEAD_LETTERS: &str = "sinch_conversation_inbox_dead_letters";
/// The oldest unhandled event's age, by `inbox`.
pub const INBOX_OLDEST_UNHANDLED_AGE_SECONDS: &str =
    "sinch_conversation_inbox_oldest_unhandled_age_seconds";

/// Gives every metric its description and unit, for recorders that show
/// them (Prometheus' `# HELP` lines). Call it once, after installing the
/// recorder.
pub fn describe() {
    use ::metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        CLIENT_REQUESTS_TOTAL,
        Unit::Count,
        "HTTP requests (each attempt) to the Sinch Conversation API"
    );
    describe_histogram!(
        CLIENT_ATTEMPT_DURATION_SECONDS,
        Unit::Seconds,
        "One attempt, sent to answered"
    );
    describe_counter!(
        CLIENT_RETRIES_TOTAL,
        Unit::Count,
        "Attempts made again after a failure that may be retried"
    );
    describe_counter!(
        CLIENT_RATE_LIMIT_WAITS_TOTAL,
        Unit::Count,
        "Requests that waited for the rate limit"
    );
    describe_counter!(
        CLIENT_TOKEN_FETCHES_TOTAL,
        Unit::Count,
        "OAuth2 tokens requested"
    );
    describe_counter!(
        CLIENT_TOKEN_FAILURES_TOTAL,
        Unit::Count,
        "OAuth2 token requests that failed"
    );
    describe_counter!(
        CALLBACKS_TOTAL,
        Unit::Count,
        "Callbacks received, by outcome"
    );
    describe_counter!(
        CALLBACKS_REJECTED_TOTAL,
        Unit::Count,
        "Callbacks rejected, by reason"
    );
    describe_histogram!(
        CALLBACK_VERIFY_DURATION_SECONDS,
        Unit::Seconds,
        "Signature check of one callback"
    );
    describe_histogram!(
        CALLBACK_HANDLER_DURATION_SECONDS,
        Unit::Seconds,
        "A callback handler's run, from its claim to its settlement"
    );
    describe_counter!(
        STAND_IN_DELIVERIES_TOTAL,
        Unit::Count,
        "The stand-in's delivery attempts, by outcome"
    );
    describe_counter!(
        INBOX_APPENDED_TOTAL,
        Unit::Count,
        "Events stored in a durable inbox"
    );
    describe_counter!(
        INBOX_HANDLED_TOTAL,
        Unit::Count,
        "Inbox worker attempts, by outcome"
    );
    describe_histogram!(
        INBOX_HANDLER_DURATION_SECONDS,
        Unit::Seconds,
        "One inbox worker attempt"
    );
    describe_gauge!(INBOX_DEPTH, Unit::Count, "Inbox entries not handled yet");
    describe_gauge!(INBOX_PENDING, Unit::Count, "Inbox entries being handled");
    describe_gauge!(INBOX_DEAD_LETTERS, Unit::Count, "Inbox dead letters");
    describe_gauge!(
        INBOX_OLDEST_UNHANDLED_AGE_SECONDS,
        Unit::Seconds,
        "Age of the oldest unhandled inbox event"
    );
}

/// `2xx` … `5xx` for a status.
pub(crate) fn status_class(status: u16) -> &'static str {
    match status {
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        500..=599 => "5xx",
        _ => "other",
    }
}

/// One attempt of `operation`: its answer's status (`None`: no answer) and
/// its duration.
pub(crate) fn attempt(operation: &'static str, status: Option<u16>, started: std::time::Instant) {
    let status = status.map_or("error", status_class);
    ::metrics::counter!(CLIENT_REQUESTS_TOTAL, "operation" => operation, "status" => status)
        .increment(1);
    ::metrics::histogram!(CLIENT_ATTEMPT_DURATION_SECONDS, "operation" => operation)
        .record(started.elapsed().as_secs_f64());
}

/// `operation` is tried again.
pub(crate) fn retry(operation: &'static str) {
    ::metrics::counter!(CLIENT_RETRIES_TOTAL, "operation" => operation).increment(1);
}

/// A request waited for the `limit` (`local`, `shared`) rate limit.
pub(crate) fn rate_limit_wait(limit: &'static str) {
    ::metrics::counter!(CLIENT_RATE_LIMIT_WAITS_TOTAL, "limit" => limit).increment(1);
}

/// An OAuth2 token was requested; `ok` whether one came back.
pub(crate) fn token_fetch(ok: bool) {
    ::metrics::counter!(CLIENT_TOKEN_FETCHES_TOTAL).increment(1);
    if !ok {
        ::metrics::counter!(CLIENT_TOKEN_FAILURES_TOTAL).increment(1);
    }
}
