//! Later items change earlier ones: this module applies the items of all
//! rule files, in order, to the current definitions of lists, macros and
//! rules, with Falco's semantics:
//!
//! - an item with a name already defined and neither `append` nor
//!   `override` replaces the earlier definition;
//! - `append: true` (legacy) adds list items, or appends to a macro's or a
//!   rule's condition (with a blank between), and merges rule exceptions;
//! - `override: {key: append|replace}` appends to or replaces exactly the
//!   keys it lists: lists `items`; macros `condition`; rules `condition`,
//!   `output`, `desc`, `tags`, `exceptions` (append or replace) and
//!   `priority`, `enabled`, `warn_evttypes`, `skip-if-unknown-filter`
//!   (replace only). Every key it lists must be given and every key given
//!   must be listed;
//! - a rule item with only `rule` and `enabled` switches an existing rule on
//!   or off;
//! - appended exceptions with the name of an existing one add their values
//!   to it; others are new exceptions.
//!
//! It also checks `required_engine_version` and `required_plugin_versions`.
//!
//! It is not a place for condition syntax or macro expansion: texts are
//! concatenated here and parsed later ([`crate::check`]).

use std::collections::HashMap;

use schema::Priority;

use super::diag::{Diagnostic, Diagnostics, ItemKind};
use super::items::{Item, Override, RawList, RawMacro, Str, Val};
use super::source::{CondText, Pos, SourceMap};

pub use versions::{parse_version, ENGINE_VERSION, PROVIDED_PLUGINS};

mod rules;
mod versions;

/// Event sources a rule may name.
pub const SOURCES: &[&str] = &["syscall", "k8s_audit"];

