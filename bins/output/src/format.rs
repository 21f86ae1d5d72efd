//! How an alert is written: Falco's text line and Falco's JSON object, as
//! the `render` crate renders them from the alert's frame, the same code
//! that renders evaluate's lines.
//!
//! Text is `HH:MM:SS.nnnnnnnnn: Priority output`, the line Falco prints,
//! with every control character, terminal escape and bidirectional control
//! from event data escaped, so a process or file name cannot forge a line,
//! move the cursor or hide text. JSON has Falco's keys (`hostname`,
//! `output`, `output_fields`, `priority`, `rule`, `source`, `tags`,
//! `time`), so falcosidekick and other Falco consumers accept it; numbers
//! are those evaluate marked numeric.
//!
//! Not for transport: sinks decide where the bytes go.

use render::{RenderError, TextOptions, TimeStyle};
use serde::Deserialize;

use crate::alert::Alert;

/// What a sink writes for each alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Falco's text line.
    Text,
    /// Falco's JSON object, one per line.
    Json,
}

/// Renders `a` as Falco's text line (no trailing newline). With `colour`,
/// the priority is coloured by severity (ANSI SGR), for terminals.
pub fn text(a: &Alert, colour: bool) -> Result<String, RenderError> {
    let opts = TextOptions {
        colour,
        time: TimeStyle::Clock,
    };
    render::text(a, &opts)
}

/// Appends `a` as Falco's JSON object (no trailing newline) to `out`.
pub fn json_into(out: &mut Vec<u8>, a: &Alert) -> Result<(), RenderError> {
    render::json_into(out, a)
}

/// Renders `a` in `format`.
pub fn render(a: &Alert, format: Format, colour: bool) -> Result<String, RenderError> {
    match format {
        Format::Text => text(a, colour),
        Format::Json => render::json_line(a),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::{Field, Priority};

    /// What a hostile process may call itself: a screen clear, a carriage
    /// return and a line feed that start a forged alert, a right-to-left
    /// override, NEL (a C1 line break) and a backslash.
    const EVIL: &str =
        "ev\x1b[2Jil\rx\n00:00:00.000000000: Emergency forged\u{202e}txt.exe\u{85}c:\\tmp";

    fn alert(output: &str) -> Alert {
        Alert {
            time_ns: 1_700_000_000_123_456_789,
            rule: "Read sensitive file".into(),
            priority: Priority::Warning,
            source: "syscall".into(),
            tags: vec!["filesystem".into(), "mitre_credential_access".into()],
            output: output.into(),
            fields: vec![
                Field::text("proc.name", "cat"),
                Field {
                    name: "proc.pid".into(),
                    value: "42".into(),
                    is_number: true,
                },
                Field::text("container.id", "<NA>"),
                // Numeric by name only: the frame says it is text.
                Field::text("fd.num", "3"),
            ],
            hostname: "h1".into(),
            eval_ts_ns: 0,
        }
    }

    #[test]
    fn text_is_falco_line() {
        assert_eq!(
            text(&alert("Sensitive file opened (proc=cat)"), false).unwrap(),
            "22:13:20.123456789: Warning Sensitive file opened (proc=cat)"
        );
        assert_eq!(
            text(&alert("x"), true).unwrap(),
            "22:13:20.123456789: \x1b[33mWarning\x1b[0m x"
        );
    }

    #[test]
    fn text_escapes_what_a_terminal_would_obey() {
        let t = text(&alert(&format!("proc={EVIL}")), false).unwrap();
        assert_eq!(
            t,
            "22:13:20.123456789: Warning proc=ev\\x1b[2Jil\\rx\\n00:00:00.000000000: Emergency forged\\u{202e}txt.exe\\u{0085}c:\\\\tmp"
        );
        assert!(!t.chars().any(render::needs_escape));
    }

    #[test]
    fn json_has_falcos_shape() {
        let mut line = Vec::new();
        json_into(&mut line, &alert(&format!("o {EVIL}"))).unwrap();
        let line = String::from_utf8(line).unwrap();
        assert!(!line.chars().any(render::needs_escape), "{line}");
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
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
        assert_eq!(
            v["output"],
            text(&alert(&format!("o {EVIL}")), false).unwrap()
        );
        assert_eq!(v["priority"], "Warning");
        assert_eq!(v["time"], "2023-11-14T22:13:20.123456789Z");
        assert_eq!(v["output_fields"]["proc.pid"], 42);
        assert_eq!(v["output_fields"]["fd.num"], "3");
        assert_eq!(v["output_fields"]["proc.name"], "cat");
        assert!(v["output_fields"]["container.id"].is_null());
        assert_eq!(v["tags"][1], "mitre_credential_access");
        // What falcosidekick checks before accepting an alert (priority
        // known, rule set, time set, output_fields not empty), also for an
        // alert without fields.
        let mut bare = alert("x");
        bare.fields.clear();
        let v: serde_json::Value =
            serde_json::from_str(&render(&bare, Format::Json, false).unwrap()).unwrap();
        assert_eq!(v["output_fields"]["evt.time"], 1_700_000_000_123_456_789u64);
        assert!(!v["rule"].as_str().unwrap().is_empty());
    }
}
