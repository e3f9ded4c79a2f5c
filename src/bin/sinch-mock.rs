//! `sinch-mock`: the embedded Sinch stand-in as a process, for other languages'
//! SDKs and for manual testing. The same as `sinch-webhooks stand-in`, on
//! the same parser (this binary includes its module), with the flags, help
//! and output `sinch-mock` has always had.
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
#[path = "sinch-webhooks/stand_in.rs"]
mod stand_in;

use std::ffi::OsString;
use std::io::Write as _;
use std::process::ExitCode;

use clap::{Args as _, FromArgMatches as _};
use stand_in::StandIn;

/// The whole help: the flags, then the admin route.
fn help() -> String {
    format!("{}\n{}", stand_in::MOCK_HELP, stand_in::ADMIN)
}

/// `sinch-mock`'s command line: the stand-in's flags, with its own help.
fn command() -> clap::Command {
    StandIn::augment_args(clap::Command::new("sinch-mock"))
        .override_usage("sinch-mock [OPTIONS]")
        .override_help(help())
        .disable_version_flag(true)
}

/// The flags, `Ok(None)` for `-h`/`--help`, or clap's message.
fn parse<T: Into<OsString> + Clone>(
    args: impl IntoIterator<Item = T>,
) -> Result<Option<StandIn>, clap::Error> {
    let name = std::iter::once(OsString::from("sinch-mock"));
    match command().try_get_matches_from(name.chain(args.into_iter().map(Into::into))) {
        Ok(matches) => StandIn::from_arg_matches(&matches).map(Some),
        Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelp => Ok(None),
        Err(e) => Err(e),
    }
}

fn main() -> ExitCode {
    match parse(std::env::args_os().skip(1)) {
        Ok(Some(args)) => stand_in::run(&args, "sinch-mock"),
        Ok(None) => {
            let _ = writeln!(std::io::stdout().lock(), "{}", help().trim_end());
            ExitCode::SUCCESS
        }
        Err(e) => {
            let _ = writeln!(std::io::stderr().lock(), "sinch-mock: {}", e.render());
            ExitCode::from(2)
        }
    }
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
        let args = |a: &[&str]| parse(a.iter().map(|s| s.to_string())).map_err(|e| e.to_string());
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
        assert_eq!(parsed.token_lifetime_secs, u64::MAX);
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
            assert!(help().contains(flag), "{flag}");
        }
        // And the parser knows each one.
        for flag in FLAGS {
            let refused = parse([flag.to_string(), "1".into()]).err();
            assert!(
                !refused.is_some_and(|e| e.kind() == clap::error::ErrorKind::UnknownArgument
                    && e.to_string().contains(&format!("'{flag}'"))),
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
            match parse(args) {
                Ok(_) => {}
                Err(e) => prop_assert!(!e.to_string().is_empty()),
            }
        }
    }
}
