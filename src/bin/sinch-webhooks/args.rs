//! The command line (clap). No argument type derives `Debug`: they hold
//! secrets (`--secret`, a password in `--redis` or a target URL), so nothing
//! can print them by accident.
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const CONNECTION: &str = "\
Connection:
  The real API: SINCH_PROJECT_ID, SINCH_KEY_ID, SINCH_KEY_SECRET and
  SINCH_CONVERSATION_REGION (us, eu or br), or SINCH_CONVERSATION_BASE_URL
  (e.g. a running sinch-mock) with optionally SINCH_AUTH_BASE_URL.
  --stand-in runs against an embedded Sinch stand-in instead (no account, no
  network), seeded with webhook demo-webhook of app demo-app.

Exit codes: 0 done, 1 the API or the network failed (or answered what it is
not safe to act on: nothing was changed), 2 invalid input (nothing was sent).";

/// Manage Sinch Conversation API webhooks ("event destinations"): create,
/// list, get, update, delete, and make sure an app's webhooks are as
/// described (ensure, sync) from a deploy job.
#[derive(Parser)]
#[command(name = "sinch-webhooks", version, after_long_help = CONNECTION)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// How results are printed.
    #[arg(long, global = true, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    /// Run against an embedded Sinch stand-in instead of the API.
    #[arg(long, global = true)]
    pub stand_in: bool,
}

/// How results are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Lines for people.
    Text,
    /// JSON for programs (secrets as `***`).
    Json,
}

#[derive(Subcommand)]
pub enum Command {
    /// Create a webhook.
    #[command(after_help = "Example:
  sinch-webhooks create --app-id 01APP --target https://example.com/sinch \\
      --trigger MESSAGE_INBOUND --trigger MESSAGE_DELIVERY --secret \"$SECRET\"")]
    Create(Create),
    /// List an app's webhooks.
    #[command(after_help = "Example:\n  sinch-webhooks list --app-id 01APP --output json")]
    List {
        /// The Conversation app.
        #[arg(long)]
        app_id: String,
        /// Print the request instead of sending it.
        #[arg(long)]
        dry_run: bool,
    },
    /// Show one webhook.
    #[command(after_help = "Example:\n  sinch-webhooks get --id 01WEBHOOK")]
    Get {
        /// The webhook.
        #[arg(long)]
        id: String,
        /// Print the request instead of sending it.
        #[arg(long)]
        dry_run: bool,
    },
    /// Change some fields of a webhook (only what is given changes).
    #[command(after_help = "Examples:
  sinch-webhooks update --id 01WEBHOOK --trigger MESSAGE_DELIVERY --clear-secret
  sinch-webhooks update --id 01WEBHOOK --target https://example.com/v2 --dry-run")]
    Update(Update),
    /// Delete a webhook.
    #[command(after_help = "Example:\n  sinch-webhooks delete --id 01WEBHOOK")]
    Delete {
        /// The webhook.
        #[arg(long)]
        id: String,
        /// Print the request instead of sending it.
        #[arg(long)]
        dry_run: bool,
    },
    /// Make sure an app has a webhook for a target, as described: create
    /// it, update what differs, or change nothing.
    #[command(after_help = "Example:
  sinch-webhooks ensure --app-id 01APP --target https://example.com/sinch \\
      --trigger MESSAGE_INBOUND --secret \"$SECRET\"")]
    Ensure {
        #[command(flatten)]
        webhook: Create,
        /// Set the secret even when Sinch's answer does not show it (what
        /// is not shown is otherwise not compared).
        #[arg(long)]
        rotate_secret: bool,
        /// Remove the webhook's secret when no --secret is given (refused
        /// otherwise: its callbacks could be forged).
        #[arg(long, conflicts_with = "secret")]
        clear_secret: bool,
        /// Accept triggers and target types this command does not know
        /// (newer than it); refused otherwise, before any request.
        #[arg(long)]
        allow_unknown_triggers: bool,
    },
    /// Make an app's webhooks (or many apps') exactly a file's.
    #[command(after_help = "Examples:
  sinch-webhooks sync --app-id 01APP --file webhooks.toml --dry-run
  sinch-webhooks sync --file tenants.toml --concurrency 16

