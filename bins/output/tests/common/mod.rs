//! Helpers shared by output's integration tests: frame streams built with
//! the schema crate's writer, the `output` binary run on them (all at once
//! or frame by frame), and real receivers on loopback.

#![allow(dead_code)]

pub mod receivers;

use std::io::Write;
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::time::{Duration, Instant};

use schema::{FrameWriter, Priority, Stage};

/// One alert to put on a stream.
pub struct TestAlert<'a> {
    pub rule: &'a str,
    pub priority: Priority,
    pub output: &'a str,
    pub time_ns: u64,
    /// (name, value, the value is a number).
    pub fields: &'a [(&'a str, &'a str, bool)],
    pub tags: &'a [&'a str],
    pub eval_ts_ns: u64,
}

impl<'a> TestAlert<'a> {
    pub fn new(rule: &'a str, output: &'a str) -> Self {
        TestAlert {
            rule,
            priority: Priority::Warning,
            output,
            time_ns: 1_700_000_000_123_456_789,
            fields: &[],
            tags: &[],
            eval_ts_ns: 0,
        }
    }

    pub fn priority(mut self, p: Priority) -> Self {
        self.priority = p;
        self
    }
}

pub fn write_alert<W: Write>(w: &mut FrameWriter<W>, a: &TestAlert<'_>) {
    w.build::<std::io::Error, _>(|f| {
        let mut al = f.init_alert();
        al.set_time_ns(a.time_ns);
        al.set_rule(a.rule);
        al.set_priority(a.priority);
        al.set_source("syscall");
        al.set_output(a.output);
        al.set_hostname("testhost");
        al.set_eval_ts_ns(a.eval_ts_ns);
        let mut tags = al.reborrow().init_tags(a.tags.len() as u32);
        for (i, t) in a.tags.iter().enumerate() {
            tags.set(i as u32, t);
        }
        let mut fields = al.init_fields(a.fields.len() as u32);
        for (i, (n, v, num)) in a.fields.iter().enumerate() {
            let mut fl = fields.reborrow().get(i as u32);
            fl.set_name(n);
            fl.set_value(v);
            fl.set_is_number(*num);
        }
        Ok(())
    })
    .unwrap();
}

pub fn write_stats<W: Write>(
    w: &mut FrameWriter<W>,
    stage: Stage,
    counters: &[(&str, u64)],
    time_ns: u64,
) {
    w.build::<std::io::Error, _>(|f| {
        let mut s = f.init_stats();
        s.set_stage(stage);
        s.set_time_ns(time_ns);
        s.set_hostname("testhost");
        // Typed as the stages type them: `events`, `events_in` and
        // `events_evaluated` are throughput, `drops.REASON` a drop.
        let mut typed = stage::Counters::new();
        for (n, v) in counters {
            match (n.strip_prefix("drops."), *n) {
                (Some(reason), _) => typed.drops(reason.to_string(), *v),
                (None, "events" | "events_in" | "events_evaluated") => {
                    typed.events(n.to_string(), *v)
                }
                _ => typed.count(n.to_string(), *v),
            };
        }
        typed.fill(&mut s);
        Ok(())
    })
    .unwrap();
}

/// Builds streams frame by frame.
pub struct Stream {
    w: FrameWriter<Vec<u8>>,
}

impl Stream {
    /// A stream that starts with evaluate's header.
    pub fn new() -> Self {
        let mut w = FrameWriter::new(Vec::new());
        w.write_header(Stage::Evaluate).unwrap();
        Stream { w }
    }

    /// A stream with no header at all.
    pub fn headerless() -> Self {
        Stream {
            w: FrameWriter::new(Vec::new()),
        }
    }

    pub fn alert(mut self, a: &TestAlert<'_>) -> Self {
        write_alert(&mut self.w, a);
        self
    }

    /// Alerts of `rule` whose outputs are "n=FROM" … "n=TO-1".
    pub fn numbered(mut self, rule: &str, range: std::ops::Range<u32>) -> Self {
        for i in range {
            let out = format!("n={i}");
            write_alert(&mut self.w, &TestAlert::new(rule, &out));
        }
        self
    }

    pub fn stats(mut self, stage: Stage, counters: &[(&str, u64)]) -> Self {
        write_stats(&mut self.w, stage, counters, schema::now_ns());
        self
    }

    pub fn stats_at(mut self, stage: Stage, counters: &[(&str, u64)], time_ns: u64) -> Self {
        write_stats(&mut self.w, stage, counters, time_ns);
        self
    }

    pub fn event(mut self, kind: schema::Kind, pid: i32) -> Self {
        self.w
            .build::<std::io::Error, _>(|f| {
                let mut e = f.init_event();
                e.set_ts_ns(1);
                e.set_pid(pid);
                e.set_tid(pid);
                e.set_kind(kind);
                let mut params = e.init_params(1);
                params.reborrow().get(0).set_bytes(b"/etc/shadow");
                Ok(())
            })
            .unwrap();
        self
    }

    pub fn bytes(mut self) -> Vec<u8> {
        self.w.flush().unwrap();
        self.w.get_ref().clone()
    }
}

pub fn output_command(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_output"));
    c.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Spools go where a test says, never to the home directory.
        .env_remove("STATE_DIRECTORY")
        .env(
            "XDG_STATE_HOME",
            std::env::temp_dir().join("kestrel-output-test-state"),
        );
    c
}

/// Runs `output ARGS` with `stdin` as input and returns what it did.
pub fn run_output(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = output_command(args).spawn().expect("spawn output");
    let mut input = child.stdin.take().expect("stdin");
    let data = stdin.to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().expect("wait output");
    feeder.join().expect("feeder");
    out
}

/// `output` running with its input open, fed frame by frame.
pub struct Live {
    pub child: Child,
    w: FrameWriter<ChildStdin>,
}

impl Live {
    pub fn start(args: &[&str]) -> Live {
        let mut child = output_command(args).spawn().expect("spawn output");
        let stdin = child.stdin.take().expect("stdin");
        let mut w = FrameWriter::new(stdin);
        w.write_header(Stage::Evaluate).unwrap();
        w.flush().unwrap();
        Live { child, w }
    }

    pub fn alert(&mut self, a: &TestAlert<'_>) {
        write_alert(&mut self.w, a);
        self.w.flush().unwrap();
    }

    pub fn stats(&mut self, stage: Stage, counters: &[(&str, u64)], time_ns: u64) {
        write_stats(&mut self.w, stage, counters, time_ns);
        self.w.flush().unwrap();
    }

    /// Closes the input and waits for output to end.
    pub fn finish(self) -> Output {
        let Live { child, w } = self;
        drop(w);
        child.wait_with_output().expect("wait output")
    }
}

pub fn stdout_lines(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Polls `f` until it returns true or `timeout` passes.
pub fn eventually(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    f()
}

/// Lines of a file, or none if it does not exist.
pub fn file_lines(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .map(|s| s.lines().map(str::to_string).collect())
        .unwrap_or_default()
}

/// The "n=…" number in an alert's output.
pub fn number_of(output: &str) -> Option<u32> {
    // `output` is a whole text line (`TIME: Priority n=N`) or a bare output.
    output.rsplit_once("n=")?.1.parse().ok()
}
