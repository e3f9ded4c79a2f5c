//! `sinch-webhooks trigger`: a realistic, correctly signed callback for any
//! of the 21 triggers, sent to a receiver (or printed).
use std::process::ExitCode;

use serde_json::Value;
use sinch_conversation::WebhookTrigger;
use sinch_conversation::callbacks::Signer;

use crate::args::{Output, Trigger};
use crate::show::{FAILED, INVALID};

/// One body a trigger, from Sinch's published examples and the crate's
/// corpus (`tests/corpus/events/`); `tests/cli.rs` checks each parses to
/// its trigger.
fn fixture(trigger: &WebhookTrigger) -> Option<&'static str> {
    Some(match trigger.as_str() {
        "MESSAGE_INBOUND" => include_str!("fixtures/message_inbound.json"),
        "MESSAGE_INBOUND_SMART_CONVERSATION_REDACTION" => {
            include_str!("fixtures/message_inbound_smart_conversation_redaction.json")
        }
        "MESSAGE_DELIVERY" => include_str!("fixtures/message_delivery.json"),
        "MESSAGE_SUBMIT" => include_str!("fixtures/message_submit.json"),
        "EVENT_INBOUND" => include_str!("fixtures/event_inbound.json"),
        "EVENT_DELIVERY" => include_str!("fixtures/event_delivery.json"),
        "CONVERSATION_START" => include_str!("fixtures/conversation_start.json"),
        "CONVERSATION_STOP" => include_str!("fixtures/conversation_stop.json"),
        "CONVERSATION_DELETE" => include_str!("fixtures/conversation_delete.json"),
        "CONTACT_CREATE" => include_str!("fixtures/contact_create.json"),
        "CONTACT_DELETE" => include_str!("fixtures/contact_delete.json"),
        "CONTACT_UPDATE" => include_str!("fixtures/contact_update.json"),
        "CONTACT_MERGE" => include_str!("fixtures/contact_merge.json"),
        "CONTACT_IDENTITIES_DUPLICATION" => {
            include_str!("fixtures/contact_identities_duplication.json")
        }
        "CAPABILITY" => include_str!("fixtures/capability.json"),
        "OPT_IN" => include_str!("fixtures/opt_in.json"),
        "OPT_OUT" => include_str!("fixtures/opt_out.json"),
        "CHANNEL_EVENT" => include_str!("fixtures/channel_event.json"),
        "SMART_CONVERSATION" => include_str!("fixtures/smart_conversation.json"),
        "RECORD_NOTIFICATION" => include_str!("fixtures/record_notification.json"),
        "UNSUPPORTED" => include_str!("fixtures/unsupported.json"),
        _ => return None,
    })
}

/// Keys whose string values identify an event: suffixed so that each
/// callback of `--count` is a distinct event.
const ID_KEYS: [&str; 6] = [
    "id",
    "message_id",
    "event_id",
    "request_id",
    "entity_id",
    "contact_ids",
];

fn distinct(value: &mut Value, suffix: &str) {
    match value {
        Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                match value {
                    Value::String(s) if ID_KEYS.contains(&key.as_str()) => s.push_str(suffix),
                    Value::Array(items) if key == "contact_ids" => {
                        for item in items.iter_mut() {
                            if let Value::String(s) = item {
                                s.push_str(suffix);
                            }
                        }
                    }
                    other => distinct(other, suffix),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| distinct(v, suffix)),
        _ => {}
    }
}

/// `path=value` (dotted path; the value as JSON, or else as a string).
fn apply_override(value: &mut Value, spec: &str) -> Result<(), String> {
    let (path, raw) = spec
        .split_once('=')
        .ok_or_else(|| format!("--override {spec:?}: expected path=value"))?;
    if path.is_empty() {
        return Err(format!("--override {spec:?}: empty path"));
    }
    let new: Value = serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_owned()));
    let mut at = value;
    let parts: Vec<&str> = path.split('.').collect();
    for (i, part) in parts.iter().enumerate() {
        if !at.is_object() {
            *at = Value::Object(serde_json::Map::new());
        }
        let Value::Object(map) = at else {
            return Err(format!("--override {spec:?}: not an object at {part}"));
        };
        if i + 1 == parts.len() {
            map.insert((*part).to_owned(), new);
            return Ok(());
        }
        at = map
            .entry((*part).to_owned())
            .or_insert_with(|| Value::Object(serde_json::Map::new()));
    }
    Ok(())
}

