//! The `evaluate` binary end to end: stream mode in each format, the stage
//! conventions (empty input, bad input, stats pass-through), rule selection,
//! and the subcommands.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use evaluate::fields::sample;
use schema::kestrel_capnp::frame;
use schema::{FrameReader, FrameWriter, Kind, Stage};

const BIN: &str = env!("CARGO_BIN_EXE_evaluate");

const RULES: &str = r#"
- macro: spawned
  condition: evt.type = execve
- rule: Shell run
  desc: a shell ran
  condition: spawned and proc.name in (bash, sh)
  output: "shell %proc.name pid=%proc.pid file=%fd.name parent=%proc.aname[1]"
  priority: NOTICE
  tags: [process, shell]
- rule: Any exec
  desc: anything ran
  condition: spawned
  output: "exec %proc.name"
  priority: DEBUG
  tags: [process]
"#;

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kestrel-eval-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// The rules, in a file of this test's own (tests run in parallel).
fn rules_file(test: &str) -> PathBuf {
    let p = tmp(&format!("rules-{test}.yaml"));
    std::fs::write(&p, RULES).unwrap();
    p
}

fn exec(name: &str, pid: i32) -> sample::Event {
    sample::Event {
        kind: Kind::Execve,
        ts: 1_795_885_381_000_000_000,
        thread: Some(sample::Thread {
            pid,
            tid: pid,
            name: name.into(),
            ancestors: vec![sample::Ancestor {
                name: "sshd".into(),
                ..Default::default()
            }],
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// An enriched stream: header, the events, and one upstream stats frame.
fn stream(events: &[sample::Event]) -> Vec<u8> {
    let mut w = FrameWriter::new(Vec::new());
    w.write_header(Stage::Enrich).unwrap();
    for e in events {
        w.write(&e.to_message()).unwrap();
    }
    let mut msg = capnp::message::Builder::new_default();
    {
        let mut s = msg.init_root::<frame::Builder>().init_stats();
        s.set_stage(Stage::Capture);
        s.set_hostname("upstream");
        let mut c = s.init_counters(1);
        c.reborrow().get(0).set_name("events");
        c.reborrow().get(0).set_value(7);
    }
    w.write(&msg).unwrap();
    w.flush().unwrap();
    w.get_ref().clone()
}

fn run(args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("evaluate runs");
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

/// Runs evaluate with `envs` set, over `input`.
fn run_env(args: &[&str], envs: &[(&str, &str)], input: &[u8]) -> std::process::Output {
    let mut child = Command::new(BIN)
        .args(args)
        .envs(envs.iter().copied())
        .env_remove("KESTREL_HOSTNAME")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("evaluate runs");
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn alerts_name_the_node_the_operator_gave() {
    let r = rules_file("alerts_name_the_node_the_operator_gave");
    let host = |args: &[&str], envs: &[(&str, &str)]| {
        let mut a = vec!["-r", r.to_str().unwrap(), "--format", "json"];
        a.extend_from_slice(args);
        let out = run_env(&a, envs, &stream(&[exec("bash", 42)]));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value =
            serde_json::from_slice(out.stdout.split(|&b| b == b'\n').next().unwrap()).unwrap();
        v["hostname"].as_str().unwrap_or("").to_string()
    };
    // A DaemonSet sets NODE_NAME from spec.nodeName; --hostname wins over it.
    assert_eq!(host(&[], &[("NODE_NAME", "node-7")]), "node-7");
    assert_eq!(
        host(&["--hostname", "node-8"], &[("NODE_NAME", "node-7")]),
        "node-8"
    );
}

#[test]
fn json_lines_have_falcos_shape() {
    let r = rules_file("json_lines_have_falcos_shape");
    let out = run(
        &["-r", r.to_str().unwrap(), "--format", "json"],
        &stream(&[exec("bash", 42), exec("ls", 43)]),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{text}");
    let a = &lines[0];
    assert_eq!(a["rule"], "Shell run");
    assert_eq!(a["priority"], "Notice");
    assert_eq!(a["source"], "syscall");
    assert_eq!(a["time"], "2026-11-28T17:03:01.000000000Z");
    assert_eq!(a["tags"], serde_json::json!(["process", "shell"]));
    assert_eq!(a["hostname"], schema::hostname());
    assert_eq!(a["output_fields"]["proc.name"], "bash");
    assert_eq!(a["output_fields"]["proc.pid"], 42);
    assert!(a["output_fields"]["fd.name"].is_null());
    assert_eq!(a["output_fields"]["proc.aname[1]"], "sshd");
    assert!(
        a["output"]
            .as_str()
            .unwrap()
            .ends_with("Notice shell bash pid=42 file=<NA> parent=sshd"),
        "{}",
        a["output"]
    );
    // rule_matching first: the shell matched only the first rule.
    assert_eq!(lines[1]["rule"], "Any exec");
}

#[test]
fn rule_matching_all_and_selection() {
    let r = rules_file("rule_matching_all_and_selection");
    let input = stream(&[exec("bash", 42)]);
    let out = run(
        &[
            "-r",
            r.to_str().unwrap(),
            "--format",
            "json",
            "--rule-matching",
            "all",
        ],
        &input,
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 2);
    let out = run(
        &[
            "-r",
            r.to_str().unwrap(),
            "--format",
            "json",
            "--rule-matching",
            "all",
            "--min-priority",
            "notice",
        ],
        &input,
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
    // Disable by tag, then enable one by name with a wildcard: order matters.
    let out = run(
        &[
            "-r",
            r.to_str().unwrap(),
            "--format",
            "json",
            "--rule-matching",
            "all",
            "--disable",
            "tag:process",
            "--enable",
            "Any*",
        ],
        &input,
    );
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.contains("\"Any exec\""), "{text}");
    let out = run(
        &[
            "-r",
            r.to_str().unwrap(),
            "--format",
            "json",
            "--enable",
            "Any*",
            "--disable",
            "tag:process",
        ],
        &input,
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 0);
}

#[test]
fn text_format() {
    let r = rules_file("text_format");
    let out = run(
        &["-r", r.to_str().unwrap(), "--format", "text"],
        &stream(&[exec("sh", 7)]),
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "17:03:01.000000000: Notice shell sh pid=7 file=<NA> parent=sshd\n"
    );
}

/// What a hostile process may name itself and its files: a screen clear, a
/// carriage return and line feed that start a forged alert, a right-to-left
/// override, NEL (a C1 line break) and a backslash.
const EVIL: &str =
    "ev\x1b[2Jil\rx\n00:00:00.000000000: Emergency forged\u{202e}txt.exe\u{85}c:\\tmp";

#[test]
fn hostile_names_cannot_forge_or_hide_lines() {
    let r = tmp("rules-hostile.yaml");
    std::fs::write(
        &r,
        r#"
- rule: Any exec
  desc: anything ran
  condition: evt.type = execve
  output: "exec proc=%proc.name file=%fd.name pid=%proc.pid"
  priority: WARNING
"#,
    )
    .unwrap();
    let mut ev = exec(EVIL, 9);
    ev.fd = Some(sample::Fd {
        name: format!("/tmp/{EVIL}"),
        ..Default::default()
    });
    let input = stream(&[ev]);

    let out = run(&["-r", r.to_str().unwrap(), "--format", "text"], &input);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 1, "{text:?}");
    assert!(
        !text
            .trim_end_matches('\n')
            .chars()
            .any(render::needs_escape),
        "{text:?}"
    );
    let shown =
        "ev\\x1b[2Jil\\rx\\n00:00:00.000000000: Emergency forged\\u{202e}txt.exe\\u{0085}c:\\\\tmp";
    assert_eq!(
        text,
        format!("17:03:01.000000000: Warning exec proc={shown} file=/tmp/{shown} pid=9\n")
    );

    // JSON: no raw control in the bytes, exact values once decoded, and
    // `output` the escaped text line.
    let out = run(&["-r", r.to_str().unwrap(), "--format", "json"], &input);
    let line = String::from_utf8(out.stdout).unwrap();
    assert_eq!(line.lines().count(), 1, "{line:?}");
    assert!(
        !line
            .trim_end_matches('\n')
            .chars()
            .any(render::needs_escape),
        "{line:?}"
    );
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["output_fields"]["proc.name"], EVIL);
    assert_eq!(v["output_fields"]["fd.name"], format!("/tmp/{EVIL}"));
    assert_eq!(v["output_fields"]["proc.pid"], 9);
    assert_eq!(v["output"], text.trim_end_matches('\n'));
}

#[test]
fn frames_carry_alerts_and_stats() {
    let r = rules_file("frames_carry_alerts_and_stats");
    let out = run(
        &["-r", r.to_str().unwrap(), "--format", "frames"],
        &stream(&[exec("bash", 42)]),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut rd = FrameReader::new(&out.stdout[..]);
    let h = rd.read_header().unwrap().unwrap();
    assert_eq!(h.stage, Some(Stage::Evaluate));
    let (mut alerts, mut upstream_stats, mut own_stats) = (0, 0, Vec::new());
    while let Some(f) = rd.next().unwrap() {
        match f.root().unwrap().which().unwrap() {
            frame::Alert(a) => {
                let a = a.unwrap();
                alerts += 1;
                assert_eq!(a.get_rule().unwrap().to_str().unwrap(), "Shell run");
                assert_eq!(a.get_priority().unwrap(), schema::Priority::Notice);
                assert_eq!(
                    a.get_output().unwrap().to_str().unwrap(),
                    "shell bash pid=42 file=<NA> parent=sshd"
                );
                let fields = a.get_fields().unwrap();
                assert_eq!(
                    fields.get(0).get_name().unwrap().to_str().unwrap(),
                    "proc.name"
                );
                assert_eq!(fields.get(2).get_value().unwrap().to_str().unwrap(), "<NA>");
                assert!(a.get_eval_ts_ns() > 0);
            }
            frame::Stats(s) => {
                let s = s.unwrap();
                if s.get_stage().unwrap() == Stage::Capture {
                    upstream_stats += 1;
                } else {
                    for c in s.get_counters().unwrap() {
                        own_stats.push((c.get_name().unwrap().to_string().unwrap(), c.get_value()));
                    }
                }
            }
            _ => panic!("unexpected frame"),
        }
    }
    assert_eq!(alerts, 1);
    assert_eq!(upstream_stats, 1);
    assert!(
        own_stats.contains(&("events_evaluated".into(), 1)),
        "{own_stats:?}"
    );
    assert!(
        own_stats.contains(&("alerts.Shell run".into(), 1)),
        "{own_stats:?}"
    );
    assert!(
        own_stats.contains(&("alerts.Any exec".into(), 0)),
        "{own_stats:?}"
    );
}

#[test]
fn empty_and_bad_input() {
    let r = rules_file("empty_and_bad_input");
    let out = run(&["-r", r.to_str().unwrap()], b"");
    assert!(out.status.success());
    assert!(out.stdout.is_empty() && out.stderr.is_empty());
    let out = run(
        &["-r", r.to_str().unwrap()],
        b"this is not a kestrel stream at all",
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("evaluate: error: "), "{err}");
    // A truncated stream: an error with the byte offset.
    let mut s = stream(&[exec("bash", 1)]);
    s.truncate(s.len() - 5);
    let out = run(&["-r", r.to_str().unwrap(), "--format", "json"], &s);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("byte"), "{err}");
}

#[test]
fn closed_output_is_a_clean_stop() {
    let r = rules_file("closed_output_is_a_clean_stop");
    let events: Vec<_> = (0..20_000).map(|i| exec("bash", i)).collect();
    let input = stream(&events);
    let mut child = Command::new(BIN)
        .args(["-r", r.to_str().unwrap(), "--format", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let _ = child.stdin.take().unwrap().write_all(&input);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "evaluate: output closed\n"
    );
}

#[test]
fn validate_subcommand() {
    let r = rules_file("validate_subcommand");
    let out = run(&["validate", "-r", r.to_str().unwrap()], b"");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("ok: 2 rules"));
    let bad = tmp("bad.yaml");
    std::fs::write(&bad, "- rule: R\n  desc: d\n  condition: evt.type = open and nosuch_macro\n  output: o\n  priority: info\n").unwrap();
    let out = run(&["validate", "-r", bad.to_str().unwrap()], b"");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("undefined macro `nosuch_macro`"), "{err}");
    assert!(err.contains("bad.yaml:3:34"), "{err}");
    // A type mismatch inside a macro points at the macro's token.
    let tm = tmp("type.yaml");
    std::fs::write(
        &tm,
        "- macro: m\n  condition: >\n    evt.type = open\n    and proc.pid = abc\n- rule: R\n  desc: d\n  condition: m\n  output: o\n  priority: info\n",
    )
    .unwrap();
    let out = run(&["validate", "-r", tm.to_str().unwrap()], b"");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("type.yaml:4:20"), "{err}");
    assert!(err.contains("in macro `m`"), "{err}");
    assert!(err.contains("used by rule `R`"), "{err}");
    // The compiler's warnings are located too.
    let w = tmp("warn.yaml");
    std::fs::write(&w, "- rule: R\n  desc: d\n  condition: evt.type in (open, sendfile)\n  output: o\n  priority: info\n").unwrap();
    let out = run(&["validate", "-r", w.to_str().unwrap()], b"");
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("`sendfile` is not an event type kestrel captures"),
        "{err}"
    );
    assert!(err.contains("warn.yaml:3:33"), "{err}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 warning"));
    // The built-in rules validate.
    let out = run(&["validate"], b"");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn syscalls_subcommand() {
    let r = rules_file("syscalls_subcommand");
    let out = run(&["syscalls", "-r", r.to_str().unwrap()], b"");
    let text = String::from_utf8(out.stdout).unwrap();
    let names: Vec<&str> = text.trim().split(',').collect();
    for n in [
        "execve", "clone", "procexit", "openat", "close", "connect", "accept4",
    ] {
        assert!(names.contains(&n), "{n} missing from {text}");
    }
    assert!(!names.contains(&"procinfo"));
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);

    // --matched: only what the rules can match, for `enrich --forward`.
    let out = run(&["syscalls", "--matched", "-r", r.to_str().unwrap()], b"");
    let text = String::from_utf8(out.stdout).unwrap();
    let matched: Vec<&str> = text.trim().split(',').collect();
    assert!(matched.contains(&"execve"), "{text}");
    for n in ["clone", "procexit", "close"] {
        assert!(
            !matched.contains(&n),
            "{n} in {text}: enrich's needs, not the rules'"
        );
    }
    assert!(matched
        .iter()
        .all(|n| names.contains(n) || *n == "container"));
}

#[test]
fn list_subcommands() {
    let r = rules_file("list_subcommands");
    let out = run(
        &["list-rules", "-r", r.to_str().unwrap(), "--disable", "Any*"],
        b"",
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text, "Shell run\tNotice\tsyscall\tenabled\tprocess,shell\nAny exec\tDebug\tsyscall\tdisabled\tprocess\n");
    let out = run(&["list-fields"], b"");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.lines().any(|l| l.starts_with("proc.name\tCHARBUF\t")),
        "{text}"
    );
    assert!(
        text.lines().any(|l| l.starts_with("proc.aname[N]\t")),
        "{text}"
    );
}

