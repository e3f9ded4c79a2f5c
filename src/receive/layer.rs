//! Settles each request's claim from the answer the handler gave.
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::http::{Request, Response};

use super::ClaimSlot;

/// Takes each [`SinchCallback`](super::SinchCallback)'s outcome from the
/// handler's answer: a 2xx completes the event's claim, any other status
/// releases it (so Sinch's retry is handled). A handler that panics, or a
/// request dropped midway (the sender disconnected or timed out), drops the
/// claim, which releases it. Put it on the router (or the route) that has
/// the extractor:
///
/// ```
/// # use axum::{http::StatusCode, routing::post, Router};
/// # use sinch_conversation::receive::{CallbackLayer, Receiver, SinchCallback};
/// # async fn on_callback(_: SinchCallback) -> StatusCode { StatusCode::OK }
/// let app: Router = Router::new()
///     .route("/sinch", post(on_callback))
///     .layer(CallbackLayer::new())
///     .with_state(Receiver::new(["secret"]));
/// ```
///
/// It costs a small allocation per request; on routes without the
/// extractor it does nothing else.
#[derive(Clone, Copy, Debug, Default)]
pub struct CallbackLayer {
    _private: (),
}

impl CallbackLayer {
    /// The layer.
    pub fn new() -> Self {
        Self::default()
    }
}

impl<S> tower_layer::Layer<S> for CallbackLayer {
    type Service = CallbackService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CallbackService { inner }
    }
}

/// The service [`CallbackLayer`] wraps a route in.
#[derive(Clone, Debug)]
pub struct CallbackService<S> {
    inner: S,
}

impl<S, B, R> tower_service::Service<Request<B>> for CallbackService<S>
where
    S: tower_service::Service<Request<B>, Response = Response<R>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    R: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<R>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let slot = ClaimSlot::default();
        request.extensions_mut().insert(slot.clone());
        let answer = self.inner.call(request);
        Box::pin(async move {
            #[cfg(feature = "metrics")]
            let started = std::time::Instant::now();
            let response = answer.await?;
            let success = response.status().is_success();
            slot.settle(success).await;
            #[cfg(feature = "metrics")]
            super::observe_handler(&slot, success, started);
            Ok(response)
        })
    }
}
