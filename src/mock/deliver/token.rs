//! OAuth2 on deliveries: the token a webhook's `client_credentials` get
//! from their endpoint (RFC 6749 §4.4), cached per credentials for the
//! endpoint's `expires_in`, clamped to Sinch's 30–3600 s.
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::TokenRequestType;
use crate::secret::Secret;
use crate::types::StoredClientCredentials;

/// Shortest and longest time a token is kept, as Sinch documents for
/// `expires_in`.
pub(crate) const EXPIRES_IN_RANGE: (u64, u64) = (30, 3600);
/// The largest token answer read (as the client's own token fetch).
const MAX_ANSWER_BYTES: usize = 64 * 1024;
/// Credentials whose token is kept; beyond it expired ones are dropped, then
/// all (a test tool with 1 000 token endpoints at once is not a use).
const CACHE_CAPACITY: usize = 1000;

/// Why no token: the reason (no secret in it), and whether the endpoint's
/// answer is worth a retry (5xx, 429, timeout, refused).
#[derive(Debug)]
pub(crate) struct TokenFailure {
    pub(crate) reason: String,
    pub(crate) retryable: bool,
}

/// Tokens by credentials (a SHA-256 of every field, so the cache holds no
/// secret and does not grow with the fields' size).
#[derive(Default)]
pub(crate) struct TokenCache {
    tokens: Mutex<HashMap<[u8; 32], (Secret, Instant)>>,
}

impl TokenCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], (Secret, Instant)>> {
        self.tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A token for `credentials`: the cached one while it is valid, else a
    /// new one from the endpoint.
    pub(crate) async fn bearer(
        &self,
        http: &reqwest::Client,
        credentials: &StoredClientCredentials,
    ) -> Result<Secret, TokenFailure> {
        let key = cache_key(credentials);
        if let Some((token, until)) = self.lock().get(&key)
            && Instant::now() < *until
        {
            return Ok(token.clone());
        }
        let (token, keep_for) = fetch(http, credentials).await?;
        let mut tokens = self.lock();
        if tokens.len() >= CACHE_CAPACITY {
            let now = Instant::now();
            tokens.retain(|_, (_, until)| *until > now);
            if tokens.len() >= CACHE_CAPACITY {
                tokens.clear();
            }
        }
        tokens.insert(key, (token.clone(), Instant::now() + keep_for));
        Ok(token)
    }

    pub(crate) fn clear(&self) {
        self.lock().clear();
    }
}

fn cache_key(credentials: &StoredClientCredentials) -> [u8; 32] {
    let mut digest = ring::digest::Context::new(&ring::digest::SHA256);
    let kind = request_type(credentials);
    let fields = [
        credentials.endpoint.as_str(),
        &credentials.client_id,
        credentials
            .client_secret
            .as_ref()
            .map_or("", Secret::expose),
        credentials.scope.as_deref().map_or("", String::as_str),
        credentials
            .response_type
            .as_deref()
            .map_or("", String::as_str),
        kind.as_str(),
    ];
    for field in fields {
        // Length-prefixed: ("ab", "c") and ("a", "bc") differ.
        digest.update(&(field.len() as u64).to_le_bytes());
        digest.update(field.as_bytes());
    }
    let mut key = [0; 32];
    key.copy_from_slice(digest.finish().as_ref());
    key
}

/// BASIC unless FORM: unset and unknown values mean BASIC, as at Sinch.
fn request_type(credentials: &StoredClientCredentials) -> TokenRequestType {
    match &credentials.token_request_type {
        Some(TokenRequestType::Form) => TokenRequestType::Form,
        _ => TokenRequestType::Basic,
    }
}

/// How long a token is kept: `expires_in` clamped to 30–3600 s; missing or
/// not a number counts as the shortest (the stand-in's choice: Sinch says the
/// endpoint is "expected to return" it, not what happens when it does not).
pub(crate) fn keep_for(expires_in: Option<&serde_json::Value>) -> Duration {
    let (min, max) = EXPIRES_IN_RANGE;
    let seconds = match expires_in {
        Some(serde_json::Value::Number(n)) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f > 0.0).map(|f| f as u64))
            .unwrap_or(min),
        // Some providers send it as a string.
        Some(serde_json::Value::String(s)) => s.trim().parse().unwrap_or(min),
        _ => min,
    };
    Duration::from_secs(seconds.clamp(min, max))
}

