//! Wire types generated from `openapi/webhooks.yaml`.
//!
//! These are the API's own shapes. Secrets in them are [`Secret`](crate::Secret)s
//! (redacted `Debug`), URLs Sinch calls are [`TargetUrl`]s
//! (a password in them shows as `***`), enums are open (unknown values are
//! kept), and other strings with a spec limit are newtypes that check it on
//! construction and decoding.
//! With the `schemars` feature they implement `schemars::JsonSchema`.
//!
//! ```
//! use sinch_conversation::types::Webhook;
//! use sinch_conversation::WebhookTrigger;
//!
//! let webhook: Webhook = serde_json::from_str(
//!     r#"{"id":"01H","target":"https://u:pw@example.com/h","triggers":["MESSAGE_INBOUND","NEW_ONE"],"secret":"s"}"#,
//! )?;
//! assert_eq!(webhook.triggers[1], WebhookTrigger::Unknown("NEW_ONE".into()));
//! let shown = format!("{webhook:?}");
//! assert!(!shown.contains("\"s\"") && !shown.contains("pw"));
//! assert_eq!(webhook.target.as_str(), "https://u:pw@example.com/h");
//! # Ok::<(), serde_json::Error>(())
//! ```
pub use crate::generated::types::{
    ClientCredentials, ClientCredentialsResponseType, ClientCredentialsScope, CreateWebhookRequest,
    ErrorBody, ErrorDetail, ErrorResponse, ListWebhooksResponse, StoredClientCredentials, Webhook,
    WebhookUpdate,
};
pub use crate::target::TargetUrl;

impl From<ClientCredentials> for StoredClientCredentials {
    /// The credentials as Sinch stores (and may answer) them.
    fn from(cc: ClientCredentials) -> Self {
        Self {
            client_id: cc.client_id,
            client_secret: Some(cc.client_secret),
            endpoint: cc.endpoint,
            // The same limits (from the spec), so these conversions of
            // already-checked values cannot fail.
            scope: cc.scope.and_then(|s| String::from(s).try_into().ok()),
            response_type: cc
                .response_type
                .and_then(|s| String::from(s).try_into().ok()),
            token_request_type: cc.token_request_type,
        }
    }
}
