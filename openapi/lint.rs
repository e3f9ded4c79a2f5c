//! Spec lint (beside the spec it checks) shared by `build.rs` (which fails the build on what would break
//! generation) and `cargo xtask codegen --check` (which also checks that the
//! seed's limits are still in the spec). Works on the YAML parsed into JSON.

use serde_json::Value;

/// Problems that make progenitor fail or panic: a build must stop on these.
///
/// Each shape below was found in progenitor 0.15's method generation as an
/// `assert!`, `todo!` or `panic!` rather than an error: without this lint a
/// spec that has one fails the build with a generator backtrace.
pub fn generation_problems(spec: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let version = spec.get("openapi").and_then(Value::as_str).unwrap_or("");
    if !version.starts_with("3.0.") {
        problems.push(format!(
            "unsupported OpenAPI version {version:?}: progenitor accepts 3.0.x only (set `openapi: 3.0.3`)"
        ));
    }
    forward_compatibility_problems(spec, &mut problems);
    let Some(paths) = spec.get("paths").and_then(Value::as_object) else {
        problems.push("no `paths` object".to_owned());
        return problems;
    };
    for (path, item) in paths {
        let Some(item) = item.as_object() else {
            continue;
        };
        let shared_parameters = item.get("parameters");
        for (method, op) in item {
            if !matches!(
                method.as_str(),
                "get" | "put" | "post" | "delete" | "patch" | "head" | "options" | "trace"
            ) {
                continue;
            }
            let place = format!("{} {path}", method.to_uppercase());
            if op.get("operationId").and_then(Value::as_str).is_none() {
                problems.push(format!("operation {place} has no operationId"));
            }
            let parameters = shared_parameters
                .into_iter()
                .chain(op.get("parameters"))
                .filter_map(Value::as_array)
                .flatten()
                .map(|p| resolve(spec, p));
            for parameter in parameters {
                let name = parameter.get("name").and_then(Value::as_str).unwrap_or("");
                if parameter.get("in").and_then(Value::as_str) != Some("path") {
                    continue;
                }
                if parameter.get("required").and_then(Value::as_bool) != Some(true) {
                    problems.push(format!(
                        "operation {place}: path parameter `{name}` must have `required: true`"
                    ));
                }
                if !path.contains(&format!("{{{name}}}")) {
                    problems.push(format!(
                        "operation {place}: path parameter `{name}` does not appear in the path"
                    ));
                }
            }
            if let Some(body) = op.get("requestBody").map(|b| resolve(spec, b)) {
                let content = body.get("content").and_then(Value::as_object);
                if content.is_some_and(|c| c.len() > 1) {
                    problems.push(format!(
                        "operation {place}: the request body has more than one media type; keep one"
                    ));
                }
                media_type_problems(&place, "the request body", body, &mut problems);
            }
            let Some(responses) = op.get("responses").and_then(Value::as_object) else {
                problems.push(format!("operation {place} has no responses"));
                continue;
            };
            if responses.contains_key("default") {
                problems.push(format!(
                    "operation {place} has a `default` response: list each error status with one shared schema instead"
                ));
            }
            for (code, response) in responses {
                let what = format!("the {code} response");
                media_type_problems(&place, &what, resolve(spec, response), &mut problems);
            }
            for (success, kind) in [(true, "success"), (false, "error")] {
                let mut schemas: Vec<String> = responses
                    .iter()
                    .filter(|(code, _)| code.as_str() != "default")
                    .filter(|(code, _)| code.starts_with('2') == success)
                    .map(|(_, r)| response_schema(spec, r))
                    .collect();
                schemas.sort();
                schemas.dedup();
                if schemas.len() > 1 {
                    problems.push(format!(
                        "operation {place} has {kind} responses with {} different schemas \
                         (a response without a body counts as one): progenitor allows one {kind} type per operation",
                        schemas.len()
                    ));
                }
            }
        }
    }
    problems
}

/// Shapes that would make a response or callback from a newer Sinch fail
/// to decode: an inline string `enum` (typify makes it a closed enum; a
/// component one becomes an open enum with `Unknown`), and
/// `additionalProperties: false` (typify then denies unknown fields).
fn forward_compatibility_problems(spec: &Value, out: &mut Vec<String>) {
    let Some(schemas) = spec
        .pointer("/components/schemas")
        .and_then(Value::as_object)
    else {
        return;
    };
    for (name, schema) in schemas {
        walk_schema(&format!("components.schemas.{name}"), schema, true, out);
    }
}

