//! Slow and idle clients cannot hold the stand-in: header and body
//! timeouts close or refuse them, and with the connection limit full of
//! idle connections a real request is still served once they time out.
//! Loopback only; every loop is bounded.

use std::time::{Duration, Instant};

use sinch_conversation::mock::MockServer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn stand_in() -> MockServer {
    MockServer::builder()
        .header_timeout(Duration::from_millis(300))
        .body_timeout(Duration::from_millis(300))
        .max_connections(4)
        .start()
        .await
        .unwrap()
}

/// Reads until the server closes the connection (or 5 s pass); what it sent.
async fn until_closed(stream: &mut TcpStream) -> (Vec<u8>, Duration) {
    let started = Instant::now();
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    while started.elapsed() < Duration::from_secs(5) {
        match tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(n)) => received.extend_from_slice(&buffer[..n]),
        }
    }
    (received, started.elapsed())
}

#[tokio::test]
async fn idle_and_slow_header_connections_are_closed() {
    let server = stand_in().await;
    // Idle: says nothing.
    let mut idle = TcpStream::connect(server.addr()).await.unwrap();
    let (_, waited) = until_closed(&mut idle).await;
    assert!(waited < Duration::from_secs(2), "closed after {waited:?}");

    // Slow: a header line, then one byte at a time, never finishing.
    let mut slow = TcpStream::connect(server.addr()).await.unwrap();
    slow.write_all(b"GET /v1/projects/mock-project/apps/a/webhooks HTTP/1.1\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let mut closed = false;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if slow.write_all(b"X").await.is_err() {
            closed = true;
            break;
        }
    }
    if !closed {
        let (_, _) = until_closed(&mut slow).await;
    }
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_body_that_never_arrives_gets_408_in_sinchs_format() {
    let server = stand_in().await;
    let mut stream = TcpStream::connect(server.addr()).await.unwrap();
    let head = "POST /v1/projects/mock-project/webhooks HTTP/1.1\r\nhost: x\r\n\
                authorization: Basic bW9jay1rZXktaWQ6bW9jay1rZXktc2VjcmV0\r\n\
                content-type: application/json\r\ncontent-length: 100\r\n\r\n{";
    stream.write_all(head.as_bytes()).await.unwrap();
    let (received, waited) = until_closed(&mut stream).await;
    let text = String::from_utf8_lossy(&received);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("DEADLINE_EXCEEDED"), "{text}");
    assert!(waited < Duration::from_secs(3), "{waited:?}");
}

#[tokio::test]
async fn idle_connections_filling_the_limit_do_not_block_real_requests_for_long() {
    let server = stand_in().await;
    let mut idle = Vec::new();
    for _ in 0..8 {
        idle.push(TcpStream::connect(server.addr()).await.unwrap());
    }
    let client = server.client_builder().build().unwrap();
    let started = Instant::now();
    let listed = tokio::time::timeout(Duration::from_secs(5), client.list_webhooks("a")).await;
    assert!(matches!(listed, Ok(Ok(_))), "{listed:?}");
    // Served once the idle ones timed out (300 ms each round of 4).
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    drop(idle);
}

/// `Authorization` for the stand-in's default key.
fn basic_key() -> String {
    use base64::Engine as _;
    let pair = format!(
        "{}:{}",
        MockServer::DEFAULT_KEY_ID,
        MockServer::DEFAULT_KEY_SECRET
    );
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

/// A connection that asks for large answers, pipelined, and never reads
/// them: the stand-in's writes stall once the socket buffers are full.
async fn never_reads(server: &MockServer) -> tokio::task::JoinHandle<()> {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    // A small receive buffer fills sooner.
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = socket.connect(server.addr()).await.unwrap();
    let request = format!(
        "GET /v1/projects/mock-project/apps/big/webhooks HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\n\r\n",
        basic_key()
    );
    tokio::spawn(async move {
        for _ in 0..2000 {
            // Blocks once the stand-in stops reading; fails once it closes.
            if stream.write_all(request.as_bytes()).await.is_err() {
                return;
            }
        }
        // Hold the connection open without reading.
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
}

#[tokio::test]
async fn clients_that_never_read_their_answers_are_disconnected() {
    let server = MockServer::builder()
        .max_connections(2)
        .write_timeout(Duration::from_millis(300))
        .start()
        .await
        .unwrap();
    // Five webhooks of 50 KB each: a list answer is about 250 KB.
    for i in 0..5 {
        let webhook = serde_json::from_value(serde_json::json!({
            "app_id": "big",
            "target": format!("https://example.com/{i}/{}", "x".repeat(50_000)),
            "triggers": ["MESSAGE_INBOUND"],
        }))
        .unwrap();
        server.seed_webhook(webhook);
    }
    let hogs = [never_reads(&server).await, never_reads(&server).await];
    // Both slots are taken and their writes stall.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let client = server
        .client_builder()
        .basic_auth(MockServer::DEFAULT_KEY_ID, MockServer::DEFAULT_KEY_SECRET)
        .build()
        .unwrap();
    let started = Instant::now();
    let listed = tokio::time::timeout(Duration::from_secs(8), client.list_webhooks("a")).await;
    assert!(matches!(listed, Ok(Ok(_))), "{listed:?}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    for hog in hogs {
        hog.abort();
    }
}

#[tokio::test]
async fn a_connection_is_closed_after_its_lifetime_even_while_busy() {
    let server = MockServer::builder()
        .connection_lifetime(Duration::from_millis(500))
        .start()
        .await
        .unwrap();
    let mut stream = TcpStream::connect(server.addr()).await.unwrap();
    let started = Instant::now();
    let mut answers = 0;
    let mut buffer = [0u8; 4096];
    let closed_after = loop {
        if started.elapsed() > Duration::from_secs(4) {
            break None;
        }
        if stream
            .write_all(b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .is_err()
        {
            break Some(started.elapsed());
        }
        match tokio::time::timeout(Duration::from_secs(2), stream.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break Some(started.elapsed()),
            Ok(Ok(n)) => {
                answers += String::from_utf8_lossy(&buffer[..n])
                    .matches("HTTP/1.1 404")
                    .count()
            }
            Err(_) => break None,
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let closed_after = closed_after.expect("the stand-in closed the busy connection");
    assert!(answers >= 3, "served until then: {answers}");
    assert!(
        closed_after >= Duration::from_millis(450) && closed_after < Duration::from_secs(2),
        "{closed_after:?}"
    );
}
