//! Container metadata from a Docker-compatible API over a Unix socket, with a
//! fake API server: the first events of a new container wait (bounded) for
//! it and carry it; other threads are not held; a slow, garbage or missing
//! runtime socket costs a warning and a marked event, never the stream.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::*;
use enrich::runtime::Sockets;
use schema::Kind;
use serde_json::Value;

const ID: &str = "4f2a9c1b7d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8";

/// How the fake API answers an inspect request.
#[derive(Clone, Copy)]
enum Answer {
    Inspect {
        delay_ms: u64,
    },
    Garbage,
    /// Inspect at once, and announce the container's start on /events.
    Announce,
    /// A `docker run --rm` container: /events reports it created and, soon
    /// after, destroyed; inspect answers once, then 404 (it is gone).
    CreatedThenGone,
    /// Inspect at once, with `count` more labels of `bytes` bytes each.
    ManyLabels {
        count: usize,
        bytes: usize,
    },
}

fn inspect_json() -> String {
    inspect_json_with("")
}

/// The inspect document, with `extra` labels (`"key":"value",` each) first.
fn inspect_json_with(extra: &str) -> String {
    format!(
        r#"{{"Id":"{ID}","Name":"/web-1","Image":"sha256:aaaabbbbccccdddd","Path":"/bin/sh","Args":["-c","sleep 1"],
        "Config":{{"Image":"localhost/test:1","Labels":{{{extra}"io.kubernetes.pod.name":"pod-a","io.kubernetes.pod.namespace":"ns-a","tier":"web"}}}},
        "HostConfig":{{"Privileged":true,"NetworkMode":"none"}},"Mounts":[],"State":{{"StartedAt":"2026-01-01T00:00:00Z"}}}}"#
    )
}

fn fake_api(answer: Answer) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("docker.sock");
    let listener = UnixListener::bind(&path).unwrap();
    let inspected = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            let inspected = inspected.clone();
            std::thread::spawn(move || {
                let mut line = String::new();
                let mut r = BufReader::new(conn.try_clone().unwrap());
                if r.read_line(&mut line).is_err() {
                    return;
                }
                // Read the rest of the request: closing with unread bytes
                // would reset the connection under the client's read.
                let mut rest = String::new();
                while r.read_line(&mut rest).is_ok_and(|n| n > 0) && rest != "\r\n" {
                    rest.clear();
                }
                if line.starts_with("GET /events") {
                    // An event stream that stays open, quiet but for the
                    // start of ID when asked to announce it.
                    let _ =
                        conn.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
                    let actions: &[&str] = match answer {
                        Answer::Announce => &["start"],
                        Answer::CreatedThenGone => &["create", "destroy"],
                        _ => &[],
                    };
                    for action in actions {
                        let ev = format!(
                            "{{\"Type\":\"container\",\"Action\":\"{action}\",\"Actor\":{{\"ID\":\"{ID}\"}}}}\n"
                        );
                        let _ = write!(conn, "{:x}\r\n{ev}\r\n", ev.len());
                        std::thread::sleep(Duration::from_millis(100));
                    }
                    std::thread::sleep(Duration::from_secs(30));
                    return;
                }
                match answer {
                    Answer::ManyLabels { count, bytes } => {
                        let value = "v".repeat(bytes);
                        let extra: String = (0..count)
                            .map(|i| format!("\"label-{i:05}\":\"{value}\","))
                            .collect();
                        let body = inspect_json_with(&extra);
                        let _ = write!(
                            conn,
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                            body.len()
                        );
                    }
                    Answer::Announce | Answer::Inspect { .. } | Answer::CreatedThenGone => {
                        let delay_ms = match answer {
                            Answer::Inspect { delay_ms } => delay_ms,
                            _ => 0,
                        };
                        std::thread::sleep(Duration::from_millis(delay_ms));
                        let n = inspected.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        let gone = matches!(answer, Answer::CreatedThenGone) && n > 0;
                        let body = if line.contains(ID) && !gone {
                            inspect_json()
                        } else {
                            String::new()
                        };
                        let status = if body.is_empty() {
                            "404 Not Found"
                        } else {
                            "200 OK"
                        };
                        let _ = write!(
                            conn,
                            "HTTP/1.1 {status}\r\nContent-Length: {}\r\n\r\n{body}",
                            body.len()
                        );
                    }
                    Answer::Garbage => {
                        let _ = conn
                            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n{garbage!");
                    }
                }
            });
        }
    });
    (dir, path)
}

