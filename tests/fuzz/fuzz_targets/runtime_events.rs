//! The container runtimes' event stream (`/events`: JSON objects one after
//! another) as enrich reads it: arbitrary bytes, arriving in pieces as the
//! input's first byte says, through `enrich::runtime::drain_events` and
//! each object through `on_event`. Requests and removals it sends must name
//! whole container ids.
#![no_main]

use std::sync::mpsc::channel;

use enrich::tables::cgroup::{Runtime, FULL_ID_LEN};
use enrich::runtime::{drain_events, on_event};
use enrich::MetaUpdate;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&step, stream)) = data.split_first() else {
        return;
    };
    let step = usize::from(step.max(1));
    let (req_tx, req_rx) = channel();
    let (up_tx, up_rx) = channel();
    let mut pending = Vec::new();
    for piece in stream.chunks(step) {
        pending.extend_from_slice(piece);
        match drain_events(&mut pending, |v| {
            on_event(v, Runtime::Docker, &req_tx, &up_tx)
        }) {
            Ok(None) => {}
            Ok(Some(_)) | Err(_) => break,
        }
    }
    drop((req_tx, up_tx));
    for req in req_rx.try_iter() {
        assert_eq!(req.full_id.len(), FULL_ID_LEN);
    }
    for up in up_rx.try_iter() {
        if let MetaUpdate::Removed(id) = up {
            assert_eq!(id.len(), FULL_ID_LEN);
        }
    }
});
