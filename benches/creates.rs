//! A fixed number of creates of one variant against the embedded stand-in,
//! for instruction- and cache-level profiles (valgrind's cachegrind or
//! callgrind), which do not move with machine noise the way timings do.
//! `cargo xtask bench --model` runs it; by hand:
//!
//! ```text
//! creates <raw|raw_typed|ours|raw_get|raw_get_typed|ours_get> <requests> [tasks]
//! ```
//!
//! The `_get` variants read one webhook instead of creating them.
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
        eprintln!(
            "usage: creates <raw|raw_typed|ours|raw_get|raw_get_typed|ours_get> <requests> [tasks]"
        );
        std::process::exit(2);
    };
    const VARIANTS: [&str; 6] = [
        "raw",
        "raw_typed",
        "ours",
        "raw_get",
        "raw_get_typed",
        "ours_get",
    ];
    if !VARIANTS.contains(&variant.as_str()) {
        eprintln!("unknown variant {variant:?}: one of {VARIANTS:?}");
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
        let client = support::basic_client(&server, Some(http.clone()));
        // The webhook the `_get` variants read.
        let webhook = support::full_request(&client, "bench-get".to_owned())
            .send()
            .await
            .expect("create");
        let id: Arc<str> = webhook.id.as_deref().expect("an id").into();
        let raw = Arc::new(Raw::new(&server, http).reading(&id));
        let handles: Vec<_> = (0..tasks)
            .map(|_| {
                let (raw, client, variant) = (raw.clone(), client.clone(), variant.clone());
                let id = id.clone();
                tokio::spawn(async move {
                    for _ in 0..creates / tasks {
                        match variant.as_str() {
                            "raw" => raw.create(false).await,
                            "raw_typed" => raw.create(true).await,
                            "raw_get" => raw.get(false).await,
                            "raw_get_typed" => raw.get(true).await,
                            "ours_get" => {
                                std::hint::black_box(client.get_webhook(&id).await.expect("get"));
                            }
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
