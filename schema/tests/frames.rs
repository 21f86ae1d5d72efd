//! The frame writer and reader together, in memory: offsets, counters,
//! batching, the size limit on both sides, and the header rule.

use std::io;

use schema::kestrel_capnp::{frame, Kind, Stage};
use schema::limits::MAX_FRAME_BYTES;
use schema::{FrameError, FrameReader, FrameWriter};

fn event(f: frame::Builder<'_>, seq: u64) -> Result<(), io::Error> {
    let mut e = f.init_event();
    e.set_ts_ns(seq);
    e.set_kind(Kind::Openat);
    e.init_params(1).get(0).set_bytes(b"/etc/passwd");
    Ok(())
}

#[test]
fn frames_come_back_in_order_with_their_offsets() {
    let mut w = FrameWriter::new(Vec::new());
    w.write_header(Stage::Capture).expect("header");
    for seq in 0..100 {
        w.build(|f| event(f, seq)).expect("event");
    }
    w.flush().expect("flush");
    assert_eq!(w.frames(), 101);
    let bytes = w.get_ref().clone();
    assert_eq!(w.bytes(), bytes.len() as u64);

    let mut r = FrameReader::new(&bytes[..]);
    let h = r.read_header().expect("valid").expect("not empty");
    assert_eq!(h.stage, Some(Stage::Capture));
    assert_eq!(h.format_major, schema::kestrel_capnp::FORMAT_MAJOR);
    let mut expected_offset = r.offset();
    for seq in 0..100 {
        let f = r.next().expect("valid").expect("more frames");
        assert_eq!(f.offset(), expected_offset);
        expected_offset += f.raw().len() as u64;
        match f.root().expect("root").which().expect("known kind") {
            frame::Event(e) => {
                let e = e.expect("event");
                assert_eq!(e.get_ts_ns(), seq);
                // Borrowed from the read buffer, not copied.
                let p = e.get_params().expect("params").get(0);
                match p.which().expect("param") {
                    schema::param::Bytes(b) => {
                        let b = b.expect("bytes");
                        assert_eq!(b, b"/etc/passwd");
                        let raw = f.raw().as_ptr_range();
                        assert!(raw.contains(&b.as_ptr()), "string was copied");
                    }
                    _ => panic!("wrong param variant"),
                }
            }
            _ => panic!("expected an event"),
        }
    }
    assert!(r.next().expect("clean end").is_none());
    assert_eq!(r.frames(), 101);
    assert_eq!(r.offset(), bytes.len() as u64);
}

#[test]
fn batching_holds_frames_until_flush_and_unbatched_does_not() {
    let mut w = FrameWriter::new(Vec::new());
    w.build(|f| event(f, 1)).expect("event");
    assert!(w.pending() > 0 && w.get_ref().is_empty());
    w.flush().expect("flush");
    assert_eq!(w.pending(), 0);
    assert!(!w.get_ref().is_empty());

    let mut u = FrameWriter::unbatched(Vec::new());
    u.build(|f| event(f, 1)).expect("event");
    assert_eq!(u.pending(), 0);
    assert!(!u.get_ref().is_empty());
}

#[test]
fn writer_refuses_frames_no_reader_would_accept() {
    let mut w = FrameWriter::new(Vec::new());
    let err = w
        .build(|f| {
            f.init_audit().init_json(MAX_FRAME_BYTES as u32);
            Ok::<_, io::Error>(())
        })
        .expect_err("over the limit");
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("over the limit"), "{err}");
    assert_eq!(w.pending(), 0, "nothing of the refused frame was written");
    assert_eq!(w.frames(), 0);
    // The arena is usable again after a refused, heap-spilled frame.
    w.build(|f| event(f, 2)).expect("a normal frame after");
    assert_eq!(w.frames(), 1);
}

#[test]
fn largest_allowed_frame_passes_both_ends() {
    let mut w = FrameWriter::new(Vec::new());
    w.write_header(Stage::Enrich).expect("header");
    // Leave room for the frame's own pointers and segment table.
    let payload = MAX_FRAME_BYTES as u32 - 64;
    w.build(|f| {
        f.init_audit().init_json(payload);
        Ok::<_, io::Error>(())
    })
    .expect("under the limit");
    w.flush().expect("flush");
    let mut r = FrameReader::new(&w.get_ref()[..]);
    r.read_header().expect("valid").expect("header");
    let f = r.next().expect("valid").expect("frame");
    assert!(f.raw().len() <= MAX_FRAME_BYTES);
    match f.root().expect("root").which().expect("kind") {
        frame::Audit(a) => assert_eq!(
            a.expect("audit").get_json().expect("json").len(),
            payload as usize
        ),
        _ => panic!("expected the audit frame"),
    }
}

#[test]
fn a_stream_must_start_with_a_header() {
    let mut w = FrameWriter::new(Vec::new());
    w.build(|f| event(f, 1)).expect("event");
    w.flush().expect("flush");
    let mut r = FrameReader::new(&w.get_ref()[..]);
    match r.read_header() {
        Err(e @ FrameError::NoHeader { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains("byte 0") && msg.contains("event"), "{msg}");
        }
        other => panic!(
            "expected NoHeader, got {:?}",
            other.map(|h| h.map(|h| h.stage))
        ),
    }
}

