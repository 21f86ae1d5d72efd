//! Parsing what /proc says about one process and its threads: `stat`,
//! `status`, `cmdline`, `cgroup`, `loginuid`. Pure functions over the file
//! contents, so they are tested on fixed text; the reading is in
//! [`super::read`].

/// Most bytes of argv kept (argv[0] included); the rest is dropped and the
/// truncation flagged, as the probe does for execve.
pub const MAX_ARGS_BYTES: usize = 4096;

/// Most argv entries kept, for processes with many tiny arguments.
pub const MAX_ARGS: usize = 256;

/// Most cgroup lines kept (one per v1 hierarchy, one for v2).
pub const MAX_CGROUP_LINES: usize = 32;

/// The ids and sets a thread's `stat` and `status` give.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskInfo {
    pub comm: Vec<u8>,
    pub ppid: i32,
    pub pgid: i32,
    pub sid: i32,
    pub tty: u32,
    /// Clock ticks since boot at which the thread's process started.
    pub start_ticks: u64,
    /// Real, effective uid and gid.
    pub uid: u32,
    pub euid: u32,
    pub gid: u32,
    pub egid: u32,
    pub cap_inheritable: u64,
    pub cap_permitted: u64,
    pub cap_effective: u64,
    /// Ids in the innermost pid namespace (last column of NSpid & co).
    pub vtid: i32,
    pub vpid: i32,
    pub vpgid: i32,
}

/// Fills the `stat` part: `pid (comm) state ppid pgrp session tty_nr … starttime`.
/// The comm may hold spaces and parentheses, so it ends at the last `)`.
pub fn parse_stat(stat: &[u8], t: &mut TaskInfo) -> Option<()> {
    let open = stat.iter().position(|&b| b == b'(')?;
    let close = stat.iter().rposition(|&b| b == b')')?;
    t.comm = stat.get(open + 1..close)?.to_vec();
    let rest = std::str::from_utf8(stat.get(close + 1..)?).ok()?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    t.ppid = f.get(1)?.parse().ok()?;
    t.pgid = f.get(2)?.parse().ok()?;
    t.sid = f.get(3)?.parse().ok()?;
    t.tty = f.get(4)?.parse::<i64>().ok()? as u32;
    t.start_ticks = f.get(19)?.parse().ok()?;
    Some(())
}

/// Fills the `status` part: Uid, Gid, Cap*, NSpid, NStgid, NSpgid.
pub fn parse_status(status: &[u8], t: &mut TaskInfo) {
    let text = String::from_utf8_lossy(status);
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let nums = || {
            value
                .split_whitespace()
                .filter_map(|v| v.parse::<i64>().ok())
        };
        let hex = || u64::from_str_radix(value.trim(), 16).unwrap_or(0);
        match key {
            "Uid" => {
                let v: Vec<i64> = nums().collect();
                t.uid = v.first().copied().unwrap_or(0) as u32;
                t.euid = v.get(1).copied().unwrap_or(0) as u32;
            }
            "Gid" => {
                let v: Vec<i64> = nums().collect();
                t.gid = v.first().copied().unwrap_or(0) as u32;
                t.egid = v.get(1).copied().unwrap_or(0) as u32;
            }
            "CapInh" => t.cap_inheritable = hex(),
            "CapPrm" => t.cap_permitted = hex(),
            "CapEff" => t.cap_effective = hex(),
            "NSpid" => t.vtid = nums().next_back().unwrap_or(0) as i32,
            "NStgid" => t.vpid = nums().next_back().unwrap_or(0) as i32,
            "NSpgid" => t.vpgid = nums().next_back().unwrap_or(0) as i32,
            _ => {}
        }
    }
}

