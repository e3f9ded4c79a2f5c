//! The one request path every operation runs through: credentials, the
//! `sinch.request` span, retries by what is safe to resend, and error
//! conversion (decode errors naming the field).
//!
//! An operation (one file each in `src/operations/`) says only what is its
//! own: its name and method, whether it may be resent after an answer that
//! may have been applied, and the generated method that sends one attempt.
//! Everything else happens here, once. (The span's `path` is recorded from
//! the request actually built, in `transport.rs`'s `pre` hook.)
use std::pin::Pin;
use std::time::{Duration, Instant};

use progenitor_client::ResponseValue;
use serde::de::DeserializeOwned;
use tracing::Instrument as _;

use crate::client::Client;
use crate::error::Error;
use crate::generated;
use crate::transport::{self, RequestContext};
use crate::types::ErrorResponse;
use crate::validate::ValidationErrors;

/// What may be sent again after a failed attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Resend {
    /// Only what certainly was not processed: a request that could not
    /// connect, or a 429. For create: every success counts toward the limit
    /// of 5 webhooks per app.
    IfNotProcessed,
    /// Also after a 5xx (500, 502, 503, 504), a timeout or a lost
    /// connection: doing it twice leaves the same state as doing it once.
    Idempotent,
}

/// What one attempt through the generated client answers.
pub(crate) type Answer<T> = Result<ResponseValue<T>, progenitor_client::Error<ErrorResponse>>;

/// The generated client, as operations call it.
pub(crate) type Api = generated::Client;

/// One attempt in flight. Boxed, so that an operation's `send` is one line;
/// measured with callgrind, a GET costs the same instructions either way
/// (126.5k boxed, 126.7k not: the allocation is paid back by moving a
/// smaller future).
pub(crate) type Attempt<'c, T> = Pin<Box<dyn Future<Output = Answer<T>> + Send + 'c>>;

/// What the shared path needs to know of an operation besides its call.
pub(crate) struct Info {
    /// The operation id (`create_webhook`), for the span and events.
    name: &'static str,
    /// The HTTP method, for the span.
    method: &'static str,
    /// What may be resent.
    resend: Resend,
}

impl Info {
    pub(crate) const fn new(name: &'static str, method: &'static str, resend: Resend) -> Self {
        Self {
            name,
            method,
            resend,
        }
    }
}

/// One API operation, as the shared path needs it.
pub(crate) trait Operation: Send + Sync {
    /// Name, method and what may be resent.
    const INFO: Info;
    /// What the generated method answers on success.
    type Answer: DeserializeOwned + Into<Self::Output> + Send;
    /// What the caller gets.
    type Output: Send;

    /// Sends one attempt.
    fn send<'c>(&'c self, api: &'c Api, project: &'c str) -> Attempt<'c, Self::Answer>;

    /// An error that, after an earlier attempt which may have been applied,
    /// means the operation succeeded (a delete's 404).
    fn settled_by(_error: &Error) -> Option<Self::Output> {
        None
    }

    /// After a final failure that may have been applied (a 5xx, a timeout,
    /// a lost connection), a look at Sinch's state that may find the
    /// result (a create's webhook); `None` to return the error.
    fn recover<'c>(&'c self, _client: &'c Client) -> Option<Recovery<'c, Self::Output>> {
        None
    }

    /// The secrets the request carries, scrubbed from error answers (a
    /// server or proxy may echo the request).
    fn secrets(&self) -> Vec<String> {
        Vec::new()
    }
}

/// A look at Sinch's state after an ambiguous failure: the result, if found.
pub(crate) type Recovery<'c, T> = Pin<Box<dyn Future<Output = Option<T>> + Send + 'c>>;

