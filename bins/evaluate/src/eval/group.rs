//! Field groups: the string tests several rules make on one field, for one
//! event kind, answered together. `proc.name in (shells)`, `proc.name in
//! (package managers)`, `fd.name startswith /etc/`, `fd.name endswith
//! /.aws/credentials`… each cost a hash lookup or a scan when run alone;
//! grouped, the field is read once and one hash lookup (for `=`/`in`), one
//! walk of a prefix trie (`startswith`) and one of a suffix trie
//! (`endswith`) give every member's answer at once, as a bit mask.
//!
//! Fields with one value per ancestor (`proc.aname`) group too: the masks
//! of every ancestor are combined, "any ancestor matches" for a test and
//! "some ancestor does not" for its `!=`, as Falco reads them.
//!
//! It is not a place for other operators (`contains`, `glob`, `regex`,
//! `pmatch` run alone), for socket ends and lists, or for transformers:
//! those tests are never grouped.

use crate::compile::matcher::{FastMap, Lengths, StrMatcher};
use crate::compile::node::{Pred, Test};
use crate::fields::{Field, FieldType, Shape};

/// Most tests one group answers: one bit each in a `u128`. A field with
/// more groupable tests gets several groups.
pub const MAX_GROUP_TESTS: usize = 128;

/// A byte trie whose nodes carry the mask of the members whose pattern
/// ends there; walking a value gives every pattern that is a prefix of it.
#[derive(Debug, Clone)]
struct Trie {
    nodes: Vec<TrieNode>,
}

#[derive(Debug, Clone, Default)]
struct TrieNode {
    /// Children, by next byte; few per node, so a linear scan.
    edges: Vec<(u8, u32)>,
    hits: u128,
}

impl Trie {
    fn new() -> Self {
        Trie {
            nodes: vec![TrieNode::default()],
        }
    }

    fn is_empty(&self) -> bool {
        self.nodes.len() == 1 && self.nodes[0].hits == 0
    }

    fn insert(&mut self, pattern: impl Iterator<Item = u8>, bit: u128) {
        let mut at = 0usize;
        for b in pattern {
            let next = self.nodes[at]
                .edges
                .iter()
                .find(|(e, _)| *e == b)
                .map(|(_, n)| *n as usize);
            at = match next {
                Some(n) => n,
                None => {
                    self.nodes.push(TrieNode::default());
                    let n = self.nodes.len() - 1;
                    self.nodes[at].edges.push((b, n as u32));
                    n
                }
            };
        }
        self.nodes[at].hits |= bit;
    }

    /// The members whose pattern is a prefix of `value`.
    fn walk(&self, value: impl Iterator<Item = u8>) -> u128 {
        let mut node = &self.nodes[0];
        let mut hits = node.hits;
        for b in value {
            match node.edges.iter().find(|(e, _)| *e == b) {
                Some(&(_, n)) => node = &self.nodes[n as usize],
                None => break,
            }
            hits |= node.hits;
        }
        hits
    }
}