/// argv from `cmdline`: argv[0], the rest, and whether the bounds cut it.
pub fn parse_cmdline(cmdline: &[u8]) -> (Vec<u8>, Vec<Vec<u8>>, bool) {
    let body = cmdline.strip_suffix(b"\0").unwrap_or(cmdline);
    if body.is_empty() {
        return (Vec::new(), Vec::new(), false);
    }
    let mut budget = MAX_ARGS_BYTES;
    let mut truncated = false;
    let mut argv: Vec<Vec<u8>> = Vec::new();
    for arg in body.split(|&b| b == 0) {
        if argv.len() == MAX_ARGS || budget == 0 {
            truncated = true;
            break;
        }
        let take = arg.len().min(budget);
        truncated |= take < arg.len();
        argv.push(arg[..take].to_vec());
        budget -= take;
    }
    let mut it = argv.into_iter();
    let argv0 = it.next().unwrap_or_default();
    (argv0, it.collect(), truncated)
}

/// `hierarchy-id:controllers:path` lines as `controllers:path`.
pub fn parse_cgroups(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.split_once(':').map(|(_, rest)| rest.to_string()))
        .take(MAX_CGROUP_LINES)
        .collect()
}

/// `loginuid`: a decimal number; unset is u32::MAX, as the kernel writes it.
pub fn parse_loginuid(text: &str) -> u32 {
    text.trim()
        .parse::<u64>()
        .map(|v| v as u32)
        .unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_a_hostile_comm() {
        let stat = b"4242 (a) b (c) S 1 4242 4000 34816 4242 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1 2 3";
        let mut t = TaskInfo::default();
        parse_stat(stat, &mut t).expect("parses");
        assert_eq!(t.comm, b"a) b (c");
        assert_eq!((t.ppid, t.pgid, t.sid, t.tty), (1, 4242, 4000, 34816));
        assert_eq!(t.start_ticks, 987654);
        assert!(parse_stat(b"12 (x) S 1", &mut t).is_none());
    }

    #[test]
    fn status_ids_caps_and_namespaces() {
        let status = b"Name:\tsh\nUid:\t1000\t0\t0\t0\nGid:\t100\t50\t50\t50\nNStgid:\t900\t7\nNSpid:\t901\t8\nNSpgid:\t900\t7\nCapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\nCapEff:\t0000000000003000\n";
        let mut t = TaskInfo::default();
        parse_status(status, &mut t);
        assert_eq!((t.uid, t.euid, t.gid, t.egid), (1000, 0, 100, 50));
        assert_eq!((t.vpid, t.vtid, t.vpgid), (7, 8, 7));
        assert_eq!(
            (t.cap_permitted, t.cap_effective),
            (0x1ff_ffff_ffff, 0x3000)
        );
    }

    #[test]
    fn cmdline_is_split_and_bounded() {
        let (a0, rest, cut) = parse_cmdline(b"/bin/sh\0-c\0echo hi\0");
        assert_eq!(a0, b"/bin/sh");
        assert_eq!(rest, vec![b"-c".to_vec(), b"echo hi".to_vec()]);
        assert!(!cut);
        let big = vec![b'x'; MAX_ARGS_BYTES + 10];
        let (a0, rest, cut) = parse_cmdline(&big);
        assert_eq!((a0.len(), rest.len(), cut), (MAX_ARGS_BYTES, 0, true));
        let many = b"a\0".repeat(MAX_ARGS + 5);
        let (_, rest, cut) = parse_cmdline(&many);
        assert_eq!((rest.len(), cut), (MAX_ARGS - 1, true));
        assert_eq!(parse_cmdline(b""), (Vec::new(), Vec::new(), false));
    }

    #[test]
    fn cgroup_lines_and_loginuid() {
        assert_eq!(
            parse_cgroups("4:memory:/docker/abc\n0::/\n"),
            vec!["memory:/docker/abc".to_string(), ":/".to_string()]
        );
        assert_eq!(parse_loginuid("1000\n"), 1000);
        assert_eq!(parse_loginuid("4294967295"), u32::MAX);
    }
}
