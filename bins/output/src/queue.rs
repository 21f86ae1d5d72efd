//! A sink's queue: the alerts waiting for one sink, in order, between the
//! thread that reads frames and the sink's own delivery thread.
//!
//! Two kinds:
//! - in memory only, bounded by a number of alerts. Local sinks (stdout,
//!   file) push back on the reader when full, since a local write that
//!   stalls will resume; memory-only network sinks drop their oldest alert
//!   instead, counted, so one dead destination never stalls the others.
//! - spooled: every alert is appended to the sink's disk spool
//!   ([`crate::spool`]) as it arrives, and the newest ones are also kept in
//!   memory (bounded) so the delivery thread rarely reads the disk. Delivery
//!   follows the spool's order, so alerts arrive in order after an outage and
//!   after a restart.
//!
//! The delivery thread looks at the oldest alert ([`Queue::next`]), delivers
//! it, and only then removes it ([`Queue::ack`]).

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::alert::Alert;
use crate::spool::{Pos, Spool};

/// What happens to a memory-only queue that is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenFull {
    /// The reader waits for room.
    Wait,
    /// The oldest alert is dropped and counted.
    DropOldest,
}

/// Identifies the alert handed out by [`Queue::next`], for [`Queue::ack`].
#[derive(Debug, Clone, Copy)]
pub enum Ticket {
    Memory,
    Spool { at: Pos, next: Pos },
}

enum Store {
    Memory {
        items: VecDeque<Arc<Alert>>,
        when_full: WhenFull,
    },
    Spooled {
        spool: Spool,
        /// Newest records, by position, so that the oldest undelivered one
        /// is usually found here rather than read back from disk.
        cache: VecDeque<(Pos, Pos, Arc<Alert>)>,
    },
}

struct State {
    store: Store,
    /// No more alerts will be pushed.
    closed: bool,
    /// The delivery thread must stop now, delivered or not.
    stopped: bool,
    /// Alerts lost: memory overflow, spool full, records unreadable.
    dropped: u64,
    /// The delivery thread is waiting in [`Queue::next`]: only then does a
    /// push need to wake it (a wake-up is a system call).
    waiting: bool,
    /// Threads waiting for room or for the queue to empty.
    room_waiters: usize,
}

/// Depths, for metrics.
#[derive(Debug, Clone, Copy, Default)]
pub struct Depth {
    /// Alerts held in memory.
    pub memory: u64,
    /// Alerts waiting on disk (0 when not spooled).
    pub spooled: u64,
    /// Bytes of the disk spool.
    pub spool_bytes: u64,
    /// Alerts lost so far.
    pub dropped: u64,
}

pub struct Queue {
    state: Mutex<State>,
    /// Signalled when an alert is pushed or the queue is closed or stopped.
    ready: Condvar,
    /// Signalled when an alert is removed.
    room: Condvar,
    memory_limit: usize,
}

impl Queue {
    /// A queue held in memory only, of at most `limit` alerts.
    pub fn memory(limit: usize, when_full: WhenFull) -> Queue {
        Self::with(
            Store::Memory {
                items: VecDeque::new(),
                when_full,
            },
            limit,
        )
    }

    /// A queue written through to `spool`, caching at most `limit` alerts in
    /// memory.
    pub fn spooled(spool: Spool, limit: usize) -> Queue {
        Self::with(
            Store::Spooled {
                spool,
                cache: VecDeque::new(),
            },
            limit,
        )
    }