/// The `n`-th body: the fixture with the given ids, distinct ids, now as
/// its times, then the overrides.
fn body(flags: &Trigger, fixture: &str, n: u32, run: u32) -> Result<Vec<u8>, String> {
    let mut value: Value = serde_json::from_str(fixture).map_err(|e| format!("fixture: {e}"))?;
    distinct(&mut value, &format!("-{run:08x}{n:04}"));
    let now = chrono::DateTime::<chrono::Utc>::from(std::time::SystemTime::now())
        + chrono::Duration::microseconds(i64::from(n));
    let stamp = now.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    if let Value::Object(map) = &mut value {
        map.insert("accepted_time".to_owned(), Value::String(stamp.clone()));
        map.insert("event_time".to_owned(), Value::String(stamp));
        if let Some(app) = &flags.app_id {
            map.insert("app_id".to_owned(), Value::String(app.clone()));
        }
        if let Some(project) = &flags.project_id {
            map.insert("project_id".to_owned(), Value::String(project.clone()));
        }
    }
    for spec in &flags.overrides {
        apply_override(&mut value, spec)?;
    }
    serde_json::to_vec(&value).map_err(|e| e.to_string())
}

pub async fn run(flags: &Trigger, output: Output) -> ExitCode {
    let invalid = |why: String| {
        eprintln!("error: {why}");
        ExitCode::from(INVALID)
    };
    let trigger = WebhookTrigger::from(flags.trigger.to_ascii_uppercase().as_str());
    let Some(fixture) = fixture(&trigger) else {
        let known: Vec<String> = WebhookTrigger::KNOWN
            .iter()
            .filter(|t| fixture(t).is_some())
            .map(ToString::to_string)
            .collect();
        return invalid(format!(
            "unknown trigger {:?}; one of {}",
            flags.trigger,
            known.join(", ")
        ));
    };
    if flags.secret.trim().is_empty() {
        return invalid("--secret must not be empty or blank".to_owned());
    }
    let url = match (&flags.forward_to, flags.print) {
        (Some(url), _) => match reqwest::Url::parse(url) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => Some(url),
            _ => return invalid("--forward-to must be an absolute http(s) URL".to_owned()),
        },
        (None, true) => None,
        (None, false) => return invalid("--forward-to URL is required (or --print)".to_owned()),
    };
    let mut bodies = Vec::new();
    let run = fastrand::u32(..);
    for n in 0..flags.count {
        match body(flags, fixture, n, run) {
            Ok(body) => bodies.push(body),
            Err(why) => return invalid(why),
        }
    }
    crate::command::install_crypto_provider();
    let http = reqwest::Client::new();
    let signer = Signer::new(flags.secret.as_str());
    let mut failed = false;
    for body in &bodies {
        let key = sinch_conversation::events::parse(body)
            .map(|e| e.idempotency_key(body))
            .unwrap_or_else(|e| format!("(not an event: {e})"));
        for _ in 0..if flags.duplicate { 2 } else { 1 } {
            // Each copy signed afresh (a new nonce), as Sinch's retries are.
            let signed = signer.sign(body);
            let Some(url) = url.as_ref().filter(|_| !flags.print) else {
                say!(
                    "POST {}",
                    // `TargetUrl`'s `Display` shows a URL password as `***`.
                    url.as_ref().map_or("(no --forward-to)".to_owned(), |u| {
                        sinch_conversation::TargetUrl::from(u.as_str()).to_string()
                    })
                );
                for (name, value) in signed.pairs() {
                    say!("{name}: {value}");
                }
                say!("content-type: application/json\n");
                say!("{}\n", String::from_utf8_lossy(body));
                continue;
            };
            let mut request = http
                .post(url.clone())
                .header("content-type", "application/json")
                .body(body.clone());
            for (name, value) in signed.pairs() {
                request = request.header(name, value);
            }
            let (status, detail) = match request.send().await {
                Ok(answer) => (Some(answer.status().as_u16()), None),
                Err(e) => (None, Some(e.without_url().to_string())),
            };
            failed |= !status.is_some_and(|s| (200..300).contains(&s));
            match output {
                Output::Json => say!(
                    "{}",
                    serde_json::json!({"trigger": trigger.as_str(), "key": key, "status": status, "error": detail})
                ),
                Output::Text => match (status, detail) {
                    (Some(status), _) => say!("{trigger} {key} {status}"),
                    (None, Some(why)) => say!("{trigger} {key} failed ({why})"),
                    (None, None) => say!("{trigger} {key} failed"),
                },
            }
        }
    }
    if failed {
        ExitCode::from(FAILED)
    } else {
        ExitCode::SUCCESS
    }
}
