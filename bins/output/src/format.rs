//! How an alert is written: Falco's text line and Falco's JSON object.
//!
//! Text is `HH:MM:SS.nnnnnnnnn: Priority output`, the line Falco prints,
//! with every control character, terminal escape and bidirectional override
//! from event data escaped, so a process or file name cannot forge a line,
//! move the cursor or hide text. JSON has Falco's keys (`hostname`, `output`,
//! `output_fields`, `priority`, `rule`, `source`, `tags`, `time`), so
//! falcosidekick and other Falco consumers accept it.
//!
//! Not for transport: sinks decide where the bytes go.

use std::fmt::Write as _;

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde::Deserialize;

use crate::alert::{Alert, Priority};
use crate::time;

/// What a sink writes for each alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Falco's text line.
    Text,
    /// Falco's JSON object, one per line.
    Json,
}

/// Value Falco shows, and evaluate renders, for a field with no value.
const NOT_AVAILABLE: &str = "<NA>";

/// Falco fields of integer type: their JSON values are numbers, as in
/// Falco's output_fields. Other fields stay strings.
const NUMERIC_FIELDS: &[&str] = &[
    "evt.time",
    "evt.rawtime",
    "evt.num",
    "evt.rawres",
    "evt.cpu",
    "evt.count",
    "proc.pid",
    "proc.ppid",
    "proc.vpid",
    "proc.pvpid",
    "proc.sid",
    "proc.vpgid",
    "proc.pgid",
    "proc.tty",
    "proc.loginshellid",
    "thread.tid",
    "thread.vtid",
    "user.uid",
    "user.loginuid",
    "group.gid",
    "fd.num",
    "fd.sport",
    "fd.cport",
    "fd.lport",
    "fd.rport",
    "fd.dev",
    "fd.ino",
];

/// Renders `a` as Falco's text line (no trailing newline). With `colour`,
/// the priority is coloured by severity (ANSI SGR), for terminals.
pub fn text(a: &Alert, colour: bool) -> String {
    let mut s = String::with_capacity(a.output.len() + 48);
    s.push_str(&time::clock_nanos(a.time_ns));
    s.push_str(": ");
    if colour {
        let _ = write!(s, "\x1b[{}m{}\x1b[0m ", sgr(a.priority), a.priority.name());
    } else {
        s.push_str(a.priority.name());
        s.push(' ');
    }
    escape_into(&mut s, &a.output);
    s
}

/// Select Graphic Rendition code for a priority.
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

/// Appends `input` to `out` with everything that a terminal would act on
/// escaped: C0 and C1 controls (ESC, CR, LF, BEL, backspace…), DEL, and the
/// Unicode line separators and bidirectional controls that reorder or hide
/// text.
pub fn escape_into(out: &mut String, input: &str) {
    for c in input.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{0}'..='\u{1f}' | '\u{7f}' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            '\u{80}'..='\u{9f}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{200e}'
            | '\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}' => {
                let _ = write!(out, "\\u{{{:04x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
}

/// Renders `a` as Falco's JSON object (no trailing newline).
pub fn json(a: &Alert) -> String {
    serde_json::to_string(&FalcoJson::of(a)).unwrap_or_else(|_| "{}".into())
}

/// Writes `a` as Falco's JSON object into `out`.
pub fn json_into(out: &mut Vec<u8>, a: &Alert) {
    // Serialising plain strings and numbers into a Vec cannot fail.
    let _ = serde_json::to_writer(out, &FalcoJson::of(a));
}

/// Renders `a` in `format`.
pub fn render(a: &Alert, format: Format, colour: bool) -> String {
    match format {
        Format::Text => text(a, colour),
        Format::Json => json(a),
    }
}

/// Falco's JSON alert. Field order is Falco's (alphabetical).
#[derive(serde::Serialize)]
struct FalcoJson<'a> {
    hostname: &'a str,
    output: &'a str,
    output_fields: OutputFields<'a>,
    priority: &'static str,
    rule: &'a str,
    source: &'a str,
    tags: &'a [String],
    time: String,
}

impl<'a> FalcoJson<'a> {
    fn of(a: &'a Alert) -> Self {
        FalcoJson {
            hostname: &a.hostname,
            output: &a.output,
            output_fields: OutputFields(&a.fields, a.time_ns),
            priority: a.priority.name(),
            rule: &a.rule,
            source: &a.source,
            tags: &a.tags,
            time: time::rfc3339_nanos(a.time_ns),
        }
    }
}

/// The alert's fields, and its time for when it has none.
struct OutputFields<'a>(&'a [(String, String)], u64);

