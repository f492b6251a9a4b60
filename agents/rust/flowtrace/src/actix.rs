//! actix-web: the request's span lifecycle comes from
//! [tracing-actix-web](https://docs.rs/tracing-actix-web)'s `TracingLogger` (the span entered around
//! the handler and while the body streams, its `RequestId` and `RootSpan` extensions), with
//! FlowTrace's `RootSpanBuilder`: a SERVER span named `METHOD /route/{pattern}` with the HTTP
//! semantic conventions' current attribute names (tracing-actix-web's default builder records the
//! deprecated `http.method`, `http.status_code`, `http.target`…), its parent and baggage extracted
//! by the global W3C propagator (with the correlation ID, see `correlation::CorrelationPropagator`).
//!
//! ```ignore
//! App::new().wrap(flowtrace::actix::Flowtrace).route("/items/{id}", web::get().to(item))
//! ```

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::header::HeaderMap;
use actix_web::{Error, HttpMessage};
use opentelemetry::propagation::Extractor;
use tracing::field::Empty;
use tracing::Span;
use tracing_actix_web::{RootSpanBuilder, TracingLogger};
use tracing_opentelemetry::OpenTelemetrySpanExt;

pub use crate::server::CorrelationId;
use crate::server::{record_status, request_correlation};

struct ActixHeaders<'a>(&'a HeaderMap);

impl Extractor for ActixHeaders<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

/// The middleware: `App::new().wrap(flowtrace::actix::Flowtrace)` — tracing-actix-web's
/// `TracingLogger` with FlowTrace's root span.
#[derive(Debug, Clone, Copy, Default)]
pub struct Flowtrace;

type Logger = TracingLogger<FlowtraceRootSpan>;

impl<S, B> Transform<S, ServiceRequest> for Flowtrace
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
    S::Future: 'static,
    B: MessageBody + 'static,
{
    type Response = <Logger as Transform<S, ServiceRequest>>::Response;
    type Error = Error;
    type Transform = <Logger as Transform<S, ServiceRequest>>::Transform;
    type InitError = ();
    type Future = <Logger as Transform<S, ServiceRequest>>::Future;

    fn new_transform(&self, service: S) -> Self::Future {
        Logger::new().new_transform(service)
    }
}

/// FlowTrace's root span for tracing-actix-web (`TracingLogger::<FlowtraceRootSpan>::new()` is
/// what `Flowtrace` wraps).
#[derive(Debug, Clone, Copy, Default)]
pub struct FlowtraceRootSpan;

impl RootSpanBuilder for FlowtraceRootSpan {
    fn on_request_start(req: &ServiceRequest) -> Span {
        let route = req.match_pattern();
        let (method, original) = crate::http_method::semconv_method(req.method().as_str());
        let name = match &route {
            Some(r) => format!("{method} {r}"),
            None => method.to_string(),
        };
        let span = tracing::info_span!(
            target: "flowtrace",
            "HTTP request",
            otel.name = name,
            otel.kind = "server",
            http.request.method = method,
            http.request.method_original = original,
            http.route = route.as_deref(),
            url.path = req.path(),
            http.response.status_code = Empty,
            otel.status_code = Empty,
        );
        let headers = ActixHeaders(req.headers());
        let cx = opentelemetry::global::get_text_map_propagator(|p| p.extract(&headers));
        let id = request_correlation(&cx, &headers);
        let _ = span.set_parent(cx);
        req.extensions_mut().insert(id);
        span
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        match outcome {
            Ok(resp) => record_status(&span, resp.status().as_u16()),
            Err(e) => record_status(&span, e.as_response_error().status_code().as_u16()),
        }
    }
}
