//! actix-web: the same `SinchCallback` extractor answers every case with the
//! same status, body and headers as the axum one (each request below goes
//! to both), claims are settled by `CallbackMiddleware` from the handler's
//! answer, and a dropped request releases its claim. With actix-web's own
//! test tools, and one real server for a body that never completes.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use actix_web::{App, HttpResponse, test, web};
use axum::http::{HeaderMap, Request};
use sinch_conversation::callbacks::Signer;
use sinch_conversation::dedup::MemoryDeduplicator;
use sinch_conversation::receive::actix::{CallbackMiddleware, signed_request};
use sinch_conversation::receive::{CallbackLayer, Receiver, SinchCallback};
use tower::ServiceExt as _;

const SECRET: &str = "the-webhook-secret";

fn body(id: &str) -> String {
    format!(
        r#"{{"app_id":"app","project_id":"p","accepted_time":"2026-12-07T10:00:00Z","message":{{"id":"{id}","direction":"TO_APP","contact_message":{{"text_message":{{"text":"hi"}}}}}}}}"#
    )
}

/// What a sender sees.
#[derive(Debug, PartialEq, Eq)]
struct Answer {
    status: u16,
    body: String,
    retry_after: Option<String>,
    www_authenticate: Option<String>,
    content_type: Option<String>,
}

impl Answer {
    /// From a response's status, a header lookup and its body.
    fn new(status: u16, header: impl Fn(&str) -> Option<String>, body: &[u8]) -> Self {
        Self {
            status,
            body: String::from_utf8_lossy(body).into_owned(),
            retry_after: header("retry-after"),
            www_authenticate: header("www-authenticate"),
            // An empty body's type is each framework's own default.
            content_type: (!body.is_empty()).then(|| header("content-type")).flatten(),
        }
    }
}

/// The handler's answer, by the event's message id: `fail` → 500,
/// `slow` → waits 300 ms, anything else → 200. Counts its runs.
#[derive(Clone, Default)]
struct Runs(Arc<AtomicUsize>);

fn status_for(callback: &SinchCallback) -> u16 {
    let raw = String::from_utf8_lossy(callback.raw()).into_owned();
    if raw.contains("\"fail") { 500 } else { 200 }
}

