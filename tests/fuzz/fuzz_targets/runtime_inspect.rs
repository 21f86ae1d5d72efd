//! Docker's and podman's container inspect documents
//! (`enrich::runtime::inspect::parse`) on arbitrary bytes, with the image
//! and time parsers it uses on their own; metadata that parses goes to the
//! engine (`Enricher::on_update`), whose output must read back whole.
#![no_main]

use enrich::runtime::inspect;
use enrich::{Enricher, MetaUpdate, Options};
use kestrel_fuzz::reread;
use libfuzzer_sys::fuzz_target;
use schema::{FrameWriter, Stage};

/// A container id as the runtimes write it: 64 hex digits.
const FULL_ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = inspect::split_image(s);
        let _ = inspect::parse_rfc3339(s);
    }
    for runtime in ["docker", "podman"] {
        let Ok(meta) = inspect::parse(data, runtime) else {
            continue;
        };
        let opts = Options {
            passwd: "/nonexistent/passwd".into(),
            group: "/nonexistent/group".into(),
            ..Options::default()
        };
        let mut engine = Enricher::new(&opts, None);
        let mut w = FrameWriter::new(Vec::new());
        w.write_header(Stage::Enrich).expect("header into a Vec");
        let update = MetaUpdate::Fetched {
            full_id: FULL_ID.into(),
            result: Ok(Box::new(meta)),
        };
        engine
            .on_update(update, &mut w)
            .expect("writing into a Vec");
        let _ = engine.container(FULL_ID);
        w.flush().expect("flush into a Vec");
        reread(w.get_ref());
    }
});