A one-app file holds [[webhook]] tables (target, triggers, and optionally
secret, target_type, [webhook.client_credentials]) and needs --app-id; a
many-app file holds [[app]] tables (id, and [[app.webhook]] tables) and takes
no --app-id. Unknown tables or keys, wrong types and an empty set are refused
(exit 2, every problem with its line) before any request is made.")]
    Sync(Sync),
    /// Receive callbacks: verify each, hand each event over once, print a
    /// line per callback. Needs no API credentials.
    #[command(after_help = "Examples:
  sinch-webhooks listen --secret \"$SECRET\" --exec './handle-event.sh'
  sinch-webhooks listen --secret \"$SECRET\" --forward-to http://127.0.0.1:3000/sinch
  sinch-webhooks listen --secret \"$SECRET\" --redis redis://127.0.0.1:6379 --output json

Each new event is claimed (in memory, or in Redis shared by every listener
using it) for the lease, then handled: a command's exit 0 (or the forwarded
app's 2xx, or just printing it) answers 200 and records it as handled, so
Sinch's retries and duplicates get 200 without being handled again; anything
else answers 500 (502 for an app that cannot be reached) and releases it, so
Sinch's retry is handled. A copy arriving while the event is being handled
gets 503 with Retry-After. --exec runs CMD with sh -c: the body on stdin,
SINCH_TRIGGER, SINCH_EVENT_KEY, SINCH_APP_ID and SINCH_PROJECT_ID in its
environment, its output on stderr; a command still running at the lease's
end is killed with its process group. On Linux the command's shell also
dies with the listener, even by SIGKILL (processes it starts do not: exec
the last one, e.g. --exec 'exec ./handle-event.sh').

Lines (stdout): new, duplicate, in_progress or rejected, then the trigger,
the event's key, the status answered, and why in parentheses. Never a secret.")]
    Listen(Listen),
    /// Handle the events of a durable inbox: run a command per event, retry
    /// failures with back-off, dead-letter after --max-attempts. Any number
    /// of `work` processes share an inbox.
    #[command(after_help = "Example:
  sinch-webhooks work --redis redis://127.0.0.1:6379 --inbox callbacks --exec 'exec ./handle-event.sh'

CMD runs with sh -c: the body on stdin; SINCH_TRIGGER, SINCH_EVENT_KEY,
SINCH_APP_ID, SINCH_PROJECT_ID, SINCH_INBOX_ID (the first entry's id) and
SINCH_ATTEMPT (1 for the first) in its environment; exit 0 = handled. A
failure is retried after --backoff-ms, doubling (at most 5 min), by any
worker; after --max-attempts the event goes to the dead letters (see `inbox
dead-letters`, `inbox replay`). An event a killed worker left is taken over
after --visibility-secs, which is also the longest CMD may run. SIGTERM stops
reading and waits for running commands (--shutdown-secs). One line per
event: handled, retry or dead, the trigger, the key, the attempt, and why.")]
    Work(Work),
    /// Check a captured callback: does it verify, and if not, which part
    /// fails (a header, the algorithm, the timestamp and by how much, the
    /// signature). Never prints a secret. Exit 0 verified, 1 not, 2 invalid
    /// input.
    #[command(after_help = "Example:
  curl -s -D headers.txt -o /dev/null ...   # or your receiver's log
  sinch-webhooks verify --secret \"$SECRET\" --headers-file headers.txt --body-file body.json

The headers file holds `Name: value` lines, as `curl -D` writes them; the
body file is the body exactly as received.")]
    Verify(Verify),
    /// Send a realistic, correctly signed callback for any of the 21
    /// triggers to a receiver (yours, or `listen`), or print it.
    #[command(after_help = "Examples:
  sinch-webhooks trigger MESSAGE_INBOUND --secret \"$SECRET\" --forward-to http://127.0.0.1:8788/
  sinch-webhooks trigger MESSAGE_DELIVERY --secret s --forward-to http://127.0.0.1:8788/ \\
      --override message_delivery_report.status='\"FAILED\"' --count 10 --duplicate
  sinch-webhooks trigger CONTACT_CREATE --secret s --print

Bodies come from Sinch's published examples; ids are made distinct per
callback, the times are now. One line per callback: trigger, key, the status
the receiver answered. Exit 1 when any answer is not 2xx.")]
    Trigger(Trigger),
    /// Watch a durable inbox and replay its dead letters.
    #[command(subcommand)]
    Inbox(InboxCommand),
    /// Run a local stand-in for the Sinch Conversation API (webhooks) and
    /// its OAuth2 server, which also delivers signed events as Sinch does.
    /// Starts empty; the same as the `sinch-mock` binary.
    #[command(after_help = crate::stand_in::after_help())]
    StandIn(crate::stand_in::StandIn),
}

