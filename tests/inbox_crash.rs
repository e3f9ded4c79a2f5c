//! Proof under crashes for the durable inbox: the stand-in delivers 1 000
//! distinct events (each to two webhooks, each callback twice, retried) to
//! two `listen --inbox` processes; three `work` processes run a handler
//! that fails 5 % of the time; every 1–2 s one listener or worker is killed
//! with SIGKILL and restarted, and Redis itself (append-only file,
//! `appendfsync always`) is killed and restarted once. Afterwards every
//! event is handled or a dead letter with its error (0 lost), none was
//! appended twice, events handled twice stay within worker kills ×
//! concurrency, and a replay handles the dead letters.
//!
//! Needs `redis-server` (`.ci/run` installs it); without it, says so and
//! skips (never in CI).
#![cfg(all(feature = "redis", feature = "cli"))]

#[path = "common/crash.rs"]
mod crash;
#[path = "common/listen.rs"]
mod listen;
#[path = "common/redis_server.rs"]
mod redis_server;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sinch_conversation::inbox::Inbox;

const EVENTS: usize = 1000;
/// Events the handler refuses until `fixed` exists: dead letters to replay.
const POISON: usize = 5;
const SECRET: &str = "inbox-crash-secret-2b7d";
const APP: &str = "inbox-crash-app";
const CONCURRENCY: usize = 4;

/// Fails 5 % of the time (and always for a poison event until `$1/fixed`
/// exists); records the event's key and first entry id when handled.
const HANDLER: &str = r#"#!/bin/sh
case "$SINCH_EVENT_KEY" in *poison*) [ -f "$1/fixed" ] || { echo "poisoned" >&2; exit 1; };; esac
f=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
if [ $((f % 20)) -eq 0 ]; then exit 1; fi
echo "$SINCH_EVENT_KEY $SINCH_INBOX_ID" >> "$1/handled.log"
"#;

/// A `redis-server` with the append-only file, fsynced on every write, in
/// `dir`, on `port`.
fn redis_server(port: u16, dir: &std::path::Path) -> Result<Child, String> {
    let dir = dir.to_string_lossy();
    redis_server::spawn(
        port,
        &[
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--dir",
            &dir,
        ],
    )
}

