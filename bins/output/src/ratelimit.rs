//! Rate limiting: a token bucket per rule, so one noisy rule cannot bury
//! the others, and a periodic summary alert of what was suppressed (which
//! rules, how many), so suppression is never silent.
//!
//! Not for internal alerts (drops, spool loss, this summary): those have
//! their own fixed pacing.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use crate::alert::{Alert, Priority};

/// Most rules tracked with their own bucket. Rulesets hold hundreds; past
/// this (a misbehaving producer inventing rule names) new rules are not
/// limited rather than growing memory without bound.
pub const MAX_TRACKED_RULES: usize = 10_000;

/// Rule name of the suppression summary.
pub const SUMMARY_RULE: &str = "Kestrel internal: alerts rate-limited";

/// A token bucket: `rate` tokens per second, holding at most `burst`.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(rate: f64, burst: f64, now: Instant) -> Self {
        TokenBucket {
            rate,
            burst: burst.max(1.0),
            tokens: burst.max(1.0),
            last: now,
        }
    }

    /// Takes a token if one is there.
    pub fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Limits of the per-rule buckets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Alerts per second per rule; 0 disables limiting.
    pub rate: f64,
    /// Alerts a rule may raise at once after being quiet.
    pub burst: f64,
    /// How often the suppression summary is raised.
    pub summary_interval: Duration,
}

/// Per-rule limiter with suppression counts.
pub struct RuleLimiter {
    limit: RateLimit,
    buckets: HashMap<String, TokenBucket>,
    suppressed: BTreeMap<String, u64>,
    /// Most severe priority suppressed since the last summary: the
    /// summary takes it, so it reaches every sink the suppressed alerts
    /// would have reached.
    worst: Option<Priority>,
    last_summary: Instant,
}

impl RuleLimiter {
    pub fn new(limit: RateLimit, now: Instant) -> Self {
        RuleLimiter {
            limit,
            buckets: HashMap::new(),
            suppressed: BTreeMap::new(),
            worst: None,
            last_summary: now,
        }
    }

    /// Whether an alert of `rule` and `priority` may pass now.
    pub fn admit(&mut self, rule: &str, priority: Priority, now: Instant) -> bool {
        if self.limit.rate <= 0.0 {
            return true;
        }
        if !self.buckets.contains_key(rule) {
            if self.buckets.len() >= MAX_TRACKED_RULES {
                return true;
            }
            let b = TokenBucket::new(self.limit.rate, self.limit.burst, now);
            self.buckets.insert(rule.to_string(), b);
        }
        let Some(bucket) = self.buckets.get_mut(rule) else {
            return true;
        };
        if bucket.take(now) {
            return true;
        }
        *self.suppressed.entry(rule.to_string()).or_default() += 1;
        self.worst = Some(self.worst.map_or(priority, |w| w.min(priority)));
        false
    }

    /// The summary of what was suppressed since the last one, if anything
    /// was and the interval has passed (or `force`, at exit).
    pub fn summary(&mut self, now: Instant, force: bool) -> Option<Alert> {
        let elapsed = now.saturating_duration_since(self.last_summary);
        if self.suppressed.is_empty() || (!force && elapsed < self.limit.summary_interval) {
            return None;
        }
        self.last_summary = now;
        let counts = std::mem::take(&mut self.suppressed);
        let total: u64 = counts.values().sum();
        let list: Vec<String> = counts.iter().map(|(r, n)| format!("{r} ({n})")).collect();
        let output = format!(
            "Rate limiting suppressed {total} alerts in the last {}s: {}",
            elapsed.as_secs(),
            list.join(", ")
        );
        let mut fields = vec![("n_suppressed".to_string(), total.to_string())];
        fields.extend(
            counts
                .into_iter()
                .map(|(r, n)| (format!("suppressed.{r}"), n.to_string())),
        );
        let priority = self.worst.take().unwrap_or(Priority::Notice);
        Some(Alert::internal(SUMMARY_RULE, priority, output, fields))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_burst_then_rate() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(2.0, 3.0, t0);
        assert!(b.take(t0) && b.take(t0) && b.take(t0));
        assert!(!b.take(t0));
        assert!(b.take(t0 + Duration::from_millis(500)));
        assert!(!b.take(t0 + Duration::from_millis(500)));
    }

    #[test]
    fn limits_per_rule_and_summarises() {
        let t0 = Instant::now();
        let limit = RateLimit {
            rate: 1.0,
            burst: 2.0,
            summary_interval: Duration::from_secs(60),
        };
        let mut l = RuleLimiter::new(limit, t0);
        let passed_a = (0..10)
            .filter(|_| l.admit("A", Priority::Notice, t0))
            .count();
        let passed_b = (0..3).filter(|_| l.admit("B", Priority::Error, t0)).count();
        assert_eq!((passed_a, passed_b), (2, 2));
        assert!(l.summary(t0 + Duration::from_secs(1), false).is_none());
        let s = l
            .summary(t0 + Duration::from_secs(61), false)
            .expect("summary due");
        assert_eq!(s.rule, SUMMARY_RULE);
        assert_eq!(s.priority, Priority::Error);
        assert!(s.output.contains("suppressed 9 alerts"), "{}", s.output);
        assert!(s.output.contains("A (8), B (1)"), "{}", s.output);
        assert!(l.summary(t0 + Duration::from_secs(200), true).is_none());
    }

    #[test]
    fn rate_zero_disables() {
        let t0 = Instant::now();
        let mut l = RuleLimiter::new(
            RateLimit {
                rate: 0.0,
                burst: 1.0,
                summary_interval: Duration::from_secs(1),
            },
            t0,
        );
        assert!((0..1000).all(|_| l.admit("A", Priority::Notice, t0)));
    }
}
