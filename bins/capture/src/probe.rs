//! Loading the embedded eBPF probe and attaching the programs of the
//! selected kinds, with the checks that turn the usual ways this fails
//! (no privileges, no BTF, no tracefs, a verifier rejection) into errors a
//! user can act on.
//!
//! Which kinds are emitted is an in-kernel selection map that every program
//! checks first. Without `--control` only the selected kinds' programs are
//! attached (an unselected syscall then runs no program at all); with it,
//! every program is attached and [`Selector`] changes the map while capture
//! runs.
//!
//! `compat_syscall` is the exception: 32-bit syscalls pass no per-syscall
//! tracepoint, so its program enters `ia32_sys_call` (fentry), free for
//! 64-bit syscalls. A kernel that refuses fentry programs leaves only the
//! raw `sys_enter` tracepoint, which every syscall passes; that fallback is
//! attached only when the user named `compat_syscall`, and with a
//! warning.
//!
//! It does not read the ring buffer ([`crate::stream`] does); it hands over
//! the maps.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use aya::maps::{Array, MapData, PerCpuArray, RingBuf};
use aya::programs::{BtfTracePoint, FEntry, ProgramError, TracePoint};
use aya::{Btf, BtfError, Ebpf, EbpfLoader};
use schema::table::{self, KindInfo};
use schema::Kind;

use crate::selection::SelectionState;
use crate::syscalls::{self, Attach, Hook};

/// The probe, compiled by build.rs.
static PROBE: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/kestrel.bpf.o"));

/// Where the kernel's own BTF is; CO-RE relocations need it.
const KERNEL_BTF: &str = "/sys/kernel/btf/vmlinux";
/// Where tracefs may be mounted; aya looks in both.
const TRACEFS_DIRS: [&str; 2] = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"];

const CAP_SYS_ADMIN: u32 = 21;
const CAP_PERFMON: u32 = 38;
const CAP_BPF: u32 = 39;