#[test]
fn test_subcommand_runs_fixtures() {
    let r = rules_file("test_subcommand_runs_fixtures");
    let dir = tmp("fixtures");
    std::fs::create_dir_all(&dir).unwrap();
    let rec = dir.join("bash.kst");
    std::fs::write(&rec, stream(&[exec("ls", 1), exec("bash", 2)])).unwrap();
    std::fs::write(
        dir.join("shell.yaml"),
        r#"
- rule: Shell run
  cases:
    - name: bash
      expect: fire
      event: {evt.type: execve, proc.name: bash}
    - name: ls
      expect: silent
      event: {evt.type: execve, proc.name: ls}
    - name: recorded
      expect: fire
      frames: bash.kst
"#,
    )
    .unwrap();
    let out = run(
        &["test", dir.to_str().unwrap(), "-r", r.to_str().unwrap()],
        b"",
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{text}");
    assert!(text.ends_with("3 passed, 0 failed\n"), "{text}");
    std::fs::write(dir.join("wrong.yaml"), "- rule: Shell run\n  cases:\n    - name: wrong\n      expect: silent\n      event: {evt.type: execve, proc.name: sh}\n").unwrap();
    let out = run(
        &["test", dir.to_str().unwrap(), "-r", r.to_str().unwrap()],
        b"",
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("FAIL Shell run :: wrong"), "{text}");
    assert!(text.contains("expected silence, the rule fired"), "{text}");
}

/// enrich's stream by reference: each thread's `state` once, events naming
/// it; a superseded state is not used, a lost one is counted, and a
/// `stateGone` forgets the thread.
#[test]
fn events_read_their_thread_from_state_frames() {
    let r = rules_file("events_read_their_thread_from_state_frames");
    let mut w = FrameWriter::new(Vec::new());
    w.write_header(Stage::Enrich).unwrap();
    let state_then_event = |w: &mut FrameWriter<Vec<u8>>, e: &sample::Event, tid, gen| {
        let (state, event) = e.to_state_messages(tid, gen);
        w.write(&state).unwrap();
        w.write(&event).unwrap();
    };
    let by_ref = |w: &mut FrameWriter<Vec<u8>>, e: &sample::Event, tid, gen| {
        w.write(&e.to_state_messages(tid, gen).1).unwrap();
    };
    // bash's state, then three of its events.
    state_then_event(&mut w, &exec("bash", 42), 42, 1);
    by_ref(&mut w, &exec("bash", 42), 42, 1);
    // The same thread execs ls: a new state; then an event naming the
    // old one (as after a restart that lost the new state): no guess.
    state_then_event(&mut w, &exec("ls", 42), 42, 2);
    by_ref(&mut w, &exec("bash", 42), 42, 1);
    // Another thread, then gone: its next event finds nothing.
    state_then_event(&mut w, &exec("sh", 50), 50, 3);
    let mut gone = capnp::message::Builder::new_default();
    gone.init_root::<frame::Builder>().set_state_gone(50);
    w.write(&gone).unwrap();
    by_ref(&mut w, &exec("sh", 50), 50, 3);
    w.flush().unwrap();
    let out = run(
        &["-r", r.to_str().unwrap(), "--format", "frames"],
        w.get_ref(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut rd = FrameReader::new(&out.stdout[..]);
    rd.read_header().unwrap().unwrap();
    let (mut outputs, mut stats) = (Vec::new(), Vec::new());
    while let Some(f) = rd.next().unwrap() {
        match f.root().unwrap().which().unwrap() {
            frame::Alert(a) => {
                outputs.push(a.unwrap().get_output().unwrap().to_string().unwrap());
            }
            frame::Stats(s) => {
                let s = s.unwrap();
                if s.get_stage().unwrap() == Stage::Evaluate {
                    stats = s
                        .get_counters()
                        .unwrap()
                        .iter()
                        .map(|c| (c.get_name().unwrap().to_string().unwrap(), c.get_value()))
                        .collect();
                }
            }
            _ => panic!("unexpected frame"),
        }
    }
    assert_eq!(
        outputs,
        [
            "shell bash pid=42 file=<NA> parent=sshd",
            "shell bash pid=42 file=<NA> parent=sshd",
            "exec ls",
            "exec <NA>",
            "shell sh pid=50 file=<NA> parent=sshd",
            "exec <NA>",
        ]
    );
    let get = |n: &str| stats.iter().find(|(k, _)| k == n).map(|(_, v)| *v);
    assert_eq!(get("events_evaluated"), Some(6));
    assert_eq!(get("states"), Some(3));
    assert_eq!(get("states_held"), Some(1));
    assert_eq!(get("events_state_missing"), Some(2));
}

/// `--builtin -r DIR`: the built-in rules load first and a user's files
/// (a Kubernetes ConfigMap mounted as a directory) add rules and override
/// built-in ones; `-r` alone still replaces them, and an empty directory
/// leaves the built-in rules as they are.
#[test]
fn builtin_rules_load_before_a_users_files() {
    let dir = tmp("builtin-rules.d");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("site.yaml"), RULES).unwrap();
    std::fs::write(
        dir.join("tune.yaml"),
        "- rule: Write below /etc by an unexpected program\n  priority: CRITICAL\n  override:\n    priority: replace\n",
    )
    .unwrap();
    let d = dir.to_str().unwrap();
    let list = |args: &[&str]| {
        let out = run(args, b"");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let builtin = list(&["list-rules"]);
    let both = list(&["list-rules", "--builtin", "-r", d]);
    assert_eq!(both.lines().count(), builtin.lines().count() + 2, "{both}");
    assert!(both.contains("Shell run\tNotice\t"), "{both}");
    assert!(
        both.contains("Write below /etc by an unexpected program\tCritical\t"),
        "the override did not apply:\n{both}"
    );
    assert!(
        builtin.contains("Write below /etc by an unexpected program\tError\t"),
        "{builtin}"
    );
    let site = dir.join("site.yaml");
    let only = list(&["list-rules", "-r", site.to_str().unwrap()]);
    assert!(!only.contains("Credential file read"), "{only}");
    let empty = tmp("builtin-empty.d");
    std::fs::create_dir_all(&empty).unwrap();
    let same = list(&["list-rules", "--builtin", "-r", empty.to_str().unwrap()]);
    assert_eq!(same, builtin);
}
