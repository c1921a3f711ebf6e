//! Per-key usage quotas: requests and tokens per window, with the generic cell rate
//! algorithm (GCRA), in memory.
//!
//! A key is whatever the caller chooses (a user id, an API key's hash, an IP address). Each
//! key may spend `requests` requests and `tokens` tokens per `window`, in bursts up to the
//! whole allowance; spending refills continuously. The store is per process: a gateway with
//! several replicas needs a shared store, which can implement [`QuotaStore`] (for example
//! over Redis, keeping each key's two "theoretical arrival times" as this one does).
//!
//! ```
//! use std::time::Duration;
//! use promptwall::quota::{InMemoryQuota, QuotaLimits, QuotaStore};
//!
//! let quota = InMemoryQuota::new(QuotaLimits {
//!     requests: Some(2),
//!     tokens: Some(10_000),
//!     window: Duration::from_secs(60),
//! })
//! .unwrap();
//! assert!(quota.check("user-1", 1, 500).allowed);
//! assert!(quota.check("user-1", 1, 500).allowed);
//! let third = quota.check("user-1", 1, 500);
//! assert!(!third.allowed);
//! assert!(third.retry_after > Duration::ZERO);
//! ```

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::Error;

/// What a key may spend per window; `None` is no limit on that dimension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuotaLimits {
    /// Requests per window.
    pub requests: Option<u64>,
    /// Tokens per window.
    pub tokens: Option<u64>,
    /// The window.
    pub window: Duration,
}

/// The answer to one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuotaDecision {
    /// Whether the request may go ahead (its cost is then spent).
    pub allowed: bool,
    /// When denied: how long until the same request would be allowed. Zero when allowed.
    pub retry_after: Duration,
    /// Requests left in the window after this one (`None` when requests are not limited).
    pub remaining_requests: Option<u64>,
    /// Tokens left in the window after this one (`None` when tokens are not limited).
    pub remaining_tokens: Option<u64>,
}

/// A store of quotas: decides and records spending per key. Implementations must be safe to
/// call from many threads at once, and decide each call atomically (two threads spending
/// the last request of a key cannot both be allowed).
pub trait QuotaStore:
    Send + Sync + std::panic::RefUnwindSafe + std::panic::UnwindSafe + std::fmt::Debug
{
    /// Spends `requests` requests and `tokens` tokens of `key`'s quota if both fit.
    fn check(&self, key: &str, requests: u64, tokens: u64) -> QuotaDecision;
}

/// GCRA state of one key: the theoretical arrival time of each dimension, in nanoseconds
/// since the store's epoch.
#[derive(Clone, Copy, Debug, Default)]
struct KeyState {
    requests_tat: u128,
    tokens_tat: u128,
}

/// Shards of the key map: threads spending for different keys rarely wait for each other.
const SHARDS: usize = 16;
/// Keys per shard before idle keys (whose quota is full again) are dropped.
const MAX_KEYS_PER_SHARD: usize = 1 << 14;

/// A [`QuotaStore`] in this process's memory.
#[derive(Debug)]
pub struct InMemoryQuota {
    limits: QuotaLimits,
    epoch: Instant,
    hasher: RandomState,
    shards: Vec<Mutex<HashMap<String, KeyState>>>,
}

impl InMemoryQuota {
    /// A store with these limits. Errors when the window is zero or a limit is zero.
    pub fn new(limits: QuotaLimits) -> Result<InMemoryQuota, Error> {
        if limits.window.is_zero() {
            return Err(Error::policy("quota window must be longer than zero"));
        }
        if limits.requests == Some(0) || limits.tokens == Some(0) {
            return Err(Error::policy(
                "a quota limit of 0 would deny everything: leave it unset for no limit",
            ));
        }
        Ok(InMemoryQuota {
            limits,
            epoch: Instant::now(),
            hasher: RandomState::new(),
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        })
    }

    /// The limits.
    pub fn limits(&self) -> QuotaLimits {
        self.limits
    }

