//! `http::HeaderMap` as an OpenTelemetry propagation carrier (what opentelemetry-http does,
//! without the extra dependency).

use http::header::HeaderName;
#[cfg(feature = "reqwest")]
use http::header::HeaderValue;
use http::HeaderMap;
#[cfg(feature = "axum")]
use opentelemetry::propagation::Extractor;
#[cfg(feature = "reqwest")]
use opentelemetry::propagation::Injector;

#[cfg(feature = "axum")]
pub struct HeaderExtractor<'a>(pub &'a HeaderMap);

#[cfg(feature = "axum")]
impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }
}

#[cfg(feature = "reqwest")]
pub struct HeaderInjector<'a>(pub &'a mut HeaderMap);

#[cfg(feature = "reqwest")]
impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(key.as_bytes()), HeaderValue::from_str(&value)) {
            self.0.insert(name, value);
        }
    }
}

/// `traceparent`, `baggage` (with the correlation ID) and `x-request-id` (unless already set)
/// for a call made in the current context.
#[cfg(feature = "reqwest")]
pub fn inject_current(headers: &mut HeaderMap) {
    let has_request_id = headers.contains_key("x-request-id");
    crate::correlation::inject(&current_context(), &mut HeaderInjector(headers), has_request_id);
}

/// The OpenTelemetry context of the current `tracing` span (the OTel one when there is none).
pub fn current_context() -> opentelemetry::Context {
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    let span = tracing::Span::current();
    if span.is_none() {
        opentelemetry::Context::current()
    } else {
        span.context()
    }
}
