//! Checks a webhook request against the spec before anything is sent.
//!
//! Limits come from [`crate::spec`] (read from `openapi/webhooks.yaml` at
//! build time), not from numbers typed here. Every violation is reported at
//! once, each with its JSON path, the rule and the offending length or value;
//! a secret's value is never part of a message.
//!
//! The same code serves the client (before sending) and the stand-in server
//! (checking what it receives). They differ where a client should be more
//! forgiving than the server, or the other way round:
//!
//! | rule | client | server (Sinch) |
//! |---|---|---|
//! | a trigger or `target_type` value the crate does not know | sent: Sinch may know it | refused |
//! | `UNSPECIFIED_TRIGGER` | refused (Sinch: "causes errors") | refused |
//! | an unknown `token_request_type` | refused: Sinch would silently use BASIC | accepted as BASIC |
//! | an empty trigger list | refused: such a webhook never fires | accepted |
//! | the same trigger twice | refused: almost always a caller bug | accepted |

use std::collections::HashSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::generated::spec;
use crate::secret::Secret;
use crate::target::TargetUrl;
use crate::types::{ClientCredentials, CreateWebhookRequest};
use crate::{TokenRequestType, WebhookTargetType, WebhookTrigger};

/// A webhook to create, as supplied: nothing is checked until
/// [`NewWebhook::validate`].
///
/// Usually built through [`Client::create_webhook`](crate::Client::create_webhook);
/// use it directly to validate without a client.
///
/// ```
/// use sinch_conversation::{NewWebhook, WebhookTrigger};
///
/// let mut webhook = NewWebhook::new("01APP", "https://example.com/sinch");
/// webhook.triggers = vec![WebhookTrigger::MessageInbound];
/// let request = webhook.validate()?;
/// assert_eq!(request.app_id, "01APP");
///
/// let bad = NewWebhook::new("", "ftp://example.com");
/// let err = bad.validate().unwrap_err();
/// assert_eq!(err.violations().len(), 3); // app_id, target scheme, no triggers
/// # Ok::<(), sinch_conversation::ValidationErrors>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NewWebhook {
    /// The app the webhook belongs to.
    #[serde(default)]
    pub app_id: String,
    /// Where Sinch sends events: an absolute http(s) URL. (`Debug` shows a
    /// password in it as `***`.)
    #[serde(default)]
    pub target: TargetUrl,
    /// `HTTP` (deliver events) or `DISMISS` (drop them). [`NewWebhook::new`]
    /// sets `HTTP`: Sinch's own default is `DISMISS`, a webhook that silently
    /// receives nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_type: Option<WebhookTargetType>,
    /// The events that fire the webhook.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub triggers: Vec<WebhookTrigger>,
    /// Secret Sinch signs callbacks with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<Secret>,
    /// OAuth2 credentials Sinch uses to get a token for calling the target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_credentials: Option<NewClientCredentials>,
}

impl NewWebhook {
    /// A webhook for `app_id` delivering to `target`, with `target_type`
    /// `HTTP` and no triggers yet.
    pub fn new(app_id: impl Into<String>, target: impl Into<TargetUrl>) -> Self {
        Self {
            app_id: app_id.into(),
            target: target.into(),
            target_type: Some(WebhookTargetType::Http),
            ..Self::default()
        }
    }

    /// Checks every rule (client policy: see the module docs) and returns the
    /// request to send, or every violation found.
    pub fn validate(&self) -> Result<CreateWebhookRequest, ValidationErrors> {
        validate(self, Policy::Client)
    }

    /// [`validate`](Self::validate), moving the fields instead of copying them.
    pub fn into_request(self) -> Result<CreateWebhookRequest, ValidationErrors> {
        check(&self, Policy::Client)?;
        to_request(self)
    }
}

/// OAuth2 client credentials Sinch uses to fetch a token from *your* token
/// endpoint before calling the webhook target.
///
/// ```
/// use sinch_conversation::{NewClientCredentials, TokenRequestType};
///
/// let credentials = NewClientCredentials::new("my-client", "my-secret", "https://auth.example.com/token")
///     .scope("callbacks:write")
///     .token_request_type(TokenRequestType::Form);
/// assert!(!format!("{credentials:?}").contains("my-secret"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NewClientCredentials {
    /// The client id.
    #[serde(default)]
    pub client_id: String,
    /// The client secret.
    #[serde(default)]
    pub client_secret: Secret,
    /// The token endpoint: an absolute http(s) URL. It must answer
    /// `expires_in` between 30 and 3600 seconds. (`Debug` shows a password
    /// in it as `***`.)
    #[serde(default)]
    pub endpoint: TargetUrl,
    /// Space-separated scopes (RFC 6749).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Forwarded to the token endpoint as-is; generally omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_type: Option<String>,
    /// How the id and secret reach the token endpoint: `BASIC` or `FORM`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_request_type: Option<TokenRequestType>,
}

