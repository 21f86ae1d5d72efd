//! The control socket over real Unix sockets: the generic methods answer,
//! garbage and half-sent calls leave the server serving, and a peer of
//! another uid is refused by the `SO_PEERCRED` check even when the file
//! mode would let it in.

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use capnp_rpc::rpc_capnp::message;
use schema::Stage;
use stage::control::client::{self, Generic};
use stage::control::{generic, StageStatus};

/// The uid and gid of `nobody` on Debian.
const NOBODY: u32 = 65534;

fn start(dir: &Path) -> (PathBuf, Arc<StageStatus>, stage::control::ControlThread) {
    let path = dir.join("ctl.sock");
    let status = StageStatus::new(Stage::Enrich, "enrich", "9.9.9");
    status.set_input_connected(true);
    status.publish_counters(&[("events".into(), 42), ("drops".into(), 1)]);
    status.record_error("disk full");
    let t = stage::control::spawn(Some(&path), generic::bootstrap(status.clone()), vec![])
        .expect("control socket binds");
    (path, status, t)
}

/// The bytes of a well-formed RPC `Bootstrap` message.
fn bootstrap_bytes() -> Vec<u8> {
    let mut m = capnp::message::Builder::new_default();
    m.init_root::<message::Builder<'_>>()
        .init_bootstrap()
        .set_question_id(0);
    let mut out = Vec::new();
    capnp::serialize::write_message(&mut out, &m).expect("in-memory write");
    out
}

/// Sends a Bootstrap and reports whether any answer came back before the
/// server closed the connection.
/// Whether a call on a fresh connection gets an answer. Only a failed
/// `connect` is an error: a server that refuses the peer closes the
/// connection, which the client may see as EPIPE on its write or ECONNRESET
/// on its read, depending on timing; both mean "not answered".
fn answered(path: &Path) -> std::io::Result<bool> {
    let mut s = UnixStream::connect(path)?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    if s.write_all(&bootstrap_bytes()).is_err() {
        return Ok(false);
    }
    let mut buf = [0u8; 64];
    Ok(matches!(s.read(&mut buf), Ok(n) if n > 0))
}

#[test]
fn generic_methods_answer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, status, _t) = start(dir.path());
    let mode = std::fs::metadata(&path)
        .expect("socket")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "control socket mode");

    let h = client::block_on(client::call_generic(&path, Generic::Health))
        .expect("runtime")
        .expect("health");
    assert_eq!(h["stage"], "enrich");
    assert_eq!(h["input_connected"], true);
    assert_eq!(h["output_connected"], false);
    assert_eq!(h["last_error"], "disk full");
    assert_eq!(h["up_since_ns"], status.up_since_ns);
    assert_eq!(h["pid"], std::process::id());

    let s = client::block_on(client::call_generic(&path, Generic::Stats))
        .expect("runtime")
        .expect("stats");
    assert_eq!(s["counters"]["events"], 42);
    assert_eq!(s["counters"]["drops"], 1);

    let text = client::run_generic(&path, Generic::Version, false).expect("version");
    assert_eq!(
        text,
        format!(
            "enrich 9.9.9 (format {}.{})",
            schema::kestrel_capnp::FORMAT_MAJOR,
            schema::kestrel_capnp::FORMAT_MINOR
        )
    );
    let json = client::run_generic(&path, Generic::Stats, true).expect("stats json");
    let v: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
    assert_eq!(v["counters"]["events"], 42);
}

#[test]
fn garbage_and_half_calls_do_not_disturb_the_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, _status, _t) = start(dir.path());
    let whole = bootstrap_bytes();
    // More bad connections than the server serves at once: if a bad one
    // kept its slot, the good call at the end would be refused.
    for i in 0..3 * stage::control::server::MAX_CONNECTIONS {
        let mut s = UnixStream::connect(&path).expect("connect");
        match i % 3 {
            // Not Cap'n Proto at all, including a segment table claiming
            // more than the message limit.
            0 => {
                let _ = s.write_all(&[0xff; 512]);
            }
            // A call cut off in the middle.
            1 => {
                let _ = s.write_all(&whole[..whole.len() / 2]);
            }
            // A whole call whose caller leaves before the answer.
            _ => {
                let _ = s.write_all(&whole);
            }
        }
        drop(s);
    }
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        answered(&path).expect("connect"),
        "a good bootstrap is answered"
    );
    let h = client::block_on(client::call_generic(&path, Generic::Health))
        .expect("runtime")
        .expect("health after garbage");
    assert_eq!(h["stage"], "enrich");
}

#[test]
#[ignore = "needs root; tests/run.sh runs it"]
fn other_uid_is_refused_even_with_an_open_mode() {
    // SAFETY: geteuid only reads the process's credentials.
    let root = unsafe { libc::geteuid() } == 0;
    assert!(root, "this test needs root (it runs a client as `nobody`)");
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, _status, _t) = start(dir.path());
    // Open everything up: only the uid check can refuse now.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
        .expect("chmod dir");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).expect("chmod sock");

    assert!(answered(&path).expect("root connects"), "root is served");

    assert_eq!(
        client::answers_as(&path, NOBODY, NOBODY).expect("fork"),
        client::AsUser::Refused,
        "uid {NOBODY}, with the socket at mode 0666, must be refused by the SO_PEERCRED check"
    );
    // The refusal disturbed nothing.
    assert!(
        answered(&path).expect("root connects"),
        "root is still served"
    );
}

#[test]
fn ctl_main_exit_codes() {
    use stage::ctl::{main as ctl_main, NoSubcommands};
    use std::ffi::OsString;
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, _status, _t) = start(dir.path());
    let args = |v: &[&str]| {
        ["enrich", "ctl"]
            .iter()
            .chain(v)
            .map(OsString::from)
            .collect::<Vec<_>>()
    };
    let p = path.to_str().expect("utf-8 path");
    let run = |v: &[&str]| ctl_main::<NoSubcommands>("enrich", &args(v));
    assert_eq!(run(&["health", "--control", p]), 0);
    assert_eq!(run(&["stats", "--json", &format!("--control={p}")]), 0);
    // No socket there: one error line, exit 1.
    let missing = dir.path().join("nothing.sock");
    let m = missing.to_str().expect("utf-8 path");
    assert_eq!(run(&["health", "--control", m]), 1);
    // Usage errors: exit 2.
    assert_eq!(run(&["health"]), 2);
    assert_eq!(run(&["reboot", "--control", p]), 2);
    // A stage without subcommands of its own has no subscribe.
    assert_eq!(run(&["subscribe", "--control", p]), 2);
}
