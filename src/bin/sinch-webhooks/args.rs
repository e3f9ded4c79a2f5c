//! The command line (clap).
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
#[derive(Debug, Parser)]
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

#[derive(Debug, Subcommand)]
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
}

/// The create flags (also ensure's).
#[derive(Debug, Args)]
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

#[derive(Debug, Args)]
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

#[derive(Debug, Args)]
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
