//! End to end in one process: the agent exporting OTLP/HTTP to an in-test receiver, an axum
//! service with the FlowTrace layer and traced code, an outgoing reqwest call through the
//! propagation middleware. One test function: the agent is global to the process.

mod support;

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::get;
use axum::Router;
use support::{Rec, Receiver, KIND_CLIENT, KIND_INTERNAL, KIND_SERVER, STATUS_ERROR};

pub mod shop {
    use std::fmt;
    use std::time::Duration;

    #[derive(Debug, Default)]
    pub struct Cart {
        pub items: Vec<u32>,
    }

    /// Not `Debug`: an argument of this type is not captured, and the code still compiles.
    pub struct Opaque;

    #[derive(Debug)]
    pub struct PayError(pub String);

    impl fmt::Display for PayError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "payment refused: {}", self.0)
        }
    }

    impl std::error::Error for PayError {}

    #[flowtrace::trace]
    impl Cart {
        pub fn add(&mut self, sku: u32, note: &str, password: &str, _opaque: Opaque) -> usize {
            let _ = (note, password);
            self.items.push(sku);
            self.items.len()
        }

        pub async fn checkout(&self, card: String) -> Result<u64, PayError> {
            tokio::time::sleep(Duration::from_millis(40)).await;
            let total = self.price();
            if card.is_empty() {
                return Err(PayError(format!("no card for total {total}, token=abc123secret")));
            }
            let receipt = billing::charge(total, &card).await.map_err(PayError)?;
            Ok(receipt.len() as u64 + total)
        }

        fn price(&self) -> u64 {
            self.items.iter().map(|&i| u64::from(i)).sum()
        }

        pub fn explode(&self) {
            panic!("boom 4111 1111 1111 1111");
        }

        pub async fn explode_later(&self) -> u32 {
            tokio::time::sleep(Duration::from_millis(5)).await;
            panic!("async boom")
        }
    }

    #[flowtrace::trace]
    pub mod billing {
        pub async fn charge(amount: u64, card_number: &str) -> Result<String, String> {
            tokio::task::yield_now().await;
            if card_number.starts_with('0') {
                return Err("declined".to_string());
            }
            Ok(format!("receipt-{amount}"))
        }

        pub fn describe(text: String) -> String {
            text
        }
    }

    pub struct Hidden;

    #[flowtrace::trace]
    impl Hidden {
        pub fn work(&self) -> u32 {
            7
        }
    }
}

#[derive(Clone)]
struct App {
    client: reqwest_middleware::ClientWithMiddleware,
    port: u16,
}

#[flowtrace::trace]
mod handlers {
    use super::*;
    use crate::shop::{billing, Cart, Hidden, Opaque};

    pub async fn checkout(State(app): State<App>) -> String {
        let mut cart = Cart::default();
        cart.add(7, "pay 4111 1111 1111 1111 now", "hunter2", Opaque);
        assert_eq!(Hidden.work(), 7);
        billing::describe("Authorization: Bearer abcdefgh12345678".to_string());
        let paid = cart.checkout("4111111111111111".to_string()).await;
        let failed = cart.checkout(String::new()).await;
        assert!(failed.is_err());
        // The downstream call: its headers come back as `name: value` lines.
        let echoed = app
            .client
            .get(format!("http://127.0.0.1:{}/echo?api_key=k3y&n=1", app.port))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        // An x-request-id the application sets itself wins.
        let own = app
            .client
            .get(format!("http://127.0.0.1:{}/echo", app.port))
            .header("x-request-id", "app-set")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(own.contains("x-request-id: app-set") && !own.contains("x-request-id: req-e2e-1"), "{own}");
        format!("paid={paid:?}\n{echoed}")
    }

    pub async fn echo(headers: HeaderMap) -> String {
        let mut lines: Vec<String> =
            headers.iter().map(|(k, v)| format!("{}: {}", k.as_str(), v.to_str().unwrap_or("?"))).collect();
        lines.sort();
        lines.join("\n")
    }
}

