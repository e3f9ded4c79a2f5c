//! `POST /v1/projects/{project_id}/webhooks`.
use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Response};

use super::{answered, authorize, duplicate_target, invalid, json_body, stored_webhook};
use crate::mock::server::{Shared, shown, sinch_error};
use crate::mock::state::{MAX_WEBHOOKS_PER_APP, new_id};
use crate::validate::{self, NewWebhook, Policy};

pub(crate) async fn create_webhook(
    State(shared): State<Arc<Shared>>,
    Path(project_id): Path<String>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    if let Err(refusal) = authorize(&shared, &parts.headers, &project_id) {
        return refusal;
    }
    let input: NewWebhook = match json_body(&shared, &parts.headers, body).await {
        Ok(input) => input,
        Err(refusal) => return refusal,
    };
    // The same validation the client runs, with the server's policy.
    let request =
        match validate::check(&input, Policy::Server).and_then(|()| validate::to_request(input)) {
            Ok(request) => request,
            Err(errors) => return invalid(&errors),
        };
    if let Err(refusal) = super::refuse_long_app_id(&request.app_id) {
        return refusal;
    }
    let webhook = stored_webhook(request, new_id());
    let app_id = webhook.app_id.clone().unwrap_or_default();
    let mut state = shared.lock();
    let app = state.app_mut(&project_id, &app_id);
    if app.len() >= MAX_WEBHOOKS_PER_APP {
        return sinch_error(
            400,
            format!(
                "Invalid argument: app {:?} already has the maximum of {MAX_WEBHOOKS_PER_APP} webhooks",
                shown(&app_id)
            ),
            vec![],
        );
    }
    // The same target as a URL (`TargetUrl::identity`), as ensure and sync
    // compare them.
    if app.iter().any(|w| w.target.same_as(&webhook.target)) {
        return duplicate_target();
    }
    state.insert(&project_id, webhook.clone());
    drop(state);
    axum::Json(answered(&shared, webhook)).into_response()
}
