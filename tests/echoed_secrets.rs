//! A server that echoes the request's secrets back in every encoding a
//! server or a proxy may use — as written, percent-encoded from UTF-8
//! (upper and lower case), JSON-escaped (`\uXXXX`), HTML-escaped (named,
//! decimal and hex entities), across the 2 KiB cut, in a `Location` header,
//! and the key's Basic credential in base64 — never gets one into an
//! error's `Display`, `Debug`, `body()` or `location()`. Secrets are
//! generated with non-ASCII and markup characters.
mod common;

use common::{Reply, reply, serve};
use proptest::prelude::*;
use sinch_conversation::{Client, Error};

/// Every form a secret is echoed in, and checked for afterwards.
fn encodings(secret: &str) -> Vec<String> {
    let percent = |upper: bool| {
        secret
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else if upper {
                    format!("%{b:02X}")
                } else {
                    format!("%{b:02x}")
                }
            })
            .collect::<String>()
    };
    let json = secret
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_string()
            } else {
                let mut units = [0u16; 2];
                c.encode_utf16(&mut units)
                    .iter()
                    .map(|u| format!("\\u{u:04x}"))
                    .collect()
            }
        })
        .collect::<String>();
    let html = secret
        .chars()
        .enumerate()
        .map(|(i, c)| match (c, i % 3) {
            ('&', _) => "&amp;".to_owned(),
            ('<', _) => "&lt;".to_owned(),
            ('>', _) => "&gt;".to_owned(),
            ('"', _) => "&quot;".to_owned(),
            (c, _) if c.is_ascii_alphanumeric() => c.to_string(),
            (c, 0) => format!("&#{};", c as u32),
            (c, 1) => format!("&#x{:x};", c as u32),
            (c, _) => format!("&#X{:X};", c as u32),
        })
        .collect::<String>();
    vec![secret.to_owned(), percent(true), percent(false), json, html]
}

fn secret() -> impl Strategy<Value = String> {
    // Never blank (a blank secret is refused before anything is sent), and
    // long enough not to be found by chance in an answer.
    "[a-zA-Z0-9éüß€😀&<>\"' ]{10,24}".prop_map(|s| format!("Sx{s}"))
}

fn shown(err: &Error) -> String {
    let mut out = format!("{err}\n{err:?}\n");
    if let Error::Api(api) = err {
        out.push_str(api.body());
        out.push_str(api.location().unwrap_or_default());
        out.push_str(api.message().unwrap_or_default());
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn echoed_secrets_reach_no_output(secret in secret(), straddle in 0usize..8) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let (server, url) = serve().await;
            let client = Client::builder()
                .project_id("proj")
                .base_url(&url)
                .basic_auth("kid", secret.as_str())
                .retry(common::fast_retry())
                .recover_ambiguous_creates(false)
                .build()
                .unwrap();
            let forms = encodings(&secret);
            let basic = common::base64_of(&format!("kid:{secret}"));
            let everything = format!("{} Authorization: Basic {basic}", forms.join(" | "));
            // The secret starts `straddle` bytes before the 2 KiB cut.
            let pad = "x".repeat(2048 - straddle);
            let straddling = format!("{pad}{secret} and more after the cut");
            let mut redirect = reply(302, "");
            redirect.headers.push(("location", format!("https://e.com/back?secret={}&raw={}", forms[1], forms[0])));
            let answers: Vec<Reply> = vec![
                reply(400, &everything),
                reply(400, &format!(r#"{{"error":{{"code":400,"message":"{}","status":"INVALID_ARGUMENT"}}}}"#, forms[3])),
                reply(400, &straddling),
                redirect,
            ];
            for answer in answers {
                server.script_api([answer]);
                let err = client
                    .create_webhook("app", "https://e.com/h")
                    .trigger("MESSAGE_INBOUND")
                    .secret(secret.as_str())
                    .send()
                    .await
                    .unwrap_err();
                let out = shown(&err);
                for form in forms.iter().chain([&basic]) {
                    prop_assert!(!out.contains(form.as_str()), "{form:?} in {out}");
                }
                // No prefix of the secret left at the cut either.
                let prefix: String = secret.chars().take(6).collect();
                prop_assert!(!out.contains(&format!("x{prefix}")), "a prefix at the cut: {out}");
            }
            Ok(())
        })?;
    }
}

#[tokio::test]
async fn the_body_is_given_as_received_and_the_decoded_error_separately() {
    let (server, url) = serve().await;
    let client = common::basic(&url);
    // Key order, spacing and a field Sinch adds: kept as received.
    let body = r#"{ "error" : {"status":"INVALID_ARGUMENT", "message":"bad", "code":400, "new_field":[1, 2]} }"#;
    server.script_api([reply(400, body)]);
    let err = client.list_webhooks("app").await.unwrap_err();
    let Error::Api(api) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(api.body(), body);
    assert_eq!(api.message(), Some("bad"));
    assert_eq!(api.api_status(), Some("INVALID_ARGUMENT"));
    assert_eq!(api.code(), Some(400));
}

#[tokio::test]
async fn a_token_endpoint_echoing_the_key_across_the_cut_leaves_no_prefix() {
    let (server, url) = serve().await;
    let client = common::oauth(&url);
    let basic = common::base64_of(&format!("kid:{}", common::SENTINEL));
    for echoed in [common::SENTINEL.to_owned(), basic.clone()] {
        // The echo starts 10 bytes before the 2 KiB cut: scrubbed whole
        // first, no prefix of it is left at the cut.
        let body = format!("{}{echoed} and more", "x".repeat(2048 - 10));
        server.script_tokens([reply(401, &body)]);
        let err = client.list_webhooks("app").await.unwrap_err();
        assert!(matches!(err, Error::Auth(_)), "{err:?}");
        let shown = format!("{err}\n{err:?}");
        let prefix: String = echoed.chars().take(10).collect();
        assert!(!shown.contains(&prefix), "{prefix:?} in {shown}");
    }
}
