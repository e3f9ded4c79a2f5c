//! The webhook operations, one file each. Each adds its method to
//! [`Client`](crate::Client) and describes itself to the shared request path
//! (`src/request.rs`): name, method, path, what may be resent, and the
//! generated method that sends one attempt.
mod compare;
mod create;
mod delete;
mod ensure;
mod get;
mod list;
mod listing;
mod many;
mod sync;
mod update;

pub use create::CreateWebhook;
pub use ensure::{EnsureWebhook, Ensured};
pub use many::{AppOutcome, AppSync};
pub use sync::{SyncError, SyncOptions, SyncPlan, SyncReport, SyncStep, SyncWebhooks};
pub use update::UpdateWebhook;

/// The create setters, for builders holding the webhook in `self.webhook`
/// (`CreateWebhook`, `EnsureWebhook`): the same words, the same meaning.
macro_rules! webhook_setters {
    () => {
        /// Replaces the triggers. Takes known variants or strings (a trigger
        /// newer than this crate is sent as written).
        pub fn triggers<T: Into<crate::WebhookTrigger>>(
            mut self,
            triggers: impl IntoIterator<Item = T>,
        ) -> Self {
            self.webhook.triggers = triggers.into_iter().map(Into::into).collect();
            self
        }

        /// Adds one trigger.
        pub fn trigger(mut self, trigger: impl Into<crate::WebhookTrigger>) -> Self {
            self.webhook.triggers.push(trigger.into());
            self
        }

        /// The secret Sinch signs callbacks with.
        pub fn secret(mut self, secret: impl Into<crate::Secret>) -> Self {
            self.webhook.secret = Some(secret.into());
            self
        }

        /// `HTTP` (the builder's default) or `DISMISS`.
        pub fn target_type(mut self, target_type: impl Into<crate::WebhookTargetType>) -> Self {
            self.webhook.target_type = Some(target_type.into());
            self
        }

        /// OAuth2 credentials Sinch uses when calling the target.
        pub fn client_credentials(mut self, credentials: crate::NewClientCredentials) -> Self {
            self.webhook.client_credentials = Some(credentials);
            self
        }
    };
}
use webhook_setters;

/// What every operation file uses.
mod prelude {
    pub(super) use crate::client::Client;
    pub(super) use crate::error::Error;
    pub(super) use crate::request::{Api, Attempt, Info, Operation, Recovery, Resend};
    pub(super) use crate::validate;
}
