//! When and how long to wait before trying again.
use std::time::Duration;

/// Bounded, jittered retries.
///
/// Used for what is safe to resend: a request that never connected, a 429
/// answer (it was not processed), the token endpoint's 429, and for the
/// idempotent operations (list, get, update, delete) also a 5xx, a timeout
/// or a lost connection. A creation that may have reached Sinch is never
/// resent: each success counts toward the 5-webhooks-per-app limit (the
/// client looks for it instead).
///
/// The wait before retry `n` (from 0) is the server's `Retry-After` when it
/// sent one, else a random duration in `[0, min(max_delay, base_delay * 4^n)]`
/// ("full jitter"). A `Retry-After` longer than `max_delay` is not waited for:
/// the 429 is returned instead.
///
/// ```
/// use std::time::Duration;
/// use sinch_conversation::RetryPolicy;
///
/// let policy = RetryPolicy::default().max_retries(5).base_delay(Duration::from_millis(200));
/// assert_eq!(policy.get_max_retries(), 5);
/// let none = RetryPolicy::none();
/// assert_eq!(none.get_max_retries(), 0);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    max_retries: u32,
    base_delay: Duration,
    max_delay: Duration,
}

impl Default for RetryPolicy {
    /// 3 retries, 1 s base, factor 4, at most 30 s: what Sinch's SDKs use.
    fn default() -> Self {
        Self {
            max_retries: 3,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// Never retry.
    pub fn none() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// How many times to retry after the first attempt.
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = n;
        self
    }

    /// The first back-off's upper bound.
    pub fn base_delay(mut self, delay: Duration) -> Self {
        self.base_delay = delay;
        self
    }

    /// The longest wait, computed or asked for by `Retry-After`.
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// The configured retry count.
    pub fn get_max_retries(&self) -> u32 {
        self.max_retries
    }

    /// The wait before retry `attempt` (0-based), or `None` to give up.
    pub(crate) fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Option<Duration> {
        if attempt >= self.max_retries {
            return None;
        }
        if let Some(wait) = retry_after {
            return (wait <= self.max_delay).then_some(wait);
        }
        let ceiling = exponential(self.base_delay, 4, attempt, self.max_delay);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        Some(Duration::from_nanos(fastrand::u64(0..=nanos)))
    }
}

/// `first × factor^steps` (a factor of 0 or 1: constant), at most `max`,
/// without overflow: every exponential back-off of the crate (the client's
/// retries, the stand-in's deliveries, the inbox's workers).
pub(crate) fn exponential(first: Duration, factor: u32, steps: u32, max: Duration) -> Duration {
    let factor = factor.max(1).checked_pow(steps).unwrap_or(u32::MAX);
    first.checked_mul(factor).unwrap_or(max).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_bounded_and_jittered() {
        let p = RetryPolicy::default();
        for attempt in 0..3 {
            let ceiling = Duration::from_secs(4u64.pow(attempt)).min(Duration::from_secs(30));
            for _ in 0..100 {
                let d = p.delay(attempt, None).expect("within max_retries");
                assert!(d <= ceiling, "{d:?} > {ceiling:?}");
            }
        }
        assert_eq!(p.delay(3, None), None);
        let spread: std::collections::HashSet<_> = (0..20).map(|_| p.delay(2, None)).collect();
        assert!(spread.len() > 1, "jitter gives different waits");
    }

    #[test]
    fn retry_after_is_honoured_up_to_max_delay() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.delay(0, Some(Duration::from_secs(7))),
            Some(Duration::from_secs(7))
        );
        assert_eq!(p.delay(0, Some(Duration::from_secs(31))), None);
        assert_eq!(RetryPolicy::none().delay(0, Some(Duration::ZERO)), None);
    }
}
