//! Credentials: setuid/setgid and their re/res variants, and capset.

use schema::Kind;

use super::Call;
use crate::args::Arg;
use crate::engine::Enricher;

/// A uid/gid parameter that may be -1 ("unchanged").
fn id_param(v: Option<u64>) -> Option<u32> {
    v.filter(|&v| v as u32 != u32::MAX).map(|v| v as u32)
}

impl Enricher {
    /// setuid, setreuid, setresuid. setuid sets the real uid too only for
    /// a privileged caller, as the kernel does.
    pub(super) fn apply_uids(&mut self, c: &Call<'_, '_>) {
        if !c.ok() {
            return;
        }
        let Some(p) = self.threads.proc_of_mut(c.tid) else {
            return;
        };
        if c.kind == Kind::Setuid {
            if let Some(u) = id_param(c.params.uint(Arg::Uid)) {
                if p.euid == 0 {
                    p.uid = u;
                }
                p.euid = u;
            }
        } else {
            if let Some(u) = id_param(c.params.uint(Arg::Ruid)) {
                p.uid = u;
            }
            if let Some(u) = id_param(c.params.uint(Arg::Euid)) {
                p.euid = u;
            }
        }
    }

    /// setgid, setregid, setresgid; setgid sets the real gid too only for
    /// a privileged caller.
    pub(super) fn apply_gids(&mut self, c: &Call<'_, '_>) {
        if !c.ok() {
            return;
        }
        let Some(p) = self.threads.proc_of_mut(c.tid) else {
            return;
        };
        if c.kind == Kind::Setgid {
            if let Some(g) = id_param(c.params.uint(Arg::Gid)) {
                if p.euid == 0 {
                    p.gid = g;
                }
                p.egid = g;
            }
        } else {
            if let Some(g) = id_param(c.params.uint(Arg::Rgid)) {
                p.gid = g;
            }
            if let Some(g) = id_param(c.params.uint(Arg::Egid)) {
                p.egid = g;
            }
        }
    }

    /// capset: the sets it gives replace the process's.
    pub(super) fn apply_capset(&mut self, c: &Call<'_, '_>) {
        if !c.ok() {
            return;
        }
        let Some(p) = self.threads.proc_of_mut(c.tid) else {
            return;
        };
        let params = c.params;
        p.cap_inheritable = params
            .uint(Arg::CapInheritable)
            .unwrap_or(p.cap_inheritable);
        p.cap_permitted = params.uint(Arg::CapPermitted).unwrap_or(p.cap_permitted);
        p.cap_effective = params.uint(Arg::CapEffective).unwrap_or(p.cap_effective);
    }
}
