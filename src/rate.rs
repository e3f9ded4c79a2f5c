//! The client-wide request rate limit (off by default), on `governor`.
use std::num::NonZeroU32;

use governor::clock::Clock as _;
use governor::{DefaultDirectRateLimiter, Quota};

/// Requests per second Sinch allows per project.
pub(crate) const SINCH_REQUESTS_PER_SECOND: u32 = 800;

/// A limiter for `per_second` requests a second, bursts of at most a tenth
/// of that (at least one): staying under a server's own limit needs some
/// slack for requests that arrive closer together than they left.
pub(crate) fn limiter(per_second: NonZeroU32) -> DefaultDirectRateLimiter {
    let burst = NonZeroU32::new(per_second.get() / 10).unwrap_or(NonZeroU32::MIN);
    DefaultDirectRateLimiter::direct(Quota::per_second(per_second).allow_burst(burst))
}

/// Waits until the limiter lets one more request through; whether it had
/// to wait.
pub(crate) async fn acquire(limiter: &DefaultDirectRateLimiter) -> bool {
    let mut waited = false;
    while let Err(not_until) = limiter.check() {
        waited = true;
        tokio::time::sleep(not_until.wait_time_from(limiter.clock().now())).await;
    }
    waited
}
