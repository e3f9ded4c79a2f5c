//! Delivering injected events to the webhooks of an app as Sinch does:
//! signed, with an OAuth2 token when the webhook has `client_credentials`
//! (`token`), retried with exponential back-off, at the app's callback rate,
//! optionally twice and shuffled; never to the stand-in itself.
mod token;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::body::Bytes;
use serde::Serialize;

use super::server::Shared;
use crate::WebhookTargetType;
use crate::WebhookTrigger;
use crate::callbacks::Signer;
use crate::types::Webhook;
pub(crate) use token::TokenCache;

/// Marks the stand-in's own outgoing requests (deliveries and token
/// fetches): the events route refuses a request carrying it, so deliveries
/// cannot loop through one stand-in or between two.
pub(crate) const MARKER_HEADER: &str = "x-sinch-mock-delivery";

/// One attempt to deliver one event to one webhook.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Delivery {
    /// The webhook's id.
    pub webhook_id: String,
    /// Where it was sent (without a password).
    pub target: String,
    /// Whether the four signature headers were sent (the webhook has a secret).
    pub signed: bool,
    /// Whether an OAuth2 `Authorization: Bearer` token was sent (the webhook
    /// has `client_credentials` and the token was fetched).
    pub bearer: bool,
    /// 1 for the first attempt, 2 for the first retry, ...
    pub attempt: u32,
    /// The second copy of the event, sent because
    /// [`MockServerBuilder::duplicate_deliveries`](super::MockServerBuilder::duplicate_deliveries) is on.
    pub duplicate: bool,
    /// What happened.
    pub outcome: DeliveryOutcome,
}

/// What happened to one delivery attempt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DeliveryOutcome {
    /// The target answered this status.
    Status(u16),
    /// No answer: connection refused, timeout, ...
    Failed(String),
    /// The webhook's OAuth2 token could not be fetched, and why; the event
    /// was not sent.
    TokenFailed(String),
    /// Not attempted, and why (e.g. a target outside loopback).
    Skipped(String),
}

impl DeliveryOutcome {
    /// The `outcome` it counts under in the [metrics](crate::metrics).
    #[cfg(feature = "metrics")]
    fn metric_label(&self) -> &'static str {
        match self {
            Self::Status(status) => crate::metrics::status_class(*status),
            Self::Failed(_) => "failed",
            Self::TokenFailed(_) => "token_failed",
            Self::Skipped(_) => "skipped",
        }
    }

    /// Whether Sinch would try again: a 5xx or 429, no answer, or a token
    /// endpoint that answered so. Not a 508 (Loop Detected, what a
    /// stand-in's events route answers another stand-in's delivery): trying
    /// again cannot help.
    fn is_retried(&self, token_retryable: bool) -> bool {
        match self {
            Self::Status(508) => false,
            Self::Status(status) => *status == 429 || *status >= 500,
            Self::Failed(_) => true,
            Self::TokenFailed(_) => token_retryable,
            Self::Skipped(_) => false,
        }
    }
}

/// One event for one webhook, as sent (every attempt sends the same body).
struct Callback {
    webhook: Arc<Webhook>,
    body: Bytes,
    duplicate: bool,
}

/// Sends each event of `events` to every `HTTP` webhook of `app_id`
/// subscribed to its trigger, and records every attempt. Callbacks start in
/// order (shuffled when configured) at the app's callback rate, then run
/// concurrently, each with its retries; this returns when all are done. No
/// lock is held while sending, so slow targets block neither each other nor
/// the API.
pub(crate) async fn deliver(
    shared: &Arc<Shared>,
    app_id: &str,
    events: Vec<(WebhookTrigger, serde_json::Value)>,
) -> Vec<Delivery> {
    let webhooks: Vec<Arc<Webhook>> = shared
        .lock()
        .app(&shared.project_id, app_id)
        .iter()
        .filter(|w| w.target_type == Some(WebhookTargetType::Http))
        .map(|w| Arc::new(w.clone()))
        .collect();
    let copies = if shared.delivery.duplicate { 2 } else { 1 };
    let mut callbacks = Vec::new();
    for (trigger, payload) in events {
        let subscribed: Vec<_> = webhooks
            .iter()
            .filter(|w| w.triggers.contains(&trigger))
            .collect();
        if subscribed.is_empty() {
            continue;
        }
        let event = envelope(
            &shared.project_id,
            app_id,
            &trigger,
            payload,
            SystemTime::now(),
        );
        let body = Bytes::from(serde_json::Value::Object(event).to_string());
        for webhook in subscribed {
            for copy in 0..copies {
                callbacks.push(Callback {
                    webhook: webhook.clone(),
                    body: body.clone(),
                    duplicate: copy == 1,
                });
            }
        }
    }
    if let Some(rng) = &shared.delivery_order {
        rng.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .shuffle(&mut callbacks);
    }
    let mut tasks = Vec::with_capacity(callbacks.len());
    for callback in callbacks {
        // First attempts take the rate in order: the order sent is the
        // batch's order.
        pace(shared, app_id).await;
        let shared = shared.clone();
        let app_id = app_id.to_owned();
        tasks.push(tokio::spawn(async move {
            with_retries(&shared, &app_id, callback).await
        }));
    }
    let mut deliveries = Vec::with_capacity(tasks.len());
    for task in tasks {
        if let Ok(attempts) = task.await {
            deliveries.extend(attempts);
        }
    }
    deliveries
}

