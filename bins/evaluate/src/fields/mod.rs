//! The field registry: every field a condition or an output may name
//! (`proc.name`, `fd.sip`, `evt.arg.flags`…), with Falco's type, argument
//! form and semantics, and the function that reads it from an enriched event.
//!
//! Fields read the event as enrich filled it (see DESIGN.md, "Events"):
//! strings are borrowed from the frame where the wire holds them as they are
//! shown, and computed (command lines, flag names) only when asked. The
//! registry is not a place for operators or compilation ([`crate::compile`])
//! nor for output templates (the front's formatting).

pub mod flags;
mod registry;
mod value;
mod view;

use std::collections::HashMap;
use std::sync::OnceLock;

pub mod sample;

pub use registry::{describe, FIELDS};
pub use value::{str_of, Value, Values, NA};
pub use view::{EventView, Scratch};

/// A field's type, as Falco names it in `--list` output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldType {
    /// Text (Falco's CHARBUF).
    Str,
    Uint64,
    Int64,
    Bool,
    IpAddr,
    /// An address compared against networks (`fd.net = 10.0.0.0/8`).
    IpNet,
    Port,
    /// A duration in nanoseconds.
    RelTime,
    /// A wall-clock time in nanoseconds since the epoch.
    AbsTime,
    /// `evt.rawarg.*`: a number or a string, depending on the parameter.
    Dynamic,
}

impl FieldType {
    /// The name `list-fields` prints.
    pub fn name(self) -> &'static str {
        match self {
            FieldType::Str => "CHARBUF",
            FieldType::Uint64 => "UINT64",
            FieldType::Int64 => "INT64",
            FieldType::Bool => "BOOL",
            FieldType::IpAddr => "IPADDR",
            FieldType::IpNet => "IPNET",
            FieldType::Port => "PORT",
            FieldType::RelTime => "RELTIME",
            FieldType::AbsTime => "ABSTIME",
            FieldType::Dynamic => "DYNAMIC",
        }
    }

    /// True for types compared as numbers.
    pub fn is_numeric(self) -> bool {
        matches!(
            self,
            FieldType::Uint64
                | FieldType::Int64
                | FieldType::Port
                | FieldType::RelTime
                | FieldType::AbsTime
        )
    }
}

/// How many values a field yields, which decides what operators mean on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Shape {
    /// One value (or none).
    One,
    /// Every ancestor's value (`proc.aname` without an index): a comparison
    /// holds when it holds for any ancestor, as in Falco.
    AnyOf,
    /// Both ends of a connection (`fd.ip`, `fd.port`, `fd.net`): positive
    /// comparisons hold when either end matches, `!=` when neither does.
    Either,
    /// A list (`fd.types`): `in` holds when every item is in the set,
    /// `intersects` when any is.
    List,
}

/// What may follow a field's name in brackets or after a dot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgKind {
    None,
    /// An optional number: `proc.aname[2]`.
    OptIndex,
    /// A required key: `container.label[app]`.
    Key,
    /// An optional key: `proc.env[HOME]`.
    OptKey,
    /// A required number or key: `evt.arg[0]`, `evt.arg.flags`,
    /// `container.mount.dest[/etc]`.
    IndexOrKey,
}

/// The argument given to a field.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FieldArg {
    None,
    Index(usize),
    Key(Box<str>),
}

/// Reads one field from one event.
pub type Extract = for<'a> fn(&EventView<'a>, &FieldArg) -> Values<'a>;

/// One row of the registry.
pub struct FieldDef {
    pub name: &'static str,
    pub ty: FieldType,
    pub arg: ArgKind,
    /// The shape without an argument; with one, every field yields one value.
    pub shape: Shape,
    pub desc: &'static str,
    pub extract: Extract,
}

impl std::fmt::Debug for FieldDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

/// A field resolved against the registry, with its argument.
#[derive(Debug, Clone)]
pub struct Field {
    pub def: &'static FieldDef,
    pub arg: FieldArg,
}

impl PartialEq for Field {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.def, other.def) && self.arg == other.arg
    }
}

impl FieldDef {
    /// True when the field reads nothing but the parts a thread's `state`
    /// frame carries (thread, user, group, login user, container, k8s):
    /// every event that takes those parts from the same state then gives
    /// it the same value, and the engine keeps test results per state
    /// rather than per event.
    pub fn state_only(&self) -> bool {
        registry::state_only(self.name)
    }
}

impl Field {
    pub fn ty(&self) -> FieldType {
        self.def.ty
    }

    /// See [`FieldDef::state_only`].
    pub fn state_only(&self) -> bool {
        self.def.state_only()
    }

