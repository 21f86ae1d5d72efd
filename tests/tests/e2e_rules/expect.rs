//! What each trigger must produce: the rule that fires and the output
//! fields that identify the trigger's own event. Also the rule file that
//! scopes every rule to one process tree for the benign workload.

use std::fmt;
use std::path::Path;

use super::pipeline::Alert;

/// An alert that must be seen: its rule, and output fields with exact values.
pub struct Expect {
    rule: String,
    fields: Vec<(String, String)>,
}

impl Expect {
    pub fn new(rule: &str) -> Expect {
        Expect {
            rule: rule.to_string(),
            fields: Vec::new(),
        }
    }

    pub fn field(mut self, name: &str, value: &str) -> Expect {
        self.fields.push((name.to_string(), value.to_string()));
        self
    }

    pub fn matches(&self, a: &Alert) -> bool {
        a.rule() == self.rule
            && self
                .fields
                .iter()
                .all(|(k, v)| a.field(k).as_deref() == Some(v.as_str()))
    }
}

impl fmt::Display for Expect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.rule)?;
        for (k, v) in &self.fields {
            write!(f, " {k}={v:?}")?;
        }
        Ok(())
    }
}

fn by(rule: &str, proc_name: &str) -> Expect {
    Expect::new(rule).field("proc.name", proc_name)
}

/// The alerts of the host triggers. `dir` is the scratch directory passed to
/// the triggers that take one.
pub fn host(dir: &str) -> Vec<Expect> {
    let mut expected = vec![
        by(
            "Write below a system binary or boot directory",
            "kt-binwrite",
        )
        .field("fd.name", "/usr/local/bin/kt-probe-binary"),
        by("Write below /etc by an unexpected program", "kt-etcwrite")
            .field("fd.name", "/etc/kt-probe.conf"),
        by(
            "Credential file read by an unexpected program",
            "kt-readshadow",
        )
        .field("fd.name", "/etc/shadow"),
        by("SSH private key read by an unexpected program", "kt-sshkey")
            .field("fd.name", &format!("{dir}/.ssh/id_ed25519")),
        by(
            "Cloud or Kubernetes credentials read by an unexpected program",
            "kt-cloudcreds",
        )
        .field("fd.name", &format!("{dir}/.aws/credentials")),
        by("Symlink to a sensitive file created", "kt-symlink")
            .field("evt.arg.target", "/etc/shadow")
            .field("evt.arg.linkpath", &format!("{dir}/shadow-link")),
        by("Hard link to a sensitive file created", "kt-hardlink")
            .field("evt.arg.oldpath", "/etc/shadow")
            .field("evt.arg.newpath", "/etc/.kt-shadow-link"),
        by(
            "Permissions or owner of a sensitive file changed",
            "kt-permchange",
        )
        .field("evt.type", "fchmodat"),
        by(
            "Permissions or owner of a sensitive file changed",
            "kt-permchange",
        )
        .field("evt.type", "fchownat"),
        by("Setuid or setgid bit set on a file", "kt-setuidbit")
            .field("evt.arg.filename", &format!("{dir}/kt-suid-file")),
        by("Log file truncated or deleted", "kt-logtamper")
            .field("fd.name", "/var/log/kt-probe.log"),
        by("Shell history deleted or truncated", "kt-history")
            .field("evt.arg.linkpath", &format!("{dir}/.bash_history")),
        by(
            "Namespace change by an unexpected host program",
            "kt-unshare",
        )
        .field("evt.type", "unshare"),
        by(
            "Namespace change by an unexpected host program",
            "kt-unshare",
        )
        .field("evt.type", "setns"),
        by("Cgroup release_agent written", "kt-relagent")
            .field("fd.name", "/sys/fs/cgroup/pids/release_agent"),
        by(
            "Network socket duplicated onto standard input or output",
            "kt-revshell",
        ),
        by("Reverse shell", "sh").field("proc.cmdline", "sh -c true"),
        Expect::new("Program run from memory").field("proc.pname", "kt-memfd"),
        by("Ptrace attach to another process", "kt-ptrace")
            .field("evt.arg.request", "PTRACE_ATTACH"),
        by("BPF program loaded by an unexpected program", "kt-bpfload"),
        // Enabled for this test (it is off by default: see the rule).
        by("32-bit syscall ABI used", "kt-compat32")
            .field("evt.arg.nr", "5")
            .field("evt.arg.path", "/etc/hostname"),
    ];
    // A kernel built without module support has no module syscalls to
    // watch: there is nothing to detect, and capture cannot attach there.
    for call in ["init_module", "finit_module"] {
        if super::pipeline::kernel_has(call) {
            expected.push(by("Kernel module load attempted", "kt-modload").field("evt.type", call));
        } else {
            eprintln!("NOTE: this kernel has no {call} (no module support): the module rule is proved by its fixtures only");
        }
    }
    expected
}

