//! The rule loader: Falco rule files (YAML) in, resolved rules out.
//!
//! Steps: read the files ([`source`]), cut each into items with positions
//! ([`items`]), apply the items in order with Falco's append/override
//! semantics ([`merge`]), then resolve macros, lists and exceptions and
//! check fields ([`crate::check`]). Every problem is a [`diag::Diagnostic`]
//! with file, line, column, item and an excerpt; loading never panics on bad
//! input.
//!
//! It is not a place for compiling conditions or evaluating events.

pub mod diag;
pub mod items;
pub mod merge;
pub mod source;

use std::path::PathBuf;

use crate::check::{self, FieldCatalog, Rule};
use diag::{Diagnostic, Diagnostics};
use source::{SourceFile, SourceMap};

/// Rules that loaded, with the warnings met on the way.
#[derive(Debug)]
pub struct Loaded {
    pub rules: Vec<Rule>,
    pub warnings: Diagnostics,
    /// Names of the lists and macros defined, for `list-rules`.
    pub lists: Vec<String>,
    pub macros: Vec<String>,
    /// Parsed macros, lists and conditions, to locate compile errors.
    pub names: check::names::Names,
}

/// Loads rules from texts already read (`(name, text)` pairs, in order).
/// `Err` holds every error and warning when any error occurred.
pub fn load_texts(
    files: Vec<SourceFile>,
    catalog: &dyn FieldCatalog,
) -> Result<Loaded, Diagnostics> {
    let mut map = SourceMap::default();
    for f in files {
        map.add(f);
    }
    let mut diags = Diagnostics::default();
    let mut all = Vec::new();
    for i in 0..map.files.len() {
        all.extend(items::read_items(&map, i, &mut diags));
    }
    let defs = merge::merge(&map, all, &mut diags);
    let (rules, names) = check::resolve(&map, &defs, catalog, &mut diags);
    if diags.has_errors() {
        return Err(diags);
    }
    Ok(Loaded {
        rules,
        warnings: diags,
        lists: defs.lists.iter().map(|l| l.name.clone()).collect(),
        macros: defs.macros.iter().map(|m| m.name.clone()).collect(),
        names,
    })
}

/// Loads rules from files and directories (directories: their `.yaml` and
/// `.yml` files, sorted), in the order given.
pub fn load_paths(paths: &[PathBuf], catalog: &dyn FieldCatalog) -> Result<Loaded, Diagnostics> {
    load_after(Vec::new(), paths, catalog)
}

/// Loads `first` (texts already read, such as the built-in rules), then the
/// files and directories of `paths` in the order given, which may append to
/// or override what `first` defines.
pub fn load_after(
    first: Vec<SourceFile>,
    paths: &[PathBuf],
    catalog: &dyn FieldCatalog,
) -> Result<Loaded, Diagnostics> {
    let mut files = first;
    let mut diags = Diagnostics::default();
    match source::expand_paths(paths) {
        Ok(list) => {
            for p in list {
                match source::read_file(&p) {
                    Ok(f) => files.push(f),
                    Err(e) => diags.push(Diagnostic::error(e.to_string())),
                }
            }
        }
        Err(e) => diags.push(Diagnostic::error(e.to_string())),
    }
    if diags.has_errors() {
        return Err(diags);
    }
    load_texts(files, catalog)
}
