//! A fixed number of creates of one variant against the embedded stand-in,
//! for instruction- and cache-level profiles (valgrind's cachegrind or
//! callgrind), which do not move with machine noise the way timings do.
//! `cargo xtask bench --model` runs it; by hand:
//!
//! ```text
//! creates <raw|raw_typed|ours> <creates> [tasks]
//! ```
//!
//! Tasks (default 32) share a multi-threaded runtime, as in
//! `benches/e2e_ratio.rs`. Profile it at two sizes and subtract, so that
//! start-up (TLS roots, runtime, stand-in) cancels out.
mod support;

use std::sync::Arc;

use sinch_conversation::mock::MockServer;
use support::{Raw, ours};

fn main() {
    // `cargo bench` passes `--bench`; only positional arguments count here.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let (Some(variant), Some(creates)) = (args.first(), args.get(1).and_then(|n| n.parse().ok()))
    else {
        eprintln!("usage: creates <raw|raw_typed|ours> <creates> [tasks]");
        std::process::exit(2);
    };
    if !matches!(variant.as_str(), "raw" | "raw_typed" | "ours") {
        eprintln!("unknown variant {variant:?}: raw, raw_typed or ours");
        std::process::exit(2);
    }
    let creates: u64 = creates;
    let tasks: u64 = args
        .get(2)
        .and_then(|n| n.parse().ok())
        .unwrap_or(32)
        .max(1);
    let runtime = support::runtime();
    runtime.block_on(async {
        let server = MockServer::start().await.expect("stand-in");
        let http = reqwest::Client::new();
        let raw = Arc::new(Raw::new(&server, http.clone()));
        let client = support::basic_client(&server, Some(http));
        let handles: Vec<_> = (0..tasks)
            .map(|_| {
                let (raw, client, variant) = (raw.clone(), client.clone(), variant.clone());
                tokio::spawn(async move {
                    for _ in 0..creates / tasks {
                        match variant.as_str() {
                            "raw" => raw.create(false).await,
                            "raw_typed" => raw.create(true).await,
                            _ => ours(&client).await,
                        }
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.await.expect("task");
        }
    });
}