/// The trigger flags.
#[derive(Args)]
pub struct Trigger {
    /// The trigger, e.g. MESSAGE_INBOUND.
    pub trigger: String,
    /// The secret to sign with (the webhook's).
    #[arg(long, value_name = "S")]
    pub secret: String,
    /// Where to POST the callbacks.
    #[arg(long, value_name = "URL")]
    pub forward_to: Option<String>,
    /// The app the events are for [default: the example's].
    #[arg(long)]
    pub app_id: Option<String>,
    /// The project [default: the example's].
    #[arg(long)]
    pub project_id: Option<String>,
    /// Set a field: a dotted path and a JSON value (or a plain string), e.g.
    /// `message.contact_message.text_message.text=hello`. Repeatable.
    #[arg(long = "override", value_name = "PATH=VALUE")]
    pub overrides: Vec<String>,
    /// How many callbacks, each a distinct event.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub count: u32,
    /// Send each twice, signed afresh (as Sinch's at-least-once delivery may).
    #[arg(long)]
    pub duplicate: bool,
    /// Print the requests (headers and body) instead of sending them.
    #[arg(long)]
    pub print: bool,
}

/// The verify flags.
#[derive(Args)]
pub struct Verify {
    /// A secret the webhook may sign with (repeatable: while rotating).
    #[arg(long = "secret", value_name = "S", required = true)]
    pub secrets: Vec<String>,
    /// The callback's headers, one `Name: value` a line.
    #[arg(long, value_name = "FILE")]
    pub headers_file: PathBuf,
    /// The callback's body, exactly as received.
    #[arg(long, value_name = "FILE")]
    pub body_file: PathBuf,
    /// Accepted timestamp skew each way, in seconds (0: no check).
    #[arg(long, default_value_t = 300)]
    pub tolerance_secs: u64,
}

/// The work flags.
#[derive(Args)]
pub struct Work {
    /// The Redis holding the inbox (`redis://host:port`).
    #[arg(long, value_name = "URL")]
    pub redis: String,
    /// The inbox's name (as given to `listen --inbox`).
    #[arg(long, value_name = "NAME")]
    pub inbox: String,
    /// Run CMD (sh -c) per event, the body on stdin; exit 0 = handled.
    #[arg(long, value_name = "CMD")]
    pub exec: String,
    /// Commands running at once in this process.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub concurrency: u16,
    /// Attempts before an event goes to the dead letters.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub max_attempts: u32,
    /// The wait before the first retry, in ms (doubling after each failure,
    /// at most 5 minutes).
    #[arg(long, default_value_t = 1000)]
    pub backoff_ms: u64,
    /// How long an event may stay unacknowledged before another worker takes
    /// it over; also the longest CMD may run.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub visibility_secs: u64,
    /// After SIGTERM or Ctrl-C, how long to wait for running commands.
    #[arg(long, default_value_t = 30)]
    pub shutdown_secs: u64,
    /// Serve this process's metrics at http://ADDR/metrics (Prometheus'
    /// text format), the inbox's gauges among them.
    #[arg(long, value_name = "ADDR")]
    pub metrics_addr: Option<std::net::SocketAddr>,
}

