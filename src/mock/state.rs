//! What the stand-in remembers: webhooks per app of each project (with an
//! index by id), issued tokens, the request log and pending faults. One
//! mutex: every create checks the per-app limit and inserts under the same
//! lock, so concurrent creates cannot overshoot.
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;

use super::Fault;
use super::deliver::Delivery;
use crate::types::Webhook;

/// The longest lifetime the stand-in gives a token (longer settings are
/// cut to it): 10 years.
pub(crate) const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// About how many bytes of webhooks are kept (64 MiB); beyond it the oldest
/// apps are forgotten. With the 64 KiB body limit a webhook can be large,
/// so a count of apps alone does not bound memory.
pub(crate) const STORED_BYTES_CAPACITY: usize = 64 * 1024 * 1024;
/// Tokens kept; issuing one more forgets the oldest (O(1)).
pub(crate) const TOKEN_CAPACITY: usize = 20_000;

/// What an entry of a map or queue takes besides its strings (pointers,
/// lengths, hash and allocator headers), roughly.
const ENTRY_OVERHEAD: usize = 64;

/// What a webhook of `project_id` takes in memory: every string it holds,
/// a fixed part, and its entry in the id index (the id, and the project and
/// app again). Every copy counts: an oversized field must not grow memory
/// past the cap.
fn webhook_size(project_id: &str, webhook: &Webhook) -> usize {
    let text = |s: &Option<String>| s.as_ref().map_or(0, String::len);
    let cc = webhook.client_credentials.as_ref().map_or(0, |cc| {
        cc.client_id.len()
            + cc.client_secret.as_ref().map_or(0, |s| s.expose().len())
            + cc.endpoint.len()
            + cc.scope.as_ref().map_or(0, |s| s.len())
            + cc.response_type.as_ref().map_or(0, |s| s.len())
            + cc.token_request_type
                .as_ref()
                .map_or(0, |t| t.as_str().len())
            + ENTRY_OVERHEAD
    });
    256 + text(&webhook.app_id)
        + text(&webhook.id)
        + webhook.target.len()
        + webhook.secret.as_ref().map_or(0, |s| s.expose().len())
        + webhook
            .triggers
            .iter()
            .map(|t| t.as_str().len() + 32)
            .sum::<usize>()
        + cc
        // The id index: its key, and the project and app it points to.
        + text(&webhook.id)
        + project_id.len()
        + text(&webhook.app_id)
        + ENTRY_OVERHEAD
}

/// What an app takes besides its webhooks: its key (project and app) in the
/// map and again in the eviction order.
fn app_size((project_id, app_id): &AppKey) -> usize {
    2 * (project_id.len() + app_id.len() + ENTRY_OVERHEAD)
}

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
    /// The query string, if any (e.g. `update_mask=target,triggers`).
    pub query: Option<String>,
    /// Status answered (0 when the connection was dropped).
    pub status: u16,
    /// `basic`, `bearer` or `none`: how the caller authenticated.
    pub auth: &'static str,
    /// Time to answer.
    pub duration: Duration,
}

/// A project and an app in it.
pub(crate) type AppKey = (String, String);

#[derive(Default)]
pub(crate) struct State {
    /// Webhooks by (project, app), in creation order.
    apps: BTreeMap<AppKey, Vec<Webhook>>,
    /// Apps in the order they first got a webhook, for eviction.
    app_order: VecDeque<AppKey>,
    /// Where each webhook id lives.
    ids: HashMap<String, AppKey>,
    /// About how many bytes the webhooks kept take.
    stored_bytes: usize,
    /// Issued tokens in the order they were issued, for eviction.
    token_order: VecDeque<String>,
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

    /// The webhooks of an app, making room for a new app if needed.
    pub(crate) fn app_mut(&mut self, project_id: &str, app_id: &str) -> &mut Vec<Webhook> {
        let key = (project_id.to_owned(), app_id.to_owned());
        if !self.apps.contains_key(&key) {
            while self.app_order.len() >= APP_CAPACITY {
                self.forget_oldest_app();
            }
            self.stored_bytes += app_size(&key);
            self.app_order.push_back(key.clone());
        }
        self.apps.entry(key).or_default()
    }

    /// Forgets the app that first got a webhook longest ago.
    fn forget_oldest_app(&mut self) {
        if let Some(oldest) = self.app_order.pop_front()
            && let Some(gone) = self.apps.remove(&oldest)
        {
            self.stored_bytes -= app_size(&oldest);
            for webhook in gone {
                self.stored_bytes -= webhook_size(&oldest.0, &webhook);
                self.ids.remove(webhook.id.as_deref().unwrap_or_default());
            }
        }
    }

