//! Path resolution as Falco shows paths: absolute and lexically normalised
//! (`.`, `..` and repeated slashes removed), relative paths joined to the
//! thread's cwd or to the path of an `*at()` syscall's dirfd.
//!
//! It is purely lexical: symlinks are not followed (enrich never touches the
//! filesystem it describes, and a recorded stream must replay the same).

use crate::limits::MAX_PATH_BYTES;

/// `AT_FDCWD`: the dirfd value meaning "relative to the cwd".
pub const AT_FDCWD: i64 = -100;

/// `path` made absolute against `base` (an absolute directory) and
/// normalised. An empty `path` stays empty; a relative path with an unknown
/// or relative base is only normalised, so it stays visibly relative.
pub fn resolve(base: &[u8], path: &[u8]) -> Vec<u8> {
    if path.is_empty() {
        return Vec::new();
    }
    let join = path[0] != b'/' && base.first() == Some(&b'/');
    let mut n = Normaliser::new(path.len() + base.len() + 1, join || path[0] == b'/');
    if join {
        n.push(base);
    }
    n.push(path);
    n.finish()
}

/// Lexical normalisation: collapses `//` and `.`, applies `..` (never above
/// the root), drops a trailing slash. Relative input stays relative.
pub fn normalise(path: &[u8]) -> Vec<u8> {
    let mut n = Normaliser::new(path.len(), path.first() == Some(&b'/'));
    n.push(path);
    n.finish()
}

/// True when `path` is absolute and already normalised (what
/// [`normalise`] would return unchanged): the common case, checked in one
/// pass over the bytes without building anything.
pub fn is_normal(path: &[u8]) -> bool {
    match path {
        [b'/'] => return true,
        [b'/', .., b'/'] => return false,
        [b'/', ..] => {}
        _ => return false,
    }
    // Every component must be non-empty and neither `.` nor `..`.
    let bad = |len: usize, dots: usize| len == 0 || (len <= 2 && dots == len);
    let (mut len, mut dots) = (0, 0);
    for &b in &path[1..] {
        if b == b'/' {
            if bad(len, dots) {
                return false;
            }
            (len, dots) = (0, 0);
        } else {
            len += 1;
            dots += usize::from(b == b'.');
        }
    }
    !bad(len, dots)
}

/// Builds a normalised path from one or more pieces, in one buffer: `..`
/// cuts back to the previous separator instead of keeping a list of
/// components.
struct Normaliser {
    out: Vec<u8>,
    absolute: bool,
    /// Length of the prefix `..` cannot remove: the root, or a relative
    /// path's leading `..` components.
    fixed: usize,
}

impl Normaliser {
    fn new(capacity: usize, absolute: bool) -> Normaliser {
        let mut out = Vec::with_capacity(capacity + 1);
        if absolute {
            out.push(b'/');
        }
        Normaliser {
            fixed: out.len(),
            out,
            absolute,
        }
    }

    fn push(&mut self, piece: &[u8]) {
        for part in piece.split(|&b| b == b'/') {
            match part {
                b"" | b"." => {}
                b".." if self.out.len() > self.fixed => {
                    let cut = self.out[self.fixed..]
                        .iter()
                        .rposition(|&b| b == b'/')
                        .map_or(self.fixed, |i| self.fixed + i);
                    self.out.truncate(cut);
                }
                b".." if self.absolute => {}
                _ => {
                    if !self.out.is_empty() && self.out.last() != Some(&b'/') {
                        self.out.push(b'/');
                    }
                    self.out.extend_from_slice(part);
                    if part == b".." {
                        self.fixed = self.out.len();
                    }
                }
            }
        }
    }

    fn finish(mut self) -> Vec<u8> {
        self.out.truncate(MAX_PATH_BYTES);
        if self.out.is_empty() {
            self.out.push(b'.');
        }
        self.out
    }
}

