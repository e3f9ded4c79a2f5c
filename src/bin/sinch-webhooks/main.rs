//! `sinch-webhooks`: every webhook operation from the command line, and
//! provisioning (`ensure`, `sync`) that a deploy job can run unattended.
//!
//! ```text
//! cargo install sinch-conversation --features cli
//! sinch-webhooks sync --app-id 01APP --file webhooks.toml --dry-run
//! ```
//!
//! `--help` on every subcommand lists its flags, with examples. Exit codes:
//! 0 done, 1 the API or the network failed (or answered what is not safe
//! to act on: nothing was changed), 2 invalid input (nothing was sent).
/// `println!` that never panics: with stdout closed (`… | head -0`) the
/// text is lost, the command's own exit status is kept.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// `print!` that never panics (see `say!`).
macro_rules! say_raw {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout().lock(), $($arg)*);
    }};
}

mod args;
mod command;
mod file;
mod inbox;
mod listen;
mod metrics;
mod show;
mod stand_in;
mod trigger;
mod verify;

use std::io::IsTerminal as _;
use std::path::Path;
use std::process::ExitCode;

use clap::Parser as _;
use sinch_conversation::mock::MockServer;
use sinch_conversation::types::Webhook;
use sinch_conversation::{
    AppSync, Client, ClientBuilder, Ensured, Error, NewWebhook, SyncOptions, WebhookTargetType,
    WebhookTrigger, env,
};

use args::{Cli, Command, Output};
use show::{AppReport, FAILED, INVALID};
use sinch_conversation::shared::RedisRateLimit;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version go to stdout with 0; usage errors to stderr with 2.
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(INVALID)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    // The desired state is read and checked before anything else: a bad
    // file makes no request of any kind, not even for a token.
    let sync_input = match &cli.command {
        Command::Sync(sync) => match read_sync_input(sync) {
            Ok(input) => Some(input),
            Err(code) => return code,
        },
        _ => None,
    };
    if let Command::StandIn(flags) = &cli.command {
        return stand_in::run(flags, "sinch-webhooks stand-in");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(FAILED);
        }
    };
    // Receiving needs no API credentials and no stand-in.
    match &cli.command {
        Command::Listen(flags) => return runtime.block_on(listen::run(flags, cli.output)),
        Command::Work(flags) => return runtime.block_on(inbox::work(flags, cli.output)),
        Command::Inbox(command) => return runtime.block_on(inbox::admin(command, cli.output)),
        Command::Verify(flags) => return verify::run(flags, cli.output),
        Command::Trigger(flags) => return runtime.block_on(trigger::run(flags, cli.output)),
        _ => {}
    }
    runtime.block_on(async move {
        let redis = match &cli.command {
            Command::Sync(sync) => sync.redis.as_deref(),
            _ => None,
        };
        let target = match connect(cli.stand_in, redis, cli.output).await {
            Ok(target) => target,
            Err(code) => return code,
        };
        let code = match (&cli.command, sync_input) {
            (Command::Sync(sync), Some(input)) => {
                run_sync(&target.client, cli.output, sync, input).await
            }
            (command, _) => match run(&target.client, cli.output, command).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => show::failed(cli.output, &e),
            },
        };
        if target.stand_in.is_some() {
            eprintln!(
                "note: this ran against an embedded Sinch stand-in at {}, not the real API.",
                target.client.base_url()
            );
        }
        code
    })
}

/// Where requests go.
struct Target {
    client: Client,
    /// Kept alive while the command runs; `None` for the API.
    stand_in: Option<MockServer>,
}

/// The stand-in's seeded webhook.
const DEMO_ID: &str = "demo-webhook";
const DEMO_APP: &str = "demo-app";

