//! Wire types generated from `openapi/webhooks.yaml`.
//!
//! These are the API's own shapes. Secrets in them are [`Secret`](crate::Secret)s
//! (redacted `Debug`), enums are open (unknown values are kept), and strings
//! with a spec limit are newtypes that check it on construction and decoding.
//! With the `schemars` feature they implement `schemars::JsonSchema`.
//!
//! ```
//! use sinch_conversation::types::{Webhook, WebhookTarget};
//! use sinch_conversation::WebhookTrigger;
//!
//! let webhook: Webhook = serde_json::from_str(
//!     r#"{"id":"01H","target":"https://example.com/h","triggers":["MESSAGE_INBOUND","NEW_ONE"],"secret":"s"}"#,
//! )?;
//! assert_eq!(webhook.triggers[1], WebhookTrigger::Unknown("NEW_ONE".into()));
//! assert!(!format!("{webhook:?}").contains("\"s\""));
//! assert!(WebhookTarget::try_from("x".repeat(743)).is_err());
//! # Ok::<(), serde_json::Error>(())
//! ```
pub use crate::generated::types::{
    ClientCredentials, ClientCredentialsResponseType, ClientCredentialsScope, CreateWebhookRequest,
    ErrorBody, ErrorDetail, ErrorResponse, ListWebhooksResponse, Webhook, WebhookTarget,
    WebhookUpdate,
};