    pub fn shape(&self) -> Shape {
        match self.arg {
            FieldArg::None => self.def.shape,
            _ => Shape::One,
        }
    }

    /// The field's values for `ev`.
    pub fn extract<'a>(&self, ev: &EventView<'a>) -> Values<'a> {
        (self.def.extract)(ev, &self.arg)
    }

    /// Appends the field's value as an output shows it (`<NA>` if absent).
    pub fn render(&self, ev: &EventView<'_>, out: &mut String) {
        self.extract(ev).render(out)
    }

    /// The name as written, with its argument: `proc.aname[2]`.
    pub fn display_name(&self) -> String {
        match &self.arg {
            FieldArg::None => self.def.name.to_string(),
            FieldArg::Index(i) => format!("{}[{}]", self.def.name, i),
            FieldArg::Key(k) => format!("{}[{}]", self.def.name, k),
        }
    }
}

/// Why a field name does not resolve.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    #[error("unknown field `{0}`")]
    Unknown(String),
    #[error("field `{0}` belongs to the k8s_audit source, which is not supported yet")]
    OtherSource(String),
    #[error("field `{0}` takes no argument")]
    ArgNotAllowed(String),
    #[error("field `{0}` needs an argument, e.g. `{0}[…]`")]
    ArgRequired(String),
    #[error("field `{name}` needs a number as argument, not `{arg}`")]
    BadIndex { name: String, arg: String },
}

fn by_name() -> &'static HashMap<&'static str, &'static FieldDef> {
    static MAP: OnceLock<HashMap<&'static str, &'static FieldDef>> = OnceLock::new();
    MAP.get_or_init(|| FIELDS.iter().map(|f| (f.name, f)).collect())
}

/// Fields whose argument may also be written after a dot (`evt.arg.flags`),
/// longest first so that `evt.rawarg.x` is not read as `evt.arg…`.
const DOTTED_ARG_FIELDS: &[&str] = &["evt.rawarg", "evt.arg"];

/// The event source a field belongs to, by its prefix: `syscall` for the
/// registry's fields, `k8s_audit` for `ka.*` and `jevt.*`.
pub fn source_of(name: &str) -> Option<&'static str> {
    if name.starts_with("ka.") || name.starts_with("jevt.") {
        Some("k8s_audit")
    } else if by_name().contains_key(name)
        || DOTTED_ARG_FIELDS
            .iter()
            .any(|p| name.strip_prefix(p).is_some_and(|r| r.starts_with('.')))
    {
        Some("syscall")
    } else {
        None
    }
}

/// Resolves `name` with its optional argument (`proc.aname` + `2`). A name
/// such as `evt.arg.flags` also resolves with the argument after the dot.
pub fn lookup(name: &str, arg: Option<&str>) -> Result<Field, FieldError> {
    let (def, arg) = match by_name().get(name) {
        Some(def) => (*def, arg),
        None => {
            let dotted = DOTTED_ARG_FIELDS.iter().find_map(|p| {
                let rest = name.strip_prefix(p)?.strip_prefix('.')?;
                (arg.is_none() && !rest.is_empty()).then(|| (by_name()[p], rest))
            });
            match dotted {
                Some((def, rest)) => (def, Some(rest)),
                None if source_of(name) == Some("k8s_audit") => {
                    return Err(FieldError::OtherSource(name.to_string()))
                }
                None => return Err(FieldError::Unknown(name.to_string())),
            }
        }
    };
    let bad_index = || FieldError::BadIndex {
        name: def.name.to_string(),
        arg: arg.unwrap_or_default().to_string(),
    };
    let arg = match (def.arg, arg) {
        (ArgKind::None, None) | (ArgKind::OptIndex | ArgKind::OptKey, None) => FieldArg::None,
        (ArgKind::None, Some(_)) => return Err(FieldError::ArgNotAllowed(def.name.to_string())),
        (ArgKind::Key | ArgKind::IndexOrKey, None) => {
            return Err(FieldError::ArgRequired(def.name.to_string()))
        }
        (ArgKind::OptIndex, Some(a)) => FieldArg::Index(a.trim().parse().map_err(|_| bad_index())?),
        (ArgKind::Key | ArgKind::OptKey, Some(a)) => FieldArg::Key(a.into()),
        (ArgKind::IndexOrKey, Some(a)) => match a.trim().parse() {
            Ok(i) => FieldArg::Index(i),
            Err(_) => FieldArg::Key(a.into()),
        },
    };
    Ok(Field { def, arg })
}

#[cfg(test)]
mod tests;
