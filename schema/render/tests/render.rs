//! The renderer on real alert frames: Falco's text line and JSON object,
//! escaping of hostile event data, numbers typed by `isNumber`, and corrupt
//! frames as errors.

use capnp::message::{Builder, HeapAllocator, ReaderOptions};
use render::{TextOptions, TimeStyle};
use schema::kestrel_capnp::frame;
use schema::Priority;

/// An alert as evaluate would write it.
struct Alert<'a> {
    output: &'a str,
    priority: Priority,
    fields: &'a [(&'a str, &'a str, bool)],
}

const TIME_NS: u64 = 1_700_000_000_123_456_789;

fn message(a: &Alert<'_>) -> Builder<HeapAllocator> {
    let mut msg = Builder::new_default();
    let mut al = msg.init_root::<frame::Builder>().init_alert();
    al.set_time_ns(TIME_NS);
    al.set_rule("Read sensitive file");
    al.set_priority(a.priority);
    al.set_source("syscall");
    al.set_output(a.output);
    al.set_hostname("h1");
    {
        let mut tags = al.reborrow().init_tags(2);
        tags.set(0, "filesystem");
        tags.set(1, "mitre_credential_access");
    }
    let mut fl = al.init_fields(a.fields.len() as u32);
    for (i, (n, v, num)) in a.fields.iter().enumerate() {
        let mut f = fl.reborrow().get(i as u32);
        f.set_name(*n);
        f.set_value(*v);
        f.set_is_number(*num);
    }
    msg
}

