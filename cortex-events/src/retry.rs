//! Retries with exponential backoff.

use std::time::Duration;

use serde::Deserialize;

/// How often and how soon a failed handler is tried again before its event goes to the dead
/// letters: `retries` more attempts after the first, waiting `initial`, then `initial * factor`,
/// … up to `max` between them, each wait shortened by up to `jitter` (a fraction) so that many
/// failing handlers do not retry in step.
///
/// ```
/// use cortex_events::RetryPolicy;
/// use std::time::Duration;
///
/// let policy = RetryPolicy::default().retries(3).initial(Duration::from_millis(100)).jitter(0.0);
/// assert_eq!(policy.delay(1), Duration::from_millis(100));
/// assert_eq!(policy.delay(2), Duration::from_millis(200));
/// assert_eq!(policy.delay(3), Duration::from_millis(400));
/// assert_eq!(RetryPolicy::none().max_attempts(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryPolicy {
    /// Attempts after the first (0: none).
    pub retries: u32,
    /// The wait before the first retry.
    #[serde(deserialize_with = "cortex_core::config::units::de::duration")]
    pub initial: Duration,
    /// The growth of each wait (at least 1).
    pub factor: f64,
    /// The longest wait.
    #[serde(deserialize_with = "cortex_core::config::units::de::duration")]
    pub max: Duration,
    /// The fraction (0 to 1) of each wait that is random.
    pub jitter: f64,
}

impl Default for RetryPolicy {
    /// 3 retries, from 100 ms, doubling, at most 30 s apart, 20% jitter.
    fn default() -> Self {
        RetryPolicy {
            retries: 3,
            initial: Duration::from_millis(100),
            factor: 2.0,
            max: Duration::from_secs(30),
            jitter: 0.2,
        }
    }
}

impl RetryPolicy {
    /// No retry: a failure goes to the dead letters at once.
    pub fn none() -> Self {
        RetryPolicy {
            retries: 0,
            ..Self::default()
        }
    }

    /// Sets the number of retries.
    pub fn retries(mut self, retries: u32) -> Self {
        self.retries = retries;
        self
    }

    /// Sets the first wait.
    pub fn initial(mut self, initial: Duration) -> Self {
        self.initial = initial;
        self
    }

    /// Sets the growth factor (values under 1 count as 1).
    pub fn factor(mut self, factor: f64) -> Self {
        self.factor = factor;
        self
    }

    /// Sets the longest wait.
    pub fn max(mut self, max: Duration) -> Self {
        self.max = max;
        self
    }

    /// Sets the random fraction of each wait (clamped to 0..=1).
    pub fn jitter(mut self, jitter: f64) -> Self {
        self.jitter = jitter;
        self
    }

    /// Every attempt, the first included.
    pub fn max_attempts(&self) -> u32 {
        self.retries.saturating_add(1)
    }

    /// The wait before retry number `retry` (1 for the first retry), jitter applied.
    pub fn delay(&self, retry: u32) -> Duration {
        let factor = if self.factor.is_finite() {
            self.factor.max(1.0)
        } else {
            1.0
        };
        let exponent = retry.saturating_sub(1).min(64) as i32;
        let base = self.initial.as_secs_f64() * factor.powi(exponent);
        let capped = base.min(self.max.as_secs_f64());
        let jitter = if self.jitter.is_finite() {
            self.jitter.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let random = if jitter > 0.0 { fastrand_unit() } else { 0.0 };
        Duration::from_secs_f64((capped * (1.0 - jitter * random)).max(0.0))
    }
}

/// A number in [0, 1) from a UUID v7's random bits (no extra dependency, no syscall).
fn fastrand_unit() -> f64 {
    let bits = uuid::Uuid::now_v7().as_u128() as u64;
    // The low 62 bits are random (`rand_b`); take 53 of them.
    (bits & ((1u64 << 53) - 1)) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_then_cap() {
        let policy = RetryPolicy::default()
            .initial(Duration::from_secs(1))
            .factor(3.0)
            .max(Duration::from_secs(5))
            .jitter(0.0);
        let delays: Vec<_> = (1..=4).map(|r| policy.delay(r)).collect();
        assert_eq!(delays, [1, 3, 5, 5].map(Duration::from_secs).to_vec());
    }

    #[test]
    fn jitter_only_shortens() {
        let policy = RetryPolicy::default()
            .initial(Duration::from_secs(1))
            .jitter(0.5);
        for _ in 0..100 {
            let d = policy.delay(1);
            assert!(
                d <= Duration::from_secs(1) && d >= Duration::from_millis(500),
                "{d:?}"
            );
        }
    }

    #[test]
    fn odd_factors_and_jitter_are_tamed() {
        let policy = RetryPolicy::default()
            .initial(Duration::from_secs(1))
            .factor(0.5)
            .jitter(7.0);
        assert!(policy.delay(3) <= Duration::from_secs(1));
        let policy = RetryPolicy::default()
            .initial(Duration::from_secs(1))
            .factor(f64::NAN)
            .jitter(f64::NAN);
        assert_eq!(policy.delay(5), Duration::from_secs(1));
        assert_eq!(
            RetryPolicy::default().retries(u32::MAX).max_attempts(),
            u32::MAX
        );
    }
}
