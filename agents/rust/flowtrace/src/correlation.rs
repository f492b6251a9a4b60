//! The correlation ID: read from `x-request-id` / `x-correlation-id` or the baggage entry
//! `flowtrace.correlation_id`, created when a request arrives without one, written on every span
//! and on outgoing calls (as baggage and as `x-request-id`). The same rules as the other agents
//! (`agents/conformance/correlation/ids.json`).

use std::time::Duration;

use opentelemetry::baggage::{Baggage, BaggageExt};
use opentelemetry::propagation::text_map_propagator::FieldIter;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{Span as _, TraceContextExt, TraceId};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};

pub const CORRELATION_KEY: &str = "flowtrace.correlation_id";
pub const CORRELATION_HEADERS: [&str; 2] = ["x-request-id", "x-correlation-id"];

/// What a client may name its request with: 1–128 of `A-Z a-z 0-9 . _ : @ / + = -` after trimming.
/// Anything else (spaces, quotes, commas, `<`, CR/LF, non-ASCII) would travel into other
/// services' headers, baggage and logs, so it is refused.
pub fn accept_correlation_id(raw: &str) -> Option<&str> {
    let v = raw.trim_matches(|c: char| c.is_whitespace());
    let ok = !v.is_empty()
        && v.len() <= 128
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'@' | b'/' | b'+' | b'=' | b'-'));
    ok.then_some(v)
}

pub fn new_correlation_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The ID a context's baggage carries, when valid.
pub fn correlation_of(cx: &Context) -> Option<String> {
    let v = cx.baggage().get(CORRELATION_KEY)?;
    accept_correlation_id(v.as_str()).map(str::to_string)
}

/// The ID for a request: from its headers, else its baggage, else a new one.
pub fn correlation_from_headers(headers: &dyn Extractor, baggage_cx: &Context) -> String {
    for name in CORRELATION_HEADERS {
        if let Some(id) = headers.get(name).and_then(accept_correlation_id) {
            return id.to_string();
        }
    }
    correlation_of(baggage_cx).unwrap_or_else(new_correlation_id)
}

/// W3C trace context and baggage from incoming headers, with the request's correlation ID put
/// into the baggage (so every span of the request, and every call it makes, sees it): what the
/// global propagator `init()` installs does on every extraction.
pub fn extract(headers: &dyn Extractor) -> (Context, String) {
    let cx = TraceContextPropagator::new().extract_with_context(&Context::new(), headers);
    let cx = BaggagePropagator::new().extract_with_context(&cx, headers);
    let cx = CorrelationPropagator::new().extract_with_context(&cx, headers);
    let id = correlation_of(&cx).unwrap_or_default();
    (cx, id)
}

/// `cx` with `id` added to its baggage, the other entries kept (`with_baggage` alone replaces them).
/// The ID goes in first: when the baggage is full (64 entries or 8 KiB, the limits the SDK
/// enforces) an application entry is dropped, never the ID.
pub fn with_correlation(cx: &Context, id: String) -> Context {
    let mut baggage = Baggage::new();
    let _ = baggage.insert(CORRELATION_KEY, id);
    for (k, (v, m)) in cx.baggage().iter() {
        if k.as_str() != CORRELATION_KEY {
            let _ = baggage.insert_with_metadata(k.clone(), v.clone(), m.clone());
        }
    }
    cx.with_baggage(baggage)
}

/// The correlation ID as a W3C propagator, run after the trace-context and baggage ones (the
/// global composite `init()` installs), so that the ecosystem's middlewares, which extract and
/// inject through the global propagator, carry it without knowing about it.
/// - extract: the ID from `x-request-id`, else `x-correlation-id`, else the baggage, else a new
///   one, put into the context's baggage (the server span's parent context: the span processor
///   writes it on every span under it);
/// - inject: the baggage again with the ID when the context's baggage lacks it (a trace started
///   outside any request: the ID its trace ID gives). `x-request-id` is not written here (a
///   propagator cannot see a header the application set itself): the reqwest middleware does it.
#[derive(Debug)]
pub struct CorrelationPropagator {
    fields: [String; 2],
}