/// The API from the `SINCH_*` variables, or with `--stand-in` an embedded
/// stand-in seeded with one webhook. Never a stand-in by default: a deploy
/// job whose variables are missing must fail, not succeed against a fake.
async fn connect(stand_in: bool, redis: Option<&str>, output: Output) -> Result<Target, ExitCode> {
    if let Some(url) = redis
        && !is_redis_url(url)
    {
        eprintln!("error: --redis must be a redis://, rediss:// or unix:// URL");
        return Err(ExitCode::from(INVALID));
    }
    // The project's budget, shared through Redis with other processes.
    let shared = match redis {
        Some(url) => Some(
            RedisRateLimit::connect(url, ClientBuilder::SINCH_RATE_LIMIT)
                .await
                .map_err(|e| {
                    eprintln!("error: --redis: {e}");
                    ExitCode::from(FAILED)
                })?,
        ),
        None => None,
    };
    let with_shared = |builder: ClientBuilder| match shared {
        Some(limit) => builder.shared_rate_limit(limit),
        None => builder,
    };
    if !stand_in {
        let configured = [env::PROJECT_ID, env::KEY_ID, env::KEY_SECRET]
            .iter()
            .any(|name| std::env::var(name).is_ok_and(|v| !v.is_empty()));
        if !configured {
            eprintln!(
                "error: no Sinch credentials: set {}, {}, {} and {} (or {}), \
                 or pass --stand-in to try the command against an embedded stand-in",
                env::PROJECT_ID,
                env::KEY_ID,
                env::KEY_SECRET,
                env::REGION,
                env::BASE_URL
            );
            return Err(ExitCode::from(INVALID));
        }
        // Sinch's limit is per project: many apps synced at once stay in it.
        let client = ClientBuilder::from_env()
            .and_then(|b| with_shared(b.rate_limit(ClientBuilder::SINCH_RATE_LIMIT)).build())
            .map_err(|e| show::failed(output, &e))?;
        return Ok(Target {
            client,
            stand_in: None,
        });
    }
    let server = MockServer::start().await.map_err(|e| {
        eprintln!("error: cannot start the embedded stand-in: {e}");
        ExitCode::from(FAILED)
    })?;
    let demo = serde_json::json!({
        "id": DEMO_ID,
        "app_id": DEMO_APP,
        "target": "https://example.com/sinch/demo",
        "target_type": "HTTP",
        "triggers": ["MESSAGE_INBOUND"],
        "secret": "demo-secret",
    });
    if let Ok(demo) = serde_json::from_value::<Webhook>(demo) {
        server.seed_webhook(demo);
    }
    let client = with_shared(server.client_builder())
        .build()
        .map_err(|e| show::failed(output, &e))?;
    Ok(Target {
        client,
        stand_in: Some(server),
    })
}

async fn run(client: &Client, output: Output, command: &Command) -> Result<(), Error> {
    match command {
        Command::Create(flags) => {
            let request = create_flags!(client.create_webhook(&flags.app_id, &flags.target), flags);
            if flags.dry_run {
                dry_run(client, "POST", "webhooks", &request.build()?);
                return Ok(());
            }
            show::webhook(output, &request.send().await?);
        }
        Command::Ensure {
            webhook: flags,
            rotate_secret,
            clear_secret,
            allow_unknown_triggers,
        } => {
            let mut request =
                create_flags!(client.ensure_webhook(&flags.app_id, &flags.target), flags);
            if *rotate_secret {
                request = request.rotate_secrets();
            }
            if *clear_secret {
                request = request.clear_secret();
            }
            if *allow_unknown_triggers {
                request = request.allow_unknown_values();
            }
            if flags.dry_run {
                dry_run(client, "ensure", "webhooks", &request.build()?);
                return Ok(());
            }
            let ensured = request.send().await?;
            let (outcome, fields) = match &ensured {
                Ensured::Created(_) => ("created", Vec::new()),
                Ensured::Updated { fields, .. } => ("updated", fields.clone()),
                Ensured::Unchanged(_) => ("unchanged", Vec::new()),
                _ => ("done", Vec::new()),
            };
            match output {
                Output::Json => say!(
                    "{}",
                    show::json_text(&serde_json::json!({
                        "outcome": outcome,
                        "fields": fields,
                        "webhook": ensured.webhook(),
                    }))
                ),
                Output::Text => {
                    let what = if fields.is_empty() {
                        outcome.to_owned()
                    } else {
                        format!("{outcome} ({})", fields.join(", "))
                    };
                    say_raw!("{what}: {}", show::webhook_lines(ensured.webhook()));
                }
            }
        }
        Command::List {
            app_id,
            dry_run: true,
        } => {
            sinch_conversation::validate::check_id("app_id", app_id)?;
            dry_run(client, "GET", &format!("apps/{app_id}/webhooks"), &());
        }
        Command::List { app_id, .. } => {
            let webhooks = client.list_webhooks(app_id).await?;
            match output {
                Output::Json => say!("{}", show::json_text(&webhooks)),
                Output::Text if webhooks.is_empty() => say!("app {app_id} has no webhooks"),
                Output::Text => webhooks
                    .iter()
                    .for_each(|w| say_raw!("{}", show::webhook_lines(w))),
            }
        }
        Command::Get { id, dry_run: true } | Command::Delete { id, dry_run: true } => {
            let method = if matches!(command, Command::Get { .. }) {
                "GET"
            } else {
                "DELETE"
            };
            sinch_conversation::validate::check_id("webhook_id", id)?;
            dry_run(client, method, &format!("webhooks/{id}"), &());
        }
        Command::Get { id, .. } => show::webhook(output, &client.get_webhook(id).await?),
        Command::Delete { id, .. } => {
            client.delete_webhook(id).await?;
            match output {
                Output::Json => say!("{}", serde_json::json!({ "deleted": id })),
                Output::Text => say!("deleted {id}"),
            }
        }
        Command::Update(flags) => {
            let mut request = client.update_webhook(&flags.id);
            if let Some(target) = &flags.target {
                request = request.target(target.as_str());
            }
            if !flags.triggers.is_empty() {
                request = request.triggers(flags.triggers.iter().map(String::as_str));
            }
            if let Some(secret) = &flags.secret {
                request = request.secret(secret.as_str());
            }
            if flags.clear_secret {
                request = request.clear_secret();
            }
            if let Some(kind) = &flags.target_type {
                request = request.target_type(WebhookTargetType::from(kind.as_str()));
            }
            if flags.dry_run {
                let built = request.build()?;
                let path = format!(
                    "webhooks/{}?update_mask={}",
                    flags.id,
                    built.update_mask.join(",")
                );
                dry_run(client, "PATCH", &path, &built.body);
                return Ok(());
            }
            show::webhook(output, &request.send().await?);
        }
        // Handled before a client is made.
        Command::Sync(_)
        | Command::Listen(_)
        | Command::Work(_)
        | Command::Inbox(_)
        | Command::StandIn(_)
        | Command::Verify(_)
        | Command::Trigger(_) => {}
    }
    Ok(())
}

