//! What the server integrations (axum, actix-web) share: the correlation ID handed to handlers,
//! and the status rules of a server span.

use opentelemetry::propagation::Extractor;
#[cfg(feature = "actix")]
use tracing::Span;

use crate::correlation;

/// The request's correlation ID, in the request's extensions for handlers that want it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorrelationId(pub String);

/// The request's ID: the one the global propagator put in the server span's context (its
/// baggage), else — the agent off, or another propagator installed — read from the headers by the
/// same rules.
pub(crate) fn request_correlation(cx: &opentelemetry::Context, headers: &dyn Extractor) -> CorrelationId {
    CorrelationId(
        correlation::correlation_of(cx)
            .unwrap_or_else(|| correlation::correlation_from_headers(headers, &opentelemetry::Context::new())),
    )
}

#[cfg(feature = "actix")]
pub(crate) fn record_status(span: &Span, status: u16) {
    span.record("http.response.status_code", status);
    if status >= 500 {
        span.record("otel.status_code", "ERROR");
    }
}
