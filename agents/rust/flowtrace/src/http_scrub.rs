//! What leaves the process in HTTP spans, whichever middleware recorded them (axum's
//! axum-tracing-opentelemetry, tracing-actix-web, reqwest-tracing, or the application's own):
//! applied to every SERVER and CLIENT span as the exporter receives it.
//! - `url.full`, `url.query` (and the older `http.target`, `http.url`): credentials in the URL
//!   written `REDACTED:REDACTED`, values of secret-named and signed-URL query parameters
//!   `REDACTED`, as the HTTP semantic conventions say;
//! - `http.request.method` the conventions do not know: `_OTHER`, the one sent in
//!   `http.request.method_original` (cut to 64 bytes), and the span name's method too (clients
//!   must not name spans).

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use opentelemetry::trace::SpanKind;
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use opentelemetry_sdk::Resource;

use crate::http_method::semconv_method;

/// Query parameters of signed URLs whose values the semantic conventions redact, beside the
/// agents' secret names (`password`, `token`, `api_key`…).
const SIGNED_URL_KEYS: [&str; 4] = ["AWSAccessKeyId", "Signature", "sig", "X-Goog-Signature"];
const URL_KEYS: [&str; 3] = ["url.full", "http.url", "http.target"];

fn secret_param(key: &str) -> bool {
    crate::redact::is_secret_key(key) || SIGNED_URL_KEYS.iter().any(|k| k.eq_ignore_ascii_case(key))
}

/// A query string (without `?`) with the values of secret-named parameters `REDACTED`.
pub(crate) fn mask_query(query: &str) -> Cow<'_, str> {
    let secret = |pair: &str| pair.split_once('=').is_some_and(|(k, _)| secret_param(&percent_decoded(k)));
    if !query.split('&').any(secret) {
        return Cow::Borrowed(query);
    }
    let pairs: Vec<Cow<'_, str>> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, _)) if secret_param(&percent_decoded(k)) => Cow::Owned(format!("{k}=REDACTED")),
            _ => Cow::Borrowed(pair),
        })
        .collect();
    Cow::Owned(pairs.join("&"))
}

/// A URL (absolute, or a path with a query) with its credentials and secret query values masked.
pub(crate) fn mask_url(url: &str) -> Cow<'_, str> {
    let (before_fragment, fragment) = match url.find('#') {
        Some(i) => url.split_at(i),
        None => (url, ""),
    };
    let (head, query) = match before_fragment.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (before_fragment, None),
    };
    // Credentials: `scheme://user:password@host…`.
    let head: Cow<'_, str> = match head.find("://") {
        Some(i) => {
            let authority_start = i + 3;
            let authority_end = head[authority_start..].find('/').map_or(head.len(), |j| authority_start + j);
            match head[authority_start..authority_end].rfind('@') {
                Some(at) => Cow::Owned(format!(
                    "{}REDACTED:REDACTED{}",
                    &head[..authority_start],
                    &head[authority_start + at..]
                )),
                None => Cow::Borrowed(head),
            }
        }
        None => Cow::Borrowed(head),
    };
    let masked_query = query.map(mask_query);
    if matches!(head, Cow::Borrowed(_)) && masked_query.as_ref().is_none_or(|q| matches!(q, Cow::Borrowed(_))) {
        return Cow::Borrowed(url);
    }
    let mut out = head.into_owned();
    if let Some(q) = masked_query {
        out.push('?');
        out.push_str(&q);
    }
    out.push_str(fragment);
    Cow::Owned(out)
}

fn percent_decoded(s: &str) -> Cow<'_, str> {
    if !s.contains('%') && !s.contains('+') {
        return Cow::Borrowed(s);
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Masks one span's HTTP attributes in place (see the module's doc).
pub(crate) fn scrub(span: &mut SpanData) {
    if !matches!(span.span_kind, SpanKind::Server | SpanKind::Client) {
        return;
    }
    let mut original_method = None;
    for kv in span.attributes.iter_mut() {
        let key = kv.key.as_str();
        if URL_KEYS.contains(&key) || key == "url.query" {
            if let Value::String(v) = &kv.value {
                let masked = if key == "url.query" { mask_query(v.as_str()) } else { mask_url(v.as_str()) };
                if let Cow::Owned(m) = masked {
                    kv.value = Value::from(m);
                }
            }
        } else if key == "http.request.method" {
            let raw = kv.value.as_str().into_owned();
            if raw != "_OTHER" {
                if let (_, Some(original)) = semconv_method(&raw) {
                    original_method = Some((original.to_string(), raw));
                    kv.value = Value::from("_OTHER");
                }
            }
        }
    }
    if let Some((original, raw)) = original_method {
        if !span.attributes.iter().any(|kv| kv.key.as_str() == "http.request.method_original") {
            span.attributes.push(KeyValue::new("http.request.method_original", original));
        }
        if let Some(rest) = span.name.strip_prefix(raw.as_str()) {
            if rest.is_empty() || rest.starts_with(' ') {
                span.name = Cow::Owned(format!("_OTHER{rest}"));
            }
        }
    }
}

/// The exporter with `scrub` applied to each span it is given.
pub(crate) struct Scrubbed<E>(pub E);

impl<E: fmt::Debug> fmt::Debug for Scrubbed<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<E: SpanExporter> SpanExporter for Scrubbed<E> {
    fn export(&self, mut batch: Vec<SpanData>) -> impl std::future::Future<Output = OTelSdkResult> + Send {
        batch.iter_mut().for_each(scrub);
        self.0.export(batch)
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.0.set_resource(resource)
    }
}

#[cfg(test)]
mod tests {
    use super::{mask_query, mask_url};

    #[test]
    fn credentials_and_secret_query_values_never_reach_url_attributes() {
        assert_eq!(
            mask_url("https://ada:hunter2@shop.example/pay?token=t0k3n&sku=A-1"),
            "https://REDACTED:REDACTED@shop.example/pay?token=REDACTED&sku=A-1"
        );
        assert_eq!(
            mask_url("https://s3.example/o?AWSAccessKeyId=AKIA&Signature=abc&x=1#top"),
            "https://s3.example/o?AWSAccessKeyId=REDACTED&Signature=REDACTED&x=1#top"
        );
        assert_eq!(mask_url("http://127.0.0.1:8083/stock/A-1?q=a%20b"), "http://127.0.0.1:8083/stock/A-1?q=a%20b");
        assert_eq!(mask_url("/pay?api%5Fkey=k&n=1"), "/pay?api%5Fkey=REDACTED&n=1");
        assert_eq!(mask_query("password=x&page=2"), "password=REDACTED&page=2");
        assert_eq!(mask_query("page=2"), "page=2");
    }
}
