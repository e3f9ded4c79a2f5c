//! Claims through the extractor and `CallbackLayer`: the outcome is taken
//! from the handler's answer, a panic or a dropped request releases, a
//! copy in progress gets 503 with `Retry-After`, a handler that outlives
//! its lease cannot overwrite the claim of the copy handled since.
#![cfg(feature = "axum")]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{FromRef, State};
use axum::http::{StatusCode, header};
use axum::routing::post;
use sinch_conversation::dedup::{
    ClaimOutcome, ClaimRequest, Deduplicator, MemoryDeduplicator, Settle,
};
use sinch_conversation::receive::{CallbackLayer, Receiver, SinchCallback, signed_request};
use tokio::sync::Notify;
use tower::ServiceExt as _;

const SECRET: &str = "claims-secret";

fn body(id: &str, text: &str) -> String {
    format!(
        r#"{{"app_id":"a","project_id":"p","message":{{"id":"{id}","contact_message":{{"text_message":{{"text":"{text}"}}}}}},"a_field_from_the_future":42}}"#
    )
}

/// The handler's behaviour comes from the message's text: `ok`, `fail`
/// (500), `panic`, `slow` (waits for `release`), `late` (sleeps 300 ms),
/// `manual` (answers 202 at once and completes the claim itself later).
#[derive(Clone)]
struct Test {
    receiver: Receiver,
    runs: Arc<AtomicUsize>,
    started: Arc<Notify>,
    release: Arc<Notify>,
    settled: Arc<tokio::sync::Mutex<Vec<Settle>>>,
}

impl FromRef<Test> for Receiver {
    fn from_ref(test: &Test) -> Receiver {
        test.receiver.clone()
    }
}

async fn handler(State(test): State<Test>, callback: SinchCallback) -> StatusCode {
    test.runs.fetch_add(1, Ordering::SeqCst);
    let text = String::from_utf8_lossy(callback.raw()).into_owned();
    if text.contains(r#""text":"fail""#) {
        StatusCode::INTERNAL_SERVER_ERROR
    } else if text.contains(r#""text":"panic""#) {
        panic!("the handler panicked");
    } else if text.contains(r#""text":"slow""#) {
        test.started.notify_one();
        test.release.notified().await;
        StatusCode::OK
    } else if text.contains(r#""text":"late""#) {
        test.started.notify_one();
        tokio::time::sleep(Duration::from_millis(300)).await;
        StatusCode::OK
    } else if text.contains(r#""text":"manual""#) {
        let claim = callback.take_claim().expect("a claim");
        let settled = test.settled.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            settled.lock().await.push(claim.complete().await.unwrap());
        });
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    }
}

fn setup(receiver: Receiver, layer: bool) -> (Router, Test) {
    let test = Test {
        receiver,
        runs: Arc::default(),
        started: Arc::default(),
        release: Arc::default(),
        settled: Arc::default(),
    };
    let mut router = Router::new().route("/sinch", post(handler));
    if layer {
        router = router.layer(CallbackLayer::new());
    }
    (router.with_state(test.clone()), test)
}

fn store() -> Arc<MemoryDeduplicator> {
    Arc::new(MemoryDeduplicator::new(1000, Duration::from_secs(3600)))
}

async fn send(app: &Router, body: &str) -> (StatusCode, Option<String>) {
    let answer = app
        .clone()
        .oneshot(signed_request("/sinch", SECRET, body))
        .await
        .unwrap();
    let retry_after = answer
        .headers()
        .get(header::RETRY_AFTER)
        .map(|v| v.to_str().unwrap().to_owned());
    (answer.status(), retry_after)
}

/// Whether the event's claim is free: a claim by someone else succeeds
/// (and is released again).
async fn is_free(store: &MemoryDeduplicator, id: &str) -> bool {
    let key = format!("event:p/a/MESSAGE_INBOUND:{id}");
    let request = ClaimRequest::new(&key, "probe", Duration::from_secs(60));
    match store.claim(request).await.unwrap() {
        ClaimOutcome::Claimed => {
            store.release(&key, "probe").await.unwrap();
            true
        }
        _ => false,
    }
}

