//! `GET /v1/projects/{project_id}/apps/{app_id}/webhooks`.
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use super::{answered, authorize};
use crate::mock::server::Shared;
use crate::types::ListWebhooksResponse;

/// The app's webhooks in creation order; an app with none answers `{}`, as
/// Sinch omits the empty list.
pub(crate) async fn list_webhooks(
    State(shared): State<Arc<Shared>>,
    Path((project_id, app_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(refusal) = authorize(&shared, &headers, &project_id) {
        return refusal;
    }
    let stored = shared.lock().app(&project_id, &app_id).to_vec();
    let webhooks = stored.into_iter().map(|w| answered(&shared, w)).collect();
    axum::Json(ListWebhooksResponse { webhooks }).into_response()
}
