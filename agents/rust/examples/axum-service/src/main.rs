//! A small inventory service traced by FlowTrace: `flowtrace::init_layer()` in `main`, the FlowTrace
//! layer on the router, `#[flowtrace::trace]` on the code. Used by the Node.js → gin → axum
//! end-to-end test and the compose demo.
//!
//! Port: `--port N` or `PORT` (default 8083); address: `ADDR` (default 0.0.0.0, as in a
//! container). `DOWNSTREAM_URL`, when set, is called (GET) on every
//! `/stock` request, with the trace, baggage and `x-request-id` propagated. SIGINT or SIGTERM stops
//! it and flushes the spans. Logs (`tracing` events) go to stdout as text, or as JSON with
//! `LOG_FORMAT=json`, carrying trace and correlation IDs as `FLOWTRACE_LOG_CORRELATION` says, and
//! to the collector as OTLP log records (`OTEL_LOGS_EXPORTER`).

mod inventory;

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Extension, Json, Router};
use flowtrace::axum::CorrelationId;
use inventory::{Inventory, StockReport};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::Layer;

#[derive(Clone)]
struct App {
    inventory: std::sync::Arc<Inventory>,
    client: reqwest_middleware::ClientWithMiddleware,
    downstream: Option<String>,
}

async fn stock(
    State(app): State<App>,
    Path(sku): Path<String>,
    Extension(CorrelationId(correlation_id)): Extension<CorrelationId>,
) -> Json<StockReport> {
    tracing::info!(sku = %sku, "stock requested"); // inside the server span: with its IDs
    let mut report = app.inventory.report(&sku, "sk_live_example_api_key").await;
    if let Some(url) = &app.downstream {
        report.downstream_status = app.client.get(url).send().await.map(|r| r.status().as_u16()).ok();
    }
    report.correlation_id = correlation_id;
    Json(report)
}

fn port() -> u16 {
    let args: Vec<String> = std::env::args().collect();
    let flag = args.iter().position(|a| a == "--port").and_then(|i| args.get(i + 1)).cloned();
    flag.or_else(|| std::env::var("PORT").ok()).and_then(|p| p.parse().ok()).unwrap_or(8083)
}

/// SIGINT or SIGTERM: the server stops, then `main` returns and the guard flushes the spans.
async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

#[tokio::main]
async fn main() {
    // FlowTrace's layer (spans, and events as OTLP log records) beside the application's own log
    // output, whose lines flowtrace::logs fills with the IDs.
    let (flowtrace_layer, _flowtrace) = flowtrace::init_layer();
    let json = std::env::var("LOG_FORMAT").is_ok_and(|f| f == "json");
    let subscriber = tracing_subscriber::registry()
        .with(flowtrace_layer)
        .with(json.then(|| flowtrace::logs::json_layer().with_filter(LevelFilter::INFO)))
        .with((!json).then(|| flowtrace::logs::text_layer().with_filter(LevelFilter::INFO)));
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");
    let app = App {
        inventory: std::sync::Arc::new(Inventory::sample()),
        client: reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
            .with(flowtrace::reqwest::Propagation)
            .build(),
        downstream: std::env::var("DOWNSTREAM_URL").ok().filter(|u| !u.is_empty()),
    };
    let router = Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/stock/{sku}", get(stock))
        .layer(flowtrace::axum::layer())
        .with_state(app);
    let addr = std::env::var("ADDR").ok().filter(|a| !a.is_empty()).unwrap_or_else(|| "0.0.0.0".to_string());
    let listener = tokio::net::TcpListener::bind((addr.as_str(), port())).await.expect("bind");
    eprintln!("flowtrace-example-axum listening on {}", listener.local_addr().expect("address"));
    axum::serve(listener, router).with_graceful_shutdown(shutdown_signal()).await.expect("serve");
}