#[test]
fn has_buffered_reports_read_ahead() {
    let mut w = FrameWriter::new(Vec::new());
    w.write_header(Stage::Capture).expect("header");
    w.build(|f| event(f, 1)).expect("event");
    w.flush().expect("flush");
    let mut r = FrameReader::new(&w.get_ref()[..]);
    r.read_header().expect("valid").expect("header");
    // The first read took the whole (small) stream.
    assert!(r.has_buffered());
    r.next().expect("valid").expect("event");
    assert!(!r.has_buffered());
    assert!(r.next().expect("clean end").is_none());
}

#[test]
fn async_writer_to_async_reader_over_a_socket() {
    use schema::aio::{AsyncFrameReader, AsyncFrameWriter};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let (a, b) = tokio::net::UnixStream::pair().expect("socketpair");
        let writer = tokio::spawn(async move {
            let mut w = AsyncFrameWriter::new(a);
            w.write_header(Stage::Output).await.expect("header");
            for seq in 0..10 {
                let mut msg = capnp::message::Builder::new_default();
                event(msg.init_root::<frame::Builder>(), seq).expect("fill");
                w.write(&msg).await.expect("event");
            }
            w.flush().await.expect("flush");
            w.frames()
        });
        let mut r = AsyncFrameReader::new(b);
        let h = r.read_header().await.expect("valid").expect("header");
        assert_eq!(h.stage, Some(Stage::Output));
        let mut seen = 0;
        while let Some(f) = r.next().await.expect("valid") {
            match f.root().expect("root").which().expect("kind") {
                frame::Event(e) => assert_eq!(e.expect("event").get_ts_ns(), seen),
                _ => panic!("expected events"),
            }
            seen += 1;
        }
        assert_eq!(seen, 10);
        assert_eq!(r.frames(), 11);
        assert_eq!(writer.await.expect("writer task"), 11);
    });
}

/// Frames of several segments (what a writer with a small first segment,
/// or any Cap'n Proto implementation, may send) read the same as frames of
/// one, through both readers; a pointer past the end of a one-segment
/// frame is an error that names the frame's offset, not a panic.
#[test]
fn multi_segment_frames_read_and_bad_pointers_are_errors() {
    use capnp::message::{Builder, HeapAllocator};
    let mut out = Vec::new();
    let mut w = FrameWriter::new(&mut out);
    w.write_header(Stage::Capture).expect("header");
    w.flush().expect("flush");
    drop(w);
    let paths: Vec<String> = (0..40)
        .map(|i| format!("/var/lib/{i:03}/{}", "x".repeat(i * 7)))
        .collect();
    let mut msg = Builder::new(HeapAllocator::new().first_segment_words(4));
    {
        let mut e = msg.init_root::<frame::Builder>().init_event();
        e.set_kind(Kind::Openat);
        let mut params = e.init_params(paths.len() as u32);
        for (i, p) in paths.iter().enumerate() {
            params.reborrow().get(i as u32).set_bytes(p.as_bytes());
        }
    }
    assert!(
        msg.get_segments_for_output().len() > 1,
        "the message spans segments"
    );
    capnp::serialize::write_message(&mut out, &msg).expect("write");
    let read_back = |f: frame::Reader<'_>| -> Vec<Vec<u8>> {
        let frame::Event(Ok(e)) = f.which().expect("known kind") else {
            panic!("expected an event")
        };
        let params = e.get_params().expect("params");
        (0..params.len())
            .map(|i| match params.get(i).which().expect("param") {
                schema::param::Bytes(b) => b.expect("bytes").to_vec(),
                _ => panic!("wrong param variant"),
            })
            .collect()
    };
    let want: Vec<Vec<u8>> = paths.iter().map(|p| p.clone().into_bytes()).collect();

    let mut r = FrameReader::new(&out[..]);
    r.read_header().expect("valid").expect("not empty");
    let f = r.next().expect("valid").expect("the event");
    assert_eq!(read_back(f.root().expect("root")), want);
    assert!(r.next().expect("clean end").is_none());

    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let mut r = schema::aio::AsyncFrameReader::new(&out[..]);
        r.read_header().await.expect("valid").expect("not empty");
        let f = r.next().await.expect("valid").expect("the event");
        assert_eq!(read_back(f.root().expect("root")), want);
    });

    // One segment whose root pointer points far past its end.
    let header_len = {
        let mut r = FrameReader::new(&out[..]);
        r.read_header().expect("valid");
        r.offset() as usize
    };
    let mut bad = out[..header_len].to_vec();
    let mut frame = vec![0u8; 16];
    frame[4] = 1; // one word in the only segment
    frame[8..16].copy_from_slice(&(0x7fff_fff0u64 << 2).to_le_bytes()); // struct pointer, huge offset
    bad.extend_from_slice(&frame);
    let mut r = FrameReader::new(&bad[..]);
    r.read_header().expect("valid").expect("not empty");
    let f = r.next().expect("the frame is complete").expect("a frame");
    let err = f.root().map(|_| ()).expect_err("an out-of-bounds root");
    assert!(
        err.to_string().contains(&format!("byte {header_len}")),
        "{err}"
    );
}
