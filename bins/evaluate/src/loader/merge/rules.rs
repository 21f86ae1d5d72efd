//! Rule items: a complete definition, `append: true`, `override`, and the
//! `enabled`-only form, with Falco's per-key semantics (see the parent
//! module). Exceptions are merged by name.
//!
//! It is not a place for lists, macros or versions.

use schema::Priority;

use super::{len, ExceptionDef, Merger, RuleDef, SOURCES};
use crate::loader::diag::ItemKind;
use crate::loader::items::{RawException, RawRule, Str, Val};
use crate::loader::source::CondText;

impl Merger<'_> {
    pub(super) fn rule(&mut self, r: RawRule) {
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
        let priority = match Priority::parse(&pri.value) {
            Ok(p) => p,
            Err(e) => {
                self.error(pri.pos, len(&pri.value), e.to_string(), ItemKind::Rule, n);
                return None;
            }
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
                    match Priority::parse(&p.value) {
                        Ok(pr) => self.defs.rules[i].priority = pr,
                        Err(e) => {
                            self.error(p.pos, len(&p.value), e.to_string(), ItemKind::Rule, &name)
                        }
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
