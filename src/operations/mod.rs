//! The webhook operations, one file each. Each adds its method to
//! [`Client`](crate::Client) and describes itself to the shared request path
//! (`src/request.rs`): name, method, path, what may be resent, and the
//! generated method that sends one attempt.
mod create;
mod delete;
mod get;
mod list;
mod update;

pub use create::CreateWebhook;
pub use update::UpdateWebhook;
