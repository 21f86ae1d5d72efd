//! The `render` crate: one alert, as a person or a Falco consumer reads it.
//! Both `evaluate` (its `--format text|json`) and `output` (every sink)
//! render alerts through this crate, so the two stages cannot drift apart:
//! evaluate the wire alert it built (`schema::alert::Reader`), output the
//! alerts it queued, both read through one trait, [`AlertView`].
//!
//! - [`text`]: Falco's line, `22:13:20.123456789: Warning output`, with the
//!   event-derived output escaped ([`escape_into`]) so a process or file
//!   name cannot forge, overwrite or reorder what the operator sees;
//! - [`json_into`]: Falco's object (`hostname`, `output`, `output_fields`,
//!   `priority`, `rule`, `source`, `tags`, `time`), which falcosidekick and
//!   other Falco consumers accept, written as one line ([`json`] reads it
//!   back as a value; [`write_json`] / [`json_string`] write any value the
//!   same safe way);
//! - the times those use ([`rfc3339`], [`rfc3339_micros`], [`clock`]).
//!
//! JSON and escaping, decided once for both stages:
//!
//! - `output` is exactly the text line ([`TextOptions::default`]), escaped
//!   as in text: it is what consumers print, and printing it is as safe as
//!   printing the text line;
//! - `output_fields` hold the values exactly as evaluate rendered them (a
//!   consumer matching on a path must see the path), numbers as JSON numbers
//!   when the frame marks the field numeric (`OutputField.isNumber`), `<NA>`
//!   as `null`;
//! - as written by [`json_into`] and [`write_json`], no character a terminal acts on is
//!   written raw anywhere in the line: serde_json escapes C0 controls, and
//!   DEL, C1, the line separators and the bidirectional controls are
//!   written as `\uNNNN` as well. Decoding gives back the exact values.
//!
//! It is not a place for delivery (sinks, files, sockets: the `output`
//! stage), for formatting a rule's output template (evaluate does that when
//! it fills the frame), nor for the generic frame dump (`schema::json`).

mod escape;
mod timefmt;

use std::borrow::Cow;

use schema::Priority;
use serde_json::Value;

pub use escape::{escape, escape_into, needs_escape};
pub use timefmt::{clock, datetime, rfc3339, rfc3339_micros};

/// What evaluate renders, and Falco shows, for a field with no value.
pub const NA: &str = "<NA>";

/// Room reserved in a text line for its time and priority, on top of the
/// output's own length, so building the line allocates once.
const LINE_PREFIX_BYTES: usize = 48;

/// Why an alert frame could not be rendered. Frames come from another
/// process, so a bad one is an error for the caller to count or report.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// A pointer of the frame is out of bounds or of the wrong kind.
    #[error("corrupt alert frame: {0}")]
    Corrupt(#[from] capnp::Error),
    /// The priority's ordinal is newer than this build's schema.
    #[error("alert priority {0} is unknown to this build")]
    UnknownPriority(u16),
}

/// How the time before a text line is written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TimeStyle {
    /// `22:13:20.123456789`, UTC: Falco's default.
    #[default]
    Clock,
    /// `2023-11-14T22:13:20.123456789Z`: Falco's `time_format_iso_8601`.
    Iso8601,
}

/// Choices of the text line. The default is Falco's: no colour, clock time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TextOptions {
    /// Colour the priority by severity (ANSI SGR), for terminals.
    pub colour: bool,
    pub time: TimeStyle,
}

/// One output field: name, value as evaluate rendered it, and whether the
/// field is numeric.
pub type FieldView<'a> = (Cow<'a, str>, Cow<'a, str>, bool);

/// What the renderer reads of an alert: the wire alert as a stage read it
/// (`schema::alert::Reader`, evaluate's frames) or a stage's own copy of
/// one (output's queued alerts), so that neither is converted into the
/// other just to be rendered. Texts that are not UTF-8 are shown with
/// U+FFFD rather than losing the alert.
pub trait AlertView {
    fn time_ns(&self) -> u64;
    fn priority(&self) -> Result<Priority, RenderError>;
    fn rule(&self) -> Result<Cow<'_, str>, RenderError>;
    fn source(&self) -> Result<Cow<'_, str>, RenderError>;
    /// The rule's output as evaluate formatted it, unescaped.
    fn output(&self) -> Result<Cow<'_, str>, RenderError>;
    fn hostname(&self) -> Result<Cow<'_, str>, RenderError>;
    fn tags(&self) -> Result<Vec<Cow<'_, str>>, RenderError>;
    /// The output fields in the rule's order.
    fn fields(&self) -> Result<Vec<FieldView<'_>>, RenderError>;
}

