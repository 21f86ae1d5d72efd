//! Delivery that loses nothing: alerts wait in the spool while the
//! destination is down, across an output restart, and arrive in order; a
//! hanging destination times out without holding back the other sinks; a
//! full spool drops its oldest alerts and says so.
//!
//! The guarantee is at-least-once: an alert is removed from the spool only
//! after the destination answered 2xx, so a crash (or a timeout after the
//! receiver got the request) can send it again; a clean run, as here, sends
//! each exactly once.

mod common;

use std::time::{Duration, Instant};

use common::receivers::{free_port, HttpReceiver};
use common::{eventually, file_lines, number_of, run_output, stderr, Live, Stream, TestAlert};

#[test]
fn alerts_survive_a_dead_receiver_and_an_output_restart_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().to_str().unwrap();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/alerts");
    let args = [
        "--http",
        &url,
        "--spool-dir",
        spool,
        "--timeout",
        "1",
        "--backoff-max",
        "0.2",
        "--drain-timeout",
        "1",
    ];

    // 1. The receiver is down: output gives up after its drain timeout and
    //    leaves the alerts spooled.
    let out = run_output(&args, &Stream::new().numbered("R", 0..50).bytes());
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("50 alerts not yet delivered"),
        "{}",
        stderr(&out)
    );

    // 2. The receiver is back and output restarts with more alerts: the
    //    spooled ones come first, then the new ones, all in order.
    let rx = HttpReceiver::start(&format!("127.0.0.1:{port}"), 200);
    let mut args2 = args.to_vec();
    let last = args2.len() - 1;
    args2[last] = "10";
    let out = run_output(&args2, &Stream::new().numbered("R", 50..100).bytes());
    assert!(out.status.success(), "{}", stderr(&out));
    let got: Vec<u32> = rx
        .bodies()
        .iter()
        .map(|v| number_of(v["output"].as_str().unwrap()).unwrap())
        .collect();
    assert_eq!(got, (0..100).collect::<Vec<_>>());

    // 3. Nothing is left for a third run.
    let out = run_output(&args2, &Stream::new().bytes());
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(rx.count(), 100);
}

#[test]
fn alerts_wait_while_the_receiver_is_down_within_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/");
    let mut live = Live::start(&[
        "--http",
        &url,
        "--spool-dir",
        dir.path().to_str().unwrap(),
        "--timeout",
        "1",
        "--backoff-max",
        "0.2",
    ]);
    for i in 0..10 {
        live.alert(&TestAlert::new("R", &format!("n={i}")));
    }
    std::thread::sleep(Duration::from_millis(500));
    let rx = HttpReceiver::start(&format!("127.0.0.1:{port}"), 200);
    assert!(
        eventually(Duration::from_secs(15), || rx.count() == 10),
        "got {}",
        rx.count()
    );
    for i in 10..15 {
        live.alert(&TestAlert::new("R", &format!("n={i}")));
    }
    let out = live.finish();
    assert!(out.status.success(), "{}", stderr(&out));
    let got: Vec<u32> = rx
        .bodies()
        .iter()
        .map(|v| number_of(v["output"].as_str().unwrap()).unwrap())
        .collect();
    assert_eq!(got, (0..15).collect::<Vec<_>>());
}

#[test]
fn a_hanging_receiver_times_out_and_does_not_block_other_sinks() {
    let rx = HttpReceiver::start("127.0.0.1:0", 0);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("alerts.json");
    let spool = dir.path().join("spool");
    let timeout = Duration::from_secs(4);
    let mut live = Live::start(&[
        "--http",
        &rx.url(),
        "--file",
        file.to_str().unwrap(),
        "--spool-dir",
        spool.to_str().unwrap(),
        "--timeout",
        "4",
        "--drain-timeout",
        "1",
    ]);
    let t0 = Instant::now();
    for i in 0..3 {
        live.alert(&TestAlert::new("R", &format!("n={i}")));
    }
    // The file sink delivers while the first HTTP request still hangs: had
    // it waited for the HTTP sink, it would take the whole timeout.
    assert!(
        eventually(timeout - Duration::from_secs(1), || file_lines(&file).len()
            == 3),
        "{:?}",
        file_lines(&file)
    );
    assert!(t0.elapsed() < timeout);
    let out = live.finish();
    assert!(out.status.success(), "{}", stderr(&out));
    // The request's timeout and the drain bound the run.
    assert!(t0.elapsed() < Duration::from_secs(15), "{:?}", t0.elapsed());
    let err = stderr(&out);
    assert!(
        err.to_lowercase().contains("timed out") || err.to_lowercase().contains("timeout"),
        "{err}"
    );
    assert!(err.contains("3 alerts not yet delivered"), "{err}");
}

#[test]
fn a_full_spool_drops_the_oldest_and_an_alert_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().to_str().unwrap();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/");
    // The smallest spool is 2 MiB; ~600-byte records overflow it well
    // before 6,000.
    let total = 6_000u32;
    let pad = "x".repeat(400);
    let mut input = Stream::new();
    for i in 0..total {
        let out = format!("n={i}");
        input = input.alert(&TestAlert {
            fields: &[("pad", &pad, false)],
            ..TestAlert::new("R", &out)
        });
    }
    let args = [
        "--http",
        &url,
        "--spool-dir",
        spool,
        "--spool-bytes",
        "1",
        "--timeout",
        "1",
        "--drain-timeout",
        "0.5",
    ];
    let out = run_output(&args, &input.bytes());
    assert!(out.status.success(), "{}", stderr(&out));

    let rx = HttpReceiver::start(&format!("127.0.0.1:{port}"), 200);
    let mut args2 = args.to_vec();
    let last = args2.len() - 1;
    args2[last] = "30";
    let out = run_output(&args2, &Stream::new().bytes());
    assert!(out.status.success(), "{}", stderr(&out));
    let bodies = rx.bodies();
    let nums: Vec<u32> = bodies
        .iter()
        .filter_map(|v| number_of(v["output"].as_str()?))
        .collect();
    let notice = bodies
        .iter()
        .find(|v| v["rule"] == "Kestrel internal: alerts dropped")
        .expect("an alert reports the loss");
    let dropped: u32 = notice["output_fields"]["n_dropped"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(dropped > 0);
    // What survived is the newest alerts, in order, and with the dropped
    // ones accounts for every alert.
    assert_eq!(nums.len() as u32 + dropped, total);
    assert_eq!(nums, (dropped..total).collect::<Vec<_>>());
}
