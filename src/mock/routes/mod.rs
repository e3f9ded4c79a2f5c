//! The stand-in's routes, one file each, and what they share: auth and
//! project checks, reading a JSON body, Sinch's answers for invalid input
//! and unknown webhooks, and what Sinch stores.
// A refusal is the answer itself (`Err(Response)`), returned once per
// request on the stand-in: boxing it would buy nothing.
#![allow(clippy::result_large_err)]
pub(crate) mod create;
pub(crate) mod delete;
pub(crate) mod events;
pub(crate) mod get;
pub(crate) mod list;
pub(crate) mod token;
pub(crate) mod update;

use axum::body::Body;
use axum::http::{HeaderMap, header};
use axum::response::Response;
use serde::de::DeserializeOwned;

use super::server::{Shared, refuse_auth, sinch_error};
use crate::generated::spec;
use crate::types::{ClientCredentials, CreateWebhookRequest, Webhook};
use crate::validate::ValidationErrors;
use crate::{TokenRequestType, WebhookTargetType};

/// What every API route checks first: the credentials, then that the key is
/// valid for the project (403 otherwise, as Sinch answers).
pub(crate) fn authorize(
    shared: &Shared,
    headers: &HeaderMap,
    project_id: &str,
) -> Result<(), Response> {
    if let Some(response) = refuse_auth(shared, headers) {
        return Err(response);
    }
    if !shared.serves(project_id) {
        return Err(sinch_error(
            403,
            format!("The access key is not valid for project {project_id:?}"),
            vec![],
        ));
    }
    Ok(())
}

/// A JSON body: the content type, the size limit and the syntax checked,
/// each refusal a 400 in Sinch's format.
pub(crate) async fn json_body<T: DeserializeOwned>(
    shared: &Shared,
    headers: &HeaderMap,
    body: Body,
) -> Result<T, Response> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    if !content_type.is_some_and(|c| {
        c.trim_start()
            .to_ascii_lowercase()
            .starts_with("application/json")
    }) {
        return Err(sinch_error(
            400,
            "Invalid request: Content-Type must be application/json",
            vec![],
        ));
    }
    let Ok(body) = axum::body::to_bytes(body, shared.max_body_bytes).await else {
        return Err(sinch_error(
            400,
            format!(
                "Invalid request: the body is larger than {} bytes",
                shared.max_body_bytes
            ),
            vec![],
        ));
    };
    serde_json::from_slice(&body)
        .map_err(|e| sinch_error(400, format!("Invalid JSON payload received: {e}"), vec![]))
}

/// 400 listing every violation, as Sinch's `INVALID_ARGUMENT`.
pub(crate) fn invalid(errors: &ValidationErrors) -> Response {
    let details: Vec<String> = errors
        .violations()
        .iter()
        .map(ToString::to_string)
        .collect();
    sinch_error(
        400,
        format!("Invalid argument: {}", details.join("; ")),
        details,
    )
}

/// 404 for a webhook id the project does not have.
pub(crate) fn unknown_webhook(webhook_id: &str) -> Response {
    sinch_error(
        404,
        format!("Webhook {webhook_id:?} not found in this project (check the id and the region)"),
        vec![],
    )
}

/// 400 for a second webhook with the same target on one app.
pub(crate) fn duplicate_target() -> Response {
    sinch_error(
        400,
        "Invalid argument: a webhook with this target already exists for the app",
        vec!["target: duplicate".to_owned()],
    )
}

/// What Sinch stores: the id, and its defaults for what was omitted or not
/// recognised.
pub(crate) fn stored_webhook(request: CreateWebhookRequest, id: String) -> Webhook {
    let client_credentials = request.client_credentials.map(|cc| ClientCredentials {
        token_request_type: cc.token_request_type.map(|t| {
            if t.is_known() {
                t
            } else {
                TokenRequestType::from(spec::TOKEN_REQUEST_TYPE_SERVER_DEFAULT)
            }
        }),
        ..cc
    });
    Webhook {
        app_id: Some(request.app_id),
        client_credentials,
        id: Some(id),
        secret: request.secret,
        target: request.target,
        target_type: Some(
            request.target_type.unwrap_or_else(|| {
                WebhookTargetType::from(spec::WEBHOOK_TARGET_TYPE_SERVER_DEFAULT)
            }),
        ),
        triggers: request.triggers,
    }
}
