use proptest::prelude::*;
use serde_json::Value;

use super::*;

const SPEC: &str = include_str!("../../openapi/webhooks.yaml");

fn valid() -> NewWebhook {
    let mut w = NewWebhook::new("01APP", "https://example.com/sinch");
    w.triggers = vec![
        WebhookTrigger::MessageInbound,
        WebhookTrigger::MessageDelivery,
    ];
    w.secret = Some(Secret::from("webhook-secret"));
    w.client_credentials = Some(
        NewClientCredentials::new("cid", "client-secret", "https://auth.example.com/token")
            .scope("a b")
            .response_type("code")
            .token_request_type(TokenRequestType::Form),
    );
    w
}

fn paths(errors: &ValidationErrors) -> Vec<&str> {
    errors.violations().iter().map(Violation::path).collect()
}

#[test]
fn a_valid_request_passes_both_policies() {
    let request = valid().validate().expect("valid");
    assert_eq!(request.target.as_str(), "https://example.com/sinch");
    assert_eq!(request.target_type, Some(WebhookTargetType::Http));
    assert!(validate(&valid(), Policy::Server).is_ok());
}

// ---- Every constraint in the spec, broken one at a time -------------------

fn resolve<'a>(root: &'a Value, mut schema: &'a Value) -> &'a Value {
    while let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        schema = root
            .pointer(r.trim_start_matches('#'))
            .expect("ref resolves");
    }
    schema
}

#[derive(Debug)]
enum Constraint {
    Required,
    MaxLength(usize),
    Enum,
    ForbiddenHosts(Vec<String>),
    RefusedValues(Vec<String>),
}

/// (JSON path, constraint) for everything the request schema constrains.
fn constraints(root: &Value, schema: &Value, path: &str, out: &mut Vec<(String, Constraint)>) {
    let schema = resolve(root, schema);
    if let Some(n) = schema.get("maxLength").and_then(Value::as_u64) {
        out.push((path.to_owned(), Constraint::MaxLength(n as usize)));
    }
    if schema.get("enum").is_some() {
        out.push((path.to_owned(), Constraint::Enum));
    }
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    if let Some(v) = schema.get("x-forbidden-host-patterns") {
        out.push((path.to_owned(), Constraint::ForbiddenHosts(strings(v))));
    }
    if let Some(v) = schema.get("x-refused-values") {
        out.push((path.to_owned(), Constraint::RefusedValues(strings(v))));
    }
    for name in schema["required"].as_array().into_iter().flatten() {
        let name = name.as_str().expect("required names are strings");
        out.push((join(path, name), Constraint::Required));
    }
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        for (name, prop) in props {
            constraints(root, prop, &join(path, name), out);
        }
    }
    if let Some(items) = schema.get("items") {
        constraints(root, items, &format!("{path}[0]"), out);
    }
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

fn cc(w: &mut NewWebhook) -> &mut NewClientCredentials {
    w.client_credentials.get_or_insert_with(Default::default)
}

/// Sets the string at `path` of an otherwise valid request.
fn set(w: &mut NewWebhook, path: &str, value: &str) {
    match path {
        "app_id" => w.app_id = value.to_owned(),
        "target" => w.target = value.into(),
        "target_type" => w.target_type = Some(value.into()),
        "triggers[0]" => w.triggers = vec![value.into()],
        "client_credentials.client_id" => cc(w).client_id = value.to_owned(),
        "client_credentials.client_secret" => cc(w).client_secret = value.into(),
        "client_credentials.endpoint" => cc(w).endpoint = value.into(),
        "client_credentials.scope" => cc(w).scope = Some(value.to_owned()),
        "client_credentials.response_type" => cc(w).response_type = Some(value.to_owned()),
        "client_credentials.token_request_type" => cc(w).token_request_type = Some(value.into()),
        other => panic!("the spec constrains {other}, which this test cannot set: extend `set`"),
    }
}

/// A value of `len` characters that breaks nothing but the length.
fn long_value(path: &str, len: usize) -> String {
    let prefix = if path == "target" {
        "https://example.com/"
    } else {
        ""
    };
    format!("{prefix}{}", "x".repeat(len - prefix.len()))
}

