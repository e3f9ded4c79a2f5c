//! `cargo xtask bench`: runs the benchmarks and prints one table.
use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
}

/// Runs a `harness = false` bench that prints one JSON line; returns it.
fn json_bench(root: &Path, name: &str) -> Result<Value, String> {
    let output = cargo()
        .current_dir(root)
        .args([
            "bench",
            "--quiet",
            "--package",
            "sinch-conversation",
            "--bench",
            name,
        ])
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "cargo bench --bench {name} failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout
        .lines()
        .rev()
        .find_map(|line| serde_json::from_str(line).ok())
        .ok_or_else(|| format!("bench {name} printed no JSON line:\n{stdout}"))
}

/// Criterion's median for `group/function`, in nanoseconds.
fn criterion_median(root: &Path, id: &str) -> Option<f64> {
    let path = root
        .join("target/criterion")
        .join(id)
        .join("new/estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let json: Value = serde_json::from_str(&text).ok()?;
    json.pointer("/median/point_estimate")?.as_f64()
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let rustc = Command::new("rustc")
        .arg("-V")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    format!("{cpu}, {cores} cores, {rustc}")
}

fn us(ns: f64) -> String {
    if ns < 10_000.0 {
        format!("{:.2} µs", ns / 1000.0)
    } else {
        format!("{:.1} µs", ns / 1000.0)
    }
}

pub fn run(root: &Path) -> Result<(), String> {
    eprintln!("bench: criterion micro and end-to-end benchmarks (about a minute)…");
    // Criterion's own report goes to stderr; stdout is the table.
    let status = cargo()
        .current_dir(root)
        .args([
            "bench",
            "--quiet",
            "--package",
            "sinch-conversation",
            "--bench",
            "client",
        ])
        .stdout(std::io::stderr())
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err("cargo bench --bench client failed".to_owned());
    }
    eprintln!("bench: interleaved end-to-end ratios…");
    let ratio = json_bench(root, "e2e_ratio")?;
    eprintln!("bench: the stand-in under load (100 000 creates)…");
    let load = json_bench(root, "stand_in_memory")?;

    let mut out = String::new();
    out.push_str(&format!("Machine: {}\n\n", machine()));
    out.push_str("| benchmark | median | note |\n|---|---|---|\n");
    let micro = [
        (
            "request/build_validate_serialize",
            "builder + validation + JSON, all fields set",
        ),
        ("decode/known_values", "decode a create answer"),
        (
            "decode/unknown_values",
            "the same with unknown enum values and fields",
        ),
    ];
    for (id, note) in micro {
        if let Some(ns) = criterion_median(root, id) {
            out.push_str(&format!("| `{id}` | {} | {note} |\n", us(ns)));
        }
    }
    for mode in ["sequential", "concurrent_32"] {
        for (name, note) in [
            (
                "raw_reqwest",
                "the floor: same bytes, same pool, answer read as bytes",
            ),
            (
                "raw_reqwest_typed",
                "raw, plus decoding the answer into `Webhook`",
            ),
            ("ours_basic", "`create_webhook(..).send()`, Basic"),
            ("ours_oauth2_cached", "the same, OAuth2 with a cached token"),
        ] {
            let v = &ratio[mode][name];
            if let (Some(median), Some(r)) = (v["median_us"].as_f64(), v["ratio_to_raw"].as_f64()) {
                out.push_str(&format!(
                    "| e2e {mode} `{name}` | {median:.1} µs | ×{r:.3} of raw; {note} |\n"
                ));
            }
        }
    }
    out.push_str(&format!(
        "| stand-in throughput | {} creates/s | 32 concurrent clients, {} creates |\n",
        load["creates_per_sec"].as_f64().unwrap_or(0.0).round(),
        load["creates"]
    ));
    out.push_str(&format!(
        "| stand-in memory (RSS) | {} / {} / {} KiB | after 10k / 50k / 100k creates ({} apps kept) |\n",
        load["rss_kib_after_10k"], load["rss_kib_after_50k"], load["rss_kib_after_100k"], load["apps_kept"]
    ));

    // The targets.
    out.push('\n');
    let raw_seq = ratio["sequential"]["raw_reqwest"]["median_us"]
        .as_f64()
        .unwrap_or(0.0)
        * 1000.0;
    if let Some(build) = criterion_median(root, "request/build_validate_serialize")
        && raw_seq > 0.0
    {
        let share = build / raw_seq * 100.0;
        let verdict = if share < 5.0 { "met" } else { "missed" };
        out.push_str(&format!(
            "- validation + serialisation: {share:.1}% of one loopback round trip (target < 5%: {verdict})\n"
        ));
    }
    for mode in ["sequential", "concurrent_32"] {
        for base in ["raw_reqwest", "raw_reqwest_typed"] {
            let b = ratio[mode][base]["median_us"].as_f64().unwrap_or(0.0);
            let o = ratio[mode]["ours_basic"]["median_us"]
                .as_f64()
                .unwrap_or(0.0);
            if b > 0.0 {
                let r = o / b;
                let verdict = if r <= 1.10 { "met" } else { "missed" };
                out.push_str(&format!(
                    "- {mode}: ours / {base} = {r:.3} (target ≤ 1.10: {verdict})\n"
                ));
            }
        }
    }
    print!("{out}");
    Ok(())
}
