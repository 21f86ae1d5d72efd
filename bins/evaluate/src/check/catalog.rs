//! The engine's field registry ([`crate::fields`]) seen as a
//! [`FieldCatalog`]: the loader asks it whether each field of a condition or
//! an output exists for the rule's source.
//!
//! The k8s_audit source's fields (`ka.*`, `jevt.*`) are accepted for rules of
//! that source by their prefix: kestrel parses those rules now and will
//! evaluate them once the source exists.

use super::FieldCatalog;
use crate::fields;
use crate::lang::ast::FieldRef;

/// The registry of kestrel's fields.
pub struct Registry;

impl FieldCatalog for Registry {
    fn check(&self, source: Option<&str>, f: &FieldRef) -> Result<(), String> {
        let owner = fields::source_of(&f.name);
        match source {
            Some("k8s_audit") => match owner {
                Some("k8s_audit") => Ok(()),
                Some(other) => Err(format!(
                    "field `{}` belongs to the {other} source, not k8s_audit",
                    f.name
                )),
                None => Err(format!("unknown field `{}`", f.name)),
            },
            None if owner == Some("k8s_audit") => Ok(()),
            _ => fields::lookup(&f.name, f.arg.as_deref())
                .map(|_| ())
                .map_err(|e| e.to_string()),
        }
    }
}
