//! One alert, in each shape it leaves evaluate: the `alert` frame the
//! `output` stage reads, and the text or JSON line of `--format text|json`.
//! The lines are rendered from that same frame by the `render` crate, so
//! evaluate prints exactly what `output` would for the alert: Falco's text
//! line (`HH:MM:SS.nnnnnnnnn: Priority output`, event data escaped) or
//! Falco's JSON object.
//!
//! What is decided here is what the frame carries: the output with its
//! fields filled in, and for each field its value and whether the field
//! registry types it as a number (`OutputField.isNumber`), which JSON
//! renderings use.
//!
//! It is not a place for deciding which rules fire, for the layout of the
//! lines (the `render` crate) or for delivery.

use std::io::{self, Write};

use schema::kestrel_capnp::{alert, frame};
use schema::Priority;

use super::template::{Part, Template};
use crate::fields::{self, EventView, Field, NA};

/// An output template with its fields resolved against the registry once,
/// at load time.
#[derive(Debug, Clone)]
pub struct Output {
    parts: Vec<OutPart>,
    /// Distinct fields, in order of first appearance, for `output_fields`.
    fields: Vec<(String, Option<Field>)>,
}

#[derive(Debug, Clone)]
enum OutPart {
    Lit(String),
    /// Index into `fields`.
    Field(usize),
}

/// An alert's rendered content.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub output: String,
    pub fields: Vec<RenderedField>,
}

/// One output field of an alert.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderedField {
    /// The field as the template wrote it (`proc.aname[1]`).
    pub name: String,
    /// Its value; `<NA>` when absent.
    pub value: String,
    /// The registry types it as a number.
    pub is_number: bool,
}

impl Output {
    /// Resolves `t`'s fields. A field the registry does not know (a
    /// k8s_audit field, for now) renders as `<NA>`.
    pub fn new(t: &Template) -> Self {
        let mut fields: Vec<(String, Option<Field>)> = Vec::new();
        let mut parts = Vec::new();
        for p in &t.parts {
            match p {
                Part::Lit(s) => parts.push(OutPart::Lit(s.clone())),
                Part::Field { field, text } => {
                    let i = match fields.iter().position(|(t, _)| t == text) {
                        Some(i) => i,
                        None => {
                            fields.push((
                                text.clone(),
                                fields::lookup(&field.name, field.arg.as_deref()).ok(),
                            ));
                            fields.len() - 1
                        }
                    };
                    parts.push(OutPart::Field(i));
                }
            }
        }
        Output { parts, fields }
    }

    /// Renders the output and its fields for `ev`.
    pub fn render(&self, ev: &EventView<'_>) -> Rendered {
        let fields: Vec<RenderedField> = self
            .fields
            .iter()
            .map(|(name, f)| {
                let mut value = String::new();
                match f {
                    Some(f) => f.render(ev, &mut value),
                    None => value.push_str(NA),
                }
                RenderedField {
                    name: name.clone(),
                    value,
                    is_number: f.as_ref().is_some_and(|f| f.ty().is_numeric()),
                }
            })
            .collect();
        let mut output = String::new();
        for p in &self.parts {
            match p {
                OutPart::Lit(s) => output.push_str(s),
                OutPart::Field(i) => {
                    output.push_str(fields.get(*i).map(|f| f.value.as_str()).unwrap_or(NA))
                }
            }
        }
        Rendered { output, fields }
    }
}

/// Everything an alert carries, whatever the format.
#[derive(Debug, Clone, Copy)]
pub struct AlertInfo<'a> {
    pub time_ns: u64,
    pub rule: &'a str,
    pub priority: Priority,
    pub source: &'a str,
    pub tags: &'a [String],
    pub hostname: &'a str,
}

/// Fills an `alert` frame.
pub fn fill_frame(f: frame::Builder<'_>, a: &AlertInfo<'_>, r: &Rendered, eval_ts_ns: u64) {
    let mut al = f.init_alert();
    al.set_time_ns(a.time_ns);
    al.set_rule(a.rule);
    al.set_priority(a.priority);
    al.set_source(a.source);
    al.set_output(r.output.as_str());
    al.set_hostname(a.hostname);
    al.set_eval_ts_ns(eval_ts_ns);
    {
        let mut tags = al.reborrow().init_tags(a.tags.len() as u32);
        for (i, t) in a.tags.iter().enumerate() {
            tags.set(i as u32, t.as_str());
        }
    }
    let mut fl = al.init_fields(r.fields.len() as u32);
    for (i, f) in r.fields.iter().enumerate() {
        let mut e = fl.reborrow().get(i as u32);
        e.set_name(f.name.as_str());
        e.set_value(f.value.as_str());
        e.set_is_number(f.is_number);
    }
}

