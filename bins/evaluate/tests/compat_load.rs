//! The compatibility corpus (`tests/compat/`, vendored in the repository)
//! loads: Falco's default
//! ruleset with zero errors and every rule kept, and the Kubernetes audit
//! ruleset parses with its `ka.*`/`jevt.*` fields attributed to the
//! `k8s_audit` source.

use std::path::PathBuf;

use evaluate::check::catalog::Registry;
use evaluate::loader;

fn compat(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/compat")
        .join(name)
}

#[test]
fn falco_rules_load_with_zero_errors() {
    let path = compat("falco_rules.yaml");
    assert!(path.exists(), "compat corpus missing at {}", path.display());
    let loaded = match loader::load_paths(&[path], &Registry) {
        Ok(l) => l,
        Err(d) => panic!("falco_rules.yaml failed to load:\n{d}"),
    };
    assert_eq!(
        loaded.rules.len(),
        25,
        "{:#?}",
        loaded.rules.iter().map(|r| &r.name).collect::<Vec<_>>()
    );
    assert_eq!(loaded.macros.len(), 87);
    assert_eq!(loaded.lists.len(), 49);
    eprintln!("{}", loaded.warnings);
}

#[test]
fn k8s_audit_rules_parse() {
    let path = compat("k8s_audit_rules.yaml");
    let loaded = match loader::load_paths(&[path], &Registry) {
        Ok(l) => l,
        Err(d) => panic!("k8s_audit_rules.yaml failed to load:\n{d}"),
    };
    assert_eq!(loaded.rules.len(), 48);
    assert!(loaded.rules.iter().all(|r| r.source == "k8s_audit"));
}

#[test]
fn k8s_audit_fields_belong_to_their_source() {
    use evaluate::loader::source::SourceFile;
    let rule = "- rule: R\n  desc: d\n  condition: ka.verb = create and jevt.value[/stage] exists\n  output: \"%ka.user.name\"\n  priority: info\n";
    // As a syscall rule (the default source), the fields are refused…
    let err = loader::load_texts(vec![SourceFile::new("s.yaml", rule)], &Registry)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`ka.verb`") && err.contains("k8s_audit"),
        "{err}"
    );
    // …and accepted for the k8s_audit source.
    let k8s = format!("{rule}  source: k8s_audit\n");
    let loaded = loader::load_texts(vec![SourceFile::new("k.yaml", k8s)], &Registry).unwrap();
    assert_eq!(loaded.rules[0].source, "k8s_audit");
    // Syscall fields are refused in k8s_audit rules.
    let bad = "- rule: R\n  desc: d\n  condition: proc.name = x\n  output: o\n  priority: info\n  source: k8s_audit\n";
    let err = loader::load_texts(vec![SourceFile::new("b.yaml", bad)], &Registry)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("belongs to the syscall source, not k8s_audit"),
        "{err}"
    );
}
