//! Receiving callbacks with actix-web (feature `actix`): the same
//! [`SinchCallback`] extractor, verified, capped, deduplicated and answered
//! exactly as with axum (the same statuses, bodies and headers), on the same
//! [`Receiver`]; [`CallbackMiddleware`] settles each claim from the
//! handler's answer as axum's [`CallbackLayer`](super::CallbackLayer) does.
//!
//! ```
//! use std::time::Duration;
//! use actix_web::{web, App, HttpResponse};
//! use sinch_conversation::dedup::MemoryDeduplicator;
//! use sinch_conversation::receive::actix::CallbackMiddleware;
//! use sinch_conversation::receive::{Receiver, SinchCallback};
//!
//! async fn on_callback(callback: SinchCallback) -> HttpResponse {
//!     println!("{:?} {}", callback.event.trigger(), callback.idempotency_key());
//!     HttpResponse::Ok().finish() // 2xx: completed. Anything else: released.
//! }
//!
//! let receiver = Receiver::new(["the webhook's secret"])
//!     .deduplicate(MemoryDeduplicator::new(100_000, Duration::from_secs(24 * 3600)));
//! let app = App::new()
//!     .app_data(web::Data::new(receiver))
//!     .wrap(CallbackMiddleware::new())
//!     .route("/sinch", web::post().to(on_callback));
//! # drop(app);
//! ```
//!
//! The [`Receiver`] is found in the app's data, as `web::Data<Receiver>`
//! or as a plain `Receiver`; without one, every callback is answered 500
//! (so Sinch retries it) and the reason is logged.
use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use actix_web::dev::{Payload, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::StatusCode as ActixStatus;
use actix_web::{FromRequest, HttpMessage as _, HttpRequest, HttpResponse, ResponseError, web};
use bytes::{Bytes, BytesMut};
use http::HeaderMap;

use super::{CallbackRejection, ClaimSlot, Receiver, SinchCallback};
use crate::secret::Secret;

impl FromRequest for SinchCallback {
    type Error = CallbackRejection;
    type Future = Pin<Box<dyn Future<Output = Result<Self, CallbackRejection>>>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let receiver = request
            .app_data::<web::Data<Receiver>>()
            .map(|data| data.get_ref().clone())
            .or_else(|| request.app_data::<Receiver>().cloned());
        let headers = headers(request.headers());
        let slot = request.extensions().get::<ClaimSlot>().cloned();
        let payload = payload.take();
        Box::pin(async move {
            let result = extract(receiver, headers, payload, slot).await;
            super::observe(&result);
            result
        })
    }
}

async fn extract(
    receiver: Option<Receiver>,
    headers: HeaderMap,
    payload: Payload,
    slot: Option<ClaimSlot>,
) -> Result<SinchCallback, CallbackRejection> {
    let Some(receiver) = receiver else {
        tracing::error!(
            "SinchCallback: no Receiver in the app's data; add `.app_data(web::Data::new(receiver))`"
        );
        return Err(CallbackRejection::NoReceiver);
    };
    let body = read_payload(&receiver, &headers, payload).await?;
    let slot = slot.unwrap_or_else(|| {
        if receiver.dedup.is_some() {
            super::warn_no_layer();
        }
        ClaimSlot::default()
    });
    receiver.receive_bytes(&headers, body, slot).await
}

/// actix-web's headers (`http` 0.2) as the core reads them (`http` 1).
fn headers(from: &actix_web::http::header::HeaderMap) -> HeaderMap {
    let mut to = HeaderMap::with_capacity(from.len());
    for (name, value) in from {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name.as_str().as_bytes()),
            http::HeaderValue::from_bytes(value.as_bytes()),
        ) {
            to.append(name, value);
        }
    }
    to
}

