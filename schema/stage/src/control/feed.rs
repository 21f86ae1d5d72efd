//! Live alert subscriptions (output's `subscribe`): an [`AlertFeed`] that
//! the stage's alert path offers every alert frame to, a bounded backlog
//! per subscriber, and the capnp-rpc tasks that stream each backlog to its
//! subscriber's `AlertSink` with flow control.
//!
//! Offering never waits: an alert that finds a subscriber's backlog full is
//! dropped for that subscriber and counted, so a slow subscriber costs the
//! sinks nothing but a failed `try_send`. With no subscriber, offering is
//! one atomic load.
//!
//! It is not a place for alert delivery to sinks (that is output's own
//! pipeline) nor for rendering.

use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

use super::status::StageStatus;
use schema::control_capnp::{alert_sink, output_control, stage_control, subscription};
use schema::kestrel_capnp::{alert, frame, Priority};

/// Alerts that may wait for one subscriber before more are dropped.
pub const SUBSCRIBER_BACKLOG: usize = 4096;

/// Subscribers served at once.
pub const MAX_SUBSCRIBERS: usize = 8;

/// What a subscription selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    All,
    /// Rule name, wildcards allowed.
    Rule(String),
    /// Any tag, wildcards allowed.
    Tag(String),
    /// This priority or more severe.
    Priority(Priority),
}

impl Filter {
    /// Parses `""`, `NAME`, `tag:PATTERN` or `priority:LEVEL`.
    pub fn parse(s: &str) -> Result<Filter, String> {
        if s.is_empty() {
            return Ok(Filter::All);
        }
        if let Some(t) = s.strip_prefix("tag:") {
            return Ok(Filter::Tag(t.to_string()));
        }
        if let Some(p) = s.strip_prefix("priority:") {
            return Priority::parse(p)
                .map(Filter::Priority)
                .map_err(|e| e.to_string());
        }
        Ok(Filter::Rule(s.to_string()))
    }

    fn selects(&self, a: alert::Reader<'_>) -> bool {
        fn text(r: capnp::Result<capnp::text::Reader<'_>>) -> &str {
            r.ok().and_then(|t| t.to_str().ok()).unwrap_or("")
        }
        match self {
            Filter::All => true,
            Filter::Rule(p) => wildcard(p, text(a.get_rule())),
            Filter::Tag(p) => a
                .get_tags()
                .map(|tags| tags.iter().any(|t| wildcard(p, text(t))))
                .unwrap_or(false),
            Filter::Priority(min) => a.get_priority().is_ok_and(|p| p.at_least(*min)),
        }
    }
}

/// Wildcard match: `*` is any run of characters, `?` one character.
pub fn wildcard(pat: &str, s: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pat.chars().collect(), s.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// How often [`AlertFeed::wait_delivered`] looks at the subscribers.
const DELIVERY_POLL: std::time::Duration = std::time::Duration::from_millis(5);

/// A subscription's counters.
#[derive(Debug, Default)]
pub struct Counts {
    pub sent: AtomicU64,
    pub dropped: AtomicU64,
}

struct Subscriber {
    filter: Filter,
    tx: mpsc::Sender<Vec<u8>>,
    counts: Arc<Counts>,
}

/// The alert fan-out shared by the alert path and the control thread.
#[derive(Default)]
pub struct AlertFeed {
    any: AtomicBool,
    subs: Mutex<Vec<Subscriber>>,
    /// The final counts of the subscribers that went away.
    gone: Counts,
    /// Subscribers' pumps still running.
    pumps: AtomicUsize,
}

/// Every subscription's counts together, for the stage's own counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FeedTotals {
    /// Subscribers registered now.
    pub subscribers: u64,
    /// Alerts sent to subscribers, gone ones included.
    pub sent: u64,
    /// Alerts dropped because a subscriber's backlog was full.
    pub dropped: u64,
}

impl AlertFeed {
    pub fn new() -> Arc<AlertFeed> {
        Arc::new(AlertFeed::default())
    }

