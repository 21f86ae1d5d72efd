//! One alert, rendered for each output format: the text line a person reads,
//! the JSON line Falco's consumers (falcosidekick and friends) accept, and
//! the `alert` frame the `output` stage reads.
//!
//! The JSON shape is Falco's: `output`, `priority` (capitalised: `Warning`),
//! `rule`, `time` (RFC 3339, ns, UTC), `output_fields` (field as written →
//! value; numbers as numbers, absent values as `null`), `source`, `tags`,
//! `hostname`.
//!
//! It is not a place for deciding which rules fire or for delivery.

use schema::kestrel_capnp::{alert, frame};
use schema::Priority;
use serde_json::{Map, Value as Json};

use super::template::{Part, Template};
use super::time::rfc3339;
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
    /// (field as written, rendered value; `<NA>` when absent).
    pub fields: Vec<(String, String)>,
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
        let values: Vec<String> = self
            .fields
            .iter()
            .map(|(_, f)| match f {
                Some(f) => {
                    let mut s = String::new();
                    f.render(ev, &mut s);
                    s
                }
                None => NA.to_string(),
            })
            .collect();
        let mut output = String::new();
        for p in &self.parts {
            match p {
                OutPart::Lit(s) => output.push_str(s),
                OutPart::Field(i) => {
                    output.push_str(values.get(*i).map(String::as_str).unwrap_or(NA))
                }
            }
        }
        let fields = self
            .fields
            .iter()
            .zip(values)
            .map(|((t, _), v)| (t.clone(), v))
            .collect();
        Rendered { output, fields }
    }
}

/// Whether the field written as `text` (`proc.pid`, `proc.aname[2]`) has
/// a numeric type in the registry, so JSON shows it as a number.
fn numeric(text: &str) -> bool {
    let (name, arg) = match text.split_once('[') {
        Some((n, rest)) => (n, rest.strip_suffix(']')),
        None => (text, None),
    };
    fields::lookup(name, arg).is_ok_and(|f| f.ty().is_numeric())
}

/// Falco's spelling of a priority in outputs.
pub fn priority_name(p: Priority) -> &'static str {
    match p {
        Priority::Emergency => "Emergency",
        Priority::Alert => "Alert",
        Priority::Critical => "Critical",
        Priority::Error => "Error",
        Priority::Warning => "Warning",
        Priority::Notice => "Notice",
        Priority::Informational => "Informational",
        Priority::Debug => "Debug",
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

/// The text line: `TIME: Priority output`.
pub fn text_line_of(a: &AlertInfo<'_>, r: &Rendered) -> String {
    format!(
        "{}: {} {}",
        rfc3339(a.time_ns),
        priority_name(a.priority),
        r.output
    )
}

/// The JSON object, Falco's shape.
pub fn json_value(a: &AlertInfo<'_>, r: &Rendered) -> Json {
    let mut fields = Map::new();
    for (name, value) in &r.fields {
        let v = if value == NA {
            Json::Null
        } else if numeric(name) {
            value
                .parse::<i64>()
                .map(Json::from)
                .or_else(|_| value.parse::<u64>().map(Json::from))
                .unwrap_or_else(|_| Json::String(value.clone()))
        } else {
            Json::String(value.clone())
        };
        fields.insert(name.clone(), v);
    }
    let mut m = Map::new();
    m.insert("hostname".into(), Json::String(a.hostname.to_string()));
    // Falco's `output` is the whole text line, time and priority included.
    m.insert("output".into(), Json::String(text_line_of(a, r)));
    m.insert("output_fields".into(), Json::Object(fields));
    m.insert(
        "priority".into(),
        Json::String(priority_name(a.priority).to_string()),
    );
    m.insert("rule".into(), Json::String(a.rule.to_string()));
    m.insert("source".into(), Json::String(a.source.to_string()));
    m.insert(
        "tags".into(),
        Json::Array(a.tags.iter().map(|t| Json::String(t.clone())).collect()),
    );
    m.insert("time".into(), Json::String(rfc3339(a.time_ns)));
    Json::Object(m)
}

/// Renders an alert frame as the text line, for `--format text`.
pub fn text_line(a: alert::Reader<'_>, line: &mut String) -> Result<(), String> {
    let (info, r) = read_frame(a).map_err(|e| format!("rendering an alert: {e}"))?;
    line.push_str(&text_line_of(&info.as_info(), &r));
    Ok(())
}

/// Renders an alert frame as Falco's JSON object, for `--format json`.
pub fn json_line(a: alert::Reader<'_>, line: &mut String) -> Result<(), String> {
    let (info, r) = read_frame(a).map_err(|e| format!("rendering an alert: {e}"))?;
    line.push_str(&json_value(&info.as_info(), &r).to_string());
    Ok(())
}

struct OwnedInfo {
    time_ns: u64,
    rule: String,
    priority: Priority,
    source: String,
    tags: Vec<String>,
    hostname: String,
}

impl OwnedInfo {
    fn as_info(&self) -> AlertInfo<'_> {
        AlertInfo {
            time_ns: self.time_ns,
            rule: &self.rule,
            priority: self.priority,
            source: &self.source,
            tags: &self.tags,
            hostname: &self.hostname,
        }
    }
}

fn read_frame(a: alert::Reader<'_>) -> capnp::Result<(OwnedInfo, Rendered)> {
    let text = |t: capnp::Result<capnp::text::Reader<'_>>| -> capnp::Result<String> {
        Ok(String::from_utf8_lossy(t?.as_bytes()).into_owned())
    };
    let mut tags = Vec::new();
    for t in a.get_tags()?.iter() {
        tags.push(text(t)?);
    }
    let mut fields = Vec::new();
    for f in a.get_fields()?.iter() {
        fields.push((text(f.get_name())?, text(f.get_value())?));
    }
    Ok((
        OwnedInfo {
            time_ns: a.get_time_ns(),
            rule: text(a.get_rule())?,
            priority: a.get_priority().unwrap_or(Priority::Debug),
            source: text(a.get_source())?,
            tags,
            hostname: text(a.get_hostname())?,
        },
        Rendered {
            output: text(a.get_output())?,
            fields,
        },
    ))
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
    for (i, (n, v)) in r.fields.iter().enumerate() {
        let mut e = fl.reborrow().get(i as u32);
        e.set_name(n.as_str());
        e.set_value(v.as_str());
    }
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
        assert_eq!(
            r.fields,
            vec![
                ("proc.name".into(), "bash".into()),
                ("proc.pid".into(), "42".into()),
                ("fd.name".into(), "<NA>".into())
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
        let j = json_value(&a, &r);
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
            text_line_of(&a, &r),
            "2026-11-28T17:03:01.000000000Z: Notice shell bash pid=42 file=<NA> again=bash"
        );
    }
}
