//! Which probe programs serve which event kind, and parsing `--syscalls`.
//!
//! Without `--control` only the programs of the selected kinds are loaded
//! and attached, so an unselected syscall runs no eBPF program at all: its
//! only cost is the kernel's check that its own tracepoint is off. With it,
//! every program is attached and an unselected one returns at once.
//!
//! The one exception is `compat_syscall`: 32-bit syscalls pass no
//! per-syscall tracepoint, so its program enters the kernel function that
//! only the 32-bit entry paths call (fentry), which 64-bit syscalls never
//! reach.
//!
//! Names are the event table's (`evt.type` spelling), plus `procexit` for
//! process exit. It does not load anything ([`crate::probe`] does).

use schema::table::{self, KindInfo};
use schema::Kind;

/// One eBPF program and where it attaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attach {
    /// The program's function name in the probe.
    pub program: String,
    pub hook: Hook,
}

/// Where a program attaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hook {
    /// A tracepoint, `events/CATEGORY/NAME` in tracefs.
    Tracepoint {
        category: &'static str,
        name: String,
    },
    /// The entry of a kernel function, found by its name in the kernel's
    /// BTF.
    Fentry { function: &'static str },
    /// A raw tracepoint with BTF-typed arguments (`tp_btf`).
    BtfTracepoint { name: &'static str },
}

/// The kernel function every 32-bit syscall enters through and no 64-bit
/// one does (`ia32_sys_call(regs, nr)`, called by both the int 0x80 and the
/// sysenter/syscall entry paths). Absent from a kernel built without IA32
/// emulation.
pub const COMPAT_FUNCTION: &str = "ia32_sys_call";

/// Kinds the probe captures: every syscall of the table, and process exit.
/// The others (snapshot, container) are made in user space.
pub fn is_probed(kind: Kind) -> bool {
    !matches!(
        kind,
        Kind::Unknown | Kind::ProcSnapshot | Kind::ContainerStart
    )
}

/// What compat_syscall falls back to where the kernel refuses fentry
/// programs: the raw syscall entry tracepoint, which every syscall passes,
/// so it costs each 64-bit syscall a program run that returns at once
/// (BENCHMARKS.md, capture). Used only when compat_syscall is named.
pub fn compat_fallback() -> Attach {
    Attach {
        program: "compat_syscall_raw".into(),
        hook: Hook::BtfTracepoint { name: "sys_enter" },
    }
}

/// The programs that make events of `kind`.
pub fn programs(info: &KindInfo) -> Vec<Attach> {
    let tracepoint = |program: String, category, name| Attach {
        program,
        hook: Hook::Tracepoint { category, name },
    };
    let exit = |name: &str| {
        let tp = format!("sys_exit_{}", kernel_name(name));
        tracepoint(format!("exit_{name}"), "syscalls", tp)
    };
    let enter = |name: &str| {
        tracepoint(
            format!("enter_{name}"),
            "syscalls",
            format!("sys_enter_{name}"),
        )
    };
    match info.kind {
        Kind::ProcExit => vec![tracepoint(
            "proc_exit".into(),
            "sched",
            "sched_process_exit".into(),
        )],
        Kind::CompatSyscall => vec![Attach {
            program: info.name.into(),
            hook: Hook::Fentry {
                function: COMPAT_FUNCTION,
            },
        }],
        // exec replaces the memory its filename was in: it is read at entry.
        Kind::Execve => vec![enter("execve"), exit("execve")],
        // A successful execveat leaves through execve's exit tracepoint.
        Kind::Execveat => vec![enter("execveat"), exit("execveat"), exit("execve")],
        _ => vec![exit(info.name)],
    }
}

/// The name the kernel defines a syscall under, which its tracepoints
/// carry, where it differs from the user-visible one.
fn kernel_name(name: &str) -> &str {
    match name {
        "umount2" => "umount",
        other => other,
    }
}

/// Every kind the probe can capture: the default selection.
pub fn all() -> Vec<&'static KindInfo> {
    table::TABLE.iter().filter(|k| is_probed(k.kind)).collect()
}