    /// Offers one frame (as read, framing included); non-alert frames and
    /// frames that do not decode are ignored. Never waits.
    pub fn offer(&self, raw: &[u8]) {
        if !self.any.load(Ordering::Relaxed) {
            return;
        }
        let mut slice = raw;
        let Ok(msg) = capnp::serialize::read_message_from_flat_slice(
            &mut slice,
            schema::limits::reader_options(),
        ) else {
            return;
        };
        let Ok(root) = msg.get_root::<frame::Reader<'_>>() else {
            return;
        };
        let Ok(frame::Alert(Ok(a))) = root.which() else {
            return;
        };
        let mut subs = self.subs.lock().unwrap_or_else(|p| p.into_inner());
        subs.retain(|s| {
            let keep = if !s.filter.selects(a) {
                !s.tx.is_closed()
            } else {
                match s.tx.try_send(raw.to_vec()) {
                    Ok(()) => true,
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        s.counts.dropped.fetch_add(1, Ordering::Relaxed);
                        true
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => false,
                }
            };
            self.retire_unless(keep, s)
        });
        self.any.store(!subs.is_empty(), Ordering::Relaxed);
    }

    /// Registers a subscriber; `None` when [`MAX_SUBSCRIBERS`] are served.
    fn subscribe(&self, filter: Filter) -> Option<(mpsc::Receiver<Vec<u8>>, Arc<Counts>)> {
        let mut subs = self.subs.lock().unwrap_or_else(|p| p.into_inner());
        subs.retain(|s| self.retire_unless(!s.tx.is_closed(), s));
        if subs.len() >= MAX_SUBSCRIBERS {
            return None;
        }
        let (tx, rx) = mpsc::channel(SUBSCRIBER_BACKLOG);
        let counts = Arc::new(Counts::default());
        // Counted here, before its pump is spawned, so that a
        // `wait_delivered` cannot miss it.
        self.pumps.fetch_add(1, Ordering::AcqRel);
        subs.push(Subscriber {
            filter,
            tx,
            counts: counts.clone(),
        });
        self.any.store(true, Ordering::Relaxed);
        Some((rx, counts))
    }

    /// Ends every subscription and waits until each subscriber has taken
    /// its whole backlog (its `done` answered), or `deadline`; true if all
    /// have. A stage calls it at the end of its input, so that its exit
    /// does not cut a subscriber off from the last alerts: a streaming
    /// call is complete for the sender once the flow-control window allows,
    /// not once the subscriber has it.
    pub fn wait_delivered(&self, deadline: std::time::Instant) -> bool {
        {
            let mut subs = self.subs.lock().unwrap_or_else(|p| p.into_inner());
            // Dropping the senders lets each pump send what is queued, then
            // `done`.
            for s in subs.drain(..) {
                self.retire_unless(false, &s);
            }
            self.any.store(false, Ordering::Relaxed);
        }
        loop {
            if self.pumps.load(Ordering::Acquire) == 0 {
                return true;
            }
            if std::time::Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(DELIVERY_POLL);
        }
    }

    /// Subscribers currently registered.
    pub fn subscribers(&self) -> usize {
        self.subs.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Keeps `keep`; a subscriber let go adds its counts to the gone ones.
    /// Its channel is closed, so its pump has ended and the counts are
    /// final.
    fn retire_unless(&self, keep: bool, s: &Subscriber) -> bool {
        if !keep {
            for (total, n) in [
                (&self.gone.sent, &s.counts.sent),
                (&self.gone.dropped, &s.counts.dropped),
            ] {
                total.fetch_add(n.load(Ordering::Relaxed), Ordering::Relaxed);
            }
        }
        keep
    }

    /// The counts of every subscription so far.
    pub fn totals(&self) -> FeedTotals {
        let subs = self.subs.lock().unwrap_or_else(|p| p.into_inner());
        let sum = |f: fn(&Counts) -> &AtomicU64| {
            f(&self.gone).load(Ordering::Relaxed)
                + subs
                    .iter()
                    .map(|s| f(&s.counts).load(Ordering::Relaxed))
                    .sum::<u64>()
        };
        FeedTotals {
            subscribers: subs.len() as u64,
            sent: sum(|c| &c.sent),
            dropped: sum(|c| &c.dropped),
        }
    }
}

/// output's control server: the generic methods plus `subscribe`.
pub struct OutputServer {
    pub status: Arc<StageStatus>,
    pub feed: Arc<AlertFeed>,
}

/// A bootstrap maker for [`super::spawn`] serving [`OutputServer`].
pub fn bootstrap(
    status: Arc<StageStatus>,
    feed: Arc<AlertFeed>,
) -> impl Fn() -> capnp::capability::Client + Send {
    move || {
        let c: output_control::Client = capnp_rpc::new_client(OutputServer {
            status: status.clone(),
            feed: feed.clone(),
        });
        c.client
    }
}

impl stage_control::Server for OutputServer {
    crate::stage_control_methods!();
}

struct SubscriptionServer {
    counts: Arc<Counts>,
}

