//! End-to-end cost of the client next to a raw `reqwest` POST, measured so
//! that machine noise hits all alike. Each round runs a short batch of
//! creates per variant (raw, raw plus decoding the answer, ours Basic, ours
//! OAuth2 with a cached token) back to back in a rotating order, against the
//! embedded stand-in over loopback. A ratio is taken within each round
//! (variant time / raw time of the same round), so a machine that speeds up
//! or slows down between rounds cancels out; the result is the median of
//! those paired ratios with its interquartile range, and each variant's
//! median per-create time. Sequential, and with 32 concurrent tasks. The
//! same for reading one webhook (`get_webhook` next to a raw GET). Prints
//! one JSON line; `cargo xtask bench` reads it. `-- create` or `-- get`
//! runs only that half.
mod support;

use std::sync::Arc;
use std::time::Duration;

use sinch_conversation::Client;
use sinch_conversation::mock::MockServer;
use support::{Raw, ours};

const SEQUENTIAL_ROUNDS: usize = 301;
const SEQUENTIAL_BATCH: u64 = 25;
const CONCURRENT_ROUNDS: usize = 101;
const CONCURRENCY: u64 = 32;
const CONCURRENT_BATCH: u64 = 32 * 8;

#[derive(Clone)]
enum Variant {
    /// The floor: send the bytes, read the answer's bytes.
    Raw(Arc<Raw>),
    /// The same, then decoding the answer into `Webhook` as any caller that
    /// uses it must.
    RawTyped(Arc<Raw>),
    Ours(Client),
    /// GETs: raw, raw decoded, ours.
    RawGet(Arc<Raw>),
    RawGetTyped(Arc<Raw>),
    OursGet(Client, Arc<str>),
}

impl Variant {
    async fn create(&self) {
        match self {
            Variant::Raw(raw) => raw.create(false).await,
            Variant::RawTyped(raw) => raw.create(true).await,
            Variant::Ours(client) => ours(client).await,
            Variant::RawGet(raw) => raw.get(false).await,
            Variant::RawGetTyped(raw) => raw.get(true).await,
            Variant::OursGet(client, id) => {
                std::hint::black_box(client.get_webhook(id).await.expect("get"));
            }
        }
    }

    /// Mean time per create over a batch.
    async fn batch(&self, concurrency: u64, creates: u64) -> Duration {
        let variant = self.clone();
        support::timed_batch(concurrency, creates, move || {
            let variant = variant.clone();
            async move { variant.create().await }
        })
        .await
    }
}

async fn compare(
    variants: &[(&str, Variant)],
    concurrency: u64,
    batch: u64,
    rounds: usize,
) -> serde_json::Value {
    support::paired_ratios(
        variants,
        rounds,
        &[(0, "ratio_to_raw"), (1, "ratio_to_raw_typed")],
        |v| {
            // Owned, so the batch's future borrows nothing.
            let v = v.clone();
            async move { v.batch(concurrency, batch).await }
        },
    )
    .await
}

fn main() {
    let runtime = support::runtime();
    runtime.block_on(async {
        let server = MockServer::start().await.expect("stand-in");
        let http = reqwest::Client::new();
        let raw = Arc::new(Raw::new(&server, http.clone()));
        let basic = support::basic_client(&server, Some(http.clone()));
        let oauth = support::oauth2_client(&server, http.clone());
        let variants = [
            ("raw_reqwest", Variant::Raw(raw.clone())),
            ("raw_reqwest_typed", Variant::RawTyped(raw)),
            ("ours_basic", Variant::Ours(basic)),
            ("ours_oauth2_cached", Variant::Ours(oauth)),
        ];
        let only: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
        let run = |half: &str| only.as_deref().is_none_or(|o| o == half);
        let mut out = serde_json::json!({
            "rounds": {"sequential": SEQUENTIAL_ROUNDS, "concurrent_32": CONCURRENT_ROUNDS},
        });
        if run("create") {
            out["sequential"] = compare(&variants, 1, SEQUENTIAL_BATCH, SEQUENTIAL_ROUNDS).await;
            out["concurrent_32"] =
                compare(&variants, CONCURRENCY, CONCURRENT_BATCH, CONCURRENT_ROUNDS).await;
        }
        if !run("get") {
            println!("{out}");
            return;
        }

        // Reading: every variant GETs the same webhook (with every field set).
        let basic = support::basic_client(&server, Some(http.clone()));
        let oauth = support::oauth2_client(&server, http.clone());
        let webhook = support::full_request(&basic, "bench-get".to_owned())
            .send()
            .await
            .expect("create");
        let id: Arc<str> = webhook.id.as_deref().expect("an id").into();
        let raw = Arc::new(Raw::new(&server, http.clone()).reading(&id));
        let gets = [
            ("raw_reqwest", Variant::RawGet(raw.clone())),
            ("raw_reqwest_typed", Variant::RawGetTyped(raw)),
            ("ours_basic", Variant::OursGet(basic, id.clone())),
            ("ours_oauth2_cached", Variant::OursGet(oauth, id)),
        ];
        out["get_sequential"] = compare(&gets, 1, SEQUENTIAL_BATCH, SEQUENTIAL_ROUNDS).await;
        out["get_concurrent_32"] =
            compare(&gets, CONCURRENCY, CONCURRENT_BATCH, CONCURRENT_ROUNDS).await;
        println!("{out}");
    });
}
