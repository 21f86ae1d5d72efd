//! From YAML text to the items of a rules file (`rule`, `macro`, `list`,
//! `required_engine_version`, `required_plugin_versions`), each value kept
//! with the file position it came from.
//!
//! Why `marked-yaml`: `serde_yaml` (archived upstream) reports positions only
//! for syntax errors, so an error about a rule's condition or an unknown key
//! could only name the file. `marked-yaml` gives every node — mapping,
//! sequence and scalar — its line and column, and keeps mapping keys in
//! order, which is what rustc-style diagnostics need. Walking the marked tree
//! by hand (instead of deriving serde structs) also lets unknown keys become
//! warnings with a position rather than hard errors, and lets one bad item be
//! reported without hiding the errors of the next ones.
//!
//! It is not a place for merging items (append/override: [`super::merge`])
//! or for condition syntax.

use marked_yaml::types::{MarkedMappingNode, MarkedScalarNode, Node};

use super::diag::{Diagnostic, Diagnostics, ItemKind};
use super::source::{Pos, SourceMap};

/// A scalar as written, with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Str {
    pub value: String,
    pub pos: Pos,
}

/// A YAML value kept generic where its meaning depends on other keys
/// (exception `fields`, `comps` and `values`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Val {
    Scalar(Str),
    Seq(Vec<Val>, Pos),
    Map(Pos),
}

impl Val {
    pub fn pos(&self) -> Pos {
        match self {
            Val::Scalar(s) => s.pos,
            Val::Seq(_, p) | Val::Map(p) => *p,
        }
    }
}

/// An entry of a rule's `exceptions`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawException {
    pub name: Str,
    pub fields: Option<Val>,
    pub comps: Option<Val>,
    pub values: Option<Val>,
    pub pos: Pos,
}

/// `override: {key: append|replace}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    pub key: Str,
    pub action: Str,
}

/// A `- rule:` item as written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawRule {
    pub name: Option<Str>,
    pub pos: Pos,
    pub desc: Option<Str>,
    pub condition: Option<Str>,
    pub output: Option<Str>,
    pub priority: Option<Str>,
    pub tags: Option<(Vec<Str>, Pos)>,
    pub enabled: Option<(bool, Pos)>,
    pub source: Option<Str>,
    pub exceptions: Option<(Vec<RawException>, Pos)>,
    pub append: Option<(bool, Pos)>,
    pub overrides: Option<(Vec<Override>, Pos)>,
    pub skip_if_unknown_filter: Option<(bool, Pos)>,
    pub warn_evttypes: Option<(bool, Pos)>,
    /// Every key present, for the override rules ("a key listed in
    /// `override` must be given, and only those may be").
    pub keys: Vec<Str>,
}

/// A `- macro:` item.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawMacro {
    pub name: Option<Str>,
    pub pos: Pos,
    pub condition: Option<Str>,
    pub append: Option<(bool, Pos)>,
    pub overrides: Option<(Vec<Override>, Pos)>,
    pub keys: Vec<Str>,
}

/// A `- list:` item.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawList {
    pub name: Option<Str>,
    pub pos: Pos,
    pub items: Option<(Vec<Str>, Pos)>,
    pub append: Option<(bool, Pos)>,
    pub overrides: Option<(Vec<Override>, Pos)>,
    pub keys: Vec<Str>,
}

/// One plugin requirement of `required_plugin_versions`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginReq {
    pub name: Str,
    pub version: Str,
    pub alternatives: Vec<(Str, Str)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Rule(Box<RawRule>),
    Macro(RawMacro),
    List(RawList),
    EngineVersion(Str),
    PluginVersions(Vec<PluginReq>),
}

const RULE_KEYS: &[&str] = &[
    "rule",
    "desc",
    "condition",
    "output",
    "priority",
    "tags",
    "enabled",
    "source",
    "exceptions",
    "append",
    "override",
    "skip-if-unknown-filter",
    "warn_evttypes",
    // Falco's capture keys: accepted, and meaningless for kestrel (capture
    // records everything it is asked to).
    "capture",
    "capture_duration",
];
const MACRO_KEYS: &[&str] = &["macro", "condition", "append", "override"];
const LIST_KEYS: &[&str] = &["list", "items", "append", "override"];