/// Why the probe could not be started.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("capture needs root, or CAP_BPF and CAP_PERFMON (effective capabilities are {caps:#x}); run it with sudo")]
    NotPrivileged { caps: u64 },
    #[error("this kernel has no BTF ({KERNEL_BTF} is missing): the probe needs a kernel built with CONFIG_DEBUG_INFO_BTF=y")]
    NoBtf,
    #[error("tracefs is not mounted (looked in {}); mount it: mount -t tracefs nodev /sys/kernel/tracing", TRACEFS_DIRS.join(", "))]
    NoTracefs,
    #[error(
        "--buffer-size {mib} MiB is not valid: it must be a power of two between 1 and {max} MiB"
    )]
    BufferSize { mib: u32, max: u32 },
    #[error("loading the probe object failed: {0}")]
    Load(#[source] Box<aya::EbpfError>),
    #[error("the probe object has no program {0} (build mismatch)")]
    MissingProgram(String),
    #[error("the kernel verifier rejected program {program} ({source}); its log is written above (--verifier-log-dir DIR saves it to a file)")]
    VerifierLogged {
        program: String,
        #[source]
        source: io::Error,
    },
    #[error("the kernel verifier rejected program {program} ({source}); its log is saved in {}", log.display())]
    Verifier {
        program: String,
        log: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("the kernel verifier rejected program {program} ({source}), and saving its log failed: {save_error}")]
    VerifierNoLog {
        program: String,
        save_error: io::Error,
        #[source]
        source: io::Error,
    },
    #[error("program {program}: {source}")]
    Program {
        program: String,
        #[source]
        source: Box<ProgramError>,
    },
    #[error("attaching {program} to tracepoint {category}/{tracepoint}: {source}")]
    Attach {
        program: String,
        category: &'static str,
        tracepoint: String,
        #[source]
        source: Box<ProgramError>,
    },
    #[error("this kernel has no tracepoint {category}/{tracepoint} for {kind} (is the syscall compiled in?)")]
    NoTracepoint {
        kind: &'static str,
        category: &'static str,
        tracepoint: String,
    },
    #[error("this kernel has no function {function} for {kind} (built without IA32 emulation?)")]
    NoFunction {
        kind: &'static str,
        function: &'static str,
    },
    #[error("this kernel refuses fentry programs (EPERM), needed on {function} for {kind}")]
    FentryRefused {
        kind: &'static str,
        function: &'static str,
    },
    #[error("attaching {program} to the entry of {function}: {source}")]
    AttachFentry {
        program: String,
        function: &'static str,
        #[source]
        source: Box<ProgramError>,
    },
    #[error("attaching {program} to raw tracepoint {tracepoint}: {source}")]
    AttachBtfTracepoint {
        program: String,
        tracepoint: &'static str,
        #[source]
        source: Box<ProgramError>,
    },
    #[error("reading the kernel's BTF for {program}: {source}")]
    Btf {
        program: String,
        #[source]
        source: BtfError,
    },
    #[error("the probe has no map {0} (build mismatch)")]
    MissingMap(&'static str),
    #[error("map {name}: {source}")]
    Map {
        name: &'static str,
        #[source]
        source: aya::maps::MapError,
    },
    #[error("cannot count the CPUs: {0}")]
    Cpus(String),
}

/// Largest ring buffer accepted by `--buffer-size`, MiB.
pub const MAX_BUFFER_MIB: u32 = 1024;

/// What to load.
pub struct ProbeConfig<'a> {
    pub kinds: &'a [&'static KindInfo],
    /// Ring buffer size, MiB: a power of two.
    pub buffer_mib: u32,
    /// Bytes submitted between two wake-ups of the reader, across the
    /// machine, at least: a quarter of the ring buffer when that is more.
    /// Each CPU wakes it after writing its share ([`per_cpu_wakeup_bytes`]).
    pub wakeup_bytes: u64,
    /// Our own process, whose syscalls the probe skips.
    pub own_tgid: u32,
    /// Where a verifier log is saved when a program is rejected; without
    /// it the log goes to the tracing output (stderr) only.
    pub log_dir: Option<PathBuf>,
    /// Whether the user named the kinds: then a syscall this kernel lacks is
    /// an error; by default it is skipped with a warning.
    pub explicit: bool,
    /// Attach the programs of every kind, not only of `kinds`, so that the
    /// selection can change later through [`Probe::selector`].
    pub attach_all: bool,
}

/// The loaded probe: keeps the programs attached while it lives.
pub struct Probe {
    ebpf: Ebpf,
    /// Programs attached.
    pub attached: usize,
    /// Kinds whose programs are attached: what a selection may contain.
    available: Vec<Kind>,
    /// Kinds selected at start.
    selected: Vec<Kind>,
    /// What the stats say about the selection, shared with the selector.
    state: Arc<SelectionState>,
}

/// Checks what the probe needs before trying, so the error says what is
/// missing rather than what failed.
pub fn preflight() -> Result<(), ProbeError> {
    let caps = effective_caps();
    let has = |c: u32| caps & (1u64 << c) != 0;
    if !(has(CAP_SYS_ADMIN) || (has(CAP_BPF) && has(CAP_PERFMON))) {
        return Err(ProbeError::NotPrivileged { caps });
    }
    if !Path::new(KERNEL_BTF).exists() {
        return Err(ProbeError::NoBtf);
    }
    if !TRACEFS_DIRS
        .iter()
        .any(|d| Path::new(d).join("events/syscalls").is_dir())
    {
        return Err(ProbeError::NoTracefs);
    }
    Ok(())
}

/// The effective capability set of this process (0 if unreadable).
fn effective_caps() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("CapEff:"))
                .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        })
        .unwrap_or(0)
}

