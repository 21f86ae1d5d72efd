//! enrich's engine (`enrich::Enricher::on_event`) on a stream of arbitrary
//! event frames: its parameter readers (`params`, `rawparams`: parameters
//! copied as a block from the input frame's bytes) and its splicer
//! (`splice`: events written from cached, pre-serialised parts by copying
//! segments and patching far pointers). Whatever comes in, what it writes
//! must read back as valid frames whose state `schema::state::StateTable`
//! resolves, both spliced and built field by field (`set_splicing(false)`).
#![no_main]

use enrich::{Enricher, Options};
use kestrel_fuzz::{reread_framing, Chunked, MAX_FRAMES};
use libfuzzer_sys::fuzz_target;
use schema::{frame, FrameReader, FrameWriter, Stage};

/// enrich's output for `data`, spliced or built field by field, and
/// whether every event given to it decoded whole.
fn enrich(data: &[u8], splicing: bool) -> (Vec<u8>, bool) {
    let opts = Options {
        // No user database: names would only depend on the machine.
        passwd: "/nonexistent/passwd".into(),
        group: "/nonexistent/group".into(),
        ..Options::default()
    };
    let mut engine = Enricher::new(&opts, None);
    engine.set_splicing(splicing);
    let mut w = FrameWriter::new(Vec::new());
    w.write_header(Stage::Enrich).expect("header into a Vec");
    let mut r = FrameReader::new(Chunked::from_input(data));
    let mut whole = true;
    for _ in 0..MAX_FRAMES {
        let Ok(Some(f)) = r.next() else { break };
        let Ok(root) = f.root() else { continue };
        if let Ok(frame::Event(Ok(ev))) = root.which() {
            whole &= schema::json::frame_to_json(root).is_ok();
            // An error is enrich refusing the event, which is allowed;
            // the stream it wrote so far must still be whole.
            if engine.on_event(ev, f.raw(), &mut w).is_err() {
                break;
            }
        }
    }
    let _ = engine.release_all(&mut w);
    w.flush().expect("flush into a Vec");
    (w.get_ref().clone(), whole)
}

fuzz_target!(|data: &[u8]| {
    // enrich forwards what it does not interpret as it came: an input
    // event that does not decode whole may come out so (RELIABILITY.md).
    let (spliced, whole) = enrich(data, true);
    reread_framing(&spliced, whole);
    // Every state an event names was sent before it.
    let mut table = schema::state::StateTable::new();
    let mut r = FrameReader::new(&spliced[..]);
    while let Ok(Some(f)) = r.next() {
        let root = f.root().expect("re-read above");
        if !table.apply(root, f.raw()) {
            if let Ok(frame::Event(Ok(ev))) = root.which() {
                if ev.get_state_gen() != 0 {
                    assert!(table.get(ev).is_some(), "an event names a state never sent");
                }
            }
        }
    }
    // Built field by field (events then carry their state whole), the
    // same input must read back too.
    let (built, whole) = enrich(data, false);
    reread_framing(&built, whole);
});
