//! `sinch-mock`: the embedded Sinch stand-in as a process, for other languages'
//! SDKs and for manual testing.
//!
//! ```text
//! cargo run --features mock --bin sinch-mock -- --addr 127.0.0.1:8787 \
//!     [--project-id P --key-id K --key-secret S --token-lifetime-secs N --rate-limit N]
//!     [--omit-secrets] [--also-project P ...]
//!     [--delivery-retries N --delivery-backoff-ms MS --delivery-timeout-ms MS]
//!     [--duplicate-deliveries --shuffle-deliveries SEED --callback-rate N]
//! ```
//!
//! Prints the base URL as its first line on stdout, then one line per request
//! (written by a thread of its own: a closed or unread stdout never blocks
//! serving; lines it cannot take in time are dropped and counted).
//! Stops cleanly on Ctrl-C. `POST /_mock/projects/{project_id}/apps/{app_id}/events`
//! with `{"trigger": ..., "payload": {...}}` (or an array of them) delivers
//! signed events to the app's webhooks (loopback targets only) as Sinch
//! does: Sinch's envelope, with the payload under the trigger's identifying
//! key; OAuth2 tokens, retries and the per-app callback rate as configured.
use std::io::Write as _;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sinch_conversation::mock::{LoggedRequest, MockServer};

const HELP: &str = "\
sinch-mock: a local stand-in for the Sinch Conversation API (webhooks) and its OAuth2 server

Serves POST /oauth2/token, and create, list, get, update and delete of webhooks
under /v1/projects/{project_id}/..., as Sinch does.

