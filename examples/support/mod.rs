//! What the examples share: a client for the real API when the environment
//! configures one, the embedded stand-in otherwise; JSON output with secrets
//! redacted; errors reported with the examples' exit codes (0 done, 1 the
//! API or the network failed, 2 invalid input).
#![allow(dead_code)]

use std::process::ExitCode;

use sinch_conversation::mock::MockServer;
use sinch_conversation::{Client, Error, ValidationErrors, env};

/// The command line parsed by `parse` (`None` asks for help), or the exit
/// code after printing the help (0) or the problem and the help (2).
pub fn arguments<T>(
    parse: impl FnOnce(std::iter::Skip<std::env::Args>) -> Result<Option<T>, String>,
    help: &str,
) -> Result<T, ExitCode> {
    match parse(std::env::args().skip(1)) {
        Ok(Some(args)) => Ok(args),
        Ok(None) => {
            print!("{help}");
            Err(ExitCode::SUCCESS)
        }
        Err(message) => {
            eprintln!("error: {message}\n\n{help}");
            Err(ExitCode::from(2))
        }
    }
}

/// Where the example's requests go.
pub struct Target {
    pub client: Client,
    /// The stand-in, kept alive while the example runs; `None` for the real API.
    pub stand_in: Option<MockServer>,
}

/// The real API when `SINCH_PROJECT_ID`, `SINCH_KEY_ID` and
/// `SINCH_KEY_SECRET` are set (with `SINCH_CONVERSATION_REGION` or
/// `SINCH_CONVERSATION_BASE_URL`, and optionally `SINCH_AUTH_BASE_URL`), an
/// embedded stand-in otherwise.
pub async fn connect() -> Result<Target, ExitCode> {
    let configured = [env::PROJECT_ID, env::KEY_ID, env::KEY_SECRET]
        .iter()
        .all(|name| std::env::var(name).is_ok_and(|v| !v.is_empty()));
    if configured {
        return match Client::from_env() {
            Ok(client) => Ok(Target {
                client,
                stand_in: None,
            }),
            Err(e) => {
                eprintln!("error: {e}");
                Err(ExitCode::from(2))
            }
        };
    }
    let server = MockServer::start().await.map_err(|e| {
        eprintln!("error: cannot start the local Sinch stand-in: {e}");
        ExitCode::FAILURE
    })?;
    match server.client_builder().build() {
        Ok(client) => Ok(Target {
            client,
            stand_in: Some(server),
        }),
        Err(e) => {
            eprintln!("error: {e}");
            Err(ExitCode::FAILURE)
        }
    }
}

/// Pretty JSON of `value` with every secret as `***`.
pub fn print_json(value: &impl serde::Serialize) {
    let value = sinch_conversation::redacted_json(value);
    println!(
        "{}",
        serde_json::to_string_pretty(&value).unwrap_or_else(|_| value.to_string())
    );
}

/// Every violation, then exit code 2.
pub fn invalid(errors: &ValidationErrors) -> ExitCode {
    eprintln!("invalid request:");
    for violation in errors.violations() {
        eprintln!("  {violation}");
    }
    ExitCode::from(2)
}

/// The error, with the exit code it means.
pub fn failed(error: &Error) -> ExitCode {
    match error {
        Error::Validation(errors) => invalid(errors),
        Error::Config(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
        Error::Api(e) => {
            eprintln!(
                "error: Sinch answered {}: {}",
                e.status(),
                e.message().unwrap_or(e.body())
            );
            ExitCode::FAILURE
        }
        e => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
