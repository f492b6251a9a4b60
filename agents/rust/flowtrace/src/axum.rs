//! axum (any tower service over `http` requests): the server span comes from
//! [axum-tracing-opentelemetry](https://docs.rs/axum-tracing-opentelemetry)'s `OtelAxumLayer` — a
//! SERVER span per request named `METHOD /route/{pattern}`, its parent (and the request's baggage)
//! extracted by the global W3C propagator — and FlowTrace adds the correlation ID: the global
//! propagator `init()` installs puts it in the extracted baggage (so the span processor writes it
//! on every span under the request), and the thin layer inside hands it to handlers as the
//! `CorrelationId` extension.
//!
//! ```ignore
//! let app = Router::new().route("/orders/{id}", get(order)).layer(flowtrace::axum::layer());
//! ```

use std::task::{Context, Poll};

use axum_tracing_opentelemetry::middleware::OtelAxumLayer;
use http::Request;
use tower_layer::Stack;
use tower_service::Service;

use crate::headers::{current_context, HeaderExtractor};
pub use crate::server::CorrelationId;

/// The layers `flowtrace::axum::layer()` returns: `OtelAxumLayer` outside, FlowTrace's
/// correlation layer inside (it runs in the server span).
pub type Layer = Stack<CorrelationLayer, OtelAxumLayer>;

/// The layer stack: `Router::layer(flowtrace::axum::layer())` (routes are named by their pattern).
pub fn layer() -> Layer {
    Stack::new(CorrelationLayer, OtelAxumLayer::default())
}

/// Puts the request's correlation ID in its extensions (`Extension<CorrelationId>`).
#[derive(Debug, Clone, Copy, Default)]
pub struct CorrelationLayer;

impl<S> tower_layer::Layer<S> for CorrelationLayer {
    type Service = CorrelationService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CorrelationService { inner }
    }
}

#[derive(Debug, Clone)]
pub struct CorrelationService<S> {
    inner: S,
}

impl<S, B> Service<Request<B>> for CorrelationService<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        // Called inside the server span (OtelAxumLayer enters it around this call).
        let id = crate::server::request_correlation(&current_context(), &HeaderExtractor(req.headers()));
        req.extensions_mut().insert(id);
        self.inner.call(req)
    }
}
