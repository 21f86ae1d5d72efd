//! output's `subscribe` over a real control socket: a subscriber receives
//! exactly the alerts its filter selects, in order; a slow subscriber
//! never slows the offering side (its excess is dropped and counted); a
//! subscriber that leaves is forgotten.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use schema::kestrel_capnp::frame;
use schema::{Priority, Stage};
use stage::control::client;
use stage::control::feed::{self, AlertFeed, Filter};
use stage::control::StageStatus;

/// Offering this many alerts to a stuck subscriber must stay well under
/// this: offering never waits for a subscriber.
const OFFER_BUDGET: Duration = Duration::from_secs(2);

fn alert_frame(rule: &str, tags: &[&str], priority: Priority, n: u64) -> Vec<u8> {
    let mut m = capnp::message::Builder::new_default();
    {
        let mut a = m.init_root::<frame::Builder<'_>>().init_alert();
        a.set_rule(rule);
        a.set_priority(priority);
        a.set_output(format!("alert {n}").as_str());
        a.set_time_ns(n);
        let mut t = a.init_tags(tags.len() as u32);
        for (i, tag) in tags.iter().enumerate() {
            t.set(i as u32, *tag);
        }
    }
    let mut out = Vec::new();
    capnp::serialize::write_message(&mut out, &m).expect("in-memory write");
    out
}

fn stats_frame() -> Vec<u8> {
    let mut m = capnp::message::Builder::new_default();
    m.init_root::<frame::Builder<'_>>()
        .init_stats()
        .set_stage(Stage::Evaluate);
    let mut out = Vec::new();
    capnp::serialize::write_message(&mut out, &m).expect("in-memory write");
    out
}

fn serve(
    dir: &Path,
) -> (
    std::path::PathBuf,
    Arc<AlertFeed>,
    stage::control::ControlThread,
) {
    let path = dir.join("out.sock");
    let status = StageStatus::new(Stage::Output, "output", "0.0.0");
    let f = AlertFeed::new();
    let t = stage::control::spawn(Some(&path), feed::bootstrap(status, f.clone()), vec![])
        .expect("control socket binds");
    (path, f, t)
}

fn wait_until(what: &str, f: impl Fn() -> bool) {
    let until = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn filters() {
    assert_eq!(Filter::parse("").unwrap(), Filter::All);
    assert_eq!(Filter::parse("tag:sh*").unwrap(), Filter::Tag("sh*".into()));
    assert_eq!(
        Filter::parse("priority:warning").unwrap(),
        Filter::Priority(Priority::Warning)
    );
    assert!(Filter::parse("priority:loud").is_err());
    assert!(feed::wildcard("Shell*", "Shell in container"));
    assert!(!feed::wildcard("Shell", "Shell in container"));
}

#[test]
fn subscriber_gets_what_its_filter_selects_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, f, _t) = serve(dir.path());
    let p = path.clone();
    let sub = std::thread::spawn(move || {
        let mut got = Vec::new();
        let counts = client::block_on(client::subscribe(&p, "tag:sh*", |v| {
            got.push(v["output"].as_str().unwrap_or("?").to_string());
            got.len() < 3
        }))
        .expect("runtime")
        .expect("subscription");
        (got, counts)
    });
    wait_until("the subscriber", || f.subscribers() == 1);
    for n in 0..6 {
        let tags: &[&str] = if n % 2 == 0 { &["shell"] } else { &["network"] };
        f.offer(&alert_frame("Some rule", tags, Priority::Notice, n));
        // Not alerts: ignored, never sent.
        f.offer(&stats_frame());
        f.offer(b"\x00\x01garbage");
    }
    let (got, counts) = sub.join().expect("subscriber");
    assert_eq!(got, ["alert 0", "alert 2", "alert 4"]);
    assert_eq!(counts, Some((3, 0)));
    // Gone subscribers are forgotten at the next offer.
    wait_until("the subscriber to be forgotten", || {
        f.offer(&alert_frame("x", &["shell"], Priority::Notice, 99));
        f.subscribers() == 0
    });
}

#[test]
fn slow_subscriber_never_blocks_the_offering_side() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, f, _t) = serve(dir.path());
    let p = path.clone();
    let sub = std::thread::spawn(move || {
        let mut seen = 0u64;
        client::block_on(client::subscribe(&p, "", |_| {
            // A subscriber far slower than the alerts: its whole thread
            // (and so its socket reading) stalls.
            std::thread::sleep(Duration::from_millis(2));
            seen += 1;
            seen < 100
        }))
        .expect("runtime")
        .expect("subscription")
    });
    wait_until("the subscriber", || f.subscribers() == 1);
    let offered = 3 * feed::SUBSCRIBER_BACKLOG as u64;
    let frames: Vec<Vec<u8>> = (0..offered)
        .map(|n| alert_frame("Busy", &[], Priority::Warning, n))
        .collect();
    let started = Instant::now();
    for fr in &frames {
        f.offer(fr);
    }
    let took = started.elapsed();
    assert!(
        took < OFFER_BUDGET,
        "offering {offered} alerts took {took:?}"
    );
    let (sent, dropped) = sub.join().expect("subscriber").expect("counts answered");
    assert!(sent >= 100, "sent {sent}");
    assert!(dropped > 0, "a stalled subscriber must drop, not hold back");
    assert!(
        sent + dropped <= offered,
        "sent {sent} + dropped {dropped} > {offered}"
    );
}