/// Polls (the release of a dropped claim runs in the background).
async fn eventually_free(store: &MemoryDeduplicator, id: &str) -> bool {
    for _ in 0..100 {
        if is_free(store, id).await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}

#[tokio::test]
async fn a_2xx_completes_and_copies_are_answered_200_without_running_the_handler() {
    let store = store();
    let (app, test) = setup(Receiver::new([SECRET]).deduplicate(store.clone()), true);
    assert_eq!(send(&app, &body("M1", "ok")).await.0, StatusCode::OK);
    for _ in 0..3 {
        assert_eq!(send(&app, &body("M1", "ok")).await.0, StatusCode::OK);
    }
    assert_eq!(test.runs.load(Ordering::SeqCst), 1);
    // A copy that differs only in whitespace and key order is the same event.
    let reordered = r#"{ "project_id":"p", "message":{"contact_message":{"text_message":{"text":"ok"}},"id":"M1"}, "app_id":"a"}"#;
    assert_eq!(send(&app, reordered).await.0, StatusCode::OK);
    assert_eq!(test.runs.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_failure_a_panic_or_a_dropped_request_releases_so_the_retry_is_handled() {
    let store = store();
    let (app, test) = setup(Receiver::new([SECRET]).deduplicate(store.clone()), true);
    // Any status but 2xx: released, and the retry runs the handler again.
    assert_eq!(
        send(&app, &body("F1", "fail")).await.0,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(
        send(&app, &body("F1", "fail")).await.0,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(test.runs.load(Ordering::SeqCst), 2);
    assert!(is_free(&store, "F1").await);

    // A panic (axum has no catch-panic by default: the task unwinds).
    let panicking = tokio::spawn(app.clone().oneshot(signed_request(
        "/sinch",
        SECRET,
        body("P1", "panic"),
    )));
    assert!(panicking.await.unwrap_err().is_panic());
    assert!(
        eventually_free(&store, "P1").await,
        "a panic released the claim"
    );

    // The sender disconnects while the handler runs: the request is dropped.
    let request = tokio::spawn(app.clone().oneshot(signed_request(
        "/sinch",
        SECRET,
        body("D1", "slow"),
    )));
    test.started.notified().await;
    assert!(!is_free(&store, "D1").await, "held while the handler runs");
    request.abort();
    assert!(request.await.unwrap_err().is_cancelled());
    assert!(
        eventually_free(&store, "D1").await,
        "a dropped request released the claim"
    );
}

#[tokio::test]
async fn a_copy_in_progress_gets_503_with_retry_after_and_200_once_the_first_completed() {
    let store = store();
    let receiver = Receiver::new([SECRET])
        .deduplicate(store.clone())
        .lease(Duration::from_secs(30));
    let (app, test) = setup(receiver, true);
    let first = tokio::spawn({
        let app = app.clone();
        async move { send(&app, &body("S1", "slow")).await }
    });
    test.started.notified().await;
    let (status, retry_after) = send(&app, &body("S1", "slow")).await;
    assert_eq!(
        status,
        StatusCode::SERVICE_UNAVAILABLE,
        "Sinch retries a 5xx"
    );
    let secs: u64 = retry_after.expect("Retry-After").parse().unwrap();
    assert!((29..=30).contains(&secs), "{secs}");
    assert_eq!(test.runs.load(Ordering::SeqCst), 1, "the copy did not run");
    test.release.notify_one();
    assert_eq!(first.await.unwrap().0, StatusCode::OK);
    assert_eq!(send(&app, &body("S1", "slow")).await.0, StatusCode::OK);
    assert_eq!(test.runs.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_handler_outliving_its_lease_lets_the_copy_be_handled_and_cannot_overwrite_it() {
    let store = store();
    // Two replicas sharing the store: the first with a short lease.
    let short = Receiver::new([SECRET])
        .deduplicate(store.clone())
        .lease(Duration::from_millis(100));
    let (first_app, first) = setup(short, true);
    let (second_app, second) = setup(Receiver::new([SECRET]).deduplicate(store.clone()), true);
    let late = tokio::spawn({
        let app = first_app.clone();
        async move { send(&app, &body("L1", "late")).await }
    });
    first.started.notified().await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    // The lease has expired: the retry is claimed and handled elsewhere.
    let retry = tokio::spawn({
        let app = second_app.clone();
        async move { send(&app, &body("L1", "slow")).await }
    });
    second.started.notified().await;
    // The first finishes while the retry holds the claim: its completion is
    // refused (logged), the claim stays the retry's.
    assert_eq!(late.await.unwrap().0, StatusCode::OK);
    assert!(matches!(
        store
            .claim(ClaimRequest::new(
                "event:p/a/MESSAGE_INBOUND:L1",
                "x",
                Duration::from_secs(1)
            ))
            .await
            .unwrap(),
        ClaimOutcome::InProgress { .. }
    ));
    second.release.notify_one();
    assert_eq!(retry.await.unwrap().0, StatusCode::OK);
    assert_eq!(
        send(&first_app, &body("L1", "late")).await.0,
        StatusCode::OK
    );
    assert_eq!(
        first.runs.load(Ordering::SeqCst) + second.runs.load(Ordering::SeqCst),
        2
    );
}

#[tokio::test]
async fn a_handler_that_answers_first_settles_the_claim_itself() {
    let store = store();
    let (app, test) = setup(Receiver::new([SECRET]).deduplicate(store.clone()), true);
    assert_eq!(
        send(&app, &body("A1", "manual")).await.0,
        StatusCode::ACCEPTED
    );
    // The layer left the taken claim alone: still held until the work ends.
    assert!(!is_free(&store, "A1").await);
    for _ in 0..100 {
        if !test.settled.lock().await.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(*test.settled.lock().await, vec![Settle::Settled]);
    assert_eq!(send(&app, &body("A1", "manual")).await.0, StatusCode::OK);
    assert_eq!(test.runs.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn without_the_layer_nothing_is_lost_the_claim_is_released() {
    let store = store();
    let (app, test) = setup(Receiver::new([SECRET]).deduplicate(store.clone()), false);
    assert_eq!(send(&app, &body("N1", "ok")).await.0, StatusCode::OK);
    assert!(eventually_free(&store, "N1").await);
    assert_eq!(send(&app, &body("N1", "ok")).await.0, StatusCode::OK);
    assert_eq!(
        test.runs.load(Ordering::SeqCst),
        2,
        "handled again, never skipped"
    );
}

#[tokio::test]
async fn other_frameworks_settle_by_hand() {
    let store = store();
    let receiver = Receiver::new([SECRET]).deduplicate(store.clone());
    let text = body("H1", "ok");
    let sign = || {
        sinch_conversation::callbacks::Signer::new(SECRET)
            .sign(text.as_bytes())
            .to_header_map()
    };
    let callback = receiver.receive(&sign(), text.as_bytes()).await.unwrap();
    // Every field is reachable, those the crate does not know included.
    let raw: serde_json::Value = serde_json::from_slice(callback.raw()).unwrap();
    assert_eq!(raw["a_field_from_the_future"], 42);
    assert!(callback.lease_remaining().unwrap() > Duration::from_secs(50));
    let copy = receiver
        .receive(&sign(), text.as_bytes())
        .await
        .unwrap_err();
    assert_eq!(copy.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(copy.retry_after_secs(), Some(60));
    assert_eq!(callback.complete().await, Ok(Settle::Settled));
    assert_eq!(
        callback.complete().await,
        Ok(Settle::NotHeld),
        "settled once"
    );
    let copy = receiver
        .receive(&sign(), text.as_bytes())
        .await
        .unwrap_err();
    assert_eq!(copy.status(), StatusCode::OK);
    assert_eq!(copy.to_string(), "already handled: p/a/MESSAGE_INBOUND:H1");
}

#[tokio::test]
async fn a_body_that_never_completes_gets_408_and_the_task_ends() {
    let (app, test) = setup(
        Receiver::new([SECRET]).body_timeout(Duration::from_millis(200)),
        true,
    );
    // A body stream that sends a byte, then nothing.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<axum::body::Bytes, std::io::Error>>(1);
    tx.send(Ok(axum::body::Bytes::from_static(b"{")))
        .await
        .unwrap();
    let stream = tokio_stream_from(rx);
    let mut request = signed_request("/sinch", SECRET, "{}");
    *request.body_mut() = axum::body::Body::from_stream(stream);
    request.headers_mut().remove(header::CONTENT_LENGTH);
    let answer = tokio::time::timeout(Duration::from_secs(5), app.oneshot(request))
        .await
        .expect("the deadline ends the request")
        .unwrap();
    assert_eq!(answer.status(), StatusCode::REQUEST_TIMEOUT);
    assert_eq!(test.runs.load(Ordering::SeqCst), 0);
    drop(tx);
}

/// A `Stream` over a channel's receiver, without another dependency.
fn tokio_stream_from<T: Send + 'static>(
    mut rx: tokio::sync::mpsc::Receiver<T>,
) -> impl futures_core_stream::Stream<Item = T> + Send + 'static {
    futures_core_stream::from_fn(move |cx| rx.poll_recv(cx))
}

mod futures_core_stream {
    //! The smallest `Stream` from a poll function.
    use std::pin::Pin;
    use std::task::{Context, Poll};

    pub use futures_core::Stream;

    pub struct FromFn<F>(F);

    impl<T, F: FnMut(&mut Context<'_>) -> Poll<Option<T>> + Unpin> Stream for FromFn<F> {
        type Item = T;
        fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
            (self.0)(cx)
        }
    }

    pub fn from_fn<T, F: FnMut(&mut Context<'_>) -> Poll<Option<T>> + Unpin>(f: F) -> FromFn<F> {
        FromFn(f)
    }
}
