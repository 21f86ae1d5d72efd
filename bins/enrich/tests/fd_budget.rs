//! Descriptor tables under a hostile load: a process with many descriptors
//! on long paths that forks again and again. Children share their parent's
//! table until one of them changes it, and every name lives within one
//! global byte budget.

mod common;

use common::*;
use enrich::limits::FD_BUDGET_BYTES;
use enrich::tables::fdname::FD_NAME_OVERHEAD_BYTES;
use enrich::tables::fdtable::FD_SLOT_BYTES;
use schema::kestrel_capnp::frame;
use schema::{FrameReader, Kind};

/// Descriptors the attacking process opens.
const FDS: usize = 16_000;
/// Bytes of each descriptor's path.
const PATH_BYTES: usize = 4_000;
/// Times it forks.
const FORKS: i32 = 12;
const PARENT: i32 = 100;

fn path(i: usize) -> String {
    let head = format!("/tmp/{i:08}/");
    format!("{head}{}", "a".repeat(PATH_BYTES - head.len()))
}

/// A process that opens [`FDS`] descriptors (3, 4, ...) on distinct
/// [`PATH_BYTES`]-byte paths, then forks [`FORKS`] times; child `k` closes
/// inherited descriptor `3 + k` (its event shows what it closed, and its
/// table is then its own). Last, the parent closes descriptor 3, which
/// the first child closed in its copy.
fn attack_stream() -> Vec<u8> {
    let mut st = Stream::new();
    st.snap(&Snap::new(PARENT, 1, "bash"));
    for i in 0..FDS {
        openat(&mut st, PARENT, 3 + i as i64, &path(i));
    }
    for k in 0..FORKS {
        let child = 1000 + k;
        st.ev(
            Kind::Clone,
            PARENT,
            PARENT,
            i64::from(child),
            &[P::Uint(0x11)],
        );
        st.ev(Kind::Close, child, child, 0, &[P::Int(3 + i64::from(k))]);
    }
    st.ev(Kind::Close, PARENT, PARENT, 0, &[P::Int(3)]);
    st.bytes()
}

/// What the attack leaves in an engine whose descriptor budget is
/// `budget` bytes.
struct Outcome {
    /// Most bytes charged to the budget between two events.
    peak: usize,
    /// The name each close showed, by (tid, fd).
    closes: Vec<(i32, i64, Vec<u8>)>,
    /// The name the last open showed.
    last_open: Vec<u8>,
    /// enrich's counters from its last stats frame.
    counters: std::collections::HashMap<String, u64>,
}

fn attack(budget: usize) -> Outcome {
    let (_d, pw, gr) = userdb();
    let opts = enrich::Options {
        passwd: pw,
        group: gr,
        ..enrich::Options::default()
    };
    let mut engine = enrich::Enricher::new(&opts, None);
    engine.set_fd_budget(budget);
    let mut peak = 0;
    let out = drive(&attack_stream(), &mut engine, |_, e, _| {
        peak = peak.max(e.threads().fd_budget().used());
    });
    peak = peak.max(engine.threads().fd_budget().used());
    // The output is read frame by frame: as JSON, 64 MB of paths would
    // take most of the test's time.
    let mut closes = Vec::new();
    let mut last_open = Vec::new();
    let mut counters = std::collections::HashMap::new();
    let mut r = FrameReader::new(&out[..]);
    while let Some(f) = r.next().expect("enrich wrote a readable stream") {
        match f.root().unwrap().which().unwrap() {
            frame::Event(Ok(ev)) => {
                let name = ev
                    .get_fd()
                    .ok()
                    .and_then(|fd| fd.get_name().ok())
                    .unwrap_or_default()
                    .to_vec();
                match ev.get_kind().unwrap() {
                    Kind::Close => {
                        closes.push((ev.get_tid(), ev.get_fd().unwrap().get_num(), name))
                    }
                    Kind::Openat => last_open = name,
                    _ => {}
                }
            }
            frame::Stats(Ok(st)) => {
                for c in st.get_counters().unwrap() {
                    let name = c.get_name().unwrap().to_str().unwrap().to_string();
                    counters.insert(name, c.get_value());
                }
            }
            _ => {}
        }
    }
    Outcome {
        peak,
        closes,
        last_open,
        counters,
    }
}

#[test]
fn forks_share_their_parents_descriptors_and_their_names() {
    let o = attack(FD_BUDGET_BYTES);
    assert!(o.peak <= FD_BUDGET_BYTES, "{} bytes charged", o.peak);
    // Each name once, however many processes hold it; each process that
    // changed its table owns a copy of the slots only. A copy per fork
    // would hold the names once per process: 13 times this.
    let names = FDS * (PATH_BYTES + FD_NAME_OVERHEAD_BYTES);
    let slots = (FORKS as usize + 1) * FDS * FD_SLOT_BYTES;
    assert!(
        o.peak <= names + slots + (1 << 20),
        "{} bytes charged, names {names}, slots {slots}",
        o.peak
    );
    assert_eq!(o.counters["fd_budget_evictions"], 0);
    let reported = o.counters["fd_bytes"] as usize;
    assert!(
        names <= reported && reported <= o.peak,
        "fd_bytes {reported}"
    );
    // Every child resolves what it inherited; its close leaves the
    // parent's table as it was.
    assert_eq!(o.closes.len(), FORKS as usize + 1);
    for (k, (tid, num, name)) in o.closes.iter().take(FORKS as usize).enumerate() {
        assert_eq!((*tid, *num), (1000 + k as i32, 3 + k as i64));
        assert_eq!(name, path(k).as_bytes(), "child {tid}'s fd {num}");
    }
    let (tid, num, name) = &o.closes[FORKS as usize];
    assert_eq!((*tid, *num), (PARENT, 3));
    assert_eq!(name, path(0).as_bytes(), "the parent's own fd 3");
    assert_eq!(o.last_open, path(FDS - 1).as_bytes());
}

#[test]
fn the_descriptor_budget_holds_under_the_fork_attack_and_cuts_are_counted() {
    // A quarter of what the parent's names alone take.
    let budget = FDS * PATH_BYTES / 4;
    let o = attack(budget);
    assert!(o.peak <= budget, "{} bytes charged over {budget}", o.peak);
    assert!(o.counters["fd_budget_evictions"] > 0);
    // The first descriptors got their names; children resolve those.
    for (k, (tid, num, name)) in o.closes.iter().take(FORKS as usize).enumerate() {
        assert_eq!(name, path(k).as_bytes(), "child {tid}'s fd {num}");
    }
    // The open that found the budget spent still shows its name itself.
    assert_eq!(o.last_open, path(FDS - 1).as_bytes());
}

/// Writes the attack stream to `$ENRICH_ATTACK_STREAM`, to measure the
/// enrich binary's memory on it.
#[test]
#[ignore]
fn dump_attack_stream() {
    let Ok(to) = std::env::var("ENRICH_ATTACK_STREAM") else {
        return;
    };
    std::fs::write(to, attack_stream()).unwrap();
}
