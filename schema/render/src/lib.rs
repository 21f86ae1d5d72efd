//! The `render` crate: one alert, as a person or a Falco consumer reads it.
//! Both `evaluate` (its `--format text|json`) and `output` (every sink)
//! render the same wire alert (`schema::alert::Reader`) through this crate,
//! so the two stages cannot drift apart.
//!
//! - [`text`]: Falco's line, `22:13:20.123456789: Warning output`, with the
//!   event-derived output escaped ([`escape_into`]) so a process or file
//!   name cannot forge, overwrite or reorder what the operator sees;
//! - [`json`]: Falco's object (`hostname`, `output`, `output_fields`,
//!   `priority`, `rule`, `source`, `tags`, `time`), which falcosidekick and
//!   other Falco consumers accept, and [`write_json`] / [`json_string`] to
//!   serialise it;
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
//! - serialised with [`write_json`], no character a terminal acts on is
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
use serde_json::{Map, Value};

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

/// Falco's text line for `a`, without a trailing newline:
/// `TIME: Priority output`, with the output escaped ([`escape_into`]).
pub fn text(a: schema::alert::Reader<'_>, opts: &TextOptions) -> Result<String, RenderError> {
    let priority = priority(a)?;
    let output = text_of(a.get_output())?;
    let mut s = String::with_capacity(output.len() + LINE_PREFIX_BYTES);
    s.push_str(&match opts.time {
        TimeStyle::Clock => clock(a.get_time_ns()),
        TimeStyle::Iso8601 => rfc3339(a.get_time_ns()),
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

/// Falco's JSON object for `a`. Serialise it with [`write_json`] or
/// [`json_string`] to keep terminal controls out of the bytes.
pub fn json(a: schema::alert::Reader<'_>) -> Result<Value, RenderError> {
    let priority = priority(a)?;
    let mut fields = Map::new();
    for f in a.get_fields()?.iter() {
        let name = text_of(f.get_name())?.into_owned();
        let value = text_of(f.get_value())?;
        let v = if value == NA {
            Value::Null
        } else if f.get_is_number() {
            number(&value).unwrap_or_else(|| Value::String(value.into_owned()))
        } else {
            Value::String(value.into_owned())
        };
        fields.insert(name, v);
    }
    if fields.is_empty() {
        // falcosidekick refuses an alert whose output_fields is empty;
        // Falco's own alerts nearly always carry evt.time, so an alert
        // without fields gets that.
        fields.insert("evt.time".into(), Value::from(a.get_time_ns()));
    }
    let mut tags = Vec::new();
    for t in a.get_tags()?.iter() {
        tags.push(Value::String(text_of(t)?.into_owned()));
    }
    let mut m = Map::new();
    m.insert(
        "hostname".into(),
        Value::String(text_of(a.get_hostname())?.into_owned()),
    );
    m.insert(
        "output".into(),
        Value::String(text(a, &TextOptions::default())?),
    );
    m.insert("output_fields".into(), Value::Object(fields));
    m.insert("priority".into(), Value::String(priority.name().into()));
    m.insert(
        "rule".into(),
        Value::String(text_of(a.get_rule())?.into_owned()),
    );
    m.insert(
        "source".into(),
        Value::String(text_of(a.get_source())?.into_owned()),
    );
    m.insert("tags".into(), Value::Array(tags));
    m.insert("time".into(), Value::String(rfc3339(a.get_time_ns())));
    Ok(Value::Object(m))
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

/// The alert's priority; an ordinal newer than this build is an error
/// rather than a guess.
fn priority(a: schema::alert::Reader<'_>) -> Result<Priority, RenderError> {
    a.get_priority()
        .map_err(|e| RenderError::UnknownPriority(e.0))
}

/// A text field of the frame. Producers write UTF-8; bytes that are not
/// are shown as U+FFFD rather than losing the alert.
fn text_of(r: capnp::Result<capnp::text::Reader<'_>>) -> Result<Cow<'_, str>, RenderError> {
    Ok(String::from_utf8_lossy(r?.as_bytes()))
}

/// A numeric field's value as a JSON number: signed if it fits, else
/// unsigned. A value that is neither stays a string.
fn number(s: &str) -> Option<Value> {
    s.parse::<i64>()
        .map(Value::from)
        .or_else(|_| s.parse::<u64>().map(Value::from))
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
