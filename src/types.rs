//! Wire types generated from `openapi/webhooks.yaml`.
//!
//! These are the API's own shapes. Secrets in them are [`Secret`](crate::Secret)s
//! (redacted `Debug`), enums are open (unknown values are kept), and strings
//! with a spec limit are newtypes that check it on construction and decoding.
pub use crate::generated::types::{
    ClientCredentials, ClientCredentialsResponseType, ClientCredentialsScope, CreateWebhookRequest,
    ErrorBody, ErrorDetail, ErrorResponse, Webhook, WebhookTarget,
};
