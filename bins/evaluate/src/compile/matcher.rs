//! Compiled string tests: the right-hand side of a string comparison turned
//! into a structure whose cost does not grow with the number of values —
//! hash sets for `in`, length-bucketed sets for `startswith`/`endswith`
//! against lists, an Aho-Corasick automaton for `contains` against lists, a
//! component-wise prefix set for `pmatch`, and compiled globs and regexes.
//!
//! It is not a place for field types or shapes: a matcher tests one byte
//! string ([`crate::compile`] decides which values reach it).

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use memchr::memmem;
use regex_automata::meta::Regex;

/// A fast, deterministic hash for short strings and numbers, eight bytes
/// at a time (the multiply-rotate scheme of rustc's FxHash). The keys are
/// the rule author's, not an attacker's, so flooding is not a concern, and
/// SipHash would cost more than the lookup it serves.
#[derive(Default, Clone, Copy)]
pub struct Fx(u64);

const FX_SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl Fx {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(FX_SEED);
    }
}

impl Hasher for Fx {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(i as u64);
    }

    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
}

pub type FastSet<T> = HashSet<T, BuildHasherDefault<Fx>>;
pub type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<Fx>>;

/// One bit per string length (the last bit for every length from 127 up):
/// a value whose length no key has is not hashed at all, and most values
/// a rule looks up are not in its sets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Lengths(u128);

impl Lengths {
    fn bit(len: usize) -> u128 {
        1 << len.min(127)
    }

    pub fn add(&mut self, len: usize) {
        self.0 |= Self::bit(len);
    }

    /// False when no key has `len` bytes.
    pub fn may_hold(self, len: usize) -> bool {
        self.0 & Self::bit(len) != 0
    }
}

/// A set of byte strings, for `=` and `in` against lists.
#[derive(Debug, Clone, Default)]
pub struct BytesSet {
    set: FastSet<Box<[u8]>>,
    lens: Lengths,
}

impl BytesSet {
    pub fn contains(&self, v: &[u8]) -> bool {
        self.lens.may_hold(v.len()) && self.set.contains(v)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Box<[u8]>> {
        self.set.iter()
    }
}

impl FromIterator<Box<[u8]>> for BytesSet {
    fn from_iter<I: IntoIterator<Item = Box<[u8]>>>(items: I) -> Self {
        let mut s = BytesSet::default();
        for i in items {
            s.lens.add(i.len());
            s.set.insert(i);
        }
        s
    }
}

/// A set of strings tested as prefixes (or suffixes) of a value: one hash
/// lookup per distinct pattern length, not per pattern.
#[derive(Debug, Clone)]
pub struct AffixSet {
    lens: Vec<usize>,
    set: FastSet<Box<[u8]>>,
    suffix: bool,
}

impl AffixSet {
    pub fn new(items: &[Vec<u8>], suffix: bool) -> Self {
        let mut lens: Vec<usize> = items.iter().map(Vec::len).collect();
        lens.sort_unstable();
        lens.dedup();
        AffixSet {
            lens,
            set: items.iter().map(|i| i.clone().into_boxed_slice()).collect(),
            suffix,
        }
    }

    /// The strings of the set.
    pub fn items(&self) -> impl Iterator<Item = &[u8]> {
        self.set.iter().map(|b| &b[..])
    }

    /// True for a set of suffixes (`endswith`), false for prefixes.
    pub fn is_suffix(&self) -> bool {
        self.suffix
    }

    pub fn matches(&self, v: &[u8]) -> bool {
        for &l in &self.lens {
            if l > v.len() {
                break;
            }
            let part = if self.suffix {
                &v[v.len() - l..]
            } else {
                &v[..l]
            };
            if self.set.contains(part) {
                return true;
            }
        }
        false
    }
}

/// Path prefixes for `pmatch`: a value matches when one of the paths is the
/// value itself or one of its ancestor directories. Glob items are tested
/// against the same component prefixes.
#[derive(Debug, Clone)]
pub struct PathPrefixes {
    exact: FastSet<Box<[u8]>>,
    globs: Vec<Glob>,
}

impl PathPrefixes {
    pub fn new(items: &[Vec<u8>]) -> Self {
        let mut exact = FastSet::default();
        let mut globs = Vec::new();
        for item in items {
            // "/etc/" and "/etc" name the same directory.
            let trimmed = match item.len() {
                0 | 1 => &item[..],
                _ => item.strip_suffix(b"/").unwrap_or(item),
            };
            if Glob::is_pattern(trimmed) {
                globs.push(Glob::new(trimmed, false));
            } else {
                exact.insert(trimmed.to_vec().into_boxed_slice());
            }
        }
        PathPrefixes { exact, globs }
    }

