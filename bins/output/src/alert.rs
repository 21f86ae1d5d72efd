//! The alert as output handles it: an owned copy of an `Alert` frame, so it
//! can wait in queues and spools after the frame's buffer is reused, and
//! the way back to a frame for rendering.
//!
//! Priorities are the wire's (`schema::Priority`, named and parsed by
//! `schema::priority`). Rendering is not here ([`crate::format`]), nor
//! delivery ([`crate::sink`]).

use std::borrow::Cow;

use schema::FrameError;
use serde::{Deserialize, Serialize};

pub use schema::Priority;

/// A priority as users spell it in the config file ("warning", "INFO").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriorityName(pub Priority);

impl<'de> Deserialize<'de> for PriorityName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Priority::parse(&s)
            .map(PriorityName)
            .map_err(serde::de::Error::custom)
    }
}

/// An alert's priority in a spool record: Falco's name (`"Warning"`).
mod priority_serde {
    use super::Priority;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(p: &Priority, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(p.name())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Priority, D::Error> {
        let s = String::deserialize(d)?;
        Priority::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// One output field of an alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "FieldRecord", into = "FieldRecord")]
pub struct Field {
    pub name: String,
    /// The value evaluate rendered; absent values are "<NA>".
    pub value: String,
    /// evaluate's registry types the field as a number: JSON shows it as
    /// one.
    pub is_number: bool,
}

impl Field {
    /// A field whose value is text.
    pub fn text(name: impl Into<String>, value: impl Into<String>) -> Field {
        Field {
            name: name.into(),
            value: value.into(),
            is_number: false,
        }
    }
}

/// A field in a spool record: `[name, value, is_number]`, or
/// `[name, value]`, which reads as a text field, so a spool left by an
/// output without typed fields is still delivered.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum FieldRecord {
    Typed(String, String, bool),
    Untyped(String, String),
}

impl From<FieldRecord> for Field {
    fn from(r: FieldRecord) -> Field {
        match r {
            FieldRecord::Typed(name, value, is_number) => Field {
                name,
                value,
                is_number,
            },
            FieldRecord::Untyped(name, value) => Field::text(name, value),
        }
    }
}

impl From<Field> for FieldRecord {
    fn from(f: Field) -> FieldRecord {
        FieldRecord::Typed(f.name, f.value, f.is_number)
    }
}

/// One alert, owned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Time of the event that raised it, ns since the Unix epoch.
    pub time_ns: u64,
    pub rule: String,
    #[serde(with = "priority_serde")]
    pub priority: Priority,
    pub source: String,
    pub tags: Vec<String>,
    /// The rule's output, formatted by evaluate.
    pub output: String,
    /// Output fields in the rule's order.
    pub fields: Vec<Field>,
    pub hostname: String,
    /// When evaluate read the event (ns since the epoch; 0 if unknown), for
    /// measuring latency up to delivery.
    #[serde(default)]
    pub eval_ts_ns: u64,
}

/// The renderer reads a queued alert as it is: no frame is built to render
/// it.
impl render::AlertView for Alert {
    fn time_ns(&self) -> u64 {
        self.time_ns
    }
    fn priority(&self) -> Result<Priority, render::RenderError> {
        Ok(self.priority)
    }
    fn rule(&self) -> Result<Cow<'_, str>, render::RenderError> {
        Ok(Cow::Borrowed(&self.rule))
    }
    fn source(&self) -> Result<Cow<'_, str>, render::RenderError> {
        Ok(Cow::Borrowed(&self.source))
    }
    fn output(&self) -> Result<Cow<'_, str>, render::RenderError> {
        Ok(Cow::Borrowed(&self.output))
    }
    fn hostname(&self) -> Result<Cow<'_, str>, render::RenderError> {
        Ok(Cow::Borrowed(&self.hostname))
    }
    fn tags(&self) -> Result<Vec<Cow<'_, str>>, render::RenderError> {
        Ok(self
            .tags
            .iter()
            .map(|t| Cow::Borrowed(t.as_str()))
            .collect())
    }
    fn fields(&self) -> Result<Vec<render::FieldView<'_>>, render::RenderError> {
        Ok(self
            .fields
            .iter()
            .map(|f| {
                (
                    Cow::Borrowed(f.name.as_str()),
                    Cow::Borrowed(f.value.as_str()),
                    f.is_number,
                )
            })
            .collect())
    }
}

