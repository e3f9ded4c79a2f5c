//! `DELETE /v1/projects/{project_id}/webhooks/{webhook_id}`.
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use super::{authorize, unknown_webhook};
use crate::mock::server::Shared;

/// Deletes the webhook and answers 200 `{}`, as Sinch does; the app's slot
/// is free again. 404 when the project has no webhook with that id.
pub(crate) async fn delete_webhook(
    State(shared): State<Arc<Shared>>,
    Path((project_id, webhook_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(refusal) = authorize(&shared, &headers, &project_id) {
        return refusal;
    }
    let removed = shared.lock().remove(&project_id, &webhook_id);
    match removed {
        Some(_) => axum::Json(serde_json::json!({})).into_response(),
        None => unknown_webhook(&webhook_id),
    }
}