/// `--syscalls` was given a name the probe does not know.
#[derive(Debug, thiserror::Error)]
#[error("unknown syscall {name:?} in --syscalls; known: {known}")]
pub struct UnknownSyscall {
    pub name: String,
    pub known: String,
}

/// Parses a comma-separated list of names; empty items are ignored and
/// repeats count once.
pub fn parse(list: &str) -> Result<Vec<&'static KindInfo>, UnknownSyscall> {
    let (out, unknown) = parse_all([list]);
    match unknown.into_iter().next() {
        Some(name) => Err(UnknownSyscall {
            name,
            known: known_names(),
        }),
        None => Ok(out),
    }
}

/// Parses comma-separated lists of names, as [`parse`] does, but goes on
/// past unknown names: returns the kinds found and every unknown name.
pub fn parse_all<'a>(
    lists: impl IntoIterator<Item = &'a str>,
) -> (Vec<&'static KindInfo>, Vec<String>) {
    let mut out: Vec<&'static KindInfo> = Vec::new();
    let mut unknown = Vec::new();
    let names = lists
        .into_iter()
        .flat_map(|l| l.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty());
    for name in names {
        match table::by_name(name).filter(|k| is_probed(k.kind)) {
            Some(info) if !out.iter().any(|k| k.kind == info.kind) => out.push(info),
            Some(_) => {}
            None => unknown.push(name.to_string()),
        }
    }
    (out, unknown)
}

/// Every name [`parse`] accepts, comma-separated.
pub fn known_names() -> String {
    all().iter().map(|k| k.name).collect::<Vec<_>>().join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_rejects_unknown_ones() {
        let sel = parse("openat, close,openat,,procexit").unwrap();
        let names: Vec<_> = sel.iter().map(|k| k.name).collect();
        assert_eq!(names, ["openat", "close", "procexit"]);
        let err = parse("openat,getppid").unwrap_err();
        assert_eq!(err.name, "getppid");
        assert!(err.known.contains("execve"));
        assert!(
            parse("procinfo").is_err(),
            "snapshot events are not a probe selection"
        );
    }

    #[test]
    fn parse_all_lists_every_unknown_name() {
        let (sel, unknown) = parse_all(["openat,nosuch", " unlinkat ", "openat,getppid"]);
        let names: Vec<_> = sel.iter().map(|k| k.name).collect();
        assert_eq!(names, ["openat", "unlinkat"]);
        assert_eq!(unknown, ["nosuch", "getppid"]);
    }

    /// The tracepoint of the `i`th program of kind `name`.
    fn tracepoint(name: &str, i: usize) -> (&'static str, String) {
        match &programs(table::by_name(name).unwrap())[i].hook {
            Hook::Tracepoint { category, name } => (category, name.clone()),
            other => panic!("{name}: not a tracepoint: {other:?}"),
        }
    }

    #[test]
    fn exec_needs_its_entry_program() {
        assert_eq!(programs(table::by_name("execve").unwrap()).len(), 2);
        assert_eq!(tracepoint("execve", 0).1, "sys_enter_execve");
        assert_eq!(tracepoint("execveat", 2).1, "sys_exit_execve");
        assert_eq!(tracepoint("procexit", 0).0, "sched");
        assert_eq!(tracepoint("umount2", 0).1, "sys_exit_umount");
        assert_eq!(all().len(), table::TABLE.len() - 3);
    }

    #[test]
    fn compat_syscalls_enter_the_ia32_dispatcher_and_are_selected_by_default() {
        let progs = programs(table::by_name("compat_syscall").unwrap());
        assert_eq!(progs.len(), 1);
        assert_eq!(progs[0].program, "compat_syscall");
        assert_eq!(
            progs[0].hook,
            Hook::Fentry {
                function: "ia32_sys_call"
            }
        );
        assert!(all().iter().any(|k| k.kind == Kind::CompatSyscall));
        assert_eq!(
            parse("compat_syscall").unwrap()[0].kind,
            Kind::CompatSyscall
        );
    }
}