impl subscription::Server for SubscriptionServer {
    async fn counts(
        self: Rc<Self>,
        _: subscription::CountsParams,
        mut results: subscription::CountsResults,
    ) -> Result<(), capnp::Error> {
        let mut r = results.get();
        r.set_sent(self.counts.sent.load(Ordering::Relaxed));
        r.set_dropped(self.counts.dropped.load(Ordering::Relaxed));
        Ok(())
    }
}

impl output_control::Server for OutputServer {
    async fn subscribe(
        self: Rc<Self>,
        params: output_control::SubscribeParams,
        mut results: output_control::SubscribeResults,
    ) -> Result<(), capnp::Error> {
        let p = params.get()?;
        let filter = Filter::parse(p.get_filter()?.to_str()?).map_err(capnp::Error::failed)?;
        let sink = p.get_sink()?;
        let (rx, counts) = self.feed.subscribe(filter).ok_or_else(|| {
            capnp::Error::overloaded(format!("{MAX_SUBSCRIBERS} subscribers already"))
        })?;
        results
            .get()
            .set_subscription(capnp_rpc::new_client(SubscriptionServer {
                counts: counts.clone(),
            }));
        tokio::task::spawn_local(pump(rx, sink, counts, self.feed.clone()));
        Ok(())
    }
}

/// Streams a subscriber's backlog to its sink. Each `alert` call waits for
/// the flow-control window, not for the previous answer; the first failed
/// call (the subscriber went away) ends the subscription.
async fn pump(
    rx: mpsc::Receiver<Vec<u8>>,
    sink: alert_sink::Client,
    counts: Arc<Counts>,
    feed: Arc<AlertFeed>,
) {
    if stream(rx, &sink, &counts).await {
        // The stage ended the feed: `done` is answered once the subscriber
        // has taken every alert before it.
        if let Err(e) = sink.done_request().send().promise.await {
            tracing::debug!("subscriber gone before the end of the feed: {e}");
        }
    }
    feed.pumps.fetch_sub(1, Ordering::AcqRel);
}

/// Sends the backlog to `sink` until the feed ends (true) or the
/// subscriber goes away (false).
async fn stream(
    mut rx: mpsc::Receiver<Vec<u8>>,
    sink: &alert_sink::Client,
    counts: &Counts,
) -> bool {
    while let Some(raw) = rx.recv().await {
        let mut slice = raw.as_slice();
        let Ok(msg) = capnp::serialize::read_message_from_flat_slice(
            &mut slice,
            schema::limits::reader_options(),
        ) else {
            continue;
        };
        let Ok(frame::Alert(Ok(a))) = msg
            .get_root::<frame::Reader<'_>>()
            .and_then(|r| r.which().map_err(|e| capnp::Error::failed(e.to_string())))
        else {
            continue;
        };
        let mut req = sink.alert_request();
        if req.get().set_alert(a).is_err() {
            continue;
        }
        if let Err(e) = req.send().await {
            tracing::debug!("subscriber gone: {e}");
            return false;
        }
        counts.sent.fetch_add(1, Ordering::Relaxed);
    }
    // Returning drops `rx`, which closes the channel: the next offer
    // removes this subscriber.
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One alert frame of `rule`, framed as a stage reads it.
    fn alert_frame(rule: &str) -> Vec<u8> {
        let mut m = capnp::message::Builder::new_default();
        let mut a = m.init_root::<frame::Builder<'_>>().init_alert();
        a.set_rule(rule);
        a.set_priority(Priority::Warning);
        let mut out = Vec::new();
        let _ = capnp::serialize::write_message(&mut out, &m);
        out
    }

    #[test]
    fn totals_count_drops_and_keep_those_of_gone_subscribers() {
        let feed = AlertFeed::new();
        assert_eq!(feed.totals(), FeedTotals::default());
        let (rx, _) = feed
            .subscribe(Filter::Rule("Loud".into()))
            .expect("a first subscriber");
        let loud = alert_frame("Loud");
        // Nothing reads the backlog: past it, every alert is dropped.
        for _ in 0..SUBSCRIBER_BACKLOG + 5 {
            feed.offer(&loud);
        }
        feed.offer(&alert_frame("Quiet"));
        let t = feed.totals();
        assert_eq!((t.subscribers, t.dropped), (1, 5));
        drop(rx);
        feed.offer(&loud);
        assert_eq!(
            feed.totals(),
            FeedTotals {
                subscribers: 0,
                sent: 0,
                dropped: 5
            }
        );
    }
}
