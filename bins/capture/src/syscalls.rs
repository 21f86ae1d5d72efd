//! Which probe programs serve which event kind, and parsing `--syscalls`.
//!
//! Only the programs of the selected kinds are loaded and attached, so an
//! unselected syscall runs no eBPF program at all: its only cost is the
//! kernel's check that its own tracepoint is off.
//!
//! Names are the event table's (`evt.type` spelling), plus `procexit` for
//! process exit. It does not load anything ([`crate::probe`] does).

use schema::table::{self, KindInfo};
use schema::Kind;

/// One eBPF program and the tracepoint it attaches to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attach {
    /// The program's function name in the probe.
    pub program: String,
    pub category: &'static str,
    pub tracepoint: String,
}

/// Kinds the probe captures: every syscall of the table, and process exit.
/// The others (snapshot, container) are made in user space.
pub fn is_probed(kind: Kind) -> bool {
    !matches!(
        kind,
        Kind::Unknown | Kind::ProcSnapshot | Kind::ContainerStart
    )
}

/// The programs that make events of `kind`.
pub fn programs(info: &KindInfo) -> Vec<Attach> {
    if info.kind == Kind::ProcExit {
        return vec![Attach {
            program: "proc_exit".into(),
            category: "sched",
            tracepoint: "sched_process_exit".into(),
        }];
    }
    let exit = |name: &str| Attach {
        program: format!("exit_{name}"),
        category: "syscalls",
        tracepoint: format!("sys_exit_{}", kernel_name(name)),
    };
    let enter = |name: &str| Attach {
        program: format!("enter_{name}"),
        category: "syscalls",
        tracepoint: format!("sys_enter_{name}"),
    };
    match info.kind {
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
    let mut out: Vec<&'static KindInfo> = Vec::new();
    for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let info = table::by_name(name)
            .filter(|k| is_probed(k.kind))
            .ok_or_else(|| UnknownSyscall {
                name: name.to_string(),
                known: all().iter().map(|k| k.name).collect::<Vec<_>>().join(","),
            })?;
        if !out.iter().any(|k| k.kind == info.kind) {
            out.push(info);
        }
    }
    Ok(out)
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
    fn exec_needs_its_entry_program() {
        let progs = programs(table::by_name("execve").unwrap());
        assert_eq!(progs.len(), 2);
        assert_eq!(progs[0].tracepoint, "sys_enter_execve");
        let progs = programs(table::by_name("execveat").unwrap());
        assert_eq!(progs[2].tracepoint, "sys_exit_execve");
        assert_eq!(
            programs(table::by_name("procexit").unwrap())[0].category,
            "sched"
        );
        assert_eq!(
            programs(table::by_name("umount2").unwrap())[0].tracepoint,
            "sys_exit_umount"
        );
        assert_eq!(all().len(), table::TABLE.len() - 3);
    }
}