#[test]
fn validator_names_every_constraint_in_the_spec() {
    let root: Value = serde_norway::from_str(SPEC).expect("spec parses");
    let schema = &root["components"]["schemas"]["CreateWebhookRequest"];
    let mut found = Vec::new();
    constraints(&root, schema, "", &mut found);
    assert!(found.len() >= 12, "walked only {found:?}");
    for (path, constraint) in &found {
        let mut cases: Vec<(NewWebhook, Policy)> = Vec::new();
        match constraint {
            Constraint::Required => {
                let mut w = valid();
                set(&mut w, path, "");
                cases.push((w, Policy::Client));
            }
            Constraint::MaxLength(n) => {
                let mut ok = valid();
                set(&mut ok, path, &long_value(path, *n));
                assert!(ok.validate().is_ok(), "{path}: exactly {n} must pass");
                let mut w = valid();
                set(&mut w, path, &long_value(path, n + 1));
                cases.push((w, Policy::Client));
            }
            Constraint::Enum => {
                let mut w = valid();
                set(&mut w, path, "NOT_IN_THE_SPEC");
                // token_request_type: Sinch silently falls back to BASIC, so
                // the client refuses and the server accepts. Other enums:
                // the client sends newer values, the server refuses them.
                if path.ends_with("token_request_type") {
                    assert!(
                        validate(&w, Policy::Server).is_ok(),
                        "{path}: server falls back"
                    );
                    cases.push((w, Policy::Client));
                } else {
                    assert!(
                        w.validate().is_ok(),
                        "{path}: the client sends newer values"
                    );
                    cases.push((w, Policy::Server));
                }
            }
            Constraint::ForbiddenHosts(patterns) => {
                for pattern in patterns {
                    let mut w = valid();
                    let host = pattern.replace('*', "eu");
                    set(&mut w, path, &format!("https://{host}/callback"));
                    cases.push((w, Policy::Client));
                }
            }
            Constraint::RefusedValues(values) => {
                for value in values {
                    let mut w = valid();
                    set(&mut w, path, value);
                    cases.push((w.clone(), Policy::Client));
                    cases.push((w, Policy::Server));
                }
            }
        }
        for (w, policy) in cases {
            let errors = validate(&w, policy).expect_err(path);
            assert_eq!(
                paths(&errors),
                [path.as_str()],
                "{constraint:?} under {policy:?}"
            );
        }
    }
}

// ---- Specific rules ---------------------------------------------------------

#[test]
fn all_violations_are_reported_at_once() {
    let mut w = valid();
    w.app_id = String::new();
    w.target = "not a url".into();
    w.triggers = vec![];
    let c = cc(&mut w);
    c.client_id = String::new();
    c.scope = Some("s".repeat(2000));
    let errors = w.validate().unwrap_err();
    assert_eq!(
        paths(&errors),
        [
            "app_id",
            "target",
            "triggers",
            "client_credentials.client_id",
            "client_credentials.scope"
        ]
    );
    assert_eq!(
        errors.at("client_credentials.scope").map(Violation::rule),
        Some(&Rule::MaxLength {
            max: 1024,
            actual: 2000
        })
    );
    let text = errors.to_string();
    assert!(
        text.starts_with("invalid request (5 problems): app_id: required"),
        "{text}"
    );
}

#[test]
fn forbidden_hosts_cannot_be_disguised() {
    for target in [
        "https://conversation-api.eu.sinch.com/x",
        "https://CONVERSATION-API.US.SINCH.COM/x",
        "https://conversation-api.br.sinch.com./x",
        "https://conversation-api.eu.sinch.com:8443/x",
        "https://user:pw@conversation-api.eu.sinch.com/x",
        "https://conversation%2Dapi.eu.sinch.com/x",
        "https://conversation-api.eu.sinch%2ecom/x",
        "https://deep.under.conversation-api.eu.sinch.com/x",
        "http://conversation-api.anything.sinch.com",
    ] {
        let mut w = valid();
        w.target = target.into();
        let errors = w.validate().expect_err(target);
        assert!(
            matches!(
                errors.at("target").map(Violation::rule),
                Some(Rule::ForbiddenHost { .. })
            ),
            "{target}: {errors}"
        );
    }
    for target in [
        "https://conversation-api.sinch.com/x",
        "https://conversation-api.eu.sinch.com.example.org/x",
        "https://example.com/conversation-api.eu.sinch.com",
        "https://conversation-api.eu.sinch.com@example.com/x",
        "https://eu.conversation.api.sinch.com.example.org/",
    ] {
        let mut w = valid();
        w.target = target.into();
        assert!(w.validate().is_ok(), "{target} should be allowed");
    }
}

