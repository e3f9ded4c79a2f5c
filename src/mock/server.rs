//! The stand-in's HTTP plumbing: the router, Sinch's error format, auth,
//! fault injection and the request log. Each route's handler is in
//! `routes/`, in a file named for it.
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Instant, SystemTime};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;

use super::Fault;
use super::routes;
use super::state::{LoggedRequest, State as MockState};
use crate::secret::Secret;

pub(crate) type OnRequest = Arc<dyn Fn(&LoggedRequest) + Send + Sync>;

pub(crate) struct Shared {
    pub(crate) project_id: String,
    /// More projects the key is valid for.
    pub(crate) other_projects: Vec<String>,
    /// Per project, when a rate limit is set.
    pub(crate) rate_limits: std::collections::HashMap<String, governor::DefaultDirectRateLimiter>,
    pub(crate) key_id: String,
    pub(crate) key_secret: Secret,
    pub(crate) max_body_bytes: usize,
    pub(crate) body_timeout: std::time::Duration,
    pub(crate) allow_external_deliveries: bool,
    /// Answer webhooks without their secrets.
    pub(crate) omit_secrets: bool,
    pub(crate) http: reqwest::Client,
    /// Retries and copies of deliveries.
    pub(crate) delivery: super::deliver::DeliveryOptions,
    /// Shuffles each batch of callbacks, when set (seeded: reproducible).
    pub(crate) delivery_order: Option<Mutex<fastrand::Rng>>,
    /// Callbacks per second per app, when limited.
    pub(crate) callback_rate: Option<governor::DefaultKeyedRateLimiter<String>>,
    /// OAuth2 tokens for webhooks' `client_credentials`.
    pub(crate) tokens: super::deliver::TokenCache,
    /// Where the stand-in listens: never a delivery target.
    pub(crate) own_addr: std::net::SocketAddr,
    /// Fires when the stand-in stops: pending retries are dropped.
    pub(crate) stopped: tokio::sync::watch::Receiver<bool>,
    pub(crate) state: Mutex<MockState>,
    pub(crate) on_request: Option<OnRequest>,
}

impl Shared {
    /// Whether the key is valid for `project_id`.
    pub(crate) fn serves(&self, project_id: &str) -> bool {
        project_id == self.project_id || self.other_projects.iter().any(|p| p == project_id)
    }

    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, MockState> {
        // A panicking test thread must not take the stand-in down with it.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    use axum::routing::{get, post};
    Router::new()
        .route("/oauth2/token", post(routes::token::token))
        .route(
            "/v1/projects/{project_id}/webhooks",
            post(routes::create::create_webhook),
        )
        .route(
            "/v1/projects/{project_id}/apps/{app_id}/webhooks",
            get(routes::list::list_webhooks),
        )
        .route(
            "/v1/projects/{project_id}/webhooks/{webhook_id}",
            get(routes::get::get_webhook)
                .patch(routes::update::update_webhook)
                .delete(routes::delete::delete_webhook),
        )
        .route(
            "/_mock/projects/{project_id}/apps/{app_id}/events",
            post(routes::events::inject_event),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(not_found)
        .layer(middleware::from_fn(routes::refuse_long_ids))
        .layer(middleware::from_fn_with_state(shared.clone(), observe))
        .with_state(shared)
}

/// Caller-supplied text quoted in an error: at most 120 characters, so a
/// large request cannot make a large error.
pub(crate) fn shown(text: &str) -> String {
    const MAX: usize = 120;
    match text.char_indices().nth(MAX) {
        Some((end, _)) => format!("{}… ({} bytes)", &text[..end], text.len()),
        None => text.to_owned(),
    }
}

/// google.rpc.Code name for an HTTP status.
fn rpc_status(status: u16) -> &'static str {
    match status {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        408 => "DEADLINE_EXCEEDED",
        409 => "ALREADY_EXISTS",
        413 => "INVALID_ARGUMENT",
        429 => "RESOURCE_EXHAUSTED",
        500 => "INTERNAL",
        501 => "UNIMPLEMENTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        _ => "UNKNOWN",
    }
}

/// `{"error": {"code", "message", "status", "details"}}`, as Sinch answers.
pub(crate) fn sinch_error(
    status: u16,
    message: impl Into<String>,
    details: Vec<String>,
) -> Response {
    let details: Vec<serde_json::Value> = details
        .into_iter()
        .map(|value| {
            serde_json::json!({
                "type_url": "type.googleapis.com/google.rpc.BadRequest",
                "value": value,
            })
        })
        .collect();
    let body = serde_json::json!({
        "error": {
            "code": status,
            "message": message.into(),
            "status": rpc_status(status),
            "details": details,
        }
    });
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, axum::Json(body)).into_response()
}