impl AlertView for schema::alert::Reader<'_> {
    fn time_ns(&self) -> u64 {
        self.get_time_ns()
    }
    /// An ordinal newer than this build is an error rather than a guess.
    fn priority(&self) -> Result<Priority, RenderError> {
        self.get_priority()
            .map_err(|e| RenderError::UnknownPriority(e.0))
    }
    fn rule(&self) -> Result<Cow<'_, str>, RenderError> {
        text_of(self.get_rule())
    }
    fn source(&self) -> Result<Cow<'_, str>, RenderError> {
        text_of(self.get_source())
    }
    fn output(&self) -> Result<Cow<'_, str>, RenderError> {
        text_of(self.get_output())
    }
    fn hostname(&self) -> Result<Cow<'_, str>, RenderError> {
        text_of(self.get_hostname())
    }
    fn tags(&self) -> Result<Vec<Cow<'_, str>>, RenderError> {
        self.get_tags()?.iter().map(text_of).collect()
    }
    fn fields(&self) -> Result<Vec<FieldView<'_>>, RenderError> {
        let mut out = Vec::new();
        for f in self.get_fields()?.iter() {
            out.push((
                text_of(f.get_name())?,
                text_of(f.get_value())?,
                f.get_is_number(),
            ));
        }
        Ok(out)
    }
}

impl<A: AlertView + ?Sized> AlertView for &A {
    fn time_ns(&self) -> u64 {
        (**self).time_ns()
    }
    fn priority(&self) -> Result<Priority, RenderError> {
        (**self).priority()
    }
    fn rule(&self) -> Result<Cow<'_, str>, RenderError> {
        (**self).rule()
    }
    fn source(&self) -> Result<Cow<'_, str>, RenderError> {
        (**self).source()
    }
    fn output(&self) -> Result<Cow<'_, str>, RenderError> {
        (**self).output()
    }
    fn hostname(&self) -> Result<Cow<'_, str>, RenderError> {
        (**self).hostname()
    }
    fn tags(&self) -> Result<Vec<Cow<'_, str>>, RenderError> {
        (**self).tags()
    }
    fn fields(&self) -> Result<Vec<FieldView<'_>>, RenderError> {
        (**self).fields()
    }
}

/// Falco's text line for `a`, without a trailing newline:
/// `TIME: Priority output`, with the output escaped ([`escape_into`]).
pub fn text(a: impl AlertView, opts: &TextOptions) -> Result<String, RenderError> {
    let priority = a.priority()?;
    let output = a.output()?;
    let mut s = String::with_capacity(output.len() + LINE_PREFIX_BYTES);
    s.push_str(&match opts.time {
        TimeStyle::Clock => clock(a.time_ns()),
        TimeStyle::Iso8601 => rfc3339(a.time_ns()),
    });
    s.push_str(": ");
    if opts.colour {
        // kestrel's own escape sequences, around a name it chose: the
        // only raw ones a line may hold.
        s.push_str("\x1b[");
        s.push_str(sgr(priority));
        s.push('m');
        s.push_str(priority.name());
        s.push_str("\x1b[0m");
    } else {
        s.push_str(priority.name());
    }
    s.push(' ');
    escape_into(&mut s, &output);
    Ok(s)
}

