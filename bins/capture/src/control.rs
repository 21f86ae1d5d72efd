//! capture's control server (`--control PATH`): the generic methods
//! (health, stats, version) and `CaptureControl`'s `setSyscalls` and
//! `syscalls`, which read and change the probe's in-kernel selection while
//! events flow (what a change may do: [`crate::selection`]).
//!
//! The socket is bound and its runtime built before the privilege drop
//! ([`bind`]), and its thread started after it ([`serve`]): the drop
//! refuses a process with several threads, and a thread started later
//! inherits every restriction of the one that started it. For the same
//! reason capture cannot remove the socket file when it stops (Landlock
//! and seccomp forbid it by then): it is left behind, and the next bind
//! replaces it.
//!
//! It is not the `capture ctl` client ([`crate::ctl`]) nor the socket
//! machinery shared by every stage (`stage::control`).

use std::path::Path;
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use schema::control_capnp::{capture_control, stage_control};
use schema::table;
use schema::Kind;
use stage::control::{Bound, ControlError, ControlThread, StageStatus};

use crate::probe::Selector;
use crate::{selection, syscalls};

/// Binds the control socket at `path` and makes capture's status, which
/// the stage driver keeps up to date. Call before the privilege drop.
pub fn bind(path: &Path) -> Result<(Bound, Arc<StageStatus>), ControlError> {
    let bound = stage::control::bind(Some(path))?;
    let status = StageStatus::new(schema::Stage::Capture, "capture", env!("CARGO_PKG_VERSION"));
    Ok((bound, status))
}

/// Starts serving `bound`. Call after the privilege drop.
pub fn serve(
    bound: Bound,
    status: Arc<StageStatus>,
    selector: Selector,
) -> Result<ControlThread, ControlError> {
    let selector = Arc::new(Mutex::new(selector));
    bound.serve(
        move || {
            let c: capture_control::Client = capnp_rpc::new_client(CaptureServer {
                status: status.clone(),
                selector: selector.clone(),
            });
            c.client
        },
        vec![],
    )
}

/// One connection's server; every connection shares the selector.
struct CaptureServer {
    status: Arc<StageStatus>,
    selector: Arc<Mutex<Selector>>,
}

impl CaptureServer {
    fn selector(&self) -> std::sync::MutexGuard<'_, Selector> {
        // A panic elsewhere while holding the lock left a whole Selector
        // behind (its map and its record of it change together in `set`).
        self.selector.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// What a `setSyscalls` request selects, or every reason it cannot.
fn requested(sel: &Selector, names: &[String]) -> Result<Vec<schema::Kind>, Vec<String>> {
    let (infos, unknown) = syscalls::parse_all(names.iter().map(String::as_str));
    let mut errors: Vec<String> = unknown
        .iter()
        .map(|n| format!("unknown syscall {n:?}"))
        .collect();
    for info in &infos {
        if !sel.can_select(info.kind) {
            errors.push(format!(
                "{} cannot be selected: its program was not attached at start (this kernel has no \
                 tracepoint for it, or it is compat_syscall, whose hook is attached only when \
                 named in --syscalls)",
                info.name
            ));
        }
    }
    if errors.is_empty() {
        Ok(infos.iter().map(|i| i.kind).collect())
    } else {
        Err(errors)
    }
}

/// Fills `list` with the names of `kinds`.
fn set_names(mut list: capnp::text_list::Builder<'_>, kinds: &[schema::Kind]) {
    for (i, k) in kinds.iter().enumerate() {
        list.set(i as u32, table::info(*k).name);
    }
}

impl stage_control::Server for CaptureServer {
    stage::stage_control_methods!();
}

impl capture_control::Server for CaptureServer {
    async fn set_syscalls(
        self: Rc<Self>,
        params: capture_control::SetSyscallsParams,
        mut results: capture_control::SetSyscallsResults,
    ) -> Result<(), capnp::Error> {
        let params = params.get()?;
        let force = params.get_force();
        let mut names = Vec::new();
        for n in params.get_syscalls()? {
            names.push(
                n?.to_string()
                    .map_err(|e| capnp::Error::failed(format!("a name is not UTF-8: {e}")))?,
            );
        }
        let mut sel = self.selector();
        let errors = match requested(&sel, &names) {
            Ok(kinds) => apply(&mut sel, &kinds, force, &self.status),
            Err(errors) => errors,
        };
        let mut r = results.get();
        set_names(
            r.reborrow().init_selected(sel.selected().len() as u32),
            sel.selected(),
        );
        let mut list = r.init_errors(errors.len() as u32);
        for (i, e) in errors.iter().enumerate() {
            list.set(i as u32, e.as_str());
        }
        Ok(())
    }

    async fn syscalls(
        self: Rc<Self>,
        _: capture_control::SyscallsParams,
        mut results: capture_control::SyscallsResults,
    ) -> Result<(), capnp::Error> {
        let sel = self.selector();
        set_names(
            results.get().init_selected(sel.selected().len() as u32),
            sel.selected(),
        );
        Ok(())
    }
}

/// Makes `wanted` the selection of `sel` if [`selection::check`] allows it, and
/// reports an accepted change (log, stats, health). Returns the errors to
/// answer with; none when the selection is `wanted`.
fn apply(sel: &mut Selector, wanted: &[Kind], force: bool, status: &StageStatus) -> Vec<String> {
    let before = sel.selected().to_vec();
    if let Err(refused) = selection::check(&before, wanted, force) {
        return vec![refused.to_string()];
    }
    if let Err(e) = sel.set(wanted) {
        status.record_error(e.to_string());
        return vec![e.to_string()];
    }
    let after = sel.selected();
    if after == before.as_slice() {
        return Vec::new();
    }
    let names =
        |ks: &[Kind]| -> Vec<&'static str> { ks.iter().map(|k| table::info(*k).name).collect() };
    let removed: Vec<Kind> = before.into_iter().filter(|k| !after.contains(k)).collect();
    if after.is_empty() {
        let msg = "the selection is empty: capture reports no events until `capture ctl \
                   set-syscalls` selects some";
        tracing::warn!("{msg}");
        status.record_error(msg);
    } else if !removed.is_empty() {
        tracing::warn!(selected = ?names(after), removed = ?names(&removed), "selection narrowed");
    } else {
        tracing::info!(selected = ?names(after), "selection changed");
    }
    sel.state().changed(after.len());
    Vec::new()
}
