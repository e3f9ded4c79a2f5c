#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

mod auth;
pub mod callbacks;
mod client;
pub mod dedup;
mod error;
pub mod events;
mod generated;
pub mod guide;
#[cfg(all(feature = "redis", feature = "axum"))]
#[cfg_attr(docsrs, doc(cfg(all(feature = "redis", feature = "axum"))))]
pub mod inbox;
#[cfg(feature = "metrics")]
#[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
pub mod metrics;
#[cfg(feature = "mock")]
#[cfg_attr(docsrs, doc(cfg(feature = "mock")))]
pub mod mock;
mod operations;
mod rate;
#[cfg(any(feature = "axum", feature = "actix"))]
#[cfg_attr(docsrs, doc(cfg(any(feature = "axum", feature = "actix"))))]
pub mod receive;
mod request;
mod retry;
mod scrub;
mod secret;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub mod shared;
mod target;
mod transport;
pub mod types;
pub mod validate;

pub use client::{Client, ClientBuilder, Region, env};
pub use error::{
    AnswerTooLarge, ApiError, AuthError, ConfigError, DecodeError, Error, ErrorDetail,
    TransportError, UnexpectedAnswer,
};
pub use generated::enums::{TokenRequestType, WebhookTargetType, WebhookTrigger};
pub use generated::spec;
pub use operations::{
    AppOutcome, AppSync, CreateWebhook, EnsureWebhook, Ensured, SyncError, SyncOptions, SyncPlan,
    SyncReport, SyncStep, SyncWebhooks, UpdateWebhook,
};
pub use retry::RetryPolicy;
pub use secret::{Secret, redacted_json};
pub use target::TargetUrl;
pub use types::Webhook;
pub use validate::{
    NewClientCredentials, NewWebhook, UpdateWebhookRequest, ValidationErrors, WebhookChanges,
};