impl Probe {
    /// Loads the probe and attaches the programs of `cfg.kinds`.
    pub fn start(cfg: &ProbeConfig<'_>) -> Result<Probe, ProbeError> {
        preflight()?;
        if !cfg.buffer_mib.is_power_of_two() || cfg.buffer_mib > MAX_BUFFER_MIB {
            return Err(ProbeError::BufferSize {
                mib: cfg.buffer_mib,
                max: MAX_BUFFER_MIB,
            });
        }
        let cpus =
            aya::util::nr_cpus().map_err(|(what, e)| ProbeError::Cpus(format!("{what}: {e}")))?;
        // With every program attached, the selection map alone decides.
        let has = |k: schema::Kind| cfg.attach_all || cfg.kinds.iter().any(|i| i.kind == k);
        let exec_kinds =
            u32::from(has(schema::Kind::Execve)) | (u32::from(has(schema::Kind::Execveat)) << 1);
        let mut ebpf = EbpfLoader::new()
            .override_global("own_tgid", &cfg.own_tgid, true)
            .override_global("exec_kinds", &exec_kinds, true)
            .override_global(
                "wakeup_bytes",
                &per_cpu_wakeup_bytes(cfg.wakeup_bytes, u64::from(cfg.buffer_mib) << 20, cpus),
                true,
            )
            .map_max_entries("events", cfg.buffer_mib << 20)
            .map_max_entries("scratch_map", cpus as u32)
            .map_max_entries(SELECTION_MAP, table::TABLE.len() as u32)
            .load(PROBE)
            .map_err(|e| ProbeError::Load(Box::new(e)))?;
        let tracefs = TRACEFS_DIRS
            .iter()
            .map(Path::new)
            .find(|d| d.join("events").is_dir())
            .ok_or(ProbeError::NoTracefs)?;
        let all = syscalls::all();
        let to_attach = if cfg.attach_all { &all[..] } else { cfg.kinds };
        let wanted = |k: Kind| cfg.kinds.iter().any(|i| i.kind == k);
        let mut attached = 0;
        let mut available = Vec::new();
        let mut loaded = std::collections::HashSet::new();
        // Filled before any program is attached, so none emits an
        // unselected kind even for an instant.
        let selected: Vec<Kind> = to_attach
            .iter()
            .filter(|i| wanted(i.kind))
            .map(|i| i.kind)
            .collect();
        write_selection(&mut ebpf, &selected)?;
        // Parsed on first use: only fentry programs need it.
        let mut btf = None;
        for info in to_attach {
            let progs = syscalls::programs(info);
            let missing = progs.iter().find_map(|a| match &a.hook {
                Hook::Tracepoint { category, name }
                    if !tracefs.join("events").join(category).join(name).is_dir() =>
                {
                    Some(ProbeError::NoTracepoint {
                        kind: info.name,
                        category,
                        tracepoint: name.clone(),
                    })
                }
                _ => None,
            });
            let mut attach_all_of_kind = || {
                for a in &progs {
                    // Programs shared by two kinds (execve's exit) attach once.
                    if loaded.insert(a.program.clone()) {
                        attach(&mut ebpf, a, info, &mut btf, cfg.log_dir.as_deref())?;
                        attached += 1;
                    }
                }
                Ok(())
            };
            let err = match missing {
                Some(err) => err,
                None => match attach_all_of_kind() {
                    Ok(()) => {
                        available.push(info.kind);
                        continue;
                    }
                    // Found missing only when loading: a kernel function.
                    Err(err @ ProbeError::NoFunction { .. }) => err,
                    Err(err @ ProbeError::FentryRefused { .. }) => {
                        if wanted(info.kind) && cfg.explicit {
                            let fallback = syscalls::compat_fallback();
                            attach(&mut ebpf, &fallback, info, &mut btf, cfg.log_dir.as_deref())?;
                            attached += 1;
                            available.push(info.kind);
                            tracing::warn!(
                                "{err}: capturing {} through raw tracepoint sys_enter instead, \
                                 which every syscall of the machine now passes",
                                info.name
                            );
                            continue;
                        }
                        err
                    }
                    Err(err) => return Err(err),
                },
            };
            // Without IA32 emulation there is nothing to capture: not an
            // error even when named (the shipped pipeline names it whenever
            // a rule needs it).
            let absent = matches!(
                err,
                ProbeError::NoFunction { .. } | ProbeError::FentryRefused { .. }
            );
            if !wanted(info.kind) {
                tracing::debug!("{} cannot be selected later: {err}", info.name);
            } else if cfg.explicit && !absent {
                return Err(err);
            } else if matches!(err, ProbeError::FentryRefused { .. }) {
                tracing::warn!(
                    "not capturing {}: {err}; name it in --syscalls to capture it through \
                     the raw syscall tracepoint, at a cost to every syscall",
                    info.name
                );
            } else {
                tracing::warn!("not capturing {}: {err}", info.name);
            }
        }
        // A kind selected but skipped (this kernel lacks it) stays off.
        let selected: Vec<Kind> = selected
            .into_iter()
            .filter(|k| available.contains(k))
            .collect();
        tracing::info!(attached, kinds = selected.len(), "probe attached");
        let state = SelectionState::new(selected.len());
        Ok(Probe {
            ebpf,
            attached,
            available,
            selected,
            state,
        })
    }

