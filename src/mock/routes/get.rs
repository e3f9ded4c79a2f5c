//! `GET /v1/projects/{project_id}/webhooks/{webhook_id}`.
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use super::{answered, authorize, unknown_webhook};
use crate::mock::server::Shared;

/// The webhook, or 404 when the project has no webhook with that id.
pub(crate) async fn get_webhook(
    State(shared): State<Arc<Shared>>,
    Path((project_id, webhook_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(refusal) = authorize(&shared, &headers, &project_id) {
        return refusal;
    }
    let webhook = shared.lock().get(&project_id, &webhook_id).cloned();
    match webhook {
        Some(webhook) => axum::Json(answered(&shared, webhook)).into_response(),
        None => unknown_webhook(&webhook_id),
    }
}
