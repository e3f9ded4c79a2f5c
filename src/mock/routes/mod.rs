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

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use serde::de::DeserializeOwned;

use super::server::{Shared, refuse_auth, shown, sinch_error};
use crate::generated::spec;
use crate::types::{CreateWebhookRequest, StoredClientCredentials, Webhook};
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
            format!(
                "The access key is not valid for project {:?}",
                shown(project_id)
            ),
            vec![],
        ));
    }
    if let Some(limiter) = shared.rate_limits.get(project_id)
        && let Err(not_until) = limiter.check()
    {
        use governor::clock::Clock as _;
        let wait = not_until.wait_time_from(limiter.clock().now());
        // Whole seconds, rounded up: at least 1.
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        let mut response = sinch_error(
            429,
            "Quota exceeded: too many requests per second for this project",
            vec![],
        );
        if let Ok(value) = axum::http::HeaderValue::from_str(&seconds.max(1).to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return Err(response);
    }
    Ok(())
}

/// A JSON body: the content type (`application/json`, parameters allowed),
/// the size limit (413) and the syntax checked, each refusal in Sinch's
/// format.
pub(crate) async fn json_body<T: DeserializeOwned>(
    shared: &Shared,
    headers: &HeaderMap,
    body: Body,
) -> Result<T, Response> {
    let body = limited_body(shared, body).await?;
    // No body at all reads as `{}`, as JSON gateways take it (Sinch's
    // Python SDK sends a mask-only update without one).
    if body.iter().all(u8::is_ascii_whitespace) {
        return serde_json::from_slice(b"{}").map_err(|e| {
            sinch_error(
                400,
                format!("Invalid JSON payload received: {}", shown(&e.to_string())),
                vec![],
            )
        });
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::trim);
    if !content_type.is_some_and(|c| c.eq_ignore_ascii_case("application/json")) {
        return Err(sinch_error(
            400,
            "Invalid request: Content-Type must be application/json",
            vec![],
        ));
    }
    serde_json::from_slice(&body).map_err(|e| {
        sinch_error(
            400,
            format!("Invalid JSON payload received: {}", shown(&e.to_string())),
            vec![],
        )
    })
}

/// The whole body, or 413 in Sinch's format beyond the size limit, or 408
/// when it takes longer than the body timeout.
pub(crate) async fn limited_body(shared: &Shared, body: Body) -> Result<Bytes, Response> {
    let read = axum::body::to_bytes(body, shared.max_body_bytes);
    let Ok(read) = tokio::time::timeout(shared.body_timeout, read).await else {
        return Err(sinch_error(
            408,
            "Invalid request: the body was not received in time",
            vec![],
        ));
    };
    read.map_err(|_| {
        sinch_error(
            413,
            format!(
                "Invalid request: the body is larger than {} bytes",
                shared.max_body_bytes
            ),
            vec![],
        )
    })
}

/// 400 listing the violations, as Sinch's `INVALID_ARGUMENT`: at most
/// [`MAX_DETAILS`] of them, each cut short, so that a large request cannot
/// make a large answer.
pub(crate) fn invalid(errors: &ValidationErrors) -> Response {
    let violations = errors.violations();
    let mut details: Vec<String> = violations
        .iter()
        .take(MAX_DETAILS)
        .map(|v| shown(&v.to_string()))
        .collect();
    if violations.len() > MAX_DETAILS {
        details.push(format!("… and {} more", violations.len() - MAX_DETAILS));
    }
    sinch_error(
        400,
        format!("Invalid argument: {}", details.join("; ")),
        details,
    )
}

/// The longest id (project, app or webhook) the stand-in accepts, in bytes.
/// Sinch documents no limit (its app and webhook ids are 26-character
/// ULIDs, project ids 36-character UUIDs); this one is the stand-in's: long
/// enough for any id a test makes up, short enough that ids, which are kept
/// in several places, cannot bloat it.
pub const MAX_ID_BYTES: usize = 128;

/// 400 for an id longer than [`MAX_ID_BYTES`].
fn long_id(what: &str, id_bytes: usize) -> Response {
    sinch_error(
        400,
        format!(
            "Invalid argument: {what} is {id_bytes} bytes long; the stand-in accepts ids of at most {MAX_ID_BYTES}"
        ),
        vec![format!("{what}: too long")],
    )
}

/// A create's `app_id` longer than [`MAX_ID_BYTES`]: refused.
pub(crate) fn refuse_long_app_id(app_id: &str) -> Result<(), Response> {
    if app_id.len() > MAX_ID_BYTES {
        return Err(long_id("app_id", app_id.len()));
    }
    Ok(())
}

/// Refuses a path whose segments (the ids in it, decoded) are longer than
/// [`MAX_ID_BYTES`], before any route reads them.
pub(crate) async fn refuse_long_ids(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let longest = request
        .uri()
        .path()
        .split('/')
        // Percent-escapes decode to one byte each.
        .map(|segment| segment.len() - 2 * segment.matches('%').count().min(segment.len() / 3))
        .max()
        .unwrap_or(0);
    if longest > MAX_ID_BYTES {
        return long_id("a path segment", longest);
    }
    next.run(request).await
}

/// Violations listed in one answer.
const MAX_DETAILS: usize = 10;

/// 404 for a webhook id the project does not have.
pub(crate) fn unknown_webhook(webhook_id: &str) -> Response {
    sinch_error(
        404,
        format!(
            "Webhook {:?} not found in this project (check the id and the region)",
            shown(webhook_id)
        ),
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

/// A webhook as answered: without its secrets when the stand-in is told to
/// omit them ([`MockServerBuilder::omit_secrets`](crate::mock::MockServerBuilder::omit_secrets)).
pub(crate) fn answered(shared: &Shared, mut webhook: Webhook) -> Webhook {
    if shared.omit_secrets {
        webhook.secret = None;
        if let Some(cc) = &mut webhook.client_credentials {
            cc.client_secret = None;
        }
    }
    webhook
}

/// What Sinch stores: the id, and its defaults for what was omitted or not
/// recognised.
pub(crate) fn stored_webhook(request: CreateWebhookRequest, id: String) -> Webhook {
    let client_credentials = request.client_credentials.map(|cc| {
        let mut stored = StoredClientCredentials::from(cc);
        stored.token_request_type = stored.token_request_type.map(|t| {
            if t.is_known() {
                t
            } else {
                TokenRequestType::from(spec::TOKEN_REQUEST_TYPE_SERVER_DEFAULT)
            }
        });
        stored
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