    fn with(store: Store, limit: usize) -> Queue {
        Queue {
            state: Mutex::new(State {
                store,
                closed: false,
                stopped: false,
                dropped: 0,
                waiting: false,
                room_waiters: 0,
            }),
            ready: Condvar::new(),
            room: Condvar::new(),
            memory_limit: limit.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data behind, still
        // usable: keep going rather than poison every later caller.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds an alert at the end.
    pub fn push(&self, alert: Arc<Alert>) {
        let mut st = self.lock();
        let limit = self.memory_limit;
        loop {
            let State { store, stopped, .. } = &mut *st;
            match store {
                Store::Memory { items, when_full } => {
                    if items.len() < limit || *stopped {
                        items.push_back(alert);
                        break;
                    }
                    if *when_full == WhenFull::DropOldest {
                        items.pop_front();
                        items.push_back(alert);
                        st.dropped += 1;
                        break;
                    }
                    st.room_waiters += 1;
                    st = self.room.wait(st).unwrap_or_else(|e| e.into_inner());
                    st.room_waiters -= 1;
                }
                Store::Spooled { spool, cache } => {
                    let record = match serde_json::to_vec(&*alert) {
                        Ok(r) => r,
                        Err(e) => {
                            tracing::error!("cannot encode an alert for the spool: {e}");
                            st.dropped += 1;
                            return;
                        }
                    };
                    match spool.append(&record) {
                        Ok(at) => {
                            // Beyond the limit the disk copy suffices: the
                            // delivery thread reads it back when it gets
                            // there.
                            if cache.len() < limit {
                                let next = Pos {
                                    seg: at.seg,
                                    off: at.off + record.len() as u64 + 1,
                                };
                                cache.push_back((at, next, alert));
                            }
                        }
                        Err(e) => {
                            tracing::error!("cannot append to the spool: {e}; alert dropped");
                            st.dropped += 1;
                        }
                    }
                    break;
                }
            }
        }
        let wake = st.waiting;
        drop(st);
        if wake {
            self.ready.notify_one();
        }
    }

    /// Writes spooled alerts out of the append buffer, so that they survive
    /// a crash. Called when the reader has nothing more buffered.
    pub fn flush(&self) {
        let mut st = self.lock();
        if let Store::Spooled { spool, .. } = &mut st.store {
            if let Err(e) = spool.flush() {
                tracing::error!("cannot write the spool: {e}");
            }
        }
    }

    /// The oldest undelivered alert, waiting for one if `wait`. `None` when
    /// the queue is stopped, or closed and empty, or (without `wait`) empty.
    pub fn next(&self, wait: bool) -> Option<(Arc<Alert>, Ticket)> {
        let mut st = self.lock();
        loop {
            if st.stopped {
                return None;
            }
            let State { store, dropped, .. } = &mut *st;
            let found = match store {
                Store::Memory { items, .. } => items.front().map(|a| (a.clone(), Ticket::Memory)),
                Store::Spooled { spool, cache } => spooled_next(spool, cache, dropped),
            };
            if found.is_some() {
                return found;
            }
            if st.closed || !wait {
                return None;
            }
            st.waiting = true;
            st = self.ready.wait(st).unwrap_or_else(|e| e.into_inner());
            st.waiting = false;
        }
    }

    /// Removes the alert that `ticket` names: it was delivered (or refused
    /// for good).
    pub fn ack(&self, ticket: Ticket) {
        let mut st = self.lock();
        match (&mut st.store, ticket) {
            (Store::Memory { items, .. }, Ticket::Memory) => {
                items.pop_front();
            }
            (Store::Spooled { spool, cache }, Ticket::Spool { at, next }) => {
                while cache.front().is_some_and(|(p, _, _)| *p <= at) {
                    cache.pop_front();
                }
                if let Err(e) = spool.ack(next) {
                    tracing::error!("cannot record a delivery in the spool: {e}");
                }
            }
            _ => {}
        }
        let wake = st.room_waiters > 0;
        drop(st);
        if wake {
            self.room.notify_all();
        }
    }

    /// No more alerts will be pushed: the delivery thread ends once the
    /// queue is empty.
    pub fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_all();
    }

    /// The delivery thread must end now; undelivered spooled alerts stay on
    /// disk for the next run.
    pub fn stop(&self) {
        let mut st = self.lock();
        st.stopped = true;
        if let Store::Spooled { spool, .. } = &mut st.store {
            if let Err(e) = spool.flush() {
                tracing::error!("cannot write the spool: {e}");
            }
        }
        drop(st);
        self.ready.notify_all();
        self.room.notify_all();
    }

    /// Sleeps `d` unless the queue is stopped first; true if stopped.
    pub fn sleep(&self, d: Duration) -> bool {
        let deadline = Instant::now() + d;
        let mut st = self.lock();
        while !st.stopped {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            st = self
                .ready
                .wait_timeout(st, deadline - now)
                .map(|(g, _)| g)
                .unwrap_or_else(|e| e.into_inner().0);
        }
        true
    }

    /// Waits until everything is delivered or `deadline` passes; true if
    /// empty.
    pub fn wait_empty(&self, deadline: Instant) -> bool {
        let mut st = self.lock();
        loop {
            if is_empty(&st.store) {
                return true;
            }
            let now = Instant::now();
            if now >= deadline || st.stopped {
                return false;
            }
            st.room_waiters += 1;
            st = self
                .room
                .wait_timeout(st, (deadline - now).min(Duration::from_millis(100)))
                .map(|(g, _)| g)
                .unwrap_or_else(|e| e.into_inner().0);
            st.room_waiters -= 1;
        }
    }

    /// Whether alerts are written through to a disk spool.
    pub fn is_spooled(&self) -> bool {
        matches!(self.lock().store, Store::Spooled { .. })
    }

    pub fn depth(&self) -> Depth {
        let st = self.lock();
        match &st.store {
            Store::Memory { items, .. } => Depth {
                memory: items.len() as u64,
                spooled: 0,
                spool_bytes: 0,
                dropped: st.dropped,
            },
            Store::Spooled { spool, cache } => Depth {
                memory: cache.len() as u64,
                spooled: spool.pending(),
                spool_bytes: spool.total_bytes(),
                dropped: st.dropped + spool.dropped(),
            },
        }
    }
}

fn is_empty(store: &Store) -> bool {
    match store {
        Store::Memory { items, .. } => items.is_empty(),
        Store::Spooled { spool, .. } => spool.pending() == 0,
    }
}

fn spooled_next(
    spool: &mut Spool,
    cache: &mut VecDeque<(Pos, Pos, Arc<Alert>)>,
    dropped: &mut u64,
) -> Option<(Arc<Alert>, Ticket)> {
    // Entries older than the spool's cursor were delivered or dropped.
    let cursor = spool.cursor();
    while cache.front().is_some_and(|(p, _, _)| *p < cursor) {
        cache.pop_front();
    }
    if let Some((at, next, a)) = cache.front() {
        if *at == cursor {
            return Some((
                a.clone(),
                Ticket::Spool {
                    at: *at,
                    next: *next,
                },
            ));
        }
    }
    loop {
        let (record, at, next) = match spool.oldest() {
            Ok(Some(r)) => r,
            Ok(None) => return None,
            Err(e) => {
                tracing::error!("cannot read the spool: {e}");
                return None;
            }
        };
        while cache.front().is_some_and(|(p, _, _)| *p < at) {
            cache.pop_front();
        }
        if let Some((p, _, a)) = cache.front() {
            if *p == at {
                return Some((a.clone(), Ticket::Spool { at, next }));
            }
        }
        match serde_json::from_slice::<Alert>(&record) {
            Ok(a) => return Some((Arc::new(a), Ticket::Spool { at, next })),
            Err(e) => {
                tracing::warn!("skipping an unreadable spool record: {e}");
                *dropped += 1;
                if let Err(e) = spool.ack(next) {
                    tracing::error!("cannot record a skip in the spool: {e}");
                    return None;
                }
            }
        }
    }
}
