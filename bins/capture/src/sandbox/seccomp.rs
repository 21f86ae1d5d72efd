//! The seccomp allowlist: the system calls capture's streaming loop, Rust's
//! std, glibc's allocator and threads, and tokio's reactor make once the
//! probe is attached (as observed with strace on a locked-down capture with
//! every output kind and the control socket). Anything else fails with
//! `EPERM`: a denied call in some rarely taken path then shows up as an
//! error message, not a dead capture.
//!
//! Two calls a stream loop might be expected to have are refused on
//! purpose: `sendmsg`, which could pass a descriptor out (`SCM_RIGHTS`),
//! and `newfstatat`/`statx`, which stat any path whatever their flags say.
//! So `std::fs::File::metadata` fails after the lock-down; the `fstat`
//! syscall itself works on a descriptor held.
//!
//! Two filters, because one seccomp filter has one action on a match:
//! the first answers `clone3` with `ENOSYS` (so glibc falls back to `clone`,
//! whose flags a classic BPF filter can inspect, unlike clone3's struct), the
//! second is the allowlist. The kernel runs both and keeps the strictest
//! answer, so `clone3` gets `ENOSYS` even though the allowlist lets it pass.

use std::collections::BTreeMap;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};

use super::SandboxError;

/// `bpf(2)` commands capture still needs: reading and resetting counters in
/// maps it already holds. `BPF_PROG_LOAD`, `BPF_MAP_CREATE`, `BPF_OBJ_GET`…
/// are all refused.
pub const ALLOWED_BPF_COMMANDS: [u64; 4] = [
    1, // BPF_MAP_LOOKUP_ELEM
    2, // BPF_MAP_UPDATE_ELEM
    3, // BPF_MAP_DELETE_ELEM
    4, // BPF_MAP_GET_NEXT_KEY
];

/// `fcntl(2)` commands std and tokio use on descriptors they already hold.
const ALLOWED_FCNTL_COMMANDS: [i32; 4] =
    [libc::F_GETFD, libc::F_SETFD, libc::F_GETFL, libc::F_SETFL];

/// Calls allowed with any arguments.
const ALLOWED_ANY_ARGS: &[libc::c_long] = &[
    // Moving frames: the pipe or socket out, stdin in tests.
    libc::SYS_read,
    libc::SYS_readv,
    libc::SYS_write,
    libc::SYS_writev,
    // std writes to sockets with send(MSG_NOSIGNAL), i.e. sendto(2): the
    // `unix:` and `listen:` outputs and the control replies need it.
    // sendmsg is not here: it can pass descriptors out (SCM_RIGHTS), and a
    // filter cannot see its ancillary data.
    libc::SYS_sendto,
    libc::SYS_close,
    // stat of a descriptor already held. newfstatat and statx are not
    // here: glibc's fstat() is newfstatat(fd, "", AT_EMPTY_PATH), which a
    // filter cannot tell from a stat of any path (it cannot read the
    // string, and AT_EMPTY_PATH with a non-empty path is an ordinary
    // lookup), and nothing capture runs after the lock-down stats.
    libc::SYS_fstat,
    // Waiting for the ring buffer and for signals.
    libc::SYS_poll,
    libc::SYS_ppoll,
    libc::SYS_epoll_wait,
    libc::SYS_epoll_pwait,
    libc::SYS_epoll_pwait2,
    libc::SYS_epoll_ctl,
    // Time.
    libc::SYS_clock_gettime,
    libc::SYS_clock_getres,
    libc::SYS_gettimeofday,
    libc::SYS_nanosleep,
    libc::SYS_clock_nanosleep,
    // Memory: the allocator (mmap and mprotect are in the conditional list).
    libc::SYS_brk,
    libc::SYS_munmap,
    libc::SYS_mremap,
    libc::SYS_madvise,
    // Threads and their synchronisation.
    libc::SYS_futex,
    libc::SYS_sched_yield,
    libc::SYS_sched_getaffinity,
    libc::SYS_set_robust_list,
    libc::SYS_rseq,
    libc::SYS_clone3,
    libc::SYS_gettid,
    libc::SYS_getpid,
    libc::SYS_exit,
    libc::SYS_exit_group,
    // Signals: handlers for SIGINT/SIGTERM, and abort() on a panic.
    libc::SYS_rt_sigaction,
    libc::SYS_rt_sigprocmask,
    libc::SYS_rt_sigreturn,
    libc::SYS_rt_sigtimedwait,
    libc::SYS_sigaltstack,
    libc::SYS_restart_syscall,
    libc::SYS_tgkill,
    // HashMap's random seed.
    libc::SYS_getrandom,
    // Connections on sockets bound before the lock-down: the control
    // thread's (`--control`), and the next reader of a `listen:`/`systemd`
    // output when the first goes away. Landlock still forbids binding or
    // connecting anything new.
    libc::SYS_accept4,
    // tokio reads its Unix streams with recv(2), i.e. recvfrom(2).
    libc::SYS_recvfrom,
];

