//! Counts the frames of a kestrel stream by kind and their bytes, to
//! compare what enrich writes with and without `--inline-state`:
//!
//! `enrich < trace.kst | cargo run -p enrich --example frame_sizes`
//!
//! Per kind of frame (`event`, `state`, `stateGone`, `stats`, ...): the
//! count, the total bytes as framed on the wire, and the mean; then all
//! frames but the header and stats per event. A measuring tool, not part
//! of enrich.

use std::collections::BTreeMap;
use std::io::stdin;

use anyhow::{Context, Result};
use schema::{frame, FrameReader};

fn kind_name(f: frame::Reader<'_>) -> &'static str {
    match f.which() {
        Ok(frame::Header(_)) => "header",
        Ok(frame::Event(_)) => "event",
        Ok(frame::Alert(_)) => "alert",
        Ok(frame::Stats(_)) => "stats",
        Ok(frame::Audit(_)) => "audit",
        Ok(frame::State(_)) => "state",
        Ok(frame::StateGone(_)) => "stateGone",
        Err(_) => "unknown",
    }
}

fn main() -> Result<()> {
    let mut r = FrameReader::new(stdin().lock());
    r.read_header().context("reading the header")?;
    let mut by_kind: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    while let Some(f) = r.next().context("reading a frame")? {
        let kind = kind_name(f.root().context("decoding a frame")?);
        let e = by_kind.entry(kind).or_default();
        e.0 += 1;
        e.1 += f.raw().len() as u64;
    }
    let mut stream = 0;
    for (kind, (n, bytes)) in &by_kind {
        println!(
            "{kind:>10}: {n:>9} frames {bytes:>12} bytes {:>8.1} bytes/frame",
            *bytes as f64 / *n as f64
        );
        if *kind != "stats" {
            stream += bytes;
        }
    }
    let events = by_kind.get("event").map_or(0, |e| e.0);
    if events > 0 {
        println!(
            "all but stats, per event: {:.1} bytes",
            stream as f64 / events as f64
        );
    }
    Ok(())
}
