//! The spec against its sources, and the generated types against the spec.
//!
//! - `spec_has_every_seed_field`: walks the seed (a copy of
//!   `create-webhook.md` in `tests/fixtures/`) and checks each field, type,
//!   required flag, description, enum value (in the seed's order) and limit
//!   is in `openapi/webhooks.yaml`.
//! - `generated_types_agree_with_spec`: derives JSON Schema from the generated
//!   types with schemars and compares it with the YAML's schemas, catching
//!   generator drift that a snapshot would only record.

use std::collections::BTreeMap;

use serde_json::Value;
use sinch_conversation::types;

const SEED: &str = include_str!("fixtures/seed-create-webhook.md");
const SPEC: &str = include_str!("../openapi/webhooks.yaml");

fn spec() -> Value {
    serde_norway::from_str(SPEC).expect("the spec parses")
}

/// Follows `$ref`s (`#/...` pointers into `root`).
fn resolve<'a>(root: &'a Value, mut schema: &'a Value) -> &'a Value {
    while let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        schema = root
            .pointer(r.trim_start_matches('#'))
            .unwrap_or_else(|| panic!("dangling $ref {r}"));
    }
    schema
}

fn normalize(text: &str) -> String {
    // Markdown links become their text; whitespace is folded.
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find('[') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match (after.find("]("), after.find(')')) {
            (Some(close), Some(end)) if close < end => {
                out.push_str(&after[..close]);
                rest = &after[end + 1..];
            }
            _ => {
                out.push('[');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

struct SeedField {
    section: String,
    name: String,
    ty: String,
    required: bool,
    description: String,
    enum_values: Vec<String>,
}

fn seed_fields() -> Vec<SeedField> {
    let mut fields = Vec::new();
    let mut section = String::new();
    for line in SEED.lines() {
        if let Some(heading) = line.strip_prefix("## ") {
            section = heading.trim_end_matches(':').to_owned();
            continue;
        }
        let Some(rest) = line.strip_prefix("- `") else {
            continue;
        };
        let (name, rest) = rest.split_once("` (").expect("field line shape");
        let (kind, rest) = rest.split_once(')').expect("field line shape");
        let mut kind = kind.split(", ");
        let ty = kind.next().unwrap_or_default().to_owned();
        let required = kind.any(|k| k == "required");
        let (description, enum_values) = match rest.split_once("Enum: ") {
            Some((d, e)) => (
                d,
                e.split(", ")
                    .map(|v| v.trim_matches('"').to_owned())
                    .collect(),
            ),
            None => (rest, Vec::new()),
        };
        fields.push(SeedField {
            section: section.clone(),
            name: name.to_owned(),
            ty,
            required,
            description: normalize(description),
            enum_values,
        });
    }
    fields
}

/// The operation in the spec that the seed describes.
fn operation(spec: &Value) -> &Value {
    spec.pointer("/paths/~1v1~1projects~1{project_id}~1webhooks/post")
        .expect("POST /v1/projects/{project_id}/webhooks is in the spec")
}

/// Root schema of a seed section.
fn section_root<'a>(spec: &'a Value, section: &str) -> &'a Value {
    let op = operation(spec);
    if section.starts_with("Request fields") {
        return resolve(
            spec,
            &op["requestBody"]["content"]["application/json"]["schema"],
        );
    }
    let code = section
        .strip_prefix("Response ")
        .and_then(|s| s.split_whitespace().next())
        .unwrap_or_else(|| panic!("unknown seed section {section}"));
    let response = resolve(spec, &op["responses"][code]);
    resolve(spec, &response["content"]["application/json"]["schema"])
}

#[test]
fn spec_has_every_seed_field() {
    let spec = spec();
    let fields = seed_fields();
    assert!(
        fields.len() > 40,
        "the seed parsed to {} fields",
        fields.len()
    );
    for field in &fields {
        let place = format!("{} `{}`", field.section, field.name);
        if field.section.starts_with("Path parameters") {
            let params = operation(&spec)["parameters"]
                .as_array()
                .expect("parameters");
            let param = params
                .iter()
                .map(|p| resolve(&spec, p))
                .find(|p| p["name"] == field.name.as_str())
                .unwrap_or_else(|| panic!("{place}: missing"));
            assert_eq!(param["in"], "path", "{place}");
            assert_eq!(param["required"], field.required, "{place}: required");
            assert_eq!(param["schema"]["type"], field.ty.as_str(), "{place}: type");
            assert!(
                normalize(param["description"].as_str().unwrap_or("")).contains(&field.description),
                "{place}: description"
            );
            continue;
        }
        // Walk `a.b.c` from the section's root, through objects and arrays.
        let mut parent = section_root(&spec, &field.section);
        let parts: Vec<&str> = field.name.split('.').collect();
        for part in &parts[..parts.len() - 1] {
            let mut next = resolve(&spec, &parent["properties"][*part]);
            if next["type"] == "array" {
                next = resolve(&spec, &next["items"]);
            }
            parent = next;
        }
        let last = parts[parts.len() - 1];
        let property = &parent["properties"][last];
        assert!(!property.is_null(), "{place}: missing from the spec");
        let schema = resolve(&spec, property);
        assert_eq!(schema["type"], field.ty.as_str(), "{place}: type");
        let required: Vec<&str> = parent["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        // The one deliberate difference: whether Sinch echoes secrets in
        // answers is not documented, so an answer without `client_secret`
        // must decode (`StoredClientCredentials`); a request requires it.
        let not_echoed = field.section.starts_with("Response")
            && field.name == "client_credentials.client_secret";
        assert_eq!(
            required.contains(&last),
            field.required && !not_echoed,
            "{place}: required flag"
        );
        let description = property["description"]
            .as_str()
            .or(schema["description"].as_str())
            .map(normalize)
            .unwrap_or_default();
        assert!(
            description.contains(&field.description),
            "{place}: description {description:?} does not contain the seed's {:?}",
            field.description
        );
        if !field.enum_values.is_empty() {
            let holder = if schema["type"] == "array" {
                resolve(&spec, &schema["items"])
            } else {
                schema
            };
            let values: Vec<&str> = holder["enum"]
                .as_array()
                .unwrap_or_else(|| panic!("{place}: no enum"))
                .iter()
                .filter_map(Value::as_str)
                .collect();
            // The seed's values, in the seed's order; newer values may follow.
            let mut at = 0;
            for value in &field.enum_values {
                let found = values[at..].iter().position(|v| v == value);
                let found = found.unwrap_or_else(|| {
                    panic!("{place}: enum value {value} missing or out of the seed's order")
                });
                at += found + 1;
            }
        }
        check_limits(&place, &field.description, schema);
    }
}

/// The limits the seed states in prose, as schema keywords or extensions.
fn check_limits(place: &str, description: &str, schema: &Value) {
    for marker in ["Maximum URL length is ", "Max length: "] {
        if let Some(rest) = description.split_once(marker).map(|(_, r)| r) {
            let n: u64 = rest
                .split(|c: char| !c.is_ascii_digit())
                .next()
                .and_then(|d| d.parse().ok())
                .unwrap_or_else(|| panic!("{place}: no number after {marker:?}"));
            assert_eq!(schema["maxLength"], n, "{place}: maxLength");
        }
    }
    if description.contains("subdomains are forbidden") {
        let patterns = &schema["x-forbidden-host-patterns"];
        assert!(
            patterns
                .as_array()
                .is_some_and(|p| p.iter().any(|p| p == "conversation-api.*.sinch.com")),
            "{place}: x-forbidden-host-patterns"
        );
    }
    if description.contains("minimum of 30 seconds and a maximum of 3600 seconds") {
        assert_eq!(
            schema["x-expires-in-range"],
            serde_json::json!([30, 3600]),
            "{place}: x-expires-in-range"
        );
    }
}

/// What a schema says, flattened by JSON path: type, required, enum, format.
///
/// `maxLength` is left out: typify's length-checked newtypes derive a schema
/// without it (the check lives in their `TryFrom`), so
/// `generated_newtypes_enforce_spec_max_lengths` checks it by behaviour.
fn facts(root: &Value, schema: &Value, path: &str, out: &mut BTreeMap<String, Value>) {
    // `Option<T>` wraps the `$ref` in `anyOf`, so resolve on both sides of it.
    let schema = resolve(root, strip_null(resolve(root, schema)));
    let mut entry = serde_json::Map::new();
    let ty = match &schema["type"] {
        Value::Array(types) => types
            .iter()
            .find(|t| *t != "null")
            .cloned()
            .unwrap_or_default(),
        other => other.clone(),
    };
    entry.insert("type".into(), ty);
    for key in ["enum", "format"] {
        if let Some(v) = schema.get(key) {
            entry.insert(key.into(), v.clone());
        }
    }
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        let mut required: Vec<&str> = schema["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        required.sort_unstable();
        entry.insert("required".into(), serde_json::json!(required));
        let names: Vec<&String> = props.keys().collect();
        entry.insert("properties".into(), serde_json::json!(names));
        for (name, prop) in props {
            facts(root, prop, &format!("{path}.{name}"), out);
        }
    }
    if let Some(items) = schema.get("items") {
        facts(root, items, &format!("{path}[]"), out);
    }
    out.insert(path.to_owned(), Value::Object(entry));
}

/// `Option<T>` in schemars: `anyOf: [T, {type: null}]`; keep T.
fn strip_null(schema: &Value) -> &Value {
    match schema.get("anyOf").and_then(Value::as_array) {
        Some(options) => options
            .iter()
            .find(|o| o.get("type") != Some(&Value::from("null")))
            .unwrap_or(schema),
        None => schema,
    }
}

fn check_type<T: schemars::JsonSchema>(spec: &Value, name: &str) {
    let derived = serde_json::to_value(schemars::schema_for!(T)).expect("schema serialises");
    let mut from_rust = BTreeMap::new();
    facts(&derived, &derived, name, &mut from_rust);
    let schema = &spec["components"]["schemas"][name];
    let mut from_yaml = BTreeMap::new();
    facts(spec, schema, name, &mut from_yaml);
    assert_eq!(
        serde_json::to_string_pretty(&from_rust).unwrap_or_default(),
        serde_json::to_string_pretty(&from_yaml).unwrap_or_default(),
        "generated type {name} disagrees with the spec (left: schemars, right: YAML)"
    );
}

#[test]
fn generated_types_agree_with_spec() {
    let spec = spec();
    check_type::<types::CreateWebhookRequest>(&spec, "CreateWebhookRequest");
    check_type::<types::Webhook>(&spec, "Webhook");
    check_type::<types::WebhookUpdate>(&spec, "WebhookUpdate");
    check_type::<types::ListWebhooksResponse>(&spec, "ListWebhooksResponse");
    check_type::<types::ClientCredentials>(&spec, "ClientCredentials");
    check_type::<types::ErrorResponse>(&spec, "ErrorResponse");
    check_type::<sinch_conversation::WebhookTrigger>(&spec, "WebhookTrigger");
    check_type::<sinch_conversation::WebhookTargetType>(&spec, "WebhookTargetType");
    check_type::<sinch_conversation::TokenRequestType>(&spec, "TokenRequestType");
    // Callback events: the generated keyed unions and typify's payloads.
    use sinch_conversation::events as e;
    check_type::<e::CallbackEvent>(&spec, "CallbackEvent");
    check_type::<e::ContactMessage>(&spec, "ContactMessage");
    check_type::<e::ContactEvent>(&spec, "ContactEvent");
    check_type::<e::InboundMessage>(&spec, "InboundMessage");
    check_type::<e::MessageDeliveryReport>(&spec, "MessageDeliveryReport");
    check_type::<e::Contact>(&spec, "Contact");
    check_type::<e::RecordNotification>(&spec, "RecordNotification");
    check_type::<e::DuplicatedIdentitiesNotification>(&spec, "DuplicatedIdentitiesNotification");
    check_type::<e::ReasonCode>(&spec, "ReasonCode");
    check_type::<e::DeliveryStatus>(&spec, "DeliveryStatus");
}

/// `max` characters pass, `max + 1` fail, with multi-byte characters so that
/// bytes and characters are told apart (the spec counts characters).
fn check_max_length<T: for<'a> TryFrom<&'a str>>(spec: &Value, pointer: &str) {
    let max = spec
        .pointer(pointer)
        .and_then(|s| s["maxLength"].as_u64())
        .unwrap_or_else(|| panic!("{pointer} has a maxLength")) as usize;
    assert!(
        T::try_from("é".repeat(max).as_str()).is_ok(),
        "{pointer}: {max} chars"
    );
    assert!(
        T::try_from("é".repeat(max + 1).as_str()).is_err(),
        "{pointer}: {} chars",
        max + 1
    );
}

#[test]
fn generated_newtypes_enforce_spec_max_lengths() {
    let spec = spec();
    // The target is a `TargetUrl` (redacted `Debug`): the validator holds
    // its limit, counted in characters.
    let max = spec["components"]["schemas"]["WebhookTarget"]["maxLength"]
        .as_u64()
        .expect("WebhookTarget has a maxLength") as usize;
    let target = |chars: usize| {
        let prefix = "https://example.com/";
        let mut webhook = sinch_conversation::NewWebhook::new(
            "app",
            format!("{prefix}{}", "é".repeat(chars - prefix.len())),
        );
        webhook.triggers = vec![sinch_conversation::WebhookTrigger::MessageInbound];
        webhook.validate()
    };
    assert!(target(max).is_ok(), "{max} chars");
    let too_long = target(max + 1).expect_err("one character too many");
    assert!(too_long.at("target").is_some(), "{too_long}");
    check_max_length::<types::ClientCredentialsScope>(
        &spec,
        "/components/schemas/ClientCredentials/properties/scope",
    );
    check_max_length::<types::ClientCredentialsResponseType>(
        &spec,
        "/components/schemas/ClientCredentials/properties/response_type",
    );
}

#[test]
fn spec_constants_come_from_the_yaml() {
    let spec = spec();
    let s = &spec["components"]["schemas"];
    use sinch_conversation::spec as c;
    assert_eq!(
        s["WebhookTarget"]["maxLength"],
        c::WEBHOOK_TARGET_MAX_LENGTH
    );
    assert_eq!(
        s["ClientCredentials"]["properties"]["scope"]["maxLength"],
        c::CLIENT_CREDENTIALS_SCOPE_MAX_LENGTH
    );
    assert_eq!(
        s["ClientCredentials"]["properties"]["response_type"]["maxLength"],
        c::CLIENT_CREDENTIALS_RESPONSE_TYPE_MAX_LENGTH
    );
    assert_eq!(
        s["WebhookTarget"]["x-forbidden-host-patterns"],
        serde_json::json!(c::WEBHOOK_TARGET_FORBIDDEN_HOST_PATTERNS)
    );
    assert_eq!(
        s["CreateWebhookRequest"]["required"],
        serde_json::json!(c::CREATE_WEBHOOK_REQUEST_REQUIRED)
    );
}
