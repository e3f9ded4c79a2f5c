//! Callback signatures: known answers computed outside the crate, tampering,
//! the timestamp window, header handling.
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, HeaderName, HeaderValue};
use proptest::prelude::*;
use sinch_conversation::callbacks::{
    ALGORITHM_HEADER, NONCE_HEADER, SIGNATURE_HEADER, Signer, TIMESTAMP_HEADER, Verifier,
    VerifyError,
};

/// (secret, body, nonce, timestamp, signature).
///
/// Each signature was computed with Python's standard library:
/// `base64.b64encode(hmac.new(secret.encode(), body + b"." + nonce.encode() + b"." + ts.encode(), hashlib.sha256).digest())`;
/// the first also with OpenSSL:
/// `printf '%s' '<body>.<nonce>.<ts>' | openssl dgst -sha256 -hmac foo_secret1234 -binary | base64`.
const VECTORS: &[(&str, &[u8], &str, u64, &str)] = &[
    (
        "foo_secret1234",
        br#"{"app_id":"01APP","message":{"contact_message":{"text_message":{"text":"Hi"}}}}"#,
        "01FJA8B4A7BM43YGWSG9GBV067",
        1634579353,
        "sCZaG4Gtggfqg4z2rAGjh+3aaf9ulRbjrT+YGNG3cFc=",
    ),
    // A multi-line body and a non-ASCII secret (its UTF-8 bytes are the key).
    (
        "s3cr3t-ü",
        b"{\n  \"app_id\": \"A\",\n  \"event\": \"multi-line\"\n}",
        "nonce-with.dot",
        1700000000,
        "mkKFa43pbMbx+O0cTnX3ZvlbBuSjqdYOp6Qi9QQxuUs=",
    ),
    // A body ending in a newline: the newline is signed.
    (
        "k",
        b"{\"ends\":\"with newline\"}\n",
        "n",
        1,
        "HBKkyAF8d20P3Gc0tKRAyFCAGoPJIGxotlsObUFAeII=",
    ),
    (
        "empty-body",
        b"",
        "abc",
        1634579353,
        "KFSxBikPpkDWYltlGqkWttKycvfN3/nZ5K2vvzHRJ6o=",
    ),
];

