//! A small receiver for Sinch callbacks that verifies every signature.
//!
//! ```text
//! cargo run --example receive_callbacks -- --secret S [--addr 127.0.0.1:8788] [--tolerance-secs 300]
//! ```
//!
//! Prints its URL as the first line on stdout, then each verified event as one
//! line of JSON. A valid callback gets 200; an invalid one 401 with the reason
//! in the body. `--tolerance-secs 0` turns the timestamp check off.
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use sinch_conversation::callbacks::Verifier;

const HELP: &str = "\
receive_callbacks: verify and print Sinch Conversation API callbacks

Options:
  --secret S            the webhook's secret (required)
  --addr ADDR           listen address (default 127.0.0.1:8788)
  --tolerance-secs N    accepted timestamp skew each way (default 300; 0 = no check)
  -h, --help            this text
";

async fn receive(
    State(verifier): State<Verifier>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    // Verify the raw bytes first; parse only what is authentic.
    if let Err(reason) = verifier.verify(&headers, &body) {
        eprintln!("rejected: {reason}");
        return (StatusCode::UNAUTHORIZED, format!("{reason}\n"));
    }
    match serde_json::from_slice::<serde_json::Value>(&body) {
        Ok(event) => {
            println!("{event}");
            (StatusCode::OK, String::new())
        }
        Err(e) => (StatusCode::BAD_REQUEST, format!("not JSON: {e}\n")),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let mut addr = SocketAddr::from(([127, 0, 0, 1], 8788));
    let mut secret = None;
    let mut tolerance = Verifier::DEFAULT_TOLERANCE.as_secs();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "-h" || flag == "--help" {
            print!("{HELP}");
            return ExitCode::SUCCESS;
        }
        let Some(value) = args.next() else {
            eprintln!("error: {flag} needs a value\n\n{HELP}");
            return ExitCode::from(2);
        };
        let parsed = match flag.as_str() {
            "--addr" => value.parse().map(|a| addr = a).map_err(|e| e.to_string()),
            "--secret" => {
                secret = Some(value);
                Ok(())
            }
            "--tolerance-secs" => value
                .parse()
                .map(|t| tolerance = t)
                .map_err(|e| format!("{e}")),
            other => Err(format!("unknown option {other}")),
        };
        if let Err(e) = parsed {
            eprintln!("error: {flag}: {e}\n\n{HELP}");
            return ExitCode::from(2);
        }
    }
    let Some(secret) = secret else {
        eprintln!("error: --secret is required\n\n{HELP}");
        return ExitCode::from(2);
    };
    let verifier = match tolerance {
        0 => Verifier::new(secret).without_timestamp_check(),
        secs => Verifier::new(secret).tolerance(Duration::from_secs(secs)),
    };
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("error: cannot listen on {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    match listener.local_addr() {
        Ok(bound) => println!("http://{bound}"),
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    }
    let app = axum::Router::new().fallback(receive).with_state(verifier);
    let stop = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    match axum::serve(listener, app)
        .with_graceful_shutdown(stop)
        .await
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
