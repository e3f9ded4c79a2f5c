//! Project tasks: `cargo xtask --help`.

mod bench;
// The same lint build.rs runs; it lives beside the spec so the published crate has it.
#[path = "../../openapi/lint.rs"]
mod lint;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const HELP: &str = "\
cargo xtask <task>

Tasks:
  codegen          Regenerate the client from openapi/webhooks.yaml: rebuild,
                   accept the new snapshot of the generated code, and print what
                   changed in the generated API.
  codegen --check  Fail if the committed snapshot is stale, and lint the spec
                   (OpenAPI 3.0.x, an operationId per operation, one error schema
                   per operation, every limit of the seed present).
  bench            Run the benchmarks (criterion micro and end-to-end, the
                   interleaved client/raw ratios, the stand-in under load) and
                   print one table with the machine it ran on.
  bench --model    Count, with valgrind's cachegrind, what one create costs
                   (instructions, cache misses, branch mispredictions) for
                   raw, raw + decode and ours under 32 tasks: deterministic
                   where timings on a shared machine are not. Needs valgrind.
  help, --help     This text.
";

const SPEC: &str = "openapi/webhooks.yaml";
const SNAPSHOT: &str = "tests/snapshots/codegen__sinch_api.snap";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["codegen"] => codegen(),
        ["codegen", "--check"] => codegen_check(),
        ["bench"] => bench::run(&root()),
        ["bench", "--model"] => bench::model(&root()),
        [] | ["help"] | ["--help"] | ["-h"] => {
            print!("{HELP}");
            return ExitCode::SUCCESS;
        }
        other => Err(format!("unknown task {:?}\n\n{HELP}", other.join(" "))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn root() -> PathBuf {
    // xtask/ is one level below the workspace root.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn lint_spec() -> Result<(), String> {
    let path = root().join(SPEC);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{SPEC}: {e}"))?;
    let spec: serde_json::Value =
        serde_norway::from_str(&text).map_err(|e| format!("{SPEC}: invalid YAML: {e}"))?;
    let mut problems = lint::generation_problems(&spec);
    problems.extend(lint::contract_problems(&spec));
    if problems.is_empty() {
        println!("spec lint: {SPEC} ok");
        Ok(())
    } else {
        Err(format!(
            "{SPEC} has {} problem(s):\n  - {}",
            problems.len(),
            problems.join("\n  - ")
        ))
    }
}

fn cargo_test_codegen(envs: &[(&str, &str)]) -> Result<bool, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root()).args([
        "test",
        "--quiet",
        "--package",
        "sinch-conversation",
        "--test",
        "codegen",
    ]);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let status = cmd.status().map_err(|e| format!("cannot run cargo: {e}"))?;
    Ok(status.success())
}

fn codegen() -> Result<(), String> {
    lint_spec()?;
    let snapshot = root().join(SNAPSHOT);
    let before = std::fs::read_to_string(&snapshot).unwrap_or_default();
    // INSTA_UPDATE=always writes the .snap itself; FORCE_PASS keeps the test
    // green while it does.
    if !cargo_test_codegen(&[("INSTA_UPDATE", "always"), ("INSTA_FORCE_PASS", "1")])? {
        return Err("building or running the codegen test failed (see above)".to_owned());
    }
    let _ = std::fs::remove_file(snapshot.with_extension("snap.new"));
    let after = std::fs::read_to_string(&snapshot).map_err(|e| format!("{SNAPSHOT}: {e}"))?;
    println!("{}", summarize(&before, &after));
    if before != after {
        println!("Review the diff: git diff -- {SNAPSHOT}");
    }
    Ok(())
}

fn codegen_check() -> Result<(), String> {
    lint_spec()?;
    if cargo_test_codegen(&[("INSTA_UPDATE", "no"), ("CI", "true")])? {
        println!("codegen: {SNAPSHOT} is up to date");
        Ok(())
    } else {
        Err(format!(
            "the generated code differs from {SNAPSHOT} (or the spec does not build).\n\
             Run `cargo xtask codegen`, review `git diff -- {SNAPSHOT}`, and commit it."
        ))
    }
}

/// The public shape of the generated code: types, enum variants, operations.
#[derive(Default)]
struct Api {
    types: BTreeSet<String>,
    variants: BTreeSet<String>,
    operations: BTreeSet<String>,
}

fn api_of(code: &str) -> Api {
    let mut api = Api::default();
    let mut current_enum: Option<(String, usize)> = None;
    for line in code.lines() {
        let indent = line.len() - line.trim_start().len();
        let text = line.trim();
        if let Some((name, enum_indent)) = &current_enum {
            if text == "}" && indent == *enum_indent {
                current_enum = None;
            } else if indent > *enum_indent && !text.starts_with('#') && !text.starts_with("//") {
                let variant: String = text
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if variant.starts_with(|c: char| c.is_ascii_uppercase()) {
                    api.variants.insert(format!("{name}::{variant}"));
                }
            }
            continue;
        }
        for (keyword, is_enum) in [("pub struct ", false), ("pub enum ", true)] {
            if let Some(rest) = text.strip_prefix(keyword) {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if is_enum {
                    current_enum = Some((name.clone(), indent));
                }
                api.types.insert(name);
            }
        }
        // One method per operation on the generated `Client` (positional
        // interface: `pub async fn create_webhook<'a>(`).
        if let Some(rest) = text.strip_prefix("pub async fn ") {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            api.operations.insert(name);
        }
    }
    api
}

fn summarize(before: &str, after: &str) -> String {
    if before == after {
        return "codegen: no change to the generated code".to_owned();
    }
    if before.is_empty() {
        return "codegen: snapshot created".to_owned();
    }
    let (old, new) = (api_of(before), api_of(after));
    let mut lines = Vec::new();
    for (what, old, new) in [
        ("type", &old.types, &new.types),
        ("enum variant", &old.variants, &new.variants),
        ("operation", &old.operations, &new.operations),
    ] {
        for added in new.difference(old) {
            lines.push(format!("  + {what} {added}"));
        }
        for removed in old.difference(new) {
            lines.push(format!("  - {what} {removed}"));
        }
    }
    if lines.is_empty() {
        "codegen: generated code changed (docs, derives or bodies); no type, variant or operation added or removed".to_owned()
    } else {
        format!("codegen: generated API changed:\n{}", lines.join("\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: &str = "pub mod types {\n    pub struct A {\n    }\n    pub enum T {\n        ///`X`\n        X,\n        Unknown(String),\n    }\n}\nimpl Client {\n    pub async fn create_webhook<'a>(\n        &'a self,\n    ) -> Result<(), ()> {\n    }\n}\n";

    #[test]
    fn summary_names_added_variant_and_removed_type() {
        let new = OLD
            .replace("        X,\n", "        X,\n        Y,\n")
            .replace("    pub struct A {\n    }\n", "");
        let summary = summarize(OLD, &new);
        assert!(summary.contains("+ enum variant T::Y"), "{summary}");
        assert!(summary.contains("- type A"), "{summary}");
        assert!(!summary.contains("operation"), "{summary}");
    }

    #[test]
    fn summary_of_identical_code() {
        assert_eq!(
            summarize(OLD, OLD),
            "codegen: no change to the generated code"
        );
    }

    #[test]
    fn operations_are_found() {
        assert!(api_of(OLD).operations.contains("create_webhook"));
    }
}
