//! A scripted HTTP server on loopback for the client tests.
#![allow(dead_code)]

pub mod tls;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use sinch_conversation::{Client, RetryPolicy};

pub const SENTINEL: &str = "SENTINEL-SECRET-4f1c";

#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    /// The raw query string, as sent.
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Bytes,
}

#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
    pub delay: Duration,
}

pub fn reply(status: u16, body: &str) -> Reply {
    Reply {
        status,
        headers: vec![("content-type", "application/json".into())],
        body: body.to_owned(),
        delay: Duration::ZERO,
    }
}

#[derive(Default)]
pub struct Server {
    pub api: Mutex<Vec<Recorded>>,
    pub api_replies: Mutex<VecDeque<Reply>>,
    pub tokens: Mutex<Vec<Recorded>>,
    pub token_replies: Mutex<VecDeque<Reply>>,
    pub token_delay: Mutex<Duration>,
    pub issued: AtomicUsize,
}

impl Server {
    pub fn api_calls(&self) -> Vec<Recorded> {
        self.api.lock().unwrap().clone()
    }
    pub fn token_calls(&self) -> usize {
        self.tokens.lock().unwrap().len()
    }
    pub fn script_api(&self, replies: impl IntoIterator<Item = Reply>) {
        self.api_replies.lock().unwrap().extend(replies);
    }
    pub fn script_tokens(&self, replies: impl IntoIterator<Item = Reply>) {
        self.token_replies.lock().unwrap().extend(replies);
    }
}

fn respond(r: Reply) -> Response {
    let mut response = (StatusCode::from_u16(r.status).unwrap(), r.body).into_response();
    for (k, v) in r.headers {
        response.headers_mut().insert(k, v.parse().unwrap());
    }
    response
}

async fn api(
    State(s): State<Arc<Server>>,
    method: axum::http::Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    s.api.lock().unwrap().push(Recorded {
        method: method.to_string(),
        path: uri.path().to_owned(),
        query: uri.query().map(str::to_owned),
        headers,
        body: body.clone(),
    });
    let scripted = s.api_replies.lock().unwrap().pop_front();
    match scripted {
        Some(r) => {
            tokio::time::sleep(r.delay).await;
            respond(r)
        }
        // Echo the request as the created webhook, as Sinch does.
        None => {
            let mut v: serde_json::Value =
                serde_json::from_slice(&body).unwrap_or_else(|_| serde_json::json!({}));
            v["id"] = "01HZZZZZZZZZZZZZZZZZZZZZZZ".into();
            respond(reply(200, &v.to_string()))
        }
    }
}

async fn token(
    State(s): State<Arc<Server>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    s.tokens.lock().unwrap().push(Recorded {
        method: "POST".to_owned(),
        path: uri.path().to_owned(),
        query: uri.query().map(str::to_owned),
        headers,
        body,
    });
    let delay = *s.token_delay.lock().unwrap();
    tokio::time::sleep(delay).await;
    let scripted = s.token_replies.lock().unwrap().pop_front();
    match scripted {
        Some(r) => respond(r),
        None => {
            let n = s.issued.fetch_add(1, Ordering::SeqCst) + 1;
            respond(reply(
                200,
                &format!(
                    r#"{{"access_token":"tok-{n}","expires_in":3600,"token_type":"bearer","scope":""}}"#
                ),
            ))
        }
    }
}

pub async fn serve() -> (Arc<Server>, String) {
    let server = Arc::new(Server::default());
    let app = axum::Router::new()
        .route("/oauth2/token", axum::routing::post(token))
        .fallback(api)
        .with_state(server.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (server, url)
}

pub fn fast_retry() -> RetryPolicy {
    RetryPolicy::default()
        .base_delay(Duration::from_millis(1))
        .max_delay(Duration::from_secs(2))
}

/// A Basic-auth client for the scripted server. Ambiguous creates are not
/// looked up afterwards (a list would take the next scripted answer); that
/// recovery is tested against the stand-in (`tests/provisioning.rs`).
pub fn basic(url: &str) -> Client {
    Client::builder()
        .project_id("proj")
        .base_url(url)
        .basic_auth("kid", SENTINEL)
        .retry(fast_retry())
        .recover_ambiguous_creates(false)
        .build()
        .unwrap()
}

/// The same with OAuth2 against the scripted server's token route.
pub fn oauth(url: &str) -> Client {
    Client::builder()
        .project_id("proj")
        .base_url(url)
        .auth_base_url(url)
        .oauth2("kid", SENTINEL)
        .retry(fast_retry())
        .recover_ambiguous_creates(false)
        .build()
        .unwrap()
}

pub fn header<'a>(r: &'a Recorded, name: &str) -> &'a str {
    r.headers
        .get(name)
        .map(|v| v.to_str().unwrap())
        .unwrap_or("")
}

pub fn base64_of(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}

pub fn expired_401() -> Reply {
    let mut r = reply(401, "{}");
    r.headers.push((
        "www-authenticate",
        r#"Bearer error="invalid_token", error_description="Jwt expired at 2026-01-01T00:00:00Z""#
            .into(),
    ));
    r
}

/// Creates a webhook for app `A` with one trigger: the request most tests send.
pub async fn send_one(
    client: &Client,
    target: &str,
) -> Result<sinch_conversation::Webhook, sinch_conversation::Error> {
    client
        .create_webhook("A", target)
        .trigger("MESSAGE_INBOUND")
        .send()
        .await
}

/// `http://127.0.0.1:<port>` where nothing listens: a port bound and
/// released again.
pub fn unused_local_url() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap();
    format!("http://127.0.0.1:{port}")
}

/// Starts `sinch-mock` on a free loopback port with `args`, stdout piped:
/// the process, the rest of its stdout (the request log) and its base URL
/// (the first line).
pub fn spawn_sinch_mock(args: &[&str]) -> (std::process::Child, std::process::ChildStdout, String) {
    use std::io::BufRead as _;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_sinch-mock"))
        .args(["--addr", "127.0.0.1:0"])
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut reader = std::io::BufReader::new(stdout);
    let mut base_url = String::new();
    reader.read_line(&mut base_url).unwrap();
    (child, reader.into_inner(), base_url.trim().to_owned())
}
