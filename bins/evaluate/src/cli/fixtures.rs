//! `evaluate test DIR`: rule fixtures, the unit tests of a ruleset.
//!
//! Every `.yaml`/`.yml` file of DIR (sorted) is a list of fixtures, one per
//! rule under test:
//!
//! ```yaml
//! - rule: Shell spawned in a container     # a rule of the loaded ruleset
//!   cases:
//!     - name: sh run by docker exec
//!       expect: fire                       # fire | silent
//!       event:                             # Falco field names and values
//!         evt.type: execve
//!         proc.name: sh
//!         proc.pname: runc
//!         container.id: 3ad7b26ded6d
//!         proc.args: [-c, id]              # lists as YAML lists (or a string split on blanks)
//!     - name: sh on the host
//!       expect: silent
//!       event: {evt.type: execve, proc.name: sh, container.id: host}
//!     - name: recorded with capture | enrich
//!       expect: fire
//!       frames: recordings/shell.kst       # a recorded enriched stream, relative to this file
//! ```
//!
//! An `event` case checks the rule's compiled condition on the one event
//! built from its fields (see [`super::fixture_event`] for the fields a
//! fixture may set); a `frames` case fires when the rule matches any event
//! of the recording and is silent when it matches none. Rules are checked
//! whether or not they are enabled, so disabled rules can be tested too.
//! The rules are the built-in ones unless `-r` is given.
//!
//! Output: one line per case (`ok` or `FAIL` with the reason), then a
//! summary; exit 0 only when every case passed.
//!
//! It is not a place for end-to-end tests on the live kernel (those are in
//! `tests/`).

use std::path::{Path, PathBuf};

use marked_yaml::types::Node;
use schema::kestrel_capnp::frame;
use schema::state::StateTable;
use schema::FrameReader;

use super::fixture_event::{self, FixtureValue};
use super::{load, RulePaths};
use crate::compile::{Compiler, Condition, NoNames, SystemResolver};
use crate::fields::sample::with_view;
use crate::fields::EventView;
use crate::loader::source;

/// What a case expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    Fire,
    Silent,
}

/// Where a case's events come from.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    Fields(Vec<(String, FixtureValue)>),
    Frames(PathBuf),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    pub name: String,
    pub expect: Expect,
    pub input: Input,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Fixture {
    pub rule: String,
    pub cases: Vec<Case>,
    /// "file:line" of the fixture, for messages.
    pub at: String,
}

fn scalar(n: &Node) -> Option<String> {
    n.as_scalar().map(|s| s.as_str().to_string())
}

fn at(file: &Path, n: &Node) -> String {
    let line = n.span().start().map(|m| m.line()).unwrap_or(0);
    format!("{}:{line}", file.display())
}

/// Parses one fixture file.
pub fn parse_file(path: &Path, text: &str) -> Result<Vec<Fixture>, String> {
    let opts = marked_yaml::LoaderOptions::default()
        .toplevel_sequence()
        .error_on_duplicate_keys(true);
    let root = marked_yaml::parse_yaml_with_options(0, text, opts)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let Node::Sequence(items) = root else {
        return Err(format!(
            "{}: a fixture file is a list of `- rule:` items",
            path.display()
        ));
    };
    let mut out = Vec::new();
    for item in items.iter() {
        let where_ = at(path, item);
        let m = item
            .as_mapping()
            .ok_or_else(|| format!("{where_}: a fixture is a mapping with `rule` and `cases`"))?;
        let rule = m
            .get_node("rule")
            .and_then(scalar)
            .ok_or_else(|| format!("{where_}: a fixture needs `rule`"))?;
        let cases_node = m
            .get_node("cases")
            .and_then(Node::as_sequence)
            .ok_or_else(|| format!("{where_}: fixture for `{rule}` needs a `cases` list"))?;
        let mut cases = Vec::new();
        for c in cases_node.iter() {
            let cat = at(path, c);
            let cm = c
                .as_mapping()
                .ok_or_else(|| format!("{cat}: a case is a mapping"))?;
            let name = cm
                .get_node("name")
                .and_then(scalar)
                .unwrap_or_else(|| cat.clone());
            let expect = match cm.get_node("expect").and_then(scalar).as_deref() {
                Some("fire") => Expect::Fire,
                Some("silent") => Expect::Silent,
                other => {
                    return Err(format!(
                        "{cat}: `expect` must be `fire` or `silent`, not {other:?}"
                    ))
                }
            };
            let input = match (cm.get_node("event"), cm.get_node("frames")) {
                (Some(Node::Mapping(ev)), None) => {
                    let mut fields = Vec::new();
                    for (k, v) in ev.iter() {
                        let val = match v {
                            Node::Scalar(s) => FixtureValue::One(s.as_str().to_string()),
                            Node::Sequence(seq) => FixtureValue::Many(
                                seq.iter().map(|x| scalar(x).unwrap_or_default()).collect(),
                            ),
                            Node::Mapping(_) => {
                                return Err(format!(
                                    "{cat}: field `{}` must be a value or a list",
                                    k.as_str()
                                ))
                            }
                        };
                        fields.push((k.as_str().to_string(), val));
                    }
                    Input::Fields(fields)
                }
                (None, Some(f)) => Input::Frames(
                    dir.join(scalar(f).ok_or_else(|| format!("{cat}: `frames` must be a path"))?),
                ),
                _ => {
                    return Err(format!(
                    "{cat}: a case needs exactly one of `event` (a mapping) or `frames` (a path)"
                ))
                }
            };
            cases.push(Case {
                name,
                expect,
                input,
            });
        }
        out.push(Fixture {
            rule,
            cases,
            at: where_,
        });
    }
    Ok(out)
}

