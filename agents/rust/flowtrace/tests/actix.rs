//! actix-web: the middleware's server span (tracing-actix-web with FlowTrace's root span: W3C
//! parent, route name, correlation ID from `x-correlation-id`) with the traced handler code nested
//! under it. Built with `--features actix`.
#![cfg(feature = "actix")]

mod support;

use actix_web::{test, web, App, HttpMessage, HttpRequest, HttpResponse};
use flowtrace::actix::CorrelationId;

#[flowtrace::trace]
mod catalog {
    pub async fn item(id: u32) -> String {
        actix_web::rt::task::yield_now().await;
        name(id)
    }

    pub fn name(id: u32) -> String {
        format!("item-{id}")
    }
}

async fn item(req: HttpRequest, path: web::Path<u32>) -> HttpResponse {
    let id = req.extensions().get::<CorrelationId>().map(|c| c.0.clone()).unwrap_or_default();
    HttpResponse::Ok().body(format!("{} {id}", catalog::item(path.into_inner()).await))
}

#[actix_web::test]
async fn actix_server_spans() {
    // The receiver runs on its own Tokio runtime, in its own thread.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        rt.block_on(async move {
            tx.send(support::Receiver::start().await).unwrap();
            std::future::pending::<()>().await;
        });
    });
    let receiver = rx.recv().unwrap();
    let guard = flowtrace::init_from(&support::env(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf".into()),
        ("OTEL_SERVICE_NAME", "catalog".into()),
    ]));
    assert!(guard.is_on());

    let app =
        test::init_service(App::new().wrap(flowtrace::actix::Flowtrace).route("/items/{id}", web::get().to(item)))
            .await;
    let req = test::TestRequest::get()
        .uri("/items/7")
        .insert_header(("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"))
        .insert_header(("x-correlation-id", "corr-actix-1"))
        .to_request();
    let body = test::call_and_read_body(&app, req).await;
    assert_eq!(body, "item-7 corr-actix-1");
    guard.flush();

    let spans = receiver.wait_for("three spans", |s| s.len() >= 3).await;
    let server = spans.iter().find(|s| s.name == "GET /items/{id}").expect("server span");
    assert_eq!(server.kind, support::KIND_SERVER);
    assert_eq!(server.trace_id, "0af7651916cd43dd8448eb211c80319c");
    assert_eq!(server.parent, "b7ad6b7169203331");
    assert_eq!(server.attr("http.response.status_code"), Some("200"));
    // The conventions' current names (not tracing-actix-web's default `http.method`, `http.target`…).
    assert_eq!(server.attr("http.request.method"), Some("GET"));
    assert_eq!(server.attr("http.route"), Some("/items/{id}"));
    assert_eq!(server.attr("url.path"), Some("/items/7"));
    assert_eq!(server.attr("http.method"), None);
    let item = spans.iter().find(|s| s.name == "catalog.item").expect("catalog.item");
    assert_eq!(item.parent, server.span_id);
    let name = spans.iter().find(|s| s.name == "catalog.name").expect("catalog.name");
    assert_eq!(name.parent, item.span_id);
    for s in &spans {
        assert_eq!(s.attr("flowtrace.correlation_id"), Some("corr-actix-1"), "{}", s.name);
    }
}
