//! Delivering injected events to the webhooks of an app, signed as Sinch
//! signs them.
use std::net::IpAddr;
use std::sync::Arc;
use std::time::SystemTime;

use serde::Serialize;

use super::server::Shared;
use super::state::LOG_CAPACITY;
use crate::WebhookTargetType;
use crate::WebhookTrigger;
use crate::callbacks::Signer;
use crate::types::Webhook;

/// The outcome of delivering one event to one webhook.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Delivery {
    /// The webhook's id.
    pub webhook_id: String,
    /// Where it was sent.
    pub target: String,
    /// Whether the four signature headers were sent (the webhook has a secret).
    pub signed: bool,
    /// What happened.
    pub outcome: DeliveryOutcome,
}

/// What happened to one delivery.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DeliveryOutcome {
    /// The target answered this status.
    Status(u16),
    /// No answer: connection refused, timeout, ...
    Failed(String),
    /// Not attempted, and why (e.g. a target outside loopback).
    Skipped(String),
}

/// Sends `payload` to every `HTTP` webhook of `app_id` subscribed to
/// `trigger`, concurrently, and records the outcomes. No lock is held while
/// sending, so slow targets block neither each other nor the API.
pub(crate) async fn deliver(
    shared: &Arc<Shared>,
    app_id: &str,
    trigger: &WebhookTrigger,
    payload: serde_json::Value,
) -> Vec<Delivery> {
    let webhooks: Vec<Webhook> = shared
        .lock()
        .app(&shared.project_id, app_id)
        .iter()
        .filter(|w| w.target_type == Some(WebhookTargetType::Http) && w.triggers.contains(trigger))
        .cloned()
        .collect();
    let event = envelope(
        &shared.project_id,
        app_id,
        trigger,
        payload,
        SystemTime::now(),
    );
    let body = axum::body::Bytes::from(serde_json::Value::Object(event).to_string());

    let tasks: Vec<_> = webhooks
        .into_iter()
        .map(|webhook| {
            let shared = shared.clone();
            let body = body.clone();
            tokio::spawn(async move { deliver_one(&shared, webhook, body).await })
        })
        .collect();
    let mut deliveries = Vec::with_capacity(tasks.len());
    for task in tasks {
        if let Ok(delivery) = task.await {
            deliveries.push(delivery);
        }
    }
    let mut state = shared.lock();
    for delivery in &deliveries {
        if state.deliveries.len() == LOG_CAPACITY {
            state.deliveries.pop_front();
        }
        state.deliveries.push_back(delivery.clone());
    }
    deliveries
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

async fn deliver_one(shared: &Shared, webhook: Webhook, body: axum::body::Bytes) -> Delivery {
    let target = webhook.target.to_string();
    let mut delivery = Delivery {
        webhook_id: webhook.id.clone().unwrap_or_default(),
        // Shown in logs and `Debug`: no password.
        target: crate::target::redact_userinfo(&target).into_owned(),
        signed: webhook.secret.is_some(),
        outcome: DeliveryOutcome::Skipped(String::new()),
    };
    if !shared.allow_external_deliveries && !is_loopback(&target) {
        delivery.outcome = DeliveryOutcome::Skipped(
            "the target is not on loopback; enable allow_external_deliveries to send there"
                .to_owned(),
        );
        return delivery;
    }
    let mut request = shared
        .http
        .post(&target)
        .header(http::header::CONTENT_TYPE, "application/json");
    if let Some(secret) = &webhook.secret {
        for (name, value) in Signer::new(secret.clone()).sign(&body).pairs() {
            request = request.header(name, value);
        }
    }
    delivery.outcome = match request.body(body).send().await {
        Ok(response) => DeliveryOutcome::Status(response.status().as_u16()),
        Err(e) => DeliveryOutcome::Failed(e.to_string()),
    };
    delivery
}

fn is_loopback(target: &str) -> bool {
    let Ok(url) = url::Url::parse(target) else {
        return false;
    };
    match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

#[cfg(test)]
mod tests {
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
            assert_eq!(super::is_loopback(target), ok, "{target}");
        }
    }
}
