//! The hold-back queue: events of a new container, fully enriched but for
//! their container and k8s parts, waiting (bounded in time by the engine and
//! in number by [`MAX_HELD_EVENTS`]) for the runtime's metadata.
//!
//! Order is kept per thread: once a thread has an event held, its later
//! events queue behind it, whatever container they belong to.

use std::collections::VecDeque;

use capnp::message::{Builder, HeapAllocator};
use rustc_hash::FxHashMap;

use crate::limits::MAX_HELD_EVENTS;

/// One held event: a whole `Frame` message, its container still to fill.
pub struct Held {
    pub msg: Builder<HeapAllocator>,
    pub tid: i32,
    /// The event's own container (empty for the host): usually the queue's,
    /// but a thread that changed container waits in its first queue.
    pub container: String,
}

/// Held events per container, in arrival order.
#[derive(Default)]
pub struct HoldBack {
    queues: FxHashMap<String, VecDeque<Held>>,
    /// Threads with an event held, and the container queue holding it.
    threads: FxHashMap<i32, String>,
    len: usize,
    /// Arrival order of queues, for releasing the oldest when full.
    order: VecDeque<String>,
}

impl HoldBack {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The queue thread `tid` must join to keep its order, if any.
    pub fn queue_of(&self, tid: i32) -> Option<&str> {
        self.threads.get(&tid).map(String::as_str)
    }

    /// True when holding one more event would pass the limit.
    pub fn full(&self) -> bool {
        self.len >= MAX_HELD_EVENTS
    }

    /// The container whose queue is oldest (released first when full).
    pub fn oldest(&self) -> Option<&str> {
        self.order.front().map(String::as_str)
    }

    /// Queues `held` behind container `id`'s other events.
    pub fn push(&mut self, id: &str, held: Held) {
        self.threads.insert(held.tid, id.to_string());
        let q = self.queues.entry(id.to_string()).or_default();
        if q.is_empty() {
            self.order.push_back(id.to_string());
        }
        q.push_back(held);
        self.len += 1;
    }

    /// Takes container `id`'s queue, in order.
    pub fn take(&mut self, id: &str) -> VecDeque<Held> {
        let q = self.queues.remove(id).unwrap_or_default();
        self.len -= q.len();
        self.order.retain(|o| o != id);
        self.threads.retain(|_, c| c != id);
        q
    }

    /// Containers with events held.
    pub fn containers(&self) -> Vec<String> {
        self.order.iter().cloned().collect()
    }
}