async fn run_handler(runs: &Runs, callback: &SinchCallback) -> u16 {
    runs.0.fetch_add(1, Ordering::SeqCst);
    if String::from_utf8_lossy(callback.raw()).contains("\"slow") {
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    status_for(callback)
}

fn receiver() -> Receiver {
    Receiver::new([SECRET])
        .max_body_bytes(2048)
        .lease(Duration::from_secs(30))
        .deduplicate(MemoryDeduplicator::new(1000, Duration::from_secs(3600)))
        .refuse_replays()
}

/// The same request through axum and through actix-web, each with its own
/// receiver and store (`pairs` share them across calls).
struct Both<S> {
    axum: axum::Router,
    actix: S,
    axum_runs: Runs,
    actix_runs: Runs,
}

async fn both(receiver: impl Fn() -> Receiver) -> Both<impl ActixApp> {
    let axum_runs = Runs::default();
    let runs = axum_runs.clone();
    let axum = axum::Router::new()
        .route(
            "/sinch",
            axum::routing::post(move |callback: SinchCallback| {
                let runs = runs.clone();
                async move {
                    let status = run_handler(&runs, &callback).await;
                    axum::http::StatusCode::from_u16(status).unwrap()
                }
            }),
        )
        .layer(CallbackLayer::new())
        .with_state(receiver());
    let actix_runs = Runs::default();
    let actix = actix_app(receiver(), actix_runs.clone()).await;
    Both {
        axum,
        actix,
        axum_runs,
        actix_runs,
    }
}

/// An actix-web app on `receiver` whose handler is `run_handler`, counting
/// its runs in `runs` (a shared counter).
async fn actix_app(receiver: Receiver, runs: Runs) -> impl ActixApp {
    test::init_service(
        App::new()
            .app_data(web::Data::new(receiver))
            .app_data(web::Data::new(runs))
            .wrap(CallbackMiddleware::new())
            .route(
                "/sinch",
                web::post().to(
                    |callback: SinchCallback, runs: web::Data<Runs>| async move {
                        let status = run_handler(&runs, &callback).await;
                        HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
                            .finish()
                    },
                ),
            ),
    )
    .await
}

/// An actix-web app as its test tools give it.
trait ActixApp:
    actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse,
        Error = actix_web::Error,
    >
{
}

impl<S> ActixApp for S where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse,
            Error = actix_web::Error,
        >
{
}

impl<S: ActixApp> Both<S> {
    /// Sends `body` with `headers` to both; both answers.
    async fn send(&self, headers: &HeaderMap, body: &str) -> (Answer, Answer) {
        let mut request = Request::post("/sinch")
            .body(axum::body::Body::from(body.to_owned()))
            .unwrap();
        *request.headers_mut() = headers.clone();
        let response = self.axum.clone().oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let found = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let axum_answer = Answer::new(
            status,
            |name| found.get(name).map(|v| v.to_str().unwrap().to_owned()),
            &bytes,
        );

        let mut request = test::TestRequest::post()
            .uri("/sinch")
            .set_payload(body.to_owned());
        for (name, value) in headers {
            request = request.insert_header((name.as_str(), value.as_bytes().to_vec()));
        }
        let response = test::call_service(&self.actix, request.to_request()).await;
        let status = response.status().as_u16();
        let found = response.headers().clone();
        let bytes = test::read_body(response).await;
        let actix_answer = Answer::new(
            status,
            |name| found.get(name).map(|v| v.to_str().unwrap().to_owned()),
            &bytes,
        );
        (axum_answer, actix_answer)
    }

    /// Sends to both; asserts they agree; the answer.
    async fn agree(&self, headers: &HeaderMap, body: &str) -> Answer {
        let (axum, actix) = self.send(headers, body).await;
        assert_eq!(axum, actix, "axum and actix-web disagree on {body}");
        axum
    }
}

fn signed(body: &str) -> HeaderMap {
    let mut headers = Signer::new(SECRET).sign(body.as_bytes()).to_header_map();
    headers.insert("content-type", "application/json".parse().unwrap());
    headers
}

#[actix_web::test]
async fn every_case_gets_the_same_answer_from_both_frameworks() {
    let both = both(receiver).await;

    // New: the handler runs; 200.
    let first = body("M1");
    let headers = signed(&first);
    let answer = both.agree(&headers, &first).await;
    assert_eq!(answer.status, 200);
    // The same request again: a replayed nonce.
    let replay = both.agree(&headers, &first).await;
    assert_eq!(replay.status, 401);
    assert!(replay.body.contains("nonce"), "{}", replay.body);
    // A copy signed afresh: already handled, the handler does not run.
    let copy = both.agree(&signed(&first), &first).await;
    assert_eq!(copy.status, 200);
    assert!(copy.body.starts_with("already handled: "), "{}", copy.body);
    // A failing handler releases: its retry runs the handler again.
    let failing = body("fail-1");
    assert_eq!(both.agree(&signed(&failing), &failing).await.status, 500);
    assert_eq!(both.agree(&signed(&failing), &failing).await.status, 500);

    // A wrong secret, missing headers, a bad algorithm.
    let forged = Signer::new("not-it").sign(first.as_bytes()).to_header_map();
    let answer = both.agree(&forged, &first).await;
    assert_eq!(answer.status, 401);
    assert!(!answer.body.contains(SECRET));
    assert_eq!(both.agree(&HeaderMap::new(), &first).await.status, 401);
    let mut algorithm = signed(&first);
    algorithm.insert(
        "x-sinch-webhook-signature-algorithm",
        "HmacSHA1".parse().unwrap(),
    );
    assert_eq!(both.agree(&algorithm, &first).await.status, 401);
    // Verified but not an event.
    let not_an_event = r#"{"hello":"world"}"#;
    let answer = both.agree(&signed(not_an_event), not_an_event).await;
    assert_eq!(answer.status, 400);
    // Larger than the cap, declared or not.
    let large = format!(
        r#"{{"app_id":"a","message":{{"id":"{}"}}}}"#,
        "x".repeat(4096)
    );
    let answer = both.agree(&signed(&large), &large).await;
    assert_eq!(answer.status, 413);
    assert_eq!(answer.body, "callback body larger than 2048 bytes\n");

    // Each framework ran the handler for M1 once and fail-1 twice.
    assert_eq!(both.axum_runs.0.load(Ordering::SeqCst), 3);
    assert_eq!(both.actix_runs.0.load(Ordering::SeqCst), 3);
}

#[actix_web::test]
async fn a_bearer_check_answers_the_same_with_its_challenge() {
    let both = both(|| receiver().bearer(|token| token == "good")).await;
    let event = body("B1");
    let answer = both.agree(&signed(&event), &event).await;
    assert_eq!(answer.status, 401);
    assert_eq!(answer.www_authenticate.as_deref(), Some("Bearer"));
    let mut bearer = signed(&event);
    bearer.insert("authorization", "Bearer good".parse().unwrap());
    assert_eq!(both.agree(&bearer, &event).await.status, 200);
}

#[actix_web::test]
async fn a_copy_arriving_while_the_first_is_handled_gets_503_with_retry_after() {
    let runs = Runs::default();
    let app = actix_app(receiver(), runs.clone()).await;
    let event = body("slow-1");
    let first = test::call_service(
        &app,
        signed_request("/sinch", SECRET, event.clone()).to_request(),
    );
    let second = async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        test::call_service(
            &app,
            signed_request("/sinch", SECRET, event.clone()).to_request(),
        )
        .await
    };
    let (first, second) = tokio::join!(first, second);
    assert_eq!(first.status(), 200);
    assert_eq!(second.status(), 503);
    let retry_after: u64 = second
        .headers()
        .get("retry-after")
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=30).contains(&retry_after), "{retry_after}");
    // Completed now: a third copy is a duplicate.
    let third =
        test::call_service(&app, signed_request("/sinch", SECRET, event).to_request()).await;
    assert_eq!(third.status(), 200);
    assert_eq!(runs.0.load(Ordering::SeqCst), 1);
}

