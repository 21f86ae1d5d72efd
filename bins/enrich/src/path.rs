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
    if path[0] == b'/' || base.first() != Some(&b'/') {
        return normalise(path);
    }
    let mut joined = Vec::with_capacity(base.len() + 1 + path.len());
    joined.extend_from_slice(base);
    joined.push(b'/');
    joined.extend_from_slice(path);
    normalise(&joined)
}

/// Lexical normalisation: collapses `//` and `.`, applies `..` (never above
/// the root), drops a trailing slash. Relative input stays relative.
pub fn normalise(path: &[u8]) -> Vec<u8> {
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
    let mut out = Vec::with_capacity(path.len().min(MAX_PATH_BYTES) + 1);
    if absolute {
        out.push(b'/');
    }
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push(b'/');
        }
        out.extend_from_slice(part);
        if out.len() > MAX_PATH_BYTES {
            out.truncate(MAX_PATH_BYTES);
            break;
        }
    }
    if out.is_empty() {
        out.push(b'.');
    }
    out
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

    #[test]
    fn dirname_of_paths() {
        assert_eq!(dirname(b"/etc/passwd"), b"/etc");
        assert_eq!(dirname(b"/etc"), b"/");
        assert_eq!(dirname(b"x"), b"");
    }
}