    /// The handle that changes the selection while the programs run. Only
    /// kinds whose programs are attached can be selected: all of them when
    /// the probe started with `attach_all`.
    pub fn selector(&mut self) -> Result<Selector, ProbeError> {
        let map = self
            .ebpf
            .take_map(SELECTION_MAP)
            .ok_or(ProbeError::MissingMap(SELECTION_MAP))?;
        let map = Array::try_from(map).map_err(|source| ProbeError::Map {
            name: SELECTION_MAP,
            source,
        })?;
        Ok(Selector {
            map,
            available: self.available.clone(),
            selected: self.selected.clone(),
            state: self.state.clone(),
        })
    }

    /// The selection's counters, which the selector keeps current.
    pub fn selection_state(&self) -> Arc<SelectionState> {
        self.state.clone()
    }

    /// The ring buffer of records.
    pub fn ring(&mut self) -> Result<RingBuf<MapData>, ProbeError> {
        let map = self
            .ebpf
            .take_map("events")
            .ok_or(ProbeError::MissingMap("events"))?;
        RingBuf::try_from(map).map_err(|source| ProbeError::Map {
            name: "events",
            source,
        })
    }

    /// The switch that stops every program from writing (see
    /// [`crate::stream::Source::stop_probe`]).
    pub fn control(&mut self) -> Result<Array<MapData, u32>, ProbeError> {
        let map = self
            .ebpf
            .take_map("control")
            .ok_or(ProbeError::MissingMap("control"))?;
        Array::try_from(map).map_err(|source| ProbeError::Map {
            name: "control",
            source,
        })
    }

    /// The per-CPU drop counters, indexed as `layout::DROP_REASONS`.
    pub fn drops(&mut self) -> Result<PerCpuArray<MapData, u64>, ProbeError> {
        let map = self
            .ebpf
            .take_map("drops")
            .ok_or(ProbeError::MissingMap("drops"))?;
        PerCpuArray::try_from(map).map_err(|source| ProbeError::Map {
            name: "drops",
            source,
        })
    }
}

