//! A string that never shows itself in logs.
use std::fmt;

/// A secret string: key secrets, webhook signing secrets, OAuth2 client
/// secrets and tokens.
///
/// `Debug` and `Display` print `***`; only [`Secret::expose`] gives the value.
/// It serialises as the plain string, because the API needs the value on the
/// wire.
///
/// ```
/// use sinch_conversation::Secret;
///
/// let secret = Secret::from("hunter2");
/// assert_eq!(format!("{secret:?} {secret}"), "Secret(***) ***");
/// assert_eq!(secret.expose(), "hunter2");
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash, serde::Deserialize, serde::Serialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret value. Keep it out of logs.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `true` when the value is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl From<&String> for Secret {
    fn from(value: &String) -> Self {
        Self(value.clone())
    }
}

#[cfg(feature = "schemars")]
impl schemars::JsonSchema for Secret {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Secret".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string", "format": "password" })
    }
}

/// A JSON copy of `value` in which every secret field (the spec's
/// `format: password` properties, e.g. `secret` and `client_secret`) reads
/// `***`, and so does the password of any URL (`https://user:***@host/`):
/// for printing or logging requests and webhooks.
///
/// ```
/// use sinch_conversation::{redacted_json, NewWebhook, Secret};
///
/// let mut webhook = NewWebhook::new("app", "https://example.com");
/// webhook.secret = Some(Secret::from("hunter2"));
/// let shown = redacted_json(&webhook);
/// assert_eq!(shown["secret"], "***");
/// assert_eq!(shown["app_id"], "app");
///
/// let with_password = NewWebhook::new("app", "https://user:hunter2@example.com/h");
/// assert_eq!(redacted_json(&with_password)["target"], "https://user:***@example.com/h");
/// ```
pub fn redacted_json<T: serde::Serialize>(value: &T) -> serde_json::Value {
    let mut json = serde_json::to_value(value).unwrap_or(serde_json::Value::Null);
    redact(&mut json);
    json
}

fn redact(value: &mut serde_json::Value) {
    each_secret(value, &mut |found| match found {
        Found::Field(v) => *v = serde_json::Value::from("***"),
        Found::Url(text) => {
            if let std::borrow::Cow::Owned(shown) = crate::target::redact_userinfo(text) {
                *text = shown;
            }
        }
    });
}

/// A place in JSON that may hold a secret.
enum Found<'a> {
    /// The value of a `format: password` field (not null).
    Field(&'a mut serde_json::Value),
    /// A string that may be a URL with a password.
    Url(&'a mut String),
}

/// Calls `f` on every place in `value` that may hold a secret: what
/// [`redacted_json`] hides and [`secrets_in`] collects, so the two agree.
fn each_secret(value: &mut serde_json::Value, f: &mut impl FnMut(Found<'_>)) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if crate::spec::PASSWORD_FIELDS.contains(&key.as_str()) && !v.is_null() {
                    f(Found::Field(v));
                } else {
                    each_secret(v, f);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(|v| each_secret(v, f)),
        serde_json::Value::String(text) if text.contains("://") => f(Found::Url(text)),
        _ => {}
    }
}

/// Every secret `value` holds, in the forms a server could echo it: the
/// spec's `format: password` fields and the passwords of URLs, each as
/// written, percent-decoded and JSON-escaped. What to scrub from an error
/// answer to a request carrying `value`.
pub(crate) fn secrets_in<T: serde::Serialize>(value: &T) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(mut json) = serde_json::to_value(value) {
        each_secret(&mut json, &mut |found| match found {
            Found::Field(serde_json::Value::String(secret)) => out.push(secret.clone()),
            Found::Field(other) => out.push(other.to_string()),
            Found::Url(text) => out.extend(crate::target::password_forms(text)),
        });
    }
    let escaped: Vec<String> = out
        .iter()
        .filter_map(|s| serde_json::to_string(s).ok())
        .map(|quoted| quoted[1..quoted.len() - 1].to_owned())
        .collect();
    out.extend(escaped);
    out.retain(|s| !s.is_empty());
    out.sort_unstable();
    out.dedup();
    out
}
