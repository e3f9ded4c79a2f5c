//! Delivering injected events to the webhooks of an app, signed as Sinch
//! signs them.
use std::net::IpAddr;
use std::sync::Arc;

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
    let mut event = match payload {
        serde_json::Value::Object(map) => map,
        other => {
            let mut map = serde_json::Map::new();
            map.insert("payload".to_owned(), other);
            map
        }
    };
    event.entry("app_id").or_insert_with(|| app_id.into());
    event
        .entry("project_id")
        .or_insert_with(|| shared.project_id.clone().into());
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

async fn deliver_one(shared: &Shared, webhook: Webhook, body: axum::body::Bytes) -> Delivery {
    let target = webhook.target.to_string();
    let mut delivery = Delivery {
        webhook_id: webhook.id.clone().unwrap_or_default(),
        // Shown in logs and `Debug`: no password.
        target: crate::error::without_userinfo(&target),
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
