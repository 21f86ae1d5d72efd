//! Events whose enriched frame would be over the wire limit
//! (`schema::limits::MAX_FRAME_BYTES`): they go out cut, counted, and the
//! stage goes on; no input can make enrich exit by the size of its output.

mod common;

use common::*;
use schema::limits::MAX_FRAME_BYTES;
use schema::Kind;

/// A process that execs with arguments of 3/4 of the wire limit: within
/// the limit on input, but the event carries them twice once enriched (as
/// its parameters and as its thread's arguments). Its next events carry
/// them once.
fn stream(path: &str) -> Vec<u8> {
    let mut st = Stream::new();
    st.snap(&Snap::new(100, 1, "bash"));
    let big = "x".repeat(MAX_FRAME_BYTES / 4 * 3);
    let mut params = vec![b("/usr/bin/big"), b("/usr/bin/big"), list(&["big", &big])];
    params.extend([P::Uint(0), b("/srv")]);
    params.extend([0u64, 0, 0, 0, 0, 0].map(P::Uint));
    params.extend([1i64, 100, 100, 100, 1].map(P::Int));
    params.extend([b("big"), list(&["0::/user.slice"])]);
    st.ev(Kind::Execve, 100, 100, 0, &params);
    openat(&mut st, 100, 3, path);
    st.ev(Kind::Close, 100, 100, 0, &[P::Int(3)]);
    st.bytes()
}

#[test]
fn an_event_over_the_wire_limit_goes_out_cut_and_the_stage_goes_on() {
    let (_d, pw, gr) = userdb();
    let opts = enrich::Options {
        passwd: pw,
        group: gr,
        ..enrich::Options::default()
    };
    let mut out = Vec::new();
    let mut none = |_tx| None;
    enrich::run::run(
        std::io::Cursor::new(stream("/etc/shadow")),
        &mut out,
        &opts,
        &mut none,
    )
    .expect("enrich goes on");
    let fr = frames(&out);
    let ev = events(&out);
    let kinds: Vec<String> = ev.iter().map(|e| s(e, &["kind"])).collect();
    assert_eq!(kinds, ["procSnapshot", "execve", "openat", "close"]);
    // The execve lost its parameters and its thread's arguments, not its
    // identity.
    assert_eq!(s(&ev[1], &["thread", "name"]), "big");
    assert_eq!(s(&ev[1], &["thread", "argsTruncated"]), "true");
    // The events after it carry the arguments once, whole.
    assert_eq!(s(&ev[2], &["fd", "name"]), "/etc/shadow");
    assert_eq!(
        ev[3]["thread"]["args"].as_array().map(Vec::len),
        Some(1),
        "the close carries its thread's argument"
    );
    let counter = |name: &str| {
        fr.iter()
            .rev()
            .find_map(|f| f.get("stats"))
            .and_then(|st| st["counters"].as_array())
            .and_then(|c| c.iter().find(|c| c["name"] == name))
            .and_then(|c| c["value"].as_u64())
            .unwrap()
    };
    assert_eq!(counter("parts_trimmed"), 1);
    assert_eq!(counter("drops.frame_too_large"), 0);
}