/// How one member's pattern strings match.
enum Patterns<'t> {
    Exact(Vec<&'t [u8]>),
    Prefix(Vec<&'t [u8]>),
    Suffix(Vec<&'t [u8]>),
}

/// The patterns of a test a group can answer, or `None` when it must run
/// alone.
fn patterns(t: &Test) -> Option<Patterns<'_>> {
    if !t.transformers.is_empty()
        || t.all_items
        || !matches!(t.shape, Shape::One | Shape::AnyOf)
        || t.field.ty() != FieldType::Str
    {
        return None;
    }
    let Pred::Str(m) = &t.pred else { return None };
    Some(match m {
        StrMatcher::Eq(x) => Patterns::Exact(vec![x]),
        StrMatcher::In(set) => Patterns::Exact(set.iter().map(|x| &x[..]).collect()),
        StrMatcher::StartsWith(x) => Patterns::Prefix(vec![x]),
        StrMatcher::EndsWith(x) => Patterns::Suffix(vec![x]),
        StrMatcher::Affix(a) if a.is_suffix() => Patterns::Suffix(a.items().collect()),
        StrMatcher::Affix(a) => Patterns::Prefix(a.items().collect()),
        _ => return None,
    })
}

/// True when `t` can be a member of a group.
pub fn groupable(t: &Test) -> bool {
    patterns(t).is_some()
}

/// Tests on one field answered together.
#[derive(Debug, Clone)]
pub struct Group {
    pub field: Field,
    /// Member `i`'s patterns set bit `i` of the masks.
    exact: FastMap<Box<[u8]>, u128>,
    exact_lens: Lengths,
    prefixes: Trie,
    /// Patterns reversed: walking the value from its end finds suffixes.
    suffixes: Trie,
}

impl Group {
    /// A group of `members`, all on `field` and all [`groupable`]; member
    /// `i` is bit `i` of [`Group::hits`]. Members past [`MAX_GROUP_TESTS`]
    /// are left out.
    pub fn new(field: Field, members: &[&Test]) -> Group {
        let mut g = Group {
            field,
            exact: FastMap::default(),
            exact_lens: Lengths::default(),
            prefixes: Trie::new(),
            suffixes: Trie::new(),
        };
        for (i, t) in members.iter().take(MAX_GROUP_TESTS).enumerate() {
            let bit = 1u128 << i;
            match patterns(t) {
                Some(Patterns::Exact(xs)) => {
                    for x in xs {
                        g.exact_lens.add(x.len());
                        *g.exact.entry(x.into()).or_default() |= bit;
                    }
                }
                Some(Patterns::Prefix(xs)) => {
                    for x in xs {
                        g.prefixes.insert(x.iter().copied(), bit);
                    }
                }
                Some(Patterns::Suffix(xs)) => {
                    for x in xs {
                        g.suffixes.insert(x.iter().rev().copied(), bit);
                    }
                }
                None => {}
            }
        }
        g
    }

    /// The members whose pattern matches `value` (before `!=` negation).
    pub fn hits(&self, value: &[u8]) -> u128 {
        let mut hits = 0;
        if self.exact_lens.may_hold(value.len()) {
            hits = self.exact.get(value).copied().unwrap_or(0);
        }
        if !self.prefixes.is_empty() {
            hits |= self.prefixes.walk(value.iter().copied());
        }
        if !self.suffixes.is_empty() {
            hits |= self.suffixes.walk(value.iter().rev().copied());
        }
        hits
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::{compile, NoNames, Node};
    use crate::lang::parse;

    fn test(src: &str) -> Test {
        match compile(&parse(src).unwrap(), &NoNames).unwrap().node {
            Node::Test(t) => *t,
            other => panic!("{src}: not one test: {other:?}"),
        }
    }

    #[test]
    fn one_lookup_answers_every_member_as_each_alone() {
        let srcs = [
            "fd.name in (/etc/shadow, /etc/passwd)",
            "fd.name = /etc/shadow",
            "fd.name startswith /etc/",
            "fd.name startswith /etc/sha",
            "fd.name endswith shadow",
            "fd.name endswith anyof (dow, /x)",
            "fd.name != /etc/passwd",
            "fd.name startswith \"\"",
        ];
        let tests: Vec<Test> = srcs.iter().map(|s| test(s)).collect();
        assert!(tests.iter().all(groupable));
        let members: Vec<&Test> = tests.iter().collect();
        let g = Group::new(tests[0].field.clone(), &members);
        for v in [
            "/etc/shadow",
            "/etc/passwd",
            "/etc/",
            "/etc",
            "",
            "/x",
            "/tmp/shadow",
        ] {
            let hits = g.hits(v.as_bytes());
            for (i, t) in tests.iter().enumerate() {
                let Pred::Str(m) = &t.pred else {
                    unreachable!()
                };
                assert_eq!(
                    hits & (1 << i) != 0,
                    m.matches(v.as_bytes()),
                    "`{}` on {v:?}",
                    srcs[i]
                );
            }
        }
    }

    #[test]
    fn only_plain_string_tests_group() {
        for src in [
            "fd.name contains x",
            "fd.name glob '/etc/*'",
            "tolower(fd.name) = x",
            "fd.types in (file)",
            "fd.ip = 10.0.0.1",
            "proc.pid = 1",
        ] {
            assert!(!groupable(&test(src)), "{src}");
        }
    }
}
