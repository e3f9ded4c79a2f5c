//! The seam between the handwritten layer and the generated client: the
//! per-request hooks, and the one place progenitor's error type is converted.
use std::sync::{Mutex, PoisonError};

use progenitor_client::{ClientHooks, OperationInfo};
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};

use crate::error::{AnswerTooLarge, ApiError, DecodeError, Error, TransportError};
use crate::generated;
use crate::types::ErrorResponse;
use crate::validate::{Rule, ValidationErrors, Violation};

/// `sinch-conversation-rust/<version>`.
pub(crate) const USER_AGENT_VALUE: &str =
    concat!("sinch-conversation-rust/", env!("CARGO_PKG_VERSION"));

/// What the answer looked like before the generated code parsed it.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
}

/// Per-request state handed to the generated client: the credentials to
/// send (moved into the request by the `pre` hook), and (filled in by the
/// `post` hook) the status and headers of the answer, which progenitor drops
/// when a body fails to parse.
#[derive(Debug)]
pub struct RequestContext {
    state: Mutex<State>,
    /// The request's `sinch.request` span, to record the path sent.
    span: tracing::Span,
    /// The largest answer read, in bytes.
    max_answer_bytes: usize,
}

#[derive(Debug, Clone, Default)]
struct State {
    authorization: Option<HeaderValue>,
    seen: Option<Seen>,
    /// Set by `exec` when the answer was larger than `max_answer_bytes`.
    too_large: Option<AnswerTooLarge>,
    /// A failure's body as received (progenitor decodes it and drops it).
    error_body: Option<Vec<u8>>,
}

// The generated client derives `Clone`; a clone carries the state so far.
impl Clone for RequestContext {
    fn clone(&self) -> Self {
        Self {
            state: Mutex::new(self.lock().clone()),
            span: self.span.clone(),
            max_answer_bytes: self.max_answer_bytes,
        }
    }
}

impl RequestContext {
    pub(crate) fn new(
        authorization: HeaderValue,
        span: &tracing::Span,
        max_answer_bytes: usize,
    ) -> Self {
        Self {
            state: Mutex::new(State {
                authorization: Some(authorization),
                seen: None,
                too_large: None,
                error_body: None,
            }),
            span: span.clone(),
            max_answer_bytes,
        }
    }

    /// Records that the answer was too large; an empty answer with the same
    /// status stands in for it (the generated code then fails to decode it,
    /// and [`convert`] reports this instead).
    fn too_large(&self, status: reqwest::StatusCode, length: Option<u64>) -> reqwest::Response {
        self.lock().too_large = Some(AnswerTooLarge {
            status: status.as_u16(),
            limit: self.max_answer_bytes,
            length,
        });
        let mut stand_in = http::Response::new(Vec::<u8>::new());
        *stand_in.status_mut() = status;
        reqwest::Response::from(stand_in)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn seen(&self) -> Option<Seen> {
        self.lock().seen.clone()
    }
}

impl ClientHooks<RequestContext> for generated::Client {
    async fn pre<E>(
        &self,
        request: &mut reqwest::Request,
        info: &OperationInfo,
    ) -> Result<(), progenitor_client::Error<E>> {
        if info.operation_id == "update_webhook" {
            join_repeated(request.url_mut(), "update_mask");
        }
        // The path as sent, not as the caller spelled it.
        self.inner
            .span
            .record("path", tracing::field::display(request.url().path()));
        let headers = request.headers_mut();
        // Moved, not cloned: one context serves one request.
        if let Some(authorization) = self.inner.lock().authorization.take() {
            headers.insert(AUTHORIZATION, authorization);
        }
        Ok(())
    }

    /// Sends the request and reads at most `max_answer_bytes` of the
    /// answer: a declared `Content-Length` over it is refused before
    /// reading; a body without one is read up to the limit.
    async fn exec(
        &self,
        request: reqwest::Request,
        _: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        let mut response = self.client.execute(request).await?;
        let limit = self.inner.max_answer_bytes;
        match response.content_length() {
            Some(length) if length <= limit as u64 && !response.status().is_success() => {
                // A failure's body is kept as received, for `ApiError::body`.
                let status = response.status();
                let version = response.version();
                let headers = response.headers().clone();
                let body = response.bytes().await?.to_vec();
                self.inner.lock().error_body = Some(body.clone());
                let mut read = http::Response::new(body);
                *read.status_mut() = status;
                *read.version_mut() = version;
                *read.headers_mut() = headers;
                Ok(reqwest::Response::from(read))
            }
            Some(length) if length <= limit as u64 => Ok(response),
            Some(length) => Ok(self.inner.too_large(response.status(), Some(length))),
            None => {
                // Rare (Sinch sends a length): read it here, within the limit.
                let mut body = Vec::new();
                while let Some(chunk) = response.chunk().await? {
                    if body.len() + chunk.len() > limit {
                        return Ok(self.inner.too_large(response.status(), None));
                    }
                    body.extend_from_slice(&chunk);
                }
                if !response.status().is_success() {
                    self.inner.lock().error_body = Some(body.clone());
                }
                let mut read = http::Response::new(body);
                *read.status_mut() = response.status();
                *read.version_mut() = response.version();
                *read.headers_mut() = response.headers().clone();
                Ok(reqwest::Response::from(read))
            }
        }
    }

