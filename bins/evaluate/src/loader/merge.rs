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
use super::items::{Item, Override, PluginReq, RawException, RawList, RawMacro, RawRule, Str, Val};
use super::source::{CondText, Pos, SourceMap};

/// The rule-language version kestrel implements, in Falco's engine version
/// numbering (semver; legacy integer N means 0.N.0). Falco 0.44, whose
/// operator modifiers kestrel supports, ships engine 0.62.0.
pub const ENGINE_VERSION: (u64, u64, u64) = (0, 62, 0);

/// Plugins whose sources and fields kestrel provides itself, with the
/// plugin version whose fields it matches: container metadata (enrich),
/// the Kubernetes audit source and its JSON fields.
pub const PROVIDED_PLUGINS: &[(&str, &str)] = &[
    ("container", "0.7.1"),
    ("k8saudit", "0.18.0"),
    ("json", "0.7.0"),
];

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

/// Parses a priority name, case-insensitively (`INFO` is accepted for
/// `informational`, as Falco does).
pub fn parse_priority(s: &str) -> Option<Priority> {
    Some(match s.trim().to_ascii_lowercase().as_str() {
        "emergency" => Priority::Emergency,
        "alert" => Priority::Alert,
        "critical" => Priority::Critical,
        "error" => Priority::Error,
        "warning" => Priority::Warning,
        "notice" => Priority::Notice,
        "informational" | "info" => Priority::Informational,
        "debug" => Priority::Debug,
        _ => return None,
    })
}

