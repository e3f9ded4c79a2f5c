//! Sinch Conversation API webhooks.
mod generated;
mod secret;
mod transport;
pub mod types;
pub use generated::enums::*;
pub use generated::spec;
pub use secret::Secret;
pub use types::Webhook;
