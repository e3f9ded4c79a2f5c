//! `cargo xtask bench`: runs the benchmarks and prints one table.
use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
}

/// `cargo bench --package sinch-conversation --bench <name> <extra>`, run
/// in the workspace root; its output, or why it failed.
fn cargo_bench(root: &Path, name: &str, extra: &[&str]) -> Result<std::process::Output, String> {
    let output = cargo()
        .current_dir(root)
        .args(["bench", "--package", "sinch-conversation", "--bench", name])
        .args(extra)
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if output.status.success() {
        Ok(output)
    } else {
        Err(format!(
            "cargo bench --bench {name} {} failed:\n{}",
            extra.join(" "),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// Runs a `harness = false` bench that prints one JSON line; returns it.
fn json_bench(root: &Path, name: &str) -> Result<Value, String> {
    let output = cargo_bench(root, name, &["--quiet"])?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout
        .lines()
        .rev()
        .find_map(|line| serde_json::from_str(line).ok())
        .ok_or_else(|| format!("bench {name} printed no JSON line:\n{stdout}"))
}

/// Runs a criterion bench; its report goes to stderr (stdout is the table).
fn criterion_bench(root: &Path, name: &str) -> Result<(), String> {
    let status = cargo()
        .current_dir(root)
        .args([
            "bench",
            "--quiet",
            "--package",
            "sinch-conversation",
            "--bench",
            name,
        ])
        .stdout(std::io::stderr())
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("cargo bench --bench {name} failed"))
    }
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

/// ` (IQR a–b)` from a `[a, b]` pair, or nothing.
fn iqr(pair: &Value) -> String {
    match (pair[0].as_f64(), pair[1].as_f64()) {
        (Some(low), Some(high)) => format!(" (IQR {low:.3}–{high:.3})"),
        _ => String::new(),
    }
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
    criterion_bench(root, "client")?;
    eprintln!("bench: validation on its own…");
    criterion_bench(root, "validate")?;
    eprintln!("bench: callback events (parse, verify + parse)…");
    criterion_bench(root, "events")?;
    eprintln!("bench: interleaved end-to-end ratios…");
    let ratio = json_bench(root, "e2e_ratio")?;
    eprintln!("bench: the stand-in under load (100 000 creates)…");
    let load = json_bench(root, "stand_in_memory")?;
    eprintln!("bench: provisioning 2 000 apps within 800 requests/s…");
    let many = json_bench(root, "provision_many")?;
    eprintln!("bench: receiving callbacks through axum…");
    let receiving = json_bench(root, "receive_ratio")?;
    eprintln!("bench: callbacks per second with claims (memory, and Redis where available)…");
    let claims = json_bench(root, "claims")?;
    eprintln!("bench: the durable inbox (Redis where available)…");
    let inbox = json_bench(root, "inbox")?;

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
        (
            "validate/create_all_fields",
            "validation alone, create with every field set",
        ),
        (
            "validate/create_mixed_case_host",
            "the same, a host the `url` crate must parse",
        ),
        (
            "validate/update_target_and_triggers",
            "validation alone, an update of target and triggers",
        ),
        (
            "event_parse/typed_message_inbound_text",
            "a MESSAGE_INBOUND text callback into `CallbackEvent`",
        ),
        (
            "event_parse/value_message_inbound_text",
            "the same body into `serde_json::Value`",
        ),
        (
            "event_verify/verify",
            "signature check of that callback (HMAC-SHA256, window)",
        ),
        (
            "event_verify/verify_and_parse",
            "`verify_event`: the check, then the typed parse",
        ),
    ];
    for (id, note) in micro {
        if let Some(ns) = criterion_median(root, id) {
            out.push_str(&format!("| `{id}` | {} | {note} |\n", us(ns)));
        }
    }
    for mode in [
        "sequential",
        "concurrent_32",
        "get_sequential",
        "get_concurrent_32",
    ] {
        let call = if mode.starts_with("get") {
            "`get_webhook(id)`, Basic"
        } else {
            "`create_webhook(..).send()`, Basic"
        };
        for (name, note) in [
            (
                "raw_reqwest",
                "the floor: same bytes, same pool, answer read as bytes",
            ),
            (
                "raw_reqwest_typed",
                "raw, plus decoding the answer into `Webhook`",
            ),
            ("ours_basic", call),
            ("ours_oauth2_cached", "the same, OAuth2 with a cached token"),
        ] {
            let v = &ratio[mode][name];
            if let (Some(median), Some(r)) = (v["median_us"].as_f64(), v["ratio_to_raw"].as_f64()) {
                let iqr = iqr(&v["ratio_to_raw_iqr"]);
                out.push_str(&format!(
                    "| e2e {mode} `{name}` | {median:.1} µs | ×{r:.3} of raw{iqr}; {note} |\n"
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

    for (run, note) in [
        (
            "limited_first_run",
            "client limited to 800/s; a list and a create per app",
        ),
        (
            "limited_second_run",
            "the same again: nothing to change, a list per app",
        ),
        (
            "unlimited",
            "no client limit, 2 000 other apps: 429s retried after Retry-After",
        ),
    ] {
        let v = &many[run];
        out.push_str(&format!(
            "| provision 2 000 apps, {run} | {} s | ×{} of the ideal {} s; {} requests, {} answered 429, {} apps failed, RSS {} → {} KiB; {note} |\n",
            v["seconds"], v["ratio_to_ideal"], v["ideal_seconds"], v["requests"], v["answers_429"],
            v["apps_failed"], v["rss_kib_before"], v["rss_kib_after"]
        ));
    }

    for mode in ["sequential", "concurrent_32"] {
        for (name, note) in [
            ("raw", "axum handler: raw body, HMAC checked by hand"),
            (
                "raw_parsed",
                "the same, then the body into a `serde_json::Value`",
            ),
            (
                "ours",
                "`SinchCallback`: verify, parse, idempotency key, in-memory claim",
            ),
        ] {
            let v = &receiving[mode][name];
            if let (Some(median), Some(r), Some(p)) = (
                v["median_us"].as_f64(),
                v["ratio_to_raw"].as_f64(),
                v["ratio_to_raw_parsed"].as_f64(),
            ) {
                out.push_str(&format!(
                    "| receive {mode} `{name}` | {median:.1} µs | ×{r:.3} of raw{}, ×{p:.3} of raw_parsed; {note} |\n",
                    iqr(&v["ratio_to_raw_iqr"])
                ));
            }
        }
    }

    for (store, note) in [
        (
            "verify_only",
            "`SinchCallback` without a store: verify and parse",
        ),
        (
            "memory",
            "with a `MemoryDeduplicator`: claim, then complete",
        ),
        (
            "redis",
            "with a `RedisDeduplicator`: claim (nonce included), then complete",
        ),
    ] {
        let v = &claims["callbacks_per_second"][store];
        match (v["sequential"].as_f64(), v["concurrent_32"].as_f64()) {
            (Some(one), Some(many)) => out.push_str(&format!(
                "| callbacks/s, {store} | {one} / {many} | 1 sender / 32 senders, each a new event, over loopback; {note} |\n"
            )),
            _ => out.push_str(&format!(
                "| callbacks/s, {store} | skipped | {} |\n",
                v["skipped"].as_str().unwrap_or("no result")
            )),
        }
    }

    if let Some(skipped) = inbox["skipped"].as_str() {
        out.push_str(&format!("| inbox | skipped | {skipped} |\n"));
    } else {
        let c = &inbox["concurrent_32"];
        out.push_str(&format!(
            "| inbox endpoint, 32 senders | {} /s | ×{} of the verify-only receiver ({} /s), median of {} alternating rounds |\n",
            c["inbox_per_second"], c["ratio_median_of_rounds"], c["verify_only_per_second"], c["rounds"]
        ));
        out.push_str(&format!(
            "| inbox drain, no-op handler | {} events/s | one worker, concurrency {}, {} events |\n",
            inbox["drain"]["per_second"], inbox["drain"]["concurrency"], inbox["drain"]["events"]
        ));
        let l = &inbox["to_handler_ms_at_1000_per_second"];
        out.push_str(&format!(
            "| inbox 2xx → handler start | p50 {} ms, p99 {} ms | at 1 000 callbacks/s ({} events) |\n",
            l["p50"], l["p99"], l["events"]
        ));
    }

    // The targets.
    out.push('\n');
    if let Some(many) = claims["callbacks_per_second"]["redis"]["concurrent_32"].as_f64() {
        let verdict = if many >= 5000.0 { "met" } else { "missed" };
        out.push_str(&format!(
            "- callbacks with Redis claims, 32 senders: {many}/s (target ≥ 5 000/s: {verdict})\n"
        ));
    }
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
    if let (Some(typed), Some(value)) = (
        criterion_median(root, "event_parse/typed_message_inbound_text"),
        criterion_median(root, "event_parse/value_message_inbound_text"),
    ) {
        let r = typed / value;
        let verdict = if r <= 1.0 { "met" } else { "missed" };
        out.push_str(&format!(
            "- typed MESSAGE_INBOUND text parse / `serde_json::Value` parse = {r:.2} (target ≤ 1: {verdict})\n"
        ));
    }
    if let (Some(verify), Some(both)) = (
        criterion_median(root, "event_verify/verify"),
        criterion_median(root, "event_verify/verify_and_parse"),
    ) {
        out.push_str(&format!(
            "- verify + parse: {} next to verify alone {} (×{:.1})\n",
            us(both),
            us(verify),
            both / verify
        ));
    }
    // Ratios are medians of per-round paired ratios (see benches/e2e_ratio.rs).
    for mode in [
        "sequential",
        "concurrent_32",
        "get_sequential",
        "get_concurrent_32",
    ] {
        for (base, key) in [
            ("raw_reqwest", "ratio_to_raw"),
            ("raw_reqwest_typed", "ratio_to_raw_typed"),
        ] {
            for ours in ["ours_basic", "ours_oauth2_cached"] {
                let v = &ratio[mode][ours];
                if let Some(r) = v[key].as_f64() {
                    let verdict = if r <= 1.10 { "met" } else { "missed" };
                    let iqr = iqr(&v[format!("{key}_iqr")]);
                    out.push_str(&format!(
                        "- {mode}: {ours} / {base} = {r:.3}{iqr} (target ≤ 1.10: {verdict})\n"
                    ));
                }
            }
        }
    }
    for mode in ["sequential", "concurrent_32"] {
        let v = &receiving[mode]["ours"];
        if let Some(r) = v["ratio_to_raw"].as_f64() {
            let verdict = if r <= 1.10 { "met" } else { "missed" };
            out.push_str(&format!(
                "- receive {mode}: ours / raw = {r:.3}{} (target ≤ 1.10: {verdict}); ours / raw_parsed = {}\n",
                iqr(&v["ratio_to_raw_iqr"]),
                v["ratio_to_raw_parsed"]
            ));
        }
    }
    for run in ["limited_first_run", "limited_second_run"] {
        if let Some(r) = many[run]["ratio_to_ideal"].as_f64() {
            let zero = many[run]["answers_429"].as_u64() == Some(0);
            let verdict = if r <= 1.10 && zero { "met" } else { "missed" };
            out.push_str(&format!(
                "- provisioning {run}: ×{r:.3} of the ideal, {} 429s (target ≤ 1.10 and none: {verdict})\n",
                many[run]["answers_429"]
            ));
        }
    }
    print!("{out}");
    Ok(())
}

/// Cachegrind's per-request counts: (event name, value).
type Counts = Vec<(String, f64)>;

/// The `creates` bench binary's path, built if needed.
fn creates_binary(root: &Path) -> Result<std::path::PathBuf, String> {
    let output = cargo_bench(root, "creates", &["--no-run", "--message-format=json"])?;
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|m| m["target"]["name"] == "creates")
        .find_map(|m| m["executable"].as_str().map(std::path::PathBuf::from))
        .ok_or_else(|| "cargo did not report the creates bench executable".to_owned())
}

/// Total event counts of one cachegrind run; its output file goes in `dir`.
fn cachegrind(binary: &Path, variant: &str, creates: u64, dir: &Path) -> Result<Counts, String> {
    let out = &dir.join(format!("{variant}.{creates}"));
    let status = Command::new("valgrind")
        .args([
            "--tool=cachegrind",
            "--cache-sim=yes",
            "--branch-sim=yes",
            &format!("--cachegrind-out-file={}", out.display()),
        ])
        .arg(binary)
        .args([variant, &creates.to_string(), "32"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .map_err(|e| format!("cannot run valgrind (is it installed?): {e}"))?;
    if !status.success() {
        return Err(format!("valgrind on `creates {variant} {creates}` failed"));
    }
    let text = std::fs::read_to_string(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let field = |prefix: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(prefix))
            .map(|rest| {
                rest.split_whitespace()
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
    };
    let (Some(events), Some(summary)) = (field("events:"), field("summary:")) else {
        return Err(format!("{}: no events/summary lines", out.display()));
    };
    Ok(events
        .into_iter()
        .zip(summary.iter().map(|v| v.parse::<f64>().unwrap_or(0.0)))
        .collect())
}

fn get(counts: &Counts, name: &str) -> f64 {
    counts
        .iter()
        .find(|(n, _)| n == name)
        .map_or(0.0, |(_, v)| *v)
}

/// Rough cycles: one per instruction, plus typical latencies for what the
/// counts say went wrong (an L1 miss served by L2 ≈ 12 cycles, a last-level
/// miss ≈ 100, a branch mispredicted ≈ 15). A model, not a measurement; its
/// ratios matched the interleaved timings' within a few percent here.
fn estimated_cycles(c: &Counts) -> f64 {
    get(c, "Ir")
        + 12.0 * (get(c, "I1mr") + get(c, "D1mr") + get(c, "D1mw"))
        + 100.0 * (get(c, "ILmr") + get(c, "DLmr") + get(c, "DLmw"))
        + 15.0 * (get(c, "Bcm") + get(c, "Bim"))
}

pub fn model(root: &Path) -> Result<(), String> {
    const SMALL: u64 = 320;
    const LARGE: u64 = 3520;
    let binary = creates_binary(root)?;
    let dir = root.join("target/cachegrind");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut out = format!("Machine: {}\n", machine());
    for (what, variants) in [
        ("create", ["raw", "raw_typed", "ours"]),
        ("get", ["raw_get", "raw_get_typed", "ours_get"]),
    ] {
        let mut rows: Vec<(&str, Counts)> = Vec::new();
        for variant in variants {
            eprintln!("model: cachegrind, {variant} ({SMALL} and {LARGE} requests, 32 tasks)…");
            let small = cachegrind(&binary, variant, SMALL, &dir)?;
            let large = cachegrind(&binary, variant, LARGE, &dir)?;
            // The difference is per-request cost with start-up cancelled out.
            let per_request = large
                .iter()
                .map(|(name, v)| {
                    (
                        name.clone(),
                        (v - get(&small, name)) / (LARGE - SMALL) as f64,
                    )
                })
                .collect();
            rows.push((variant, per_request));
        }
        let base = |i: usize| estimated_cycles(&rows[i].1);
        out.push_str(&format!(
            "\nPer {what}, client and stand-in together (cachegrind, 32 tasks):\n\n"
        ));
        out.push_str("| variant | instructions | I1 misses | D1 misses | LL misses | mispredicts | est. cycles | / raw | / raw_typed |\n|---|---|---|---|---|---|---|---|---|\n");
        for (variant, c) in &rows {
            let est = estimated_cycles(c);
            out.push_str(&format!(
                "| {variant} | {:.1}k | {:.0} | {:.0} | {:.0} | {:.0} | {:.1}k | {:.3} | {:.3} |\n",
                get(c, "Ir") / 1000.0,
                get(c, "I1mr"),
                get(c, "D1mr") + get(c, "D1mw"),
                get(c, "ILmr") + get(c, "DLmr") + get(c, "DLmw"),
                get(c, "Bcm") + get(c, "Bim"),
                est / 1000.0,
                est / base(0),
                est / base(1),
            ));
        }
    }
    out.push_str(
        "\nest. cycles = instructions + 12 × L1 misses + 100 × LL misses + 15 × mispredicts (typical latencies; a model).\n",
    );
    print!("{out}");
    Ok(())
}