/// The inbox subcommands.
#[derive(Subcommand)]
pub enum InboxCommand {
    /// Length, pending per worker (with idle time), retries waiting, dead
    /// letters, the oldest unhandled event's age.
    #[command(
        after_help = "Example:\n  sinch-webhooks inbox stats callbacks --redis redis://127.0.0.1:6379"
    )]
    Stats {
        /// The inbox.
        name: String,
        /// The Redis holding it.
        #[arg(long, value_name = "URL")]
        redis: String,
    },
    /// List the dead letters: id, trigger, key, attempts, last error.
    #[command(
        after_help = "Example:\n  sinch-webhooks inbox dead-letters callbacks --redis redis://127.0.0.1:6379"
    )]
    DeadLetters {
        /// The inbox.
        name: String,
        /// The Redis holding it.
        #[arg(long, value_name = "URL")]
        redis: String,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Put dead letters back into the inbox, attempts reset.
    #[command(after_help = "Examples:
  sinch-webhooks inbox replay callbacks --redis redis://127.0.0.1:6379 --id 1733600000000-0
  sinch-webhooks inbox replay callbacks --redis redis://127.0.0.1:6379 --all")]
    Replay {
        /// The inbox.
        name: String,
        /// The Redis holding it.
        #[arg(long, value_name = "URL")]
        redis: String,
        /// A dead letter's id (repeatable).
        #[arg(
            long = "id",
            value_name = "ID",
            required_unless_present = "all",
            conflicts_with = "all"
        )]
        ids: Vec<String>,
        /// Every dead letter.
        #[arg(long)]
        all: bool,
    },
}

/// The listen flags.
#[derive(Args)]
pub struct Listen {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8788")]
    pub addr: std::net::SocketAddr,
    /// The webhook's secret (required; repeat it while rotating: the new
    /// and the old one).
    #[arg(long = "secret", value_name = "S", required = true)]
    pub secrets: Vec<String>,
    /// The path callbacks are POSTed to.
    #[arg(long, default_value = "/")]
    pub path: String,
    /// Share claims and refused replays with every listener using this
    /// Redis (`redis://host:port`); in this process otherwise.
    #[arg(long, value_name = "URL")]
    pub redis: Option<String>,
    /// How long an event is held while it is handled; then another copy may
    /// be handled (and a command still running is killed).
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub lease_secs: u64,
    /// Run CMD (sh -c) per new event, the body on stdin; exit 0 = handled.
    #[arg(long, value_name = "CMD", conflicts_with = "forward_to")]
    pub exec: Option<String>,
    /// Append each new event to this durable inbox (a Redis stream; needs
    /// --redis) and answer 2xx once Redis has it; `work` handles them.
    #[arg(long, value_name = "NAME", requires = "redis", conflicts_with_all = ["exec", "forward_to"])]
    pub inbox: Option<String>,
    /// Re-send each new event's request (body and signature headers as
    /// received) to this URL; its status is the answer.
    #[arg(long, value_name = "URL")]
    pub forward_to: Option<String>,
    /// After SIGTERM or Ctrl-C, how long to wait for running handlers.
    #[arg(long, default_value_t = 30)]
    pub shutdown_secs: u64,
    /// Serve this process's metrics at http://ADDR/metrics (Prometheus'
    /// text format).
    #[arg(long, value_name = "ADDR")]
    pub metrics_addr: Option<std::net::SocketAddr>,
}