    pub fn matches(&self, v: &[u8]) -> bool {
        let test = |p: &[u8]| self.exact.contains(p) || self.globs.iter().any(|g| g.matches(p));
        if test(v) || (v.starts_with(b"/") && test(b"/")) {
            return true;
        }
        // Every proper prefix that ends at a component boundary.
        memchr::memchr_iter(b'/', v).any(|i| i > 0 && test(&v[..i]))
    }
}

/// A shell-style wildcard pattern, as Falco's `glob`: `*` matches any run of
/// bytes including `/`, `?` one byte, `[...]` a class (`!` or `^` negates),
/// `\` quotes the next byte.
#[derive(Debug, Clone)]
pub struct Glob {
    pat: Box<[u8]>,
    nocase: bool,
}

impl Glob {
    pub fn new(pat: &[u8], nocase: bool) -> Self {
        let pat = if nocase {
            pat.to_ascii_lowercase()
        } else {
            pat.to_vec()
        };
        Glob {
            pat: pat.into_boxed_slice(),
            nocase,
        }
    }

    /// True when `p` has wildcard characters.
    pub fn is_pattern(p: &[u8]) -> bool {
        p.iter().any(|b| matches!(b, b'*' | b'?' | b'['))
    }

    pub fn matches(&self, v: &[u8]) -> bool {
        let (p, s) = (&self.pat[..], v);
        let (mut pi, mut si) = (0, 0);
        // Where to resume after the last `*`: (pattern index, value index).
        let mut star: Option<(usize, usize)> = None;
        while si < s.len() {
            let c = if self.nocase {
                s[si].to_ascii_lowercase()
            } else {
                s[si]
            };
            let step = match p.get(pi) {
                Some(b'*') => {
                    star = Some((pi + 1, si));
                    pi += 1;
                    continue;
                }
                Some(b'?') => Some(1),
                Some(b'[') => class(&p[pi..], c).map(|(ok, len)| if ok { len } else { 0 }),
                Some(b'\\') if pi + 1 < p.len() => (p[pi + 1] == c).then_some(2).or(Some(0)),
                Some(&b) => (b == c).then_some(1).or(Some(0)),
                None => Some(0),
            };
            match step {
                Some(n) if n > 0 => {
                    pi += n;
                    si += 1;
                }
                _ => match star {
                    // Let the last `*` swallow one more byte and retry.
                    Some((sp, ss)) => {
                        pi = sp;
                        si = ss + 1;
                        star = Some((sp, ss + 1));
                    }
                    None => return false,
                },
            }
        }
        p[pi..].iter().all(|&b| b == b'*')
    }
}

/// Matches `c` against the class at the start of `p` (`[a-z]`): whether it
/// matched and the class's length, or `None` for an unclosed `[` (then a
/// literal `[`).
fn class(p: &[u8], c: u8) -> Option<(bool, usize)> {
    let mut i = 1;
    let negate = matches!(p.get(i), Some(b'!' | b'^'));
    if negate {
        i += 1;
    }
    let mut hit = false;
    let mut first = true;
    while i < p.len() {
        if p[i] == b']' && !first {
            return Some((hit != negate, i + 1));
        }
        first = false;
        if i + 2 < p.len() && p[i + 1] == b'-' && p[i + 2] != b']' {
            hit |= p[i] <= c && c <= p[i + 2];
            i += 3;
        } else {
            hit |= p[i] == c;
            i += 1;
        }
    }
    (c == b'[').then_some((true, 1))
}

/// A compiled string test.
#[derive(Debug, Clone)]
pub enum StrMatcher {
    Eq(Box<[u8]>),
    In(BytesSet),
    Contains(Box<memmem::Finder<'static>>),
    /// `icontains` of one needle, and `contains`/`icontains` against a list.
    ContainsAny(Box<AhoCorasick>),
    StartsWith(Box<[u8]>),
    EndsWith(Box<[u8]>),
    Affix(AffixSet),
    Glob(Glob),
    Regex(Box<Regex>),
    Pmatch(PathPrefixes),
    /// `allof`: every matcher holds.
    All(Vec<StrMatcher>),
    /// `anyof` for tests without a set form (glob, regex): any holds.
    Any(Vec<StrMatcher>),
    /// `oneof`: exactly one holds.
    One(Vec<StrMatcher>),
}

impl StrMatcher {
    pub fn matches(&self, v: &[u8]) -> bool {
        match self {
            StrMatcher::Eq(x) => **x == *v,
            StrMatcher::In(set) => set.contains(v),
            StrMatcher::Contains(f) => f.find(v).is_some(),
            StrMatcher::ContainsAny(ac) => ac.is_match(v),
            StrMatcher::StartsWith(x) => v.starts_with(x),
            StrMatcher::EndsWith(x) => v.ends_with(x),
            StrMatcher::Affix(a) => a.matches(v),
            StrMatcher::Glob(g) => g.matches(v),
            StrMatcher::Regex(r) => r.is_match(v),
            StrMatcher::Pmatch(p) => p.matches(v),
            StrMatcher::All(ms) => ms.iter().all(|m| m.matches(v)),
            StrMatcher::Any(ms) => ms.iter().any(|m| m.matches(v)),
            StrMatcher::One(ms) => ms.iter().filter(|m| m.matches(v)).count() == 1,
        }
    }