impl CorrelationPropagator {
    pub fn new() -> Self {
        CorrelationPropagator { fields: CORRELATION_HEADERS.map(str::to_string) }
    }
}

impl Default for CorrelationPropagator {
    fn default() -> Self {
        Self::new()
    }
}

impl TextMapPropagator for CorrelationPropagator {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        if correlation_of(cx).is_none() {
            if let Some(id) = trace_correlation(cx.span().span_context().trace_id()) {
                BaggagePropagator::new().inject_context(&with_correlation(cx, id), injector);
            }
        }
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        let id = correlation_from_headers(extractor, cx);
        with_correlation(cx, id)
    }

    fn fields(&self) -> FieldIter<'_> {
        FieldIter::new(&self.fields)
    }
}

/// `traceparent`, `baggage` (with the correlation ID) and `x-request-id` on an outgoing call; an
/// `x-request-id` the application set itself wins.
pub fn inject(cx: &Context, headers: &mut dyn Injector, has_request_id: bool) {
    TraceContextPropagator::new().inject_context(cx, headers);
    let id = correlation_of(cx).or_else(|| trace_correlation(cx.span().span_context().trace_id()));
    match &id {
        Some(id) if correlation_of(cx).as_deref() != Some(id) => {
            BaggagePropagator::new().inject_context(&with_correlation(cx, id.clone()), headers)
        }
        _ => BaggagePropagator::new().inject_context(cx, headers),
    }
    if let (Some(id), false) = (id, has_request_id) {
        headers.set("x-request-id", id);
    }
}

/// The ID of a trace that began outside any request: a version-4 UUID made from its (random)
/// trace ID, so that every span of the trace finds the same one without shared state.
pub fn trace_correlation_id(trace_id: TraceId) -> String {
    uuid::Builder::from_random_bytes(trace_id.to_bytes()).into_uuid().to_string()
}

pub(crate) fn trace_correlation(trace_id: TraceId) -> Option<String> {
    (trace_id != TraceId::INVALID).then(|| trace_correlation_id(trace_id))
}

/// Puts the correlation ID on every span the SDK starts (server, client and method spans): from
/// the parent context's baggage (where the server middleware put the request's), else the one
/// the trace ID gives (a trace started outside any request).
#[derive(Debug, Default)]
pub struct CorrelationSpanProcessor;

impl SpanProcessor for CorrelationSpanProcessor {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        if let Some(v) = cx.baggage().get(CORRELATION_KEY) {
            // The baggage's own value (an Arc or a static string): no copy on the common path.
            if accept_correlation_id(v.as_str()).is_some_and(|a| a.len() == v.as_str().len()) {
                span.set_attribute(KeyValue::new(CORRELATION_KEY, v.clone()));
                return;
            }
        }
        if let Some(id) = trace_correlation(span.span_context().trace_id()) {
            span.set_attribute(KeyValue::new(CORRELATION_KEY, id));
        }
    }

    fn on_end(&self, _span: SpanData) {}

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::extract;

    /// A request whose baggage is already full (64 entries, the W3C limit the SDK enforces) keeps
    /// its valid `x-request-id` as the correlation ID: the ID's entry wins over the others.
    #[test]
    fn full_incoming_baggage_does_not_lose_the_request_id() {
        let baggage: Vec<String> = (0..64).map(|i| format!("k{i}=v{i}")).collect();
        let headers = HashMap::from([
            ("x-request-id".to_string(), "req-full-1".to_string()),
            ("baggage".to_string(), baggage.join(",")),
        ]);
        assert_eq!(extract(&headers).1, "req-full-1");
        let big = HashMap::from([
            ("x-request-id".to_string(), "req-full-2".to_string()),
            ("baggage".to_string(), format!("big={}", "x".repeat(8180))),
        ]);
        assert_eq!(extract(&big).1, "req-full-2");
    }
}