/// Loads program `a` (of `info`'s kind) and attaches it. The kernel's BTF is
/// parsed into `btf` the first time an fentry program needs it.
fn attach(
    ebpf: &mut Ebpf,
    a: &Attach,
    info: &KindInfo,
    btf: &mut Option<Btf>,
    log_dir: Option<&Path>,
) -> Result<(), ProbeError> {
    let program = ebpf
        .program_mut(&a.program)
        .ok_or_else(|| ProbeError::MissingProgram(a.program.clone()))?;
    let program_error = |source| ProbeError::Program {
        program: a.program.clone(),
        source: Box::new(source),
    };
    match &a.hook {
        Hook::Tracepoint { category, name } => {
            let prog: &mut TracePoint = program.try_into().map_err(program_error)?;
            load_checked(prog.load(), &a.program, log_dir)?;
            prog.attach(category, name)
                .map_err(|source| ProbeError::Attach {
                    program: a.program.clone(),
                    category,
                    tracepoint: name.clone(),
                    source: Box::new(source),
                })?;
        }
        Hook::Fentry { function } => {
            let prog: &mut FEntry = program.try_into().map_err(program_error)?;
            match prog.load(function, kernel_btf(btf, a)?) {
                Err(ProgramError::Btf(BtfError::UnknownBtfTypeName { .. })) => {
                    return Err(ProbeError::NoFunction {
                        kind: info.name,
                        function,
                    })
                }
                // Refused before the verifier ran: trampolines are off.
                Err(ProgramError::LoadError {
                    io_error,
                    verifier_log,
                }) if io_error.raw_os_error() == Some(libc::EPERM)
                    && verifier_log.to_string().trim().is_empty() =>
                {
                    return Err(ProbeError::FentryRefused {
                        kind: info.name,
                        function,
                    })
                }
                res => load_checked(res, &a.program, log_dir)?,
            }
            prog.attach().map_err(|source| ProbeError::AttachFentry {
                program: a.program.clone(),
                function,
                source: Box::new(source),
            })?;
        }
        Hook::BtfTracepoint { name } => {
            let prog: &mut BtfTracePoint = program.try_into().map_err(program_error)?;
            load_checked(prog.load(name, kernel_btf(btf, a)?), &a.program, log_dir)?;
            prog.attach()
                .map_err(|source| ProbeError::AttachBtfTracepoint {
                    program: a.program.clone(),
                    tracepoint: name,
                    source: Box::new(source),
                })?;
        }
    }
    Ok(())
}

/// The kernel's BTF, parsed into `btf` on first use.
fn kernel_btf<'b>(btf: &'b mut Option<Btf>, a: &Attach) -> Result<&'b Btf, ProbeError> {
    match btf {
        Some(btf) => Ok(btf),
        None => Ok(
            btf.insert(Btf::from_sys_fs().map_err(|source| ProbeError::Btf {
                program: a.program.clone(),
                source,
            })?),
        ),
    }
}

/// The result of loading `program`, with a verifier rejection's log saved.
fn load_checked(
    res: Result<(), ProgramError>,
    program: &str,
    log_dir: Option<&Path>,
) -> Result<(), ProbeError> {
    match res {
        Ok(()) => Ok(()),
        Err(ProgramError::LoadError {
            io_error,
            verifier_log,
        }) => Err(save_verifier_log(
            log_dir,
            program,
            &verifier_log.to_string(),
            io_error,
        )),
        Err(source) => Err(ProbeError::Program {
            program: program.to_string(),
            source: Box::new(source),
        }),
    }
}

/// The probe's selection map: `u32` 1 at the ordinal of each kind emitted.
const SELECTION_MAP: &str = "selected";

/// Sets the selection map of a loaded probe to exactly `kinds`.
fn write_selection(ebpf: &mut Ebpf, kinds: &[Kind]) -> Result<(), ProbeError> {
    let map = ebpf
        .map_mut(SELECTION_MAP)
        .ok_or(ProbeError::MissingMap(SELECTION_MAP))?;
    let mut arr: Array<&mut MapData, u32> =
        Array::try_from(map).map_err(|source| ProbeError::Map {
            name: SELECTION_MAP,
            source,
        })?;
    for info in table::TABLE {
        let on = u32::from(kinds.contains(&info.kind));
        arr.set(info.kind as u32, on, 0)
            .map_err(|source| ProbeError::Map {
                name: SELECTION_MAP,
                source,
            })?;
    }
    Ok(())
}

