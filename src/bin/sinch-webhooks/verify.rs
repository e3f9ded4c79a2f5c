//! `sinch-webhooks verify`: does a captured callback verify, and if not,
//! which part fails. Never prints a secret.
use std::process::ExitCode;
use std::time::Duration;

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::json;
use sinch_conversation::callbacks::Verifier;

use crate::args::{Output, Verify};
use crate::show::{FAILED, INVALID};

/// Headers as `curl -D` writes them: `Name: value` a line; a status or
/// request line, blank lines and lines without a colon are skipped.
fn headers(text: &str) -> Result<HeaderMap, String> {
    let mut map = HeaderMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.starts_with("HTTP/") || line.trim().is_empty() {
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let name = HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|_| format!("line {}: not a header name: {:?}", n + 1, name.trim()))?;
        let value = HeaderValue::from_str(value.trim())
            .map_err(|_| format!("line {}: not a header value", n + 1))?;
        map.append(name, value);
    }
    Ok(map)
}

pub fn run(flags: &Verify, output: Output) -> ExitCode {
    let invalid = |why: String| {
        eprintln!("error: {why}");
        ExitCode::from(INVALID)
    };
    if flags.secrets.iter().any(|s| s.trim().is_empty()) {
        return invalid("--secret must not be empty or blank".to_owned());
    }
    let headers_text = match std::fs::read_to_string(&flags.headers_file) {
        Ok(text) => text,
        Err(e) => {
            return invalid(format!(
                "--headers-file {}: {e}",
                flags.headers_file.display()
            ));
        }
    };
    // The body exactly as received: not trimmed, not re-encoded.
    let body = match std::fs::read(&flags.body_file) {
        Ok(body) => body,
        Err(e) => return invalid(format!("--body-file {}: {e}", flags.body_file.display())),
    };
    let headers = match headers(&headers_text) {
        Ok(headers) => headers,
        Err(why) => return invalid(format!("--headers-file: {why}")),
    };
    let verifier = Verifier::with_secrets(flags.secrets.iter().map(String::as_str));
    let verifier = match flags.tolerance_secs {
        0 => verifier.without_timestamp_check(),
        secs => verifier.tolerance(Duration::from_secs(secs)),
    };
    match verifier.verify(&headers, &body) {
        Ok(()) => {
            let event = sinch_conversation::events::parse(&body);
            let (trigger, key, note) = match &event {
                Ok(event) => (
                    Some(match event.trigger() {
                        Some(trigger) => trigger.to_string(),
                        None => event.event.key().to_owned(),
                    }),
                    Some(event.idempotency_key(&body)),
                    None,
                ),
                Err(e) => (
                    None,
                    None,
                    Some(format!("but the body is not a Sinch event: {e}")),
                ),
            };
            match output {
                Output::Json => say!(
                    "{}",
                    json!({"verified": true, "trigger": trigger, "key": key, "note": note})
                ),
                Output::Text => {
                    say!(
                        "verified: the signature matches one of the {} secret(s)",
                        verifier.secret_count()
                    );
                    if let (Some(trigger), Some(key)) = (&trigger, &key) {
                        say!("event: {trigger} {key}");
                    }
                    if let Some(note) = &note {
                        say!("{note}");
                    }
                }
            }
            ExitCode::SUCCESS
        }
        Err(why) => {
            match output {
                Output::Json => say!("{}", json!({"verified": false, "reason": why.to_string()})),
                Output::Text => say!("not verified: {why}"),
            }
            ExitCode::from(FAILED)
        }
    }
}