/// Waits for the app's callback rate, when one is set.
async fn pace(shared: &Shared, app_id: &str) {
    use governor::clock::Clock as _;
    let Some(limiter) = &shared.callback_rate else {
        return;
    };
    let key = app_id.to_owned();
    while let Err(not_until) = limiter.check_key(&key) {
        tokio::time::sleep(not_until.wait_time_from(limiter.clock().now())).await;
    }
    // One entry per app that got a callback: keep the map bounded.
    if limiter.len() > super::state::APP_CAPACITY {
        limiter.retain_recent();
    }
}

/// Attempts until one is not retried or the retries are spent, waiting the
/// back-off in between (and the rate before each retry). Each attempt is
/// recorded as it ends. Stops when the stand-in does.
async fn with_retries(shared: &Shared, app_id: &str, callback: Callback) -> Vec<Delivery> {
    let mut stopped = shared.stopped.clone();
    let mut attempts = Vec::new();
    let mut attempt = 1;
    loop {
        let (delivery, token_retryable) = attempt_once(shared, &callback, attempt).await;
        #[cfg(feature = "metrics")]
        ::metrics::counter!(
            crate::metrics::STAND_IN_DELIVERIES_TOTAL,
            "outcome" => delivery.outcome.metric_label()
        )
        .increment(1);
        let retry = delivery.outcome.is_retried(token_retryable);
        shared.lock().record_delivery(delivery.clone());
        attempts.push(delivery);
        if !retry || attempt > shared.delivery.retries {
            return attempts;
        }
        tokio::select! {
            _ = tokio::time::sleep(shared.delivery.backoff_before(attempt + 1)) => {}
            _ = stopped.changed() => return attempts,
        }
        attempt += 1;
        pace(shared, app_id).await;
    }
}

/// One signed (afresh: new nonce and timestamp) attempt; with whether a
/// token failure is worth a retry.
async fn attempt_once(shared: &Shared, callback: &Callback, attempt: u32) -> (Delivery, bool) {
    let webhook = &callback.webhook;
    let mut delivery = Delivery {
        webhook_id: webhook.id.clone().unwrap_or_default(),
        // `Display`: no password.
        target: webhook.target.to_string(),
        signed: webhook.secret.is_some(),
        bearer: false,
        attempt,
        duplicate: callback.duplicate,
        outcome: DeliveryOutcome::Skipped(String::new()),
    };
    if let Some(why) = refusal(shared, &webhook.target) {
        delivery.outcome = DeliveryOutcome::Skipped(why);
        return (delivery, false);
    }
    // One Authorization header: with client credentials it is the Bearer,
    // so a password in the target is not also sent as Basic (reqwest would
    // add it from the URL).
    let mut url = webhook.target.as_str().to_owned();
    if webhook.client_credentials.is_some()
        && let Ok(mut parsed) = url::Url::parse(&url)
        && (!parsed.username().is_empty() || parsed.password().is_some())
        && parsed.set_username("").is_ok()
        && parsed.set_password(None).is_ok()
    {
        url = parsed.into();
    }
    let mut request = shared
        .http
        .post(url)
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(MARKER_HEADER, "1");
    if let Some(credentials) = &webhook.client_credentials {
        if let Some(why) = refusal(shared, &credentials.endpoint) {
            delivery.outcome = DeliveryOutcome::TokenFailed(format!("token endpoint: {why}"));
            return (delivery, false);
        }
        match shared.tokens.bearer(&shared.http, credentials).await {
            Ok(token) => {
                request = request.bearer_auth(token.expose());
                delivery.bearer = true;
            }
            Err(failure) => {
                delivery.outcome = DeliveryOutcome::TokenFailed(failure.reason);
                return (delivery, failure.retryable);
            }
        }
    }
    if let Some(secret) = &webhook.secret {
        for (name, value) in Signer::new(secret.clone()).sign(&callback.body).pairs() {
            request = request.header(name, value);
        }
    }
    delivery.outcome = match request.body(callback.body.clone()).send().await {
        Ok(response) => DeliveryOutcome::Status(response.status().as_u16()),
        Err(e) => DeliveryOutcome::Failed(transport_error(&e)),
    };
    (delivery, false)
}