    /// Stores a new webhook (which has an id) at the end of its app's list,
    /// then forgets the oldest apps while the webhooks kept take more than
    /// [`STORED_BYTES_CAPACITY`].
    pub(crate) fn insert(&mut self, project_id: &str, webhook: Webhook) {
        let app_id = webhook.app_id.clone().unwrap_or_default();
        let id = webhook.id.clone().unwrap_or_default();
        self.stored_bytes += webhook_size(project_id, &webhook);
        self.app_mut(project_id, &app_id).push(webhook);
        self.ids
            .insert(id, (project_id.to_owned(), app_id.to_owned()));
        // The newest app is last in the order, so it stays.
        while self.stored_bytes > STORED_BYTES_CAPACITY && self.app_order.len() > 1 {
            self.forget_oldest_app();
        }
    }

    /// Replaces webhook `id` of the project (same id and app).
    pub(crate) fn replace(&mut self, project_id: &str, webhook: Webhook) -> bool {
        let id = webhook.id.clone().unwrap_or_default();
        let Some((key, position)) = self.locate(project_id, &id) else {
            return false;
        };
        let Some(slot) = self
            .apps
            .get_mut(&key)
            .and_then(|app| app.get_mut(position))
        else {
            return false;
        };
        self.stored_bytes =
            self.stored_bytes - webhook_size(project_id, slot) + webhook_size(project_id, &webhook);
        *slot = webhook;
        true
    }

    /// The webhooks of an app (none for an unknown one).
    pub(crate) fn app(&self, project_id: &str, app_id: &str) -> &[Webhook] {
        self.apps
            .get(&(project_id.to_owned(), app_id.to_owned()))
            .map_or(&[], Vec::as_slice)
    }

    /// Every app of a project with its webhooks.
    pub(crate) fn apps_of(&self, project_id: &str) -> BTreeMap<String, Vec<Webhook>> {
        self.apps
            .iter()
            .filter(|((project, _), _)| project == project_id)
            .map(|((_, app), webhooks)| (app.clone(), webhooks.clone()))
            .collect()
    }

    /// The app holding webhook `id` in the project, and its position there.
    /// Another project's webhook is not found: ids are scoped to a project.
    pub(crate) fn locate(&self, project_id: &str, id: &str) -> Option<(AppKey, usize)> {
        let key = self
            .ids
            .get(id)
            .filter(|(project, _)| project == project_id)?;
        let position = self
            .apps
            .get(key)?
            .iter()
            .position(|w| w.id.as_deref() == Some(id))?;
        Some((key.clone(), position))
    }

    /// Webhook `id` of the project.
    pub(crate) fn get(&self, project_id: &str, id: &str) -> Option<&Webhook> {
        let (key, position) = self.locate(project_id, id)?;
        self.apps.get(&key)?.get(position)
    }

    /// Deletes webhook `id` of the project; its app's slot is free again.
    pub(crate) fn remove(&mut self, project_id: &str, id: &str) -> Option<Webhook> {
        let (key, position) = self.locate(project_id, id)?;
        self.ids.remove(id);
        let webhook = self.apps.get_mut(&key)?.remove(position);
        self.stored_bytes -= webhook_size(project_id, &webhook);
        Some(webhook)
    }

    pub(crate) fn clear_webhooks(&mut self) {
        self.apps.clear();
        self.app_order.clear();
        self.ids.clear();
        self.stored_bytes = 0;
    }

    pub(crate) fn clear_tokens(&mut self) {
        self.tokens.clear();
        self.token_order.clear();
    }