impl NewClientCredentials {
    /// Credentials with the three required fields.
    pub fn new(
        client_id: impl Into<String>,
        client_secret: impl Into<Secret>,
        endpoint: impl Into<TargetUrl>,
    ) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            endpoint: endpoint.into(),
            ..Self::default()
        }
    }

    /// Sets the scopes.
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// Sets the response type.
    pub fn response_type(mut self, response_type: impl Into<String>) -> Self {
        self.response_type = Some(response_type.into());
        self
    }

    /// Sets how credentials are sent to the token endpoint.
    pub fn token_request_type(mut self, kind: impl Into<TokenRequestType>) -> Self {
        self.token_request_type = Some(kind.into());
        self
    }
}

/// Who is checking: a client about to send, or the server receiving.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Policy {
    Client,
    #[cfg_attr(not(any(test, feature = "mock")), allow(dead_code))]
    Server,
}

/// One broken rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    path: String,
    rule: Rule,
}

impl Violation {
    pub(crate) fn new(path: impl Into<String>, rule: Rule) -> Self {
        Self {
            path: path.into(),
            rule,
        }
    }

    /// JSON path of the field, e.g. `client_credentials.scope` or
    /// `triggers[2]`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The rule broken, with the offending length or value.
    pub fn rule(&self) -> &Rule {
        &self.rule
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.rule)
    }
}

/// The rules a request can break.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rule {
    /// A required field is missing or empty.
    Required,
    /// Longer than the spec's `maxLength` (counted in characters).
    MaxLength {
        /// The limit.
        max: usize,
        /// The length found.
        actual: usize,
    },
    /// Not an absolute `http`/`https` URL; says why.
    NotHttpUrl(String),
    /// The URL's host is one Sinch forbids.
    ForbiddenHost {
        /// The host, normalised.
        host: String,
        /// The spec's pattern it falls under.
        pattern: String,
    },
    /// A value the spec does not list for this field.
    UnknownValue {
        /// The value.
        value: String,
        /// The values allowed.
        allowed: Vec<String>,
    },
    /// A value the spec lists but Sinch refuses.
    RefusedValue(String),
    /// Provisioning would remove a secret the webhook has (its callbacks
    /// could then be forged) without being asked to.
    WouldRemoveSecret,
    /// No triggers: the webhook would never fire.
    NoTriggers,
    /// The same trigger again.
    DuplicateTrigger(String),
    /// Characters that are unsafe in a URL path: `/`, `\`, `?`, `#`, `%`,
    /// whitespace or control characters.
    NotPathSafe(char),
    /// `.` or `..`, which URL parsers resolve as a path step.
    DotSegment,
    /// An empty secret: an HMAC keyed with the empty string is forgeable.
    EmptySecret,
    /// An update that changes nothing: set at least one field.
    NothingToUpdate,
    /// More webhooks than an app can have.
    TooManyWebhooks {
        /// The limit.
        max: usize,
        /// How many were given.
        actual: usize,
    },
    /// A target already given for another webhook of the same app (the
    /// same as a URL: see [`TargetUrl::identity`](crate::TargetUrl::identity)).
    DuplicateTarget,
    /// An empty desired set, which would delete every webhook of the app,
    /// without saying so explicitly.
    EmptyDesiredSet,
    /// Anything else the generated types refused.
    Invalid(String),
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rule::Required => f.write_str("required, and must not be empty"),
            Rule::MaxLength { max, actual } => {
                write!(f, "at most {max} characters allowed, found {actual}")
            }
            Rule::NotHttpUrl(why) => write!(f, "must be an absolute http(s) URL: {why}"),
            Rule::ForbiddenHost { host, pattern } => write!(
                f,
                "host {host:?} is forbidden (Sinch refuses targets under {pattern})"
            ),
            Rule::UnknownValue { value, allowed } => {
                write!(
                    f,
                    "unknown value {value:?}; expected one of {}",
                    allowed.join(", ")
                )
            }
            Rule::RefusedValue(value) => {
                write!(
                    f,
                    "{value} is listed by Sinch but causes errors; choose a real value"
                )
            }
            Rule::WouldRemoveSecret => f.write_str(
                "the webhook has a secret and this one has none: removing it would let anyone forge its callbacks; give the secret, or ask for its removal explicitly (clear_secrets, --clear-secret)",
            ),
            Rule::NoTriggers => f.write_str(
                "no triggers: the webhook would never receive an event; add at least one",
            ),
            Rule::DuplicateTrigger(value) => write!(f, "{value} is listed more than once"),
            Rule::NotPathSafe(c) => write!(
                f,
                "contains {c:?}, which is not allowed in an id used in URL paths"
            ),
            Rule::DotSegment => {
                f.write_str("`.` and `..` are not ids: URL parsers read them as a path step")
            }
            Rule::EmptySecret => f.write_str(
                "must not be empty: anyone can forge a signature keyed with an empty secret; omit it (or clear it) instead",
            ),
            Rule::TooManyWebhooks { max, actual } => write!(
                f,
                "{actual} webhooks, but an app can have at most {max}"
            ),
            Rule::DuplicateTarget => f.write_str(
                "the same target (as a URL) as an earlier webhook: an app cannot have two webhooks with one target",
            ),
            Rule::EmptyDesiredSet => f.write_str(
                "no webhooks: this would delete every webhook of the app; allow it explicitly (`allow_empty`, `--allow-empty`) if that is what you want",
            ),
            Rule::NothingToUpdate => f.write_str(
                "nothing to update: set or clear at least one field (the update mask would be empty)",
            ),
            Rule::Invalid(why) => f.write_str(why),
        }
    }
}