fn by_name<'a>(spans: &'a [Rec], name: &str) -> Vec<&'a Rec> {
    spans.iter().filter(|s| s.name == name).collect()
}

fn one<'a>(spans: &'a [Rec], name: &str) -> &'a Rec {
    let found = by_name(spans, name);
    assert_eq!(
        found.len(),
        1,
        "one span named {name}, got {}: {:#?}",
        found.len(),
        spans.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
    found[0]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_service_end_to_end() {
    let receiver = Receiver::start().await;
    let guard = flowtrace::init_from(&support::env(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf".into()),
        ("OTEL_SERVICE_NAME", "shop-test".into()),
        ("FLOWTRACE_CAPTURE_ARGS", "true".into()),
        ("FLOWTRACE_CAPTURE_RETURN", "true".into()),
        ("FLOWTRACE_EXCLUDE", "e2e_axum::shop::Hidden".into()),
    ]));
    assert!(guard.is_on());

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let client =
        reqwest_middleware::ClientBuilder::new(reqwest::Client::new()).with(flowtrace::reqwest::Propagation).build();
    let app = Router::new()
        .route("/checkout", get(handlers::checkout))
        .route("/echo", get(handlers::echo))
        .layer(flowtrace::axum::layer())
        .with_state(App { client: client.clone(), port });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    // An upstream service's call: its trace and its request ID.
    let upstream_trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let upstream_span = "00f067aa0ba902b7";
    let body = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/checkout?token=s3cret&sku=1"))
        .header("traceparent", format!("00-{upstream_trace}-{upstream_span}-01"))
        .header("x-request-id", "req-e2e-1")
        .header("baggage", "tenant=acme")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(body.starts_with("paid=Ok("), "{body}");
    let echoed: HashMap<&str, &str> = body.lines().skip(1).filter_map(|l| l.split_once(": ")).collect();
    assert_eq!(echoed.get("x-request-id"), Some(&"req-e2e-1"), "{body}");
    assert!(echoed.get("baggage").is_some_and(|b| b.contains("flowtrace.correlation_id=req-e2e-1")), "{body}");
    assert!(echoed.get("traceparent").is_some_and(|t| t.contains(upstream_trace)), "{body}");
    // The request's own baggage travels on beside the correlation ID.
    assert!(echoed.get("baggage").is_some_and(|b| b.contains("tenant=acme")), "{body}");

    // A method the conventions do not know: the span says `_OTHER` (axum answers 405).
    let purge = reqwest::Client::new()
        .request(reqwest::Method::from_bytes(b"PURGE").unwrap(), format!("http://127.0.0.1:{port}/echo"))
        .send()
        .await
        .unwrap();
    assert_eq!(purge.status().as_u16(), 405);

    // A call made outside any span: a new correlation ID, the same in x-request-id, the baggage
    // and the client span.
    let lone = client.get(format!("http://127.0.0.1:{port}/echo")).send().await.unwrap().text().await.unwrap();
    let lone: HashMap<&str, &str> = lone.lines().filter_map(|l| l.split_once(": ")).collect();
    let lone_id = lone.get("x-request-id").copied().expect("x-request-id on a call outside any span");
    assert_eq!(lone_id.len(), 36);
    assert!(
        lone.get("baggage").is_some_and(|b| b.contains(&format!("flowtrace.correlation_id={lone_id}"))),
        "{lone:?}"
    );

    // Panics outside any request: recorded, resumed unchanged; the trace gets its own ID.
    let cart = shop::Cart::default();
    let payload = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cart.explode())).unwrap_err();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom 4111 1111 1111 1111"));
    let joined = tokio::spawn(async move { cart.explode_later().await }).await.unwrap_err();
    assert_eq!(joined.into_panic().downcast_ref::<&str>(), Some(&"async boom"));

    guard.flush();
    let spans = receiver
        .wait_for("the request's spans", |s| {
            s.iter().filter(|r| r.name == "GET /echo").count() == 3
                && s.iter().any(|r| r.name == "_OTHER /echo")
                && s.iter().any(|r| r.name == "Cart.explode_later")
                && s.iter().filter(|r| r.name == "Cart.checkout").count() == 2
                && s.iter().any(|r| r.name == "GET /checkout")
        })
        .await;

    // Server span: under the upstream caller's span, named by the route.
    let server = one(&spans, "GET /checkout");
    assert_eq!(server.kind, KIND_SERVER);
    assert_eq!(server.trace_id, upstream_trace);
    assert_eq!(server.parent, upstream_span);
    assert_eq!(server.attr("http.response.status_code"), Some("200"));
    assert_eq!(server.service, "shop-test");
    // axum-tracing-opentelemetry's attributes (the conventions' names); the query's secret masked.
    assert_eq!(server.attr("http.request.method"), Some("GET"));
    assert_eq!(server.attr("http.route"), Some("/checkout"));
    assert_eq!(server.attr("url.path"), Some("/checkout"));
    assert_eq!(server.attr("url.query"), Some("token=REDACTED&sku=1"));
    let other = one(&spans, "_OTHER /echo");
    assert_eq!(other.attr("http.request.method"), Some("_OTHER"));
    assert_eq!(other.attr("http.request.method_original"), Some("PURGE"));
    assert_eq!(other.attr("http.response.status_code"), Some("405"));

    // Method spans nested under it.
    let handler = one(&spans, "handlers.checkout");
    assert_eq!(handler.parent, server.span_id);
    assert_eq!(handler.kind, KIND_INTERNAL);
    assert_eq!(handler.scope, "flowtrace-agent");
    let add = one(&spans, "Cart.add");
    assert_eq!(add.parent, handler.span_id);
    assert_eq!(add.attr("code.function.name"), Some("e2e_axum::shop::Cart::add"));
    assert_eq!(add.attr("code.namespace"), Some("e2e_axum::shop::Cart"));
    // Absolute, as the other agents write it: the file on disk.
    let file = add.attr("code.file.path").expect("code.file.path");
    assert!(file.ends_with("flowtrace/tests/e2e_axum.rs") && std::path::Path::new(file).is_file(), "{file}");
    assert!(add.attr("code.line.number").is_some_and(|l| l.parse::<u32>().unwrap() > 30));
    // Arguments: an integer, a string with a card masked, a secret-named parameter, a non-Debug one.
    assert_eq!(add.attr("flowtrace.args.0"), Some("7"));
    assert_eq!(add.attr("flowtrace.args.1"), Some("\"pay [REDACTED] now\""));
    assert_eq!(add.attr("flowtrace.args.2"), Some("[REDACTED]"));
    assert_eq!(add.attr("flowtrace.args.3"), None);
    assert_eq!(add.attr("flowtrace.return"), Some("1"));
    let describe = one(&spans, "billing.describe");
    assert_eq!(describe.attr("flowtrace.args.0"), Some("\"Authorization: [REDACTED]\""));
    assert_eq!(describe.attr("flowtrace.return"), Some("\"Authorization: [REDACTED]\""));
    assert_eq!(describe.attr("code.namespace"), Some("e2e_axum::shop::billing"));
    // Excluded by FLOWTRACE_EXCLUDE: ran, no span.
    assert!(by_name(&spans, "Hidden.work").is_empty());

    // The async span covers its awaits: it lasts past the sleep, and the call after the await
    // (and the awaited call) nest under it.
    let checkouts = by_name(&spans, "Cart.checkout");
    let ok = checkouts.iter().find(|s| s.status != STATUS_ERROR).expect("the paid checkout");
    assert!(ok.end - ok.start >= 40_000_000, "async span covers the 40 ms sleep: {} ns", ok.end - ok.start);
    let prices: Vec<_> = by_name(&spans, "Cart.price").into_iter().filter(|p| p.parent == ok.span_id).collect();
    assert_eq!(prices.len(), 1);
    let charge = one(&spans, "billing.charge");
    assert_eq!(charge.parent, ok.span_id);
    assert_eq!(charge.attr("flowtrace.args.0"), Some("7"));
    assert_eq!(charge.attr("flowtrace.args.1"), Some("[REDACTED]"), "card_number is a secret name");
    assert_eq!(charge.attr("flowtrace.return"), Some("Ok(\"receipt-7\")"));

    // Result::Err: ERROR status and an exception event, masked.
    let failed = checkouts.iter().find(|s| s.status == STATUS_ERROR).expect("the refused checkout");
    let (ev_name, ev) = &failed.events[0];
    assert_eq!(ev_name, "exception");
    assert_eq!(ev.get("exception.type").map(String::as_str), Some("e2e_axum::shop::PayError"));
    assert_eq!(
        ev.get("exception.message").map(String::as_str),
        Some("payment refused: no card for total 7, token=[REDACTED]")
    );
    assert!(ev["exception.stacktrace"].starts_with("e2e_axum::shop::PayError: payment refused"));
    assert_eq!(failed.status_message, "payment refused: no card for total 7, token=[REDACTED]");
    assert!(failed.attr("flowtrace.return").is_some_and(|r| r.starts_with("Err(PayError(")));

    // The outgoing call: a client span under the handler, the downstream server span under it.
    let clients: Vec<&Rec> = spans.iter().filter(|s| s.kind == KIND_CLIENT && s.trace_id == upstream_trace).collect();
    assert_eq!(clients.len(), 2);
    let masked =
        clients.iter().filter(|c| c.attr("url.full").is_some_and(|u| u.ends_with("/echo?api_key=REDACTED&n=1")));
    assert_eq!(masked.count(), 1, "url.full with the secret query value masked");
    for client_span in clients {
        assert_eq!(client_span.parent, handler.span_id);
        assert_eq!(client_span.attr("http.response.status_code"), Some("200"));
        let echo: Vec<_> =
            by_name(&spans, "GET /echo").into_iter().filter(|e| e.parent == client_span.span_id).collect();
        assert_eq!(echo.len(), 1, "the downstream server span under the client span");
    }

    // One correlation ID on every span of the request, across the call.
    let request_spans: Vec<&Rec> = spans.iter().filter(|s| s.trace_id == upstream_trace).collect();
    assert!(request_spans.len() >= 10, "{}", request_spans.len());
    // The call that set its own x-request-id: the downstream service takes that one (x-request-id
    // comes first), for its server span and what runs under it.
    let app_set = by_name(&spans, "GET /echo")
        .into_iter()
        .find(|e| e.attr("flowtrace.correlation_id") == Some("app-set"))
        .expect("the downstream request named by the application");
    for s in &request_spans {
        let expected =
            if s.span_id == app_set.span_id || s.parent == app_set.span_id { "app-set" } else { "req-e2e-1" };
        assert_eq!(s.attr("flowtrace.correlation_id"), Some(expected), "span {}", s.name);
    }

    // The call made outside any span: its client span is a root carrying the ID it sent.
    let lone_client =
        spans.iter().find(|s| s.kind == KIND_CLIENT && s.parent.is_empty()).expect("the lone call's span");
    assert_eq!(lone_client.attr("flowtrace.correlation_id"), Some(lone_id));
    assert_eq!(lone_client.attr("http.request.method"), Some("GET"));

    // Panics: ERROR, an exception event with the masked message.
    let explode = one(&spans, "Cart.explode");
    assert_eq!(explode.status, STATUS_ERROR);
    assert_eq!(explode.events[0].1.get("exception.message").map(String::as_str), Some("boom [REDACTED]"));
    assert_eq!(explode.events[0].1.get("exception.type").map(String::as_str), Some("panic"));
    let later = one(&spans, "Cart.explode_later");
    assert_eq!(later.status, STATUS_ERROR);
    assert_eq!(later.events[0].1.get("exception.message").map(String::as_str), Some("async boom"));
    // A trace started outside any request gets a new correlation ID of its own.
    let own_id = explode.attr("flowtrace.correlation_id").expect("a correlation ID");
    assert_eq!(own_id.len(), 36);
    assert_ne!(own_id, "req-e2e-1");

    drop(guard);
    tokio::time::sleep(Duration::from_millis(1)).await;
}