/// The directory part of a normalised absolute path (`fd.directory`).
pub fn dirname(path: &[u8]) -> &[u8] {
    match path.iter().rposition(|&b| b == b'/') {
        Some(0) => b"/",
        Some(i) => &path[..i],
        None => b"",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(base: &str, p: &str) -> String {
        String::from_utf8(resolve(base.as_bytes(), p.as_bytes())).unwrap()
    }

    #[test]
    fn resolves_relative_paths_against_the_base() {
        assert_eq!(r("/home/u", "a.txt"), "/home/u/a.txt");
        assert_eq!(r("/home/u", "./a/../b"), "/home/u/b");
        assert_eq!(r("/home/u", "../../../etc//passwd"), "/etc/passwd");
        assert_eq!(r("/", "etc"), "/etc");
        assert_eq!(r("/tmp", "/etc/./shadow"), "/etc/shadow");
        assert_eq!(r("/tmp", "dir/"), "/tmp/dir");
        assert_eq!(r("/tmp", ".."), "/");
    }

    #[test]
    fn unknown_base_keeps_the_path_relative() {
        assert_eq!(r("", "a/./b"), "a/b");
        assert_eq!(r("", "../x"), "../x");
        assert_eq!(r("/x", ""), "");
    }

    /// The component-list normalisation this module used first, kept as
    /// the reference the one-buffer version must match.
    fn reference(path: &[u8]) -> Vec<u8> {
        let absolute = path.first() == Some(&b'/');
        let mut parts: Vec<&[u8]> = Vec::new();
        for part in path.split(|&b| b == b'/') {
            match part {
                b"" | b"." => {}
                b".." => {
                    if parts.last().is_some_and(|p| *p != b"..") {
                        parts.pop();
                    } else if !absolute {
                        parts.push(part);
                    }
                }
                _ => parts.push(part),
            }
        }
        let mut out = if absolute { b"/".to_vec() } else { Vec::new() };
        out.extend_from_slice(&parts.join(&b'/'));
        out.truncate(MAX_PATH_BYTES);
        if out.is_empty() {
            out.push(b'.');
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn normalise_matches_the_reference(
            path in proptest::collection::vec(
                proptest::sample::select(vec![&b"/"[..], b"a", b"bc", b".", b"..", b"//", b"x."]),
                0..12,
            )
        ) {
            let path = path.concat();
            let n = normalise(&path);
            proptest::prop_assert_eq!(&n, &reference(&path));
            proptest::prop_assert_eq!(
                is_normal(&path),
                path.first() == Some(&b'/') && n == path
            );
            if !path.is_empty() && path[0] != b'/' {
                let joined = [&b"/base/dir/"[..], &path].concat();
                proptest::prop_assert_eq!(resolve(b"/base/dir", &path), reference(&joined));
            }
        }
    }

    #[test]
    fn long_paths_are_cut_at_the_limit() {
        let long = format!("/{}", "d/".repeat(MAX_PATH_BYTES));
        assert_eq!(normalise(long.as_bytes()).len(), MAX_PATH_BYTES);
        let back = format!("{long}{}", "../".repeat(MAX_PATH_BYTES));
        assert_eq!(normalise(back.as_bytes()), b"/");
    }

    #[test]
    fn normal_paths() {
        for p in ["/", "/etc", "/etc/ssl/certs/ca.crt", "/a/.b/..c/c.."] {
            assert!(is_normal(p.as_bytes()), "{p}");
        }
        for p in [
            "", "etc", "/etc/", "//etc", "/a//b", "/a/./b", "/a/..", "/.", "/a/.",
        ] {
            assert!(!is_normal(p.as_bytes()), "{p}");
        }
    }

    #[test]
    fn dirname_of_paths() {
        assert_eq!(dirname(b"/etc/passwd"), b"/etc");
        assert_eq!(dirname(b"/etc"), b"/");
        assert_eq!(dirname(b"x"), b"");
    }
}