/// The create flags (`--trigger`, default MESSAGE_INBOUND and
/// MESSAGE_DELIVERY; `--secret`; `--target-type`) on a create or ensure
/// builder (they have the same setters).
macro_rules! create_flags {
    ($request:expr, $flags:expr) => {{
        let mut request = if $flags.triggers.is_empty() {
            $request.triggers([
                WebhookTrigger::MessageInbound,
                WebhookTrigger::MessageDelivery,
            ])
        } else {
            $request.triggers($flags.triggers.iter().map(String::as_str))
        };
        if let Some(secret) = &$flags.secret {
            request = request.secret(secret.as_str());
        }
        if let Some(kind) = &$flags.target_type {
            request = request.target_type(WebhookTargetType::from(kind.as_str()));
        }
        request
    }};
}
use create_flags;

/// Prints the body (if any, secrets as `***`) and what would have been sent.
fn dry_run(client: &Client, method: &str, path: &str, body: &impl serde::Serialize) {
    if serde_json::to_value(body).is_ok_and(|v| !v.is_null()) {
        say!("{}", show::json_text(body));
    }
    eprintln!(
        "dry run: {method} {}/v1/projects/{}/{path}; nothing was sent",
        client.base_url(),
        client.project_id()
    );
}

/// A sync's apps, read and checked.
struct SyncInput {
    apps: Vec<(AppSync, Vec<file::DesiredWebhook>, usize)>,
}

