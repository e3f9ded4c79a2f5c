//! URLs Sinch calls (a webhook's `target`, an OAuth2 token `endpoint`): a
//! string type whose `Debug` and `Display` never show a password, and the
//! rule that says when two targets are the same webhook.
use std::borrow::Cow;
use std::fmt;

/// A URL that Sinch calls: a webhook's `target` or a token `endpoint`.
///
/// It holds the text exactly as given (that is what is sent and stored),
/// but `Debug` and `Display` show a password in its userinfo as `***`, so a
/// webhook, a request or an error can be logged as it is.
/// [`as_str`](Self::as_str) gives the real value.
///
/// Two targets are the same webhook when their [`identity`](Self::identity)
/// is the same: see [`same_as`](Self::same_as).
///
/// ```
/// use sinch_conversation::TargetUrl;
///
/// let target = TargetUrl::from("https://user:hunter2@example.com/hook");
/// assert_eq!(target.to_string(), "https://user:***@example.com/hook");
/// assert_eq!(format!("{target:?}"), "\"https://user:***@example.com/hook\"");
/// assert_eq!(target.as_str(), "https://user:hunter2@example.com/hook");
/// ```
#[derive(
    Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct TargetUrl(String);

impl TargetUrl {
    /// Wraps a value (not checked: validation happens before a request is
    /// sent).
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The URL as given, password included. Keep it out of logs.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The URL as given.
    pub fn into_string(self) -> String {
        self.0
    }

    /// The form two targets are compared in: RFC 3986 normalisation
    /// (§6.2.2 and, for `http`/`https`, §6.2.3): scheme and host in lower
    /// case, the default port dropped, an empty path as `/`, dot segments
    /// resolved, percent-encoded unreserved characters decoded and other
    /// percent-escapes in upper case. The path's case, a trailing slash,
    /// the query and the userinfo all count. Text that is not a URL is its
    /// own identity.
    ///
    /// ```
    /// use sinch_conversation::TargetUrl;
    ///
    /// let a = TargetUrl::from("HTTPS://Example.COM:443/%7Ehooks/a%2fb");
    /// assert_eq!(a.identity(), "https://example.com/~hooks/a%2Fb");
    /// ```
    pub fn identity(&self) -> String {
        identity(&self.0)
    }

    /// `true` when `other` is the same webhook target: equal
    /// [`identity`](Self::identity).
    ///
    /// ```
    /// use sinch_conversation::TargetUrl;
    ///
    /// let target = TargetUrl::from("https://example.com/h");
    /// assert!(target.same_as("https://EXAMPLE.com:443/h"));
    /// assert!(!target.same_as("https://example.com/H"));
    /// assert!(!target.same_as("https://example.com/h/"));
    /// ```
    pub fn same_as(&self, other: &str) -> bool {
        self.0 == other || identity(&self.0) == identity(other)
    }
}

/// See [`TargetUrl::identity`].
pub(crate) fn identity(text: &str) -> String {
    let Ok(url) = url::Url::parse(text) else {
        return text.to_owned();
    };
    let serialised = url.as_str();
    let bytes = serialised.as_bytes();
    let mut out = String::with_capacity(serialised.len());
    let mut i = 0;
    while i < bytes.len() {
        let escape = bytes.get(i + 1..i + 3).filter(|_| bytes[i] == b'%');
        if let Some(&[high, low]) = escape
            && let (Some(h), Some(l)) = (hex(high), hex(low))
        {
            let byte = h * 16 + l;
            if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
                out.push(char::from(byte));
            } else {
                out.push('%');
                out.push(char::from(high.to_ascii_uppercase()));
                out.push(char::from(low.to_ascii_uppercase()));
            }
            i += 3;
            continue;
        }
        // `url` serialises ASCII only, so a byte is a char here; a slice
        // keeps this right for any text.
        let next = (i + 1..=bytes.len())
            .find(|&end| serialised.is_char_boundary(end))
            .unwrap_or(bytes.len());
        out.push_str(&serialised[i..next]);
        i = next;
    }
    out
}

fn hex(digit: u8) -> Option<u8> {
    char::from(digit).to_digit(16).map(|d| d as u8)
}