#[test]
fn target_must_be_an_absolute_http_url() {
    for target in [
        "example.com/hook",
        "/hook",
        "ftp://example.com/hook",
        "https://",
        "https://exa mple.com",
        "https://example.com/\nhook",
        "mailto:a@example.com",
    ] {
        let mut w = valid();
        w.target = target.into();
        let errors = w.validate().expect_err(target);
        assert!(
            matches!(
                errors.at("target").map(Violation::rule),
                Some(Rule::NotHttpUrl(_))
            ),
            "{target:?}: {errors}"
        );
    }
}

#[test]
fn url_credentials_and_secrets_never_appear_in_messages() {
    let mut w = valid();
    w.target = "ftp://user:TOPSECRET@example.com/".into();
    w.secret = Some("TOPSECRET".into());
    let c = cc(&mut w);
    c.client_secret = "TOPSECRET".into();
    c.endpoint = "notaurl TOPSECRET".into();
    let errors = w.validate().unwrap_err();
    assert_eq!(paths(&errors), ["target", "client_credentials.endpoint"]);
    assert!(!errors.to_string().contains("TOPSECRET"), "{errors}");
    assert!(!format!("{errors:?}").contains("TOPSECRET"), "{errors:?}");
}

#[test]
fn trigger_policy() {
    let mut w = valid();
    w.triggers = vec![
        WebhookTrigger::MessageInbound,
        "BRAND_NEW".into(),
        WebhookTrigger::MessageInbound,
    ];
    let errors = w.validate().unwrap_err();
    assert_eq!(paths(&errors), ["triggers[2]"]);
    assert_eq!(
        errors.violations()[0].rule(),
        &Rule::DuplicateTrigger("MESSAGE_INBOUND".into())
    );
    // The server takes duplicates but not values it does not know.
    let errors = validate(&w, Policy::Server).unwrap_err();
    assert_eq!(paths(&errors), ["triggers[1]"]);
    // Empty lists: refused by the client only.
    w.triggers.clear();
    assert_eq!(paths(&w.validate().unwrap_err()), ["triggers"]);
    assert!(validate(&w, Policy::Server).is_ok());
}

#[test]
fn duplicates_are_found_in_long_trigger_lists_too() {
    // Above 32 triggers the check switches from scanning to a set.
    let mut w = valid();
    w.triggers = (0..40)
        .map(|i| WebhookTrigger::from(format!("NEW_{i}")))
        .collect();
    assert!(w.validate().is_ok());
    w.triggers.push("NEW_7".into());
    let errors = w.validate().unwrap_err();
    assert_eq!(paths(&errors), ["triggers[40]"]);
}

#[test]
fn app_id_must_be_path_safe() {
    for (app_id, bad) in [
        ("a/b", '/'),
        ("a?b", '?'),
        ("a#b", '#'),
        ("a%2F", '%'),
        ("a b", ' '),
        ("a\u{0}", '\0'),
        ("a\\b", '\\'),
    ] {
        let mut w = valid();
        w.app_id = app_id.into();
        let errors = w.validate().unwrap_err();
        assert_eq!(
            errors.at("app_id").map(Violation::rule),
            Some(&Rule::NotPathSafe(bad))
        );
    }
}

#[test]
fn dot_segments_are_not_ids() {
    for app_id in [".", ".."] {
        let mut w = valid();
        w.app_id = app_id.into();
        let errors = w.validate().unwrap_err();
        assert_eq!(
            errors.at("app_id").map(Violation::rule),
            Some(&Rule::DotSegment)
        );
    }
    // A dot inside an id is fine.
    let mut w = valid();
    w.app_id = "a.b..c".into();
    assert!(w.validate().is_ok());
}