/// Reads the file and checks it with the flags: every problem at once,
/// exit 2, before any request.
fn read_sync_input(sync: &args::Sync) -> Result<SyncInput, ExitCode> {
    let path = sync.file.display().to_string();
    let refuse = |problems: Vec<String>| {
        eprintln!("{path}: refused, nothing was sent:");
        for problem in problems {
            eprintln!("  {problem}");
        }
        ExitCode::from(INVALID)
    };
    let text = read_text(&sync.file).map_err(|e| refuse(vec![e]))?;
    let desired = file::parse(&text)
        .map_err(|problems| refuse(problems.iter().map(ToString::to_string).collect()))?;
    let mut options = SyncOptions::default();
    if sync.allow_empty {
        options = options.allow_empty();
    }
    if sync.rotate_secret {
        options = options.rotate_secrets();
    }
    if sync.allow_unknown_triggers {
        options = options.allow_unknown_values();
    }
    if sync.clear_secret {
        options = options.clear_secrets();
    }
    let apps = match (desired.apps, &sync.app_id) {
        (Some(_), Some(_)) => {
            return Err(refuse(vec![
                "--app-id goes with [[webhook]] tables; this file has [[app]] tables, each with its id"
                    .to_owned(),
            ]));
        }
        (None, None) => {
            return Err(refuse(vec![
                "[[webhook]] tables need --app-id (or use [[app]] tables with an id each)"
                    .to_owned(),
            ]));
        }
        (Some(apps), None) if apps.is_empty() => {
            return Err(refuse(vec![
                "the file names no app: nothing to sync (a many-app file needs [[app]] tables, each with its id)"
                    .to_owned(),
            ]));
        }
        (Some(apps), None) => apps
            .into_iter()
            .map(|app| (app.id, app.webhooks, app.line))
            .collect(),
        (None, Some(app_id)) => vec![(app_id.clone(), desired.webhooks, 1)],
    };
    let mut problems = Vec::new();
    let apps: Vec<_> = apps
        .into_iter()
        .map(|(app_id, webhooks, line)| {
            let set: Vec<NewWebhook> = webhooks.iter().map(|w| w.webhook.clone()).collect();
            let app = AppSync::new(&app_id, set).with_options(options);
            if let Err(errors) = app.validate() {
                for violation in errors.violations() {
                    let path = violation.path();
                    let at = path
                        .strip_prefix("webhooks[")
                        .and_then(|rest| rest.split_once(']'))
                        .and_then(|(i, rest)| {
                            let i: usize = i.parse().ok()?;
                            Some(webhooks.get(i)?.line_of(rest.trim_start_matches('.')))
                        })
                        .unwrap_or(line);
                    problems.push(format!("line {at}: app {app_id:?}: {violation}"));
                }
            }
            (app, webhooks, line)
        })
        .collect();
    if !problems.is_empty() {
        return Err(refuse(problems));
    }
    Ok(SyncInput { apps })
}

fn read_text(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read it: {e}"))
}

/// Plans (dry run) or applies every app's sync, with progress on stderr,
/// then prints one report per app.
async fn run_sync(
    client: &Client,
    output: Output,
    sync: &args::Sync,
    input: SyncInput,
) -> ExitCode {
    let total = input.apps.len();
    let progress = Progress::new(total, output);
    let apps: Vec<AppSync> = input.apps.into_iter().map(|(app, _, _)| app).collect();
    let concurrency = usize::from(sync.concurrency);
    let reports: Vec<AppReport> = if sync.dry_run {
        let planned = client.plan_many(apps, concurrency, |outcome| {
            progress.done(&AppReport::planned(outcome))
        });
        planned.await.iter().map(AppReport::planned).collect()
    } else {
        let synced = client.sync_many(apps, concurrency, |outcome| {
            progress.done(&AppReport::synced(outcome))
        });
        synced.await.iter().map(AppReport::synced).collect()
    };
    progress.finish();
    let failed = reports.iter().filter(|r| r.error.is_some()).count();
    match output {
        Output::Json => {
            let apps: Vec<_> = reports.iter().map(AppReport::json).collect();
            say!("{}", show::json_text(&serde_json::json!({ "apps": apps })));
        }
        Output::Text => {
            for report in &reports {
                say_raw!("{}", report.text());
            }
            if total > 1 {
                say!("{} app(s): {} ok, {failed} failed", total, total - failed);
            }
        }
    }
    if failed > 0 || reports.len() != total {
        ExitCode::from(FAILED)
    } else {
        ExitCode::SUCCESS
    }
}

/// Progress over apps on stderr: a bar on a terminal, a line per app
/// otherwise (logs of a deploy job). Silent for one app.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    lines: bool,
    total: usize,
    done: std::sync::atomic::AtomicUsize,
}

impl Progress {
    fn new(total: usize, output: Output) -> Self {
        let terminal = std::io::stderr().is_terminal();
        let many = total > 1;
        let bar = (many && terminal).then(|| {
            let bar = indicatif::ProgressBar::new(total as u64);
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} apps ({eta} left) {msg}",
            ) {
                bar.set_style(style);
            }
            bar
        });
        Self {
            bar,
            lines: many && !terminal && output == Output::Text,
            total,
            done: Default::default(),
        }
    }

    fn done(&self, report: &AppReport) {
        let done = self.done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        if let Some(bar) = &self.bar {
            bar.set_message(report.summary());
            bar.inc(1);
        } else if self.lines {
            eprintln!("[{done}/{}] {}", self.total, report.summary());
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Whether `url` is a Redis URL the client accepts (its syntax only: it is
/// not contacted). Anything else is invalid input (exit 2).
pub fn is_redis_url(url: &str) -> bool {
    redis::Client::open(url).is_ok()
}
