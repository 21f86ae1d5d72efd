//! Embeds the project's default rules (`rules/*.yaml` at the repository
//! root) into the binary, in name order, so that `evaluate` without `-r`
//! runs kestrel's ruleset. It is not a place for checking the rules: the
//! loader does that at run time and `evaluate validate` in CI.

use std::fmt::Write as _;
use std::path::PathBuf;

fn main() {
    let manifest =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let rules = manifest.join("../../rules");
    println!("cargo:rerun-if-changed={}", rules.display());
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&rules) {
        Ok(rd) => rd
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.is_file()
                    && matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
            })
            .collect(),
        // No rules directory: an empty built-in ruleset.
        Err(_) => Vec::new(),
    };
    files.sort();
    let mut out = String::from("/// Built-in rule files: (file name, text), in load order.\npub static BUILTIN_RULES: &[(&str, &str)] = &[\n");
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
        let name = f
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("rules.yaml");
        let path = f.canonicalize().unwrap_or_else(|_| f.clone());
        writeln!(
            out,
            "    ({name:?}, include_str!({:?})),",
            path.display().to_string()
        )
        .expect("writing to a String");
    }
    out.push_str("];\n");
    let dest = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join("builtin_rules.rs");
    std::fs::write(&dest, out).expect("cannot write builtin_rules.rs");
}
