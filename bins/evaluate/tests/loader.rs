//! The rule loader against Falco's documented rule-file semantics: items,
//! append and override, exceptions, lists and macros, and every kind of bad
//! input, each of which must give a precise diagnostic and never a panic.

use evaluate::check::{AnyField, FieldCatalog, Rule};
use evaluate::lang::ast::{CmpOp, Expr, FieldRef, ListItem, Modifier, Operand};
use evaluate::loader::diag::Diagnostics;
use evaluate::loader::source::SourceFile;
use evaluate::loader::{self, Loaded};

/// A catalog that knows a few syscall fields and the k8s_audit prefixes.
struct Some_;

impl FieldCatalog for Some_ {
    fn check(&self, source: Option<&str>, f: &FieldRef) -> Result<(), String> {
        let k8s = f.name.starts_with("ka.") || f.name.starts_with("jevt.");
        let known = k8s
            || [
                "evt.type",
                "evt.dir",
                "evt.arg",
                "proc.name",
                "proc.pname",
                "proc.cmdline",
                "proc.aname",
                "fd.name",
                "fd.directory",
                "fd.filename",
                "user.name",
                "container.id",
                "container.image.repository",
            ]
            .contains(&f.name.as_str());
        if !known {
            return Err(format!("unknown field `{}`", f.name));
        }
        match source {
            Some("k8s_audit") if !k8s => Err(format!(
                "field `{}` does not belong to the k8s_audit source",
                f.name
            )),
            Some("syscall") if k8s => Err(format!(
                "field `{}` belongs to the k8s_audit source",
                f.name
            )),
            _ => Ok(()),
        }
    }
}

fn load(files: &[&str]) -> Result<Loaded, Diagnostics> {
    let srcs = files
        .iter()
        .enumerate()
        .map(|(i, t)| SourceFile::new(format!("f{i}.yaml"), *t))
        .collect();
    loader::load_texts(srcs, &Some_)
}

fn ok(files: &[&str]) -> Loaded {
    match load(files) {
        Ok(l) => l,
        Err(d) => panic!("expected the rules to load:\n{d}"),
    }
}

/// The first error's rendering; panics if the load succeeded.
fn err(files: &[&str]) -> String {
    match load(files) {
        Ok(l) => panic!(
            "expected an error, got {} rules; warnings:\n{}",
            l.rules.len(),
            l.warnings
        ),
        Err(d) => {
            let e = d.errors().next().expect("an error").to_string();
            eprintln!("{e}");
            e
        }
    }
}

fn rule<'a>(l: &'a Loaded, name: &str) -> &'a Rule {
    l.rules
        .iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("no rule {name}"))
}