impl Client {
    /// Runs `operation`: validation errors return at once (nothing sent);
    /// then attempts until one succeeds or the failure may not be retried.
    pub(crate) async fn execute<O: Operation>(
        &self,
        operation: Result<O, ValidationErrors>,
    ) -> Result<O::Output, Error> {
        let operation = operation?;
        let inner = self.inner();
        let span = tracing::info_span!(
            "sinch.request",
            operation = O::INFO.name,
            method = O::INFO.method,
            path = tracing::field::Empty,
            status = tracing::field::Empty,
            duration_ms = tracing::field::Empty,
            retries = 0u32,
        );
        // The clock is read only for a span someone listens to.
        let started = (!span.is_disabled()).then(Instant::now);
        // The attempts run in this function's own state machine rather than
        // an inner future wrapped in `Instrumented`: wrapping would copy a
        // few KiB per request. The span is entered for its events and for
        // the token fetch, whose span is then its child.
        let mut retries = 0;
        let mut refreshed = false;
        // Whether an earlier attempt may have been applied by Sinch.
        let mut maybe_applied = false;
        let result = loop {
            if let Some(limiter) = &inner.rate_limit {
                // Boxed: only limited clients pay for the wait's state.
                let _waited = Box::pin(crate::rate::acquire(limiter)).await;
                #[cfg(feature = "metrics")]
                if _waited {
                    crate::metrics::rate_limit_wait("local");
                }
            }
            #[cfg(feature = "redis")]
            if let Some(shared) = &inner.shared_rate_limit
                && let Err(error) = Box::pin(shared.acquire(&inner.project_id)).await
            {
                break Err(error);
            }
            let (authorization, token) = match inner.auth.header().instrument(span.clone()).await {
                Ok(header) => header,
                Err(error) => break Err(error),
            };
            let api = generated::Client::new_with_client(
                &inner.base_url,
                inner.http.clone(),
                RequestContext::new(authorization, &span, inner.max_answer_bytes),
            );
            #[cfg(feature = "metrics")]
            let attempt_started = Instant::now();
            // The body is borrowed, so a retry resends it without a copy.
            let error = match operation.send(&api, &inner.project_id).await {
                Ok(answer) => {
                    span.record("status", answer.status().as_u16());
                    #[cfg(feature = "metrics")]
                    crate::metrics::attempt(
                        O::INFO.name,
                        Some(answer.status().as_u16()),
                        attempt_started,
                    );
                    break Ok(answer.into_inner().into());
                }
                // Boxed: failures are the rare path. A 2xx the spec does not
                // list may still be a success.
                Err(error) => {
                    #[cfg(feature = "metrics")]
                    let status = error.status().map(|s| s.as_u16());
                    let converted =
                        Box::pin(transport::convert::<O::Answer>(error, &api.inner)).await;
                    #[cfg(feature = "metrics")]
                    crate::metrics::attempt(O::INFO.name, status, attempt_started);
                    match converted {
                        Ok(answer) => break Ok(answer.into()),
                        Err(error) => scrub(error, &operation, &inner.auth),
                    }
                }
            };
            if maybe_applied && let Some(output) = O::settled_by(&error) {
                span.in_scope(|| tracing::debug!("an earlier attempt was applied: {error}"));
                break Ok(output);
            }
            match self.after_failure(&error, O::INFO.resend, &span, token, retries, refreshed) {
                Next::Refresh => refreshed = true,
                Next::Retry(wait) => {
                    #[cfg(feature = "metrics")]
                    crate::metrics::retry(O::INFO.name);
                    maybe_applied |= may_have_been_applied(&error);
                    retries += 1;
                    tokio::time::sleep(wait).await;
                }
                Next::Fail => {
                    // Cold: only after a failure that may have been applied.
                    if may_have_been_applied(&error)
                        && let Some(recovery) = operation.recover(self)
                        && let Some(output) = recovery.await
                    {
                        span.in_scope(|| {
                            tracing::info!(
                                "recovered the result after an ambiguous failure: {error}"
                            )
                        });
                        break Ok(output);
                    }
                    break Err(error);
                }
            }
        };
        if let Some(started) = started {
            span.record("duration_ms", started.elapsed().as_millis() as u64);
        }
        span.in_scope(|| match &result {
            Ok(_) => tracing::info!("{} succeeded", O::INFO.name),
            Err(error) => tracing::warn!(%error, "{} failed", O::INFO.name),
        });
        result
    }