fn worker(url: &str, inbox: &str, command: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_sinch-webhooks"))
        .args(["work", "--redis", url, "--inbox", inbox, "--exec", command])
        .args([
            "--concurrency",
            &CONCURRENCY.to_string(),
            "--max-attempts",
            "3",
        ])
        .args(["--backoff-ms", "100", "--visibility-secs", "2"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("sinch-webhooks work")
}

fn listener(port: u16, url: &str, inbox: &str) -> listen::Listener {
    let addr = format!("127.0.0.1:{port}");
    listen::start(&[
        "--addr", &addr, "--secret", SECRET, "--redis", url, "--inbox", inbox,
    ])
}

enum Process {
    Listener(Option<listen::Listener>, u16),
    Worker(Option<Child>),
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_lost_while_listeners_workers_and_redis_are_killed() {
    let (dir, command) = crash::handler("inbox-crash", HANDLER);
    let redis_port = listen::free_port();
    let mut redis = match redis_server(redis_port, &dir) {
        Ok(redis) => redis,
        Err(e) => {
            assert!(
                std::env::var("CI").is_err(),
                "the inbox crash test must run in CI: {e}"
            );
            eprintln!("skipped: no redis-server ({e})");
            return;
        }
    };
    let url = format!("redis://127.0.0.1:{redis_port}");
    let name = format!("crash-{}", std::process::id());

    let ports = [listen::free_port(), listen::free_port()];
    let sinch = crash::stand_in(APP, SECRET, &ports, 100, 200).await;
    let mut processes: Vec<Process> = ports
        .iter()
        .map(|&port| Process::Listener(Some(listener(port, &url, &name)), port))
        .chain((0..3).map(|_| Process::Worker(Some(worker(&url, &name, &command)))))
        .collect();

    let ids: Vec<String> = (0..EVENTS)
        .map(|i| {
            if i < POISON {
                format!("poison-{i}")
            } else {
                format!("ev-{i}")
            }
        })
        .collect();
    let batch = crash::batch(&ids);
    let delivering = tokio::spawn({
        let sinch = sinch.clone();
        async move { sinch.deliver_events(APP, batch).await }
    });

    let started = Instant::now();
    let (mut kills, mut worker_kills, mut redis_restarted) = (0, 0, false);
    while !delivering.is_finished() {
        tokio::time::sleep(Duration::from_millis(fastrand::u64(1000..=2000))).await;
        if delivering.is_finished() {
            break;
        }
        if !redis_restarted && started.elapsed() > Duration::from_secs(6) {
            // SIGKILL: with `appendfsync always`, nothing acknowledged is lost.
            redis.kill().unwrap();
            redis.wait().unwrap();
            tokio::time::sleep(Duration::from_millis(300)).await;
            redis = redis_server(redis_port, &dir).unwrap();
            redis_restarted = true;
            continue;
        }
        let victim = kills % processes.len();
        match &mut processes[victim] {
            Process::Listener(slot, port) => {
                if let Some(mut old) = slot.take() {
                    old.child.kill().unwrap();
                    old.child.wait().unwrap();
                }
                *slot = Some(listener(*port, &url, &name));
            }
            Process::Worker(slot) => {
                if let Some(mut old) = slot.take() {
                    old.kill().unwrap();
                    old.wait().unwrap();
                }
                worker_kills += 1;
                *slot = Some(worker(&url, &name, &command));
            }
        }
        kills += 1;
        assert!(
            started.elapsed() < Duration::from_secs(400),
            "deliveries did not end"
        );
    }
    let deliveries = delivering.await.unwrap();

    // Drained: nothing left in the stream, waiting for a retry or pending.
    let inbox = Inbox::connect(&url, &name).await.unwrap();
    let drained = |stats: &sinch_conversation::inbox::InboxStats| {
        stats.length == 0 && stats.waiting_retry == 0 && stats.pending.is_empty()
    };
    let wait = Instant::now();
    while !drained(&inbox.stats().await.unwrap()) {
        assert!(
            wait.elapsed() < Duration::from_secs(60),
            "not drained: {:?}",
            inbox.stats().await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap_or_default();
    let project = sinch.project_id().to_owned();
    let key = |id: &str| format!("{project}/{APP}/MESSAGE_INBOUND:{id}");
    let tally = || {
        let mut handled: BTreeMap<String, (usize, BTreeSet<String>)> = BTreeMap::new();
        for line in read("handled.log").lines() {
            if let Some((key, origin)) = line.split_once(' ') {
                let entry = handled.entry(key.to_owned()).or_default();
                entry.0 += 1;
                entry.1.insert(origin.to_owned());
            }
        }
        handled
    };
    let handled = tally();
    let dead = inbox.dead_letters(10_000).await.unwrap();
    let dead_keys: BTreeSet<String> = dead.iter().map(|d| d.key.clone()).collect();
    let lost: Vec<&String> = ids
        .iter()
        .filter(|id| !handled.contains_key(&key(id)) && !dead_keys.contains(&key(id)))
        .collect();
    let appended_twice: Vec<&String> = handled
        .iter()
        .filter(|(_, (_, origins))| origins.len() > 1)
        .map(|(key, _)| key)
        .collect();
    let twice = handled.values().filter(|(n, _)| *n > 1).count();
    let _ = writeln!(
        std::io::stderr(),
        "inbox crash test: events {EVENTS}, kills {kills} ({worker_kills} workers), Redis restarted {redis_restarted}, \
         handled {}, dead letters {}, lost {}, appended twice {}, handled twice {twice}, delivery attempts {}, {:.1} s",
        handled.len(),
        dead.len(),
        lost.len(),
        appended_twice.len(),
        deliveries.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(redis_restarted, "the run was too short to restart Redis");
    assert!(lost.is_empty(), "lost: {lost:?}");
    assert!(
        appended_twice.is_empty(),
        "appended twice: {appended_twice:?}"
    );
    assert!(
        dead.iter().all(|d| !d.error.is_empty() && d.attempts == 3),
        "{dead:?}"
    );
    assert!(
        twice <= worker_kills * CONCURRENCY,
        "{twice} handled twice with {worker_kills} worker kills"
    );
    for i in 0..POISON {
        assert!(
            dead_keys.contains(&key(&format!("poison-{i}"))),
            "poison-{i} not dead-lettered"
        );
    }

    // Fixed, the dead letters are replayed and handled.
    std::fs::write(dir.join("fixed"), "").unwrap();
    let replayed = inbox.replay_all().await.unwrap();
    assert_eq!(replayed, dead.len() as u64);
    let wait = Instant::now();
    loop {
        let handled = tally();
        if dead_keys.iter().all(|k| handled.contains_key(k)) {
            break;
        }
        assert!(
            wait.elapsed() < Duration::from_secs(60),
            "dead letters not handled after the replay"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(processes);
    let _ = redis.kill();
    let _ = redis.wait();
    let _ = std::fs::remove_dir_all(&dir);
}
