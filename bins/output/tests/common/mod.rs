//! Helpers shared by output's integration tests: frame streams built with
//! the schema crate's writer, and running the `output` binary on them.

#![allow(dead_code)]

use std::io::Write;
use std::process::{Command, Output, Stdio};

use schema::{FrameWriter, Priority, Stage};

/// One alert to put on a stream.
pub struct TestAlert<'a> {
    pub rule: &'a str,
    pub priority: Priority,
    pub output: &'a str,
    pub time_ns: u64,
    pub fields: &'a [(&'a str, &'a str)],
    pub tags: &'a [&'a str],
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
        }
    }
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
        self.w
            .build::<std::io::Error, _>(|f| {
                let mut al = f.init_alert();
                al.set_time_ns(a.time_ns);
                al.set_rule(a.rule);
                al.set_priority(a.priority);
                al.set_source("syscall");
                al.set_output(a.output);
                al.set_hostname("testhost");
                let mut tags = al.reborrow().init_tags(a.tags.len() as u32);
                for (i, t) in a.tags.iter().enumerate() {
                    tags.set(i as u32, t);
                }
                let mut fields = al.init_fields(a.fields.len() as u32);
                for (i, (n, v)) in a.fields.iter().enumerate() {
                    let mut fl = fields.reborrow().get(i as u32);
                    fl.set_name(n);
                    fl.set_value(v);
                }
                Ok(())
            })
            .unwrap();
        self
    }

    pub fn stats(mut self, stage: Stage, counters: &[(&str, u64)]) -> Self {
        self.w
            .build::<std::io::Error, _>(|f| {
                let mut s = f.init_stats();
                s.set_stage(stage);
                s.set_time_ns(schema::now_ns());
                s.set_hostname("testhost");
                let mut cs = s.init_counters(counters.len() as u32);
                for (i, (n, v)) in counters.iter().enumerate() {
                    let mut c = cs.reborrow().get(i as u32);
                    c.set_name(n);
                    c.set_value(*v);
                }
                Ok(())
            })
            .unwrap();
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
        use std::io::Write as _;
        self.w.flush().unwrap();
        let w = self.w;
        let mut out = Vec::new();
        out.write_all(w.get_ref()).unwrap();
        out
    }
}

/// Runs `output ARGS` with `stdin` as input and returns what it did.
pub fn run_output(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_output"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn output");
    let mut input = child.stdin.take().expect("stdin");
    let data = stdin.to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().expect("wait output");
    feeder.join().expect("feeder");
    out
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
