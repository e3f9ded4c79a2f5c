//! Property runs over every parser and entry point that takes input from
//! outside: the client reading API and token answers (any status, headers
//! and body, over loopback), callback verification (headers and body), and
//! the stand-in's routes (any method, path, headers and body), and the
//! reader of `sinch-webhooks`' sync files (any text). None may
//! panic; every answer must be an `Ok` or a typed `Err`, and every stand-in
//! answer a well-formed HTTP response.
//!
//! `cargo test` runs a short pass (proptest's default, 256 cases each). The
//! long run:
//!
//! ```text
//! PROPTEST_CASES=100000 cargo test --release --all-features --test fuzz
//! ```
//!
//! The callback-event parser's run (`callback_parsing_survives_any_body`)
//! needs no server; alone:
//!
//! ```text
//! PROPTEST_CASES=100000 cargo test --release --all-features --test fuzz callback_parsing
//! ```
//!
//! (`sinch-mock`'s argument parser has its own property test next to it,
//! in `src/bin/sinch-mock.rs`.)

mod common;
#[path = "../examples/support/create_args.rs"]
mod create_args;
#[path = "../src/bin/sinch-webhooks/file.rs"]
#[allow(dead_code)]
mod sync_file;

use std::sync::OnceLock;

use common::*;
use proptest::prelude::*;
use sinch_conversation::callbacks::{
    ALGORITHM_HEADER, NONCE_HEADER, SIGNATURE_HEADER, Signer, TIMESTAMP_HEADER, Verifier,
};
use sinch_conversation::mock::MockServer;
use sinch_conversation::{Client, Error, RetryPolicy};

/// One runtime, scripted server and stand-in for all cases.
struct World {
    runtime: tokio::runtime::Runtime,
    server: std::sync::Arc<Server>,
    basic: Client,
    oauth: Client,
    stand_in: MockServer,
    http: reqwest::Client,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let (server, url, stand_in) = runtime.block_on(async {
            let (server, url) = serve().await;
            (server, url, MockServer::start().await.unwrap())
        });
        let build = |oauth: bool| {
            let builder = Client::builder()
                .project_id("proj")
                .base_url(&url)
                .auth_base_url(&url)
                .retry(RetryPolicy::none());
            if oauth {
                builder.oauth2("kid", SENTINEL)
            } else {
                builder.basic_auth("kid", SENTINEL)
            }
            .build()
            .unwrap()
        };
        World {
            basic: build(false),
            oauth: build(true),
            // Never follows a redirect: every request stays on loopback.
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            runtime,
            server,
            stand_in,
        }
    })
}

/// Bodies: raw bytes, JSON-ish text, and webhooks / errors / token answers
/// with mutated values.
fn body() -> impl Strategy<Value = Vec<u8>> {
    let json_value = prop_oneof![
        Just("null".to_owned()),
        any::<i64>().prop_map(|n| n.to_string()),
        "\\PC{0,12}".prop_map(|s| serde_json::Value::from(s).to_string()),
        Just("[]".to_owned()),
        Just("{}".to_owned()),
        Just(format!("\"{}\"", "x".repeat(800))),
        Just("18446744073709551616".to_owned()),
    ];
    let key = prop::sample::select(vec![
        "id",
        "app_id",
        "target",
        "target_type",
        "triggers",
        "secret",
        "client_credentials",
        "webhooks",
        "error",
        "code",
        "message",
        "status",
        "details",
        "access_token",
        "expires_in",
        "token_type",
        "unknown",
    ]);
    let object = prop::collection::vec((key, json_value), 0..6).prop_map(|pairs| {
        let fields: Vec<String> = pairs
            .into_iter()
            .map(|(k, v)| format!("\"{k}\":{v}"))
            .collect();
        format!("{{{}}}", fields.join(",")).into_bytes()
    });
    let valid = prop::sample::select(vec![
        r#"{"id":"W1","target":"https://e.com","triggers":["MESSAGE_INBOUND","NEW"],"target_type":"X"}"#,
        r#"{"webhooks":[{"target":"https://e.com"},{"target":"https://e.com/2","secret":"s"}]}"#,
        r#"{"error":{"code":400,"message":"m","status":"INVALID_ARGUMENT","details":[{"@type":"t","value":{"a":1}}]}}"#,
        r#"{"access_token":"tok","expires_in":18446744073709551615}"#,
        r#"{"access_token":"","expires_in":0}"#,
    ])
    .prop_flat_map(|text| {
        let len = text.len();
        (Just(text), 0..len, any::<u8>(), any::<bool>())
    })
    .prop_map(|(text, at, byte, mutate)| {
        let mut bytes = text.as_bytes().to_vec();
        if mutate {
            bytes[at] = byte;
        }
        bytes
    });
    prop_oneof![prop::collection::vec(any::<u8>(), 0..64), object, valid,]
}