/// Every rule a request broke. Nothing was sent.
///
/// ```
/// use sinch_conversation::validate::Rule;
/// use sinch_conversation::NewWebhook;
///
/// let mut webhook = NewWebhook::new("01APP", "https://conversation-api.eu.sinch.com/x");
/// webhook.triggers = vec!["MESSAGE_INBOUND".into(), "MESSAGE_INBOUND".into()];
/// let errors = webhook.validate().unwrap_err();
/// for violation in errors.violations() {
///     println!("{}: {}", violation.path(), violation.rule());
/// }
/// assert!(matches!(errors.at("target").map(|v| v.rule()), Some(Rule::ForbiddenHost { .. })));
/// assert_eq!(errors.at("triggers[1]").map(|v| v.rule()), Some(&Rule::DuplicateTrigger("MESSAGE_INBOUND".into())));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidationErrors {
    violations: Vec<Violation>,
}

impl ValidationErrors {
    pub(crate) fn new(violations: Vec<Violation>) -> Self {
        Self { violations }
    }

    /// The violations, in field order.
    pub fn violations(&self) -> &[Violation] {
        &self.violations
    }

    /// The violation at `path`, if any.
    pub fn at(&self, path: &str) -> Option<&Violation> {
        self.violations.iter().find(|v| v.path == path)
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.violations.len();
        write!(
            f,
            "invalid request ({n} problem{}): ",
            if n == 1 { "" } else { "s" }
        )?;
        for (i, v) in self.violations.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{v}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationErrors {}

/// Checks an id that goes into a URL path (`app_id`, `webhook_id`) as the
/// client does before sending: not empty, and none of `/ ? # %`,
/// whitespace or control characters. `field` names it in the violation.
///
/// ```
/// use sinch_conversation::validate::check_id;
///
/// assert!(check_id("webhook_id", "01H8Z6WEBHOOK").is_ok());
/// let err = check_id("webhook_id", "../admin").unwrap_err();
/// assert_eq!(err.violations()[0].path(), "webhook_id");
/// ```
pub fn check_id(field: &str, value: &str) -> Result<(), ValidationErrors> {
    path_id(field, value)
}

pub(crate) fn path_id(path: &str, value: &str) -> Result<(), ValidationErrors> {
    let mut out = Vec::new();
    check_path_safe(path, value, &mut out);
    if out.is_empty() {
        Ok(())
    } else {
        Err(ValidationErrors::new(out))
    }
}

/// Checks an id that ends up in a URL path (`project_id`, `app_id`).
pub(crate) fn check_path_safe(path: &str, value: &str, out: &mut Vec<Violation>) {
    // `\` is a path separator to WHATWG URL parsers; `.` and `..` are
    // dot-segments that parsers resolve (`/projects/../webhooks`).
    let unsafe_char =
        |c: char| matches!(c, '/' | '\\' | '?' | '#' | '%') || c.is_whitespace() || c.is_control();
    if value.is_empty() {
        out.push(Violation::new(path, Rule::Required));
    } else if let Some(c) = value.chars().find(|c| unsafe_char(*c)) {
        out.push(Violation::new(path, Rule::NotPathSafe(c)));
    } else if value == "." || value == ".." {
        out.push(Violation::new(path, Rule::DotSegment));
    }
}

fn check_max_length(path: &str, value: &str, max: usize, out: &mut Vec<Violation>) {
    // Counted in characters, as the generated types count.
    let actual = value.chars().count();
    if actual > max {
        out.push(Violation::new(path, Rule::MaxLength { max, actual }));
    }
}

fn check_required(path: &str, value: &str, out: &mut Vec<Violation>) -> bool {
    if value.trim().is_empty() {
        out.push(Violation::new(path, Rule::Required));
        false
    } else {
        true
    }
}

/// The host of an absolute http(s) URL (lower-cased, percent-escapes
/// decoded, as Sinch would resolve it), or why it is not one. Never echoes
/// the URL: it may carry credentials in its userinfo.
///
/// Plain lower-case hosts (almost every real target) are read by
/// [`simple_http_host`]; anything else by the `url` crate. The fast path
/// saves about 0.3 µs per URL, 0.6 µs per create with client credentials:
/// about 2.5% of a request's CPU cost under concurrent load
/// (`benches/validate.rs`, `benches/e2e_ratio.rs`; see the performance guide).
fn http_url_host(value: &str) -> Result<std::borrow::Cow<'_, str>, String> {
    if let Some(c) = value.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("contains {c:?}"));
    }
    if let Some(host) = simple_http_host(value) {
        return Ok(std::borrow::Cow::Borrowed(host));
    }
    // Parsers disagree on where the host of `https://a\@b/` ends (WHATWG
    // reads `a`, others `b`): a forbidden host could hide behind it.
    let authority = value.split_once("://").map_or(value, |(_, rest)| {
        rest.split(['/', '?', '#']).next().unwrap_or(rest)
    });
    if authority.contains('\\') {
        return Err("a backslash in the host part".to_owned());
    }
    // WHATWG parsing (the `url` crate) repairs `https:host` and `https:///host`;
    // Sinch receives the raw string, so insist on `scheme://host`.
    match value.split_once("://") {
        None => return Err("not absolute (no `://`)".to_owned()),
        Some((_, rest)) if rest.is_empty() || rest.starts_with(['/', '\\']) => {
            return Err("no host".to_owned());
        }
        Some(_) => {}
    }
    let url = url::Url::parse(value).map_err(|e| e.to_string())?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("scheme {:?} is not http or https", url.scheme()));
    }
    match url.host_str() {
        Some(host) if !host.is_empty() => Ok(std::borrow::Cow::Owned(host.to_owned())),
        _ => Err("no host".to_owned()),
    }
}