    pub(crate) fn record_delivery(&mut self, delivery: Delivery) {
        if self.deliveries.len() == LOG_CAPACITY {
            self.deliveries.pop_front();
        }
        self.deliveries.push_back(delivery);
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
        // Checked: the lifetime is the caller's (`--token-lifetime-secs`).
        let expires = now
            .checked_add(self.token_lifetime)
            .unwrap_or(now + MAX_TOKEN_LIFETIME)
            .min(now + MAX_TOKEN_LIFETIME);
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
        // A bounded store: issuing forgets the oldest token, O(1).
        while self.token_order.len() >= TOKEN_CAPACITY {
            if let Some(oldest) = self.token_order.pop_front() {
                self.tokens.remove(&oldest);
            }
        }
        self.tokens.insert(token.clone(), expires);
        self.token_order.push_back(token.clone());
        let expires_in = expires.duration_since(now).map_or(0, |d| d.as_secs());
        (token, expires_in)
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
    fn a_huge_token_lifetime_is_capped_not_a_panic() {
        let mut state = State::new(Duration::MAX);
        let (_, expires_in) = state.issue_token("kid");
        assert_eq!(expires_in, MAX_TOKEN_LIFETIME.as_secs());
        let mut state = State::new(Duration::from_secs(u64::MAX));
        assert_eq!(state.issue_token("kid").1, MAX_TOKEN_LIFETIME.as_secs());
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

    fn webhook(app: &str) -> Webhook {
        Webhook {
            app_id: Some(app.to_owned()),
            client_credentials: None,
            id: Some(new_id()),
            secret: None,
            target: "https://example.com/h".into(),
            target_type: None,
            triggers: vec![],
        }
    }

    #[test]
    fn the_oldest_app_is_forgotten_beyond_capacity_with_its_ids() {
        let mut state = State::default();
        let first = webhook("app-0");
        state.insert("p", first.clone());
        for i in 1..APP_CAPACITY + 3 {
            state.app_mut("p", &format!("app-{i}"));
        }
        assert_eq!(state.apps.len(), APP_CAPACITY);
        assert!(state.app("p", "app-2").is_empty() && state.apps_of("p").len() == APP_CAPACITY);
        assert!(!state.apps_of("p").contains_key("app-2"));
        assert!(state.apps_of("p").contains_key("app-3"));
        // The evicted app's webhook is gone from the index too.
        assert!(state.ids.is_empty());
        assert!(state.get("p", first.id.as_deref().unwrap()).is_none());
        // An existing app does not evict anything.
        state.app_mut("p", "app-3");
        assert_eq!(state.apps.len(), APP_CAPACITY);
    }

    #[test]
    fn webhooks_kept_are_capped_by_bytes_not_only_by_apps() {
        let mut state = State::default();
        let mut large = webhook("app-0");
        large.secret = Some("s".repeat(60_000).into());
        let per_webhook = webhook_size("p", &large) + app_size(&("p".into(), "app-0".into()));
        let apps = 2 * STORED_BYTES_CAPACITY / per_webhook;
        for i in 0..apps {
            let mut w = large.clone();
            w.app_id = Some(format!("app-{i}"));
            w.id = Some(new_id());
            state.insert("p", w);
            assert!(state.stored_bytes <= STORED_BYTES_CAPACITY + per_webhook);
        }
        assert!(
            state.apps.len() < apps / 2 + 1,
            "{} apps kept",
            state.apps.len()
        );
        // The newest stays; the oldest went, with its index entries.
        assert!(!state.app("p", &format!("app-{}", apps - 1)).is_empty());
        assert!(state.app("p", "app-0").is_empty());
        assert_eq!(
            state.ids.len(),
            state.apps.values().map(Vec::len).sum::<usize>()
        );
        // Removing and replacing keep the count right.
        let last = state.app("p", &format!("app-{}", apps - 1))[0].clone();
        let before = state.stored_bytes;
        let mut smaller = last.clone();
        smaller.secret = None;
        assert!(state.replace("p", smaller.clone()));
        assert_eq!(state.stored_bytes, before - 60_000);
        state.remove("p", smaller.id.as_deref().unwrap());
        assert_eq!(
            state.stored_bytes,
            before - 60_000 - webhook_size("p", &smaller)
        );
        // Forgetting every app brings the count back to zero.
        while !state.app_order.is_empty() {
            state.forget_oldest_app();
        }
        assert_eq!(state.stored_bytes, 0);
    }

    #[test]
    fn every_copy_of_an_app_id_is_counted() {
        let stored = |app: &str| {
            let mut state = State::default();
            state.insert("p", webhook(app));
            state.stored_bytes
        };
        // The webhook's own copy, the map's key, the eviction order and
        // the id index: four copies.
        let long = "a".repeat(10_001);
        assert_eq!(stored(&long) - stored("a"), 4 * 10_000);
    }

    #[test]
    fn the_token_store_is_bounded_and_forgets_the_oldest() {
        let mut state = State::new(Duration::from_secs(3600));
        let (first, _) = state.issue_token("kid");
        let mut last = String::new();
        for _ in 0..TOKEN_CAPACITY + 10 {
            last = state.issue_token("kid").0;
        }
        assert_eq!(state.tokens.len(), TOKEN_CAPACITY);
        assert_eq!(state.token_order.len(), TOKEN_CAPACITY);
        assert!(!state.tokens.contains_key(&first));
        assert!(state.tokens.contains_key(&last));
    }

    #[test]
    fn ids_are_scoped_to_their_project_and_freed_on_removal() {
        let mut state = State::default();
        let w = webhook("a");
        let id = w.id.clone().unwrap();
        state.insert("p", w.clone());
        assert_eq!(state.get("p", &id), Some(&w));
        assert_eq!(state.get("other", &id), None);
        assert_eq!(state.remove("other", &id), None);
        assert_eq!(state.remove("p", &id), Some(w));
        assert!(state.app("p", "a").is_empty());
        assert!(state.ids.is_empty());
    }

    #[test]
    fn the_log_is_capped() {
        let mut state = State::default();
        for i in 0..LOG_CAPACITY + 5 {
            state.record(LoggedRequest {
                method: "GET".into(),
                path: format!("/{i}"),
                query: None,
                status: 404,
                auth: "none",
                duration: Duration::ZERO,
            });
        }
        assert_eq!(state.log.len(), LOG_CAPACITY);
        assert_eq!(state.log.front().map(|e| e.path.as_str()), Some("/5"));
    }
}