    /// What to do after a failed attempt, with the span updated and the
    /// expired token dropped. Out of line and cold: failures are the rare
    /// path, and keeping them out of the request's code keeps that small.
    #[cold]
    #[inline(never)]
    fn after_failure(
        &self,
        error: &Error,
        resend: Resend,
        span: &tracing::Span,
        token: u64,
        retries: u32,
        refreshed: bool,
    ) -> Next {
        let inner = self.inner();
        if let Some(status) = error.status() {
            span.record("status", status);
        }
        // A 401 for an expired token was not processed: refresh once.
        if let Error::Api(api_error) = error
            && api_error.is_expired_token()
            && inner.auth.is_oauth2()
            && !refreshed
        {
            inner.auth.invalidate(token);
            span.in_scope(|| tracing::debug!("token expired; refreshing and retrying once"));
            return Next::Refresh;
        }
        let retry_after = match error {
            Error::Api(e) => e.retry_after(),
            _ => None,
        };
        let wait = inner
            .retry
            .delay(retries, retry_after)
            .filter(|_| may_resend(error, resend));
        match wait {
            Some(wait) => {
                span.record("retries", retries + 1);
                span.in_scope(|| tracing::debug!(?wait, "retrying: {error}"));
                Next::Retry(wait)
            }
            None => Next::Fail,
        }
    }
}

/// `error` with the request's secrets and credentials as `***` wherever
/// the answer echoed them. Out of line: failures are the rare path.
#[cold]
#[inline(never)]
fn scrub<O: Operation>(error: Error, operation: &O, auth: &crate::auth::Auth) -> Error {
    if !matches!(error, Error::Api(_) | Error::Decode(_)) {
        return error;
    }
    let mut needles = operation.secrets();
    needles.extend(auth.credentials());
    error.scrubbed(&needles)
}

/// Whether `error` may be followed by the same request again.
fn may_resend(error: &Error, resend: Resend) -> bool {
    match (error, resend) {
        // A 429 was not processed, whatever the operation.
        (Error::Api(e), _) if e.status() == 429 => true,
        (Error::Transport(e), Resend::IfNotProcessed) => e.is_connect(),
        (Error::Transport(_), Resend::Idempotent) => true,
        (Error::Api(e), Resend::Idempotent) => matches!(e.status(), 500 | 502 | 503 | 504),
        _ => false,
    }
}

/// Whether the attempt that failed with `error` may have been applied:
/// a 5xx, or a transport failure after connecting (a timeout, a lost
/// connection).
fn may_have_been_applied(error: &Error) -> bool {
    match error {
        Error::Api(e) => e.status() >= 500,
        Error::Transport(e) => !e.is_connect(),
        _ => false,
    }
}

/// What [`Client::after_failure`] decided.
enum Next {
    /// Fetch a new token and try again (once).
    Refresh,
    /// Wait, then resend.
    Retry(Duration),
    /// Return the error.
    Fail,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ApiError;

    fn api(status: u16) -> Error {
        Error::Api(Box::new(ApiError::from_raw(
            status,
            &reqwest::header::HeaderMap::new(),
            b"{}",
        )))
    }

    #[test]
    fn idempotent_operations_are_resent_after_server_errors_create_is_not() {
        for status in [500, 502, 503, 504] {
            assert!(may_resend(&api(status), Resend::Idempotent), "{status}");
            assert!(
                !may_resend(&api(status), Resend::IfNotProcessed),
                "{status}"
            );
            assert!(may_have_been_applied(&api(status)));
        }
        for status in [400, 401, 403, 404, 501] {
            assert!(!may_resend(&api(status), Resend::Idempotent), "{status}");
        }
        assert!(may_resend(&api(429), Resend::IfNotProcessed));
        assert!(may_resend(&api(429), Resend::Idempotent));
        assert!(!may_have_been_applied(&api(429)));
        assert!(!may_have_been_applied(&api(404)));
    }
}