/// Parses `0.57.0`, `0.57` or a legacy integer `15` (= 0.15.0).
pub fn parse_version(s: &str) -> Option<(u64, u64, u64)> {
    let s = s.trim();
    if let Ok(n) = s.parse::<u64>() {
        return Some((0, n, 0));
    }
    let core = s.split(['-', '+']).next()?;
    let mut parts = core.split('.').map(|p| p.parse::<u64>().ok());
    let major = parts.next()??;
    let minor = parts.next().unwrap_or(Some(0))?;
    let patch = parts.next().unwrap_or(Some(0))?;
    if parts.next().is_some() {
        return None;
    }
    Some((major, minor, patch))
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

fn fmt_version(v: (u64, u64, u64)) -> String {
    format!("{}.{}.{}", v.0, v.1, v.2)
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

    fn engine_version(&mut self, v: &Str) {
        let name = "required_engine_version";
        match parse_version(&v.value) {
            None => self.error(
                v.pos,
                len(&v.value),
                format!(
                    "`{}` is not a version (expected e.g. 0.57.0 or 15)",
                    v.value
                ),
                ItemKind::Other,
                name,
            ),
            Some(want) if want > ENGINE_VERSION => self.error(
                v.pos,
                len(&v.value),
                format!(
                    "these rules need engine version {}, kestrel implements {}",
                    fmt_version(want),
                    fmt_version(ENGINE_VERSION)
                ),
                ItemKind::Other,
                name,
            ),
            Some(_) => {}
        }
    }

    fn plugins(&mut self, reqs: &[PluginReq]) {
        for r in reqs {
            let mut candidates = vec![(&r.name, &r.version)];
            candidates.extend(r.alternatives.iter().map(|(n, v)| (n, v)));
            let satisfied = candidates.iter().any(|(n, v)| {
                PROVIDED_PLUGINS.iter().any(|(pn, pv)| {
                    *pn == n.value
                        && parse_version(&v.value)
                            .is_some_and(|want| parse_version(pv).is_some_and(|have| have >= want))
                })
            });
            if satisfied {
                continue;
            }
            let provided = PROVIDED_PLUGINS
                .iter()
                .map(|(n, v)| format!("{n} {v}"))
                .collect::<Vec<_>>()
                .join(", ");
            let msg = match PROVIDED_PLUGINS.iter().find(|(pn, _)| *pn == r.name.value) {
                Some((_, have)) => format!(
                    "these rules need plugin `{}` version {}, kestrel provides version {have}",
                    r.name.value, r.version.value
                ),
                None => format!(
                    "these rules need plugin `{}` ({}), which kestrel does not provide",
                    r.name.value, r.version.value
                ),
            };
            let d = Diagnostic::error(msg)
                .at(self.map.location(r.name.pos, len(&r.name.value)))
                .item(ItemKind::Other, "required_plugin_versions")
                .note(format!("kestrel provides, built in: {provided}"));
            self.diags.push(d);
        }
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

    fn rule(&mut self, r: RawRule) {
        let Some(name) = r.name.clone().filter(|n| !n.value.is_empty()) else {
            self.error(
                r.pos,
                1,
                "a rule needs a non-empty name",
                ItemKind::Rule,
                "",
            );
            return;
        };
        let n = name.value.clone();
        let existing = self.defs.rule_ix.get(&n).copied();
        const APPENDABLE: &[&str] = &["condition", "output", "desc", "tags", "exceptions"];
        const REPLACEABLE: &[&str] = &[
            "condition",
            "output",
            "desc",
            "priority",
            "tags",
            "exceptions",
            "enabled",
            "warn_evttypes",
            "skip-if-unknown-filter",
            "capture",
            "capture_duration",
        ];
        if let Some((ovs, opos)) = &r.overrides {
            if r.append.is_some_and(|a| a.0) {
                self.error(
                    *opos,
                    8,
                    "`append` and `override` cannot be used together",
                    ItemKind::Rule,
                    &n,
                );
                return;
            }
            let Some(actions) =
                self.check_overrides(ovs, &r.keys, APPENDABLE, REPLACEABLE, ItemKind::Rule, &n)
            else {
                return;
            };
            let Some(i) = existing else {
                self.error(
                    name.pos,
                    len(&n),
                    format!("cannot override rule `{n}`: no rule of that name is defined before"),
                    ItemKind::Rule,
                    &n,
                );
                return;
            };
            for (key, append) in actions {
                self.apply_rule_key(i, &r, &key, append);
            }
            return;
        }
        if r.append.is_some_and(|a| a.0) {
            let Some(i) = existing else {
                self.error(
                    name.pos,
                    len(&n),
                    format!("cannot append to rule `{n}`: no rule of that name is defined before"),
                    ItemKind::Rule,
                    &n,
                );
                return;
            };
            for k in &r.keys {
                let key = k.value.as_str();
                if APPENDABLE.contains(&key) {
                    self.apply_rule_key(i, &r, key, true);
                } else if !["rule", "append"].contains(&key) && REPLACEABLE.contains(&key) {
                    self.error(k.pos, len(key), format!("key `{key}` cannot be appended to a rule; use `override: {{{key}: replace}}`"), ItemKind::Rule, &n);
                }
            }
            return;
        }
        let only_enabled = r.condition.is_none()
            && r.output.is_none()
            && r.desc.is_none()
            && r.priority.is_none()
            && r.enabled.is_some();
        if only_enabled {
            match existing {
                Some(i) => {
                    if let Some((e, _)) = r.enabled {
                        self.defs.rules[i].enabled = e;
                    }
                }
                None => self.error(name.pos, len(&n), format!("cannot enable or disable rule `{n}`: no rule of that name is defined before"), ItemKind::Rule, &n),
            }
            return;
        }
        let Some(def) = self.new_rule(&r, &name) else {
            return;
        };
        match existing {
            Some(i) => self.defs.rules[i] = def,
            None => {
                self.defs.rule_ix.insert(n, self.defs.rules.len());
                self.defs.rules.push(def);
            }
        }
    }

    /// A complete rule definition.
    fn new_rule(&mut self, r: &RawRule, name: &Str) -> Option<RuleDef> {
        let n = &name.value;
        let mut missing = Vec::new();
        for (key, present) in [
            ("condition", r.condition.is_some()),
            ("output", r.output.is_some()),
            ("desc", r.desc.is_some()),
            ("priority", r.priority.is_some()),
        ] {
            if !present {
                missing.push(format!("`{key}`"));
            }
        }
        if !missing.is_empty() {
            self.error(
                name.pos,
                len(n),
                format!("rule `{n}` is missing {}", missing.join(", ")),
                ItemKind::Rule,
                n,
            );
            return None;
        }
        let (cond, output, desc, pri) = (
            r.condition.as_ref()?,
            r.output.as_ref()?,
            r.desc.as_ref()?,
            r.priority.as_ref()?,
        );
        let Some(priority) = parse_priority(&pri.value) else {
            self.error(
                pri.pos,
                len(&pri.value),
                format!("unknown priority `{}` (expected emergency, alert, critical, error, warning, notice, informational or debug)", pri.value),
                ItemKind::Rule,
                n,
            );
            return None;
        };
        let source = match &r.source {
            // As Falco does for a source whose plugin is not loaded: skip
            // the rule and say so.
            Some(s) if !SOURCES.contains(&s.value.as_str()) => {
                self.warn(
                    s.pos,
                    len(&s.value),
                    format!(
                        "unknown source `{}` (kestrel provides: {}): rule skipped",
                        s.value,
                        SOURCES.join(", ")
                    ),
                    ItemKind::Rule,
                    n,
                );
                return None;
            }
            Some(s) => s.value.clone(),
            None => "syscall".to_string(),
        };
        let exceptions = match &r.exceptions {
            Some((ex, _)) => self.new_exceptions(ex, n)?,
            None => Vec::new(),
        };
        Some(RuleDef {
            name: n.clone(),
            pos: name.pos,
            desc: desc.value.clone(),
            cond: CondText::new(&cond.value, cond.pos),
            output: CondText::new(&output.value, output.pos),
            priority,
            source,
            tags: r
                .tags
                .as_ref()
                .map(|t| t.0.iter().map(|s| s.value.clone()).collect())
                .unwrap_or_default(),
            enabled: r.enabled.map(|e| e.0).unwrap_or(true),
            exceptions,
            skip_if_unknown_filter: r.skip_if_unknown_filter.map(|e| e.0).unwrap_or(false),
            warn_evttypes: r.warn_evttypes.map(|e| e.0).unwrap_or(true),
        })
    }

    /// Exceptions defined with their rule: each needs `fields`.
    fn new_exceptions(&mut self, ex: &[RawException], rule: &str) -> Option<Vec<ExceptionDef>> {
        let mut out: Vec<ExceptionDef> = Vec::new();
        for e in ex {
            if e.fields.is_none() {
                self.error(
                    e.name.pos,
                    len(&e.name.value),
                    format!("exception `{}` has no `fields`", e.name.value),
                    ItemKind::Rule,
                    rule,
                );
                return None;
            }
            // A warning, as in Falco: both still apply (they are or-ed),
            // but later values can only be added to the first.
            if out.iter().any(|o| o.name.value == e.name.value) {
                self.warn(
                    e.name.pos,
                    len(&e.name.value),
                    format!("exception `{}` is defined twice in this rule", e.name.value),
                    ItemKind::Rule,
                    rule,
                );
            }
            out.push(exception_def(e));
        }
        Some(out)
    }

    fn apply_rule_key(&mut self, i: usize, r: &RawRule, key: &str, append: bool) {
        let name = self.defs.rules[i].name.clone();
        match key {
            "condition" => {
                if let Some(c) = &r.condition {
                    let rule = &mut self.defs.rules[i];
                    if append {
                        rule.cond.append(&c.value, c.pos);
                    } else {
                        rule.cond = CondText::new(&c.value, c.pos);
                    }
                }
            }
            "output" => {
                if let Some(c) = &r.output {
                    let rule = &mut self.defs.rules[i];
                    if append {
                        rule.output.append(&c.value, c.pos);
                    } else {
                        rule.output = CondText::new(&c.value, c.pos);
                    }
                }
            }
            "desc" => {
                if let Some(d) = &r.desc {
                    let rule = &mut self.defs.rules[i];
                    if append {
                        rule.desc.push(' ');
                        rule.desc.push_str(&d.value);
                    } else {
                        rule.desc = d.value.clone();
                    }
                }
            }
            "tags" => {
                if let Some((tags, _)) = &r.tags {
                    let rule = &mut self.defs.rules[i];
                    if !append {
                        rule.tags.clear();
                    }
                    for t in tags {
                        if !rule.tags.contains(&t.value) {
                            rule.tags.push(t.value.clone());
                        }
                    }
                }
            }
            "priority" => {
                if let Some(p) = &r.priority {
                    match parse_priority(&p.value) {
                        Some(pr) => self.defs.rules[i].priority = pr,
                        None => self.error(
                            p.pos,
                            len(&p.value),
                            format!("unknown priority `{}`", p.value),
                            ItemKind::Rule,
                            &name,
                        ),
                    }
                }
            }
            "enabled" => {
                if let Some((e, _)) = r.enabled {
                    self.defs.rules[i].enabled = e;
                }
            }
            "warn_evttypes" => {
                if let Some((e, _)) = r.warn_evttypes {
                    self.defs.rules[i].warn_evttypes = e;
                }
            }
            "skip-if-unknown-filter" => {
                if let Some((e, _)) = r.skip_if_unknown_filter {
                    self.defs.rules[i].skip_if_unknown_filter = e;
                }
            }
            "exceptions" => {
                let Some((ex, _)) = &r.exceptions else { return };
                if !append {
                    if let Some(new) = self.new_exceptions(ex, &name) {
                        self.defs.rules[i].exceptions = new;
                    }
                    return;
                }
                for e in ex {
                    let rule = &mut self.defs.rules[i];
                    match rule
                        .exceptions
                        .iter_mut()
                        .find(|o| o.name.value == e.name.value)
                    {
                        Some(o) => o.values.extend(exception_def(e).values),
                        None if e.fields.is_some() => rule.exceptions.push(exception_def(e)),
                        None => {
                            let msg = format!("exception `{}` adds values to no exception of rule `{name}` and has no `fields` of its own", e.name.value);
                            self.error(e.name.pos, len(&e.name.value), msg, ItemKind::Rule, &name);
                        }
                    }
                }
            }
            // Capture settings mean nothing to kestrel.
            _ => self.warn(
                r.pos,
                1,
                format!("key `{key}` has no effect in kestrel"),
                ItemKind::Rule,
                &name,
            ),
        }
    }
}

fn exception_def(e: &RawException) -> ExceptionDef {
    let values = match &e.values {
        Some(Val::Seq(v, _)) => v.clone(),
        Some(Val::Scalar(s)) if s.value.is_empty() => Vec::new(),
        Some(other) => vec![other.clone()],
        None => Vec::new(),
    };
    ExceptionDef {
        name: e.name.clone(),
        fields: e.fields.clone(),
        comps: e.comps.clone(),
        values,
        pos: e.pos,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(parse_version("0.57.0"), Some((0, 57, 0)));
        assert_eq!(parse_version("15"), Some((0, 15, 0)));
        assert_eq!(parse_version("1.2"), Some((1, 2, 0)));
        assert_eq!(parse_version("0.7.0-rc1"), Some((0, 7, 0)));
        assert_eq!(parse_version("x.y"), None);
        assert_eq!(parse_version("1.2.3.4"), None);
    }

    #[test]
    fn priorities_are_case_insensitive() {
        assert_eq!(parse_priority("WARNING"), Some(Priority::Warning));
        assert_eq!(parse_priority("Info"), Some(Priority::Informational));
        assert_eq!(
            parse_priority("informational"),
            Some(Priority::Informational)
        );
        assert_eq!(parse_priority("EMERGENCY"), Some(Priority::Emergency));
        assert_eq!(parse_priority("loud"), None);
    }
}
