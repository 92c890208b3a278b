//! When a feed is polled next: the etiquette rules as pure functions of the
//! time and what the server said, so they can be tested without a clock.

use super::fetch::CacheHints;

/// Never poll one feed more often than this, whatever it asks.
pub const MIN_INTERVAL: i64 = 10 * 60;
/// Without hints, a feed is polled this often.
pub const DEFAULT_INTERVAL: i64 = 30 * 60;
/// No hint or backoff makes us wait longer than this (except 410 Gone).
pub const MAX_INTERVAL: i64 = 24 * 60 * 60;
/// A server's Retry-After is honoured up to this.
pub const MAX_RETRY_AFTER: i64 = 7 * 24 * 60 * 60;

/// After a successful fetch (200 or 304): the longest of the default and
/// what the feed asks for (Cache-Control max-age, Expires, RSS ttl,
/// sy:updatePeriod), within [MIN_INTERVAL, MAX_INTERVAL].
pub fn after_success(
    now: i64,
    hints: &CacheHints,
    ttl_minutes: Option<u32>,
    update_period_minutes: Option<u32>,
) -> i64 {
    let asked = [
        hints.max_age.map(|s| s.min(i64::MAX as u64) as i64),
        hints.expires.map(|at| at - now),
        ttl_minutes.map(|m| i64::from(m) * 60),
        update_period_minutes.map(|m| i64::from(m) * 60),
    ]
    .into_iter()
    .flatten()
    .max()
    .unwrap_or(0);
    now + asked
        .max(DEFAULT_INTERVAL)
        .clamp(MIN_INTERVAL, MAX_INTERVAL)
}

/// After the `failures`-th failure in a row (1 = first): exponential backoff
/// from the default interval, capped.
pub fn after_failure(now: i64, failures: i64) -> i64 {
    let exponent = (failures - 1).clamp(0, 16) as u32;
    now + DEFAULT_INTERVAL
        .saturating_mul(1 << exponent)
        .min(MAX_INTERVAL)
}

/// After 429 or 503: the server's Retry-After when it gave one (capped),
/// never sooner than the backoff.
pub fn after_retry_later(now: i64, retry_after: Option<u64>, failures: i64) -> i64 {
    let asked = retry_after
        .map(|s| (s.min(MAX_RETRY_AFTER as u64)) as i64)
        .unwrap_or(0);
    (now + asked).max(after_failure(now, failures))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_000_000;

    fn hints(max_age: Option<u64>, expires: Option<i64>) -> CacheHints {
        CacheHints { max_age, expires }
    }

    #[test]
    fn success_uses_the_longest_hint_within_bounds() {
        assert_eq!(
            after_success(NOW, &hints(None, None), None, None),
            NOW + DEFAULT_INTERVAL
        );
        assert_eq!(
            after_success(NOW, &hints(Some(60), None), None, None),
            NOW + DEFAULT_INTERVAL
        );
        assert_eq!(
            after_success(NOW, &hints(Some(7200), None), None, None),
            NOW + 7200
        );
        assert_eq!(
            after_success(NOW, &hints(None, Some(NOW + 5400)), None, None),
            NOW + 5400
        );
        assert_eq!(
            after_success(NOW, &hints(None, None), Some(180), None),
            NOW + 180 * 60
        );
        assert_eq!(
            after_success(NOW, &hints(None, None), None, Some(24 * 60)),
            NOW + MAX_INTERVAL
        );
        assert_eq!(
            after_success(NOW, &hints(Some(u64::MAX), None), None, None),
            NOW + MAX_INTERVAL
        );
    }

    #[test]
    fn failures_back_off_exponentially_up_to_a_day() {
        assert_eq!(after_failure(NOW, 1), NOW + DEFAULT_INTERVAL);
        assert_eq!(after_failure(NOW, 2), NOW + 2 * DEFAULT_INTERVAL);
        assert_eq!(after_failure(NOW, 3), NOW + 4 * DEFAULT_INTERVAL);
        assert_eq!(after_failure(NOW, 40), NOW + MAX_INTERVAL);
    }

    #[test]
    fn retry_after_is_honoured_and_capped() {
        assert_eq!(after_retry_later(NOW, Some(7200), 1), NOW + 7200);
        assert_eq!(after_retry_later(NOW, Some(5), 1), NOW + DEFAULT_INTERVAL);
        assert_eq!(
            after_retry_later(NOW, Some(u64::MAX), 1),
            NOW + MAX_RETRY_AFTER
        );
        assert_eq!(after_retry_later(NOW, None, 2), NOW + 2 * DEFAULT_INTERVAL);
    }
}
