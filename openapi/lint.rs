//! Spec lint (beside the spec it checks) shared by `build.rs` (which fails the build on what would break
//! generation) and `cargo xtask codegen --check` (which also checks that the
//! seed's limits are still in the spec). Works on the YAML parsed into JSON.

use serde_json::Value;

/// Problems that make progenitor fail or panic: a build must stop on these.
pub fn generation_problems(spec: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let version = spec.get("openapi").and_then(Value::as_str).unwrap_or("");
    if !version.starts_with("3.0.") {
        problems.push(format!(
            "unsupported OpenAPI version {version:?}: progenitor accepts 3.0.x only (set `openapi: 3.0.3`)"
        ));
    }
    let Some(paths) = spec.get("paths").and_then(Value::as_object) else {
        problems.push("no `paths` object".to_owned());
        return problems;
    };
    for (path, item) in paths {
        let Some(item) = item.as_object() else {
            continue;
        };
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
            let Some(responses) = op.get("responses").and_then(Value::as_object) else {
                problems.push(format!("operation {place} has no responses"));
                continue;
            };
            if responses.contains_key("default") {
                problems.push(format!(
                    "operation {place} has a `default` response: list each error status with one shared schema instead"
                ));
            }
            let mut error_schemas: Vec<String> = responses
                .iter()
                .filter(|(code, _)| !code.starts_with('2') && code.as_str() != "default")
                .map(|(_, r)| response_schema(spec, r))
                .collect();
            error_schemas.sort();
            error_schemas.dedup();
            if error_schemas.len() > 1 {
                problems.push(format!(
                    "operation {place} has error responses with {} different schemas: progenitor allows one error type per operation",
                    error_schemas.len()
                ));
            }
        }
    }
    problems
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
    let resolved = match response.get("$ref").and_then(Value::as_str) {
        Some(r) => r
            .strip_prefix('#')
            .and_then(|p| spec.pointer(p))
            .unwrap_or(response),
        None => response,
    };
    resolved
        .pointer("/content/application~1json/schema")
        .map(Value::to_string)
        .unwrap_or_else(|| "(no body)".to_owned())
}
