//! capture's privilege drop, applied once the probe is attached and the /proc
//! snapshot is written: from then on capture only drains a ring buffer into a
//! pipe, so it should be able to do nothing else.
//!
//! [`lock_down`] applies, in this order:
//! 1. `no_new_privs`, which Landlock and seccomp require of an unprivileged
//!    caller and which makes any later `execve` unable to gain privileges;
//! 2. Landlock with every right the running kernel knows handled and no rule,
//!    so no file can be opened, created or executed, no TCP port bound or
//!    connected, and no signal or abstract socket reach outside the process
//!    ([`landlock`]);
//! 3. every capability dropped: bounding set (while `CAP_SETPCAP` is still
//!    held, with the securebits locked so that root cannot regain them;
//!    left as it is when capture was started without `CAP_SETPCAP`, as a
//!    least-privileged unit or container starts it), ambient, effective,
//!    permitted, inheritable ([`caps`]);
//! 4. a seccomp allowlist of what the ring-buffer loop, std and the allocator
//!    need; `bpf` only for map element commands, no stat of a path, no
//!    `sendmsg` (descriptor passing); everything else fails with `EPERM`
//!    rather than killing the process ([`seccomp`]).
//!
//! It is not a general sandboxing library: the allowlist is capture's own.
//! It also does not reach threads other than the caller (capabilities and
//! Landlock are per thread), which is why [`lock_down`] refuses to run in a
//! process that has more than one thread.
//!
//! What the caller must do first: everything that needs a file or a new
//! resource. Open the input/output endpoints, build any tokio runtime as
//! current-thread (its blocking pool may start threads later; they inherit
//! the locked-down state), call `aya::util::nr_cpus()` on the reading thread,
//! and read the hostname once (`schema::hostname()` reads /proc, which
//! Landlock then denies).

mod caps;
mod landlock;
mod seccomp;
#[cfg(test)]
mod tests;

use std::io;

/// What [`lock_down`] should insist on.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Fail when the kernel has no Landlock (not built in, or disabled at
    /// boot) instead of going on with the other three layers.
    pub require_landlock: bool,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            require_landlock: true,
        }
    }
}

/// Why the privilege drop failed. capture must not go on streaming when it
/// does: a half-applied sandbox is reported, never ignored.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("cannot lock down a process with {threads} threads: capabilities and Landlock apply to the calling thread only; call lock_down before starting other threads")]
    MultiThreaded { threads: usize },
    #[error("cannot count this process's threads in /proc/self/task: {0}")]
    Threads(#[source] io::Error),
    #[error("prctl(PR_SET_NO_NEW_PRIVS) failed: {0}")]
    NoNewPrivs(#[source] io::Error),
    #[error("Landlock is not available on this kernel ({0}); it is required")]
    LandlockUnavailable(#[source] io::Error),
    #[error("Landlock {step} failed: {source}")]
    Landlock {
        step: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("dropping capabilities failed at {step}: {source}")]
    Capabilities {
        step: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("building the seccomp filter failed: {0}")]
    SeccompBuild(String),
    #[error("installing the seccomp filter failed: {0}")]
    SeccompInstall(String),
}

/// Drops every privilege capture does not need once it streams events.
/// Irreversible; call it once, from the only thread of the process.
pub fn lock_down(cfg: &SandboxConfig) -> Result<(), SandboxError> {
    let threads = thread_count().map_err(SandboxError::Threads)?;
    if threads != 1 {
        return Err(SandboxError::MultiThreaded { threads });
    }
    set_no_new_privs()?;
    let landlock = landlock::restrict(cfg.require_landlock)?;
    let bounding = caps::drop_all()?;
    seccomp::install()?;
    tracing::info!(?landlock, ?bounding, "privileges dropped");
    Ok(())
}

fn thread_count() -> io::Result<usize> {
    Ok(std::fs::read_dir("/proc/self/task")?.count())
}

fn set_no_new_privs() -> Result<(), SandboxError> {
    // SAFETY: prctl with integer arguments only.
    let rc = unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
    if rc != 0 {
        return Err(SandboxError::NoNewPrivs(io::Error::last_os_error()));
    }
    Ok(())
}
