//! output's `/healthz` and `/metrics` server (`metrics::respond`, from
//! bins/output by path) on an arbitrary request: it answers with one whole
//! HTTP/1.1 response whose Content-Length is its body's, or fails on the
//! read, never panics.
#![no_main]

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use kestrel_fuzz::config::{Config, DEFAULT_RATE_LIMIT};
use kestrel_fuzz::drops::DEFAULT_DROP_ALARM;
use kestrel_fuzz::metrics;
use kestrel_fuzz::pipeline::Pipeline;
use libfuzzer_sys::fuzz_target;

fn pipeline() -> Arc<Pipeline> {
    // No sinks: nothing to open, no threads; the answers are then only
    // output's own counters.
    let cfg = Config {
        sinks: Vec::new(),
        spool_dir: None,
        queue_alerts: 1,
        spool_bytes: 0,
        drain_timeout: Duration::ZERO,
        listen: None,
        colour: false,
        rate_limit: DEFAULT_RATE_LIMIT,
        drop_alarm: DEFAULT_DROP_ALARM,
    };
    Pipeline::start(&cfg).expect("a pipeline without sinks starts")
}

fuzz_target!(|data: &[u8]| {
    static PIPELINE: OnceLock<Arc<Pipeline>> = OnceLock::new();
    let p = PIPELINE.get_or_init(pipeline);
    let mut out = Vec::new();
    if metrics::respond(data, &mut out, p).is_err() {
        return;
    }
    let text = String::from_utf8(out).expect("answers are text");
    let (head, body) = text.split_once("\r\n\r\n").expect("a head and a body");
    assert!(head.starts_with("HTTP/1.1 "), "{head}");
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .expect("a Content-Length");
    assert_eq!(length.parse::<usize>().ok(), Some(body.len()));
});
