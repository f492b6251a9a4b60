//! Outgoing `reqwest` calls: the CLIENT span and the `traceparent` / `baggage` injection come from
//! [reqwest-tracing](https://docs.rs/reqwest-tracing)'s `TracingMiddleware` (through the global
//! propagator, which adds the correlation ID to the baggage); FlowTrace's span backend names the
//! span by the conventions' method and writes `url.full` masked, and `Propagation` sets
//! `x-request-id` (one the application set itself wins).
//!
//! ```ignore
//! let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
//!     .with(flowtrace::reqwest::Propagation)
//!     .build();
//! ```
//! Without reqwest-middleware: `flowtrace::reqwest::inject(request.headers_mut())` before sending.

use ::reqwest::{Request, Response};
use http::{Extensions, HeaderValue};
use opentelemetry::context::FutureExt as _;
use opentelemetry::trace::TraceContextExt;
use reqwest_middleware::{Middleware, Next, Result};
use reqwest_tracing::{default_on_request_success, reqwest_otel_span, ReqwestOtelSpanBackend, TracingMiddleware};
use tracing::Span;

use crate::correlation::{correlation_of, new_correlation_id, trace_correlation, with_correlation};
pub use crate::headers::inject_current as inject;

/// The reqwest-middleware middleware: reqwest-tracing's `TracingMiddleware` with FlowTrace's span
/// backend, and `x-request-id`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Propagation;

#[async_trait::async_trait]
impl Middleware for Propagation {
    async fn handle(&self, mut req: Request, extensions: &mut Extensions, next: Next<'_>) -> Result<Response> {
        // The ID the client span will carry: its parent's (the request's, or the one a trace
        // started outside any request has); with no parent at all, a new one, given to the span
        // through the OpenTelemetry context it starts in.
        let cx = crate::headers::current_context();
        let known = correlation_of(&cx).or_else(|| trace_correlation(cx.span().span_context().trace_id()));
        let (id, root_cx) = match known {
            Some(id) => (id, None),
            None => {
                let id = new_correlation_id();
                (id.clone(), Some(with_correlation(&cx, id)))
            }
        };
        if !req.headers().contains_key("x-request-id") {
            if let Ok(v) = HeaderValue::from_str(&id) {
                req.headers_mut().insert("x-request-id", v);
            }
        }
        let tracing = TracingMiddleware::<ClientSpan>::new();
        match root_cx {
            None => tracing.handle(req, extensions, next).await,
            Some(root_cx) => tracing.handle(req, extensions, next).with_context(root_cx).await,
        }
    }
}

/// reqwest-tracing's span (its attribute names, the conventions'), named by the conventions'
/// method (`_OTHER` for one they do not know), with `url.full` masked.
pub struct ClientSpan;

impl ReqwestOtelSpanBackend for ClientSpan {
    fn on_request_start(req: &Request, _: &mut Extensions) -> Span {
        let (name, _) = crate::http_method::semconv_method(req.method().as_str());
        let url = crate::http_scrub::mask_url(req.url().as_str());
        reqwest_otel_span!(name = name, req, url.full = %url)
    }

    fn on_request_end(span: &Span, outcome: &Result<Response>, _: &mut Extensions) {
        match outcome {
            Ok(resp) => default_on_request_success(span, resp),
            // Not reqwest-tracing's failure recording: its error text holds the URL unmasked.
            Err(_) => {
                span.record("otel.status_code", "ERROR");
            }
        }
    }
}