fn walk_schema(place: &str, schema: &Value, top: bool, out: &mut Vec<String>) {
    let Some(map) = schema.as_object() else {
        return;
    };
    if !top && map.contains_key("enum") {
        out.push(format!(
            "{place}: an inline `enum` becomes a closed enum that fails on values Sinch adds; make it a component schema (it then becomes an open enum)"
        ));
    }
    if map.get("additionalProperties") == Some(&Value::Bool(false)) {
        out.push(format!(
            "{place}: `additionalProperties: false` makes a field Sinch adds fail the whole body; leave it out"
        ));
    }
    if let Some(properties) = map.get("properties").and_then(Value::as_object) {
        for (name, property) in properties {
            walk_schema(&format!("{place}.{name}"), property, false, out);
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(inner) = map.get(key) {
            walk_schema(&format!("{place}.{key}"), inner, false, out);
        }
    }
    for key in ["allOf", "oneOf", "anyOf"] {
        for (i, inner) in map
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            walk_schema(&format!("{place}.{key}[{i}]"), inner, false, out);
        }
    }
}

/// A JSON media type of a body or response must have a schema and no
/// `encoding` (progenitor panics on either).
fn media_type_problems(place: &str, what: &str, holder: &Value, out: &mut Vec<String>) {
    let Some(content) = holder.get("content").and_then(Value::as_object) else {
        return;
    };
    for (media_type, value) in content {
        if !media_type.starts_with("application/json") {
            continue;
        }
        if value.get("schema").is_none() {
            out.push(format!(
                "operation {place}: {what} has `{media_type}` without a schema"
            ));
        }
        if value
            .get("encoding")
            .and_then(Value::as_object)
            .is_some_and(|e| !e.is_empty())
        {
            out.push(format!(
                "operation {place}: {what} has an `encoding` for `{media_type}`, which progenitor does not support"
            ));
        }
    }
}

/// Follows a `$ref` (`#/...`) into the spec; anything else as it is.
fn resolve<'a>(spec: &'a Value, value: &'a Value) -> &'a Value {
    value
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix('#'))
        .and_then(|p| spec.pointer(p))
        .unwrap_or(value)
}

/// The limits the seed (`create-webhook.md`) states, as (JSON pointer into
/// the spec, keyword, expected value). Removing one from the spec would
/// silently drop a validation rule.
pub const SEED_LIMITS: &[(&str, &str, &str)] = &[
    ("/components/schemas/WebhookTarget", "maxLength", "742"),
    (
        "/components/schemas/WebhookTarget",
        "x-forbidden-host-patterns",
        r#"["conversation-api.*.sinch.com"]"#,
    ),
    (
        "/components/schemas/ClientCredentials/properties/scope",
        "maxLength",
        "1024",
    ),
    (
        "/components/schemas/ClientCredentials/properties/response_type",
        "maxLength",
        "64",
    ),
    (
        "/components/schemas/ClientCredentials/properties/endpoint",
        "x-expires-in-range",
        "[30,3600]",
    ),
    (
        "/components/schemas/TokenRequestType",
        "enum",
        r#"["BASIC","FORM"]"#,
    ),
    (
        "/components/schemas/WebhookTargetType",
        "enum",
        r#"["DISMISS","HTTP"]"#,
    ),
    (
        "/components/schemas/CreateWebhookRequest",
        "required",
        r#"["target","app_id"]"#,
    ),
    (
        "/components/schemas/ClientCredentials",
        "required",
        r#"["client_id","client_secret","endpoint"]"#,
    ),
];

/// Seed limits missing from, or different in, the spec.
pub fn contract_problems(spec: &Value) -> Vec<String> {
    SEED_LIMITS
        .iter()
        .filter_map(|(pointer, keyword, expected)| {
            let found = spec.pointer(pointer).and_then(|s| s.get(*keyword));
            let expected: Value = serde_json::from_str(expected).ok()?;
            match found {
                Some(v) if *v == expected => None,
                Some(v) => Some(format!(
                    "{pointer}: `{keyword}` is {v}, the seed says {expected}"
                )),
                None => Some(format!(
                    "{pointer}: `{keyword}` ({expected}) is missing; the seed requires it"
                )),
            }
        })
        .collect()
}

/// The schema of a response (following a `$ref` into components), as text.
fn response_schema(spec: &Value, response: &Value) -> String {
    resolve(spec, response)
        .pointer("/content/application~1json/schema")
        .map(Value::to_string)
        .unwrap_or_else(|| "(no body)".to_owned())
}
