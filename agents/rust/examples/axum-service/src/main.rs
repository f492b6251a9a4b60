//! A small inventory service traced by FlowTrace: `flowtrace::init()` in `main`, the FlowTrace
//! layer on the router, `#[flowtrace::trace]` on the code. Used by the Node.js → gin → axum
//! end-to-end test and the compose demo.
//!
//! Port: `--port N` or `PORT` (default 8083); address: `ADDR` (default 0.0.0.0, as in a
//! container). `DOWNSTREAM_URL`, when set, is called (GET) on every
//! `/stock` request, with the trace, baggage and `x-request-id` propagated. SIGINT or SIGTERM stops
//! it and flushes the spans.

mod inventory;

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Extension, Json, Router};
use flowtrace::axum::CorrelationId;
use inventory::{Inventory, StockReport};

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
    let _flowtrace = flowtrace::init();
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