/// A compact rendering of an expression, for assertions.
fn show(e: &Expr) -> String {
    match e {
        Expr::And(v) => format!("({})", v.iter().map(show).collect::<Vec<_>>().join(" and ")),
        Expr::Or(v) => format!("({})", v.iter().map(show).collect::<Vec<_>>().join(" or ")),
        Expr::Not(x) => format!("not {}", show(x)),
        Expr::Const(b) => b.to_string(),
        Expr::Exists(f) => format!("{} exists", f.name),
        Expr::Macro { name, .. } => format!("MACRO {name}"),
        Expr::Inlined { body, .. } => show(body),
        Expr::Compare(c) => {
            let op = evaluate::lang::parse::op_name(c.op);
            let m = match c.modifier {
                Some(Modifier::OneOf) => " oneof",
                Some(Modifier::AnyOf) => " anyof",
                Some(Modifier::AllOf) => " allof",
                None => "",
            };
            let lhs = match &c.lhs.arg {
                Some(a) => format!("{}[{a}]", c.lhs.name),
                None => c.lhs.name.clone(),
            };
            let rhs = match &c.rhs {
                Operand::Value { text, .. } => text.clone(),
                Operand::List { items, .. } => format!(
                    "({})",
                    items
                        .iter()
                        .map(|i| match i {
                            ListItem::Value { text, .. } => text.clone(),
                            ListItem::Name { name, .. } => format!("@{name}"),
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                Operand::Field(f) => format!("val({})", f.name),
            };
            format!("{lhs} {op}{m} {rhs}")
        }
    }
}

const BASE: &str = r#"
- list: shells
  items: [bash, sh]
- list: more_shells
  items: [shells, zsh]
- macro: spawned
  condition: evt.type = execve
- macro: shell
  condition: spawned and proc.name in (more_shells)
- rule: Shell
  desc: a shell
  condition: shell and not proc.pname = sshd
  output: "shell %proc.name (parent %proc.aname[2])"
  priority: WARNING
  tags: [a]
"#;

#[test]
fn macros_and_lists_are_inlined() {
    let l = ok(&[BASE]);
    let r = rule(&l, "Shell");
    assert_eq!(
        show(&r.condition),
        "(((evt.type = execve) and proc.name in (bash, sh, zsh)) and not proc.pname = sshd)"
            .replace("((evt.type = execve)", "(evt.type = execve")
    );
    assert_eq!(r.kinds.names(), vec!["execve"]);
    assert_eq!(r.priority, schema::Priority::Warning);
    assert_eq!(r.source, "syscall");
    assert!(l.warnings.items.is_empty(), "{}", l.warnings);
}

#[test]
fn later_files_append_and_override() {
    let local = r#"
- list: shells
  items: [ksh]
  override:
    items: append
- macro: spawned
  condition: or evt.type = execveat
  append: true
- rule: Shell
  condition: and user.name != root
  output: "new %user.name"
  override:
    condition: append
    output: replace
- rule: Shell
  priority: error
  tags: [b]
  override:
    priority: replace
    tags: append
"#;
    let l = ok(&[BASE, local]);
    let r = rule(&l, "Shell");
    let s = show(&r.condition);
    assert!(s.contains("proc.name in (bash, sh, ksh, zsh)"), "{s}");
    assert!(
        s.contains("(evt.type = execve or evt.type = execveat)"),
        "{s}"
    );
    assert!(s.ends_with("user.name != root)"), "{s}");
    assert_eq!(r.priority, schema::Priority::Error);
    assert_eq!(r.tags, vec!["a", "b"]);
    assert_eq!(
        r.output
            .fields()
            .map(|f| f.1.to_string())
            .collect::<Vec<_>>(),
        vec!["user.name"]
    );
    assert_eq!(r.kinds.names(), vec!["execve", "execveat"]);
}

#[test]
fn replace_and_redefine() {
    let local = r#"
- list: shells
  items: [fish]
  override:
    items: replace
- macro: shell
  condition: proc.name in (shells) and evt.type = execve
- rule: Shell
  enabled: false
"#;
    let l = ok(&[BASE, local]);
    let r = rule(&l, "Shell");
    assert!(
        show(&r.condition).contains("proc.name in (fish)"),
        "{}",
        show(&r.condition)
    );
    assert!(!r.enabled);
    let l = ok(&[
        BASE,
        "- rule: Shell\n  enabled: true\n  override:\n    enabled: replace\n",
    ]);
    assert!(rule(&l, "Shell").enabled);
}

#[test]
fn override_errors() {
    let e = err(&[
        BASE,
        "- rule: Shell\n  condition: and x\n  append: true\n  override:\n    condition: append\n",
    ]);
    assert!(
        e.contains("`append` and `override` cannot be used together"),
        "{e}"
    );
    let e = err(&[
        BASE,
        "- rule: Shell\n  priority: debug\n  override:\n    priority: append\n",
    ]);
    assert!(
        e.contains("key `priority` of a rule cannot be appended"),
        "{e}"
    );
    let e = err(&[
        BASE,
        "- rule: Shell\n  desc: x\n  output: y\n  override:\n    desc: replace\n",
    ]);
    assert!(
        e.contains("key `output` is given but not listed in `override`"),
        "{e}"
    );
    assert!(e.contains("f1.yaml:3:3"), "{e}");
    let e = err(&[BASE, "- rule: Shell\n  override:\n    desc: replace\n"]);
    assert!(
        e.contains("lists `desc` but the item does not give it"),
        "{e}"
    );
    let e = err(&["- rule: Nope\n  condition: and x\n  append: true\n"]);
    assert!(
        e.contains("cannot append to rule `Nope`: no rule of that name is defined before"),
        "{e}"
    );
    let e = err(&["- list: l\n  items: [a]\n  append: true\n"]);
    assert!(e.contains("cannot append to list `l`"), "{e}");
    let e = err(&["- macro: m\n  condition: x\n  override:\n    condition: prepend\n"]);
    assert!(e.contains("must be `append` or `replace`"), "{e}");
}

#[test]
fn exceptions_become_and_not_clauses() {
    let rules = r#"
- list: apt_files
  items: [/bin/ls, /bin/rm]
- rule: W
  desc: d
  condition: evt.type = open and fd.name startswith /usr
  output: o
  priority: notice
  exceptions:
   - name: proc_writer
     fields: [proc.name, fd.directory]
     comps: [=, =]
     values:
       - [my-yum, /usr/bin]
       - [my-apt, /usr/local/bin]
   - name: cmdline_writer
     fields: [proc.cmdline, fd.directory]
     comps: [startswith, =]
   - name: container_writer
     fields: [container.image.repository, fd.directory]
   - name: proc_filenames
     fields: [proc.name, fd.name]
     comps: [=, in]
     values:
       - [my-dpkg, [/usr/bin, /bin]]
   - name: filenames
     fields: fd.filename
     comps: in
   - name: prefixes
     fields: proc.name
     comps: startswith anyof
     values: [kube-, etcd-]
- rule: W
  exceptions:
  - name: proc_writer
    values:
    - [apk, /usr/lib/alpine]
  - name: container_writer
    values:
    - [docker.io/alpine, /usr/libexec/alpine]
  - name: proc_filenames
    values:
    - [apt, [apt_files]]
  - name: filenames
    values: [python, go]
  append: true
"#;
    let l = ok(&[rules]);
    let s = show(&rule(&l, "W").condition);
    let want = "((evt.type = open and fd.name startswith /usr) and not (\
((proc.name = my-yum and fd.directory = /usr/bin) or (proc.name = my-apt and fd.directory = /usr/local/bin) or (proc.name = apk and fd.directory = /usr/lib/alpine)) or \
(container.image.repository = docker.io/alpine and fd.directory = /usr/libexec/alpine) or \
((proc.name = my-dpkg and fd.name in (/usr/bin, /bin)) or (proc.name = apt and fd.name in (/bin/ls, /bin/rm))) or \
fd.filename in (python, go) or \
proc.name startswith anyof (kube-, etcd-)))";
    assert_eq!(s, want);
}

#[test]
fn exception_errors() {
    let head = "- rule: R\n  desc: d\n  condition: evt.type = open\n  output: o\n  priority: info\n  exceptions:\n";
    let e = err(&[&format!("{head}  - name: x\n    fields: [proc.name, fd.name]\n    comps: [=]\n    values: [[a, b]]\n")]);
    assert!(e.contains("2 fields but 1 comps"), "{e}");
    let e = err(&[&format!(
        "{head}  - name: x\n    fields: [proc.name, fd.name]\n    values: [[a]]\n"
    )]);
    assert!(e.contains("1 values for 2 fields"), "{e}");
    let e = err(&[&format!(
        "{head}  - name: x\n    fields: proc.name\n    comps: startswith\n    values: [a]\n"
    )]);
    assert!(
        e.contains("with one field, `comps` must take a list"),
        "{e}"
    );
    let e = err(&[&format!(
        "{head}  - name: x\n    fields: [proc.nam]\n    values: [[a]]\n"
    )]);
    assert!(e.contains("unknown field `proc.nam`"), "{e}");
    let e = err(&[&format!(
        "{head}  - name: x\n    fields: [proc.name]\n    comps: [like]\n    values: [[a]]\n"
    )]);
    assert!(e.contains("unknown comparison `like`"), "{e}");
}

#[test]
fn modifiers_transformers_regex_pmatch_in_conditions() {
    let r = r#"
- rule: M
  desc: d
  condition: >
    evt.type = execve and proc.name startswith oneof (kube-, etcd-)
    and tolower(proc.name) = val(proc.pname) and fd.name pmatch (/etc, /var/run)
    and proc.cmdline regex "^curl .*"
  output: o
  priority: debug
"#;
    let l = ok(&[r]);
    let s = show(&rule(&l, "M").condition);
    assert!(
        s.contains("proc.name startswith oneof (kube-, etcd-)"),
        "{s}"
    );
    assert!(s.contains("proc.name = val(proc.pname)"), "{s}");
    assert!(s.contains("fd.name pmatch (/etc, /var/run)"), "{s}");
    let Expr::And(v) = &rule(&l, "M").condition else {
        panic!()
    };
    assert!(matches!(&v[4], Expr::Compare(c) if c.op == CmpOp::Regex));
}

#[test]
fn malformed_yaml_points_at_the_line() {
    let e = err(&["- rule: R\n  desc: [unclosed\n  condition: x\n"]);
    assert!(e.starts_with("error: malformed YAML"), "{e}");
    assert!(e.contains("--> f0.yaml:"), "{e}");
    let e = err(&["rule: R\n"]);
    assert!(e.contains("must be a YAML list of items"), "{e}");
    let e = err(&["- rule: R\n  rule: S\n"]);
    assert!(e.contains("duplicate key `rule`"), "{e}");
    assert!(e.contains("f0.yaml:2:3"), "{e}");
    let l = ok(&["- bogus: 1\n"]);
    assert!(
        l.warnings
            .to_string()
            .contains("unknown item `bogus` (ignored)"),
        "{}",
        l.warnings
    );
    let e = err(&[
        "- rule: R\n  desc: d\n  condition: evt.type = open\n  output: o\n  priority: loud\n",
    ]);
    assert!(e.contains("unknown priority `loud`"), "{e}");
    assert!(e.contains("f0.yaml:5:13"), "{e}");
    let e = err(&["- rule: R\n  desc: d\n  condition: evt.type = open\n  priority: info\n"]);
    assert!(e.contains("rule `R` is missing `output`"), "{e}");
    let l = ok(&[BASE, "- rule: Shell\n  enabled: no\n"]);
    assert!(!rule(&l, "Shell").enabled);
    let e = err(&["- rule: R\n  enabled: maybe\n"]);
    assert!(e.contains("`enabled` must be true or false"), "{e}");
    // Empty files and comment-only files are valid.
    assert!(ok(&["", "# nothing\n"]).rules.is_empty());
}

#[test]
fn unknown_fields_in_conditions_and_outputs() {
    let e = err(&["- rule: R\n  desc: d\n  condition: evt.type = open and proc.nme = x\n  output: o\n  priority: info\n"]);
    assert!(e.contains("unknown field `proc.nme`"), "{e}");
    assert!(e.contains("f0.yaml:3:34"), "{e}");
    assert!(e.contains("^^^^^^^^"), "{e}");
    assert!(e.contains("in rule `R`"), "{e}");
    let e = err(&["- rule: R\n  desc: d\n  condition: evt.type = open\n  output: file %fd.nam\n  priority: info\n"]);
    assert!(e.contains("in output: unknown field `fd.nam`"), "{e}");
    assert!(e.contains("f0.yaml:4:17"), "{e}");
    // skip-if-unknown-filter turns the error into a warning and drops the rule.
    let l = ok(&["- rule: R\n  desc: d\n  condition: evt.type = open and proc.nme = x\n  output: o\n  priority: info\n  skip-if-unknown-filter: true\n"]);
    assert!(l.rules.is_empty());
    assert!(
        l.warnings.to_string().contains("rule skipped"),
        "{}",
        l.warnings
    );
}

#[test]
fn errors_inside_multiline_conditions_point_at_the_token() {
    let src = "- macro: m\n  condition: >\n    evt.type = open\n    and (proc.name = a or\n         undefined_thing)\n- rule: R\n  desc: d\n  condition: m\n  output: o\n  priority: info\n";
    let e = err(&[src]);
    assert!(e.contains("undefined macro `undefined_thing`"), "{e}");
    assert!(e.contains("f0.yaml:5:10"), "{e}");
    assert!(e.contains("in macro `m`"), "{e}");
    let e = err(&["- rule: R\n  desc: d\n  condition: evt.type = open and (proc.name = a\n  output: o\n  priority: info\n"]);
    assert!(e.contains("syntax error in condition: expected `)`"), "{e}");
}

#[test]
fn macro_recursion_is_an_error() {
    let src = "- macro: a\n  condition: b and evt.type = open\n- macro: b\n  condition: proc.name = x or a\n- rule: R\n  desc: d\n  condition: a\n  output: o\n  priority: info\n";
    let e = err(&[src]);
    assert!(e.contains("macro `a` refers to itself: a → b → a"), "{e}");
    assert!(e.contains("f0.yaml:4:31"), "{e}");
    let e = err(&["- macro: s\n  condition: s\n- rule: R\n  desc: d\n  condition: s\n  output: o\n  priority: info\n"]);
    assert!(e.contains("macro `s` refers to itself"), "{e}");
}

#[test]
fn list_recursion_and_huge_lists() {
    let src = "- list: a\n  items: [b]\n- list: b\n  items: [a]\n- rule: R\n  desc: d\n  condition: evt.type = open and proc.name in (a)\n  output: o\n  priority: info\n";
    let e = err(&[src]);
    assert!(e.contains("refers to itself"), "{e}");
    let items: Vec<String> = (0..100_001).map(|i| format!("p{i}")).collect();
    let src = format!(
        "- list: big\n  items: [{}]\n- rule: R\n  desc: d\n  condition: evt.type = open and proc.name in (big)\n  output: o\n  priority: info\n",
        items.join(", ")
    );
    let e = err(&[&src]);
    assert!(
        e.contains("list `big` expands to more than 100000 items"),
        "{e}"
    );
}

#[test]
fn exponential_macro_growth_is_bounded() {
    let mut src =
        String::from("- macro: m0\n  condition: (proc.name in (a, b, c, d, e, f, g, h))\n");
    for i in 1..40 {
        src.push_str(&format!(
            "- macro: m{i}\n  condition: (m{} or m{})\n",
            i - 1,
            i - 1
        ));
    }
    src.push_str("- rule: R\n  desc: d\n  condition: evt.type = open and m39\n  output: o\n  priority: info\n");
    let e = err(&[&src]);
    assert!(e.contains("grows past 1000000 nodes"), "{e}");
}

#[test]
fn deep_nesting_is_an_error() {
    let cond = format!("{}evt.type = open{}", "(".repeat(500), ")".repeat(500));
    let e = err(&[&format!(
        "- rule: R\n  desc: d\n  condition: {cond}\n  output: o\n  priority: info\n"
    )]);
    assert!(e.contains("nests deeper than 100 levels"), "{e}");
}

#[test]
fn invalid_regex_is_an_error() {
    let e = err(&["- rule: R\n  desc: d\n  condition: evt.type = open and proc.name regex \"a(b\"\n  output: o\n  priority: info\n"]);
    assert!(e.contains("invalid regex `a(b`"), "{e}");
    assert!(e.contains("f0.yaml:3:50"), "{e}");
}

#[test]
fn warnings() {
    let src = r#"
- list: unused_list
  items: [a]
- macro: unused_macro
  condition: proc.name = x
- rule: Everything
  desc: d
  condition: proc.name = bash and evt.dir = <
  output: o
  priority: info
  weird_key: 1
- rule: Quiet
  desc: d
  condition: proc.name = bash
  output: o
  priority: info
  warn_evttypes: false
- rule: Unknown type
  desc: d
  condition: evt.type in (open, sendfile)
  output: o
  priority: info
"#;
    let l = ok(&[src]);
    let w = l.warnings.to_string();
    assert!(w.contains("list `unused_list` is never used"), "{w}");
    assert!(w.contains("macro `unused_macro` is never used"), "{w}");
    assert!(w.contains("unknown key `weird_key`"), "{w}");
    assert!(
        w.contains("rule `Everything` matches every event type"),
        "{w}"
    );
    assert!(!w.contains("rule `Quiet` matches every event type"), "{w}");
    assert!(w.contains("`evt.dir` is deprecated"), "{w}");
    assert_eq!(l.rules.len(), 3);
}

#[test]
fn versions_and_plugins() {
    ok(&["- required_engine_version: 0.57.0\n- required_engine_version: 15\n"]);
    let e = err(&["- required_engine_version: 9.0.0\n"]);
    assert!(
        e.contains("need engine version 9.0.0, kestrel implements 0.62.0"),
        "{e}"
    );
    ok(&["- required_plugin_versions:\n  - name: container\n    version: 0.4.0\n  - name: k8saudit-eks\n    version: 0.1.0\n    alternatives:\n      - name: k8saudit\n        version: 0.18.0\n"]);
    let e = err(&["- required_plugin_versions:\n  - name: cloudtrail\n    version: 0.1.0\n"]);
    assert!(
        e.contains("plugin `cloudtrail` (0.1.0), which kestrel does not provide"),
        "{e}"
    );
    let e = err(&["- required_plugin_versions:\n  - name: container\n    version: 9.0.0\n"]);
    assert!(
        e.contains("needs plugin `container` version 9.0.0, kestrel provides version 0.7.1")
            || e.contains("need plugin `container` version 9.0.0"),
        "{e}"
    );
}

#[test]
fn sources() {
    let l = ok(&["- rule: K\n  desc: d\n  condition: ka.verb = create and jevt.value[/stage] = x\n  output: \"%ka.user.name\"\n  priority: info\n  source: k8s_audit\n"]);
    assert_eq!(rule(&l, "K").source, "k8s_audit");
    let e = err(&[
        "- rule: K\n  desc: d\n  condition: ka.verb = create\n  output: o\n  priority: info\n",
    ]);
    assert!(e.contains("belongs to the k8s_audit source"), "{e}");
    let l = ok(&["- rule: K\n  desc: d\n  condition: x.y = 1\n  output: o\n  priority: info\n  source: aws_cloudtrail\n"]);
    assert!(l.rules.is_empty());
    assert!(
        l.warnings
            .to_string()
            .contains("unknown source `aws_cloudtrail`"),
        "{}",
        l.warnings
    );
    let l = ok(&["- macro: my-macro\n  condition: proc.name = x\n"]);
    assert!(
        l.warnings
            .to_string()
            .contains("macro name `my-macro` cannot appear in a condition"),
        "{}",
        l.warnings
    );
}

#[test]
fn directories_load_sorted() {
    let dir = std::env::temp_dir().join(format!("kestrel-eval-loader-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("10-base.yaml"), BASE).unwrap();
    std::fs::write(
        dir.join("20-local.yml"),
        "- rule: Shell\n  enabled: false\n",
    )
    .unwrap();
    std::fs::write(dir.join("README.md"), "not rules").unwrap();
    let l = loader::load_paths(std::slice::from_ref(&dir), &AnyField).unwrap();
    assert!(!rule(&l, "Shell").enabled);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn override_exceptions_append_and_replace() {
    let base = r#"
- rule: E
  desc: d
  condition: evt.type = open
  output: o
  priority: info
  exceptions:
    - name: procs
      fields: proc.name
      values: [a]
"#;
    let append = "- rule: E\n  exceptions:\n    - name: procs\n      values: [b]\n    - name: files\n      fields: [fd.name]\n      values: [[/x]]\n  override:\n    exceptions: append\n";
    let l = ok(&[base, append]);
    assert_eq!(
        show(&rule(&l, "E").condition),
        "(evt.type = open and not (proc.name in (a, b) or fd.name = /x))"
    );
    let replace = "- rule: E\n  exceptions:\n    - name: only\n      fields: proc.name\n      comps: pmatch\n      values: [/tmp]\n  override:\n    exceptions: replace\n";
    let l = ok(&[base, replace]);
    assert_eq!(
        show(&rule(&l, "E").condition),
        "(evt.type = open and not proc.name pmatch (/tmp))"
    );
    let e = err(&[base, "- rule: E\n  exceptions:\n    - name: nofields\n      values: [x]\n  override:\n    exceptions: append\n"]);
    assert!(e.contains("adds values to no exception"), "{e}");
}
