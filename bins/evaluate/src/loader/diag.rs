//! Diagnostics of rule loading: errors and warnings that name the file, line,
//! column and item they concern, and render an excerpt with a caret the way
//! rustc does:
//!
//! ```text
//! error: undefined macro `spawned_proces`
//!   --> rules/my.yaml:12:14
//!    |
//! 12 |   condition: spawned_proces and proc.name = nc
//!    |              ^^^^^^^^^^^^^^
//!    = in rule `Netcat`
//! ```
//!
//! It is not a place for deciding what is wrong: the loader and the checker
//! do that and describe it here.

use std::fmt;

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// A place in a rule file: 1-based line and column (in characters), and how
/// many characters to underline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub len: usize,
    /// The whole source line, for the excerpt.
    pub source_line: String,
}

/// The kind of item a diagnostic concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemKind {
    Rule,
    Macro,
    List,
    Other,
}

impl ItemKind {
    pub fn name(self) -> &'static str {
        match self {
            ItemKind::Rule => "rule",
            ItemKind::Macro => "macro",
            ItemKind::List => "list",
            ItemKind::Other => "item",
        }
    }
}

/// One error or warning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub message: String,
    pub location: Option<Location>,
    /// The item it concerns: kind and name.
    pub item: Option<(ItemKind, String)>,
    /// A hint shown after the excerpt.
    pub note: Option<String>,
}

impl Diagnostic {
    pub fn error(message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            message: message.into(),
            location: None,
            item: None,
            note: None,
        }
    }

    pub fn warning(message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(message)
        }
    }

    pub fn at(mut self, location: Option<Location>) -> Self {
        self.location = location;
        self
    }

    pub fn item(mut self, kind: ItemKind, name: &str) -> Self {
        self.item = Some((kind, name.to_string()));
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let label = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        writeln!(f, "{label}: {}", self.message)?;
        if let Some(loc) = &self.location {
            let num = loc.line.to_string();
            let pad = " ".repeat(num.len());
            writeln!(f, "{pad}--> {}:{}:{}", loc.file, loc.line, loc.column)?;
            writeln!(f, "{pad} |")?;
            // Tabs would misalign the caret: show them as one space each.
            let shown: String = loc
                .source_line
                .chars()
                .map(|c| if c == '\t' { ' ' } else { c })
                .collect();
            writeln!(f, "{num} | {shown}")?;
            let lead = " ".repeat(loc.column.saturating_sub(1));
            let width = loc.len.max(1);
            writeln!(f, "{pad} | {lead}{}", "^".repeat(width))?;
            if let Some((kind, name)) = &self.item {
                writeln!(f, "{pad} = in {} `{name}`", kind.name())?;
            }
            if let Some(note) = &self.note {
                writeln!(f, "{pad} = note: {note}")?;
            }
        } else {
            if let Some((kind, name)) = &self.item {
                writeln!(f, "  = in {} `{name}`", kind.name())?;
            }
            if let Some(note) = &self.note {
                writeln!(f, "  = note: {note}")?;
            }
        }
        Ok(())
    }
}

/// Errors and warnings gathered while loading.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics {
    pub items: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn push(&mut self, d: Diagnostic) {
        self.items.push(d);
    }

    pub fn has_errors(&self) -> bool {
        self.items.iter().any(Diagnostic::is_error)
    }

    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter().filter(|d| d.is_error())
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter().filter(|d| !d.is_error())
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.items {
            writeln!(f, "{d}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_rustc() {
        let d = Diagnostic::error("undefined macro `spawned_proces`")
            .at(Some(Location {
                file: "rules/my.yaml".into(),
                line: 12,
                column: 14,
                len: 14,
                source_line: "  condition: spawned_proces and proc.name = nc".into(),
            }))
            .item(ItemKind::Rule, "Netcat");
        let want = "\
error: undefined macro `spawned_proces`
  --> rules/my.yaml:12:14
   |
12 |   condition: spawned_proces and proc.name = nc
   |              ^^^^^^^^^^^^^^
   = in rule `Netcat`
";
        assert_eq!(d.to_string(), want);
    }

    #[test]
    fn without_location() {
        let d = Diagnostic::warning("list `x` is never used").item(ItemKind::List, "x");
        assert_eq!(
            d.to_string(),
            "warning: list `x` is never used\n  = in list `x`\n"
        );
    }
}