/// Runs `f` on the alert of `msg`.
fn with_alert<T>(
    msg: &Builder<HeapAllocator>,
    f: impl FnOnce(schema::alert::Reader<'_>) -> T,
) -> T {
    let root = msg.get_root_as_reader::<frame::Reader>().unwrap();
    match root.which().unwrap() {
        frame::Alert(a) => f(a.unwrap()),
        _ => panic!("not an alert"),
    }
}

fn plain(output: &str) -> Builder<HeapAllocator> {
    message(&Alert {
        output,
        priority: Priority::Warning,
        fields: &[
            ("proc.name", "cat", false),
            ("proc.pid", "42", true),
            ("container.id", "<NA>", false),
            ("evt.rawres", "-2", true),
            ("fd.num", "not a number", true),
        ],
    })
}

#[test]
fn text_is_falcos_line() {
    let m = plain("Sensitive file opened (proc=cat)");
    with_alert(&m, |a| {
        assert_eq!(
            render::text(a, &TextOptions::default()).unwrap(),
            "22:13:20.123456789: Warning Sensitive file opened (proc=cat)"
        );
        assert_eq!(
            render::text(
                a,
                &TextOptions {
                    colour: true,
                    time: TimeStyle::Clock
                }
            )
            .unwrap(),
            "22:13:20.123456789: \x1b[33mWarning\x1b[0m Sensitive file opened (proc=cat)"
        );
        assert_eq!(
            render::text(
                a,
                &TextOptions {
                    colour: false,
                    time: TimeStyle::Iso8601
                }
            )
            .unwrap(),
            "2023-11-14T22:13:20.123456789Z: Warning Sensitive file opened (proc=cat)"
        );
    });
}

/// What a hostile process may call itself: a screen clear, a carriage
/// return and a line feed that start a forged alert, a right-to-left
/// override, NEL (a C1 line break) and a backslash.
const EVIL: &str =
    "ev\x1b[2Jil\rx\n00:00:00.000000000: Emergency forged\u{202e}txt.exe\u{85}c:\\tmp";

#[test]
fn hostile_text_renders_as_one_inert_line() {
    let m = plain(&format!("proc={EVIL} file=/tmp/{EVIL}"));
    with_alert(&m, |a| {
        for opts in [
            TextOptions::default(),
            TextOptions {
                colour: true,
                time: TimeStyle::Iso8601,
            },
        ] {
            let t = render::text(a, &opts).unwrap();
            assert_eq!(t.lines().count(), 1, "{t:?}");
            let without_colour = t.replace("\x1b[33m", "").replace("\x1b[0m", "");
            assert!(!without_colour.chars().any(render::needs_escape), "{t:?}");
            assert!(t.contains(
                "ev\\x1b[2Jil\\rx\\n00:00:00.000000000: Emergency forged\\u{202e}txt.exe\\u{0085}c:\\\\tmp"
            ));
        }
    });
}

#[test]
fn json_has_falcos_shape_and_typed_numbers() {
    let m = plain("o");
    let v = with_alert(&m, |a| render::json(a).unwrap());
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
    assert_eq!(v["output"], "22:13:20.123456789: Warning o");
    assert_eq!(v["priority"], "Warning");
    assert_eq!(v["rule"], "Read sensitive file");
    assert_eq!(v["source"], "syscall");
    assert_eq!(v["hostname"], "h1");
    assert_eq!(v["time"], "2023-11-14T22:13:20.123456789Z");
    assert_eq!(v["tags"][1], "mitre_credential_access");
    let f = &v["output_fields"];
    assert_eq!(f["proc.name"], "cat");
    assert_eq!(f["proc.pid"], 42);
    assert_eq!(f["evt.rawres"], -2);
    assert!(f["container.id"].is_null());
    // Marked numeric but not a number: kept, as text.
    assert_eq!(f["fd.num"], "not a number");
}

#[test]
fn json_without_fields_carries_evt_time() {
    let m = message(&Alert {
        output: "x",
        priority: Priority::Critical,
        fields: &[],
    });
    let v = with_alert(&m, |a| render::json(a).unwrap());
    assert_eq!(v["output_fields"]["evt.time"], TIME_NS);
    assert_eq!(v["priority"], "Critical");
}

#[test]
fn json_line_holds_no_raw_control_and_decodes_exactly() {
    let m = message(&Alert {
        output: EVIL,
        priority: Priority::Warning,
        fields: &[("proc.name", EVIL, false)],
    });
    let v = with_alert(&m, |a| render::json(a).unwrap());
    let line = render::json_string(&v);
    assert!(!line.chars().any(render::needs_escape), "{line}");
    assert!(
        line.contains("\\u202e") && line.contains("\\u0085"),
        "{line}"
    );
    let back: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(back, v);
    // The field keeps the exact value; `output` is the escaped text line.
    assert_eq!(back["output_fields"]["proc.name"], EVIL);
    let out = back["output"].as_str().unwrap();
    assert!(!out.chars().any(render::needs_escape));
    assert!(out.ends_with("c:\\\\tmp"), "{out}");
}

/// The alert's words, for tampering.
fn words(m: &Builder<HeapAllocator>) -> Vec<u8> {
    let segs = m.get_segments_for_output();
    assert_eq!(segs.len(), 1);
    segs[0].to_vec()
}

fn read_tampered<T>(bytes: &[u8], f: impl FnOnce(schema::alert::Reader<'_>) -> T) -> T {
    let segs: &[&[u8]] = &[bytes];
    let r = capnp::message::Reader::new(
        capnp::message::SegmentArray::new(segs),
        ReaderOptions::new(),
    );
    let root = r.get_root::<frame::Reader>().unwrap();
    match root.which().unwrap() {
        frame::Alert(a) => f(a.unwrap()),
        _ => panic!("not an alert"),
    }
}

#[test]
fn corrupt_frames_are_errors() {
    // A priority newer than this build.
    let mut b = words(&plain("x"));
    let at = b
        .windows(8)
        .position(|w| w == TIME_NS.to_le_bytes())
        .unwrap();
    // `priority` is the 16 bits after `timeNs` in the alert's data.
    b[at + 8] = 99;
    let e = read_tampered(&b, |a| {
        render::text(a, &TextOptions::default()).unwrap_err()
    });
    assert_eq!(e.to_string(), "alert priority 99 is unknown to this build");
    let e = read_tampered(&b, |a| render::json(a).unwrap_err());
    assert!(matches!(e, render::RenderError::UnknownPriority(99)));

    // Texts cut off: their pointers now point past the segment.
    let b = words(&plain("x"));
    let cut = &b[..b.len() - 64];
    let e = read_tampered(cut, |a| render::json(a).unwrap_err());
    assert!(e.to_string().starts_with("corrupt alert frame:"), "{e}");
}