#[test]
fn hosts_cannot_hide_behind_a_backslash_or_an_out_of_range_port() {
    for target in [
        "https://example.com\\@conversation-api.eu.sinch.com/x",
        "https://conversation-api.eu.sinch.com\\@example.com/x",
        "https://example.com\\x",
        "https://example.com:99999/x",
        "https://example.com:65536/x",
        "https://example.com:+80/x",
    ] {
        let mut w = valid();
        w.target = target.into();
        let errors = w.validate().unwrap_err();
        assert!(
            matches!(
                errors.at("target").map(Violation::rule),
                Some(Rule::NotHttpUrl(_))
            ),
            "{target}: {errors}"
        );
    }
    for fine in ["https://example.com:65535/x", "https://example.com/a\\b"] {
        let mut w = valid();
        w.target = fine.into();
        assert!(w.validate().is_ok(), "{fine}");
    }
}

#[test]
fn an_empty_webhook_secret_is_refused() {
    for secret in ["", " ", "\t"] {
        let mut w = valid();
        w.secret = Some(secret.into());
        let errors = w.validate().unwrap_err();
        assert_eq!(
            errors.at("secret").map(Violation::rule),
            Some(&Rule::EmptySecret)
        );
        // The server refuses it too.
        assert!(validate(&w, Policy::Server).is_err());
    }
}

#[test]
fn lengths_count_characters_not_bytes() {
    let mut w = valid();
    cc(&mut w).response_type = Some("é".repeat(64));
    assert!(w.validate().is_ok());
    cc(&mut w).response_type = Some("é".repeat(65));
    assert_eq!(
        w.validate().unwrap_err().violations()[0].rule(),
        &Rule::MaxLength {
            max: 64,
            actual: 65
        }
    );
}

// ---- Property test: the validator against an independent statement --------

const HOSTS: &[(&str, bool)] = &[
    // (host as written, forbidden?)
    ("example.com", false),
    ("api.example.org", false),
    ("conversation-api.eu.sinch.com", true),
    ("CONVERSATION-API.US.SINCH.COM", true),
    ("conversation-api.br.sinch.com.", true),
    ("hooks.conversation-api.eu.sinch.com", true),
    ("conversation%2Dapi.eu.sinch.com", true),
    ("conversation-api.sinch.com", false),
    ("conversation-api.eu.sinch.com.evil.net", false),
    ("eu.conversation.api.sinch.com", false),
    ("127.0.0.1", false),
    ("", false),
];

#[derive(Clone, Debug)]
struct Case {
    app_id: &'static str,
    scheme: &'static str,
    userinfo: &'static str,
    host: usize,
    port: &'static str,
    path_len: usize,
    triggers: Vec<&'static str>,
    cc: Option<CcCase>,
}

/// client_id, client_secret, endpoint, scope length, response_type length,
/// token_request_type.
type CcCase = (
    &'static str,
    &'static str,
    &'static str,
    Option<usize>,
    Option<usize>,
    Option<&'static str>,
);

fn case() -> impl Strategy<Value = Case> {
    let app_id = prop::sample::select(vec!["01APP", "", "a/b", "x y", "app_2", "q?"]);
    let scheme = prop::sample::select(vec!["https://", "http://", "ftp://", "", "HTTPS://"]);
    let userinfo = prop::sample::select(vec!["", "user:pw@"]);
    let port = prop::sample::select(vec!["", ":8443"]);
    let trigger = prop::sample::select(vec![
        "MESSAGE_INBOUND",
        "MESSAGE_DELIVERY",
        "UNSPECIFIED_TRIGGER",
        "FROM_THE_FUTURE",
    ]);
    let cc = prop::option::of((
        prop::sample::select(vec!["cid", ""]),
        prop::sample::select(vec!["secret", ""]),
        prop::sample::select(vec!["https://auth.example.com/t", "", "nope"]),
        prop::option::of(1020usize..1030),
        prop::option::of(60usize..70),
        prop::option::of(prop::sample::select(vec!["BASIC", "FORM", "WEIRD"])),
    ));
    (
        app_id,
        scheme,
        userinfo,
        0..HOSTS.len(),
        port,
        0usize..760,
        prop::collection::vec(trigger, 0..4),
        cc,
    )
        .prop_map(
            |(app_id, scheme, userinfo, host, port, path_len, triggers, cc)| Case {
                app_id,
                scheme,
                userinfo,
                host,
                port,
                path_len,
                triggers,
                cc,
            },
        )
}

