//! `required_engine_version` and `required_plugin_versions`: what a rules
//! file asks of the engine, checked against what kestrel implements.
//!
//! It is not a place for rule semantics.

use super::{len, Merger};
use crate::loader::diag::{Diagnostic, ItemKind};
use crate::loader::items::{PluginReq, Str};

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

fn fmt_version(v: (u64, u64, u64)) -> String {
    format!("{}.{}.{}", v.0, v.1, v.2)
}

impl Merger<'_> {
    pub(super) fn engine_version(&mut self, v: &Str) {
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

    pub(super) fn plugins(&mut self, reqs: &[PluginReq]) {
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
}
