//! Which probe programs serve which event kind, and parsing `--syscalls`.
//!
//! Without `--control` only the programs of the selected kinds are loaded
//! and attached, so an unselected syscall runs no eBPF program at all: its
//! only cost is the kernel's check that its own tracepoint is off. With it,
//! every program is attached and an unselected one returns at once.
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