/// The host of a plain `http(s)://[user@]host[:port][/...]` URL whose host is
/// lower-case ASCII letters, digits, `-` and `.`, and not an IP address or a
/// punycode label: exactly what the `url` crate would return, without its
/// allocations. `None` hands anything else to the full parser.
fn simple_http_host(value: &str) -> Option<&str> {
    // One pass over the bytes: this runs for every request sent and received.
    let bytes = value.as_bytes();
    let start = if value.starts_with("https://") {
        8
    } else if value.starts_with("http://") {
        7
    } else {
        return None;
    };
    let mut host_start = start;
    let mut host_end = None; // the last `:` in the authority, if any
    let mut end = bytes.len();
    for (i, &b) in bytes.iter().enumerate().skip(start) {
        match b {
            b'/' | b'?' | b'#' => {
                end = i;
                break;
            }
            b'@' => {
                host_start = i + 1;
                host_end = None;
            }
            b':' => host_end = Some(i),
            b'%' | b'\\' | b'[' | b']' => return None,
            0x80.. => return None,
            _ => {}
        }
    }
    if bytes[end..]
        .iter()
        .any(|b| matches!(b, b'%' | b'\\' | 0x80..))
    {
        return None;
    }
    let host_end = match host_end {
        Some(colon) if colon >= host_start => {
            let port = &bytes[colon + 1..end];
            // Out of range (or odd) ports go to the full parser, which refuses them.
            let in_range = std::str::from_utf8(port)
                .ok()
                .and_then(|p| p.parse::<u16>().ok())
                .is_some();
            if port.is_empty() || !port.iter().all(u8::is_ascii_digit) || !in_range {
                return None;
            }
            colon
        }
        _ => end,
    };
    let host = &value[host_start..host_end];
    let labels = host.strip_suffix('.').unwrap_or(host).as_bytes();
    // Labels of 1..=63 lower-case letters, digits and `-`, none punycode.
    let mut label_start = 0;
    for i in 0..=labels.len() {
        match labels.get(i) {
            Some(b'a'..=b'z' | b'0'..=b'9' | b'-') => {}
            Some(b'.') | None => {
                let label = &labels[label_start..i];
                if label.is_empty() || label.len() > 63 || label.starts_with(b"xn--") {
                    return None;
                }
                if i < labels.len() {
                    label_start = i + 1;
                }
            }
            Some(_) => return None,
        }
    }
    // A numeric last label makes WHATWG read the host as an IPv4 address.
    (!labels[label_start].is_ascii_digit()).then_some(host)
}