Options:
  --addr ADDR                 listen address (default 127.0.0.1:8787)
  --project-id ID             the project it serves (default mock-project)
  --key-id ID                 access key id it accepts (default mock-key-id)
  --key-secret SECRET         access key secret it accepts (default mock-key-secret)
  --token-lifetime-secs N     OAuth2 token lifetime (default 3600)
  --rate-limit N              API requests per second per project, 429 beyond
                              (default off; Sinch's is 800)
  --omit-secrets              answer webhooks without `secret` and
                              `client_credentials.client_secret` (whether Sinch
                              echoes them is not documented; default: echo)
  --also-project ID           another project the key is valid for (repeatable)

Deliveries (of events posted to the admin route):
  --delivery-retries N        retries after a 5xx, 429, timeout or refused
                              connection (default 3; 0: none)
  --delivery-backoff-ms MS    wait before the first retry, then doubling
                              (default 1000)
  --delivery-timeout-ms MS    time one attempt may take (default 5000)
  --duplicate-deliveries      send every callback twice (at least once, made
                              visible)
  --shuffle-deliveries SEED   shuffle each batch of callbacks, reproducibly
  --callback-rate N           callbacks per second per app (default 25, Sinch's
                              default; 0: unlimited)
  -h, --help                  this text

Admin: POST /_mock/projects/{project_id}/apps/{app_id}/events
       {\"trigger\": \"MESSAGE_INBOUND\", \"payload\": {...}}, or an array of them
       delivers signed events to the app's webhooks (loopback targets only),
       as Sinch does: Sinch's envelope, the payload under the trigger's key
       (`message`, ...), a Bearer token for webhooks with client_credentials,
       retries; answers {\"deliveries\": [...]}, one entry per attempt.
";

struct Args {
    addr: SocketAddr,
    project_id: String,
    key_id: String,
    key_secret: String,
    token_lifetime: u64,
    rate_limit: u32,
    omit_secrets: bool,
    also_projects: Vec<String>,
    delivery_retries: Option<u32>,
    delivery_backoff_ms: Option<u64>,
    delivery_timeout_ms: Option<u64>,
    duplicate_deliveries: bool,
    shuffle_seed: Option<u64>,
    callback_rate: Option<u32>,
}

/// A number given to `flag`, or a message naming both.
fn number<T: std::str::FromStr>(flag: &str, value: &str) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    value.parse().map_err(|e| format!("{flag} {value:?}: {e}"))
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut parsed = Args {
        addr: SocketAddr::from(([127, 0, 0, 1], 8787)),
        project_id: MockServer::DEFAULT_PROJECT_ID.to_owned(),
        key_id: MockServer::DEFAULT_KEY_ID.to_owned(),
        key_secret: MockServer::DEFAULT_KEY_SECRET.to_owned(),
        token_lifetime: 3600,
        rate_limit: 0,
        omit_secrets: false,
        also_projects: Vec::new(),
        delivery_retries: None,
        delivery_backoff_ms: None,
        delivery_timeout_ms: None,
        duplicate_deliveries: false,
        shuffle_seed: None,
        callback_rate: None,
    };
    while let Some(flag) = args.next() {
        if flag == "-h" || flag == "--help" {
            return Ok(None);
        }
        if flag == "--omit-secrets" {
            parsed.omit_secrets = true;
            continue;
        }
        if flag == "--duplicate-deliveries" {
            parsed.duplicate_deliveries = true;
            continue;
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--addr" => {
                parsed.addr = value
                    .parse()
                    .map_err(|e| format!("--addr {value:?}: {e}"))?
            }
            "--project-id" => parsed.project_id = value,
            "--key-id" => parsed.key_id = value,
            "--key-secret" => parsed.key_secret = value,
            "--token-lifetime-secs" => parsed.token_lifetime = number(&flag, &value)?,
            "--rate-limit" => parsed.rate_limit = number(&flag, &value)?,
            "--also-project" => parsed.also_projects.push(value),
            "--delivery-retries" => parsed.delivery_retries = Some(number(&flag, &value)?),
            "--delivery-backoff-ms" => parsed.delivery_backoff_ms = Some(number(&flag, &value)?),
            "--delivery-timeout-ms" => parsed.delivery_timeout_ms = Some(number(&flag, &value)?),
            "--shuffle-deliveries" => parsed.shuffle_seed = Some(number(&flag, &value)?),
            "--callback-rate" => parsed.callback_rate = Some(number(&flag, &value)?),
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(Some(parsed))
}

/// One line of the request log.
fn log_line(request: &LoggedRequest) -> String {
    let status = match request.status {
        0 => "dropped".to_owned(),
        s => s.to_string(),
    };
    let query = request
        .query
        .as_deref()
        .map(|q| format!("?{q}"))
        .unwrap_or_default();
    format!(
        "{} {}{query} -> {status} ({} auth, {:.1} ms)",
        request.method,
        request.path,
        request.auth,
        request.duration.as_secs_f64() * 1000.0
    )
}

/// Lines waiting for stdout; more are dropped.
const LOG_QUEUE: usize = 4096;

/// The request log, written to stdout by a thread of its own through a
/// bounded queue: a stdout that is closed (writes fail) or never read
/// (writes block) never breaks or slows serving. Lines that find the queue
/// full are dropped and counted.
fn start_log() -> (
    impl Fn(&LoggedRequest) + Send + Sync + 'static,
    Arc<AtomicU64>,
) {
    let (sender, receiver) = std::sync::mpsc::sync_channel::<String>(LOG_QUEUE);
    std::thread::spawn(move || {
        let stdout = std::io::stdout();
        for line in receiver {
            // A closed stdout: keep draining, write nothing.
            let _ = writeln!(stdout.lock(), "{line}");
        }
    });
    let dropped = Arc::new(AtomicU64::new(0));
    let counter = dropped.clone();
    let hook = move |request: &LoggedRequest| {
        if sender.try_send(log_line(request)).is_err() {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    };
    (hook, dropped)
}

/// `println!`/`eprintln!` panic when the stream is closed; these don't.
fn say(line: std::fmt::Arguments<'_>) {
    let _ = writeln!(std::io::stdout().lock(), "{line}");
    let _ = std::io::stdout().flush();
}

fn warn(line: std::fmt::Arguments<'_>) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            say(format_args!("{}", HELP.trim_end()));
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            warn(format_args!("sinch-mock: {message}\n\n{HELP}"));
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            warn(format_args!("sinch-mock: cannot start the runtime: {e}"));
            return ExitCode::FAILURE;
        }
    };
    let (log, dropped) = start_log();
    runtime.block_on(async move {
        let mut builder = MockServer::builder()
            .addr(args.addr)
            .project_id(&args.project_id)
            .key(&args.key_id, args.key_secret)
            .token_lifetime(Duration::from_secs(args.token_lifetime))
            .rate_limit(args.rate_limit)
            .omit_secrets(args.omit_secrets)
            .duplicate_deliveries(args.duplicate_deliveries)
            .on_request(log);
        for project in &args.also_projects {
            builder = builder.also_project(project);
        }
        if let Some(retries) = args.delivery_retries {
            builder = builder.delivery_retries(retries);
        }
        if let Some(ms) = args.delivery_backoff_ms {
            builder = builder.delivery_backoff(Duration::from_millis(ms));
        }
        if let Some(ms) = args.delivery_timeout_ms {
            builder = builder.delivery_timeout(Duration::from_millis(ms));
        }
        if let Some(seed) = args.shuffle_seed {
            builder = builder.shuffle_deliveries(seed);
        }
        if let Some(rate) = args.callback_rate {
            builder = builder.callback_rate(rate);
        }
        let server = builder.start().await;
        let server = match server {
            Ok(server) => server,
            Err(e) => {
                warn(format_args!(
                    "sinch-mock: cannot listen on {}: {e}",
                    args.addr
                ));
                return ExitCode::FAILURE;
            }
        };
        say(format_args!("{}", server.base_url()));
        warn(format_args!(
            "sinch-mock: serving project {:?} for key id {:?} (API and OAuth2 at {}); Ctrl-C stops",
            args.project_id,
            args.key_id,
            server.base_url()
        ));
        let _ = tokio::signal::ctrl_c().await;
        let dropped = dropped.load(Ordering::Relaxed);
        warn(format_args!(
            "sinch-mock: stopping ({dropped} log lines dropped: stdout was not keeping up)"
        ));
        drop(server);
        ExitCode::SUCCESS
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every flag `sinch-mock` takes.
    const FLAGS: &[&str] = &[
        "--addr",
        "--project-id",
        "--key-id",
        "--key-secret",
        "--token-lifetime-secs",
        "--rate-limit",
        "--omit-secrets",
        "--also-project",
        "--delivery-retries",
        "--delivery-backoff-ms",
        "--delivery-timeout-ms",
        "--duplicate-deliveries",
        "--shuffle-deliveries",
        "--callback-rate",
    ];

    fn argument() -> impl Strategy<Value = String> {
        prop_oneof![
            prop::sample::select([FLAGS, &["-h", "--help"]].concat()).prop_map(str::to_owned),
            "\\PC{0,24}",
            "[0-9]{1,25}",
            Just("127.0.0.1:0".to_owned()),
        ]
    }

    #[test]
    fn flags_are_read_and_bad_values_named() {
        let args = |a: &[&str]| parse(a.iter().map(|s| s.to_string()));
        let parsed = args(&[
            "--addr",
            "127.0.0.1:9",
            "--token-lifetime-secs",
            "18446744073709551615",
            "--rate-limit",
            "800",
            "--omit-secrets",
        ])
        .unwrap()
        .unwrap();
        assert!(parsed.omit_secrets);
        let defaults = args(&[]).unwrap().unwrap();
        assert!(!defaults.omit_secrets && !defaults.duplicate_deliveries);
        assert_eq!(
            (
                defaults.delivery_retries,
                defaults.callback_rate,
                defaults.shuffle_seed
            ),
            (None, None, None)
        );
        let delivery = args(&[
            "--delivery-retries",
            "5",
            "--delivery-backoff-ms",
            "20",
            "--delivery-timeout-ms",
            "300",
            "--duplicate-deliveries",
            "--shuffle-deliveries",
            "42",
            "--callback-rate",
            "0",
            "--also-project",
            "b",
            "--also-project",
            "c",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(delivery.delivery_retries, Some(5));
        assert_eq!(delivery.delivery_backoff_ms, Some(20));
        assert_eq!(delivery.delivery_timeout_ms, Some(300));
        assert!(delivery.duplicate_deliveries);
        assert_eq!(delivery.shuffle_seed, Some(42));
        assert_eq!(delivery.callback_rate, Some(0));
        assert_eq!(delivery.also_projects, ["b", "c"]);
        assert!(
            args(&["--callback-rate", "-3"])
                .err()
                .unwrap_or_default()
                .contains("--callback-rate")
        );
        assert_eq!(parsed.addr.port(), 9);
        assert_eq!(parsed.token_lifetime, u64::MAX);
        assert_eq!(parsed.rate_limit, 800);
        assert!(
            args(&["--rate-limit", "fast"])
                .err()
                .unwrap_or_default()
                .contains("--rate-limit")
        );
        assert!(args(&["--help"]).unwrap().is_none());
        assert!(
            args(&["--addr"])
                .err()
                .unwrap_or_default()
                .contains("--addr")
        );
        assert!(
            args(&["--token-lifetime-secs", "-1"])
                .err()
                .unwrap_or_default()
                .contains("--token-lifetime-secs")
        );
        assert!(
            args(&["--nope"])
                .err()
                .unwrap_or_default()
                .contains("--nope")
        );
    }

    #[test]
    fn help_lists_every_flag() {
        let route = ["/_mock/projects/{project_id}/apps/{app_id}/events"];
        for flag in FLAGS.iter().chain(&route) {
            assert!(HELP.contains(flag), "{flag}");
        }
        // And the parser knows each one.
        for flag in FLAGS {
            let refused = parse([flag.to_string(), "1".into()].into_iter()).err();
            assert!(
                !refused.is_some_and(|m| m.contains("unknown option")),
                "{flag}"
            );
        }
    }

    proptest! {
        /// Any command line parses or is refused with a message; never a
        /// panic. `PROPTEST_CASES=100000 cargo test --release --all-features
        /// --bin sinch-mock` for the long run.
        #[test]
        fn any_command_line_parses_or_is_refused(args in prop::collection::vec(argument(), 0..8)) {
            match parse(args.into_iter()) {
                Ok(_) => {}
                Err(message) => prop_assert!(!message.is_empty()),
            }
        }
    }
}