    async fn post<E>(
        &self,
        result: &reqwest::Result<reqwest::Response>,
        _: &OperationInfo,
    ) -> Result<(), progenitor_client::Error<E>> {
        if let Ok(response) = result {
            let status = response.status();
            let mut headers = HeaderMap::new();
            // Only a failure's headers are ever read (Retry-After, the
            // expired-token hint); a success skips the lookups.
            if !status.is_success() {
                for name in [
                    reqwest::header::RETRY_AFTER,
                    reqwest::header::WWW_AUTHENTICATE,
                ] {
                    if let Some(v) = response.headers().get(&name) {
                        headers.insert(name, v.clone());
                    }
                }
            }
            self.inner.lock().seen = Some(Seen {
                status: status.as_u16(),
                headers,
            });
        }
        Ok(())
    }
}

/// Rewrites `name=a&name=b` (progenitor's form for an array query parameter,
/// whatever `explode` says) as `name=a,b`: one parameter, literal commas, as
/// Sinch's `style: form, explode: false` expects. Other parameters are kept.
fn join_repeated(url: &mut url::Url, name: &str) {
    let Some(query) = url.query() else { return };
    let mut values = Vec::new();
    let mut others = Vec::new();
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        if key == name {
            values.push(url::form_urlencoded::byte_serialize(value.as_bytes()).collect::<String>());
        } else {
            others.push((key.into_owned(), value.into_owned()));
        }
    }
    if values.is_empty() {
        return;
    }
    let mut joined = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&others)
        .finish();
    if !joined.is_empty() {
        joined.push('&');
    }
    joined.push_str(name);
    joined.push('=');
    joined.push_str(&values.join(","));
    url.set_query(Some(&joined));
}

/// progenitor's error → ours. The only place its error type is converted.
/// `T` is what the operation answers on success: a 2xx the spec does not
/// list (201, 202, 204, …) whose body is a `T` is a success, not an error
/// (reporting a created webhook as a failure invites a duplicate); one
/// whose body is not names the field that failed.
pub(crate) async fn convert<T: serde::de::DeserializeOwned>(
    error: progenitor_client::Error<ErrorResponse>,
    context: &RequestContext,
) -> Result<T, Error> {
    use progenitor_client::Error as P;
    if let Some(too_large) = context.lock().too_large.take() {
        return Err(Error::AnswerTooLarge(too_large));
    }
    Err(match error {
        P::ErrorResponse(value) => {
            let status = value.status().as_u16();
            let headers = value.headers().clone();
            // The body as received; re-encoded from its decoded form only if
            // it was not kept.
            let body = match context.lock().error_body.take() {
                Some(body) => body,
                None => serde_json::to_vec(value.as_ref()).unwrap_or_default(),
            };
            Error::Api(Box::new(ApiError::from_raw(status, &headers, &body)))
        }
        P::UnexpectedResponse(response) => {
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            match response.bytes().await {
                Ok(body) if (200..300).contains(&status) => {
                    return unlisted_success::<T>(status, &body);
                }
                Ok(body) => Error::Api(Box::new(ApiError::from_raw(status, &headers, &body))),
                Err(e) => Error::Transport(TransportError { source: e }),
            }
        }
        P::InvalidResponsePayload(body, _) => match context.seen() {
            Some(seen) if !(200..300).contains(&seen.status) => Error::Api(Box::new(
                ApiError::from_raw(seen.status, &seen.headers, &body),
            )),
            seen => decode_error::<T>(seen.map_or(200, |s| s.status), &body),
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

/// A 2xx the spec does not list: its body as a `T`; an empty body or `{}`
/// where `T` expects none (a delete's 204); otherwise a decode error.
fn unlisted_success<T: serde::de::DeserializeOwned>(status: u16, body: &[u8]) -> Result<T, Error> {
    if let Ok(answer) = serde_json::from_slice::<T>(body) {
        return Ok(answer);
    }
    let trimmed = body.trim_ascii();
    if (trimmed.is_empty() || trimmed == b"{}")
        && let Ok(answer) = serde_json::from_value::<T>(serde_json::Value::Null)
    {
        return Ok(answer);
    }
    Err(decode_error::<T>(status, body))
}

/// Decodes again with path tracking, to name the field that failed.
fn decode_error<T: serde::de::DeserializeOwned>(status: u16, body: &[u8]) -> Error {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let error = match serde_path_to_error::deserialize::<_, T>(&mut deserializer) {
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

/// Installs ring as rustls' process-wide crypto provider, unless one is
/// installed already: reqwest is built without a default (aws-lc would need
/// cmake). The one place the crate's code does this.
pub(crate) fn install_crypto_provider() {
    // Deprecated from rustls 0.23.48 (no post-quantum key exchange in ring);
    // ring is kept for its build cost (no cmake).
    #[allow(deprecated)]
    let _ = rustls::crypto::ring::default_provider().install_default();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_parameters_become_one_comma_separated_parameter() {
        let mut url =
            url::Url::parse("http://h/p?update_mask=target&update_mask=triggers").unwrap();
        join_repeated(&mut url, "update_mask");
        assert_eq!(url.query(), Some("update_mask=target,triggers"));

        let mut url = url::Url::parse("http://h/p?a=1&update_mask=x%20y&update_mask=z").unwrap();
        join_repeated(&mut url, "update_mask");
        assert_eq!(url.query(), Some("a=1&update_mask=x+y,z"));

        let mut url = url::Url::parse("http://h/p?a=1").unwrap();
        join_repeated(&mut url, "update_mask");
        assert_eq!(url.query(), Some("a=1"));
    }
}