/// Why a URL is not contacted: the stand-in itself (a loop), or off
/// loopback without `allow_external_deliveries`.
fn refusal(shared: &Shared, target: &str) -> Option<String> {
    let Ok(url) = url::Url::parse(target) else {
        return Some("not a URL".to_owned());
    };
    if is_own_address(&url, shared.own_addr) {
        return Some("the target is this stand-in (a delivery loop); not sent".to_owned());
    }
    if !shared.allow_external_deliveries && !is_loopback(&url) {
        return Some(
            "the target is not on loopback; enable allow_external_deliveries to send there"
                .to_owned(),
        );
    }
    None
}

/// What went wrong sending, without the URL (it may hold a password).
pub(crate) fn transport_error(error: &reqwest::Error) -> String {
    use std::error::Error as _;
    if error.is_timeout() {
        return "timed out".to_owned();
    }
    let kind = if error.is_connect() {
        "cannot connect"
    } else {
        "transport error"
    };
    let mut cause = None;
    let mut source = error.source();
    while let Some(next) = source {
        cause = Some(next);
        source = next.source();
    }
    match cause {
        Some(cause) => format!("{kind}: {cause}"),
        None => kind.to_owned(),
    }
}

/// The longest wait between two attempts, whatever the settings.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// How failed deliveries are retried, and whether each is sent twice.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DeliveryOptions {
    /// Retries after the first attempt.
    pub(crate) retries: u32,
    /// The wait before the first retry.
    pub(crate) backoff: Duration,
    /// What each next wait is multiplied by.
    pub(crate) factor: u32,
    /// Send every callback twice.
    pub(crate) duplicate: bool,
}

impl DeliveryOptions {
    /// Sinch does not publish its schedule (its SMS API: first retry after
    /// 5 s, doubling, for about 22 h); the stand-in keeps the shape, shorter,
    /// so a test waits seconds: 3 retries after 1, 2 and 4 s.
    pub(crate) const DEFAULT: Self = Self {
        retries: 3,
        backoff: Duration::from_secs(1),
        factor: 2,
        duplicate: false,
    };

    /// The wait before attempt `attempt` (2 for the first retry):
    /// `backoff × factor^(attempt − 2)`, at most an hour.
    pub(crate) fn backoff_before(&self, attempt: u32) -> Duration {
        crate::retry::exponential(
            self.backoff,
            self.factor,
            attempt.saturating_sub(2),
            MAX_BACKOFF,
        )
    }
}

/// The body Sinch would send: the payload under the trigger's identifying
/// key (from the spec), with the shared fields. A payload that already holds
/// that key is the whole event (its own shared fields win); so is an object
/// payload for a trigger the spec names no key for.
pub(crate) fn envelope(
    project_id: &str,
    app_id: &str,
    trigger: &WebhookTrigger,
    payload: serde_json::Value,
    now: SystemTime,
) -> serde_json::Map<String, serde_json::Value> {
    use serde_json::Value;
    let known = crate::events::Event::key_of(trigger);
    let key = known.map_or_else(|| trigger.as_str().to_ascii_lowercase(), str::to_owned);
    let mut event = match payload {
        Value::Object(map) if map.contains_key(&key) || known.is_none() => map,
        Value::Null => serde_json::Map::from_iter([(key, Value::Object(Default::default()))]),
        other => serde_json::Map::from_iter([(key, other)]),
    };
    let time = chrono::DateTime::<chrono::Utc>::from(now)
        .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    event.entry("app_id").or_insert_with(|| app_id.into());
    event
        .entry("project_id")
        .or_insert_with(|| project_id.into());
    event
        .entry("accepted_time")
        .or_insert_with(|| time.clone().into());
    event.entry("event_time").or_insert_with(|| time.into());
    event
}

fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Whether `url` reaches the stand-in: its port on loopback (or on the
/// address it listens on, any address when it listens on all).
fn is_own_address(url: &url::Url, own: SocketAddr) -> bool {
    if url.port_or_known_default() != Some(own.port()) {
        return false;
    }
    let ip = match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
        Some(url::Host::Domain(d)) => {
            return d.eq_ignore_ascii_case("localhost") || own.ip().is_unspecified();
        }
        None => return false,
    };
    ip.is_loopback() || ip == own.ip() || own.ip().is_unspecified()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::{Value, json};

    use super::envelope;

    fn body(trigger: &str, payload: Value) -> Value {
        let at = std::time::UNIX_EPOCH + std::time::Duration::new(1_795_000_000, 123_456_789);
        Value::Object(envelope("p", "a", &trigger.into(), payload, at))
    }

    #[test]
    fn the_envelope_is_sinchs() {
        let shared = json!({"app_id": "a", "project_id": "p",
            "accepted_time": "2026-11-18T11:06:40.123456789Z", "event_time": "2026-11-18T11:06:40.123456789Z"});
        let with = |key: &str, value: Value| {
            let mut expected = shared.clone();
            expected[key] = value;
            expected
        };
        // The payload goes under the trigger's key ...
        assert_eq!(
            body("MESSAGE_DELIVERY", json!({"status": "READ"})),
            with("message_delivery_report", json!({"status": "READ"}))
        );
        // ... `null` stands for `{}` ...
        assert_eq!(
            body("CONTACT_IDENTITIES_DUPLICATION", Value::Null),
            with("duplicated_contact_identities_notification", json!({}))
        );
        // ... a payload holding the key is the event, its own fields kept ...
        let whole = json!({"app_id": "other", "message": {"id": "m"}});
        let mut expected = with("message", json!({"id": "m"}));
        expected["app_id"] = "other".into();
        assert_eq!(body("MESSAGE_INBOUND", whole), expected);
        // ... and for a trigger without a key in the spec, an object is the
        // event as given; anything else goes under the name in lower case.
        assert_eq!(
            body("SOMETHING_NEW", json!({"something_new_notification": {}})),
            with("something_new_notification", json!({}))
        );
        assert_eq!(
            body("SOMETHING_NEW", json!(3)),
            with("something_new", json!(3))
        );
    }

    #[test]
    fn the_back_off_grows_by_the_factor_and_is_capped() {
        let options = super::DeliveryOptions {
            backoff: Duration::from_millis(100),
            factor: 3,
            ..super::DeliveryOptions::DEFAULT
        };
        let waits: Vec<u128> = (2..6)
            .map(|n| options.backoff_before(n).as_millis())
            .collect();
        assert_eq!(waits, [100, 300, 900, 2700]);
        assert_eq!(options.backoff_before(200), super::MAX_BACKOFF);
        let default = super::DeliveryOptions::DEFAULT;
        assert_eq!(default.backoff_before(2), Duration::from_secs(1));
        assert_eq!(default.backoff_before(4), Duration::from_secs(4));
    }

    #[test]
    fn the_stand_ins_own_address_is_recognised() {
        let own: std::net::SocketAddr = "127.0.0.1:8787".parse().unwrap();
        let all: std::net::SocketAddr = "0.0.0.0:8787".parse().unwrap();
        let url = |s: &str| url::Url::parse(s).unwrap();
        for (target, at, expected) in [
            ("http://127.0.0.1:8787/_mock/x", own, true),
            ("http://localhost:8787/", own, true),
            ("http://LOCALHOST:8787/", own, true),
            ("http://127.0.0.2:8787/", own, true),
            ("http://[::1]:8787/", own, true),
            ("http://127.0.0.1:8788/", own, false),
            ("http://127.0.0.1/", own, false),
            ("http://10.1.2.3:8787/", own, false),
            ("http://10.1.2.3:8787/", all, true),
            ("http://example.com:8787/", all, true),
        ] {
            assert_eq!(
                super::is_own_address(&url(target), at),
                expected,
                "{target} {at}"
            );
        }
    }

    #[test]
    fn only_loopback_targets_by_default() {
        for (target, ok) in [
            ("http://127.0.0.1:9/x", true),
            ("http://127.8.9.10/x", true),
            ("http://[::1]:80/", true),
            ("http://localhost:1/", true),
            ("https://example.com/", false),
            ("http://10.0.0.1/", false),
            ("http://localhost.example.com/", false),
        ] {
            assert_eq!(
                super::is_loopback(&url::Url::parse(target).unwrap()),
                ok,
                "{target}"
            );
        }
    }
}
