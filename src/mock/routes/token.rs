//! `POST /oauth2/token`: client credentials with HTTP Basic.
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::mock::server::{Shared, is_the_key};

pub(crate) async fn token(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let headers = parts.headers;
    if !is_the_key(&shared, &headers) {
        let body = serde_json::json!({"error": "invalid_client", "error_description": "Bad client credentials"});
        return (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
    }
    let body = match super::limited_body(&shared, body).await {
        Ok(body) => body,
        Err(refusal) => return refusal,
    };
    let grant = form_urlencoded_value(&body, "grant_type");
    if grant.as_deref() != Some("client_credentials") {
        let body = serde_json::json!({
            "error": "unsupported_grant_type",
            "error_description": "grant_type must be client_credentials",
        });
        return (StatusCode::BAD_REQUEST, axum::Json(body)).into_response();
    }
    let (access_token, expires_in) = shared.lock().issue_token(&shared.key_id);
    axum::Json(serde_json::json!({
        "access_token": access_token,
        "expires_in": expires_in,
        "token_type": "bearer",
        "scope": "",
    }))
    .into_response()
}

fn form_urlencoded_value(body: &[u8], key: &str) -> Option<String> {
    url::form_urlencoded::parse(body)
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}
