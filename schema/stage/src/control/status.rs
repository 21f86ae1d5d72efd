//! What a stage tells its control server about itself: when it started,
//! whether its input and output are connected, its last error and its
//! counters. The event path writes it, the control thread reads it.
//!
//! It is not a place for anything the event path would wait on: writes
//! are atomics, or a mutex held only to copy a few values.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use schema::Stage;

/// A stage's self-description, shared between its event path and its
/// control server.
#[derive(Debug)]
pub struct StageStatus {
    pub stage: Stage,
    /// The binary's name, e.g. "evaluate".
    pub program: &'static str,
    /// The binary's crate version.
    pub version: &'static str,
    /// Wall-clock start time, ns since the Unix epoch.
    pub up_since_ns: u64,
    pub hostname: String,
    input_connected: AtomicBool,
    output_connected: AtomicBool,
    last_error: Mutex<Option<(u64, String)>>,
    counters: Mutex<Vec<(String, u64)>>,
}

impl StageStatus {
    /// A stage that starts now, with nothing connected yet.
    pub fn new(stage: Stage, program: &'static str, version: &'static str) -> Arc<Self> {
        Arc::new(StageStatus {
            stage,
            program,
            version,
            up_since_ns: schema::now_ns(),
            hostname: schema::hostname(),
            input_connected: AtomicBool::new(false),
            output_connected: AtomicBool::new(false),
            last_error: Mutex::new(None),
            counters: Mutex::new(Vec::new()),
        })
    }

    pub fn set_input_connected(&self, on: bool) {
        self.input_connected.store(on, Ordering::Relaxed);
    }

    pub fn set_output_connected(&self, on: bool) {
        self.output_connected.store(on, Ordering::Relaxed);
    }

    pub fn input_connected(&self) -> bool {
        self.input_connected.load(Ordering::Relaxed)
    }

    pub fn output_connected(&self) -> bool {
        self.output_connected.load(Ordering::Relaxed)
    }

    /// Records `message` as the last error, stamped now.
    pub fn record_error(&self, message: impl Into<String>) {
        let entry = (schema::now_ns(), message.into());
        // A poisoned lock only means a panic elsewhere mid-copy: the value
        // is still a whole `Option`, so keep using it.
        *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(entry);
    }

    /// The last error and when it happened.
    pub fn last_error(&self) -> Option<(u64, String)> {
        self.last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Replaces the published counters: call it with what the stage puts in
    /// its in-band `stats` frame, when it does.
    pub fn publish_counters(&self, counters: &[(String, u64)]) {
        let mut c = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        c.clear();
        c.extend_from_slice(counters);
    }

    /// The counters last published.
    pub fn counters(&self) -> Vec<(String, u64)> {
        self.counters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}
