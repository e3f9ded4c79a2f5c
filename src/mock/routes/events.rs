//! `POST /_mock/projects/{project_id}/apps/{app_id}/events`: the admin
//! route that delivers an event to an app's webhooks.
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};

use crate::mock::server::{Shared, shown, sinch_error};

#[derive(serde::Deserialize)]
struct InjectedEvent {
    trigger: crate::WebhookTrigger,
    #[serde(default)]
    payload: serde_json::Value,
}

/// Admin route: deliver an event to the app's webhooks and answer the
/// outcomes. No auth: the stand-in is a local test tool.
pub(crate) async fn inject_event(
    State(shared): State<Arc<Shared>>,
    Path((project_id, app_id)): Path<(String, String)>,
    body: Body,
) -> Response {
    if project_id != shared.project_id {
        let shown = shown(&project_id);
        return sinch_error(404, format!("unknown project {shown:?}"), vec![]);
    }
    let body = match super::limited_body(&shared, body).await {
        Ok(body) => body,
        Err(refusal) => return refusal,
    };
    let event: InjectedEvent = match serde_json::from_slice(&body) {
        Ok(event) => event,
        Err(e) => {
            return sinch_error(
                400,
                format!(
                    "expected {{\"trigger\": \"MESSAGE_INBOUND\", \"payload\": {{...}}}}: {}",
                    shown(&e.to_string())
                ),
                vec![],
            );
        }
    };
    let deliveries =
        crate::mock::deliver::deliver(&shared, &app_id, &event.trigger, event.payload).await;
    axum::Json(serde_json::json!({ "deliveries": deliveries })).into_response()
}
