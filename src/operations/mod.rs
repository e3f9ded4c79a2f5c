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
mod many;
mod sync;
mod update;

pub use create::CreateWebhook;
pub use ensure::{EnsureWebhook, Ensured};
pub use many::AppOutcome;
pub use sync::{SyncError, SyncPlan, SyncReport, SyncStep, SyncWebhooks};
pub use update::UpdateWebhook;

/// What every operation file uses.
mod prelude {
    pub(super) use crate::client::Client;
    pub(super) use crate::error::Error;
    pub(super) use crate::request::{Api, Attempt, Info, Operation, Recovery, Resend};
    pub(super) use crate::validate;
}