/// The short ids of the test's containers.
pub struct ContainerIds<'a> {
    /// Runs kt-unshare, kt-mount, kt-listen, kt-etcwrite, kt-binwrite,
    /// kt-tmpexec from /tmp, kt-memfd and kt-revshell from a shell, then
    /// gets a second shell by `exec`.
    pub busy: &'a str,
    /// Privileged; runs kt-sysctl and kt-capset.
    pub privileged: &'a str,
    /// Has the host's /etc mounted.
    pub host_mount: &'a str,
    /// Runs the setuid-root kt-suidroot as uid 1000.
    pub setuid: &'a str,
    /// Shares the host's network; runs kt-connect.
    pub outbound: &'a str,
}

/// The alerts of the container triggers.
pub fn containers(ids: &ContainerIds<'_>) -> Vec<Expect> {
    let inside =
        |rule: &str, id: &str, proc_name: &str| by(rule, proc_name).field("container.id", id);
    vec![
        Expect::new("Privileged container started").field("container.id", ids.privileged),
        inside(
            "Kernel parameter written from a container",
            ids.privileged,
            "kt-sysctl",
        )
        .field("fd.name", "/proc/sys/net/ipv4/ip_forward"),
        Expect::new("Container started with a sensitive host path mounted")
            .field("container.id", ids.host_mount),
        inside(
            "Setuid program gave root to a container process",
            ids.setuid,
            "kt-suidroot",
        )
        .field("evt.arg.uid", "1000"),
        inside(
            "Dangerous capability enabled in a container",
            ids.privileged,
            "kt-capset",
        ),
        inside("Namespace change in a container", ids.busy, "kt-unshare")
            .field("evt.type", "unshare"),
        inside("Namespace change in a container", ids.busy, "kt-unshare")
            .field("evt.type", "setns"),
        inside("Filesystem mounted in a container", ids.busy, "kt-mount")
            .field("evt.arg.dir", "/tmp/kt-mnt"),
        inside(
            "Listening socket opened in a container",
            ids.busy,
            "kt-listen",
        ),
        inside(
            "Network socket duplicated onto standard input or output",
            ids.busy,
            "kt-revshell",
        ),
        inside(
            "Write below /etc by an unexpected program",
            ids.busy,
            "kt-etcwrite",
        )
        .field("fd.name", "/etc/kt-probe.conf"),
        inside(
            "Write below a system binary or boot directory",
            ids.busy,
            "kt-binwrite",
        )
        .field("fd.name", "/usr/local/bin/kt-probe-binary"),
        inside(
            "Program run from a temporary directory",
            ids.busy,
            "kt-tmpexec",
        )
        .field("proc.exepath", "/tmp/kt-tmpexec"),
        Expect::new("Program run from memory")
            .field("proc.pname", "kt-memfd")
            .field("container.id", ids.busy),
        inside("Reverse shell", ids.busy, "sh").field("proc.cmdline", "sh -c true"),
        inside("Shell spawned in a container", ids.busy, "sh")
            .field("proc.cmdline", "sh -c exit 0"),
        inside(
            "Unexpected outbound connection from a container",
            ids.outbound,
            "kt-connect",
        ),
    ]
}

/// A rule file that narrows every rule of the `*.yaml` files in `rules` to
/// events of processes named `root` or descended from one, by appending to
/// each rule's condition (Falco's `override: {condition: append}`).
pub fn scope_to_ancestor(rules: &Path, root: &str) -> String {
    let mut files: Vec<_> = std::fs::read_dir(rules)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p: &std::path::PathBuf| p.extension().and_then(|e| e.to_str()) == Some("yaml"));
    files.sort();
    let mut out =
        String::from("# Generated by e2e_rules.rs: scopes every rule to one process tree.\n");
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        for name in text.lines().filter_map(|l| l.strip_prefix("- rule: ")) {
            out.push_str(&format!(
                "\n- rule: {name}\n  condition: and (proc.name = \"{root}\" or proc.aname = \"{root}\")\n  override:\n    condition: append\n"
            ));
        }
    }
    out
}
