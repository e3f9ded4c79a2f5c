//! The seam between the handwritten layer and the generated client: the
//! per-request hooks, and the one place progenitor's error type is converted.
use std::sync::Mutex;

use progenitor_client::{ClientHooks, OperationInfo, ResponseValue};
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue, USER_AGENT};

use crate::error::{ApiError, DecodeError, Error, TransportError};
use crate::generated;
use crate::types::{ErrorResponse, Webhook};
use crate::validate::{Rule, ValidationErrors, Violation};

/// `sinch-conversation-rust/<version>`.
pub(crate) const USER_AGENT_VALUE: &str =
    concat!("sinch-conversation-rust/", env!("CARGO_PKG_VERSION"));

const API_VERSION: HeaderName = HeaderName::from_static("api-version");

/// What the answer looked like before the generated code parsed it.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
}

/// Per-request state handed to the generated client: the credentials to
/// send, and (filled in by the `post` hook) the status and headers of the
/// answer, which progenitor drops when a body fails to parse.
#[derive(Debug)]
pub struct RequestContext {
    authorization: HeaderValue,
    seen: Mutex<Option<Seen>>,
}

// The generated client derives `Clone`; a clone carries what was seen so far.
impl Clone for RequestContext {
    fn clone(&self) -> Self {
        Self {
            authorization: self.authorization.clone(),
            seen: Mutex::new(self.seen()),
        }
    }
}

impl RequestContext {
    pub(crate) fn new(authorization: HeaderValue) -> Self {
        Self {
            authorization,
            seen: Mutex::new(None),
        }
    }

    pub(crate) fn seen(&self) -> Option<Seen> {
        self.seen.lock().ok().and_then(|s| s.clone())
    }
}

impl ClientHooks<RequestContext> for generated::Client {
    async fn pre<E>(
        &self,
        request: &mut reqwest::Request,
        _: &OperationInfo,
    ) -> Result<(), progenitor_client::Error<E>> {
        let headers = request.headers_mut();
        // progenitor adds `api-version: <info.version>`; Sinch has no such header.
        headers.remove(API_VERSION);
        headers.insert(AUTHORIZATION, self.inner.authorization.clone());
        headers.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
        Ok(())
    }

    async fn post<E>(
        &self,
        result: &reqwest::Result<reqwest::Response>,
        _: &OperationInfo,
    ) -> Result<(), progenitor_client::Error<E>> {
        if let Ok(response) = result
            && let Ok(mut seen) = self.inner.seen.lock()
        {
            let mut headers = HeaderMap::new();
            for name in [
                reqwest::header::RETRY_AFTER,
                reqwest::header::WWW_AUTHENTICATE,
            ] {
                if let Some(v) = response.headers().get(&name) {
                    headers.insert(name, v.clone());
                }
            }
            *seen = Some(Seen {
                status: response.status().as_u16(),
                headers,
            });
        }
        Ok(())
    }
}

/// progenitor's result → ours. The only place its error type is converted.
pub(crate) async fn convert(
    result: Result<ResponseValue<Webhook>, progenitor_client::Error<ErrorResponse>>,
    context: &RequestContext,
) -> Result<Webhook, Error> {
    use progenitor_client::Error as P;
    let error = match result {
        Ok(value) => return Ok(value.into_inner()),
        Err(error) => error,
    };
    Err(match error {
        P::ErrorResponse(value) => {
            let status = value.status().as_u16();
            let headers = value.headers().clone();
            let body = serde_json::to_vec(value.as_ref()).unwrap_or_default();
            Error::Api(Box::new(ApiError::from_raw(status, &headers, &body)))
        }
        P::UnexpectedResponse(response) => {
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            match response.bytes().await {
                Ok(body) if (200..300).contains(&status) => decode_error(status, &body),
                Ok(body) => Error::Api(Box::new(ApiError::from_raw(status, &headers, &body))),
                Err(e) => Error::Transport(TransportError { source: e }),
            }
        }
        P::InvalidResponsePayload(body, _) => match context.seen() {
            Some(seen) if !(200..300).contains(&seen.status) => Error::Api(Box::new(
                ApiError::from_raw(seen.status, &seen.headers, &body),
            )),
            seen => decode_error(seen.map_or(200, |s| s.status), &body),
        },
        P::CommunicationError(e) | P::ResponseBodyError(e) | P::InvalidUpgrade(e) => {
            Error::Transport(TransportError { source: e })
        }
        // Validation ran first, so these mean the generated code and the
        // validator disagree; report them as a request problem.
        P::InvalidRequest(why) | P::Custom(why) => {
            Error::Validation(ValidationErrors::new(vec![Violation::new(
                "",
                Rule::Invalid(why),
            )]))
        }
    })
}

/// Decodes again with path tracking, to name the field that failed.
fn decode_error(status: u16, body: &[u8]) -> Error {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let error = match serde_path_to_error::deserialize::<_, Webhook>(&mut deserializer) {
        Err(e) => {
            let field = e.path().to_string();
            DecodeError {
                status,
                field,
                source: e.into_inner(),
            }
        }
        Ok(_) => DecodeError {
            status,
            field: ".".to_owned(),
            source: serde::de::Error::custom(format!("unexpected status {status} for a success")),
        },
    };
    Error::Decode(error)
}