/// `true` when `host` is `pattern` or under it; `*` matches one DNS label.
fn host_matches(host: &str, pattern: &str) -> bool {
    let mut labels = host.trim_end_matches('.').rsplit('.');
    pattern.rsplit('.').all(|p| {
        labels
            .next()
            .is_some_and(|h| (p == "*" && !h.is_empty()) || h.eq_ignore_ascii_case(p))
    })
}

pub(crate) fn check_target(value: &str, out: &mut Vec<Violation>) {
    if !check_required("target", value, out) {
        return;
    }
    check_max_length("target", value, spec::WEBHOOK_TARGET_MAX_LENGTH, out);
    match http_url_host(value) {
        Err(why) => out.push(Violation::new("target", Rule::NotHttpUrl(why))),
        Ok(host) => {
            // The host is lower-cased with percent-escapes decoded; userinfo
            // and port are separate, so none of them hide it.
            let host = host.as_ref();
            if let Some(pattern) = spec::WEBHOOK_TARGET_FORBIDDEN_HOST_PATTERNS
                .iter()
                .find(|p| host_matches(host, p))
            {
                out.push(Violation::new(
                    "target",
                    Rule::ForbiddenHost {
                        host: host.to_owned(),
                        pattern: (*pattern).to_owned(),
                    },
                ));
            }
        }
    }
}

/// A webhook secret, when given, must not be empty (or blank).
pub(crate) fn check_secret(secret: &Secret, out: &mut Vec<Violation>) {
    if secret.expose().trim().is_empty() {
        out.push(Violation::new("secret", Rule::EmptySecret));
    }
}

fn known_values<T: ToString>(known: &[T]) -> Vec<String> {
    known.iter().map(T::to_string).collect()
}

pub(crate) fn check_triggers(
    triggers: &[WebhookTrigger],
    policy: Policy,
    out: &mut Vec<Violation>,
) {
    if triggers.is_empty() && policy == Policy::Client {
        out.push(Violation::new("triggers", Rule::NoTriggers));
    }
    // Short lists (the usual case) are checked for duplicates by scanning.
    let mut seen = (triggers.len() > 32).then(HashSet::new);
    for (i, trigger) in triggers.iter().enumerate() {
        let value = trigger.as_str();
        let rule = if value.trim().is_empty() {
            Rule::Required
        } else if spec::WEBHOOK_TRIGGER_REFUSED_VALUES.contains(&value) {
            Rule::RefusedValue(value.to_owned())
        } else if !trigger.is_known() && policy == Policy::Server {
            Rule::UnknownValue {
                value: value.to_owned(),
                allowed: known_values(WebhookTrigger::KNOWN),
            }
        } else if policy == Policy::Client
            && match seen.as_mut() {
                Some(seen) => !seen.insert(value),
                None => triggers[..i].contains(trigger),
            }
        {
            Rule::DuplicateTrigger(value.to_owned())
        } else {
            continue;
        };
        out.push(Violation::new(format!("triggers[{i}]"), rule));
    }
}