impl Alert {
    /// Copies an `Alert` frame read at byte `offset`.
    pub fn from_frame(a: schema::alert::Reader<'_>, offset: u64) -> Result<Alert, FrameError> {
        let bad = |e: capnp::Error| FrameError::corrupt(offset, e);
        let text = |r: capnp::Result<capnp::text::Reader<'_>>| -> Result<String, FrameError> {
            let bytes = r.map_err(bad)?.as_bytes();
            // Validation first (word-at-a-time over ASCII); the lossy
            // conversion only for text that is not UTF-8.
            Ok(match std::str::from_utf8(bytes) {
                Ok(s) => s.to_owned(),
                Err(_) => String::from_utf8_lossy(bytes).into_owned(),
            })
        };
        let priority = a
            .get_priority()
            .map_err(|e| FrameError::corrupt(offset, format!("unknown alert priority {}", e.0)))?;
        let mut tags = Vec::new();
        for t in a.get_tags().map_err(bad)?.iter() {
            tags.push(text(t)?);
        }
        let mut fields = Vec::new();
        for f in a.get_fields().map_err(bad)?.iter() {
            fields.push(Field {
                name: text(f.get_name())?,
                value: text(f.get_value())?,
                is_number: f.get_is_number(),
            });
        }
        Ok(Alert {
            time_ns: a.get_time_ns(),
            rule: text(a.get_rule())?,
            priority,
            source: text(a.get_source())?,
            tags,
            output: text(a.get_output())?,
            fields,
            hostname: text(a.get_hostname())?,
            eval_ts_ns: a.get_eval_ts_ns(),
        })
    }

    /// Writes this alert into `a`, the inverse of [`Alert::from_frame`]
    /// (which the round-trip test checks).
    #[cfg(test)]
    pub fn fill(&self, mut a: schema::alert::Builder<'_>) {
        a.set_time_ns(self.time_ns);
        a.set_rule(self.rule.as_str());
        a.set_priority(self.priority);
        a.set_source(self.source.as_str());
        a.set_output(self.output.as_str());
        a.set_hostname(self.hostname.as_str());
        a.set_eval_ts_ns(self.eval_ts_ns);
        {
            let mut tags = a.reborrow().init_tags(self.tags.len() as u32);
            for (i, t) in self.tags.iter().enumerate() {
                tags.set(i as u32, t.as_str());
            }
        }
        let mut fields = a.init_fields(self.fields.len() as u32);
        for (i, f) in self.fields.iter().enumerate() {
            let mut out = fields.reborrow().get(i as u32);
            out.set_name(f.name.as_str());
            out.set_value(f.value.as_str());
            out.set_is_number(f.is_number);
        }
    }

    /// An alert raised by output itself (drops, rate limiting, spool loss).
    /// Its fields are text, as in Falco's own internal alerts.
    pub fn internal(
        rule: &str,
        priority: Priority,
        output: String,
        fields: Vec<(String, String)>,
    ) -> Alert {
        Alert {
            time_ns: schema::now_ns(),
            rule: rule.to_string(),
            priority,
            source: "internal".to_string(),
            tags: Vec::new(),
            output,
            fields: fields
                .into_iter()
                .map(|(name, value)| Field::text(name, value))
                .collect(),
            hostname: schema::hostname(),
            eval_ts_ns: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert() -> Alert {
        Alert {
            time_ns: 1_700_000_000_123_456_789,
            rule: "r".into(),
            priority: Priority::Warning,
            source: "syscall".into(),
            tags: vec!["t".into()],
            output: "o".into(),
            fields: vec![
                Field {
                    name: "proc.pid".into(),
                    value: "42".into(),
                    is_number: true,
                },
                Field::text("proc.name", "cat"),
            ],
            hostname: "h".into(),
            eval_ts_ns: 7,
        }
    }

    #[test]
    fn a_frame_round_trips() {
        let a = alert();
        let mut msg = capnp::message::Builder::new_default();
        a.fill(msg.init_root());
        let r = msg
            .get_root_as_reader::<schema::alert::Reader<'_>>()
            .unwrap();
        assert_eq!(Alert::from_frame(r, 0).unwrap(), a);
    }

    #[test]
    fn spool_records_keep_priority_names_and_read_untyped_fields() {
        let a = alert();
        let json = serde_json::to_string(&a).unwrap();
        assert!(json.contains(r#""priority":"Warning""#), "{json}");
        assert!(json.contains(r#"["proc.pid","42",true]"#), "{json}");
        assert_eq!(serde_json::from_str::<Alert>(&json).unwrap(), a);
        let untyped = json.replace(r#"["proc.pid","42",true]"#, r#"["proc.pid","42"]"#);
        let b: Alert = serde_json::from_str(&untyped).unwrap();
        assert_eq!(b.fields[0], Field::text("proc.pid", "42"));
    }
}