/// The client-credentials grant: a form POST with `grant_type`, `scope`
/// when not blank and `response_type` when given; the id and secret as HTTP
/// Basic (BASIC) or as form fields (FORM).
async fn fetch(
    http: &reqwest::Client,
    credentials: &StoredClientCredentials,
) -> Result<(Secret, Duration), TokenFailure> {
    let secret = credentials
        .client_secret
        .as_ref()
        .map_or("", Secret::expose);
    let mut form: Vec<(&str, &str)> = vec![("grant_type", "client_credentials")];
    if let Some(scope) = credentials
        .scope
        .as_deref()
        .filter(|s| !s.trim().is_empty())
    {
        form.push(("scope", scope));
    }
    if let Some(response_type) = credentials.response_type.as_deref() {
        form.push(("response_type", response_type));
    }
    let mut request = http
        .post(credentials.endpoint.as_str())
        .header(super::MARKER_HEADER, "1");
    match request_type(credentials) {
        TokenRequestType::Form => {
            form.push(("client_id", &credentials.client_id));
            form.push(("client_secret", secret));
        }
        _ => request = request.basic_auth(&credentials.client_id, Some(secret)),
    }
    let failure = |reason: String, retryable: bool| TokenFailure {
        // `TargetUrl`'s Display: no password; nothing from the form.
        reason: format!("token request to {}: {reason}", credentials.endpoint),
        retryable,
    };
    let response = request
        .form(&form)
        .send()
        .await
        .map_err(|e| failure(super::transport_error(&e), true))?;
    let status = response.status().as_u16();
    if !(200..300).contains(&status) {
        return Err(failure(
            format!("answered {status}"),
            status == 429 || status >= 500,
        ));
    }
    let mut response = response;
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| failure(super::transport_error(&e), true))?
    {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(failure(
                format!("the answer is larger than {MAX_ANSWER_BYTES} bytes"),
                false,
            ));
        }
        body.extend_from_slice(&chunk);
    }
    let answer: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|_| failure("the answer is not JSON".to_owned(), false))?;
    let Some(token) = answer
        .get("access_token")
        .and_then(serde_json::Value::as_str)
        .filter(|t| !t.trim().is_empty())
    else {
        return Err(failure("no access_token in the answer".to_owned(), false));
    };
    Ok((Secret::from(token), keep_for(answer.get("expires_in"))))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn expires_in_is_clamped_to_sinchs_range() {
        let secs = |v: serde_json::Value| keep_for(Some(&v)).as_secs();
        assert_eq!(secs(json!(1)), 30);
        assert_eq!(secs(json!(0)), 30);
        assert_eq!(secs(json!(-5)), 30);
        assert_eq!(secs(json!(120)), 120);
        assert_eq!(secs(json!(120.7)), 120);
        assert_eq!(secs(json!("300")), 300);
        assert_eq!(secs(json!(86_400)), 3600);
        assert_eq!(secs(json!(u64::MAX)), 3600);
        assert_eq!(secs(json!("soon")), 30);
        assert_eq!(keep_for(None).as_secs(), 30);
    }

    fn credentials(secret: &str) -> StoredClientCredentials {
        StoredClientCredentials {
            client_id: "id".into(),
            client_secret: Some(secret.into()),
            endpoint: "http://127.0.0.1:1/token".into(),
            response_type: None,
            scope: None,
            token_request_type: None,
        }
    }

    #[test]
    fn the_cache_key_covers_every_field_and_unknown_means_basic() {
        let a = credentials("s");
        assert_ne!(cache_key(&a), cache_key(&credentials("t")));
        let mut form = a.clone();
        form.token_request_type = Some(TokenRequestType::Form);
        assert_ne!(cache_key(&a), cache_key(&form));
        let mut unknown = a.clone();
        unknown.token_request_type = Some("SOMETHING".into());
        assert_eq!(cache_key(&a), cache_key(&unknown));
        let mut basic = a.clone();
        basic.token_request_type = Some(TokenRequestType::Basic);
        assert_eq!(cache_key(&a), cache_key(&basic));
    }
}