/// The body, up to the receiver's cap (413) and within its deadline (408),
/// as the axum extractor reads it.
async fn read_payload(
    receiver: &Receiver,
    headers: &HeaderMap,
    mut payload: Payload,
) -> Result<Bytes, CallbackRejection> {
    let limit = receiver.max_body_bytes;
    if super::declared_too_large(headers, limit) {
        return Err(CallbackRejection::TooLarge { limit });
    }
    let read = async {
        let mut body = BytesMut::new();
        while let Some(chunk) =
            std::future::poll_fn(|cx| futures_core::Stream::poll_next(Pin::new(&mut payload), cx))
                .await
        {
            let chunk = chunk.map_err(|e| CallbackRejection::BodyUnreadable(e.to_string()))?;
            if body.len() + chunk.len() > limit {
                return Err(CallbackRejection::TooLarge { limit });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    };
    match tokio::time::timeout(receiver.body_timeout, read).await {
        Ok(read) => read,
        Err(_) => Err(CallbackRejection::BodyTimeout {
            after: receiver.body_timeout,
        }),
    }
}

impl ResponseError for CallbackRejection {
    fn status_code(&self) -> ActixStatus {
        ActixStatus::from_u16(self.status().as_u16()).unwrap_or(ActixStatus::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        response.content_type("text/plain; charset=utf-8");
        if *self == CallbackRejection::BadBearer {
            response.insert_header(("www-authenticate", "Bearer"));
        }
        if let Some(secs) = self.retry_after_secs() {
            response.insert_header(("retry-after", secs.to_string()));
        }
        response.body(self.body())
    }
}

/// Takes each [`SinchCallback`]'s outcome from the handler's answer: a 2xx
/// completes the event's claim, anything else releases it (so Sinch's retry
/// is handled); a handler that panics or a request dropped midway drops the
/// claim, which releases it. `.wrap()` it around the app or the scope that
/// has the extractor (see the [module](self)).
#[derive(Clone, Copy, Debug, Default)]
pub struct CallbackMiddleware {
    _private: (),
}

impl CallbackMiddleware {
    /// The middleware.
    pub fn new() -> Self {
        Self::default()
    }
}

impl<S, B> Transform<S, ServiceRequest> for CallbackMiddleware
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Transform = CallbackMiddlewareService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, ()>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(CallbackMiddlewareService {
            service: Rc::new(service),
        }))
    }
}

/// The service [`CallbackMiddleware`] wraps an app in.
#[derive(Debug)]
pub struct CallbackMiddlewareService<S> {
    service: Rc<S>,
}

impl<S, B> Service<ServiceRequest> for CallbackMiddlewareService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<ServiceResponse<B>, actix_web::Error>>>>;

    fn poll_ready(&self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.service.poll_ready(cx)
    }

    fn call(&self, request: ServiceRequest) -> Self::Future {
        let slot = ClaimSlot::default();
        request.extensions_mut().insert(slot.clone());
        let answer = self.service.call(request);
        Box::pin(async move {
            #[cfg(feature = "metrics")]
            let started = std::time::Instant::now();
            let answer = answer.await;
            let success = answer
                .as_ref()
                .is_ok_and(|response| response.status().is_success());
            slot.settle(success).await;
            #[cfg(feature = "metrics")]
            super::observe_handler(&slot, success, started);
            answer
        })
    }
}

/// For your handler's tests: a `POST` to `uri` carrying `body` signed with
/// `secret` as Sinch signs it (fresh nonce, now), for actix-web's test tools.
///
/// ```
/// # #[actix_web::main]
/// # async fn main() {
/// use actix_web::{test, web, App, HttpResponse};
/// use sinch_conversation::receive::actix::{signed_request, CallbackMiddleware};
/// use sinch_conversation::receive::{Receiver, SinchCallback};
///
/// async fn on_callback(_: SinchCallback) -> HttpResponse { HttpResponse::Ok().finish() }
/// let app = test::init_service(
///     App::new()
///         .app_data(web::Data::new(Receiver::new(["s"])))
///         .wrap(CallbackMiddleware::new())
///         .route("/sinch", web::post().to(on_callback)),
/// )
/// .await;
/// let body = r#"{"app_id":"a","project_id":"p","message":{"id":"M1"}}"#;
/// let answer = test::call_service(&app, signed_request("/sinch", "s", body).to_request()).await;
/// assert_eq!(answer.status(), 200);
/// let forged = signed_request("/sinch", "not the secret", body).to_request();
/// assert_eq!(test::call_service(&app, forged).await.status(), 401);
/// # }
/// ```
pub fn signed_request(
    uri: &str,
    secret: impl Into<Secret>,
    body: impl Into<Vec<u8>>,
) -> actix_web::test::TestRequest {
    let body = body.into();
    let signed = crate::callbacks::Signer::new(secret).sign(&body);
    let mut request = actix_web::test::TestRequest::post()
        .uri(uri)
        .insert_header(("content-type", "application/json"));
    for (name, value) in &signed.to_header_map() {
        request = request.insert_header((name.as_str(), value.as_bytes().to_vec()));
    }
    request.set_payload(body)
}
