//! What the stand-in remembers: webhooks per app, issued tokens, the request
//! log and pending faults. One mutex: every create checks the per-app limit
//! and inserts under the same lock, so concurrent creates cannot overshoot.
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;

use super::Fault;
use super::deliver::Delivery;
use crate::types::Webhook;

/// At most this many webhooks per app, as Sinch enforces.
pub(crate) const MAX_WEBHOOKS_PER_APP: usize = 5;
/// Request-log entries kept; older ones are dropped so memory stays flat.
pub(crate) const LOG_CAPACITY: usize = 10_000;
/// Apps whose webhooks are kept; creating one more forgets the oldest app, so
/// a long test run with an app per test stays flat in memory.
pub(crate) const APP_CAPACITY: usize = 10_000;

/// One request the stand-in answered.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoggedRequest {
    /// HTTP method.
    pub method: String,
    /// Path, without the query.
    pub path: String,
    /// Status answered (0 when the connection was dropped).
    pub status: u16,
    /// `basic`, `bearer` or `none`: how the caller authenticated.
    pub auth: &'static str,
    /// Time to answer.
    pub duration: Duration,
}

#[derive(Default)]
pub(crate) struct State {
    pub(crate) webhooks: BTreeMap<String, Vec<Webhook>>,
    /// Apps in the order they first got a webhook, for eviction.
    app_order: VecDeque<String>,
    pub(crate) tokens: HashMap<String, SystemTime>,
    pub(crate) log: VecDeque<LoggedRequest>,
    pub(crate) faults: VecDeque<Fault>,
    pub(crate) deliveries: VecDeque<Delivery>,
    pub(crate) token_lifetime: Duration,
    issued: u64,
}

impl State {
    pub(crate) fn new(token_lifetime: Duration) -> Self {
        Self {
            token_lifetime,
            ..Self::default()
        }
    }

    /// The webhooks of `app_id`, making room for a new app if needed.
    pub(crate) fn app_mut(&mut self, app_id: &str) -> &mut Vec<Webhook> {
        if !self.webhooks.contains_key(app_id) {
            while self.app_order.len() >= APP_CAPACITY {
                if let Some(oldest) = self.app_order.pop_front() {
                    self.webhooks.remove(&oldest);
                }
            }
            self.app_order.push_back(app_id.to_owned());
        }
        self.webhooks.entry(app_id.to_owned()).or_default()
    }

    pub(crate) fn clear_webhooks(&mut self) {
        self.webhooks.clear();
        self.app_order.clear();
    }

    pub(crate) fn record(&mut self, entry: LoggedRequest) {
        if self.log.len() == LOG_CAPACITY {
            self.log.pop_front();
        }
        self.log.push_back(entry);
    }

    /// A JWT-shaped token (`header.payload.signature`, base64url) with `exp`
    /// and `iat` claims: official SDKs read `exp`.
    pub(crate) fn issue_token(&mut self, key_id: &str) -> (String, u64) {
        let now = SystemTime::now();
        let expires = now + self.token_lifetime;
        let unix = |t: SystemTime| t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        self.issued += 1;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let header = b64.encode(r#"{"alg":"HS256","typ":"JWT"}"#);
        let payload = b64.encode(
            serde_json::json!({
                "sub": key_id,
                "iat": unix(now),
                "exp": unix(expires),
                "jti": self.issued,
            })
            .to_string(),
        );
        let signature = b64.encode(fastrand_bytes());
        let token = format!("{header}.{payload}.{signature}");
        // Tokens are never forgotten by expiry alone; cap the map instead.
        if self.tokens.len() >= LOG_CAPACITY {
            let now = SystemTime::now();
            self.tokens.retain(|_, exp| *exp > now);
        }
        self.tokens.insert(token.clone(), expires);
        (token, self.token_lifetime.as_secs())
    }
}

fn fastrand_bytes() -> [u8; 32] {
    let mut bytes = [0u8; 32];
    bytes.iter_mut().for_each(|b| *b = fastrand::u8(..));
    bytes
}

/// A 26-character, upper-case, ULID-like id: 48 bits of milliseconds then 80
/// random bits, in Crockford base32.
pub(crate) fn new_id() -> String {
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let value = (millis << 80) | (fastrand::u128(..) >> 48);
    (0..26)
        .rev()
        .map(|i| ALPHABET[((value >> (i * 5)) & 31) as usize] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_ulid_shaped_and_distinct() {
        let a = new_id();
        let b = new_id();
        assert_eq!(a.len(), 26);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
        );
        assert_ne!(a, b);
    }

    #[test]
    fn tokens_carry_an_exp_claim() {
        let mut state = State::new(Duration::from_secs(120));
        let (token, expires_in) = state.issue_token("kid");
        assert_eq!(expires_in, 120);
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(parts[1])
            .unwrap();
        let claims: serde_json::Value = serde_json::from_slice(&payload).unwrap();
        let (iat, exp) = (
            claims["iat"].as_u64().unwrap(),
            claims["exp"].as_u64().unwrap(),
        );
        assert_eq!(exp - iat, 120);
    }

    #[test]
    fn the_oldest_app_is_forgotten_beyond_capacity() {
        let mut state = State::default();
        for i in 0..APP_CAPACITY + 3 {
            state.app_mut(&format!("app-{i}"));
        }
        assert_eq!(state.webhooks.len(), APP_CAPACITY);
        assert!(!state.webhooks.contains_key("app-2"));
        assert!(state.webhooks.contains_key("app-3"));
        // An existing app does not evict anything.
        state.app_mut("app-3");
        assert_eq!(state.webhooks.len(), APP_CAPACITY);
    }

    #[test]
    fn the_log_is_capped() {
        let mut state = State::default();
        for i in 0..LOG_CAPACITY + 5 {
            state.record(LoggedRequest {
                method: "GET".into(),
                path: format!("/{i}"),
                status: 404,
                auth: "none",
                duration: Duration::ZERO,
            });
        }
        assert_eq!(state.log.len(), LOG_CAPACITY);
        assert_eq!(state.log.front().map(|e| e.path.as_str()), Some("/5"));
    }
}
