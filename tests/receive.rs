//! Receiving with axum: the `SinchCallback` extractor's answers, duplicates
//! and replays, the bearer check, and a secret rotated while the stand-in
//! delivers without a pause.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use axum::Router;
use axum::extract::FromRef;
use axum::http::{StatusCode, header};
use axum::routing::post;
use sinch_conversation::callbacks::Signer;
use sinch_conversation::dedup::{
    ClaimOutcome, ClaimRequest, DedupError, Deduplicator, MemoryDeduplicator, Settle, StoreFuture,
};
use sinch_conversation::mock::{DeliveryOutcome, MockServer};
use sinch_conversation::receive::{CallbackLayer, Receiver, SinchCallback, signed_request};
use tower::ServiceExt as _;

const BODY: &str = r#"{"app_id":"a","project_id":"p","message":{"id":"M1","contact_message":{"text_message":{"text":"hi"}}}}"#;

/// Answers `200 new <key>`; 500 when the body's text says "fail".
async fn on_callback(callback: SinchCallback) -> (StatusCode, String) {
    if format!("{:?}", callback.event).contains("fail") {
        return (StatusCode::INTERNAL_SERVER_ERROR, String::new());
    }
    (
        StatusCode::OK,
        format!("new {}", callback.idempotency_key()),
    )
}

fn app(receiver: Receiver) -> Router {
    Router::new()
        .route("/sinch", post(on_callback))
        .layer(CallbackLayer::new())
        .with_state(receiver)
}

