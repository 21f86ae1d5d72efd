//! The `EvaluateControl` RPC server: the generic stage methods plus
//! `listRules`, `setEnabled` and `reload`, and the SIGHUP handler that
//! reloads like `reload` does. Compiling runs on tokio's blocking pool so
//! that other control calls keep being answered meanwhile.
//!
//! It is not a place for the ruleset logic (see [`super::live`]).

use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use schema::control_capnp::{evaluate_control, reload_result, stage_control};
use stage::control::server::Task;

use super::live::{Controller, Outcome};

/// How long `reload` waits for the event loop to take the new ruleset
/// before answering with `swapNs` = 0: the loop takes it at the next
/// event, so only an idle input makes it wait this long.
pub const SWAP_WAIT: Duration = Duration::from_secs(1);

/// The nice value compiles run at: on a busy machine the event loop gets
/// the CPU first, and a reload takes longer instead of delaying events.
pub const COMPILE_NICE: i32 = 10;

/// How often that wait looks at the event loop's generation.
const SWAP_POLL: Duration = Duration::from_micros(200);

/// The server behind one control connection.
pub struct EvaluateServer {
    pub ctl: Arc<Controller>,
}

/// A bootstrap maker for `stage::control::spawn`.
pub fn bootstrap(ctl: Arc<Controller>) -> impl Fn() -> capnp::capability::Client + Send {
    move || {
        let c: evaluate_control::Client =
            capnp_rpc::new_client(EvaluateServer { ctl: ctl.clone() });
        c.client
    }
}

/// The SIGHUP handler: each signal reloads the rule files.
pub fn sighup_task(ctl: Arc<Controller>) -> Task {
    Box::pin(async move {
        let mut hup = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!("cannot handle SIGHUP: {e}");
                return;
            }
        };
        while hup.recv().await.is_some() {
            let c = ctl.clone();
            let reloaded = tokio::task::spawn_blocking(move || {
                lower_priority();
                c.reload()
            });
            match reloaded.await {
                Ok(out) if out.ok => tracing::info!(
                    "SIGHUP: reloaded, {} rules, compiled in {} ms",
                    out.rules_running,
                    out.compile_ns / 1_000_000
                ),
                Ok(out) => {
                    for e in &out.errors {
                        tracing::error!("{e}");
                    }
                    tracing::error!(
                        "SIGHUP: reload rejected ({} errors), the running rules stay",
                        out.errors.len()
                    );
                }
                Err(e) => tracing::error!("SIGHUP: reload failed: {e}"),
            }
            // Give the event loop a moment to take the new ruleset, then
            // free the old one here rather than on the event path.
            tokio::time::sleep(SWAP_WAIT).await;
            ctl.free_retired();
        }
    })
}

/// Lowers the calling thread's CPU priority to [`COMPILE_NICE`]. Linux
/// applies nice values per thread; tokio's blocking pool runs only
/// compiles here, so its threads may keep it.
fn lower_priority() {
    // SAFETY: gettid and setpriority only read and set this thread's
    // scheduling attributes.
    let r = unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, COMPILE_NICE)
    };
    if r != 0 {
        tracing::debug!(
            "cannot lower the compile thread's priority: {}",
            std::io::Error::last_os_error()
        );
    }
}

/// Runs `f` on the blocking pool, then waits for the event loop to take
/// the ruleset it parked.
async fn off_path<T: Send + 'static>(
    ctl: &Arc<Controller>,
    f: impl FnOnce(&Controller) -> (T, Outcome) + Send + 'static,
) -> Result<(T, Outcome), capnp::Error> {
    let c = ctl.clone();
    let (t, mut out) = tokio::task::spawn_blocking(move || {
        lower_priority();
        f(&c)
    })
    .await
    .map_err(|e| capnp::Error::failed(format!("reload task: {e}")))?;
    if out.ok {
        let deadline = Instant::now() + SWAP_WAIT;
        while ctl.live_generation() < out.generation && Instant::now() < deadline {
            tokio::time::sleep(SWAP_POLL).await;
        }
        if ctl.live_generation() >= out.generation {
            out.swap_ns = ctl.last_swap_ns();
            ctl.free_retired();
        }
    }
    Ok((t, out))
}

fn fill_outcome(out: &Outcome, mut r: reload_result::Builder<'_>) {
    r.set_ok(out.ok);
    r.set_warnings(out.warnings);
    r.set_rules_running(out.rules_running);
    r.set_compile_ns(out.compile_ns);
    r.set_swap_ns(out.swap_ns);
    r.set_generation(out.generation);
    let mut errs = r.init_errors(out.errors.len() as u32);
    for (i, e) in out.errors.iter().enumerate() {
        errs.set(i as u32, e.as_str());
    }
}

impl stage_control::Server for EvaluateServer {
    stage::stage_control_methods!(ctl.status);
}

impl evaluate_control::Server for EvaluateServer {
    async fn list_rules(
        self: Rc<Self>,
        _: evaluate_control::ListRulesParams,
        mut results: evaluate_control::ListRulesResults,
    ) -> Result<(), capnp::Error> {
        let rows = self.ctl.list();
        let mut list = results.get().init_rules(rows.len() as u32);
        for (i, r) in rows.iter().enumerate() {
            let mut b = list.reborrow().get(i as u32);
            b.set_name(r.name.as_str());
            b.set_enabled(r.enabled);
            b.set_priority(r.priority);
            b.set_source(r.source.as_str());
            b.set_hits(r.hits);
            let mut tags = b.init_tags(r.tags.len() as u32);
            for (j, t) in r.tags.iter().enumerate() {
                tags.set(j as u32, t.as_str());
            }
        }
        Ok(())
    }

    async fn set_enabled(
        self: Rc<Self>,
        params: evaluate_control::SetEnabledParams,
        mut results: evaluate_control::SetEnabledResults,
    ) -> Result<(), capnp::Error> {
        let p = params.get()?;
        let pattern = p
            .get_pattern()?
            .to_string()
            .map_err(|e| capnp::Error::failed(format!("pattern is not UTF-8: {e}")))?;
        let on = p.get_enabled();
        let (matched, out) = off_path(&self.ctl, move |c| c.set_enabled(&pattern, on)).await?;
        let mut r = results.get();
        r.set_matched(matched);
        fill_outcome(&out, r.init_result());
        Ok(())
    }

    async fn reload(
        self: Rc<Self>,
        _: evaluate_control::ReloadParams,
        mut results: evaluate_control::ReloadResults,
    ) -> Result<(), capnp::Error> {
        let ((), out) = off_path(&self.ctl, |c| ((), c.reload())).await?;
        fill_outcome(&out, results.get().init_result());
        Ok(())
    }
}
