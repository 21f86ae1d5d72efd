//! Each sink against a real receiver: stdout, file (with SIGHUP reopen),
//! syslog over UDP, TCP and a Unix datagram socket, a program, an HTTP
//! webhook.

mod common;

use std::time::Duration;

use common::receivers::{self, HttpReceiver};
use common::{eventually, file_lines, run_output, stderr, stdout_lines, Live, Stream, TestAlert};
use schema::Priority;

fn sample() -> Vec<u8> {
    Stream::new()
        .alert(&TestAlert {
            fields: &[
                ("proc.name", "cat", false),
                ("proc.pid", "42", true),
                ("container.id", "<NA>", false),
            ],
            tags: &["filesystem"],
            ..TestAlert::new("Read sensitive file", "Sensitive file opened (proc=cat)")
        })
        .alert(
            &TestAlert::new("Shell in container", "shell\x1b[2J spawned\nfake line")
                .priority(Priority::Critical),
        )
        .bytes()
}

#[test]
fn stdout_text_is_falco_lines_with_escaped_control_characters() {
    let out = run_output(&[], &sample());
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout_lines(&out),
        [
            "22:13:20.123456789: Warning Sensitive file opened (proc=cat)",
            "22:13:20.123456789: Critical shell\\x1b[2J spawned\\nfake line",
        ]
    );
}

#[test]
fn stdout_colour_when_asked() {
    let out = run_output(&["--colour", "always"], &sample());
    let lines = stdout_lines(&out);
    assert!(lines[0].contains("\x1b[33mWarning\x1b[0m"), "{lines:?}");
    // Colour codes are output's own; the alert's escape is still escaped.
    assert!(lines[1].contains("shell\\x1b[2J"), "{lines:?}");
}

#[test]
fn json_lines_have_falcos_shape() {
    let out = run_output(&["--json"], &sample());
    assert!(out.status.success(), "{}", stderr(&out));
    let lines = stdout_lines(&out);
    assert_eq!(lines.len(), 2);
    let v: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(v["rule"], "Read sensitive file");
    assert_eq!(v["priority"], "Warning");
    assert_eq!(v["source"], "syscall");
    assert_eq!(v["hostname"], "testhost");
    assert_eq!(v["time"], "2023-11-14T22:13:20.123456789Z");
    assert_eq!(v["tags"], serde_json::json!(["filesystem"]));
    assert_eq!(v["output_fields"]["proc.pid"], 42);
    assert!(v["output_fields"]["container.id"].is_null());
    // `output` is the text line, escaped as the text sink escapes it.
    let v: serde_json::Value = serde_json::from_str(&lines[1]).unwrap();
    assert_eq!(
        v["output"],
        "22:13:20.123456789: Critical shell\\x1b[2J spawned\\nfake line"
    );
}

#[test]
fn file_sink_appends_and_reopens_on_sighup() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alerts.json");
    std::fs::write(&path, "earlier line\n").unwrap();
    let p = path.to_str().unwrap();
    let mut live = Live::start(&["--file", p]);
    live.alert(&TestAlert::new("r", "first"));
    assert!(
        eventually(Duration::from_secs(15), || file_lines(&path).len() == 2),
        "{:?}",
        file_lines(&path)
    );
    // logrotate: move the file away, then SIGHUP.
    let rotated = dir.path().join("alerts.json.1");
    std::fs::rename(&path, &rotated).unwrap();
    // SAFETY: signalling our own child.
    unsafe { libc::kill(live.child.id() as i32, libc::SIGHUP) };
    std::thread::sleep(Duration::from_millis(300));
    live.alert(&TestAlert::new("r", "second"));
    let out = live.finish();
    assert!(out.status.success(), "{}", stderr(&out));
    let old = file_lines(&rotated);
    assert_eq!(old[0], "earlier line");
    assert!(old[1].contains(": Warning first\","), "{old:?}");
    let new = file_lines(&path);
    assert_eq!(new.len(), 1, "{new:?}");
    assert!(new[0].contains(": Warning second\","), "{new:?}");
}

