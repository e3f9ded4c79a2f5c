//! `POST /_mock/projects/{project_id}/apps/{app_id}/events`: the admin
//! route that delivers events to an app's webhooks.
use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Response};

use crate::mock::deliver::MARKER_HEADER;
use crate::mock::server::{Shared, shown, sinch_error};

#[derive(serde::Deserialize)]
struct InjectedEvent {
    trigger: crate::WebhookTrigger,
    #[serde(default)]
    payload: serde_json::Value,
}

/// One event, or a batch (delivered in order, or shuffled when the
/// stand-in shuffles).
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum Injected {
    One(InjectedEvent),
    Batch(Vec<InjectedEvent>),
}

/// Admin route: deliver events to the app's webhooks and answer every
/// attempt. No auth: the stand-in is a local test tool. A request that is
/// itself a stand-in's delivery is refused (508), so deliveries cannot loop.
pub(crate) async fn inject_event(
    State(shared): State<Arc<Shared>>,
    Path((project_id, app_id)): Path<(String, String)>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    if parts.headers.contains_key(MARKER_HEADER) {
        return sinch_error(
            508,
            "a stand-in's delivery reached the events route: refused, so deliveries cannot loop",
            vec![],
        );
    }
    if project_id != shared.project_id {
        let shown = shown(&project_id);
        return sinch_error(404, format!("unknown project {shown:?}"), vec![]);
    }
    let body = match super::limited_body(&shared, body).await {
        Ok(body) => body,
        Err(refusal) => return refusal,
    };
    let events = match serde_json::from_slice(&body) {
        Ok(Injected::One(event)) => vec![(event.trigger, event.payload)],
        Ok(Injected::Batch(events)) => events.into_iter().map(|e| (e.trigger, e.payload)).collect(),
        Err(e) => {
            return sinch_error(
                400,
                format!(
                    "expected {{\"trigger\": \"MESSAGE_INBOUND\", \"payload\": {{...}}}} or an array of them: {}",
                    shown(&e.to_string())
                ),
                vec![],
            );
        }
    };
    let deliveries = crate::mock::deliver::deliver(&shared, &app_id, events).await;
    axum::Json(serde_json::json!({ "deliveries": deliveries })).into_response()
}
