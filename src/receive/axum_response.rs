//! What axum answers for a rejection, and signed requests for tests.
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::CallbackRejection;
use crate::secret::Secret;

impl IntoResponse for CallbackRejection {
    fn into_response(self) -> Response {
        let retry_after = self.retry_after_secs();
        let bearer = self == CallbackRejection::BadBearer;
        let mut response = (self.status(), self.body()).into_response();
        if bearer {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, axum::http::HeaderValue::from(secs));
        }
        response
    }
}

/// For your handler's tests: a `POST` request to `uri` carrying `body`
/// signed with `secret` as Sinch signs it (fresh nonce, now), ready for
/// `tower::ServiceExt::oneshot` on your router.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use axum::{http::StatusCode, routing::post, Router};
/// use sinch_conversation::receive::{signed_request, Receiver, SinchCallback};
/// use tower::ServiceExt as _;
///
/// async fn on_callback(_: SinchCallback) -> StatusCode { StatusCode::OK }
/// let app = Router::new().route("/sinch", post(on_callback)).with_state(Receiver::new(["s"]));
///
/// let body = r#"{"app_id":"a","project_id":"p","message":{"id":"M1"}}"#;
/// let answer = app.clone().oneshot(signed_request("/sinch", "s", body)).await.unwrap();
/// assert_eq!(answer.status(), StatusCode::OK);
/// let forged = app.oneshot(signed_request("/sinch", "not the secret", body)).await.unwrap();
/// assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
/// # }
/// ```
pub fn signed_request(
    uri: &str,
    secret: impl Into<Secret>,
    body: impl Into<Vec<u8>>,
) -> axum::http::Request<axum::body::Body> {
    let body = body.into();
    let signed = crate::callbacks::Signer::new(secret).sign(&body);
    let mut request = axum::http::Request::new(axum::body::Body::from(body));
    *request.method_mut() = axum::http::Method::POST;
    if let Ok(uri) = uri.parse() {
        *request.uri_mut() = uri;
    }
    let headers = request.headers_mut();
    headers.extend(signed.to_header_map());
    headers.insert(
        header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/json"),
    );
    request
}