/// A selection the probe cannot take.
#[derive(Debug, thiserror::Error)]
pub enum SelectError {
    #[error("{0} cannot be captured here (its programs are not attached: start capture with --control, or this kernel lacks the syscall)")]
    NotAttached(&'static str),
    #[error("updating the selection map: {0}")]
    Map(#[from] aya::maps::MapError),
}

/// Changes which kinds the attached programs emit. Owns the selection map,
/// so it can move to the control thread.
pub struct Selector {
    map: Array<MapData, u32>,
    available: Vec<Kind>,
    selected: Vec<Kind>,
    state: Arc<SelectionState>,
}

impl Selector {
    /// The selection's counters (updated by [`crate::selection::apply`]).
    pub fn state(&self) -> &SelectionState {
        &self.state
    }

    /// The kinds emitted now, in table order.
    pub fn selected(&self) -> &[Kind] {
        &self.selected
    }

    /// Whether `kind` may be selected.
    pub fn can_select(&self, kind: Kind) -> bool {
        self.available.contains(&kind)
    }

    /// Emits exactly `kinds` from now on. Refuses, changing nothing, if
    /// one of them is not attached. Newly selected kinds are switched on
    /// before the others are switched off, so a kind in both the old and
    /// the new selection is never off in between. (An update of an array
    /// element that exists does not fail in practice; if one did, the
    /// error is returned with the map partly updated.)
    pub fn set(&mut self, kinds: &[Kind]) -> Result<(), SelectError> {
        if let Some(k) = kinds.iter().find(|k| !self.can_select(**k)) {
            return Err(SelectError::NotAttached(table::info(*k).name));
        }
        for &k in kinds.iter().filter(|k| !self.selected.contains(k)) {
            self.map.set(k as u32, 1, 0)?;
        }
        for &k in self.selected.iter().filter(|k| !kinds.contains(k)) {
            self.map.set(k as u32, 0, 0)?;
        }
        self.selected = table::TABLE
            .iter()
            .map(|i| i.kind)
            .filter(|k| kinds.contains(k))
            .collect();
        Ok(())
    }
}

/// Smallest per-CPU wake-up threshold: below a few records per wake-up,
/// the wake-ups would cost more than the events.
const MIN_WAKEUP_BYTES_PER_CPU: u64 = 4096;

/// The ring buffer may fill to 1/this before a wake-up. The reader's timed
/// poll drains it at least every [`crate::stream::POLL_TIMEOUT_MS`] anyway,
/// so wake-ups only guard against a full ring, and each one costs the
/// writing CPU dearly here (an interrupt, then the reader's wake-up IPI):
/// at 128 KiB per wake-up they slowed a close() storm by about 5%, at a
/// quarter of the default ring by nothing measurable.
const WAKEUP_RING_DIVISOR: u64 = 4;

/// Each CPU's share of the ring-wide wake-up threshold: the larger of
/// `wakeup_bytes` and the ring's [`WAKEUP_RING_DIVISOR`]th. The probe counts
/// per CPU because asking the ring how much is unread costs a helper call
/// and a cache line the reader writes, on every event.
fn per_cpu_wakeup_bytes(wakeup_bytes: u64, ring_bytes: u64, cpus: usize) -> u64 {
    let ring_wide = wakeup_bytes.max(ring_bytes / WAKEUP_RING_DIVISOR);
    (ring_wide / cpus.max(1) as u64).max(MIN_WAKEUP_BYTES_PER_CPU)
}

/// Reports a rejected program's verifier log: into a new file named after
/// the program in `dir` when one was asked for, else to the tracing output.
///
/// capture is still root here, so the file is created only if nothing of
/// that name exists (`O_CREAT|O_EXCL`, and `O_NOFOLLOW`): a symlink or file
/// planted at the name makes saving fail rather than write through it. No
/// shared directory is used unasked.
fn save_verifier_log(
    dir: Option<&Path>,
    program: &str,
    log: &str,
    source: io::Error,
) -> ProbeError {
    let Some(dir) = dir else {
        tracing::error!("verifier log of {program}:\n{log}");
        return ProbeError::VerifierLogged {
            program: program.to_string(),
            source,
        };
    };
    let path = dir.join(format!(
        "kestrel-verifier-{program}-{}.log",
        std::process::id()
    ));
    match write_new_file(&path, log) {
        Ok(()) => ProbeError::Verifier {
            program: program.to_string(),
            log: path,
            source,
        },
        Err(save_error) => ProbeError::VerifierNoLog {
            program: program.to_string(),
            save_error,
            source,
        },
    }
}

/// Mode of a saved verifier log: it describes the probe's internals, for
/// the user who ran capture only.
const VERIFIER_LOG_MODE: u32 = 0o600;

/// Writes `text` to `path`, which must not exist (not even as a symlink).
fn write_new_file(path: &Path, text: &str) -> io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .mode(VERIFIER_LOG_MODE)
        .open(path)?;
    f.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wakeup_threshold_is_shared_between_cpus_with_a_floor() {
        // A quarter of a 16 MiB ring, split between 2 CPUs.
        assert_eq!(per_cpu_wakeup_bytes(256 << 10, 16 << 20, 2), 2 << 20);
        // A small ring: the given figure.
        assert_eq!(per_cpu_wakeup_bytes(256 << 10, 1 << 20, 2), 128 << 10);
        assert_eq!(per_cpu_wakeup_bytes(256 << 10, 1 << 20, 0), 256 << 10);
        assert_eq!(
            per_cpu_wakeup_bytes(256 << 10, 1 << 20, 1024),
            MIN_WAKEUP_BYTES_PER_CPU
        );
    }

    /// A fresh directory of this test's own, removed when dropped.
    struct TestDir(PathBuf);

    impl TestDir {
        fn new(tag: &str) -> TestDir {
            let d = std::env::temp_dir()
                .join(format!("kestrel-probe-test-{tag}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&d);
            std::fs::create_dir(&d).expect("test directory");
            TestDir(d)
        }
    }

    impl Drop for TestDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn log_name(program: &str) -> String {
        format!("kestrel-verifier-{program}-{}.log", std::process::id())
    }

    #[test]
    fn verifier_log_is_saved_where_asked_and_named_in_the_error() {
        let dir = TestDir::new("saved");
        let err = save_verifier_log(
            Some(&dir.0),
            "exit_test",
            "R1 invalid mem access",
            io::Error::from_raw_os_error(13),
        );
        let ProbeError::Verifier { log, .. } = &err else {
            panic!("expected a saved log, got {err}")
        };
        assert_eq!(
            std::fs::read_to_string(log).unwrap(),
            "R1 invalid mem access"
        );
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(log).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, VERIFIER_LOG_MODE);
        assert!(err.to_string().contains(&log.display().to_string()));
    }

    /// Without --verifier-log-dir nothing is written to the shared temp
    /// directory: a symlink planted at the name a log once had there is
    /// left alone, and so is its target.
    #[test]
    fn verifier_log_without_a_directory_writes_no_file() {
        let dir = TestDir::new("default");
        let target = dir.0.join("victim");
        std::fs::write(&target, "precious").unwrap();
        let planted = std::env::temp_dir().join(log_name("exit_planted_default"));
        let _ = std::fs::remove_file(&planted);
        std::os::unix::fs::symlink(&target, &planted).unwrap();
        let err = save_verifier_log(
            None,
            "exit_planted_default",
            "R1 invalid mem access",
            io::Error::from_raw_os_error(13),
        );
        let followed = std::fs::read_to_string(&target).unwrap();
        let _ = std::fs::remove_file(&planted);
        assert!(
            matches!(err, ProbeError::VerifierLogged { .. }),
            "expected the log on stderr only, got {err}"
        );
        assert_eq!(followed, "precious", "the planted symlink was followed");
    }

    /// In the directory asked for, a symlink or file already at the log's
    /// name is not written through: saving fails and says so.
    #[test]
    fn verifier_log_does_not_follow_a_planted_symlink() {
        let dir = TestDir::new("planted");
        let target = dir.0.join("victim");
        std::fs::write(&target, "precious").unwrap();
        let dangling = dir.0.join("created-by-capture");
        for (program, points_to) in [("exit_a", &target), ("exit_b", &dangling)] {
            std::os::unix::fs::symlink(points_to, dir.0.join(log_name(program))).unwrap();
            let err = save_verifier_log(
                Some(&dir.0),
                program,
                "R1 invalid mem access",
                io::Error::from_raw_os_error(13),
            );
            let ProbeError::VerifierNoLog { save_error, .. } = &err else {
                panic!("{program}: expected saving to fail, got {err}")
            };
            assert_eq!(save_error.kind(), io::ErrorKind::AlreadyExists, "{program}");
        }
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "precious");
        assert!(
            !dangling.exists(),
            "a dangling symlink's target was created"
        );
    }
}
