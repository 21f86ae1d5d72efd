//! Users and groups from the host's passwd and group files, for `user.name`,
//! `user.homedir`, `user.shell`, `user.loginname` and `group.name`.
//!
//! The files are re-read when their mtime changes, checked at most once per
//! [`USERDB_CHECK_INTERVAL`], so a user added while enrich runs is named from
//! then on. Only the files are read (no NSS): enrich must give the same
//! answer whatever the host's NSS modules do, and a container deployment
//! points `--passwd`/`--group` at the host's files.

use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use rustc_hash::FxHashMap;
use schema::kestrel_capnp::{group, user};

use crate::limits::{MAX_USERDB_BYTES, USERDB_CHECK_INTERVAL};

/// One passwd entry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserEntry {
    pub name: String,
    pub home: String,
    pub shell: String,
}

/// The user and group databases.
pub struct UserDb {
    passwd_path: PathBuf,
    group_path: PathBuf,
    users: FxHashMap<u32, UserEntry>,
    groups: FxHashMap<u32, String>,
    passwd_mtime: Option<SystemTime>,
    group_mtime: Option<SystemTime>,
    last_check: Option<Instant>,
    loaded: bool,
    /// Times either file was (re)read.
    pub reloads: u64,
}

impl UserDb {
    /// Reads `passwd` and `group` now; missing files give empty databases
    /// (names are then empty, as for unknown ids).
    pub fn open(passwd: &Path, group: &Path) -> UserDb {
        let mut db = UserDb {
            passwd_path: passwd.to_path_buf(),
            group_path: group.to_path_buf(),
            users: FxHashMap::default(),
            groups: FxHashMap::default(),
            passwd_mtime: None,
            group_mtime: None,
            last_check: None,
            loaded: false,
            reloads: 0,
        };
        db.refresh(Instant::now());
        db
    }

    /// Re-reads whichever file changed, at most once per check interval.
    pub fn refresh(&mut self, now: Instant) {
        if self
            .last_check
            .is_some_and(|t| now.duration_since(t) < USERDB_CHECK_INTERVAL)
        {
            return;
        }
        self.last_check = Some(now);
        let m = mtime(&self.passwd_path);
        if m != self.passwd_mtime || !self.loaded {
            self.passwd_mtime = m;
            self.users = read_limited(&self.passwd_path)
                .map(|s| parse_passwd(&s))
                .unwrap_or_default();
            self.reloads += 1;
        }
        let m = mtime(&self.group_path);
        if m != self.group_mtime || !self.loaded {
            self.group_mtime = m;
            self.groups = read_limited(&self.group_path)
                .map(|s| parse_group(&s))
                .unwrap_or_default();
            self.reloads += 1;
        }
        self.loaded = true;
    }

    pub fn user(&self, uid: u32) -> Option<&UserEntry> {
        self.users.get(&uid)
    }

    pub fn group(&self, gid: u32) -> Option<&str> {
        self.groups.get(&gid).map(String::as_str)
    }

    /// Writes user `uid`, named when the database knows it.
    pub fn write_user(&self, uid: u32, mut b: user::Builder<'_>) {
        b.set_uid(uid);
        if let Some(entry) = self.user(uid) {
            b.set_name(entry.name.as_str());
            b.set_homedir(entry.home.as_str());
            b.set_shell(entry.shell.as_str());
        }
    }

    /// Writes group `gid`, named when the database knows it.
    pub fn write_group(&self, gid: u32, mut b: group::Builder<'_>) {
        b.set_gid(gid);
        if let Some(name) = self.group(gid) {
            b.set_name(name);
        }
    }
}

fn mtime(p: &Path) -> Option<SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

fn read_limited(p: &Path) -> Option<String> {
    use std::io::Read;
    let f = std::fs::File::open(p).ok()?;
    let mut buf = Vec::new();
    f.take(MAX_USERDB_BYTES).read_to_end(&mut buf).ok()?;
    Some(String::from_utf8_lossy(&buf).into_owned())
}

/// Parses passwd lines `name:pw:uid:gid:gecos:home:shell`; malformed lines
/// are skipped. The first entry of a uid wins, as with getpwuid.
pub fn parse_passwd(s: &str) -> FxHashMap<u32, UserEntry> {
    let mut m = FxHashMap::default();
    for line in s.lines() {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() < 7 || line.starts_with('#') {
            continue;
        }
        let Ok(uid) = f[2].parse::<u32>() else {
            continue;
        };
        m.entry(uid).or_insert_with(|| UserEntry {
            name: f[0].to_string(),
            home: f[5].to_string(),
            shell: f[6].to_string(),
        });
    }
    m
}

/// Parses group lines `name:pw:gid:members`.
pub fn parse_group(s: &str) -> FxHashMap<u32, String> {
    let mut m = FxHashMap::default();
    for line in s.lines() {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() < 3 || line.starts_with('#') {
            continue;
        }
        let Ok(gid) = f[2].parse::<u32>() else {
            continue;
        };
        m.entry(gid).or_insert_with(|| f[0].to_string());
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn parses_and_skips_garbage() {
        let u = parse_passwd("root:x:0:0:root:/root:/bin/bash\nbad line\nx:x:notanumber:0::/:/bin/sh\nbob:x:1000:1000:Bob:/home/bob:/bin/zsh\n");
        assert_eq!(u.len(), 2);
        assert_eq!(u[&1000].name, "bob");
        assert_eq!(u[&1000].home, "/home/bob");
        assert_eq!(u[&0].shell, "/bin/bash");
        let g = parse_group("root:x:0:\nwheel:x:10:bob\n:::\n");
        assert_eq!(g[&10], "wheel");
    }

    #[test]
    fn rereads_when_the_file_changes() {
        let dir = tempfile::tempdir().unwrap();
        let pw = dir.path().join("passwd");
        let gr = dir.path().join("group");
        std::fs::write(&pw, "root:x:0:0:root:/root:/bin/sh\n").unwrap();
        std::fs::write(&gr, "root:x:0:\n").unwrap();
        let mut db = UserDb::open(&pw, &gr);
        assert_eq!(db.user(0).unwrap().name, "root");
        assert!(db.user(1001).is_none());
        std::fs::write(
            &pw,
            "root:x:0:0:root:/root:/bin/sh\nnew:x:1001:1001::/home/new:/bin/sh\n",
        )
        .unwrap();
        // Make the change visible to an mtime check even on coarse clocks.
        let later = SystemTime::now() + Duration::from_secs(5);
        let f = std::fs::File::options().write(true).open(&pw).unwrap();
        f.set_modified(later).unwrap();
        db.refresh(Instant::now());
        assert!(db.user(1001).is_none(), "checked at most once per interval");
        db.refresh(Instant::now() + USERDB_CHECK_INTERVAL);
        assert_eq!(db.user(1001).unwrap().name, "new");
        assert_eq!(db.group(0), Some("root"));
    }
}