/// A host shell, then a container process (thread 300) that opens a file,
/// interleaved with host events of thread 100.
fn stream() -> Vec<u8> {
    let mut st = Stream::new();
    st.snap(&Snap::new(100, 1, "bash"));
    st.ev(Kind::Clone, 100, 100, 300, &[P::Uint(0x11)]);
    let cg = format!("0::/docker/{ID}");
    let mut exec = vec![
        b("/bin/sh"),
        b("/bin/sh"),
        list(&["sh", "-c", "cat /etc/shadow"]),
        P::Uint(0),
        b("/"),
    ];
    exec.extend([0u64, 0, 0, 0, u32::MAX as u64, 0].map(P::Uint));
    exec.extend([1i64, 1, 1, 1, 0].map(P::Int));
    exec.extend([b("sh"), P::List(vec![cg.into_bytes()])]);
    st.ev(Kind::Execve, 300, 300, 0, &exec);
    st.ev(Kind::Close, 100, 100, 0, &[P::Int(5)]);
    st.ev(
        Kind::Open,
        300,
        300,
        3,
        &[
            b("/etc/shadow"),
            P::Uint(0),
            P::Uint(0),
            P::Uint(0),
            P::Uint(0),
        ],
    );
    st.ev(Kind::Close, 100, 100, 0, &[P::Int(6)]);
    st.bytes()
}

/// Input that pauses after its first `split` bytes, as a live stream would.
struct Paused {
    data: Vec<u8>,
    pos: usize,
    split: usize,
    pause: Duration,
}

