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
    enum_variant_problems(spec, &mut problems);
    keyed_union_problems(spec, &mut problems);
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

/// `MESSAGE_DELIVERY` → `MessageDelivery`: the Rust variant of an enum
/// value or an identifying key (build.rs names variants with it).
pub fn variant_name(value: &str) -> String {
    value
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            let first = chars.next().map(|c| c.to_ascii_uppercase());
            first
                .into_iter()
                .chain(chars.map(|c| c.to_ascii_lowercase()))
                .collect::<String>()
        })
        .collect()
}

fn schemas(spec: &Value) -> impl Iterator<Item = (&String, &Value)> {
    spec.pointer("/components/schemas")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
}

fn ref_target(schema: &Value) -> Option<&str> {
    schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/components/schemas/"))
}

/// Two values of one string enum that would be the same Rust variant.
fn enum_variant_problems(spec: &Value, out: &mut Vec<String>) {
    for (name, schema) in schemas(spec) {
        let values = schema
            .get("enum")
            .and_then(Value::as_array)
            .into_iter()
            .flatten();
        let mut seen = std::collections::BTreeMap::new();
        for value in values.filter_map(Value::as_str) {
            if let Some(other) = seen.insert(variant_name(value), value) {
                out.push(format!(
                    "components.schemas.{name}: `{other}` and `{value}` would be the same Rust variant"
                ));
            }
        }
    }
}

/// The shapes `x-keyed-union` (build/keyed_union.rs) can generate from:
/// `enum` and `field` names; either `triggers` (key: a `WebhookTrigger`
/// value) or `keys` (a list); each key a `$ref` property, not `required`,
/// with its own variant name; other properties a `$ref`, a string (plain or
/// `date-time`) or a boolean.
fn keyed_union_problems(spec: &Value, out: &mut Vec<String>) {
    let triggers: Vec<&str> = spec
        .pointer("/components/schemas/WebhookTrigger/enum")
        .and_then(Value::as_array)
        .map(|v| v.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let known: Vec<&String> = schemas(spec).map(|(name, _)| name).collect();
    for (name, schema) in schemas(spec) {
        let Some(ext) = schema.get("x-keyed-union") else {
            continue;
        };
        let place = format!("components.schemas.{name}");
        let mut problem = |text: String| out.push(format!("{place}: {text}"));
        for key in ["enum", "field"] {
            if ext.get(key).and_then(Value::as_str).is_none() {
                problem(format!("x-keyed-union needs `{key}` (a string)"));
            }
        }
        if ext.get("optional").is_some_and(|o| !o.is_boolean()) {
            problem("x-keyed-union.optional must be true or false".to_owned());
        }
        if ext.get("optional") == Some(&Value::Bool(true)) && ext.get("triggers").is_some() {
            problem(
                "x-keyed-union.optional is for content unions (`keys`), not the envelope"
                    .to_owned(),
            );
        }
        let keys: Vec<(&str, &str)> = match (ext.get("triggers"), ext.get("keys")) {
            (Some(Value::Object(map)), None) => map
                .iter()
                .map(|(key, t)| (key.as_str(), t.as_str().unwrap_or("")))
                .collect(),
            (None, Some(Value::Array(list))) => list
                .iter()
                .filter_map(Value::as_str)
                .map(|k| (k, k))
                .collect(),
            _ => {
                problem("x-keyed-union needs either `triggers` (key: WebhookTrigger) or `keys` (a list of strings)".to_owned());
                continue;
            }
        };
        if keys.is_empty() {
            problem("x-keyed-union lists no keys".to_owned());
        }
        let by_trigger = ext.get("triggers").is_some();
        let properties = schema.get("properties").and_then(Value::as_object);
        let required: Vec<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut names = std::collections::BTreeSet::new();
        for (key, variant) in &keys {
            if by_trigger && !triggers.contains(variant) {
                problem(format!(
                    "x-keyed-union.triggers.{key} must be a value of WebhookTrigger"
                ));
            }
            let ident = variant_name(variant);
            if ident == "Unknown" || !names.insert(ident.clone()) {
                problem(format!(
                    "x-keyed-union gives two keys (or `Unknown`) the variant name `{ident}`"
                ));
            }
            match properties.and_then(|p| p.get(*key)).map(ref_target) {
                None => problem(format!(
                    "x-keyed-union key `{key}` is not one of its properties"
                )),
                Some(None) => problem(format!(
                    "{key}: an identifying key's property must be a $ref"
                )),
                Some(Some(_)) => {}
            }
            if required.contains(key) {
                problem(format!(
                    "{key}: an identifying key cannot be `required` (exactly one is present)"
                ));
            }
        }
        let field = ext.get("field").and_then(Value::as_str).unwrap_or("");
        for (prop, prop_schema) in properties.into_iter().flatten() {
            if keys.iter().any(|(k, _)| k == prop) {
                continue;
            }
            if prop == field {
                problem(format!(
                    "x-keyed-union.field `{field}` is also a property name"
                ));
            }
            let shape = (
                prop_schema.get("type").and_then(Value::as_str),
                prop_schema.get("format").and_then(Value::as_str),
            );
            let fits = match ref_target(prop_schema) {
                Some(target) => known.iter().any(|k| k.as_str() == target),
                None => {
                    matches!(
                        shape,
                        (Some("string"), None | Some("date-time")) | (Some("boolean"), None)
                    ) && prop_schema.get("enum").is_none()
                }
            };
            if !fits {
                problem(format!(
                    "{prop}: a keyed union's other properties must be a $ref to a schema, a string (plain or date-time) or a boolean"
                ));
            }
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
        "/components/schemas/TokenEndpoint",
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