impl Serialize for OutputFields<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.is_empty() {
            // falcosidekick refuses an alert whose output_fields is empty;
            // Falco's own alerts nearly always carry evt.time, so that is
            // what an alert without fields gets.
            let mut m = s.serialize_map(Some(1))?;
            m.serialize_entry("evt.time", &self.1)?;
            return m.end();
        }
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (name, value) in self.0 {
            if value == NOT_AVAILABLE {
                m.serialize_entry(name, &())?;
            } else if let Some(n) = numeric(name, value) {
                m.serialize_entry(name, &n)?;
            } else {
                m.serialize_entry(name, value)?;
            }
        }
        m.end()
    }
}

fn numeric(name: &str, value: &str) -> Option<i64> {
    let known = NUMERIC_FIELDS.contains(&name) || name.starts_with("proc.apid");
    if known {
        value.parse().ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(output: &str) -> Alert {
        Alert {
            time_ns: 1_700_000_000_123_456_789,
            rule: "Read sensitive file".into(),
            priority: Priority::Warning,
            source: "syscall".into(),
            tags: vec!["filesystem".into(), "mitre_credential_access".into()],
            output: output.into(),
            fields: vec![
                ("proc.name".into(), "cat".into()),
                ("proc.pid".into(), "42".into()),
                ("container.id".into(), "<NA>".into()),
            ],
            hostname: "h1".into(),
            eval_ts_ns: 0,
        }
    }

    #[test]
    fn text_is_falco_line() {
        assert_eq!(
            text(&alert("Sensitive file opened (proc=cat)"), false),
            "22:13:20.123456789: Warning Sensitive file opened (proc=cat)"
        );
        assert_eq!(
            text(&alert("x"), true),
            "22:13:20.123456789: \x1b[33mWarning\x1b[0m x"
        );
    }

    #[test]
    fn text_escapes_what_a_terminal_would_obey() {
        let t = text(
            &alert("proc=ev\x1b[2Ki\rl\nfake 00:00:00: Emergency\u{202e}x\u{9b}"),
            false,
        );
        assert_eq!(
            t,
            "22:13:20.123456789: Warning proc=ev\\x1b[2Ki\\rl\\nfake 00:00:00: Emergency\\u{202e}x\\u{009b}"
        );
        assert!(!t.chars().any(|c| c.is_control()));
    }

    #[test]
    fn json_has_falcos_shape() {
        let v: serde_json::Value = serde_json::from_str(&json(&alert("o\u{1b}"))).unwrap();
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "hostname",
                "output",
                "output_fields",
                "priority",
                "rule",
                "source",
                "tags",
                "time"
            ]
        );
        assert_eq!(v["output"], "o\u{1b}");
        assert_eq!(v["priority"], "Warning");
        assert_eq!(v["time"], "2023-11-14T22:13:20.123456789Z");
        assert_eq!(v["output_fields"]["proc.pid"], 42);
        assert_eq!(v["output_fields"]["proc.name"], "cat");
        assert!(v["output_fields"]["container.id"].is_null());
        assert_eq!(v["tags"][1], "mitre_credential_access");
        // What falcosidekick checks before accepting an alert (priority
        // known, rule set, time set, output_fields not empty), also for an
        // alert without fields.
        let mut bare = alert("x");
        bare.fields.clear();
        let v: serde_json::Value = serde_json::from_str(&json(&bare)).unwrap();
        assert_eq!(v["output_fields"]["evt.time"], 1_700_000_000_123_456_789u64);
        assert!(!v["rule"].as_str().unwrap().is_empty());
        // Raw control characters never reach the wire.
        assert!(json(&alert("a\u{1b}b")).contains("\\u001b"));
    }
}