#[actix_web::test]
async fn a_request_dropped_midway_releases_its_claim() {
    let runs = Runs::default();
    let app = actix_app(receiver(), runs.clone()).await;
    let event = body("slow-2");
    let dropped = tokio::time::timeout(
        Duration::from_millis(50),
        test::call_service(
            &app,
            signed_request("/sinch", SECRET, event.clone()).to_request(),
        ),
    )
    .await;
    assert!(dropped.is_err(), "the first request is dropped mid-handler");
    // The release runs in the background.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let retry =
        test::call_service(&app, signed_request("/sinch", SECRET, event).to_request()).await;
    assert_eq!(retry.status(), 200);
    assert_eq!(runs.0.load(Ordering::SeqCst), 2, "the retry was handled");
}

#[actix_web::test]
async fn without_a_receiver_in_the_app_data_every_callback_gets_500() {
    let app = test::init_service(App::new().route(
        "/sinch",
        web::post().to(|_: SinchCallback| async { HttpResponse::Ok().finish() }),
    ))
    .await;
    let response = test::call_service(
        &app,
        signed_request("/sinch", SECRET, body("N1")).to_request(),
    )
    .await;
    assert_eq!(response.status(), 500);
    let text = test::read_body(response).await;
    assert_eq!(
        &text[..],
        b"callback receiver not configured; retry later\n"
    );

    // A plain `Receiver` in the app data is found too.
    let app = test::init_service(App::new().app_data(Receiver::new([SECRET])).route(
        "/sinch",
        web::post().to(|_: SinchCallback| async { HttpResponse::Ok().finish() }),
    ))
    .await;
    let response = test::call_service(
        &app,
        signed_request("/sinch", SECRET, body("N2")).to_request(),
    )
    .await;
    assert_eq!(response.status(), 200);
}

/// A real actix-web server: a sender that never finishes its body gets 408
/// at the receiver's deadline, as with axum.
#[actix_web::test]
async fn a_body_that_never_completes_gets_408_at_the_deadline() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let receiver = Receiver::new([SECRET]).body_timeout(Duration::from_millis(300));
    let server = actix_web::HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(receiver.clone()))
            .wrap(CallbackMiddleware::new())
            .route(
                "/sinch",
                web::post().to(|_: SinchCallback| async { HttpResponse::Ok().finish() }),
            )
    })
    .workers(1)
    .disable_signals()
    .bind(("127.0.0.1", 0))
    .unwrap();
    let addr = server.addrs()[0];
    let server = server.run();
    let handle = server.handle();
    actix_web::rt::spawn(server);

    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"POST /sinch HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n{\"a")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let mut answer = vec![0; 512];
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut answer))
        .await
        .expect("answered before the test's own timeout")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..read]);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.contains("callback body not complete within 300 ms"),
        "{answer}"
    );
    assert!(started.elapsed() >= Duration::from_millis(250));
    handle.stop(false).await;
}
