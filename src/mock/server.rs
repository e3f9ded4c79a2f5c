//! The stand-in's HTTP handlers: Sinch's answers, in Sinch's error format.
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Instant, SystemTime};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;

use super::Fault;
use super::state::{LoggedRequest, MAX_WEBHOOKS_PER_APP, State as MockState};
use crate::generated::spec;
use crate::secret::Secret;
use crate::types::{ClientCredentials, CreateWebhookRequest, Webhook};
use crate::validate::{self, NewWebhook, Policy};
use crate::{TokenRequestType, WebhookTargetType};

pub(crate) type OnRequest = Arc<dyn Fn(&LoggedRequest) + Send + Sync>;

pub(crate) struct Shared {
    pub(crate) project_id: String,
    pub(crate) key_id: String,
    pub(crate) key_secret: Secret,
    pub(crate) max_body_bytes: usize,
    pub(crate) allow_external_deliveries: bool,
    pub(crate) http: reqwest::Client,
    pub(crate) state: Mutex<MockState>,
    pub(crate) on_request: Option<OnRequest>,
}

impl Shared {
    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, MockState> {
        // A panicking test thread must not take the stand-in down with it.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/oauth2/token", axum::routing::post(token))
        .route(
            "/v1/projects/{project_id}/webhooks",
            axum::routing::post(create_webhook),
        )
        .route(
            "/_mock/projects/{project_id}/apps/{app_id}/events",
            axum::routing::post(inject_event),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(not_found)
        .layer(middleware::from_fn_with_state(shared.clone(), observe))
        .with_state(shared)
}

/// google.rpc.Code name for an HTTP status.
fn rpc_status(status: u16) -> &'static str {
    match status {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ALREADY_EXISTS",
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
    let path = request.uri().path().to_owned();
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
        Some(Fault::DropConnection) => {
            // Headers go out, then the body fails: hyper aborts the connection.
            let response = Response::new(Body::from_stream(Broken));
            (response, 0)
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
            request.uri().path()
        ),
        vec![],
    )
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

fn is_the_key(shared: &Shared, headers: &HeaderMap) -> bool {
    basic_credentials(headers)
        .is_some_and(|(id, secret)| id == shared.key_id && secret == shared.key_secret.expose())
}

async fn token(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    if !is_the_key(&shared, &headers) {
        let body = serde_json::json!({"error": "invalid_client", "error_description": "Bad client credentials"});
        return (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
    }
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

/// Basic with the configured key, or a Bearer token this stand-in issued and
/// that has not expired. `Some(refusal)` otherwise.
fn refuse_auth(shared: &Shared, headers: &HeaderMap) -> Option<Response> {
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

async fn create_webhook(
    State(shared): State<Arc<Shared>>,
    Path(project_id): Path<String>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    if let Some(response) = refuse_auth(&shared, &parts.headers) {
        return response;
    }
    if project_id != shared.project_id {
        return sinch_error(
            403,
            format!("The access key is not valid for project {project_id:?}"),
            vec![],
        );
    }
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    if !content_type.is_some_and(|c| {
        c.trim_start()
            .to_ascii_lowercase()
            .starts_with("application/json")
    }) {
        return sinch_error(
            400,
            "Invalid request: Content-Type must be application/json",
            vec![],
        );
    }
    let Ok(body) = axum::body::to_bytes(body, shared.max_body_bytes).await else {
        return sinch_error(
            400,
            format!(
                "Invalid request: the body is larger than {} bytes",
                shared.max_body_bytes
            ),
            vec![],
        );
    };
    let input: NewWebhook = match serde_json::from_slice(&body) {
        Ok(input) => input,
        Err(e) => return sinch_error(400, format!("Invalid JSON payload received: {e}"), vec![]),
    };
    // The same validation the client runs, with the server's policy.
    let request =
        match validate::check(&input, Policy::Server).and_then(|()| validate::to_request(input)) {
            Ok(request) => request,
            Err(errors) => {
                let details: Vec<String> = errors
                    .violations()
                    .iter()
                    .map(ToString::to_string)
                    .collect();
                return sinch_error(
                    400,
                    format!("Invalid argument: {}", details.join("; ")),
                    details,
                );
            }
        };
    let webhook = stored_webhook(request);
    let mut state = shared.lock();
    let app = state.app_mut(webhook.app_id.as_deref().unwrap_or_default());
    if app.len() >= MAX_WEBHOOKS_PER_APP {
        return sinch_error(
            400,
            format!(
                "Invalid argument: app {:?} already has the maximum of {MAX_WEBHOOKS_PER_APP} webhooks",
                webhook.app_id.as_deref().unwrap_or_default()
            ),
            vec![],
        );
    }
    if app.iter().any(|w| w.target == webhook.target) {
        return sinch_error(
            400,
            "Invalid argument: a webhook with this target already exists for the app",
            vec!["target: duplicate".to_owned()],
        );
    }
    app.push(webhook.clone());
    drop(state);
    axum::Json(webhook).into_response()
}

/// What Sinch stores: an id, and its defaults for what was omitted or not
/// recognised.
fn stored_webhook(request: CreateWebhookRequest) -> Webhook {
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
        id: Some(super::state::new_id()),
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

#[derive(serde::Deserialize)]
struct InjectedEvent {
    trigger: crate::WebhookTrigger,
    #[serde(default)]
    payload: serde_json::Value,
}

/// Admin route: deliver an event to the app's webhooks and answer the
/// outcomes. No auth: the stand-in is a local test tool.
async fn inject_event(
    State(shared): State<Arc<Shared>>,
    Path((project_id, app_id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    if project_id != shared.project_id {
        return sinch_error(404, format!("unknown project {project_id:?}"), vec![]);
    }
    let event: InjectedEvent = match serde_json::from_slice(&body) {
        Ok(event) => event,
        Err(e) => {
            return sinch_error(
                400,
                format!("expected {{\"trigger\": \"MESSAGE_INBOUND\", \"payload\": {{...}}}}: {e}"),
                vec![],
            );
        }
    };
    let deliveries = super::deliver::deliver(&shared, &app_id, &event.trigger, event.payload).await;
    axum::Json(serde_json::json!({ "deliveries": deliveries })).into_response()
}
