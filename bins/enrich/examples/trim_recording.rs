//! Trims a capture recording to what a replay fixture needs: the header, the
//! snapshot events of the workload's ancestors (its starting state), and the
//! events of the workload's process tree (rooted at the pid given),
//! following its clones.
//!
//! `cargo run -p enrich --example trim_recording -- ROOT_PID < raw.kst > fixture.kst`
//!
//! A fixture tool, not part of enrich: it exists so that recorded fixtures
//! stay small and free of unrelated host activity.

use std::collections::{HashMap, HashSet};
use std::io::{stdin, stdout};

use anyhow::{bail, Context, Result};
use schema::{frame, FrameReader, FrameWriter, Kind};

/// What the trimming needs to know of one frame.
struct Info {
    raw: Vec<u8>,
    kind: Option<Kind>,
    pid: i32,
    ret: i64,
    /// For snapshots: the process's parent.
    ppid: i32,
}

fn main() -> Result<()> {
    let root: i32 = std::env::args()
        .nth(1)
        .context("usage: trim_recording ROOT_PID < raw.kst > fixture.kst")?
        .parse()
        .context("ROOT_PID must be a number")?;
    let mut r = FrameReader::new(stdin().lock());
    let mut frames = Vec::new();
    while let Some(f) = r.next()? {
        let mut info = Info {
            raw: f.raw().to_vec(),
            kind: None,
            pid: 0,
            ret: 0,
            ppid: 0,
        };
        if let Ok(frame::Event(Ok(ev))) = f.root()?.which() {
            info.kind = ev.get_kind().ok();
            info.pid = ev.get_pid();
            info.ret = ev.get_ret();
            if let Ok(t) = ev.get_thread() {
                info.ppid = t.get_ppid();
            }
        }
        frames.push(info);
    }
    if frames.is_empty() {
        bail!("empty input");
    }
    // The root's parent: whoever cloned it.
    let is_clone = |k: Option<Kind>| {
        matches!(
            k,
            Some(Kind::Clone | Kind::Clone3 | Kind::Fork | Kind::Vfork)
        )
    };
    let parent = frames
        .iter()
        .find(|f| is_clone(f.kind) && f.ret == root as i64)
        .map(|f| f.pid)
        .context("no clone of the root pid in the recording")?;
    let ppids: HashMap<i32, i32> = frames
        .iter()
        .filter(|f| f.kind == Some(Kind::ProcSnapshot))
        .map(|f| (f.pid, f.ppid))
        .collect();
    let mut ancestors = HashSet::new();
    let mut p = parent;
    while p > 0 && ancestors.insert(p) {
        p = ppids.get(&p).copied().unwrap_or(0);
    }
    // The tree, from every clone edge: a vfork child's events come before
    // its parent's vfork returns, so one pass in stream order would miss them.
    let edges: Vec<(i32, i32)> = frames
        .iter()
        .filter(|f| is_clone(f.kind) && f.ret > 0)
        .map(|f| (f.pid, f.ret as i32))
        .collect();
    let mut tree: HashSet<i32> = HashSet::from([root]);
    loop {
        let before = tree.len();
        for (p, c) in &edges {
            if tree.contains(p) {
                tree.insert(*c);
            }
        }
        if tree.len() == before {
            break;
        }
    }
    let mut w = FrameWriter::new(stdout().lock());
    w.write_raw(&frames[0].raw)?;
    for f in &frames[1..] {
        let keep = match f.kind {
            Some(Kind::ProcSnapshot) => ancestors.contains(&f.pid),
            Some(_) => {
                tree.contains(&f.pid)
                    || (ancestors.contains(&f.pid) && is_clone(f.kind) && f.ret == root as i64)
            }
            None => false,
        };
        if keep {
            w.write_raw(&f.raw)?;
        }
    }
    w.flush()?;
    Ok(())
}