/// The line formats of `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineFormat {
    /// Falco's text line, at Falco's default clock time.
    Text,
    /// Falco's JSON object.
    Json,
}

/// The alert as one line, without the newline: its frame, built as frames
/// mode builds it, rendered by the `render` crate.
pub fn line(
    format: LineFormat,
    a: &AlertInfo<'_>,
    r: &Rendered,
) -> Result<String, render::RenderError> {
    let mut msg = capnp::message::Builder::new_default();
    fill_frame(msg.init_root(), a, r, 0);
    let root = msg.get_root_as_reader::<frame::Reader<'_>>()?;
    let alert = match root.which() {
        Ok(frame::Alert(al)) => al?,
        _ => return Err(capnp::Error::failed("an alert frame without its alert".into()).into()),
    };
    match format {
        LineFormat::Text => render::text(alert, &render::TextOptions::default()),
        LineFormat::Json => render::json_line(alert),
    }
}

/// Writes the alert as one line to `w`. A write error is returned as it
/// came (a closed reader ends evaluate quietly); a frame the renderer
/// refuses, which evaluate never builds, as an error of kind `Other`.
pub fn write_line(
    w: &mut impl Write,
    format: LineFormat,
    a: &AlertInfo<'_>,
    r: &Rendered,
) -> io::Result<()> {
    let l = line(format, a, r).map_err(io::Error::other)?;
    writeln!(w, "{l}")
}

/// Renders an alert frame as Falco's text line, for `--format text`.
pub fn text_line(a: alert::Reader<'_>, line: &mut String) -> Result<(), String> {
    let l = render::text(a, &render::TextOptions::default()).map_err(|e| e.to_string())?;
    line.push_str(&l);
    Ok(())
}

/// Renders an alert frame as Falco's JSON object, for `--format json`.
pub fn json_line(a: alert::Reader<'_>, line: &mut String) -> Result<(), String> {
    line.push_str(&render::json_line(a).map_err(|e| e.to_string())?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::template;
    use crate::fields::sample;

    fn shell_event() -> sample::Event {
        sample::Event {
            kind: schema::Kind::Execve,
            ts: 1_795_885_381_000_000_000,
            thread: Some(sample::Thread {
                pid: 42,
                name: "bash".into(),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn renders_fields_and_na() {
        let out = Output::new(&template::parse(
            "shell %proc.name pid=%proc.pid file=%fd.name again=%proc.name",
        ));
        let r = sample::with_view(&shell_event(), 1, |ev| out.render(ev));
        assert_eq!(r.output, "shell bash pid=42 file=<NA> again=bash");
        let fields: Vec<(&str, &str, bool)> = r
            .fields
            .iter()
            .map(|f| (f.name.as_str(), f.value.as_str(), f.is_number))
            .collect();
        assert_eq!(
            fields,
            [
                ("proc.name", "bash", false),
                ("proc.pid", "42", true),
                ("fd.name", "<NA>", false)
            ]
        );
        let tags = vec!["container".to_string()];
        let a = AlertInfo {
            time_ns: 1_795_885_381_000_000_000,
            rule: "Shell",
            priority: Priority::Notice,
            source: "syscall",
            tags: &tags,
            hostname: "h1",
        };
        let j: serde_json::Value =
            serde_json::from_str(&line(LineFormat::Json, &a, &r).unwrap()).unwrap();
        assert_eq!(j["rule"], "Shell");
        assert_eq!(j["priority"], "Notice");
        assert_eq!(j["time"], "2026-11-28T17:03:01.000000000Z");
        assert_eq!(j["output_fields"]["proc.pid"], 42);
        assert_eq!(j["output_fields"]["proc.name"], "bash");
        assert!(j["output_fields"]["fd.name"].is_null());
        assert_eq!(j["tags"][0], "container");
        assert_eq!(j["hostname"], "h1");
        assert_eq!(j["source"], "syscall");
        assert_eq!(
            line(LineFormat::Text, &a, &r).unwrap(),
            "17:03:01.000000000: Notice shell bash pid=42 file=<NA> again=bash"
        );
        assert_eq!(
            j["output"],
            "17:03:01.000000000: Notice shell bash pid=42 file=<NA> again=bash"
        );
    }
}
