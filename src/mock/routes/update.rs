//! `PATCH /v1/projects/{project_id}/webhooks/{webhook_id}?update_mask=a,b`.
use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::{
    answered, authorize, duplicate_target, invalid, json_body, stored_webhook, unknown_webhook,
};
use crate::generated::spec;
use crate::mock::server::{Shared, shown, sinch_error};
use crate::types::Webhook;
use crate::validate::{self, NewClientCredentials, NewWebhook, Policy};

/// Applies the masked fields, as Sinch does: a masked field missing from the
/// body is cleared; without a mask, the fields present in the body are
/// applied. The mask may be one comma-separated parameter or repeated
/// parameters. The result must pass the create rules (400 otherwise, also
/// for a target another webhook of the app has), and an unknown field in the
/// mask is a 400.
pub(crate) async fn update_webhook(
    State(shared): State<Arc<Shared>>,
    Path((project_id, webhook_id)): Path<(String, String)>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    if let Err(refusal) = authorize(&shared, &parts.headers, &project_id) {
        return refusal;
    }
    let body: Map<String, Value> = match json_body(&shared, &parts.headers, body).await {
        Ok(body) => body,
        Err(refusal) => return refusal,
    };
    let mask = match update_mask(parts.uri.query()) {
        Some(mask) => mask,
        None => body
            .keys()
            .filter(|k| spec::WEBHOOK_UPDATE_PROPERTIES.contains(&k.as_str()))
            .cloned()
            .collect(),
    };
    if let Some(unknown) = mask
        .iter()
        .find(|m| !spec::WEBHOOK_UPDATE_PROPERTIES.contains(&m.as_str()))
    {
        return sinch_error(
            400,
            format!(
                "Invalid argument: update_mask names {:?}, which is not an updatable field ({})",
                shown(unknown),
                spec::WEBHOOK_UPDATE_PROPERTIES.join(", ")
            ),
            vec![format!("update_mask: {}", shown(unknown))],
        );
    }
    let Some(current) = shared.lock().get(&project_id, &webhook_id).cloned() else {
        return unknown_webhook(&webhook_id);
    };
    let merged = match apply(current, &mask, &body) {
        Ok(merged) => merged,
        Err(refusal) => return refusal,
    };
    let request = match validate::check(&merged, Policy::Server)
        .and_then(|()| validate::to_request(merged))
    {
        Ok(request) => request,
        Err(errors) => return invalid(&errors),
    };
    let updated = stored_webhook(request, webhook_id.clone());
    let mut state = shared.lock();
    let app_id = updated.app_id.as_deref().unwrap_or_default();
    let duplicate = state
        .app(&project_id, app_id)
        .iter()
        .any(|w| w.id != updated.id && w.target.same_as(&updated.target));
    if duplicate {
        return duplicate_target();
    }
    // False when it was deleted while the lock was released.
    if !state.replace(&project_id, updated.clone()) {
        return unknown_webhook(&webhook_id);
    }
    drop(state);
    axum::Json(answered(&shared, updated)).into_response()
}

/// The field names of every `update_mask` parameter, commas split, or
/// `None` when there is none.
fn update_mask(query: Option<&str>) -> Option<Vec<String>> {
    let mut found = false;
    let mut names = Vec::new();
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        if key == "update_mask" {
            found = true;
            names.extend(
                value
                    .split(',')
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                    .map(str::to_owned),
            );
        }
    }
    found.then_some(names)
}

/// The stored webhook with the masked fields taken from `body` (cleared
/// when absent or null).
fn apply(
    current: Webhook,
    mask: &[String],
    body: &Map<String, Value>,
) -> Result<NewWebhook, Response> {
    let mut webhook = NewWebhook {
        app_id: current.app_id.unwrap_or_default(),
        target: current.target,
        target_type: current.target_type,
        triggers: current.triggers,
        secret: current.secret,
        client_credentials: current.client_credentials.map(|cc| {
            let mut new = NewClientCredentials::new(
                cc.client_id,
                cc.client_secret.unwrap_or_default(),
                cc.endpoint,
            );
            new.scope = cc.scope.map(String::from);
            new.response_type = cc.response_type.map(String::from);
            new.token_request_type = cc.token_request_type;
            new
        }),
    };
    for name in mask {
        match name.as_str() {
            "target" => webhook.target = field(body, name)?.unwrap_or_default(),
            "target_type" => webhook.target_type = field(body, name)?,
            "triggers" => webhook.triggers = field(body, name)?.unwrap_or_default(),
            "secret" => webhook.secret = field(body, name)?,
            "client_credentials" => webhook.client_credentials = field(body, name)?,
            _ => {}
        }
    }
    Ok(webhook)
}

fn field<T: DeserializeOwned>(
    body: &Map<String, Value>,
    name: &str,
) -> Result<Option<T>, Response> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => T::deserialize(value).map(Some).map_err(|e| {
            sinch_error(
                400,
                format!(
                    "Invalid JSON payload received: {name}: {}",
                    shown(&e.to_string())
                ),
                vec![],
            )
        }),
    }
}
