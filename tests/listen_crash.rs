//! Proof under crashes: the stand-in delivers 300 distinct events (each to
//! two webhooks, each callback twice, retried) to two `sinch-webhooks
//! listen` processes sharing Redis, whose handler fails 10 % of the time
//! and sleeps 0–300 ms, while one of the two is killed with SIGKILL and
//! restarted every 1–2 s. Afterwards every event was handled to success,
//! and no more events were handled twice than there were kills.
//!
//! Runs against `SINCH_TEST_REDIS_URL` (`.ci/run` starts one) or a
//! `redis-server` of its own; without either it says so and skips (never
//! in CI).
#![cfg(all(feature = "redis", feature = "cli"))]

#[path = "common/crash.rs"]
mod crash;
#[path = "common/listen.rs"]
mod listen;
#[path = "common/redis_server.rs"]
mod redis_server;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::time::{Duration, Instant};

use sinch_conversation::mock::DeliveryOutcome;

const EVENTS: usize = 300;
const SECRET: &str = "crash-secret-51ab";
const APP: &str = "crash-app";

/// Sleeps 0–300 ms, fails one time in ten (exit 1), otherwise records the
/// event as handled. `$1`: the directory of the logs.
const HANDLER: &str = r#"#!/bin/sh
r=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
sleep "$(printf '0.%03d' $((r % 301)))"
f=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
if [ $((f % 10)) -eq 0 ]; then
  echo "$SINCH_EVENT_KEY" >> "$1/failed.log"
  exit 1
fi
echo "$SINCH_EVENT_KEY" >> "$1/handled.log"
"#;

fn start(port: u16, redis: &str, command: &str) -> listen::Listener {
    let addr = format!("127.0.0.1:{port}");
    listen::start(&[
        "--addr",
        &addr,
        "--secret",
        SECRET,
        "--redis",
        redis,
        "--lease-secs",
        "2",
        "--exec",
        command,
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_is_handled_while_listeners_are_killed() {
    let (redis, _keep) = match redis_server::url() {
        Ok(found) => found,
        Err(why) => {
            assert!(
                std::env::var("CI").is_err(),
                "the crash test must run in CI: {why}"
            );
            eprintln!("skipped: {why}");
            return;
        }
    };
    let (dir, command) = crash::handler("listen-crash", HANDLER);

    // As Sinch delivers: at least once (every callback twice), retried
    // (constant 200 ms waits, so a listener down or a claim held for its
    // 2 s lease is outlasted), shuffled, at 60 callbacks a second.
    let ports = [listen::free_port(), listen::free_port()];
    let sinch = crash::stand_in(APP, SECRET, &ports, 60, 60).await;
    let mut listeners = ports.map(|port| Some(start(port, &redis, &command)));

    let run = format!("{}-{}", std::process::id(), fastrand::u32(..));
    let ids: Vec<String> = (0..EVENTS).map(|i| format!("crash-{run}-{i}")).collect();
    let batch = crash::batch(&ids);
    let delivering = tokio::spawn({
        let sinch = sinch.clone();
        async move { sinch.deliver_events(APP, batch).await }
    });

    // Kill one of the two (in turn) every 1–2 s while deliveries run, and
    // restart it on its port after up to 300 ms down.
    let started = Instant::now();
    let mut kills = 0;
    while !delivering.is_finished() {
        tokio::time::sleep(Duration::from_millis(fastrand::u64(1000..=2000))).await;
        if delivering.is_finished() {
            break;
        }
        let victim = kills % 2;
        if let Some(mut listener) = listeners[victim].take() {
            listener.child.kill().unwrap(); // SIGKILL
            listener.child.wait().unwrap();
        }
        kills += 1;
        tokio::time::sleep(Duration::from_millis(fastrand::u64(0..=300))).await;
        listeners[victim] = Some(start(ports[victim], &redis, &command));
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "deliveries did not end"
        );
    }
    let deliveries = delivering.await.unwrap();
    drop(listeners);

    let lines = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap_or_default();
    let mut handled: BTreeMap<String, usize> = BTreeMap::new();
    for key in lines("handled.log").lines() {
        *handled.entry(key.to_owned()).or_default() += 1;
    }
    let failures = lines("failed.log").lines().count();
    let project = sinch.project_id().to_owned();
    let missing: Vec<&String> = ids
        .iter()
        .filter(|id| !handled.contains_key(&format!("{project}/{APP}/MESSAGE_INBOUND:{id}")))
        .collect();
    let twice = handled.values().filter(|n| **n > 1).count();
    let statuses = deliveries.iter().fold(BTreeMap::new(), |mut counts, d| {
        let outcome = match &d.outcome {
            DeliveryOutcome::Status(status) => status.to_string(),
            _ => "no answer".to_owned(),
        };
        *counts.entry(outcome).or_insert(0usize) += 1;
        counts
    });
    // Straight to stderr, past the test harness's capture: CI's log shows it.
    let _ = writeln!(
        std::io::stderr(),
        "listen crash test: events {EVENTS}, kills {kills}, handled {} (failed runs {failures}), duplicates handled {twice}, \
         delivery attempts {} {statuses:?}, {:.1} s",
        handled.len(),
        deliveries.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(kills >= 5, "too few kills ({kills}) to show anything");
    assert!(
        failures > 0,
        "the handler never failed: nothing was retried"
    );
    assert!(missing.is_empty(), "never handled: {missing:?}");
    assert_eq!(handled.len(), EVENTS, "only these events were handled");
    assert!(
        twice <= kills,
        "{twice} events handled more than once, with {kills} kills"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
