//! Project tasks: `cargo xtask --help`.

mod bench;
mod spec_diff;
// The same lint build.rs runs; it lives beside the spec so the published crate has it.
#[path = "../../openapi/lint.rs"]
mod lint;

use std::collections::{BTreeMap, BTreeSet};
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
  bench --model    Count, with valgrind's cachegrind, what one create and one
                   get cost (instructions, cache misses, branch mispredictions)
                   for raw, raw + decode and ours under 32 tasks: deterministic
                   where timings on a shared machine are not. Needs valgrind.
  spec-diff FILE   Compare openapi/webhooks.yaml with a Sinch OpenAPI document
                   (YAML or JSON): per callback event and per webhook operation,
                   the property paths and enum values one has and the other
                   lacks, and required fields that differ. Exit 1 when ours
                   lacks something.
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
        ["spec-diff", file] => return spec_diff_task(file),
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

/// Reads a YAML (or JSON) OpenAPI document.
fn read_document(path: &Path) -> Result<serde_json::Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_norway::from_str(&text).map_err(|e| format!("{}: not YAML or JSON: {e}", path.display()))
}

fn spec_diff_task(file: &str) -> ExitCode {
    let documents = read_document(&root().join(SPEC))
        .and_then(|ours| read_document(Path::new(file)).map(|theirs| (ours, theirs)));
    let (ours, theirs) = match documents {
        Ok(documents) => documents,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    let keys = spec_diff::trigger_keys(&ours);
    let theirs_surface = spec_diff::surface(&theirs, &keys);
    if theirs_surface.is_empty() {
        eprintln!(
            "error: {file}: no callback events (ConversationWebhookEvent) and no webhook operations found"
        );
        return ExitCode::from(2);
    }
    let diff = spec_diff::compare(&spec_diff::surface(&ours, &keys), &theirs_surface);
    print!("{}", spec_diff::report(&diff, "theirs"));
    let totals = spec_diff::totals(&diff);
    if totals.paths_lacking + totals.values_lacking > 0 {
        eprintln!(
            "{SPEC} lacks {} property paths and {} enum values of {file}: add them, then `cargo xtask codegen`",
            totals.paths_lacking, totals.values_lacking
        );
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
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

/// The public shape of the generated code: types, enum variants, and
/// operations with their signatures (parameters and return type).
#[derive(Default)]
struct Api {
    types: BTreeSet<String>,
    variants: BTreeSet<String>,
    operations: BTreeMap<String, String>,
}

fn api_of(code: &str) -> Api {
    let mut api = Api::default();
    let mut current_enum: Option<(String, usize)> = None;
    // An operation whose signature is still being read: (name, text so far).
    let mut signature: Option<(String, String)> = None;
    for line in code.lines() {
        let indent = line.len() - line.trim_start().len();
        let text = line.trim();
        if let Some((name, sig)) = &mut signature {
            // The signature ends where the body starts.
            let (part, done) = match text.strip_suffix('{') {
                Some(part) => (part, true),
                None => (text, false),
            };
            sig.push(' ');
            sig.push_str(part.trim());
            if done {
                api.operations
                    .insert(name.clone(), normalize_signature(sig));
                signature = None;
            }
            continue;
        }
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
        // interface: `pub async fn create_webhook<'a>(`), its signature
        // running until the `{` of its body.
        if let Some(rest) = text.strip_prefix("pub async fn ") {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            match rest.strip_suffix('{') {
                Some(whole) => {
                    api.operations.insert(name, normalize_signature(whole));
                }
                None => signature = Some((name, rest.to_owned())),
            }
        }
    }
    api
}

/// One line, single spaces, no space inside brackets or before commas:
/// `create_webhook<'a>(&'a self, project_id: &'a str) -> Result<..>`.
fn normalize_signature(text: &str) -> String {
    let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out = joined
        .replace("( ", "(")
        .replace(" )", ")")
        .replace("< ", "<")
        .replace(" >", ">")
        .replace(" ,", ",");
    while out.ends_with(',') || out.ends_with(' ') {
        out.pop();
    }
    out.replace(",)", ")").replace(",>", ">")
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
    ] {
        for added in new.difference(old) {
            lines.push(format!("  + {what} {added}"));
        }
        for removed in old.difference(new) {
            lines.push(format!("  - {what} {removed}"));
        }
    }
    for (name, signature) in &new.operations {
        match old.operations.get(name) {
            None => lines.push(format!("  + operation {signature}")),
            Some(previous) if previous != signature => lines.push(format!(
                "  ~ operation {name}: signature or return type changed\n      was: {previous}\n      now: {signature}"
            )),
            Some(_) => {}
        }
    }
    for (name, signature) in &old.operations {
        if !new.operations.contains_key(name) {
            lines.push(format!("  - operation {signature}"));
        }
    }
    if lines.is_empty() {
        "codegen: generated code changed (docs, derives or bodies); no type, variant, operation or signature added, removed or changed".to_owned()
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
    fn operations_are_found_with_their_signatures() {
        assert_eq!(
            api_of(OLD)
                .operations
                .get("create_webhook")
                .map(String::as_str),
            Some("create_webhook<'a>(&'a self) -> Result<(), ()>")
        );
    }

    #[test]
    fn summary_reports_added_operations_and_changed_signatures() {
        let added = OLD.replace(
            "impl Client {\n",
            "impl Client {\n    pub async fn get_webhook<'a>(\n        &'a self,\n        id: &'a str,\n    ) -> Result<Webhook, ()> {\n    }\n",
        );
        let summary = summarize(OLD, &added);
        assert!(
            summary.contains(
                "+ operation get_webhook<'a>(&'a self, id: &'a str) -> Result<Webhook, ()>"
            ),
            "{summary}"
        );
        let changed = OLD.replace("-> Result<(), ()>", "-> Result<u8, ()>");
        let summary = summarize(OLD, &changed);
        assert!(
            summary.contains("~ operation create_webhook: signature or return type changed"),
            "{summary}"
        );
        assert!(
            summary.contains("now: create_webhook<'a>(&'a self) -> Result<u8, ()>"),
            "{summary}"
        );
        let param = OLD.replace(
            "&'a self,\n",
            "&'a self,\n        mask: Option<&'a Vec<String>>,\n",
        );
        assert!(summarize(OLD, &param).contains("~ operation create_webhook"));
        assert!(summarize(&added, OLD).contains("- operation get_webhook"));
    }

    #[test]
    fn lint_refuses_every_shape_that_makes_progenitor_panic() {
        let base = |op: &str| -> serde_json::Value {
            let yaml = format!(
                "openapi: 3.0.3\ninfo: {{title: t, version: '1'}}\npaths:\n  /v1/{{id}}:\n{op}"
            );
            serde_norway::from_str(&yaml).unwrap()
        };
        let ok = "    get:\n      operationId: a\n      parameters:\n        - {name: id, in: path, required: true, schema: {type: string}}\n      responses:\n        '200': {description: ok}\n";
        assert_eq!(lint::generation_problems(&base(ok)), Vec::<String>::new());
        let cases = [
            // a success with a body and another without
            (ok.replace("'200': {description: ok}", "'200': {description: ok, content: {application/json: {schema: {type: object}}}}\n        '204': {description: none}"), "success responses with 2 different schemas"),
            (ok.replace("required: true", "required: false"), "must have `required: true`"),
            (ok.replace("name: id", "name: other"), "does not appear in the path"),
            (ok.replace("'200': {description: ok}", "'200': {description: ok, content: {application/json: {}}}"), "without a schema"),
            (ok.replace("'200': {description: ok}", "'200': {description: ok, content: {application/json: {schema: {type: object}, encoding: {a: {}}}}}"), "`encoding`"),
            (ok.replace("      responses:", "      requestBody: {content: {application/json: {schema: {type: object}}, text/plain: {schema: {type: string}}}}\n      responses:"), "more than one media type"),
            (ok.replace("'200': {description: ok}", "'200': {description: ok}\n        default: {description: d}"), "`default` response"),
            (ok.replace("'200': {description: ok}", "'200': {description: ok}\n        '400': {description: e, content: {application/json: {schema: {type: object}}}}\n        '404': {description: none}"), "error responses with 2 different schemas"),
            (ok.replace("      operationId: a\n", ""), "no operationId"),
        ];
        for (op, expected) in cases {
            let problems = lint::generation_problems(&base(&op));
            assert!(
                problems.iter().any(|p| p.contains(expected)),
                "expected {expected:?} for\n{op}\ngot {problems:?}"
            );
        }
    }

    #[test]
    fn lint_refuses_keyed_unions_build_rs_cannot_generate() {
        let spec = |union: &str| -> serde_json::Value {
            let yaml = format!(
                "openapi: 3.0.3\ninfo: {{title: t, version: '1'}}\npaths: {{}}\ncomponents:\n  schemas:\n    WebhookTrigger: {{type: string, enum: [A_FIRED, B_FIRED]}}\n    P: {{type: object}}\n    U:\n{union}"
            );
            serde_norway::from_str(&yaml).unwrap()
        };
        let ok = "      type: object\n      required: [id]\n      properties:\n        id: {type: string}\n        at: {type: string, format: date-time}\n        a: {$ref: '#/components/schemas/P'}\n        b: {$ref: '#/components/schemas/P'}\n      x-keyed-union: {enum: E, field: kind, triggers: {a: A_FIRED, b: B_FIRED}}\n";
        assert_eq!(lint::generation_problems(&spec(ok)), Vec::<String>::new());
        let keys = ok.replace("triggers: {a: A_FIRED, b: B_FIRED}", "keys: [a, b]");
        assert_eq!(
            lint::generation_problems(&spec(&keys)),
            Vec::<String>::new()
        );
        let optional = keys.replace("keys: [a, b]", "keys: [a, b], optional: true");
        assert_eq!(
            lint::generation_problems(&spec(&optional)),
            Vec::<String>::new()
        );
        let cases = [
            (ok.replace("enum: E, ", ""), "x-keyed-union needs `enum`"),
            (
                ok.replace("triggers: {a: A_FIRED, b: B_FIRED}", "keys: a"),
                "either `triggers`",
            ),
            (
                ok.replace("triggers: {a: A_FIRED, b: B_FIRED}", "keys: []"),
                "lists no keys",
            ),
            (
                keys.replace("keys: [a, b]", "keys: [a, b], optional: yes please"),
                "optional must be true or false",
            ),
            (
                ok.replace("field: kind", "field: kind, optional: true"),
                "optional is for content unions",
            ),
            (
                ok.replace("b: B_FIRED", "b: C_FIRED"),
                "triggers.b must be a value of WebhookTrigger",
            ),
            (
                ok.replace("b: B_FIRED", "b: A_FIRED"),
                "the variant name `AFired`",
            ),
            (
                ok.replace("b: B_FIRED", "c: B_FIRED"),
                "key `c` is not one of its properties",
            ),
            (
                ok.replace("b: {$ref: '#/components/schemas/P'}", "b: {type: object}"),
                "b: an identifying key's property must be a $ref",
            ),
            (
                ok.replace("required: [id]", "required: [a]"),
                "a: an identifying key cannot be `required`",
            ),
            (
                ok.replace("field: kind", "field: id"),
                "field `id` is also a property name",
            ),
            (
                ok.replace("id: {type: string}", "id: {type: integer}"),
                "id: a keyed union's other properties",
            ),
            (
                ok.replace("id: {type: string}", "id: {type: string, enum: [X]}"),
                "id: a keyed union's other properties",
            ),
            (
                ok.replace(
                    "id: {type: string}",
                    "id: {$ref: '#/components/schemas/Nope'}",
                ),
                "id: a keyed union's other properties",
            ),
        ];
        for (union, expected) in cases {
            let problems = lint::generation_problems(&spec(&union));
            assert!(
                problems.iter().any(|p| p.contains(expected)),
                "expected {expected:?} for\n{union}\ngot {problems:?}"
            );
        }
    }

    #[test]
    fn lint_refuses_schemas_that_would_fail_on_what_sinch_adds() {
        let spec = |schemas: &str| -> serde_json::Value {
            let yaml = format!(
                "openapi: 3.0.3\ninfo: {{title: t, version: '1'}}\npaths: {{}}\ncomponents:\n  schemas:\n{schemas}"
            );
            serde_norway::from_str(&yaml).unwrap()
        };
        let open = "    Status: {type: string, enum: [A, B]}\n    Report: {type: object, properties: {status: {$ref: '#/components/schemas/Status'}}}\n";
        assert_eq!(lint::generation_problems(&spec(open)), Vec::<String>::new());
        let cases = [
            (
                "    Report: {type: object, properties: {status: {type: string, enum: [A, B]}}}\n",
                "components.schemas.Report.status: an inline `enum`",
            ),
            (
                "    Report: {type: object, properties: {list: {type: array, items: {type: string, enum: [A]}}}}\n",
                "components.schemas.Report.list.items: an inline `enum`",
            ),
            (
                "    Report: {type: object, additionalProperties: false, properties: {a: {type: string}}}\n",
                "components.schemas.Report: `additionalProperties: false`",
            ),
            (
                "    Status: {type: string, enum: [A_B, A-B]}\n",
                "components.schemas.Status: `A_B` and `A-B` would be the same Rust variant",
            ),
        ];
        for (schemas, expected) in cases {
            let problems = lint::generation_problems(&spec(schemas));
            assert!(
                problems.iter().any(|p| p.contains(expected)),
                "expected {expected:?} for\n{schemas}\ngot {problems:?}"
            );
        }
    }
}