#[test]
fn syslog_over_udp_is_rfc5424() {
    let l = receivers::udp_listener();
    let target = format!("udp:{}", l.local_addr().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let out = run_output(
        &[
            "--syslog",
            &target,
            "--syslog-facility",
            "local0",
            "--spool-dir",
            dir.path().to_str().unwrap(),
        ],
        &sample(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let msgs = receivers::recv_datagrams(&l, 2);
    assert_eq!(msgs.len(), 2, "{msgs:?}");
    // local0 (16) * 8 + warning (4) = 132; critical (2) = 130.
    assert!(
        msgs[0].starts_with("<132>1 2023-11-14T22:13:20.123456Z testhost kestrel "),
        "{}",
        msgs[0]
    );
    assert!(
        msgs[0].ends_with(" alert - 22:13:20.123456789: Warning Sensitive file opened (proc=cat)"),
        "{}",
        msgs[0]
    );
    assert!(msgs[1].starts_with("<130>1 "), "{}", msgs[1]);
    assert!(
        !msgs[1].contains('\n') && !msgs[1].contains('\x1b'),
        "{}",
        msgs[1]
    );
}

#[test]
fn syslog_over_tcp_uses_octet_counting() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let target = format!("tcp:{}", l.local_addr().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let args: Vec<String> = [
        "--syslog",
        &target,
        "--syslog-format",
        "json",
        "--spool-dir",
        dir.path().to_str().unwrap(),
    ]
    .map(String::from)
    .to_vec();
    let input = sample();
    let runner = std::thread::spawn(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run_output(&args, &input)
    });
    let msgs = receivers::recv_octet_counted(&l, 2);
    let out = runner.join().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(msgs.len(), 2, "{msgs:?}");
    let body = msgs[0].split_once(" alert - ").unwrap().1;
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(v["rule"], "Read sensitive file");
    assert!(msgs[1].starts_with("<10>1 "), "{}", msgs[1]);
}

#[test]
fn syslog_to_a_unix_datagram_socket() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("log.sock");
    let l = std::os::unix::net::UnixDatagram::bind(&sock).unwrap();
    l.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let spool = dir.path().join("spool");
    let out = run_output(
        &[
            "--syslog",
            sock.to_str().unwrap(),
            "--spool-dir",
            spool.to_str().unwrap(),
        ],
        &sample(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let mut buf = vec![0u8; 65536];
    let n = l.recv(&mut buf).unwrap();
    let msg = String::from_utf8_lossy(&buf[..n]);
    assert!(msg.starts_with("<12>1 "), "{msg}");
    assert!(msg.contains("Sensitive file opened"), "{msg}");
}

/// What a hostile process may name itself and its files: a screen clear,
/// a carriage return and line feed that start a forged alert, a
/// right-to-left override, NEL (a C1 line break) and a backslash.
const EVIL: &str =
    "ev\x1b[2Jil\rx\n00:00:00.000000000: Emergency forged\u{202e}txt.exe\u{85}c:\\tmp";

#[test]
fn hostile_event_data_is_one_inert_line_on_stdout_and_in_syslog() {
    let output = format!("proc={EVIL} file=/tmp/{EVIL}");
    let fields = [("proc.name", EVIL, false)];
    let input = Stream::new()
        .alert(&TestAlert {
            fields: &fields,
            ..TestAlert::new("Evil", &output)
        })
        .bytes();
    let shown =
        "ev\\x1b[2Jil\\rx\\n00:00:00.000000000: Emergency forged\\u{202e}txt.exe\\u{0085}c:\\\\tmp";

    let out = run_output(&[], &input);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        text,
        format!("22:13:20.123456789: Warning proc={shown} file=/tmp/{shown}\n")
    );

    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("log.sock");
    let l = std::os::unix::net::UnixDatagram::bind(&sock).unwrap();
    l.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let spool = dir.path().join("spool");
    for format in ["text", "json"] {
        let out = run_output(
            &[
                "--syslog",
                sock.to_str().unwrap(),
                "--syslog-format",
                format,
                "--spool-dir",
                spool.to_str().unwrap(),
            ],
            &input,
        );
        assert!(out.status.success(), "{}", stderr(&out));
        let mut buf = vec![0u8; 65536];
        let n = l.recv(&mut buf).unwrap();
        let msg = String::from_utf8(buf[..n].to_vec()).unwrap();
        assert_eq!(msg.lines().count(), 1, "{msg:?}");
        assert!(!msg.chars().any(render::needs_escape), "{msg:?}");
        // Escaped in text; in JSON, that escape's backslash escaped again.
        assert!(msg.contains("\\u{202e}txt.exe"), "{msg:?}");
    }
}

#[test]
fn program_receives_lines_and_is_restarted_when_it_dies() {
    let dir = tempfile::tempdir().unwrap();
    let sink = dir.path().join("got.txt");
    // Each instance handles one line, then exits: output must start it again.
    let cmd = format!(
        "read -r line && printf '%s\\n' \"$line\" >> {}",
        sink.display()
    );
    let spool = dir.path().join("spool");
    let mut live = Live::start(&[
        "--program",
        &cmd,
        "--program-format",
        "text",
        "--spool-dir",
        spool.to_str().unwrap(),
        "--backoff-min",
        "0.05",
    ]);
    for i in 0..3 {
        live.alert(&TestAlert::new("r", &format!("n={i}")));
        assert!(
            eventually(Duration::from_secs(15), || file_lines(&sink).len() == i + 1),
            "line {i}: {:?}",
            file_lines(&sink)
        );
        // Let that instance exit before the next alert comes.
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = live.finish();
    assert!(out.status.success(), "{}", stderr(&out));
    let lines = file_lines(&sink);
    assert_eq!(lines.len(), 3, "{lines:?}");
    for (i, l) in lines.iter().enumerate() {
        assert!(l.ends_with(&format!("Warning n={i}")), "{l}");
    }
}

#[test]
fn http_webhook_posts_falco_json_with_headers() {
    let rx = HttpReceiver::start("127.0.0.1:0", 200);
    let dir = tempfile::tempdir().unwrap();
    let out = run_output(
        &[
            "--http",
            &rx.url(),
            "--http-header",
            "Authorization: Bearer s3cret",
            "--spool-dir",
            dir.path().to_str().unwrap(),
        ],
        &sample(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let reqs = rx.requests.lock().unwrap().clone();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].method, "POST");
    assert_eq!(reqs[0].path, "/alerts");
    assert_eq!(reqs[0].header("authorization"), Some("Bearer s3cret"));
    assert_eq!(reqs[0].header("content-type"), Some("application/json"));
    let v = reqs[0].json();
    assert_eq!(v["rule"], "Read sensitive file");
    assert_eq!(v["output_fields"]["proc.name"], "cat");
    assert_eq!(reqs[1].json()["priority"], "Critical");
}

#[test]
fn http_refusals_are_counted_not_retried_forever() {
    let rx = HttpReceiver::start("127.0.0.1:0", 400);
    let dir = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let out = run_output(
        &[
            "--http",
            &rx.url(),
            "--spool-dir",
            dir.path().to_str().unwrap(),
        ],
        &sample(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(started.elapsed() < Duration::from_secs(5));
    // Each alert was tried once, refused, and skipped.
    assert_eq!(rx.count(), 2);
    assert!(
        stderr(&out).contains("refused: HTTP 400"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn http_redirects_are_not_followed() {
    let rx = HttpReceiver::start("127.0.0.1:0", 301);
    let dir = tempfile::tempdir().unwrap();
    let out = run_output(
        &[
            "--http",
            &rx.url(),
            "--spool-dir",
            dir.path().to_str().unwrap(),
        ],
        &sample(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(rx.count(), 2);
    assert!(
        stderr(&out).contains("redirects are not followed"),
        "{}",
        stderr(&out)
    );
}