impl std::io::Read for Paused {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pos == self.split && self.pause > Duration::ZERO {
            std::thread::sleep(self.pause);
            self.pause = Duration::ZERO;
        }
        let end = if self.pos < self.split {
            self.split
        } else {
            self.data.len()
        };
        let n = buf.len().min(end - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

fn run_with(sockets: Sockets, wait: Duration) -> (Vec<Value>, Vec<Value>, Duration) {
    let (_d, pw, gr) = userdb();
    let opts = enrich::Options {
        passwd: pw,
        group: gr,
        metadata_wait: wait,
        ..enrich::Options::default()
    };
    let mut out = Vec::new();
    let mut start = |tx| enrich::runtime::start(&sockets, tx);
    let t0 = Instant::now();
    enrich::run::run(std::io::Cursor::new(stream()), &mut out, &opts, &mut start)
        .expect("enrich failed");
    (events(&out), frames(&out), t0.elapsed())
}

fn kinds(ev: &[Value]) -> Vec<String> {
    ev.iter()
        .map(|e| format!("{}:{}", s(e, &["kind"]), s(e, &["tid"])))
        .collect()
}

fn counter(frames: &[Value], name: &str) -> u64 {
    let last = frames
        .iter()
        .rev()
        .find(|f| f.get("stats").is_some())
        .unwrap();
    last["stats"]["counters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap()["value"]
        .as_u64()
        .unwrap()
}

#[test]
fn first_events_of_a_new_container_carry_its_metadata() {
    let (_d, sock) = fake_api(Answer::Inspect { delay_ms: 50 });
    let (ev, frames, _) = run_with(
        Sockets {
            docker: vec![sock],
            podman: vec![],
            cri: vec![],
        },
        Duration::from_secs(2),
    );
    // Host events are not held behind the container's; the container's keep
    // their order, containerStart first.
    assert_eq!(
        kinds(&ev),
        [
            "procSnapshot:100",
            "clone:100",
            "close:100",
            "close:100",
            "containerStart:300",
            "execve:300",
            "open:300"
        ]
    );
    for e in &ev[4..] {
        assert_eq!(s(e, &["container", "metadata"]), "complete", "{e}");
        assert_eq!(s(e, &["container", "id"]), &ID[..12]);
        assert_eq!(s(e, &["container", "name"]), "web-1");
        assert_eq!(s(e, &["container", "image"]), "localhost/test:1");
        assert_eq!(s(e, &["container", "imageRepository"]), "localhost/test");
        assert_eq!(s(e, &["container", "imageTag"]), "1");
        assert_eq!(s(e, &["container", "privileged"]), "true");
        assert_eq!(s(e, &["container", "runtime"]), "docker");
        assert_eq!(s(e, &["k8s", "podName"]), "pod-a");
        assert_eq!(s(e, &["k8s", "namespace"]), "ns-a");
        let labels = e["container"]["labels"].as_array().unwrap();
        assert!(labels
            .iter()
            .any(|l| l["key"] == "tier" && l["value"] == "web"));
    }
    assert_eq!(s(&ev[6], &["fd", "name"]), "/etc/shadow");
    assert_eq!(s(&ev[6], &["thread", "name"]), "sh");
    assert_eq!(counter(&frames, "meta_hits"), 1);
    assert_eq!(counter(&frames, "held_events"), 3);
    assert_eq!(counter(&frames, "meta_timeouts"), 0);
}

#[test]
fn a_slow_runtime_costs_at_most_the_bounded_wait() {
    let (_d, sock) = fake_api(Answer::Inspect { delay_ms: 1500 });
    let (ev, frames, took) = run_with(
        Sockets {
            docker: vec![sock],
            podman: vec![],
            cri: vec![],
        },
        Duration::from_millis(100),
    );
    assert!(took < Duration::from_millis(1200), "took {took:?}");
    assert_eq!(ev.len(), 7);
    for e in &ev[4..] {
        assert_eq!(s(e, &["container", "metadata"]), "timedOut", "{e}");
        assert_eq!(s(e, &["container", "id"]), &ID[..12]);
    }
    assert_eq!(counter(&frames, "meta_timeouts"), 3);
}

#[test]
fn a_garbage_answer_marks_events_failed_and_they_flow() {
    let (_d, sock) = fake_api(Answer::Garbage);
    let (ev, _, _) = run_with(
        Sockets {
            docker: vec![sock],
            podman: vec![],
            cri: vec![],
        },
        Duration::from_secs(2),
    );
    assert_eq!(ev.len(), 7);
    for e in &ev[4..] {
        assert_eq!(s(e, &["container", "metadata"]), "failed", "{e}");
    }
}

#[test]
fn a_missing_socket_marks_events_failed_and_they_flow() {
    let sock = PathBuf::from("/nonexistent/enrich-test/docker.sock");
    let (ev, _, took) = run_with(
        Sockets {
            docker: vec![],
            podman: vec![sock],
            cri: vec![],
        },
        Duration::from_secs(2),
    );
    assert!(took < Duration::from_secs(1), "took {took:?}");
    assert_eq!(ev.len(), 7);
    assert_eq!(s(&ev[6], &["container", "metadata"]), "failed");
    assert_eq!(s(&ev[6], &["container", "id"]), &ID[..12]);
}

/// Runs enrich against a fake API answering `answer`, on an input that
/// gives the header and the host shell, then pauses for `pause` before the
/// container's events: the runtime's event stream is read meanwhile.
fn run_paused(answer: Answer, pause: Duration) -> (Vec<Value>, Vec<Value>) {
    let (_d, sock) = fake_api(answer);
    let sockets = Sockets {
        docker: vec![sock],
        podman: vec![],
        cri: vec![],
    };
    let (_u, pw, gr) = userdb();
    let opts = enrich::Options {
        passwd: pw,
        group: gr,
        ..enrich::Options::default()
    };
    let split = {
        let mut st = Stream::new();
        st.snap(&Snap::new(100, 1, "bash"));
        st.bytes().len()
    };
    let input = Paused {
        data: stream(),
        pos: 0,
        split,
        pause,
    };
    let mut out = Vec::new();
    let mut start = |tx| enrich::runtime::start(&sockets, tx);
    enrich::run::run(input, &mut out, &opts, &mut start).expect("enrich failed");
    (events(&out), frames(&out))
}

#[test]
fn the_runtime_event_stream_prefetches_metadata() {
    // The container's events only after the runtime has had time to
    // announce its start.
    let (ev, frames) = run_paused(Answer::Announce, Duration::from_millis(500));
    // Nothing held: the stream's own order.
    assert_eq!(
        kinds(&ev),
        [
            "procSnapshot:100",
            "clone:100",
            "containerStart:300",
            "execve:300",
            "close:100",
            "open:300",
            "close:100"
        ]
    );
    for e in ev.iter().filter(|e| e["tid"] == 300) {
        assert_eq!(s(e, &["container", "metadata"]), "complete", "{e}");
        assert_eq!(s(e, &["container", "name"]), "web-1");
    }
    assert_eq!(
        counter(&frames, "held_events"),
        0,
        "the metadata was there before the first event"
    );
    assert!(counter(&frames, "meta_hits") >= 1);
}

#[test]
fn a_container_gone_before_its_events_are_read_keeps_its_metadata() {
    // `docker run --rm`: the runtime reports the container created, then
    // destroyed, all before enrich reads its events; inspect works only
    // before the removal. The pause runs past enrich's next stats tick
    // (1 s), where a removal is applied.
    let (ev, _) = run_paused(Answer::CreatedThenGone, Duration::from_millis(1_500));
    let theirs: Vec<&Value> = ev.iter().filter(|e| e["tid"] == 300).collect();
    assert!(!theirs.is_empty());
    for e in theirs {
        assert_eq!(s(e, &["container", "metadata"]), "complete", "{e}");
        assert_eq!(s(e, &["container", "privileged"]), "true", "{e}");
    }
}

fn many_labels(count: usize, bytes: usize) -> (Vec<Value>, Vec<Value>) {
    let (_d, sock) = fake_api(Answer::ManyLabels { count, bytes });
    let (ev, frames, _) = run_with(
        Sockets {
            docker: vec![sock],
            podman: vec![],
            cri: vec![],
        },
        Duration::from_secs(2),
    );
    (ev, frames)
}

#[test]
fn a_container_with_thousands_of_labels_is_cut_to_the_limits() {
    use enrich::limits::{MAX_CONTAINER_LABELS, MAX_CONTAINER_META_BYTES, MAX_HTTP_BODY_BYTES};
    // 4,000 labels of 200 bytes: an answer under the read limit.
    let (count, bytes) = (4_000, 200);
    assert!(count * (bytes + 16) < MAX_HTTP_BODY_BYTES);
    let (ev, frames) = many_labels(count, bytes);
    assert_eq!(ev.len(), 7, "every event goes out");
    for e in ev.iter().filter(|e| e["tid"] == 300) {
        assert_eq!(s(e, &["container", "metadata"]), "complete", "{e}");
        assert_eq!(s(e, &["container", "name"]), "web-1");
        // The pod's labels are kept first, whatever the others.
        assert_eq!(s(e, &["k8s", "podName"]), "pod-a");
        let labels = e["container"]["labels"].as_array().unwrap();
        assert!(labels.len() <= MAX_CONTAINER_LABELS, "{}", labels.len());
        let text: usize = labels
            .iter()
            .map(|l| s(l, &["key"]).len() + s(l, &["value"]).len())
            .sum();
        assert!(text <= MAX_CONTAINER_META_BYTES);
    }
    assert!(counter(&frames, "meta_cut") >= (count + 3 - MAX_CONTAINER_LABELS) as u64);
    assert_eq!(counter(&frames, "drops.frame_too_large"), 0);
}

#[test]
fn an_inspect_answer_over_the_read_limit_is_refused_and_events_flow() {
    use enrich::limits::MAX_HTTP_BODY_BYTES;
    // 20,000 labels of 200 bytes: 4.3 MB, over the read limit, and once
    // more than a frame may hold.
    let (count, bytes) = (20_000, 200);
    assert!(count * bytes > MAX_HTTP_BODY_BYTES);
    let (ev, frames) = many_labels(count, bytes);
    assert_eq!(ev.len(), 7, "every event goes out");
    for e in ev.iter().filter(|e| e["tid"] == 300) {
        assert_eq!(s(e, &["container", "metadata"]), "failed", "{e}");
        assert_eq!(s(e, &["container", "id"]), &ID[..12]);
        assert!(e["container"].get("labels").is_none(), "{e}");
    }
    assert_eq!(counter(&frames, "meta_misses"), 1);
    assert_eq!(counter(&frames, "drops.frame_too_large"), 0);
}

/// Metadata handed to the engine directly, not through a runtime client:
/// the engine cuts it too before any part carries it.
#[test]
fn metadata_that_reaches_the_engine_uncut_is_cut_there() {
    use enrich::limits::MAX_CONTAINER_LABELS;
    let (_d, pw, gr) = userdb();
    let opts = enrich::Options {
        passwd: pw,
        group: gr,
        ..enrich::Options::default()
    };
    let mut engine = enrich::Enricher::new(&opts, None);
    let meta = enrich::tables::containers::ContainerMeta {
        name: "web".into(),
        labels: (0..20_000)
            .map(|i| (format!("label-{i:05}"), "v".repeat(200)))
            .collect(),
        ..Default::default()
    };
    let out = drive(&stream(), &mut engine, |i, engine, w| {
        if i == 0 {
            let u = enrich::MetaUpdate::Fetched {
                full_id: ID.into(),
                result: Ok(Box::new(meta.clone())),
            };
            engine.on_update(u, w).unwrap();
        }
    });
    let ev = events(&out);
    let theirs: Vec<&Value> = ev.iter().filter(|e| e["tid"] == 300).collect();
    assert!(!theirs.is_empty());
    for e in theirs {
        let labels = e["container"]["labels"].as_array().unwrap();
        assert!(!labels.is_empty() && labels.len() <= MAX_CONTAINER_LABELS);
    }
    assert!(counter(&frames(&out), "meta_cut") >= 20_000 - MAX_CONTAINER_LABELS as u64);
}