/// `text` with the password of every URL in it (`scheme://user:password@`)
/// as `***`. Works on free text (error messages quoting URLs) and on text
/// that does not parse as a URL.
pub(crate) fn redact_userinfo(text: &str) -> Cow<'_, str> {
    if !text.contains("://") || !text.contains('@') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("://") {
        let authority_start = start + 3;
        out.push_str(&rest[..authority_start]);
        let after = &rest[authority_start..];
        let authority_len = after
            .find(|c: char| {
                matches!(c, '/' | '?' | '#' | '"' | '\'' | '<' | '>' | '\\') || c.is_whitespace()
            })
            .unwrap_or(after.len());
        let authority = &after[..authority_len];
        match authority.rfind('@').map(|at| &authority[..at]) {
            Some(userinfo) if userinfo.contains(':') => {
                let colon = userinfo.find(':').unwrap_or(userinfo.len());
                out.push_str(&userinfo[..colon]);
                out.push_str(":***");
                out.push_str(&authority[userinfo.len()..]);
            }
            _ => out.push_str(authority),
        }
        rest = &after[authority_len..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// The password of `url`'s userinfo, as written and percent-decoded:
/// secrets to scrub from what a server echoes.
pub(crate) fn password_forms(url: &str) -> Vec<String> {
    let Ok(parsed) = url::Url::parse(url) else {
        return Vec::new();
    };
    let Some(password) = parsed.password().filter(|p| !p.is_empty()) else {
        return Vec::new();
    };
    let mut forms = vec![password.to_owned()];
    let decoded = percent_decode(password);
    if decoded != password {
        forms.push(decoded);
    }
    forms
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(&[h, l]) = bytes.get(i + 1..i + 3)
            && let (Some(h), Some(l)) = (hex(h), hex(l))
        {
            out.push(h * 16 + l);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl fmt::Debug for TargetUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(redact_userinfo(&self.0).as_ref(), f)
    }
}

impl fmt::Display for TargetUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact_userinfo(&self.0))
    }
}

impl std::ops::Deref for TargetUrl {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for TargetUrl {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for TargetUrl {
    type Err = std::convert::Infallible;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Ok(Self::from(value))
    }
}

impl From<String> for TargetUrl {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for TargetUrl {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl From<&String> for TargetUrl {
    fn from(value: &String) -> Self {
        Self(value.clone())
    }
}

impl From<TargetUrl> for String {
    fn from(value: TargetUrl) -> Self {
        value.0
    }
}

impl PartialEq<str> for TargetUrl {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for TargetUrl {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<String> for TargetUrl {
    fn eq(&self, other: &String) -> bool {
        &self.0 == other
    }
}

#[cfg(feature = "schemars")]
impl schemars::JsonSchema for TargetUrl {
    fn schema_name() -> Cow<'static, str> {
        "TargetUrl".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string", "format": "uri" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equivalent_spellings_have_one_identity() {
        let same = [
            "https://example.com/h",
            "HTTPS://EXAMPLE.com/h",
            "https://example.com:443/h",
            "https://Example.Com:443/%68",
            "https://example.com/./h",
        ];
        for spelling in same {
            assert_eq!(identity(spelling), "https://example.com/h", "{spelling}");
        }
        assert_eq!(identity("http://e.com:80"), "http://e.com/");
        assert_eq!(identity("http://e.com/a%2fb"), "http://e.com/a%2Fb");
        assert_eq!(identity("http://e.com/%7e"), "http://e.com/~");
    }

    #[test]
    fn path_case_trailing_slash_port_query_and_userinfo_count() {
        let base = TargetUrl::from("https://example.com/h");
        for other in [
            "https://example.com/H",
            "https://example.com/h/",
            "https://example.com:8443/h",
            "http://example.com/h",
            "https://example.com/h?x=1",
            "https://u:p@example.com/h",
        ] {
            assert!(!base.same_as(other), "{other}");
        }
    }

    #[test]
    fn text_that_is_not_a_url_is_its_own_identity() {
        assert_eq!(identity("not a url"), "not a url");
        assert!(TargetUrl::from("not a url").same_as("not a url"));
        assert!(!TargetUrl::from("not a url").same_as("NOT A URL"));
    }

    #[test]
    fn passwords_are_redacted_anywhere_in_text() {
        assert_eq!(
            redact_userinfo("https://u:pw@h.com/p?q=a@b"),
            "https://u:***@h.com/p?q=a@b"
        );
        assert_eq!(
            redact_userinfo("see https://u:p%40w@h.com and http://x:y@z/a"),
            "see https://u:***@h.com and http://x:***@z/a"
        );
        // Not a valid URL, still redacted.
        assert_eq!(
            redact_userinfo("https://u:pw@exa mple"),
            "https://u:***@exa mple"
        );
        // No password: unchanged.
        assert_eq!(redact_userinfo("https://u@h.com/"), "https://u@h.com/");
        assert_eq!(
            redact_userinfo("plain text @ no url"),
            "plain text @ no url"
        );
    }

    #[test]
    fn password_forms_give_the_written_and_the_decoded_password() {
        assert_eq!(
            password_forms("https://u:p%40ss@h.com/"),
            ["p%40ss", "p@ss"]
        );
        assert!(password_forms("https://u@h.com/").is_empty());
        assert!(password_forms("nonsense").is_empty());
    }
}