/// Whether `cond` matches any event of the recording at `path`.
fn fires_on_frames(cond: &Condition, path: &Path) -> Result<bool, String> {
    let file =
        std::fs::File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let mut reader = FrameReader::new(file);
    let header = reader
        .read_header()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if header.is_none() {
        return Ok(false);
    }
    let mut n = 0;
    let mut states = StateTable::new();
    while let Some(f) = reader
        .next()
        .map_err(|e| format!("{}: {e}", path.display()))?
    {
        let root = f.root().map_err(|e| format!("{}: {e}", path.display()))?;
        if states.apply(root, f.raw()) {
            continue;
        }
        if let Ok(frame::Event(Ok(ev))) = root.which() {
            n += 1;
            let view = EventView::new(ev, n, "fixture").with_state(states.get(ev));
            if crate::eval::matches(cond, &view) {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// Runs every fixture of `dir`; returns the exit code.
pub fn run(dir: &Path, args: &RulePaths) -> i32 {
    let loaded = match load(args) {
        Ok(l) => l,
        Err(d) => {
            eprint!("{d}");
            return 1;
        }
    };
    let files = match source::expand_paths(&[dir.to_path_buf()]) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("evaluate: error: {e}");
            return 1;
        }
    };
    let (mut passed, mut failed) = (0usize, 0usize);
    let mut tested = std::collections::HashSet::new();
    // Rules share macros: one session compiles each macro once.
    let mut compiler = Compiler::new(&NoNames, &SystemResolver);
    for file in &files {
        let fixtures = match std::fs::read_to_string(file)
            .map_err(|e| format!("{}: {e}", file.display()))
            .and_then(|t| parse_file(file, &t))
        {
            Ok(f) => f,
            Err(e) => {
                println!("FAIL {e}");
                failed += 1;
                continue;
            }
        };
        for fx in fixtures {
            let Some(rule) = loaded.rules.iter().find(|r| r.name == fx.rule) else {
                println!(
                    "FAIL {}: no rule named `{}` in the loaded rules",
                    fx.at, fx.rule
                );
                failed += 1;
                continue;
            };
            tested.insert(rule.name.clone());
            let compiled = rule
                .compiled
                .get_or_compile(|| compiler.compile(&rule.condition));
            let cond = match compiled {
                Ok(c) => c,
                Err(e) => {
                    println!("FAIL {}: rule `{}` does not compile: {e}", fx.at, fx.rule);
                    eprint!("{}", loaded.names.locate_error(&rule.name, e));
                    failed += 1;
                    continue;
                }
            };
            for case in &fx.cases {
                let outcome = match &case.input {
                    Input::Fields(fields) => fixture_event::build(fields)
                        .map(|ev| with_view(&ev, 1, |v| crate::eval::matches(cond, v))),
                    Input::Frames(p) => fires_on_frames(cond, p),
                };
                let verdict = match (outcome, case.expect) {
                    (Ok(true), Expect::Fire) | (Ok(false), Expect::Silent) => Ok(()),
                    (Ok(true), Expect::Silent) => {
                        Err("expected silence, the rule fired".to_string())
                    }
                    (Ok(false), Expect::Fire) => {
                        Err("expected the rule to fire, it stayed silent".to_string())
                    }
                    (Err(e), _) => Err(e),
                };
                match verdict {
                    Ok(()) => {
                        passed += 1;
                        println!("ok   {} :: {}", fx.rule, case.name);
                    }
                    Err(why) => {
                        failed += 1;
                        println!("FAIL {} :: {} ({}): {why}", fx.rule, case.name, fx.at);
                    }
                }
            }
        }
    }
    let untested: Vec<&str> = loaded
        .rules
        .iter()
        .filter(|r| r.enabled && !tested.contains(&r.name))
        .map(|r| r.name.as_str())
        .collect();
    if !untested.is_empty() {
        eprintln!(
            "note: {} enabled rules have no fixture: {}",
            untested.len(),
            untested.join("; ")
        );
    }
    println!("{passed} passed, {failed} failed");
    i32::from(failed > 0 || passed == 0)
}
