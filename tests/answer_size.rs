//! The client reads at most `max_answer_bytes` of an answer (1 MiB by
//! default) and at most 64 KiB of a token answer, with or without a
//! `Content-Length`: a misbehaving server cannot make it buffer without
//! bound. Loopback servers only.

mod common;

use axum::body::{Body, Bytes};
use axum::response::Response;
use common::*;
use sinch_conversation::{Client, Error};

const BIG: usize = 2 * 1024 * 1024;

/// A server whose every answer is `status` with `size` bytes of JSON-ish
/// filler, sent with a `Content-Length` or chunked.
async fn big_answers(status: u16, size: usize, chunked: bool) -> String {
    let app = axum::Router::new().fallback(move || async move {
        let body = if chunked {
            let chunks =
                (0..size / 4096).map(|_| Ok::<_, std::io::Error>(Bytes::from(vec![b' '; 4096])));
            Body::from_stream(stream_of(chunks))
        } else {
            Body::from(vec![b' '; size])
        };
        Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(body)
            .unwrap()
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// A stream of the given items, without a futures dependency.
fn stream_of<I: Iterator + Send + Unpin + 'static>(
    items: I,
) -> impl futures_core::Stream<Item = I::Item> + Send
where
    I::Item: Send,
{
    struct Iter<I>(I);
    impl<I: Iterator + Unpin> futures_core::Stream for Iter<I> {
        type Item = I::Item;
        fn poll_next(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<I::Item>> {
            std::task::Poll::Ready(self.0.next())
        }
    }
    Iter(items)
}

#[tokio::test]
async fn answers_beyond_the_limit_are_refused_with_or_without_a_length() {
    for (status, chunked) in [(200, false), (200, true), (400, false), (500, true)] {
        let url = big_answers(status, BIG, chunked).await;
        let err = basic(&url).get_webhook("W1").await.unwrap_err();
        let Error::AnswerTooLarge(e) = &err else {
            panic!("{status} chunked={chunked}: {err:?}")
        };
        assert_eq!(e.status(), status);
        assert_eq!(e.limit(), 1024 * 1024);
        assert_eq!(e.length(), (!chunked).then_some(BIG as u64));
        assert_eq!(err.status(), Some(status));
        assert!(err.to_string().contains("larger than"), "{err}");
    }
}

#[tokio::test]
async fn the_limit_is_configurable_and_answers_within_it_are_read() {
    let (server, url) = serve().await;
    server.script_api([reply(
        200,
        &format!(
            "{}{}",
            " ".repeat(10_000),
            r#"{"target":"https://e.com/h"}"#
        ),
    )]);
    let small = Client::builder()
        .project_id("proj")
        .base_url(&url)
        .basic_auth("kid", SENTINEL)
        .max_answer_bytes(1000)
        .build()
        .unwrap();
    assert!(matches!(
        small.get_webhook("W1").await,
        Err(Error::AnswerTooLarge(_))
    ));
    server.script_api([reply(
        200,
        &format!(
            "{}{}",
            " ".repeat(10_000),
            r#"{"target":"https://e.com/h"}"#
        ),
    )]);
    let webhook = basic(&url).get_webhook("W1").await.unwrap();
    assert_eq!(webhook.target.as_str(), "https://e.com/h");
}

#[tokio::test]
async fn a_token_answer_beyond_64_kib_is_an_auth_error() {
    for chunked in [false, true] {
        let url = big_answers(200, 256 * 1024, chunked).await;
        let err = send_one(&oauth(&url), "https://e.com/h").await.unwrap_err();
        assert!(matches!(&err, Error::Auth(_)), "{err:?}");
        assert!(err.to_string().contains("larger than"), "{err}");
    }
}
