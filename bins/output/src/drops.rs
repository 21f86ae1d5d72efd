//! The drop alarm: when capture's stats show that more than a threshold
//! share of events was lost since its previous stats frame, output raises an
//! internal alert, paced by a token bucket like Falco's
//! `syscall_event_drops` (by default at most one every 30 s).
//!
//! Not for counting drops for metrics: [`crate::stats`] keeps every
//! counter.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::alert::{Alert, Priority};
use crate::ratelimit::TokenBucket;
use crate::stats::{StageKey, StageStats};

/// Rule name of the drop alert.
pub const DROP_RULE: &str = "Kestrel internal: syscall event drop";

/// Drop alarm settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DropAlarm {
    /// Share of events lost (drops / (events + drops)) over one stats
    /// interval above which the alert is raised; Falco's default is 0.1.
    pub threshold: f64,
    /// Alerts per second at most (Falco: 0.03333, one per 30 s).
    pub rate: f64,
    /// Alerts at once at most (Falco: 1).
    pub burst: f64,
}

/// Falco's defaults.
pub const DEFAULT_DROP_ALARM: DropAlarm = DropAlarm {
    threshold: 0.1,
    rate: 1.0 / 30.0,
    burst: 1.0,
};

/// What one stats frame said: time, events, drops by reason.
type Sample = (u64, u64, Vec<(String, u64)>);

/// Watches capture's stats.
pub struct DropMonitor {
    alarm: DropAlarm,
    bucket: TokenBucket,
    last: HashMap<StageKey, Sample>,
}

impl DropMonitor {
    pub fn new(alarm: DropAlarm, now: Instant) -> Self {
        DropMonitor {
            alarm,
            bucket: TokenBucket::new(alarm.rate, alarm.burst, now),
            last: HashMap::new(),
        }
    }

    /// Looks at one stats frame; returns the alert to raise, if any.
    pub fn observe(&mut self, s: &StageStats, now: Instant) -> Option<Alert> {
        if s.key.stage != "capture" {
            return None;
        }
        let events = s.events.unwrap_or(0);
        let drops = &s.drops;
        let total_drops: u64 = drops.iter().map(|(_, v)| v).sum();
        let prev = self
            .last
            .insert(s.key.clone(), (s.time_ns, events, drops.clone()));
        // The first frame of an instance has no interval to compare with;
        // a counter that went back means capture restarted.
        let (t0, e0, d0) = prev?;
        let prev_drops: u64 = d0.iter().map(|(_, v)| v).sum();
        if events < e0 || total_drops < prev_drops {
            return None;
        }
        let d_drops = total_drops - prev_drops;
        let d_events = events - e0;
        if d_drops == 0 {
            return None;
        }
        let ratio = d_drops as f64 / (d_events + d_drops) as f64;
        if ratio <= self.alarm.threshold || !self.bucket.take(now) {
            return None;
        }
        let secs = Duration::from_nanos(s.time_ns.saturating_sub(t0)).as_secs_f64();
        let output = format!(
            "Kestrel internal: syscall event drop. {d_drops} system calls dropped in last {secs:.1} seconds ({:.1}% of events) on {}",
            ratio * 100.0,
            s.key.hostname
        );
        let mut fields = vec![
            ("n_drops".to_string(), d_drops.to_string()),
            ("n_evts".to_string(), d_events.to_string()),
        ];
        for (reason, v) in drops {
            let before = d0
                .iter()
                .find(|(r, _)| r == reason)
                .map(|(_, v)| *v)
                .unwrap_or(0);
            fields.push((
                format!("n_drops_{reason}"),
                v.saturating_sub(before).to_string(),
            ));
        }
        Some(Alert::internal(
            DROP_RULE,
            Priority::Critical,
            output,
            fields,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::Field;

    fn stats(t: u64, events: u64, drops: u64) -> StageStats {
        StageStats {
            key: StageKey {
                stage: "capture".into(),
                instance: String::new(),
                hostname: "h".into(),
            },
            time_ns: t * 1_000_000_000,
            counters: vec![
                ("events".into(), events),
                ("drops.ringbuf_full".into(), drops),
            ],
            events: Some(events),
            drops: vec![("ringbuf_full".into(), drops)],
        }
    }

    #[test]
    fn raises_above_threshold_at_most_once_per_pacing() {
        let t0 = Instant::now();
        let mut m = DropMonitor::new(DEFAULT_DROP_ALARM, t0);
        assert!(m.observe(&stats(1, 1000, 0), t0).is_none());
        // 5% lost: under the threshold.
        assert!(m.observe(&stats(2, 1950, 50), t0).is_none());
        let a = m.observe(&stats(3, 2450, 550), t0).expect("50% lost");
        assert_eq!(a.rule, DROP_RULE);
        assert!(
            a.output.contains("500 system calls dropped"),
            "{}",
            a.output
        );
        assert!(a
            .fields
            .contains(&Field::text("n_drops_ringbuf_full", "500")));
        // Paced: not again within 30 s.
        assert!(m
            .observe(&stats(4, 2950, 1050), t0 + Duration::from_secs(1))
            .is_none());
        assert!(m
            .observe(&stats(5, 3450, 1550), t0 + Duration::from_secs(31))
            .is_some());
    }
}