async fn send(
    app: &Router,
    request: axum::http::Request<axum::body::Body>,
) -> (StatusCode, String) {
    let answer = app.clone().oneshot(request).await.unwrap();
    let status = answer.status();
    let body = axum::body::to_bytes(answer.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn the_extractor_answers_401_400_413_and_passes_the_event() {
    let app = app(Receiver::new(["s3cret-value"]).max_body_bytes(4096));
    assert_eq!(
        send(&app, signed_request("/sinch", "s3cret-value", BODY)).await,
        (StatusCode::OK, "new p/a/MESSAGE_INBOUND:M1".to_owned())
    );
    let (status, reason) = send(&app, signed_request("/sinch", "wrong", BODY)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(reason, "callback refused: signature does not match\n");
    assert!(!reason.contains("s3cret"));
    let mut unsigned = signed_request("/sinch", "s3cret-value", BODY);
    unsigned.headers_mut().remove("x-sinch-webhook-signature");
    assert_eq!(send(&app, unsigned).await.0, StatusCode::UNAUTHORIZED);
    let (status, reason) = send(&app, signed_request("/sinch", "s3cret-value", "[1,2]")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(reason.starts_with("not a Sinch callback event"), "{reason}");
    let big = format!(
        r#"{{"app_id":"a","project_id":"p","message":{{"id":"{}"}}}}"#,
        "x".repeat(5000)
    );
    let (status, reason) = send(&app, signed_request("/sinch", "s3cret-value", big.clone())).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(reason, "callback body larger than 4096 bytes\n");
    // Without a Content-Length header, the cap holds too.
    let mut undeclared = signed_request("/sinch", "s3cret-value", big);
    undeclared.headers_mut().remove(header::CONTENT_LENGTH);
    assert_eq!(
        send(&app, undeclared).await.0,
        StatusCode::PAYLOAD_TOO_LARGE
    );
}

#[tokio::test]
async fn repeats_are_answered_200_replays_refused_and_failed_events_handled_again() {
    let store = Arc::new(MemoryDeduplicator::new(1000, Duration::from_secs(3600)));
    let app = app(Receiver::new(["s"])
        .deduplicate(store.clone())
        .refuse_replays());
    // The same event, signed afresh (a retry): 200, the handler not run.
    assert_eq!(
        send(&app, signed_request("/sinch", "s", BODY)).await.1,
        "new p/a/MESSAGE_INBOUND:M1"
    );
    assert_eq!(
        send(&app, signed_request("/sinch", "s", BODY)).await,
        (
            StatusCode::OK,
            "already handled: p/a/MESSAGE_INBOUND:M1\n".to_owned()
        )
    );
    // The very same request again (same nonce): a replay, refused.
    let request = signed_request("/sinch", "s", BODY);
    let copy = {
        let mut copy = signed_request("/sinch", "s", BODY);
        *copy.headers_mut() = request.headers().clone();
        copy
    };
    let other = BODY.replace("M1", "M2");
    let first = send(&app, signed_request("/sinch", "s", other.clone())).await;
    assert_eq!(first.1, "new p/a/MESSAGE_INBOUND:M2");
    let _ = send(&app, request).await;
    let (status, reason) = send(&app, copy).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(reason.contains("replay"), "{reason}");
    // Handling failed (500): released, so the retry is handled again.
    let failing = BODY.replace("M1", "M3").replace("hi", "fail");
    for _ in 0..2 {
        assert_eq!(
            send(&app, signed_request("/sinch", "s", failing.clone()))
                .await
                .0,
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
    assert!(store.len() <= 1000);
}

#[tokio::test]
async fn replays_are_refused_without_a_store_too() {
    let app = app(Receiver::new(["s"]).refuse_replays());
    let request = signed_request("/sinch", "s", BODY);
    let mut copy = signed_request("/sinch", "s", BODY);
    *copy.headers_mut() = request.headers().clone();
    assert_eq!(send(&app, request).await.0, StatusCode::OK);
    assert_eq!(send(&app, copy).await.0, StatusCode::UNAUTHORIZED);
    // Without a store, copies are handed over (nothing to deduplicate on).
    assert_eq!(
        send(&app, signed_request("/sinch", "s", BODY)).await.0,
        StatusCode::OK
    );
}

/// A store that cannot answer.
struct Down;

fn down<T: Send + 'static>() -> StoreFuture<'static, T> {
    Box::pin(std::future::ready(Err(DedupError::new(
        "connection refused",
    ))))
}

impl Deduplicator for Down {
    fn claim<'a>(&'a self, _: ClaimRequest<'a>) -> StoreFuture<'a, ClaimOutcome> {
        down()
    }
    fn complete<'a>(&'a self, _: &'a str, _: &'a str) -> StoreFuture<'a, Settle> {
        down()
    }
    fn release<'a>(&'a self, _: &'a str, _: &'a str) -> StoreFuture<'a, Settle> {
        down()
    }
}

#[tokio::test]
async fn an_unavailable_store_answers_503_so_sinch_retries() {
    let app = app(Receiver::new(["s"]).deduplicate(Down));
    let (status, reason) = send(&app, signed_request("/sinch", "s", BODY)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(reason.contains("connection refused"), "{reason}");
}

#[tokio::test]
async fn a_bearer_token_is_checked_when_asked_for() {
    let app = app(Receiver::new(["s"]).bearer(|token| token == "tok-1"));
    let with = |token: Option<&str>| {
        let mut request = signed_request("/sinch", "s", BODY);
        if let Some(token) = token {
            request
                .headers_mut()
                .insert(header::AUTHORIZATION, token.parse().unwrap());
        }
        request
    };
    let answer = app.clone().oneshot(with(None)).await.unwrap();
    assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(answer.headers()[header::WWW_AUTHENTICATE], "Bearer");
    assert_eq!(
        send(&app, with(Some("Bearer tok-2"))).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        send(&app, with(Some("Basic tok-1"))).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        send(&app, with(Some("Bearer tok-1"))).await.0,
        StatusCode::OK
    );
}

/// The receivers' configuration, swapped while they run (as a rolling
/// deploy would).
#[derive(Clone)]
struct Live(Arc<RwLock<Receiver>>);

impl FromRef<Live> for Receiver {
    fn from_ref(live: &Live) -> Receiver {
        live.0.read().unwrap().clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_is_rotated_without_refusing_one_callback() {
    let live = Live(Arc::new(RwLock::new(Receiver::new(["old-secret"]))));
    let app = Router::new()
        .route("/sinch", post(on_callback))
        .with_state(live.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = format!("http://{}/sinch", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    // As fast as the receiver takes them: the callback rate is not the
    // subject here.
    let sinch = Arc::new(
        MockServer::builder()
            .callback_rate(0)
            .start()
            .await
            .unwrap(),
    );
    let client = sinch.client_builder().build().unwrap();
    let webhook = client
        .create_webhook("app", &target)
        .trigger("MESSAGE_INBOUND")
        .secret("old-secret")
        .send()
        .await
        .unwrap();
    let id = webhook.id.unwrap();

    // The stand-in delivers without a pause for the whole rotation.
    let stop = Arc::new(AtomicBool::new(false));
    let delivered = Arc::new(AtomicUsize::new(0));
    let refused = Arc::new(Mutex::new(Vec::new()));
    let deliveries = {
        let (sinch, stop, delivered, refused) = (
            sinch.clone(),
            stop.clone(),
            delivered.clone(),
            refused.clone(),
        );
        tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let payload = serde_json::json!({"id": format!("M{n}")});
                for d in sinch.deliver_event("app", "MESSAGE_INBOUND", payload).await {
                    delivered.fetch_add(1, Ordering::Relaxed);
                    if d.outcome != DeliveryOutcome::Status(200) {
                        refused
                            .lock()
                            .unwrap()
                            .push(format!("M{n}: {:?}", d.outcome));
                    }
                }
            }
        })
    };
    let pause = || tokio::time::sleep(Duration::from_millis(150));
    pause().await;
    // 1. Receivers accept the new and the old secret.
    *live.0.write().unwrap() = Receiver::new(["new-secret", "old-secret"]);
    pause().await;
    // 2. The webhook signs with the new one.
    client
        .update_webhook(&id)
        .secret("new-secret")
        .send()
        .await
        .unwrap();
    pause().await;
    // 3. Receivers drop the old one.
    *live.0.write().unwrap() = Receiver::new(["new-secret"]);
    pause().await;
    stop.store(true, Ordering::Relaxed);
    deliveries.await.unwrap();

    let refused = refused.lock().unwrap().clone();
    assert!(
        refused.is_empty(),
        "refused during the rotation: {refused:?}"
    );
    assert!(
        delivered.load(Ordering::Relaxed) >= 20,
        "too few deliveries to show anything"
    );
    // After it, the old secret is refused.
    let request = signed_request(&target, "old-secret", BODY);
    let answer = reqwest::Client::new()
        .post(&target)
        .headers(request.headers().clone())
        .body(BODY)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 401);
    let fresh = Signer::new("new-secret")
        .sign(BODY.as_bytes())
        .to_header_map();
    let answer = reqwest::Client::new()
        .post(&target)
        .headers(fresh)
        .body(BODY)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 200);
}
