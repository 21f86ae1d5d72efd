//! `schema::state::StateTable` on a stream of arbitrary frames: `state` and
//! `stateGone` frames go to `apply`, every event to `get`, and the state
//! found is walked whole. The table is kept small so that eviction and
//! compaction run too. The table's entries borrow their own stored frames
//! (an unsafe lifetime extension); reading every part of every state after
//! arbitrary inserts, replacements and evictions is what would show a
//! dangling one (best under FUZZ_SANITIZER=address).
#![no_main]

use kestrel_fuzz::{Chunked, MAX_FRAMES};
use libfuzzer_sys::fuzz_target;
use schema::frame;
use schema::state::StateTable;

/// Small bounds: a few states, a few kilobytes.
const STATES: usize = 8;
const BYTES: usize = 16 << 10;

fuzz_target!(|data: &[u8]| {
    let mut table = StateTable::with_limits(STATES, BYTES);
    let mut r = schema::FrameReader::new(Chunked::from_input(data));
    for _ in 0..MAX_FRAMES {
        let Ok(Some(f)) = r.next() else { break };
        let Ok(root) = f.root() else { continue };
        if table.apply(root, f.raw()) {
            assert!(table.len() <= STATES);
            continue;
        }
        let Ok(frame::Event(Ok(ev))) = root.which() else {
            continue;
        };
        if let Some(st) = table.get(ev) {
            let _ = st.record.total_size();
            let _ = st.thread.map(|p| p.total_size());
            let _ = st.user.map(|p| p.total_size());
            let _ = st.group.map(|p| p.total_size());
            let _ = st.login_user.map(|p| p.total_size());
            let _ = st.container.map(|p| p.total_size());
            let _ = st.k8s.map(|p| p.total_size());
        }
    }
});
