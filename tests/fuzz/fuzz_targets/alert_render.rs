//! Alert frames as evaluate sends them to output, on arbitrary bytes: the
//! renderer (`render::text`, `render::json`) and output's copy of an alert
//! (`Alert::from_frame`, included from bins/output by path) with its
//! formats. A text line must hold no raw control, C1 or bidi character and
//! a JSON line must parse back as one line.
#![no_main]

use kestrel_fuzz::alert::Alert;
use kestrel_fuzz::format::{self, Format};
use kestrel_fuzz::{Chunked, MAX_FRAMES};
use libfuzzer_sys::fuzz_target;
use render::{TextOptions, TimeStyle};
use schema::frame;

fn printable(s: &str) {
    assert!(
        !s.chars().any(render::needs_escape),
        "raw control in a text line: {s:?}"
    );
}

fn one_json_line(s: &str) {
    assert!(!s.contains('\n'), "JSON line with a raw line feed: {s:?}");
    serde_json::from_str::<serde_json::Value>(s).expect("JSON line parses");
}

fuzz_target!(|data: &[u8]| {
    let mut r = schema::FrameReader::new(Chunked::from_input(data));
    for _ in 0..MAX_FRAMES {
        let Ok(Some(f)) = r.next() else { break };
        let Ok(root) = f.root() else { continue };
        let Ok(frame::Alert(Ok(a))) = root.which() else {
            continue;
        };
        for time in [TimeStyle::Clock, TimeStyle::Iso8601] {
            if let Ok(s) = render::text(
                a,
                &TextOptions {
                    colour: false,
                    time,
                },
            ) {
                printable(&s);
            }
        }
        if let Ok(v) = render::json(a) {
            one_json_line(&render::json_string(&v));
        }
        let Ok(alert) = Alert::from_frame(a, f.offset()) else {
            continue;
        };
        if let Ok(s) = format::render(&alert, Format::Text, false) {
            printable(&s);
        }
        let _ = format::render(&alert, Format::Text, true);
        if let Ok(s) = format::render(&alert, Format::Json, false) {
            one_json_line(&s);
        }
    }
});