fn header_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,40}",
        Just("0".to_owned()),
        Just("18446744073709551616".to_owned()),
        Just("Wed, 21 Oct 2015 07:28:00 GMT".to_owned()),
        Just("Fri, 31 Dec 9999 23:59:59 GMT".to_owned()),
        Just("Bearer error=\"invalid_token\", error_description=\"expired\"".to_owned()),
        Just("http://user:pw@127.0.0.1:9/x".to_owned()),
    ]
}

fn reply_with(status: u16, body: Vec<u8>, headers: Vec<(&'static str, String)>) -> Reply {
    let mut reply = reply(status, &String::from_utf8_lossy(&body));
    reply.headers.extend(headers);
    reply
}

fn answer() -> impl Strategy<Value = Reply> {
    let status = prop_oneof![
        prop::sample::select(vec![
            200u16, 201, 204, 301, 307, 400, 401, 404, 429, 500, 503
        ]),
        100u16..600,
    ];
    let header = (
        prop::sample::select(vec![
            "retry-after",
            "www-authenticate",
            "location",
            "content-type",
        ]),
        header_value(),
    );
    (status, body(), prop::collection::vec(header, 0..3)).prop_map(|(status, body, headers)| {
        // Header values must be valid for the scripted server.
        let headers = headers
            .into_iter()
            .filter(|(_, v)| reqwest::header::HeaderValue::from_str(v).is_ok())
            .collect();
        reply_with(status, body, headers)
    })
}

proptest! {
    /// The client reads any answer to any operation without panicking.
    #[test]
    fn the_client_survives_any_api_answer(answer in answer(), op in 0..5u8) {
        let w = world();
        w.server.script_api([answer]);
        let result: Result<(), Error> = w.runtime.block_on(async {
            match op {
                0 => w.basic.get_webhook("W1").await.map(drop),
                1 => w.basic.list_webhooks("A").await.map(drop),
                2 => w.basic.delete_webhook("W1").await,
                3 => w.basic.update_webhook("W1").target("https://e.com/x").send().await.map(drop),
                _ => send_one(&w.basic, "https://e.com/x").await.map(drop),
            }
        });
        // Whatever it was, the secret is not in it.
        if let Err(e) = &result {
            let shown = format!("{e} {e:?}");
            prop_assert!(!shown.contains(SENTINEL), "{}", shown);
        }
        w.server.api_replies.lock().unwrap().clear();
    }

    /// The client reads any token answer without panicking.
    #[test]
    fn the_client_survives_any_token_answer(answer in answer()) {
        let w = world();
        w.server.script_tokens([answer]);
        let result = w.runtime.block_on(async {
            // A fresh client each case, so that it fetches a token (on the
            // shared connection pool: building a pool per case is slow).
            let fresh = Client::builder()
                .project_id("proj")
                .base_url(w.oauth.base_url())
                .auth_base_url(w.oauth.base_url())
                .http_client(w.http.clone())
                .oauth2("kid", SENTINEL)
                .retry(RetryPolicy::none())
                .build()
                .unwrap();
            fresh.get_webhook("W1").await.map(drop)
        });
        if let Err(e) = &result {
            let shown = format!("{e} {e:?}");
            prop_assert!(!shown.contains(SENTINEL), "{}", shown);
        }
        w.server.token_replies.lock().unwrap().clear();
        w.server.api_replies.lock().unwrap().clear();
    }

    /// Verification of any headers and body: an answer, never a panic;
    /// and a real signature still verifies whatever the body.
    #[test]
    fn callback_verification_survives_any_input(
        timestamp in prop_oneof!["\\PC{0,24}", "[0-9]{1,25}"],
        nonce in "\\PC{0,24}",
        algorithm in prop_oneof![Just("HmacSHA256".to_owned()), "\\PC{0,12}"],
        signature in "\\PC{0,64}",
        body in body(),
        secret in "\\PC{0,16}",
    ) {
        let verifier = Verifier::new(secret.as_str());
        let pairs = [
            (TIMESTAMP_HEADER, timestamp.as_str()),
            (NONCE_HEADER, nonce.as_str()),
            (ALGORITHM_HEADER, algorithm.as_str()),
            (SIGNATURE_HEADER, signature.as_str()),
        ];
        let _ = verifier.verify_pairs(pairs, &body);
        let signed = Signer::new(secret.as_str()).sign(&body);
        let result = verifier.verify(&signed.to_header_map(), &body);
        prop_assert_eq!(result.is_ok(), !secret.trim().is_empty());
    }

    /// The stand-in answers any request with a well-formed response; every
    /// error is in Sinch's format.
    #[test]
    fn the_stand_in_survives_any_request(
        method in prop::sample::select(vec!["GET", "POST", "PATCH", "DELETE", "PUT"]),
        path in prop_oneof![
            prop::sample::select(vec![
                "/oauth2/token".to_owned(),
                "/v1/projects/mock-project/webhooks".to_owned(),
                "/v1/projects/mock-project/webhooks/W1".to_owned(),
                "/v1/projects/mock-project/apps/a/webhooks".to_owned(),
                "/v1/projects/other/webhooks".to_owned(),
                "/_mock/projects/mock-project/apps/a/events".to_owned(),
            ]),
            "/[a-zA-Z0-9/._%-]{0,40}",
        ],
        query in prop_oneof![Just(String::new()), "update_mask=[a-z_,]{0,30}", "[ -~]{0,20}"],
        auth in prop_oneof![
            Just("Basic bW9jay1rZXktaWQ6bW9jay1rZXktc2VjcmV0".to_owned()),
            Just("Bearer nope".to_owned()),
            "[ -~]{0,30}",
        ],
        content_type in prop::sample::select(vec![
            "application/json", "application/x-www-form-urlencoded", "text/plain", "application/jsonx",
        ]),
        body in body(),
    ) {
        let w = world();
        let url = format!("{}{path}{}{query}", w.stand_in.base_url(), if query.is_empty() { "" } else { "?" });
        let Ok(method) = reqwest::Method::from_bytes(method.as_bytes()) else { return Ok(()) };
        let (status, text) = w.runtime.block_on(async {
            let mut request = w.http.request(method, &url).header("content-type", content_type).body(body);
            if let Ok(value) = reqwest::header::HeaderValue::from_str(&auth) {
                request = request.header("authorization", value);
            }
            let response = request.send().await.expect("the stand-in answers");
            let status = response.status().as_u16();
            (status, response.bytes().await.expect("a whole body"))
        });
        prop_assert!((200..600).contains(&status));
        if status >= 400 && !path.starts_with("/oauth2") {
            let error: serde_json::Value = serde_json::from_slice(&text)
                .map_err(|e| TestCaseError::fail(format!("{status}: {e}")))?;
            prop_assert_eq!(error["error"]["code"].as_u64(), Some(u64::from(status)));
        }
        w.stand_in.reset();
    }

    /// The example's command line: parsed or refused with a message.
    #[test]
    fn the_example_survives_any_command_line(
        args in prop::collection::vec(prop_oneof![
            prop::sample::select(vec![
                "--app-id", "--target", "--trigger", "--secret", "--dry-run", "-h", "--help",
            ]).prop_map(str::to_owned),
            "\\PC{0,24}",
        ], 0..8),
    ) {
        if let Err(message) = create_args::parse(args.into_iter()) {
            prop_assert!(!message.is_empty());
        }
    }

    /// `sinch-webhooks sync --file`: any text is read or refused, never a
    /// panic; every problem has a line within the text.
    #[test]
    fn the_sync_file_reader_survives_any_text(
        lines in prop::collection::vec(prop_oneof![
            prop::sample::select(vec![
                "[[webhook]]", "[[app]]", "[[app.webhook]]", "[webhook.client_credentials]",
                "[[webhooks]]", "id = \"a\"", "target = \"https://e.com/h\"", "target = 5",
                "triggers = [\"MESSAGE_INBOUND\"]", "triggers = [1, \"x\"]", "secret = \"s\"",
                "secrte = \"s\"", "client_id = \"c\"", "endpoint = []", "webhook = 3", "= =", "[",
            ]).prop_map(str::to_owned),
            "\\PC{0,24}",
        ], 0..12),
    ) {
        let text = lines.join("\n");
        if let Err(problems) = sync_file::parse(&text) {
            prop_assert!(!problems.is_empty());
            let last = text.split('\n').count();
            for problem in problems {
                prop_assert!(problem.line >= 1 && problem.line <= last, "{problem} in {text:?}");
                prop_assert!(!problem.message.is_empty());
            }
        }
    }

    /// Callback parsing of random bytes, byte-mutated corpus bodies and
    /// structurally edited ones: an event or a `ParseError`, never a panic.
    /// Whatever parses serialises back to the same event, and a signed body
    /// gives the same through `verify_event`.
    #[test]
    fn callback_parsing_survives_any_body(body in event_body()) {
        let parsed = sinch_conversation::events::parse(&body);
        if let Ok(event) = &parsed {
            let text = serde_json::to_vec(event).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let again = sinch_conversation::events::parse(&text)
                .map_err(|e| TestCaseError::fail(format!("{e}: {}", String::from_utf8_lossy(&text))))?;
            prop_assert_eq!(&again, event);
        }
        let headers = Signer::new("s").sign(&body).to_header_map();
        let verified = Verifier::new("s").verify_event(&headers, &body);
        prop_assert_eq!(verified.ok(), parsed.ok());
    }
}

/// Every body in the events corpus.
fn corpus_bodies() -> Vec<Vec<u8>> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus/events");
    let mut bodies: Vec<Vec<u8>> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter_map(|e| std::fs::read(e.path()).ok())
                .collect()
        })
        .unwrap_or_default();
    bodies.sort();
    assert!(bodies.len() >= 21, "the corpus is missing");
    bodies
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::{Value, json};
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        // Any float: the tests build serde_json with `float_roundtrip`
        // (see Cargo.toml), so the round trip below is exact.
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::from)),
        "\\PC{0,12}".prop_map(Value::from),
        prop::sample::select(vec![
            "MESSAGE_INBOUND",
            "DELIVERED",
            "TO_APP",
            "WHATSAPP",
            "2026-11-17T16:05:51.724083123Z",
            "2026-13-45T99:99:99Z",
            "",
            "UNKNOWN",
        ])
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::vec((json_key(), inner), 0..4)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
            Just(json!({"text_message": {"text": "hi"}})),
        ]
    })
}