#[derive(Debug, Clone, PartialEq)]
pub struct ListDef {
    pub name: String,
    pub pos: Pos,
    pub items: Vec<Str>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MacroDef {
    pub name: String,
    pub pos: Pos,
    pub cond: CondText,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ExceptionDef {
    pub name: Str,
    pub fields: Option<Val>,
    pub comps: Option<Val>,
    /// Each entry as written (a tuple, or a single value in the one-field
    /// form).
    pub values: Vec<Val>,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RuleDef {
    pub name: String,
    pub pos: Pos,
    pub desc: String,
    pub cond: CondText,
    pub output: CondText,
    pub priority: Priority,
    pub source: String,
    pub tags: Vec<String>,
    pub enabled: bool,
    pub exceptions: Vec<ExceptionDef>,
    pub skip_if_unknown_filter: bool,
    pub warn_evttypes: bool,
}

/// The definitions after every item was applied, in first-definition order.
#[derive(Debug, Default)]
pub struct Defs {
    pub lists: Vec<ListDef>,
    pub macros: Vec<MacroDef>,
    pub rules: Vec<RuleDef>,
    list_ix: HashMap<String, usize>,
    macro_ix: HashMap<String, usize>,
    rule_ix: HashMap<String, usize>,
}

impl Defs {
    pub fn list(&self, name: &str) -> Option<&ListDef> {
        self.list_ix.get(name).map(|&i| &self.lists[i])
    }

    pub fn macro_(&self, name: &str) -> Option<&MacroDef> {
        self.macro_ix.get(name).map(|&i| &self.macros[i])
    }
}

struct Merger<'a> {
    map: &'a SourceMap,
    diags: &'a mut Diagnostics,
    defs: Defs,
}

/// Applies `items` in order.
pub fn merge(map: &SourceMap, items: Vec<Item>, diags: &mut Diagnostics) -> Defs {
    let mut m = Merger {
        map,
        diags,
        defs: Defs::default(),
    };
    for item in items {
        match item {
            Item::List(l) => m.list(l),
            Item::Macro(x) => m.macro_(x),
            Item::Rule(r) => m.rule(*r),
            Item::EngineVersion(v) => m.engine_version(&v),
            Item::PluginVersions(p) => m.plugins(&p),
        }
    }
    m.defs
}

fn len(s: &str) -> usize {
    s.chars().count().max(1)
}

impl Merger<'_> {
    fn error(&mut self, pos: Pos, n: usize, msg: impl Into<String>, kind: ItemKind, name: &str) {
        let d = Diagnostic::error(msg)
            .at(self.map.location(pos, n))
            .item(kind, name);
        self.diags.push(d);
    }

    fn warn(&mut self, pos: Pos, n: usize, msg: impl Into<String>, kind: ItemKind, name: &str) {
        let d = Diagnostic::warning(msg)
            .at(self.map.location(pos, n))
            .item(kind, name);
        self.diags.push(d);
    }

    /// Checks an `override` mapping: actions are `append` or `replace`, the
    /// keys are allowed for that action, every listed key is given, and
    /// every given key is listed. Returns (key, is_append) pairs.
    fn check_overrides(
        &mut self,
        ovs: &[Override],
        keys: &[Str],
        appendable: &[&str],
        replaceable: &[&str],
        kind: ItemKind,
        name: &str,
    ) -> Option<Vec<(String, bool)>> {
        let mut ok = true;
        let mut out = Vec::new();
        for o in ovs {
            let append = match o.action.value.as_str() {
                "append" => true,
                "replace" => false,
                other => {
                    self.error(
                        o.action.pos,
                        len(other),
                        format!("override action must be `append` or `replace`, not `{other}`"),
                        kind,
                        name,
                    );
                    ok = false;
                    continue;
                }
            };
            let allowed = if append { appendable } else { replaceable };
            if !allowed.contains(&o.key.value.as_str()) {
                let verb = if append { "appended" } else { "replaced" };
                self.error(
                    o.key.pos,
                    len(&o.key.value),
                    format!(
                        "key `{}` of a {} cannot be {verb} (allowed: {})",
                        o.key.value,
                        kind.name(),
                        allowed.join(", ")
                    ),
                    kind,
                    name,
                );
                ok = false;
                continue;
            }
            if !keys.iter().any(|k| k.value == o.key.value) {
                self.error(
                    o.key.pos,
                    len(&o.key.value),
                    format!(
                        "`override` lists `{}` but the item does not give it",
                        o.key.value
                    ),
                    kind,
                    name,
                );
                ok = false;
                continue;
            }
            out.push((o.key.value.clone(), append));
        }
        let ident = kind.name();
        for k in keys {
            let is_meta = k.value == ident || k.value == "override";
            let known =
                appendable.contains(&k.value.as_str()) || replaceable.contains(&k.value.as_str());
            if !is_meta && known && !ovs.iter().any(|o| o.key.value == k.value) {
                self.error(
                    k.pos,
                    len(&k.value),
                    format!("key `{}` is given but not listed in `override`: say `{}: append` or `{}: replace`", k.value, k.value, k.value),
                    kind,
                    name,
                );
                ok = false;
            }
        }
        ok.then_some(out)
    }

    fn list(&mut self, l: RawList) {
        let Some(name) = l.name.clone().filter(|n| !n.value.is_empty()) else {
            self.error(
                l.pos,
                1,
                "a list needs a non-empty name",
                ItemKind::List,
                "",
            );
            return;
        };
        let n = name.value.clone();
        let existing = self.defs.list_ix.get(&n).copied();
        let items = l.items.clone().map(|i| i.0);
        let mode = if let Some((ovs, opos)) = &l.overrides {
            if l.append.is_some_and(|a| a.0) {
                self.error(
                    *opos,
                    8,
                    "`append` and `override` cannot be used together",
                    ItemKind::List,
                    &n,
                );
                return;
            }
            let Some(v) =
                self.check_overrides(ovs, &l.keys, &["items"], &["items"], ItemKind::List, &n)
            else {
                return;
            };
            v.first()
                .map(|(_, append)| if *append { Mode::Append } else { Mode::Replace })
                .unwrap_or(Mode::Replace)
        } else if l.append.is_some_and(|a| a.0) {
            Mode::Append
        } else {
            Mode::Define
        };
        match (mode, existing) {
            (Mode::Append | Mode::Replace, None) => {
                self.error(
                    name.pos,
                    len(&n),
                    format!(
                        "cannot {} list `{n}`: no list of that name is defined before",
                        mode.verb()
                    ),
                    ItemKind::List,
                    &n,
                );
            }
            (Mode::Append, Some(i)) => self.defs.lists[i].items.extend(items.unwrap_or_default()),
            (Mode::Replace, Some(i)) => self.defs.lists[i].items = items.unwrap_or_default(),
            (Mode::Define, _) => {
                let Some(items) = items else {
                    self.error(
                        name.pos,
                        len(&n),
                        format!("list `{n}` has no `items`"),
                        ItemKind::List,
                        &n,
                    );
                    return;
                };
                let def = ListDef {
                    name: n.clone(),
                    pos: name.pos,
                    items,
                };
                match existing {
                    Some(i) => self.defs.lists[i] = def,
                    None => {
                        self.defs.list_ix.insert(n, self.defs.lists.len());
                        self.defs.lists.push(def);
                    }
                }
            }
        }
    }

    fn macro_(&mut self, x: RawMacro) {
        let Some(name) = x.name.clone().filter(|n| !n.value.is_empty()) else {
            self.error(
                x.pos,
                1,
                "a macro needs a non-empty name",
                ItemKind::Macro,
                "",
            );
            return;
        };
        let n = name.value.clone();
        let usable = n
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !usable {
            self.warn(
                name.pos,
                len(&n),
                format!(
                    "macro name `{n}` cannot appear in a condition (use letters, digits and `_`)"
                ),
                ItemKind::Macro,
                &n,
            );
        }
        let existing = self.defs.macro_ix.get(&n).copied();
        let mode = if let Some((ovs, opos)) = &x.overrides {
            if x.append.is_some_and(|a| a.0) {
                self.error(
                    *opos,
                    8,
                    "`append` and `override` cannot be used together",
                    ItemKind::Macro,
                    &n,
                );
                return;
            }
            let Some(v) = self.check_overrides(
                ovs,
                &x.keys,
                &["condition"],
                &["condition"],
                ItemKind::Macro,
                &n,
            ) else {
                return;
            };
            v.first()
                .map(|(_, append)| if *append { Mode::Append } else { Mode::Replace })
                .unwrap_or(Mode::Replace)
        } else if x.append.is_some_and(|a| a.0) {
            Mode::Append
        } else {
            Mode::Define
        };
        let Some(cond) = x.condition.clone() else {
            self.error(
                name.pos,
                len(&n),
                format!("macro `{n}` has no `condition`"),
                ItemKind::Macro,
                &n,
            );
            return;
        };
        match (mode, existing) {
            (Mode::Append | Mode::Replace, None) => {
                self.error(
                    name.pos,
                    len(&n),
                    format!(
                        "cannot {} macro `{n}`: no macro of that name is defined before",
                        mode.verb()
                    ),
                    ItemKind::Macro,
                    &n,
                );
            }
            (Mode::Append, Some(i)) => self.defs.macros[i].cond.append(&cond.value, cond.pos),
            (Mode::Replace, Some(i)) => {
                self.defs.macros[i].cond = CondText::new(&cond.value, cond.pos)
            }
            (Mode::Define, _) => {
                let def = MacroDef {
                    name: n.clone(),
                    pos: name.pos,
                    cond: CondText::new(&cond.value, cond.pos),
                };
                match existing {
                    Some(i) => self.defs.macros[i] = def,
                    None => {
                        self.defs.macro_ix.insert(n, self.defs.macros.len());
                        self.defs.macros.push(def);
                    }
                }
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Define,
    Append,
    Replace,
}

impl Mode {
    fn verb(self) -> &'static str {
        match self {
            Mode::Define => "define",
            Mode::Append => "append to",
            Mode::Replace => "replace",
        }
    }
}