pub(crate) fn check_client_credentials(
    cc: &NewClientCredentials,
    policy: Policy,
    out: &mut Vec<Violation>,
) {
    check_required("client_credentials.client_id", &cc.client_id, out);
    check_required(
        "client_credentials.client_secret",
        cc.client_secret.expose(),
        out,
    );
    if check_required("client_credentials.endpoint", &cc.endpoint, out)
        && let Err(why) = http_url_host(&cc.endpoint)
    {
        out.push(Violation::new(
            "client_credentials.endpoint",
            Rule::NotHttpUrl(why),
        ));
    }
    if let Some(scope) = &cc.scope {
        check_max_length(
            "client_credentials.scope",
            scope,
            spec::CLIENT_CREDENTIALS_SCOPE_MAX_LENGTH,
            out,
        );
    }
    if let Some(response_type) = &cc.response_type {
        check_max_length(
            "client_credentials.response_type",
            response_type,
            spec::CLIENT_CREDENTIALS_RESPONSE_TYPE_MAX_LENGTH,
            out,
        );
    }
    if let Some(kind) = &cc.token_request_type
        && !kind.is_known()
        && policy == Policy::Client
    {
        out.push(Violation::new(
            "client_credentials.token_request_type",
            Rule::UnknownValue {
                value: kind.as_str().to_owned(),
                allowed: known_values(TokenRequestType::KNOWN),
            },
        ));
    }
}

/// All rules, then the conversion into the generated (length-checked) types.
pub(crate) fn validate(
    input: &NewWebhook,
    policy: Policy,
) -> Result<CreateWebhookRequest, ValidationErrors> {
    check(input, policy)?;
    to_request(input.clone())
}

/// Every rule; all violations at once.
pub(crate) fn check(input: &NewWebhook, policy: Policy) -> Result<(), ValidationErrors> {
    let mut out = Vec::new();
    check_path_safe("app_id", &input.app_id, &mut out);
    check_target(&input.target, &mut out);
    if let Some(kind) = &input.target_type
        && !kind.is_known()
        && policy == Policy::Server
    {
        out.push(Violation::new(
            "target_type",
            Rule::UnknownValue {
                value: kind.as_str().to_owned(),
                allowed: known_values(WebhookTargetType::KNOWN),
            },
        ));
    }
    check_triggers(&input.triggers, policy, &mut out);
    if let Some(secret) = &input.secret {
        check_secret(secret, &mut out);
    }
    if let Some(cc) = &input.client_credentials {
        check_client_credentials(cc, policy, &mut out);
    }
    if out.is_empty() {
        Ok(())
    } else {
        Err(ValidationErrors::new(out))
    }
}

/// Builds the generated request type. Its own length checks have already
/// passed in [`check`]; an error here means the spec and the validator
/// disagree, and is reported rather than panicking.
pub(crate) fn to_request(input: NewWebhook) -> Result<CreateWebhookRequest, ValidationErrors> {
    Ok(CreateWebhookRequest {
        app_id: input.app_id,
        client_credentials: input
            .client_credentials
            .map(to_client_credentials)
            .transpose()?,
        secret: input.secret,
        target: input.target,
        target_type: input.target_type,
        triggers: input.triggers,
    })
}

fn invalid(path: &str, e: &dyn fmt::Display) -> ValidationErrors {
    ValidationErrors::new(vec![Violation::new(path, Rule::Invalid(e.to_string()))])
}

pub(crate) fn to_client_credentials(
    cc: NewClientCredentials,
) -> Result<ClientCredentials, ValidationErrors> {
    Ok(ClientCredentials {
        client_id: cc.client_id,
        client_secret: cc.client_secret,
        endpoint: cc.endpoint,
        scope: cc
            .scope
            .map(TryFrom::try_from)
            .transpose()
            .map_err(|e| invalid("client_credentials.scope", &e))?,
        response_type: cc
            .response_type
            .map(TryFrom::try_from)
            .transpose()
            .map_err(|e| invalid("client_credentials.response_type", &e))?,
        token_request_type: cc.token_request_type,
    })
}

mod update;
pub use update::{UpdateWebhookRequest, WebhookChanges};

#[cfg(test)]
mod tests;
