//! The client side, for `NAME ctl …`: connect to a stage's control socket,
//! call a method, render the answer as text for people or JSON for tools.
//!
//! It is not a place for the command line itself (each binary parses its
//! own `ctl` subcommands) nor for stage-specific rendering beyond the
//! generic methods.

use std::future::Future;
use std::path::Path;

use capnp_rpc::rpc_twoparty_capnp::Side;
use serde_json::{json, Value};
use tokio::net::UnixStream;

use super::ControlError;
use schema::control_capnp::{health, stage_control, version};
use schema::kestrel_capnp::stats;

/// Runs `f` on a fresh single-threaded runtime with a `LocalSet`, as
/// capnp-rpc needs.
pub fn block_on<F: Future>(f: F) -> Result<F::Output, ControlError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(ControlError::Thread)?;
    Ok(tokio::task::LocalSet::new().block_on(&rt, f))
}

/// Connects to the control socket at `path` and returns its bootstrap
/// capability as a `C`. Call inside [`block_on`].
pub async fn connect<C: capnp::capability::FromClientHook>(path: &Path) -> Result<C, ControlError> {
    let stream = UnixStream::connect(path)
        .await
        .map_err(|source| ControlError::Connect {
            path: path.to_path_buf(),
            source,
        })?;
    let mut rpc = super::server::rpc_system(stream, Side::Client, None);
    let client: C = rpc.bootstrap(Side::Server);
    tokio::task::spawn_local(async move {
        if let Err(e) = rpc.await {
            tracing::debug!("control connection ended: {e}");
        }
    });
    Ok(client)
}

/// How long [`answers`] waits for the first bytes of an answer.
pub const ANSWER_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Whether the control socket at `path` answers a bootstrap request on a
/// fresh connection, with plain blocking I/O and no RPC machinery: a
/// liveness check, and the way to see that a peer is refused. Only a
/// failed `connect` is an error: a server that refuses the peer closes the
/// connection, which the client may see as EPIPE on its write or
/// ECONNRESET on its read, depending on timing; both mean "not answered".
pub fn answers(path: &Path) -> std::io::Result<bool> {
    use std::io::{Read, Write};
    let mut s = std::os::unix::net::UnixStream::connect(path)?;
    s.set_read_timeout(Some(ANSWER_WAIT))?;
    if s.write_all(&bootstrap_request()).is_err() {
        return Ok(false);
    }
    let mut buf = [0u8; 64];
    Ok(matches!(s.read(&mut buf), Ok(n) if n > 0))
}

/// How a client running as another user fared ([`answers_as`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsUser {
    /// Connected and answered: the stage served that user.
    Answered,
    /// Connected and refused (closed without an answer).
    Refused,
    /// Could not connect (the socket's mode kept that user out).
    CannotConnect,
    /// The forked client could not take that user's credentials.
    CannotBecome,
}

/// How the control socket at `path` treats a client running as `uid` and
/// `gid` with no supplementary groups: forks a child that takes those
/// credentials and calls [`answers`]. The caller must be root. It exists
/// for the access tests of every stage (only the owner and root may be
/// served, checked with SO_PEERCRED and not only through the file mode).
pub fn answers_as(path: &Path, uid: u32, gid: u32) -> std::io::Result<AsUser> {
    // SAFETY: the child only changes its credentials, runs blocking socket
    // I/O and leaves with _exit, never returning into the caller.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(std::io::Error::last_os_error());
    }
    if pid == 0 {
        // SAFETY: plain credential syscalls in the child.
        let code = unsafe {
            if libc::setgroups(0, std::ptr::null()) != 0
                || libc::setgid(gid) != 0
                || libc::setuid(uid) != 0
            {
                3
            } else {
                match answers(path) {
                    Ok(false) => 0,
                    Ok(true) => 1,
                    Err(_) => 2,
                }
            }
        };
        // SAFETY: leaves the child at once, skipping the parent's atexit.
        unsafe { libc::_exit(code) };
    }
    let mut wstatus = 0;
    // SAFETY: waits for the child forked above.
    if unsafe { libc::waitpid(pid, &mut wstatus, 0) } != pid {
        return Err(std::io::Error::last_os_error());
    }
    if !libc::WIFEXITED(wstatus) {
        return Err(std::io::Error::other(
            "the forked client did not exit normally",
        ));
    }
    Ok(match libc::WEXITSTATUS(wstatus) {
        0 => AsUser::Refused,
        1 => AsUser::Answered,
        2 => AsUser::CannotConnect,
        _ => AsUser::CannotBecome,
    })
}

