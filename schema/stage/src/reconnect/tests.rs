//! Tests over real Unix sockets: a reader goes away, frames are dropped
//! whole and counted, a new reader gets a header and whole frames.

use std::io::{self, Read};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::*;
use schema::{FrameReader, FrameWriter};

/// Longest a test waits for a reconnection: several times the longest
/// backoff.
const PATIENCE: Duration = Duration::from_secs(5);

/// Writes frame `seq`: a stats frame with one counter, padded to `pad`
/// bytes of hostname so that frames can be made larger than a socket
/// buffer.
fn write_seq<W: Write>(w: &mut FrameWriter<W>, seq: u64, pad: usize) {
    w.build(|f| -> io::Result<()> {
        let mut s = f.init_stats();
        s.set_hostname("x".repeat(pad).as_str());
        let mut c = s.init_counters(1).get(0);
        c.set_name("seq");
        c.set_value(seq);
        Ok(())
    })
    .expect("writing to a reconnecting output never fails on a lost reader");
}

/// Reads a whole stream: its header's stage and the sequence numbers of its
/// frames. Any split or corrupt frame fails the test.
fn read_stream(r: impl Read) -> (Option<Stage>, Vec<u64>) {
    let mut reader = FrameReader::new(r);
    let header = reader
        .read_header()
        .expect("a valid header")
        .expect("a header, not an empty stream");
    let mut seqs = Vec::new();
    while let Some(f) = reader.next().expect("only whole, valid frames") {
        let root = f.root().expect("a frame root");
        let Ok(frame::Stats(Ok(s))) = root.which() else {
            panic!("not a stats frame");
        };
        let counters = s.get_counters().expect("counters");
        seqs.push(counters.get(0).get_value());
    }
    (header.stage, seqs)
}

fn temp_socket(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("out.sock")
}