/// The create flags (also ensure's).
#[derive(Args)]
pub struct Create {
    /// The Conversation app.
    #[arg(long)]
    pub app_id: String,
    /// Where Sinch delivers events (an absolute http(s) URL).
    #[arg(long)]
    pub target: String,
    /// A trigger, repeatable [default: MESSAGE_INBOUND and MESSAGE_DELIVERY].
    #[arg(long = "trigger", value_name = "NAME")]
    pub triggers: Vec<String>,
    /// Secret Sinch signs callbacks with.
    #[arg(long)]
    pub secret: Option<String>,
    /// HTTP (deliver events) or DISMISS [default: HTTP].
    #[arg(long, value_name = "TYPE")]
    pub target_type: Option<String>,
    /// Validate and print what would be sent; send nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Args)]
pub struct Update {
    /// The webhook.
    #[arg(long)]
    pub id: String,
    /// A new target URL.
    #[arg(long)]
    pub target: Option<String>,
    /// The new triggers (repeatable; replaces them all).
    #[arg(long = "trigger", value_name = "NAME")]
    pub triggers: Vec<String>,
    /// A new secret.
    #[arg(long, conflicts_with = "clear_secret")]
    pub secret: Option<String>,
    /// Remove the secret.
    #[arg(long)]
    pub clear_secret: bool,
    /// HTTP or DISMISS.
    #[arg(long, value_name = "TYPE")]
    pub target_type: Option<String>,
    /// Validate and print what would be sent; send nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Args)]
pub struct Sync {
    /// The desired state (TOML).
    #[arg(long)]
    pub file: PathBuf,
    /// The app of a one-app file (`[[webhook]]` tables); not with `[[app]]` tables.
    #[arg(long)]
    pub app_id: Option<String>,
    /// Accept an empty set: delete every webhook of the app(s) concerned.
    #[arg(long)]
    pub allow_empty: bool,
    /// Set every secret even when Sinch's answer does not show it.
    #[arg(long)]
    pub rotate_secret: bool,
    /// Remove the secret of a webhook whose table has none (refused
    /// otherwise, before any change: its callbacks could be forged).
    #[arg(long)]
    pub clear_secret: bool,
    /// Accept triggers and target types this command does not know (newer
    /// than it); refused otherwise, with their lines, before any request.
    #[arg(long)]
    pub allow_unknown_triggers: bool,
    /// Print the plan (a diff: - delete, ~ update, + create); change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Share Sinch's 800 requests a second with every other process syncing
    /// the same project, through this Redis (`redis://host:port`).
    #[arg(long, value_name = "URL")]
    pub redis: Option<String>,
    /// Apps synced at once (many-app files).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,
}

/// `Probe::<T>::DEBUG` is `true` when `T: Debug` (the inherent const wins),
/// `false` otherwise (only the trait's applies).
struct Probe<T>(std::marker::PhantomData<T>);

trait NotDebug {
    const DEBUG: bool = false;
}

impl<T> NotDebug for Probe<T> {}

impl<T: std::fmt::Debug> Probe<T> {
    const DEBUG: bool = true;
}

// Checked when the command is built: an argument type that derives `Debug`
// could print its secrets.
const _: () = {
    assert!(Probe::<String>::DEBUG, "the probe tells");
    assert!(!Probe::<Cli>::DEBUG, "Cli must not derive Debug");
    assert!(!Probe::<Command>::DEBUG, "Command must not derive Debug");
    assert!(!Probe::<Create>::DEBUG, "Create must not derive Debug");
    assert!(!Probe::<Update>::DEBUG, "Update must not derive Debug");
    assert!(!Probe::<Sync>::DEBUG, "Sync must not derive Debug");
    assert!(!Probe::<Listen>::DEBUG, "Listen must not derive Debug");
    assert!(!Probe::<Work>::DEBUG, "Work must not derive Debug");
    assert!(!Probe::<Verify>::DEBUG, "Verify must not derive Debug");
    assert!(!Probe::<Trigger>::DEBUG, "Trigger must not derive Debug");
    assert!(
        !Probe::<InboxCommand>::DEBUG,
        "InboxCommand must not derive Debug"
    );
    assert!(
        !Probe::<crate::stand_in::StandIn>::DEBUG,
        "StandIn must not derive Debug"
    );
};