fn auth_kind(headers: &HeaderMap) -> &'static str {
    match headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        Some(v) if v.len() > 6 && v[..6].eq_ignore_ascii_case("basic ") => "basic",
        Some(v) if v.len() > 7 && v[..7].eq_ignore_ascii_case("bearer ") => "bearer",
        _ => "none",
    }
}

/// Applies a pending fault, then logs the request.
async fn observe(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    // Cut short: the log is capped by entries, so entries must be small.
    let path = shown(request.uri().path());
    let query = request.uri().query().map(shown);
    let auth = auth_kind(request.headers());
    let fault = shared.lock().faults.pop_front();
    let (response, status) = match fault {
        Some(Fault::Status {
            status,
            retry_after,
        }) => {
            let mut response =
                sinch_error(status, "injected by the stand-in (fault injection)", vec![]);
            if let Some(wait) = retry_after
                && let Ok(value) = HeaderValue::from_str(&wait.as_secs().to_string())
            {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            (response, status)
        }
        Some(Fault::DropConnection) => (broken(), 0),
        Some(Fault::StatusAfterApplying { status }) => {
            drop(next.run(request).await);
            let response = sinch_error(
                status,
                "injected by the stand-in after applying the request (fault injection)",
                vec![],
            );
            (response, status)
        }
        Some(Fault::DropAfterApplying) => {
            drop(next.run(request).await);
            (broken(), 0)
        }
        Some(Fault::Delay(wait)) => {
            tokio::time::sleep(wait).await;
            let response = next.run(request).await;
            let status = response.status().as_u16();
            (response, status)
        }
        None => {
            let response = next.run(request).await;
            let status = response.status().as_u16();
            (response, status)
        }
    };
    let entry = LoggedRequest {
        method,
        path,
        query,
        status,
        auth,
        duration: started.elapsed(),
    };
    if let Some(hook) = &shared.on_request {
        hook(&entry);
    }
    shared.lock().record(entry);
    response
}

/// Headers go out, then the body fails: hyper aborts the connection.
fn broken() -> Response {
    Response::new(Body::from_stream(Broken))
}

/// A body stream that fails at once.
struct Broken;

impl futures_core::Stream for Broken {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(self: std::pin::Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Poll::Ready(Some(Err(std::io::Error::other(
            "connection dropped by fault injection",
        ))))
    }
}

async fn not_found(request: Request) -> Response {
    sinch_error(
        404,
        format!(
            "{} {} is not a Conversation API route",
            request.method(),
            shown(request.uri().path())
        ),
        vec![],
    )
}

/// More than one `Authorization` header: which one counts is anybody's
/// guess (proxies and servers disagree), so none does.
pub(crate) fn has_two_authorizations(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::AUTHORIZATION)
        .iter()
        .nth(1)
        .is_some()
}

/// `id:secret` from `Authorization: Basic …`.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value
        .get(6..)
        .filter(|_| value[..6].eq_ignore_ascii_case("basic "))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

pub(crate) fn is_the_key(shared: &Shared, headers: &HeaderMap) -> bool {
    !has_two_authorizations(headers)
        && basic_credentials(headers)
            .is_some_and(|(id, secret)| id == shared.key_id && secret == shared.key_secret.expose())
}

/// Basic with the configured key, or a Bearer token this stand-in issued and
/// that has not expired. `Some(refusal)` otherwise.
pub(crate) fn refuse_auth(shared: &Shared, headers: &HeaderMap) -> Option<Response> {
    if has_two_authorizations(headers) {
        return Some(sinch_error(
            401,
            "Request had invalid authentication credentials: more than one Authorization header",
            vec![],
        ));
    }
    match auth_kind(headers) {
        "basic" if is_the_key(shared, headers) => None,
        "bearer" => {
            let token = headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.get(7..))
                .unwrap_or_default();
            let expires = shared.lock().tokens.get(token).copied();
            match expires {
                Some(expires) if SystemTime::now() < expires => None,
                Some(expires) => {
                    let at = expires
                        .duration_since(SystemTime::UNIX_EPOCH)
                        .map_or(0, |d| d.as_secs());
                    let mut response = sinch_error(
                        401,
                        "Request had invalid authentication credentials: the token expired",
                        vec![],
                    );
                    let challenge = format!(
                        "Bearer error=\"invalid_token\", error_description=\"Jwt expired at {at} (unix seconds)\""
                    );
                    if let Ok(value) = HeaderValue::from_str(&challenge) {
                        response
                            .headers_mut()
                            .insert(header::WWW_AUTHENTICATE, value);
                    }
                    Some(response)
                }
                None => Some(sinch_error(
                    401,
                    "Request had invalid authentication credentials: unknown token",
                    vec![],
                )),
            }
        }
        _ => Some(sinch_error(
            401,
            "Request had invalid authentication credentials: expected Basic with the access key, or a Bearer token",
            vec![],
        )),
    }
}