/// Positions of a marked node.
fn pos_of(file: usize, node_span: &marked_yaml::Span) -> Pos {
    match node_span.start() {
        Some(m) => Pos {
            file,
            line: m.line(),
            column: m.column(),
        },
        None => Pos {
            file,
            line: 1,
            column: 1,
        },
    }
}

struct Reader<'a> {
    file: usize,
    map: &'a SourceMap,
    diags: &'a mut Diagnostics,
}

impl Reader<'_> {
    fn pos(&self, n: &Node) -> Pos {
        pos_of(self.file, n.span())
    }

    fn spos(&self, n: &MarkedScalarNode) -> Pos {
        pos_of(self.file, n.span())
    }

    fn error(
        &mut self,
        pos: Pos,
        len: usize,
        msg: impl Into<String>,
        item: Option<(ItemKind, &str)>,
    ) {
        let mut d = Diagnostic::error(msg).at(self.map.location(pos, len));
        if let Some((k, n)) = item {
            d = d.item(k, n);
        }
        self.diags.push(d);
    }

    fn warn(
        &mut self,
        pos: Pos,
        len: usize,
        msg: impl Into<String>,
        item: Option<(ItemKind, &str)>,
    ) {
        let mut d = Diagnostic::warning(msg).at(self.map.location(pos, len));
        if let Some((k, n)) = item {
            d = d.item(k, n);
        }
        self.diags.push(d);
    }

    fn str(&mut self, n: &Node, key: &str, item: (ItemKind, &str)) -> Option<Str> {
        match n {
            Node::Scalar(s) => Some(Str {
                value: s.as_str().to_string(),
                pos: self.spos(s),
            }),
            _ => {
                self.error(
                    self.pos(n),
                    1,
                    format!("`{key}` must be a string"),
                    Some(item),
                );
                None
            }
        }
    }

    fn bool(&mut self, n: &Node, key: &str, item: (ItemKind, &str)) -> Option<(bool, Pos)> {
        let pos = self.pos(n);
        // yaml-cpp, which Falco uses, also reads yes/no/on/off as booleans.
        let b = n
            .as_scalar()
            .and_then(|s| match s.as_str().to_ascii_lowercase().as_str() {
                "true" | "yes" | "y" | "on" => Some(true),
                "false" | "no" | "n" | "off" => Some(false),
                _ => None,
            });
        match b {
            Some(b) => Some((b, pos)),
            None => {
                self.error(pos, 1, format!("`{key}` must be true or false"), Some(item));
                None
            }
        }
    }

    fn str_list(&mut self, n: &Node, key: &str, item: (ItemKind, &str)) -> Option<(Vec<Str>, Pos)> {
        let pos = self.pos(n);
        match n {
            Node::Sequence(seq) => {
                let mut out = Vec::with_capacity(seq.len());
                for v in seq.iter() {
                    out.push(self.str(v, key, item)?);
                }
                Some((out, pos))
            }
            // An empty value (`items:`) is an empty list.
            Node::Scalar(s) if s.as_str().is_empty() => Some((Vec::new(), pos)),
            _ => {
                self.error(pos, 1, format!("`{key}` must be a list"), Some(item));
                None
            }
        }
    }

    fn val(&self, n: &Node) -> Val {
        match n {
            Node::Scalar(s) => Val::Scalar(Str {
                value: s.as_str().to_string(),
                pos: self.spos(s),
            }),
            Node::Sequence(seq) => Val::Seq(seq.iter().map(|v| self.val(v)).collect(), self.pos(n)),
            Node::Mapping(_) => Val::Map(self.pos(n)),
        }
    }

    fn overrides(&mut self, n: &Node, item: (ItemKind, &str)) -> Option<(Vec<Override>, Pos)> {
        let pos = self.pos(n);
        let Node::Mapping(m) = n else {
            self.error(
                pos,
                1,
                "`override` must map keys to `append` or `replace`",
                Some(item),
            );
            return None;
        };
        let mut out = Vec::new();
        for (k, v) in m.iter() {
            let action = self.str(v, "override", item)?;
            out.push(Override {
                key: Str {
                    value: k.as_str().to_string(),
                    pos: self.spos(k),
                },
                action,
            });
        }
        Some((out, pos))
    }

    /// The keys of `m`, warning about unknown ones.
    fn keys(&mut self, m: &MarkedMappingNode, known: &[&str], item: (ItemKind, &str)) -> Vec<Str> {
        let mut out = Vec::new();
        for (k, _) in m.iter() {
            let key = Str {
                value: k.as_str().to_string(),
                pos: self.spos(k),
            };
            if !known.contains(&key.value.as_str()) {
                self.warn(
                    key.pos,
                    key.value.chars().count(),
                    format!(
                        "unknown key `{}` in {} `{}` (ignored)",
                        key.value,
                        item.0.name(),
                        item.1
                    ),
                    Some(item),
                );
            }
            out.push(key);
        }
        out
    }

    fn rule(&mut self, m: &MarkedMappingNode, pos: Pos) -> RawRule {
        let mut r = RawRule {
            pos,
            ..Default::default()
        };
        let name = m
            .get_node("rule")
            .and_then(|n| n.as_scalar())
            .map(|s| s.as_str().to_string())
            .unwrap_or_default();
        let item = (ItemKind::Rule, name.as_str());
        r.keys = self.keys(m, RULE_KEYS, item);
        for (k, v) in m.iter() {
            match k.as_str() {
                "rule" => r.name = self.str(v, "rule", item),
                "desc" => r.desc = self.str(v, "desc", item),
                "condition" => r.condition = self.str(v, "condition", item),
                "output" => r.output = self.str(v, "output", item),
                "priority" => r.priority = self.str(v, "priority", item),
                "source" => r.source = self.str(v, "source", item),
                "tags" => r.tags = self.str_list(v, "tags", item),
                "enabled" => r.enabled = self.bool(v, "enabled", item),
                "append" => r.append = self.bool(v, "append", item),
                "skip-if-unknown-filter" => {
                    r.skip_if_unknown_filter = self.bool(v, "skip-if-unknown-filter", item)
                }
                "warn_evttypes" => r.warn_evttypes = self.bool(v, "warn_evttypes", item),
                "override" => r.overrides = self.overrides(v, item),
                "exceptions" => r.exceptions = self.exceptions(v, item),
                _ => {}
            }
        }
        r
    }

    fn exceptions(&mut self, n: &Node, item: (ItemKind, &str)) -> Option<(Vec<RawException>, Pos)> {
        let pos = self.pos(n);
        let seq = match n {
            Node::Sequence(s) => s,
            Node::Scalar(s) if s.as_str().is_empty() => return Some((Vec::new(), pos)),
            _ => {
                self.error(pos, 1, "`exceptions` must be a list", Some(item));
                return None;
            }
        };
        let mut out = Vec::new();
        for e in seq.iter() {
            let epos = self.pos(e);
            let Node::Mapping(m) = e else {
                self.error(
                    epos,
                    1,
                    "an exception must be a mapping with `name`, `fields`, `comps`, `values`",
                    Some(item),
                );
                continue;
            };
            for (k, _) in m.iter() {
                if !["name", "fields", "comps", "values"].contains(&k.as_str()) {
                    let kp = self.spos(k);
                    self.warn(
                        kp,
                        k.as_str().chars().count(),
                        format!("unknown key `{}` in an exception (ignored)", k.as_str()),
                        Some(item),
                    );
                }
            }
            let Some(name) = m.get_node("name").and_then(|n| self.str(n, "name", item)) else {
                self.error(epos, 1, "an exception needs a `name`", Some(item));
                continue;
            };
            out.push(RawException {
                name,
                fields: m.get_node("fields").map(|n| self.val(n)),
                comps: m.get_node("comps").map(|n| self.val(n)),
                values: m.get_node("values").map(|n| self.val(n)),
                pos: epos,
            });
        }
        Some((out, pos))
    }

    fn macro_(&mut self, m: &MarkedMappingNode, pos: Pos) -> RawMacro {
        let mut r = RawMacro {
            pos,
            ..Default::default()
        };
        let name = m
            .get_node("macro")
            .and_then(|n| n.as_scalar())
            .map(|s| s.as_str().to_string())
            .unwrap_or_default();
        let item = (ItemKind::Macro, name.as_str());
        r.keys = self.keys(m, MACRO_KEYS, item);
        for (k, v) in m.iter() {
            match k.as_str() {
                "macro" => r.name = self.str(v, "macro", item),
                "condition" => r.condition = self.str(v, "condition", item),
                "append" => r.append = self.bool(v, "append", item),
                "override" => r.overrides = self.overrides(v, item),
                _ => {}
            }
        }
        r
    }

    fn list(&mut self, m: &MarkedMappingNode, pos: Pos) -> RawList {
        let mut r = RawList {
            pos,
            ..Default::default()
        };
        let name = m
            .get_node("list")
            .and_then(|n| n.as_scalar())
            .map(|s| s.as_str().to_string())
            .unwrap_or_default();
        let item = (ItemKind::List, name.as_str());
        r.keys = self.keys(m, LIST_KEYS, item);
        for (k, v) in m.iter() {
            match k.as_str() {
                "list" => r.name = self.str(v, "list", item),
                "items" => r.items = self.str_list(v, "items", item),
                "append" => r.append = self.bool(v, "append", item),
                "override" => r.overrides = self.overrides(v, item),
                _ => {}
            }
        }
        r
    }

    fn plugins(&mut self, n: &Node) -> Vec<PluginReq> {
        let item = (ItemKind::Other, "required_plugin_versions");
        let Node::Sequence(seq) = n else {
            self.error(
                self.pos(n),
                1,
                "`required_plugin_versions` must be a list of {name, version}",
                Some(item),
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for p in seq.iter() {
            let Node::Mapping(m) = p else {
                self.error(
                    self.pos(p),
                    1,
                    "a plugin requirement must be a mapping with `name` and `version`",
                    Some(item),
                );
                continue;
            };
            let name = m.get_node("name").and_then(|n| self.str(n, "name", item));
            let version = m
                .get_node("version")
                .and_then(|n| self.str(n, "version", item));
            let (Some(name), Some(version)) = (name, version) else {
                self.error(
                    self.pos(p),
                    1,
                    "a plugin requirement needs `name` and `version`",
                    Some(item),
                );
                continue;
            };
            let mut alternatives = Vec::new();
            if let Some(Node::Sequence(alts)) = m.get_node("alternatives") {
                for a in alts.iter() {
                    if let Node::Mapping(am) = a {
                        let an = am.get_node("name").and_then(|n| self.str(n, "name", item));
                        let av = am
                            .get_node("version")
                            .and_then(|n| self.str(n, "version", item));
                        if let (Some(an), Some(av)) = (an, av) {
                            alternatives.push((an, av));
                        }
                    }
                }
            }
            out.push(PluginReq {
                name,
                version,
                alternatives,
            });
        }
        out
    }
}

/// True when a file holds no YAML content (only blanks and comments), which
/// is a valid, empty rules file.
fn is_blank_yaml(text: &str) -> bool {
    text.lines().all(|l| {
        let t = l.trim();
        t.is_empty() || t.starts_with('#') || t == "---" || t == "..."
    })
}

/// Parses file `file` of `map` into items, reporting problems into `diags`.
pub fn read_items(map: &SourceMap, file: usize, diags: &mut Diagnostics) -> Vec<Item> {
    let Some(src) = map.files.get(file) else {
        return Vec::new();
    };
    if is_blank_yaml(&src.text) {
        return Vec::new();
    }
    let opts = marked_yaml::LoaderOptions::default()
        .toplevel_sequence()
        .error_on_duplicate_keys(true);
    let root = match marked_yaml::parse_yaml_with_options(file, &src.text, opts) {
        Ok(n) => n,
        Err(e) => {
            diags.push(yaml_error(map, file, &e));
            return Vec::new();
        }
    };
    let mut r = Reader { file, map, diags };
    let Node::Sequence(seq) = &root else {
        let p = r.pos(&root);
        r.error(
            p,
            1,
            "a rules file must be a YAML list of items (`- rule:`, `- macro:`, `- list:`)",
            None,
        );
        return Vec::new();
    };
    let mut out = Vec::new();
    for n in seq.iter() {
        let pos = r.pos(n);
        let Node::Mapping(m) = n else {
            r.error(
                pos,
                1,
                "each item of a rules file must be a mapping (`- rule: …`)",
                None,
            );
            continue;
        };
        if m.contains_key("rule") {
            out.push(Item::Rule(Box::new(r.rule(m, pos))));
        } else if m.contains_key("macro") {
            out.push(Item::Macro(r.macro_(m, pos)));
        } else if m.contains_key("list") {
            out.push(Item::List(r.list(m, pos)));
        } else if let Some(v) = m.get_node("required_engine_version") {
            if let Some(s) = r.str(
                v,
                "required_engine_version",
                (ItemKind::Other, "required_engine_version"),
            ) {
                out.push(Item::EngineVersion(s));
            }
        } else if let Some(v) = m.get_node("required_plugin_versions") {
            out.push(Item::PluginVersions(r.plugins(v)));
        } else {
            let first = m
                .keys()
                .next()
                .map(|k| k.as_str().to_string())
                .unwrap_or_default();
            // A warning, as in Falco: newer rule files may hold items an
            // older engine does not know.
            r.warn(
                pos,
                first.chars().count().max(1),
                format!("unknown item `{first}` (ignored): expected `rule`, `macro`, `list`, `required_engine_version` or `required_plugin_versions`"),
                None,
            );
        }
    }
    out
}

fn yaml_error(map: &SourceMap, file: usize, e: &marked_yaml::LoadError) -> Diagnostic {
    use marked_yaml::LoadError as E;
    let (marker, what) = match e {
        E::TopLevelMustBeMapping(m) | E::TopLevelMustBeSequence(m) => (
            Some(*m),
            "a rules file must be a YAML list of items (`- rule:`, `- macro:`, `- list:`)"
                .to_string(),
        ),
        E::UnexpectedAnchor(m) => (
            Some(*m),
            "YAML anchors are not supported in rules files".to_string(),
        ),
        E::MappingKeyMustBeScalar(m) => {
            (Some(*m), "mapping keys must be plain strings".to_string())
        }
        E::UnexpectedTag(m) => (
            Some(*m),
            "YAML tags are not supported in rules files".to_string(),
        ),
        E::ScanError(m, _) => (
            Some(*m),
            format!("malformed YAML: {}", scan_message(&e.to_string())),
        ),
        E::DuplicateKey(inner) => (
            inner.key.span().start().copied(),
            format!("duplicate key `{}` in one item", inner.key.as_str()),
        ),
        #[allow(unreachable_patterns)]
        other => (None, format!("malformed YAML: {other}")),
    };
    let loc = marker.and_then(|m| {
        map.location(
            Pos {
                file,
                line: m.line(),
                column: m.column(),
            },
            1,
        )
    });
    Diagnostic::error(what).at(loc)
}

fn scan_message(full: &str) -> String {
    // The text is "SOURCE:LINE:COL: what at byte N line L column C"; the
    // excerpt already shows where, so keep only what.
    let what = full.splitn(4, ':').nth(3).map(str::trim).unwrap_or(full);
    match what.find(" at byte ") {
        Some(i) => what[..i].to_string(),
        None => what.to_string(),
    }
}
