//! Latency of alerts from evaluate to delivery: a fixed-size log-scale
//! histogram per sink, fed with (delivery time − the alert's `evalTsNs`),
//! exported as a Prometheus histogram and summarised as p50/p99 at exit
//! with `--latency-summary`.
//!
//! Lock-free (one atomic per bucket) because every delivery records into
//! it while the metrics endpoint reads it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Sub-buckets per power of two: bucket bounds are 2^(k/8) ns apart, so a
/// quantile is known within about 9%.
const SUB_BUCKETS: u32 = 8;

/// Powers of two covered: 1 ns up to 2^40 ns (about 18 minutes); longer
/// latencies land in the last bucket.
const POWERS: u32 = 40;

const BUCKETS: usize = (SUB_BUCKETS * POWERS) as usize;

/// Upper bounds (seconds) of the buckets exported to Prometheus.
pub const EXPORTED_BOUNDS: [f64; 12] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 1.0, 10.0,
];

pub struct Histogram {
    buckets: Box<[AtomicU64]>,
    count: AtomicU64,
    sum_ns: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            count: AtomicU64::new(0),
            sum_ns: AtomicU64::new(0),
        }
    }
}

impl std::fmt::Debug for Histogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Histogram({} samples)", self.count())
    }
}

fn index(ns: u64) -> usize {
    let v = ns.max(1) as f64;
    let i = (v.log2() * SUB_BUCKETS as f64) as usize;
    i.min(BUCKETS - 1)
}

/// Upper bound (ns) of bucket `i`.
fn upper(i: usize) -> f64 {
    2f64.powf((i + 1) as f64 / SUB_BUCKETS as f64)
}

impl Histogram {
    pub fn record(&self, ns: u64) {
        self.buckets[index(ns)].fetch_add(1, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_ns.fetch_add(ns, Ordering::Relaxed);
    }

    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    pub fn sum(&self) -> Duration {
        Duration::from_nanos(self.sum_ns.load(Ordering::Relaxed))
    }

    /// The `q` quantile (0..=1), as the upper bound of its bucket.
    pub fn quantile(&self, q: f64) -> Option<Duration> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
        let mut seen = 0;
        for (i, b) in self.buckets.iter().enumerate() {
            seen += b.load(Ordering::Relaxed);
            if seen >= rank {
                return Some(Duration::from_nanos(upper(i) as u64));
            }
        }
        None
    }

    /// Samples at or under `secs`, counted by whole buckets (each bucket
    /// counts under the first bound that its upper edge does not pass).
    pub fn count_le(&self, secs: f64) -> u64 {
        let ns = secs * 1e9;
        self.buckets
            .iter()
            .enumerate()
            .take_while(|(i, _)| upper(*i) <= ns)
            .map(|(_, b)| b.load(Ordering::Relaxed))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_within_a_bucket() {
        let h = Histogram::default();
        for us in 1..=100u64 {
            h.record(us * 1000);
        }
        let p50 = h.quantile(0.5).unwrap().as_nanos() as f64;
        let p99 = h.quantile(0.99).unwrap().as_nanos() as f64;
        assert!((50_000.0..=50_000.0 * 1.1).contains(&p50), "{p50}");
        assert!((99_000.0..=99_000.0 * 1.1).contains(&p99), "{p99}");
        assert_eq!(h.count(), 100);
        assert!(h.count_le(0.0001) <= 100);
        assert!(h.count_le(0.00005) < 50);
        assert!(h.quantile(0.5).is_some() && Histogram::default().quantile(0.5).is_none());
    }
}