fn connect_when_there(path: &Path) -> UnixStream {
    let start = Instant::now();
    loop {
        match UnixStream::connect(path) {
            Ok(s) => return s,
            Err(e) if start.elapsed() > PATIENCE => panic!("connect {}: {e}", path.display()),
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

/// Writes frames from `*seq` on, one at a time and flushed, until the
/// output has had `readers` readers. The frame during whose write the new
/// reader was taken may go to it; which frame came first is for the
/// reader to tell.
fn write_until_reader(w: &mut FrameWriter<Output>, seq: &mut u64, readers: u64) {
    let start = Instant::now();
    while w.get_ref().readers() < readers {
        assert!(start.elapsed() < PATIENCE, "no new reader was taken");
        write_seq(w, *seq, 0);
        *seq += 1;
        w.flush().expect("flush");
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn connecting_output_drops_frames_while_the_reader_is_away_then_reconnects() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = temp_socket(&dir);
    let first = UnixListener::bind(&path).expect("bind");
    let mut w = FrameWriter::new(
        open_output(
            &Endpoint::Unix(path.clone()),
            Stage::Enrich,
            Redial::Connect,
        )
        .expect("connect"),
    );
    let (conn, _) = first.accept().expect("accept");
    w.write_header(Stage::Enrich).expect("header");
    let mut seq = 0;
    for _ in 0..10 {
        write_seq(&mut w, seq, 0);
        seq += 1;
    }
    w.flush().expect("flush");
    // The first reader reads what was sent and goes away, with its socket.
    conn.shutdown(std::net::Shutdown::Write).expect("shutdown");
    let (stage, got1) = read_stream_until(&conn, 10);
    assert_eq!(stage, Some(Stage::Enrich));
    drop(conn);
    drop(first);
    std::fs::remove_file(&path).expect("remove the socket");

    let sent_before_gap = seq;
    for _ in 0..100 {
        write_seq(&mut w, seq, 0);
        seq += 1;
    }
    w.flush().expect("writes go nowhere but do not fail");
    assert!(!w.get_ref().is_connected());
    assert_eq!(w.get_ref().undelivered_frames(), seq - sent_before_gap);

    // The restarted reader listens again; the output finds it.
    let second = UnixListener::bind(&path).expect("bind again");
    write_until_reader(&mut w, &mut seq, 2);
    for _ in 0..10 {
        write_seq(&mut w, seq, 0);
        seq += 1;
    }
    w.flush().expect("flush");
    let undelivered = w.get_ref().undelivered_frames();
    drop(w);
    let (conn, _) = second.accept().expect("accept");
    let (stage, got2) = read_stream(conn);
    assert_eq!(stage, Some(Stage::Enrich), "a fresh header first");
    assert_eq!(got1, (0..10).collect::<Vec<_>>());
    let resumed_at = got2[0];
    assert_eq!(got2, (resumed_at..seq).collect::<Vec<_>>());
    // Every frame between the two readers was counted, none twice.
    assert_eq!(undelivered, resumed_at - sent_before_gap);
    assert!(
        undelivered_frames() >= undelivered,
        "in the process-wide total"
    );
}

/// Reads the header and `n` frames, leaving the connection open.
fn read_stream_until(conn: &UnixStream, n: usize) -> (Option<Stage>, Vec<u64>) {
    let mut reader = FrameReader::new(conn);
    let header = reader.read_header().expect("header").expect("not empty");
    let mut seqs = Vec::new();
    while seqs.len() < n {
        let f = reader.next().expect("valid").expect("more frames");
        let Ok(frame::Stats(Ok(s))) = f.root().expect("root").which() else {
            panic!("not a stats frame");
        };
        seqs.push(s.get_counters().expect("counters").get(0).get_value());
    }
    (header.stage, seqs)
}

#[test]
fn accepting_output_cut_mid_frame_gives_the_next_reader_whole_frames() {
    accepting_output_survives(Redial::Accept);
}

#[test]
fn any_policy_accepts_again_on_a_listening_output() {
    // enrich and evaluate listening for their reader (the Kubernetes pod).
    accepting_output_survives(Redial::Any);
}

fn accepting_output_survives(redial: Redial) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = temp_socket(&dir);
    let first_path = path.clone();
    // The first reader takes the header and one frame, then hangs up while
    // the writer is deep in frames larger than the socket buffer.
    let first = std::thread::spawn(move || {
        let conn = connect_when_there(&first_path);
        read_stream_until(&conn, 1)
    });
    let mut w = FrameWriter::new(
        open_output(
            &Endpoint::Listen {
                path: path.clone(),
                mode: 0o600,
            },
            Stage::Capture,
            redial,
        )
        .expect("listen"),
    );
    w.write_header(Stage::Capture).expect("header");
    const BIG: usize = 300 << 10;
    let mut seq = 0;
    while w.get_ref().is_connected() {
        assert!(seq < 1000, "the writer never noticed the reader leave");
        write_seq(&mut w, seq, BIG);
        seq += 1;
    }
    let (stage, got1) = first.join().expect("first reader");
    assert_eq!(stage, Some(Stage::Capture));
    assert_eq!(got1, vec![0]);
    let lost_at = seq;

    let second_path = path.clone();
    let second = std::thread::spawn(move || read_stream(connect_when_there(&second_path)));
    write_until_reader(&mut w, &mut seq, 2);
    for _ in 0..3 {
        write_seq(&mut w, seq, BIG);
        seq += 1;
    }
    w.flush().expect("flush");
    let undelivered = w.get_ref().undelivered_frames();
    drop(w);
    let (stage, got2) = second.join().expect("second reader");
    assert_eq!(stage, Some(Stage::Capture), "a fresh header first");
    let resumed_at = got2[0];
    assert_eq!(got2, (resumed_at..seq).collect::<Vec<_>>());
    // Frames 1.. up to the cut were in the dead reader's buffer or dropped
    // here; every frame from the cut to the new reader was dropped here.
    assert!(undelivered >= resumed_at - lost_at, "{undelivered}");
    assert!(undelivered < resumed_at, "{undelivered}");
}

#[test]
fn other_endpoints_are_plain_streams() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = temp_socket(&dir);
    let listener = UnixListener::bind(&path).expect("bind");
    // capture's policy does not reconnect to unix: outputs.
    let out = open_output(&Endpoint::Unix(path), Stage::Capture, Redial::Accept).expect("connect");
    assert!(matches!(out, Output::Plain(_)));
    drop(listener);
}

#[test]
fn a_batch_cut_by_a_lost_reader_is_not_finished_to_the_next() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = temp_socket(&dir);
    let first_path = path.clone();
    let first = std::thread::spawn(move || connect_when_there(&first_path));
    let out = open_output(
        &Endpoint::Listen {
            path: path.clone(),
            mode: 0o600,
        },
        Stage::Enrich,
        Redial::Accept,
    )
    .expect("listen");
    let first = first.join().expect("first reader");
    let mut w = FrameWriter::new(out);
    w.write_header(Stage::Enrich).expect("header");
    w.flush().expect("flush");
    let lost_before = readers_lost();
    // The next reader is already waiting when the first one goes, so the
    // output could take it in the middle of the batch below.
    let second = UnixStream::connect(&path).expect("the second reader queues");
    drop(first);
    for seq in 0..5 {
        write_seq(&mut w, seq, 0);
    }
    // One batch, built before the writer could know the reader was gone:
    // none of it goes to the next reader.
    w.flush().expect("flush");
    assert_eq!(w.get_ref().undelivered_frames(), 5);
    assert!(readers_lost() > lost_before);
    write_seq(&mut w, 100, 0);
    w.flush().expect("flush");
    assert_eq!(w.get_ref().readers(), 2);
    drop(w);
    let (stage, got) = read_stream(second);
    assert_eq!(stage, Some(Stage::Enrich), "a fresh header first");
    assert_eq!(got, vec![100]);
}

/// An enrich writer that dialled a listener in `dir` and wrote its header,
/// beside the listener and the accepted reader's end.
fn connected_enrich_writer(
    dir: &tempfile::TempDir,
) -> (UnixListener, FrameWriter<Output>, UnixStream) {
    let path = temp_socket(dir);
    let listener = UnixListener::bind(&path).expect("bind");
    let mut w = FrameWriter::new(
        open_output(&Endpoint::Unix(path), Stage::Enrich, Redial::Connect).expect("connect"),
    );
    let (conn, _) = listener.accept().expect("accept");
    w.write_header(Stage::Enrich).expect("header");
    (listener, w, conn)
}

#[test]
fn frames_a_reader_died_without_reading_are_counted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (listener, mut w, conn) = connected_enrich_writer(&dir);
    // Small frames, all of which fit in the socket's buffer unread.
    for seq in 0..50 {
        write_seq(&mut w, seq, 0);
    }
    w.flush().expect("flush");
    // The reader dies without reading anything.
    drop(conn);
    drop(listener);
    for seq in 50..60 {
        write_seq(&mut w, seq, 0);
        w.flush().expect("writes go nowhere but do not fail");
    }
    assert!(!w.get_ref().is_connected());
    // The header and the 50 frames were in its socket when it died.
    assert_eq!(w.get_ref().lost_unread_frames(), 51);
    assert!(lost_unread_frames() >= 51, "in the process-wide total");
    // What came after is counted as undelivered, as before; nothing twice.
    assert_eq!(w.get_ref().undelivered_frames(), 10);
}

#[test]
fn frames_a_reader_read_are_not_counted_as_lost() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (listener, mut w, conn) = connected_enrich_writer(&dir);
    for seq in 0..20 {
        write_seq(&mut w, seq, 0);
        w.flush().expect("flush");
    }
    let (_, got) = read_stream_until(&conn, 20);
    assert_eq!(got.len(), 20);
    // The writer looks at the queue after each write: once the reader has
    // read, a write shows it empty.
    write_seq(&mut w, 20, 0);
    w.flush().expect("flush");
    drop(conn);
    drop(listener);
    for seq in 21..25 {
        write_seq(&mut w, seq, 0);
        w.flush().expect("writes go nowhere but do not fail");
    }
    // The socket reports its queue in buffer sizes, not bytes (a few
    // hundred bytes more per write), so a few frames before the last may
    // be counted; the 20 the reader took before that are not.
    let lost = w.get_ref().lost_unread_frames();
    assert!((1..20).contains(&lost), "{lost} counted as lost unread");
}