fn cond(arg: u8, op: SeccompCmpOp, value: u64) -> Result<SeccompCondition, SandboxError> {
    SeccompCondition::new(arg, SeccompCmpArgLen::Dword, op, value)
        .map_err(|e| SandboxError::SeccompBuild(e.to_string()))
}

fn rule(conditions: Vec<SeccompCondition>) -> Result<SeccompRule, SandboxError> {
    SeccompRule::new(conditions).map_err(|e| SandboxError::SeccompBuild(e.to_string()))
}

/// One rule per allowed value of argument `arg`.
fn one_of(arg: u8, values: &[u64]) -> Result<Vec<SeccompRule>, SandboxError> {
    values
        .iter()
        .map(|&v| rule(vec![cond(arg, SeccompCmpOp::Eq, v)?]))
        .collect()
}

/// Requires the bits of `mask` in argument `arg` to equal `bits`.
fn masked(arg: u8, mask: u64, bits: u64) -> Result<Vec<SeccompRule>, SandboxError> {
    Ok(vec![rule(vec![cond(
        arg,
        SeccompCmpOp::MaskedEq(mask),
        bits,
    )?])?])
}

fn arch() -> Result<TargetArch, SandboxError> {
    std::env::consts::ARCH
        .try_into()
        .map_err(|e: seccompiler::BackendError| SandboxError::SeccompBuild(e.to_string()))
}

/// The allowlist filter: the calls above, plus the conditional ones.
fn allowlist() -> Result<BpfProgram, SandboxError> {
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = ALLOWED_ANY_ARGS
        .iter()
        .map(|&nr| (nr, Vec::new()))
        .collect();
    let prot_exec = libc::PROT_EXEC as u64;
    // Memory, but never executable: no code can be brought in.
    rules.insert(libc::SYS_mmap, masked(2, prot_exec, 0)?);
    rules.insert(libc::SYS_mprotect, masked(2, prot_exec, 0)?);
    // New threads only (tokio's blocking pool), never a new process.
    let clone_thread = libc::CLONE_THREAD as u64;
    rules.insert(libc::SYS_clone, masked(0, clone_thread, clone_thread)?);
    rules.insert(libc::SYS_bpf, one_of(0, &ALLOWED_BPF_COMMANDS)?);
    let fcntl: Vec<u64> = ALLOWED_FCNTL_COMMANDS.iter().map(|&c| c as u64).collect();
    rules.insert(libc::SYS_fcntl, one_of(1, &fcntl)?);
    // std's set_nonblocking.
    rules.insert(libc::SYS_ioctl, one_of(1, &[libc::FIONBIO])?);
    // The control thread's check of who connected (`SO_PEERCRED`), and
    // nothing else a socket can tell or be told.
    rules.insert(
        libc::SYS_getsockopt,
        vec![rule(vec![
            cond(1, SeccompCmpOp::Eq, libc::SOL_SOCKET as u64)?,
            cond(2, SeccompCmpOp::Eq, libc::SO_PEERCRED as u64)?,
        ])?],
    );
    // Naming threads.
    rules.insert(libc::SYS_prctl, one_of(0, &[libc::PR_SET_NAME as u64])?);
    build(
        rules,
        SeccompAction::Errno(libc::EPERM as u32),
        SeccompAction::Allow,
    )
}

/// The filter that makes `clone3` look absent.
fn clone3_enosys() -> Result<BpfProgram, SandboxError> {
    let rules = BTreeMap::from([(libc::SYS_clone3, Vec::new())]);
    build(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::ENOSYS as u32),
    )
}

fn build(
    rules: BTreeMap<i64, Vec<SeccompRule>>,
    mismatch: SeccompAction,
    matched: SeccompAction,
) -> Result<BpfProgram, SandboxError> {
    let filter = SeccompFilter::new(rules, mismatch, matched, arch()?)
        .map_err(|e| SandboxError::SeccompBuild(e.to_string()))?;
    filter
        .try_into()
        .map_err(|e: seccompiler::BackendError| SandboxError::SeccompBuild(e.to_string()))
}

/// Installs both filters on the calling thread. Both programs are built
/// before either is installed, so the allocation they need cannot be denied.
pub fn install() -> Result<(), SandboxError> {
    let first = clone3_enosys()?;
    let second = allowlist()?;
    for prog in [&first, &second] {
        seccompiler::apply_filter(prog).map_err(|e| SandboxError::SeccompInstall(e.to_string()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_build_for_this_arch() {
        assert!(allowlist().expect("allowlist builds").len() > ALLOWED_ANY_ARGS.len());
        assert!(!clone3_enosys().expect("clone3 filter builds").is_empty());
    }
}