/// The bytes of a well-formed RPC `Bootstrap` message, the first thing a
/// client sends.
pub fn bootstrap_request() -> Vec<u8> {
    let mut m = capnp::message::Builder::new_default();
    m.init_root::<capnp_rpc::rpc_capnp::message::Builder<'_>>()
        .init_bootstrap()
        .set_question_id(0);
    let mut out = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = capnp::serialize::write_message(&mut out, &m);
    out
}

/// The generic methods, as `ctl` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generic {
    Health,
    Stats,
    Version,
}

/// Calls `what` on the stage at `path`; the answer as JSON.
pub async fn call_generic(path: &Path, what: Generic) -> Result<Value, ControlError> {
    let c: stage_control::Client = connect(path).await?;
    Ok(match what {
        Generic::Health => {
            let r = c.health_request().send().promise.await?;
            health_json(r.get()?.get_health()?)?
        }
        Generic::Stats => {
            let r = c.stats_request().send().promise.await?;
            stats_json(r.get()?.get_stats()?)?
        }
        Generic::Version => {
            let r = c.version_request().send().promise.await?;
            version_json(r.get()?.get_version()?)?
        }
    })
}

/// Runs `what` against `path` and renders it: JSON if `as_json`, else text.
pub fn run_generic(path: &Path, what: Generic, as_json: bool) -> Result<String, ControlError> {
    let v = block_on(call_generic(path, what))??;
    Ok(if as_json {
        v.to_string()
    } else {
        match what {
            Generic::Health => health_text(&v),
            Generic::Stats => stats_text(&v),
            Generic::Version => version_text(&v),
        }
    })
}

fn stage_name(s: Result<schema::Stage, capnp::NotInSchema>) -> &'static str {
    use schema::Stage;
    match s {
        Ok(Stage::Capture) => "capture",
        Ok(Stage::Enrich) => "enrich",
        Ok(Stage::Evaluate) => "evaluate",
        Ok(Stage::Output) => "output",
        Ok(Stage::Unknown) | Err(_) => "unknown",
    }
}

pub fn health_json(h: health::Reader<'_>) -> Result<Value, capnp::Error> {
    Ok(json!({
        "stage": stage_name(h.get_stage()),
        "pid": h.get_pid(),
        "up_since_ns": h.get_up_since_ns(),
        "input_connected": h.get_input_connected(),
        "output_connected": h.get_output_connected(),
        "last_error": h.get_last_error()?.to_str().unwrap_or(""),
        "last_error_ns": h.get_last_error_ns(),
    }))
}

pub fn stats_json(s: stats::Reader<'_>) -> Result<Value, capnp::Error> {
    let mut counters = serde_json::Map::new();
    for c in s.get_counters()? {
        counters.insert(
            c.get_name()?.to_str().unwrap_or("?").to_string(),
            json!(c.get_value()),
        );
    }
    Ok(json!({
        "stage": stage_name(s.get_stage()),
        "time_ns": s.get_time_ns(),
        "hostname": s.get_hostname()?.to_str().unwrap_or(""),
        "counters": counters,
    }))
}

pub fn version_json(v: version::Reader<'_>) -> Result<Value, capnp::Error> {
    Ok(json!({
        "program": v.get_program()?.to_str().unwrap_or(""),
        "version": v.get_version()?.to_str().unwrap_or(""),
        "format": format!("{}.{}", v.get_format_major(), v.get_format_minor()),
    }))
}

fn yes_no(v: &Value) -> &'static str {
    if v.as_bool() == Some(true) {
        "yes"
    } else {
        "no"
    }
}

fn health_text(v: &Value) -> String {
    let up_ns = v["up_since_ns"].as_u64().unwrap_or(0);
    let up_s = schema::now_ns().saturating_sub(up_ns) / 1_000_000_000;
    let err = v["last_error"].as_str().unwrap_or("");
    format!(
        "stage: {}\npid: {}\nup: {up_s} s\ninput connected: {}\noutput connected: {}\nlast error: {}",
        v["stage"].as_str().unwrap_or("?"),
        v["pid"],
        yes_no(&v["input_connected"]),
        yes_no(&v["output_connected"]),
        if err.is_empty() { "none" } else { err },
    )
}

