//! `--metrics-addr`: this process's metrics at `/metrics`, in Prometheus'
//! text format (see `sinch_conversation::metrics` for the names).
use std::net::SocketAddr;
use std::process::ExitCode;

use axum::Router;
use axum::extract::State;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use sinch_conversation::inbox::Inbox;

use crate::show::FAILED;

/// Histogram buckets, in seconds: from a signature check (tens of µs) to a
/// handler at its lease's end.
const BUCKETS: &[f64] = &[
    0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0, 30.0, 60.0,
];

#[derive(Clone)]
struct Exporter {
    handle: PrometheusHandle,
    /// Its gauges are read from Redis at each scrape.
    inbox: Option<Inbox>,
}

/// Installs the Prometheus recorder and serves it at `http://addr/metrics`
/// in the background, for as long as the process runs.
pub async fn serve(addr: SocketAddr, inbox: Option<Inbox>) -> Result<(), ExitCode> {
    let handle = PrometheusBuilder::new()
        .set_buckets(BUCKETS)
        .and_then(PrometheusBuilder::install_recorder)
        .map_err(|e| {
            eprintln!("error: --metrics-addr: {e}");
            ExitCode::from(FAILED)
        })?;
    sinch_conversation::metrics::describe();
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        eprintln!("error: --metrics-addr: cannot listen on {addr}: {e}");
        ExitCode::from(FAILED)
    })?;
    let bound = listener.local_addr().unwrap_or(addr);
    let app = Router::new()
        .route("/metrics", axum::routing::get(render))
        .with_state(Exporter { handle, inbox });
    eprintln!("metrics on http://{bound}/metrics");
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            eprintln!("error: metrics server: {e}");
        }
    });
    Ok(())
}

async fn render(State(exporter): State<Exporter>) -> ([(&'static str, &'static str); 1], String) {
    if let Some(inbox) = &exporter.inbox
        && let Err(e) = inbox.record_metrics().await
    {
        tracing::debug!(error = %e, "inbox gauges not refreshed");
    }
    exporter.handle.run_upkeep();
    (
        [("content-type", "text/plain; version=0.0.4; charset=utf-8")],
        exporter.handle.render(),
    )
}
