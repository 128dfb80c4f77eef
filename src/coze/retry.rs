//! When and how long to wait before re-sending a request.
//!
//! Reads (GET) retry network errors, timeouts, 5xx and rate limits with exponential backoff and
//! full jitter, or exactly the server's `Retry-After`. Requests that start or resume a run are
//! re-sent only when they provably never reached the server, or when Coze answered that it
//! refused them for the request rate (nothing ran): re-sending one that might have arrived
//! could run (and bill) the workflow twice.

use std::time::Duration;

use super::error::{CozeError, Delivery, ErrorKind};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// A `Retry-After` longer than this is not waited for; the error is returned instead.
    pub max_retry_after: Duration,
    /// How long a run refused for the request rate keeps being re-sent (it never started, so
    /// waiting costs nothing but time; a batch settles at what the server allows).
    pub refused_run_window: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 3,
            base_delay: Duration::from_millis(300),
            max_delay: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(60),
            refused_run_window: Duration::from_secs(300),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `attempt + 1`, or `None` to give up.
    pub fn delay_before_retry(&self, attempt: u32, err: &CozeError, idempotent: bool) -> Option<Duration> {
        if attempt >= self.max_retries {
            return None;
        }
        let retryable = if idempotent { err.is_transient() } else { err.delivery == Delivery::NotSent };
        if !retryable {
            return None;
        }
        if let Some(after) = err.retry_after {
            return (after <= self.max_retry_after).then_some(after);
        }
        Some(self.backoff(attempt, err.kind == ErrorKind::RateLimited))
    }

    /// The wait before re-sending a run Coze refused for the request rate (`refused` times so
    /// far, `waited` since the first try), or `None` once the window is spent.
    pub fn delay_before_resend(&self, refused: u32, waited: Duration, err: &CozeError) -> Option<Duration> {
        if !err.is_start_refused() {
            return None;
        }
        let delay = match err.retry_after {
            Some(after) => after.min(self.max_retry_after),
            None => self.backoff(refused, true),
        };
        (waited + delay <= self.refused_run_window).then_some(delay)
    }

    /// Exponential backoff with full jitter: uniform in [d/2, d], d = base·2^attempt (capped).
    /// Rate limits start from a longer base, since the same second will be just as full.
    fn backoff(&self, attempt: u32, rate_limited: bool) -> Duration {
        let base = if rate_limited { self.base_delay * 3 } else { self.base_delay };
        let d = base.saturating_mul(1u32 << attempt.min(16)).min(self.max_delay);
        let half = d / 2;
        half + half.mul_f64(rand::random::<f64>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(kind: ErrorKind, delivery: Delivery) -> CozeError {
        CozeError { delivery, ..CozeError::new(kind, "x") }
    }

    #[test]
    fn gets_retry_transient_errors_only() {
        let p = RetryPolicy::default();
        for kind in [ErrorKind::Server, ErrorKind::Network, ErrorKind::Timeout, ErrorKind::RateLimited] {
            assert!(p.delay_before_retry(0, &err(kind, Delivery::Answered), true).is_some(), "{kind:?}");
        }
        for kind in [ErrorKind::Auth, ErrorKind::NotFound, ErrorKind::BadParams, ErrorKind::Api, ErrorKind::Decode] {
            assert!(p.delay_before_retry(0, &err(kind, Delivery::Answered), true).is_none(), "{kind:?}");
        }
        assert!(p.delay_before_retry(3, &err(ErrorKind::Server, Delivery::Answered), true).is_none());
    }

    #[test]
    fn run_posts_retry_only_when_never_sent() {
        let p = RetryPolicy::default();
        assert!(p.delay_before_retry(0, &err(ErrorKind::Network, Delivery::NotSent), false).is_some());
        assert!(p.delay_before_retry(0, &err(ErrorKind::Network, Delivery::Unknown), false).is_none());
        assert!(p.delay_before_retry(0, &err(ErrorKind::Timeout, Delivery::Unknown), false).is_none());
        assert!(p.delay_before_retry(0, &err(ErrorKind::Server, Delivery::Answered), false).is_none());
        assert!(p.delay_before_retry(0, &err(ErrorKind::RateLimited, Delivery::Answered), false).is_none());
    }

    #[test]
    fn refused_runs_are_resent_within_a_window() {
        let p = RetryPolicy::default();
        let mut e = CozeError::from_code(4009, "limit", Some(429));
        assert!(p.delay_before_resend(0, Duration::ZERO, &e).is_some());
        assert!(p.delay_before_resend(40, Duration::from_secs(200), &e).is_some(), "many tries, not three");
        assert_eq!(p.delay_before_resend(3, Duration::from_secs(299), &e), None, "the window is spent");
        e.retry_after = Some(Duration::from_secs(7));
        assert_eq!(p.delay_before_resend(0, Duration::ZERO, &e), Some(Duration::from_secs(7)));
        let model_limit = CozeError::from_code(4013, "model busy", Some(200));
        assert_eq!(p.delay_before_resend(0, Duration::ZERO, &model_limit), None);
        let quota = CozeError::from_code(4008, "daily quota", Some(200));
        assert_eq!(p.delay_before_resend(0, Duration::ZERO, &quota), None);
    }

    #[test]
    fn retry_after_is_used_verbatim_and_capped() {
        let p = RetryPolicy::default();
        let mut e = err(ErrorKind::RateLimited, Delivery::Answered);
        e.retry_after = Some(Duration::from_secs(2));
        assert_eq!(p.delay_before_retry(0, &e, true), Some(Duration::from_secs(2)));
        e.retry_after = Some(Duration::from_secs(3600));
        assert_eq!(p.delay_before_retry(0, &e, true), None);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy::default();
        for attempt in 0..3 {
            let d = p.backoff(attempt, false);
            let full = p.base_delay * (1 << attempt);
            assert!(d >= full / 2 && d <= full, "attempt {attempt}: {d:?}");
        }
        assert!(p.backoff(30, false) <= p.max_delay);
    }
}