impl Case {
    fn target(&self) -> String {
        let head = format!(
            "{}{}{}{}/",
            self.scheme, self.userinfo, HOSTS[self.host].0, self.port
        );
        format!("{head}{}", "p".repeat(self.path_len))
    }

    fn webhook(&self) -> NewWebhook {
        let mut w = NewWebhook::new(self.app_id, self.target());
        w.triggers = self
            .triggers
            .iter()
            .map(|t| WebhookTrigger::from(*t))
            .collect();
        w.client_credentials = self.cc.map(|(id, secret, endpoint, scope, rt, trt)| {
            let mut c = NewClientCredentials::new(id, secret, endpoint);
            c.scope = scope.map(|n| "s".repeat(n));
            c.response_type = rt.map(|n| "r".repeat(n));
            c.token_request_type = trt.map(TokenRequestType::from);
            c
        });
        w
    }

    /// The rules, stated again without the validator's code.
    fn acceptable(&self) -> bool {
        let (host, forbidden) = HOSTS[self.host];
        let target_ok = matches!(self.scheme, "https://" | "http://" | "HTTPS://")
            && !host.is_empty()
            && !forbidden
            && self.target().chars().count() <= 742;
        let app_ok = matches!(self.app_id, "01APP" | "app_2");
        let mut seen = Vec::new();
        let triggers_ok = !self.triggers.is_empty()
            && self.triggers.iter().all(|t| {
                let fresh = !seen.contains(t);
                seen.push(*t);
                *t != "UNSPECIFIED_TRIGGER" && fresh
            });
        let cc_ok = self
            .cc
            .is_none_or(|(id, secret, endpoint, scope, rt, trt)| {
                !id.is_empty()
                    && !secret.is_empty()
                    && endpoint.starts_with("https://")
                    && scope.is_none_or(|n| n <= 1024)
                    && rt.is_none_or(|n| n <= 64)
                    && trt != Some("WEIRD")
            });
        target_ok && app_ok && triggers_ok && cc_ok
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// The allocation-free host extraction says exactly what the `url`
    /// crate says, whenever it answers at all.
    #[test]
    fn simple_host_agrees_with_the_url_crate(
        url in "(https?|HTTPS?|ftp)://(xn--)?[a-zA-Z0-9@:._%-]{0,24}([/?#][ -~]{0,10})?",
    ) {
        if let Some(host) = simple_http_host(&url) {
            let parsed = url::Url::parse(&url);
            prop_assert!(parsed.is_ok(), "{url:?}: fast path accepted, url crate: {parsed:?}");
            let parsed = parsed.unwrap();
            prop_assert!(matches!(parsed.scheme(), "http" | "https"));
            prop_assert_eq!(parsed.host_str(), Some(host), "{:?}", url);
        }
    }

    #[test]
    fn validator_accepts_exactly_what_the_rules_accept(case in case()) {
        let result = case.webhook().validate();
        prop_assert_eq!(result.is_ok(), case.acceptable(), "{:?}: {:?}", case.target(), result.err());
    }

    #[test]
    fn validator_never_panics(
        app_id in any::<String>(),
        target in any::<String>(),
        triggers in prop::collection::vec(any::<String>(), 0..4),
        scope in prop::option::of(any::<String>()),
        endpoint in any::<String>(),
    ) {
        let mut w = NewWebhook::new(app_id, target);
        w.triggers = triggers.into_iter().map(WebhookTrigger::from).collect();
        let mut c = NewClientCredentials::new("id", "secret", endpoint);
        c.scope = scope;
        w.client_credentials = Some(c);
        let _ = w.validate();
        let _ = validate(&w, Policy::Server);
    }
}