/// Appends Falco's JSON object for `a` to `out`, as one line (no newline)
/// in which no terminal control is raw (see the crate's doc). Keys in
/// order, `output_fields` by name, as Falco writes them.
///
/// Written straight to `out`, field by field: no tree of values is built,
/// since every alert of every JSON sink goes through here.
pub fn json_into(out: &mut Vec<u8>, a: impl AlertView) -> Result<(), RenderError> {
    use serde::ser::{SerializeMap, Serializer as _};
    let priority = a.priority()?;
    let output = text(&a, &TextOptions::default())?;
    let mut fields = a.fields()?;
    // By name, the last of equal names kept (as a map would).
    fields.reverse();
    fields.sort_by(|x, y| x.0.cmp(&y.0));
    fields.dedup_by(|later, earlier| later.0 == earlier.0);
    let tags = a.tags()?;
    let (hostname, rule, source) = (a.hostname()?, a.rule()?, a.source()?);
    let mut ser = serde_json::Serializer::with_formatter(&mut *out, escape::SafeJson);
    let written = (|| -> serde_json::Result<()> {
        let mut m = ser.serialize_map(Some(8))?;
        m.serialize_entry("hostname", &hostname)?;
        m.serialize_entry("output", &output)?;
        m.serialize_entry("output_fields", &OutputFields(&fields, a.time_ns()))?;
        m.serialize_entry("priority", priority.name())?;
        m.serialize_entry("rule", &rule)?;
        m.serialize_entry("source", &source)?;
        m.serialize_entry("tags", &tags)?;
        m.serialize_entry("time", &rfc3339(a.time_ns()))?;
        m.end()
    })();
    // Everything was read from the frame before; string keys and finite
    // numbers into a Vec (which grows or aborts) cannot fail.
    debug_assert!(written.is_ok(), "{written:?}");
    Ok(())
}

/// `output_fields`: `<NA>` as null, numeric fields as JSON numbers (signed
/// if they fit, else unsigned; a value that is neither stays a string).
struct OutputFields<'a, 'b>(&'a [FieldView<'b>], u64);

impl serde::Serialize for OutputFields<'_, '_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len().max(1)))?;
        if self.0.is_empty() {
            // falcosidekick refuses an alert whose output_fields is empty;
            // Falco's own alerts nearly always carry evt.time, so an alert
            // without fields gets that.
            m.serialize_entry("evt.time", &self.1)?;
        }
        for (name, value, is_number) in self.0 {
            if value == NA {
                m.serialize_entry(name, &())?;
            } else if let Some(n) = is_number.then(|| number(value)).flatten() {
                m.serialize_entry(name, &n)?;
            } else {
                m.serialize_entry(name, value)?;
            }
        }
        m.end()
    }
}

/// [`json_into`] as a new string (the renderer writes UTF-8 only).
pub fn json_line(a: impl AlertView) -> Result<String, RenderError> {
    let mut out = Vec::new();
    json_into(&mut out, a)?;
    Ok(String::from_utf8(out).unwrap_or_default())
}

/// Falco's JSON object for `a` as a value ([`json_into`], read back), for
/// callers that inspect it rather than write it.
pub fn json(a: impl AlertView) -> Result<Value, RenderError> {
    let mut out = Vec::new();
    json_into(&mut out, a)?;
    serde_json::from_slice(&out)
        .map_err(|e| RenderError::Corrupt(capnp::Error::failed(e.to_string())))
}

/// Appends `v` to `out` as one line of JSON (no newline) in which no
/// terminal control is raw (see the crate's doc).
pub fn write_json(out: &mut Vec<u8>, v: &Value) {
    use serde::Serialize as _;
    let mut ser = serde_json::Serializer::with_formatter(&mut *out, escape::SafeJson);
    // A `Value` has only string keys and finite numbers, and a Vec does not
    // fail to grow short of aborting: serialising it cannot fail.
    let _ = v.serialize(&mut ser);
}

/// [`write_json`] into a new string.
pub fn json_string(v: &Value) -> String {
    let mut out = Vec::new();
    write_json(&mut out, v);
    // The serializer writes UTF-8 only.
    String::from_utf8(out).unwrap_or_default()
}

/// A text field of the frame. Producers write UTF-8; bytes that are not
/// are shown as U+FFFD rather than losing the alert.
fn text_of(r: capnp::Result<capnp::text::Reader<'_>>) -> Result<Cow<'_, str>, RenderError> {
    let bytes = r?.as_bytes();
    // Validation first: it checks whole words of ASCII at a time, where
    // the lossy conversion walks byte by byte.
    Ok(match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(bytes),
    })
}

/// A numeric field's value as a JSON number: signed if it fits, else
/// unsigned.
fn number(s: &str) -> Option<serde_json::Number> {
    s.parse::<i64>()
        .map(serde_json::Number::from)
        .or_else(|_| s.parse::<u64>().map(serde_json::Number::from))
        .ok()
}

/// Select Graphic Rendition code of a priority's colour.
fn sgr(p: Priority) -> &'static str {
    match p {
        Priority::Emergency | Priority::Alert | Priority::Critical => "1;31",
        Priority::Error => "31",
        Priority::Warning => "33",
        Priority::Notice => "36",
        Priority::Informational => "32",
        Priority::Debug => "2",
    }
}