fn stats_text(v: &Value) -> String {
    let mut out = format!("stage: {}", v["stage"].as_str().unwrap_or("?"));
    if let Some(m) = v["counters"].as_object() {
        for (k, n) in m {
            out.push_str(&format!("\n{k}: {n}"));
        }
    }
    out
}

fn version_text(v: &Value) -> String {
    format!(
        "{} {} (format {})",
        v["program"].as_str().unwrap_or("?"),
        v["version"].as_str().unwrap_or("?"),
        v["format"].as_str().unwrap_or("?"),
    )
}

/// An alert as JSON: time, rule, priority, source, tags, output, hostname.
pub fn alert_json(a: schema::kestrel_capnp::alert::Reader<'_>) -> Result<Value, capnp::Error> {
    let mut tags = Vec::new();
    for t in a.get_tags()? {
        tags.push(t?.to_str().unwrap_or("?").to_string());
    }
    Ok(json!({
        "time_ns": a.get_time_ns(),
        "rule": a.get_rule()?.to_str().unwrap_or("?"),
        "priority": format!("{:?}", a.get_priority().unwrap_or(schema::Priority::Debug)),
        "source": a.get_source()?.to_str().unwrap_or("?"),
        "tags": tags,
        "output": a.get_output()?.to_str().unwrap_or("?"),
        "hostname": a.get_hostname()?.to_str().unwrap_or("?"),
    }))
}

/// The subscriber's side of a subscription: hands each alert, as JSON, to
/// the loop of [`subscribe`].
struct SinkServer {
    tx: tokio::sync::mpsc::UnboundedSender<Value>,
}

impl schema::control_capnp::alert_sink::Server for SinkServer {
    async fn alert(
        self: std::rc::Rc<Self>,
        params: schema::control_capnp::alert_sink::AlertParams,
    ) -> Result<(), capnp::Error> {
        let v = alert_json(params.get()?.get_alert()?)?;
        // The loop stopped listening: the subscription is ending anyway.
        let _ = self.tx.send(v);
        Ok(())
    }

    async fn done(
        self: std::rc::Rc<Self>,
        _: schema::control_capnp::alert_sink::DoneParams,
        _: schema::control_capnp::alert_sink::DoneResults,
    ) -> Result<(), capnp::Error> {
        Ok(())
    }
}

/// Subscribes to the alerts `filter` selects at the output stage at
/// `path` and calls `each` with every one until it returns false or the
/// stage goes away. Returns (sent, dropped) as the stage counted them at
/// the end, when it could still be asked. Call inside [`block_on`].
pub async fn subscribe(
    path: &Path,
    filter: &str,
    mut each: impl FnMut(Value) -> bool,
) -> Result<Option<(u64, u64)>, ControlError> {
    use schema::control_capnp::{alert_sink, output_control};
    let c: output_control::Client = connect(path).await?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let sink: alert_sink::Client = capnp_rpc::new_client(SinkServer { tx });
    let mut req = c.subscribe_request();
    req.get().set_filter(filter);
    req.get().set_sink(sink);
    let resp = req.send().promise.await?;
    let sub = resp.get()?.get_subscription()?;
    while let Some(v) = rx.recv().await {
        if !each(v) {
            break;
        }
    }
    let counts = match sub.counts_request().send().promise.await {
        Ok(r) => {
            let r = r.get()?;
            Some((r.get_sent(), r.get_dropped()))
        }
        Err(_) => None,
    };
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_tells_a_server_from_a_socket_that_hangs_up() {
        let dir = tempfile::tempdir().expect("tempdir");
        let served = dir.path().join("served.sock");
        let status = crate::control::StageStatus::new(schema::Stage::Enrich, "enrich", "0.0.0");
        let _t = crate::control::spawn(
            Some(&served),
            crate::control::generic::bootstrap(status),
            vec![],
        )
        .expect("control socket");
        assert!(answers(&served).expect("connect"));

        let mute = dir.path().join("mute.sock");
        let l = std::os::unix::net::UnixListener::bind(&mute).expect("bind");
        let closer = std::thread::spawn(move || drop(l.accept()));
        assert!(!answers(&mute).expect("connect"));
        closer.join().expect("closer");
        assert!(answers(&dir.path().join("absent.sock")).is_err());
    }
}
