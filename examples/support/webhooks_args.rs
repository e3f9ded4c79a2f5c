//! `webhooks`' command line (a module of its own so that `tests/fuzz.rs`
//! can run it on any input).
#![allow(dead_code)]

#[derive(Default)]
pub struct Args {
    pub command: String,
    pub app_id: Option<String>,
    pub id: Option<String>,
    pub target: Option<String>,
    pub triggers: Vec<String>,
    pub secret: Option<String>,
    pub clear_secret: bool,
    pub target_type: Option<String>,
    pub dry_run: bool,
    pub file: Option<String>,
}

pub fn parse(mut args: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut parsed = Args::default();
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--dry-run" => parsed.dry_run = true,
            "--clear-secret" => parsed.clear_secret = true,
            "--app-id" => parsed.app_id = Some(value()?),
            "--id" => parsed.id = Some(value()?),
            "--target" => parsed.target = Some(value()?),
            "--trigger" => parsed.triggers.push(value()?),
            "--secret" => parsed.secret = Some(value()?),
            "--target-type" => parsed.target_type = Some(value()?),
            "--file" => parsed.file = Some(value()?),
            command if parsed.command.is_empty() && !command.starts_with('-') => {
                parsed.command = command.to_owned();
            }
            other => return Err(format!("unexpected argument {other}")),
        }
    }
    const COMMANDS: &str = "create, list, get, update, delete, ensure or sync";
    match parsed.command.as_str() {
        "" => Err(format!("no command: {COMMANDS}")),
        "get" | "update" | "delete" if parsed.id.is_none() => {
            Err(format!("{} needs --id", parsed.command))
        }
        "sync" if parsed.file.is_none() => Err("sync needs --file".to_owned()),
        "create" | "list" | "get" | "update" | "delete" | "ensure" | "sync" => Ok(Some(parsed)),
        other => Err(format!("unknown command {other:?}: {COMMANDS}")),
    }
}
