//! The embedded Sinch stand-in as a process: `sinch-webhooks stand-in`, and
//! the `sinch-mock` binary (which includes this file), on one clap parser.
//!
//! Prints the base URL as its first line on stdout, then one line per request
//! (written by a thread of its own: a closed or unread stdout never blocks
//! serving; lines it cannot take in time are dropped and counted). Stops
//! cleanly on Ctrl-C.
use std::io::Write as _;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use clap::Args;
use sinch_conversation::mock::{LoggedRequest, MockServer};

/// What the admin route does: the end of both helps.
pub const ADMIN: &str = "\
Admin: POST /_mock/projects/{project_id}/apps/{app_id}/events
       {\"trigger\": \"MESSAGE_INBOUND\", \"payload\": {...}}, or an array of them
       delivers signed events to the app's webhooks (loopback targets only),
       as Sinch does: Sinch's envelope, the payload under the trigger's key
       (`message`, ...), a Bearer token for webhooks with client_credentials,
       retries; answers {\"deliveries\": [...]}, one entry per attempt.";

/// The end of `sinch-webhooks stand-in --help`.
#[allow(dead_code)] // `sinch-mock` has its own help.
pub fn after_help() -> String {
    format!(
        "Example:
  sinch-webhooks stand-in --addr 127.0.0.1:8787
  SINCH_CONVERSATION_BASE_URL=http://127.0.0.1:8787 SINCH_PROJECT_ID=mock-project \\
  SINCH_KEY_ID=mock-key-id SINCH_KEY_SECRET=mock-key-secret \\
      sinch-webhooks create --app-id 01APP --target http://127.0.0.1:8788/ --secret s

Prints its URL as the first line on stdout, then one line per request; Ctrl-C
stops it. Serves POST /oauth2/token, and create, list, get, update and delete
of webhooks under /v1/projects/{{project_id}}/..., as Sinch does. Starts empty
(unlike --stand-in, which is seeded).

{ADMIN}"
    )
}

/// `sinch-mock --help`, as it has always read (the admin route follows).
#[allow(dead_code)] // `sinch-webhooks stand-in` has clap's.
pub const MOCK_HELP: &str = "\
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
";

/// The stand-in's flags (`sinch-webhooks stand-in`, `sinch-mock`). A
/// flag's value is the next argument whatever it looks like (`-3` is a
/// value, refused by its type, not a flag), as `sinch-mock` always read it.
/// No `Debug`: it holds the key secret.
#[derive(Args)]
pub struct StandIn {
    /// Listen address.
    #[arg(long, default_value = "127.0.0.1:8787", allow_hyphen_values = true)]
    pub addr: SocketAddr,
    /// The project it serves.
    #[arg(long, value_name = "ID", default_value = MockServer::DEFAULT_PROJECT_ID, allow_hyphen_values = true)]
    pub project_id: String,
    /// The access key id it accepts.
    #[arg(long, value_name = "ID", default_value = MockServer::DEFAULT_KEY_ID, allow_hyphen_values = true)]
    pub key_id: String,
    /// The access key secret it accepts.
    #[arg(long, value_name = "SECRET", default_value = MockServer::DEFAULT_KEY_SECRET, allow_hyphen_values = true)]
    pub key_secret: String,
    /// OAuth2 token lifetime, in seconds.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 3600,
        allow_hyphen_values = true
    )]
    pub token_lifetime_secs: u64,
    /// API requests per second per project, 429 beyond (0: off; Sinch's is
    /// 800).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 0,
        allow_hyphen_values = true
    )]
    pub rate_limit: u32,
    /// Answer webhooks without `secret` and
    /// `client_credentials.client_secret` (whether Sinch echoes them is not
    /// documented; default: echo).
    #[arg(long)]
    pub omit_secrets: bool,
    /// Another project the key is valid for (repeatable).
    #[arg(long = "also-project", value_name = "ID", allow_hyphen_values = true)]
    pub also_projects: Vec<String>,
    /// Delivery retries after a 5xx, 429, timeout or refused connection
    /// [default: 3; 0: none].
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub delivery_retries: Option<u32>,
    /// Wait before the first delivery retry, then doubling [default: 1000].
    #[arg(long, value_name = "MS", allow_hyphen_values = true)]
    pub delivery_backoff_ms: Option<u64>,
    /// Time one delivery attempt may take [default: 5000].
    #[arg(long, value_name = "MS", allow_hyphen_values = true)]
    pub delivery_timeout_ms: Option<u64>,
    /// Send every callback twice (at least once, made visible).
    #[arg(long)]
    pub duplicate_deliveries: bool,
    /// Shuffle each batch of callbacks, reproducibly.
    #[arg(
        long = "shuffle-deliveries",
        value_name = "SEED",
        allow_hyphen_values = true
    )]
    pub shuffle_seed: Option<u64>,
    /// Callbacks per second per app [default: 25, Sinch's default; 0:
    /// unlimited].
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub callback_rate: Option<u32>,
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

/// Serves until Ctrl-C; `name` prefixes the lines on stderr. Runs its own
/// runtime (one thread, as the stand-in needs no more).
pub fn run(args: &StandIn, name: &str) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            warn(format_args!("{name}: cannot start the runtime: {e}"));
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(serve(args, name))
}

async fn serve(args: &StandIn, name: &str) -> ExitCode {
    let (log, dropped) = start_log();
    let mut builder = MockServer::builder()
        .addr(args.addr)
        .project_id(&args.project_id)
        .key(&args.key_id, args.key_secret.clone())
        .token_lifetime(Duration::from_secs(args.token_lifetime_secs))
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
    let server = match builder.start().await {
        Ok(server) => server,
        Err(e) => {
            warn(format_args!("{name}: cannot listen on {}: {e}", args.addr));
            return ExitCode::FAILURE;
        }
    };
    say(format_args!("{}", server.base_url()));
    warn(format_args!(
        "{name}: serving project {:?} for key id {:?} (API and OAuth2 at {}); Ctrl-C stops",
        args.project_id,
        args.key_id,
        server.base_url()
    ));
    let _ = tokio::signal::ctrl_c().await;
    let dropped = dropped.load(Ordering::Relaxed);
    warn(format_args!(
        "{name}: stopping ({dropped} log lines dropped: stdout was not keeping up)"
    ));
    drop(server);
    ExitCode::SUCCESS
}