    /// A rough relative cost, for ordering checks.
    pub fn cost(&self) -> u32 {
        match self {
            StrMatcher::Eq(_) | StrMatcher::StartsWith(_) | StrMatcher::EndsWith(_) => 1,
            StrMatcher::In(_) | StrMatcher::Affix(_) | StrMatcher::Pmatch(_) => 2,
            StrMatcher::Contains(_) | StrMatcher::ContainsAny(_) | StrMatcher::Glob(_) => 3,
            StrMatcher::Regex(_) => 6,
            StrMatcher::All(ms) | StrMatcher::Any(ms) | StrMatcher::One(ms) => {
                ms.iter().map(StrMatcher::cost).sum()
            }
        }
    }
}

/// Builds an automaton that finds any of `needles` anywhere.
pub fn contains_any(needles: &[Vec<u8>], nocase: bool) -> Result<AhoCorasick, String> {
    AhoCorasickBuilder::new()
        .ascii_case_insensitive(nocase)
        .match_kind(MatchKind::Standard)
        .build(needles)
        .map_err(|e| e.to_string())
}

/// Builds an anchored (whole-value) regex, as Falco's `regex` operator
/// matches the whole string.
pub fn regex(pat: &str) -> Result<Regex, String> {
    Regex::new(&format!("^(?:{pat})$")).map_err(|e| {
        // The error text names the pattern we built; say it about theirs.
        e.to_string().replace(&format!("^(?:{pat})$"), pat)
    })
}

/// Decodes the hexadecimal right-hand side of `bcontains`/`bstartswith`.
pub fn hex(s: &str) -> Option<Vec<u8>> {
    let s = s.trim();
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(items: &[&str]) -> Vec<Vec<u8>> {
        items.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    #[test]
    fn glob_matches_like_fnmatch_without_pathname() {
        let g = |p: &str, s: &str| Glob::new(p.as_bytes(), false).matches(s.as_bytes());
        assert!(g("/home/*/.ssh/*", "/home/al/.ssh/id_rsa"));
        assert!(g("*../*../*", "/var/www/../../etc/passwd"));
        assert!(!g("*../*../*", "/var/www/../etc/passwd"));
        assert!(g("*", ""));
        assert!(g("a?c", "abc"));
        assert!(!g("a?c", "ac"));
        assert!(g("[a-c]x", "bx"));
        assert!(!g("[!a-c]x", "bx"));
        assert!(g("\\*", "*"));
        assert!(!g("\\*", "a"));
        assert!(g("a*b*c", "aXbYbZc"));
        assert!(!g("a*b*c", "aXbYbZ"));
        assert!(Glob::new(b"*.SH", true).matches(b"x.sh"));
    }

    #[test]
    fn byte_sets_skip_absent_lengths_and_keep_long_keys() {
        let long = "x".repeat(200);
        let s: BytesSet = v(&["sh", "bash", &long])
            .into_iter()
            .map(Vec::into_boxed_slice)
            .collect();
        assert!(s.contains(b"sh") && s.contains(b"bash"));
        assert!(s.contains(long.as_bytes()));
        assert!(!s.contains(b"zsh") && !s.contains(b"") && !s.contains(b"bast"));
        // Every length from 127 up shares one bit: the set decides.
        assert!(!s.contains("x".repeat(150).as_bytes()));
    }

    #[test]
    fn affix_sets_test_every_length() {
        let s = AffixSet::new(&v(&["/etc", "/usr/lib/"]), false);
        assert!(s.matches(b"/etc/passwd"));
        assert!(s.matches(b"/usr/lib/x"));
        assert!(!s.matches(b"/usr/bin"));
        let e = AffixSet::new(&v(&[".aws/credentials", "ssh"]), true);
        assert!(e.matches(b"/root/.aws/credentials"));
        assert!(e.matches(b"/usr/bin/ssh"));
        assert!(!e.matches(b"sh"));
    }

    #[test]
    fn pmatch_is_by_component() {
        let p = PathPrefixes::new(&v(&["/var/run", "/etc/", "/opt/*/bin"]));
        assert!(p.matches(b"/var/run"));
        assert!(p.matches(b"/var/run/x.pid"));
        assert!(!p.matches(b"/var/runx"));
        assert!(p.matches(b"/etc/passwd"));
        assert!(p.matches(b"/opt/app/bin/tool"));
        assert!(!p.matches(b"/opt/app/lib"));
        assert!(PathPrefixes::new(&v(&["/"])).matches(b"/anything"));
    }

    #[test]
    fn regex_is_anchored_and_hex_decodes() {
        let r = regex("a.c").unwrap();
        assert!(r.is_match(b"abc"));
        assert!(!r.is_match(b"xabc"));
        assert!(regex("(").is_err());
        assert_eq!(hex("6162"), Some(b"ab".to_vec()));
        assert_eq!(hex("616"), None);
        assert_eq!(hex("zz"), None);
    }
}