fn headers(timestamp: &str, nonce: &str, algorithm: &str, signature: &str) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in [
        (TIMESTAMP_HEADER, timestamp),
        (NONCE_HEADER, nonce),
        (ALGORITHM_HEADER, algorithm),
        (SIGNATURE_HEADER, signature),
    ] {
        map.insert(
            HeaderName::from_static(name),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    map
}

fn at(seconds: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(seconds)
}

#[test]
fn known_answers_sign_and_verify() {
    for (secret, body, nonce, ts, signature) in VECTORS {
        let signed = Signer::new(*secret).sign_with(body, nonce, *ts);
        assert_eq!(signed.signature, *signature, "signing {secret:?}");
        let h = headers(&ts.to_string(), nonce, "HmacSHA256", signature);
        assert_eq!(
            Verifier::new(*secret).verify_at(&h, body, at(*ts)),
            Ok(()),
            "verifying {secret:?}"
        );
    }
}

#[test]
fn tampering_with_any_part_fails() {
    let (secret, body, nonce, ts, signature) = VECTORS[0];
    let verifier = Verifier::new(secret);
    let now = at(ts);
    let ts_s = ts.to_string();
    let mismatch = Err(VerifyError::SignatureMismatch);
    let mut other_body = body.to_vec();
    other_body[10] ^= 1;
    assert_eq!(
        verifier.verify_at(
            &headers(&ts_s, nonce, "HmacSHA256", signature),
            &other_body,
            now
        ),
        mismatch
    );
    // Re-serialised JSON (same meaning, other bytes) and a trailing newline.
    let reserialised =
        serde_json::to_vec_pretty(&serde_json::from_slice::<serde_json::Value>(body).unwrap())
            .unwrap();
    assert_eq!(
        verifier.verify_at(
            &headers(&ts_s, nonce, "HmacSHA256", signature),
            &reserialised,
            now
        ),
        mismatch
    );
    let newline = [body, b"\n"].concat();
    assert_eq!(
        verifier.verify_at(
            &headers(&ts_s, nonce, "HmacSHA256", signature),
            &newline,
            now
        ),
        mismatch
    );
    assert_eq!(
        verifier.verify_at(
            &headers(&ts_s, "other-nonce", "HmacSHA256", signature),
            body,
            now
        ),
        mismatch
    );
    let ts_plus = (ts + 1).to_string();
    assert_eq!(
        verifier.verify_at(
            &headers(&ts_plus, nonce, "HmacSHA256", signature),
            body,
            now
        ),
        mismatch
    );
    assert_eq!(
        Verifier::new("foo_secret1235").verify_at(
            &headers(&ts_s, nonce, "HmacSHA256", signature),
            body,
            now
        ),
        mismatch
    );
    let mut sig = signature.to_owned();
    sig.replace_range(0..1, "t");
    assert_eq!(
        verifier.verify_at(&headers(&ts_s, nonce, "HmacSHA256", &sig), body, now),
        mismatch
    );
    assert_eq!(
        verifier.verify_at(
            &headers(&ts_s, nonce, "HmacSHA256", "not base64!"),
            body,
            now
        ),
        mismatch
    );
}

#[test]
fn stale_and_future_timestamps_fail_and_the_window_is_configurable() {
    let (secret, body, nonce, ts, signature) = VECTORS[0];
    let h = headers(&ts.to_string(), nonce, "HmacSHA256", signature);
    let verifier = Verifier::new(secret);
    assert_eq!(verifier.verify_at(&h, body, at(ts + 300)), Ok(()));
    assert_eq!(verifier.verify_at(&h, body, at(ts - 300)), Ok(()));
    assert_eq!(
        verifier.verify_at(&h, body, at(ts + 301)),
        Err(VerifyError::OutsideWindow {
            skew: Duration::from_secs(301),
            future: false,
            tolerance: Duration::from_secs(300)
        })
    );
    assert_eq!(
        verifier.verify_at(&h, body, at(ts - 3600)),
        Err(VerifyError::OutsideWindow {
            skew: Duration::from_secs(3600),
            future: true,
            tolerance: Duration::from_secs(300)
        })
    );
    let strict = Verifier::new(secret).tolerance(Duration::from_secs(10));
    assert!(matches!(
        strict.verify_at(&h, body, at(ts + 11)),
        Err(VerifyError::OutsideWindow { .. })
    ));
    let off = Verifier::new(secret).without_timestamp_check();
    assert_eq!(off.verify_at(&h, body, at(ts + 10 * 365 * 86400)), Ok(()));
    // The real clock: a 2021 timestamp is far outside the default window.
    assert!(matches!(
        verifier.verify(&h, body),
        Err(VerifyError::OutsideWindow { future: false, .. })
    ));
}

#[test]
fn header_problems_have_their_own_errors() {
    let (secret, body, nonce, ts, signature) = VECTORS[0];
    let verifier = Verifier::new(secret);
    let full = headers(&ts.to_string(), nonce, "HmacSHA256", signature);
    for name in [
        TIMESTAMP_HEADER,
        NONCE_HEADER,
        ALGORITHM_HEADER,
        SIGNATURE_HEADER,
    ] {
        let mut h = full.clone();
        h.remove(name);
        assert_eq!(
            verifier.verify_at(&h, body, at(ts)),
            Err(VerifyError::MissingHeader(name))
        );
    }
    let h = headers("yesterday", nonce, "HmacSHA256", signature);
    assert_eq!(
        verifier.verify_at(&h, body, at(ts)),
        Err(VerifyError::MalformedTimestamp)
    );
    let h = headers(&ts.to_string(), nonce, "HmacSHA512", signature);
    assert_eq!(
        verifier.verify_at(&h, body, at(ts)),
        Err(VerifyError::UnsupportedAlgorithm("HmacSHA512".into()))
    );
    assert!(
        VerifyError::UnsupportedAlgorithm("HmacSHA512".into())
            .to_string()
            .contains("HmacSHA512")
    );
}

#[test]
fn header_names_are_case_insensitive() {
    let (secret, body, nonce, ts, signature) = VECTORS[0];
    let verifier = Verifier::new(secret).without_timestamp_check();
    let ts_s = ts.to_string();
    for case in [str::to_uppercase as fn(&str) -> String, |s: &str| {
        s.split('-')
            .map(|p| p[..1].to_uppercase() + &p[1..])
            .collect::<Vec<_>>()
            .join("-")
    }] {
        let pairs = [
            (case(TIMESTAMP_HEADER), ts_s.as_str()),
            (case(NONCE_HEADER), nonce),
            (case(ALGORITHM_HEADER), "HmacSHA256"),
            (case(SIGNATURE_HEADER), signature),
        ];
        let borrowed = pairs.iter().map(|(n, v)| (n.as_str(), *v));
        assert_eq!(
            verifier.verify_pairs(borrowed, body),
            Ok(()),
            "{:?}",
            pairs[0].0
        );
    }
    // http::HeaderMap lower-cases names given in any case.
    let mut map = HeaderMap::new();
    map.insert(
        HeaderName::from_bytes(b"X-Sinch-Webhook-Signature-Timestamp").unwrap(),
        ts_s.parse().unwrap(),
    );
    map.insert(
        HeaderName::from_bytes(b"X-SINCH-WEBHOOK-SIGNATURE-NONCE").unwrap(),
        nonce.parse().unwrap(),
    );
    map.insert(
        HeaderName::from_bytes(b"x-Sinch-Webhook-Signature-Algorithm").unwrap(),
        "HmacSHA256".parse().unwrap(),
    );
    map.insert(
        HeaderName::from_bytes(b"X-Sinch-Webhook-Signature").unwrap(),
        signature.parse().unwrap(),
    );
    assert_eq!(verifier.verify(&map, body), Ok(()));
}

#[test]
fn fresh_signatures_verify_now_and_errors_never_show_the_secret() {
    let secret = "SENTINEL-SECRET-9d2e";
    let signed = Signer::new(secret).sign(b"{\"x\":1}");
    let verifier = Verifier::new(secret);
    assert_eq!(
        verifier.verify(&signed.to_header_map(), b"{\"x\":1}"),
        Ok(())
    );
    let err = verifier
        .verify(&signed.to_header_map(), b"{\"x\":2}")
        .unwrap_err();
    for text in [
        err.to_string(),
        format!("{err:?}"),
        format!("{verifier:?}"),
        format!("{:?}", Signer::new(secret)),
    ] {
        assert!(!text.contains(secret), "{text}");
    }
}

#[test]
fn an_empty_secret_verifies_nothing() {
    for secret in ["", "  "] {
        // A signature anyone can compute: HMAC keyed with the empty string.
        let signed = Signer::new(secret).sign(b"{}");
        let result = Verifier::new(secret).verify(&signed.to_header_map(), b"{}");
        assert_eq!(result, Err(VerifyError::EmptySecret), "{secret:?}");
    }
    assert!(VerifyError::EmptySecret.to_string().contains("empty"));
}

#[test]
fn timestamps_too_large_for_the_clock_are_outside_the_window_not_a_panic() {
    let verifier = Verifier::new("s");
    for timestamp in [
        "18446744073709551615",
        "18446744073709551",
        "99999999999999",
    ] {
        let signed = Signer::new("s").sign_with(b"{}", "n", 0);
        let pairs = [
            (TIMESTAMP_HEADER, timestamp),
            (NONCE_HEADER, "n"),
            (ALGORITHM_HEADER, "HmacSHA256"),
            (SIGNATURE_HEADER, signed.signature.as_str()),
        ];
        let result = verifier.verify_pairs(pairs, b"{}");
        assert!(
            matches!(result, Err(VerifyError::OutsideWindow { future: true, .. })),
            "{timestamp}: {result:?}"
        );
        // The message is readable too.
        assert!(result.unwrap_err().to_string().contains("future"));
    }
}

proptest! {
    #[test]
    fn verification_never_panics(
        timestamp in prop_oneof!["\\PC{0,24}", "[0-9]{1,20}"],
        nonce in "\\PC{0,24}",
        algorithm in prop::sample::select(vec!["HmacSHA256".to_owned(), "".to_owned(), "x".repeat(100)]),
        signature in "\\PC{0,64}",
        body in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let verifier = Verifier::new("s");
        let pairs = [
            (TIMESTAMP_HEADER, timestamp.as_str()),
            (NONCE_HEADER, nonce.as_str()),
            (ALGORITHM_HEADER, algorithm.as_str()),
            (SIGNATURE_HEADER, signature.as_str()),
        ];
        let result = verifier.verify_pairs(pairs, &body);
        prop_assert!(result.is_err());
    }

    #[test]
    fn signing_then_verifying_round_trips(
        // At least one visible character: a blank secret is rightly refused
        // by `Verifier` (and tested on its own), so it cannot round-trip.
        secret in "\\PC{0,16}[!-~]\\PC{0,15}",
        nonce in "[A-Za-z0-9._-]{1,40}",
        body in prop::collection::vec(any::<u8>(), 0..256),
    ) {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
        let signed = Signer::new(secret.as_str()).sign_with(&body, &nonce, now);
        prop_assert_eq!(Verifier::new(secret.as_str()).verify(&signed.to_header_map(), &body), Ok(()));
    }
}