    /// [`QuotaStore::check`] at a given time since the store was made (for tests and for
    /// callers with their own clock).
    pub fn check_at(&self, key: &str, requests: u64, tokens: u64, now: Duration) -> QuotaDecision {
        let now = now.as_nanos();
        let window = self.limits.window.as_nanos();
        let shard = &self.shards[(self.hasher.hash_one(key) as usize) % SHARDS];
        // A poisoned lock only means another thread panicked mid-update of plain numbers.
        let mut map = shard.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_KEYS_PER_SHARD && !map.contains_key(key) {
            // Keys whose quota has fully refilled carry no information: drop them.
            map.retain(|_, s| s.requests_tat > now || s.tokens_tat > now);
        }
        let state = map.get(key).copied().unwrap_or_default();
        // GCRA per dimension: each unit advances the theoretical arrival time by
        // window / limit; a request fits when that time stays within one window from now.
        let step = |limit: Option<u64>, tat: u128, cost: u64| -> (bool, u128, u128, Option<u64>) {
            let Some(limit) = limit else {
                return (true, tat, 0, None);
            };
            let interval = window / u128::from(limit);
            let new_tat = tat.max(now) + interval * u128::from(cost);
            let allowed = new_tat <= now + window;
            let wait = if allowed { 0 } else { new_tat - now - window };
            let used = if allowed { new_tat } else { tat.max(now) } - now;
            let left = (window.saturating_sub(used)) / interval.max(1);
            (
                allowed,
                new_tat,
                wait,
                Some(left.min(u128::from(limit)) as u64),
            )
        };
        let (r_ok, r_tat, r_wait, r_left) =
            step(self.limits.requests, state.requests_tat, requests);
        let (t_ok, t_tat, t_wait, t_left) = step(self.limits.tokens, state.tokens_tat, tokens);
        let allowed = r_ok && t_ok;
        if allowed {
            map.insert(
                key.to_string(),
                KeyState {
                    requests_tat: r_tat,
                    tokens_tat: t_tat,
                },
            );
        }
        let nanos = r_wait.max(t_wait);
        QuotaDecision {
            allowed,
            retry_after: Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX)),
            remaining_requests: r_left,
            remaining_tokens: t_left,
        }
    }
}

impl QuotaStore for InMemoryQuota {
    fn check(&self, key: &str, requests: u64, tokens: u64) -> QuotaDecision {
        self.check_at(key, requests, tokens, self.epoch.elapsed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;

    fn quota(requests: Option<u64>, tokens: Option<u64>, secs: u64) -> InMemoryQuota {
        InMemoryQuota::new(QuotaLimits {
            requests,
            tokens,
            window: Duration::from_secs(secs),
        })
        .expect("valid limits")
    }

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn a_burst_up_to_the_limit_then_refill() {
        let q = quota(Some(10), None, 60);
        for k in 0..10 {
            let d = q.check_at("k", 1, 0, S(0));
            assert!(d.allowed, "request {k}");
            assert_eq!(d.remaining_requests, Some(9 - k));
        }
        let d = q.check_at("k", 1, 0, S(0));
        assert!(!d.allowed);
        assert_eq!(d.retry_after, S(6), "one request refills every 6 s");
        assert!(!q.check_at("k", 1, 0, S(5)).allowed);
        assert!(q.check_at("k", 1, 0, S(6)).allowed);
        // After a whole window idle, the whole burst is back.
        for _ in 0..10 {
            assert!(q.check_at("k", 1, 0, S(200)).allowed);
        }
        assert!(!q.check_at("k", 1, 0, S(200)).allowed);
    }

    #[test]
    fn keys_are_independent() {
        let q = quota(Some(1), None, 60);
        assert!(q.check_at("a", 1, 0, S(0)).allowed);
        assert!(!q.check_at("a", 1, 0, S(0)).allowed);
        assert!(q.check_at("b", 1, 0, S(0)).allowed);
    }

    #[test]
    fn tokens_and_requests_both_count() {
        let q = quota(Some(100), Some(1000), 60);
        assert!(q.check_at("k", 1, 800, S(0)).allowed);
        let d = q.check_at("k", 1, 300, S(0));
        assert!(!d.allowed, "1100 tokens > 1000");
        assert_eq!(
            d.retry_after,
            Duration::from_secs(6),
            "100 tokens refill in 6 s"
        );
        // A denied request spends nothing: a smaller one still fits.
        let d = q.check_at("k", 1, 200, S(0));
        assert!(d.allowed);
        assert_eq!(d.remaining_tokens, Some(0));
        // A single request larger than the window's allowance never fits.
        assert!(!q.check_at("other", 1, 5000, S(0)).allowed);
    }

    #[test]
    fn bad_limits_are_errors() {
        assert!(InMemoryQuota::new(QuotaLimits {
            requests: Some(0),
            tokens: None,
            window: S(1)
        })
        .is_err());
        assert!(InMemoryQuota::new(QuotaLimits {
            requests: Some(1),
            tokens: None,
            window: Duration::ZERO
        })
        .is_err());
    }

    #[test]
    fn many_threads_one_key_spend_exactly_the_limit() {
        let q = Arc::new(quota(Some(1000), None, 3600));
        let allowed = Arc::new(AtomicU64::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (q, allowed) = (Arc::clone(&q), Arc::clone(&allowed));
                std::thread::spawn(move || {
                    for _ in 0..500 {
                        if q.check_at("shared", 1, 0, S(1)).allowed {
                            allowed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("thread");
        }
        assert_eq!(allowed.load(Ordering::Relaxed), 1000);
    }

    #[test]
    fn idle_keys_are_dropped_when_a_shard_fills() {
        let q = quota(Some(1), None, 1);
        for k in 0..(MAX_KEYS_PER_SHARD * SHARDS * 2) {
            q.check_at(&format!("ip-{k}"), 1, 0, Duration::from_secs(k as u64));
        }
        let total: usize = q
            .shards
            .iter()
            .map(|s| s.lock().map(|m| m.len()).unwrap_or(0))
            .sum();
        assert!(total <= MAX_KEYS_PER_SHARD * SHARDS, "{total}");
    }
}
