//! `create_webhook`'s command line (a module of its own so that
//! `tests/fuzz.rs` can run it on any input).
#![allow(dead_code)]

#[derive(Default)]
pub struct Args {
    pub app_id: Option<String>,
    pub target: Option<String>,
    pub triggers: Vec<String>,
    pub secret: Option<String>,
    pub dry_run: bool,
}

pub fn parse(mut args: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut parsed = Args::default();
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--dry-run" => parsed.dry_run = true,
            "--app-id" => parsed.app_id = Some(value()?),
            "--target" => parsed.target = Some(value()?),
            "--trigger" => parsed.triggers.push(value()?),
            "--secret" => parsed.secret = Some(value()?),
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(Some(parsed))
}