fn json_key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "app_id",
            "project_id",
            "accepted_time",
            "event_time",
            "message_metadata",
            "correlation_id",
            "message",
            "message_delivery_report",
            "event",
            "duplicated_contact_identities_notification",
            "record_notification",
            "contact_message",
            "text_message",
            "media_message",
            "reply_to",
            "status",
            "reason",
            "code",
            "channel_identity",
            "channel",
            "contact_event",
            "composing_event",
            "entityId",
            "new_key",
        ])
        .prop_map(str::to_owned),
        "[a-z_]{1,12}",
    ]
}

/// Edits a JSON tree: the `at`-th node (pre-order) is replaced, removed
/// from its object, or given a new key.
fn edit(
    value: &mut serde_json::Value,
    at: &mut usize,
    op: u8,
    key: &str,
    new: &serde_json::Value,
) -> bool {
    use serde_json::Value;
    if *at == 0 {
        match (op % 3, &mut *value) {
            (0, _) => *value = new.clone(),
            (1, Value::Object(map)) => {
                let first = map.keys().next().cloned();
                if let Some(first) = first {
                    map.remove(&first);
                }
            }
            (_, Value::Object(map)) => {
                map.insert(key.to_owned(), new.clone());
            }
            _ => *value = new.clone(),
        }
        return true;
    }
    *at -= 1;
    match value {
        Value::Object(map) => map.values_mut().any(|v| edit(v, at, op, key, new)),
        Value::Array(list) => list.iter_mut().any(|v| edit(v, at, op, key, new)),
        _ => false,
    }
}

fn event_body() -> impl Strategy<Value = Vec<u8>> {
    let bodies = corpus_bodies();
    let mutated = (
        prop::sample::select(bodies.clone()),
        prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        any::<Option<prop::sample::Index>>(),
    )
        .prop_map(|(mut body, flips, cut)| {
            for (at, byte) in flips {
                let i = at.index(body.len());
                body[i] = byte;
            }
            if let Some(cut) = cut {
                body.truncate(cut.index(body.len() + 1));
            }
            body
        });
    let edited = (
        prop::sample::select(bodies),
        prop::collection::vec((0..200usize, any::<u8>(), json_key(), json_value()), 1..4),
    )
        .prop_map(|(body, edits)| {
            let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(&body) else {
                return body;
            };
            for (at, op, key, new) in edits {
                let mut at = at;
                edit(&mut value, &mut at, op, &key, &new);
            }
            serde_json::to_vec(&value).unwrap_or(body)
        });
    prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..256),
        1 => json_value().prop_map(|v| serde_json::to_vec(&v).unwrap_or_default()),
        3 => mutated,
        5 => edited,
    ]
}
