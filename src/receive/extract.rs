//! The axum extractor: read the body (capped, with a deadline), then do
//! what [`Receiver::receive`] does.
use axum::extract::{FromRef, FromRequest, Request};
use http_body_util::BodyExt as _;

use super::{CallbackRejection, ClaimSlot, Receiver, SinchCallback};

impl<S> FromRequest<S> for SinchCallback
where
    Receiver: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = CallbackRejection;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let result = extract(request, Receiver::from_ref(state)).await;
        super::observe(&result);
        result
    }
}

/// Reads the body, then receives it through the route's claim slot.
async fn extract(request: Request, receiver: Receiver) -> Result<SinchCallback, CallbackRejection> {
    let (parts, body) = request.into_parts();
    let body = read_body(&receiver, &parts.headers, body).await?;
    let slot = match parts.extensions.get::<ClaimSlot>() {
        Some(slot) => slot.clone(),
        None => {
            if receiver.dedup.is_some() {
                super::warn_no_layer();
            }
            ClaimSlot::default()
        }
    };
    receiver.receive_bytes(&parts.headers, body, slot).await
}

/// The body, up to the receiver's cap (413 beyond it, declared or not) and
/// within its deadline (408).
pub(crate) async fn read_body(
    receiver: &Receiver,
    headers: &axum::http::HeaderMap,
    body: axum::body::Body,
) -> Result<axum::body::Bytes, CallbackRejection> {
    let limit = receiver.max_body_bytes;
    if super::declared_too_large(headers, limit) {
        return Err(CallbackRejection::TooLarge { limit });
    }
    let read = http_body_util::Limited::new(body, limit).collect();
    match tokio::time::timeout(receiver.body_timeout, read).await {
        Err(_) => Err(CallbackRejection::BodyTimeout {
            after: receiver.body_timeout,
        }),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e))
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            Err(CallbackRejection::TooLarge { limit })
        }
        Ok(Err(e)) => Err(CallbackRejection::BodyUnreadable(e.to_string())),
    }
}
