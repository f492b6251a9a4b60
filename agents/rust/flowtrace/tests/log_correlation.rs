//! `agents/conformance/logs/correlation.json`: every case through `tracing` events formatted by
//! `flowtrace::logs`' JSON (structured) and text (plain) layers, and the setting's values.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use flowtrace::correlation::with_correlation;
use flowtrace::logs::{json_layer, parse_log_mode, set_log_mode, Correlated, LogFields, LogMode};
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use opentelemetry::Context;
use serde_json::Value;
use tracing_subscriber::layer::SubscriberExt;

fn load() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../conformance/logs/correlation.json");
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn mode(name: &str) -> LogMode {
    match name {
        "auto" => LogMode::Auto,
        "all" => LogMode::All,
        "off" => LogMode::Off,
        other => panic!("unknown mode {other}"),
    }
}

#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Buf {
    fn take(&self) -> String {
        String::from_utf8(std::mem::take(&mut *self.0.lock().unwrap())).unwrap()
    }
}

/// The case's context: the contract's span (a span context as a propagated one is: its IDs are
/// given, not made here) and the request's correlation ID in the baggage.
fn case_context(d: &Value, in_span: bool, sampled: bool, correlation: bool) -> Context {
    let mut cx = Context::new();
    if in_span {
        let flags = if sampled { TraceFlags::SAMPLED } else { TraceFlags::default() };
        cx = cx.with_remote_span_context(SpanContext::new(
            TraceId::from_hex(d["ids"]["trace_id"].as_str().unwrap()).unwrap(),
            SpanId::from_hex(d["ids"]["span_id"].as_str().unwrap()).unwrap(),
            flags,
            true,
            TraceState::default(),
        ));
    }
    if correlation {
        cx = with_correlation(&cx, d["ids"]["correlation_id"].as_str().unwrap().to_string());
    }
    cx
}

fn fill(d: &Value, s: &str) -> String {
    s.replace("{trace_id}", d["ids"]["trace_id"].as_str().unwrap())
        .replace("{span_id}", d["ids"]["span_id"].as_str().unwrap())
        .replace("{correlation_id}", d["ids"]["correlation_id"].as_str().unwrap())
}

/// One event logged under `cx` through the JSON or the text layer.
fn log_line(structured: bool, cx: &Context) -> String {
    let buf = Buf::default();
    let w = buf.clone();
    let _attached = cx.clone().attach();
    if structured {
        let subscriber = tracing_subscriber::registry().with(json_layer().with_writer(move || w.clone()));
        tracing::subscriber::with_default(subscriber, || tracing::info!(items = 2, "checkout"));
    } else {
        // text_layer() without the time (the two lines are compared)
        let layer = tracing_subscriber::fmt::layer()
            .without_time()
            .with_target(false)
            .map_event_format(Correlated::new)
            .with_writer(move || w.clone());
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, || tracing::info!("checkout done"));
    }
    buf.take()
}

fn added(line: &str) -> BTreeMap<String, String> {
    let v: Value = serde_json::from_str(line.trim_end()).unwrap_or_else(|e| panic!("not JSON: {line:?}: {e}"));
    v.as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| *k == "trace_id" || *k == "span_id" || k.to_ascii_lowercase().starts_with("flowtrace"))
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
        .collect()
}

#[test]
fn values_accepted_and_refused() {
    let d = load();
    assert_eq!(d["setting"], "FLOWTRACE_LOG_CORRELATION");
    for v in d["values"]["accepted"].as_array().unwrap() {
        let (m, warning) = parse_log_mode(Some(v["value"].as_str().unwrap()));
        assert_eq!((m, warning), (mode(v["mode"].as_str().unwrap()), None), "{v}");
    }
    for v in d["values"]["refused"].as_array().unwrap() {
        let (m, warning) = parse_log_mode(Some(v.as_str().unwrap()));
        assert_eq!(m, mode(d["default"].as_str().unwrap()), "{v}");
        let warning = warning.unwrap_or_else(|| panic!("{v} accepted"));
        assert!(warning.contains("FLOWTRACE_LOG_CORRELATION") && !warning.contains('\n'), "{warning}");
    }
    assert_eq!(parse_log_mode(None).0, LogMode::Auto);
}

#[test]
fn every_case() {
    let d = load();
    let cases = d["cases"].as_array().unwrap();
    assert!(!cases.is_empty());
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let cx = case_context(&d, c["in_span"] == true, c["sampled"] == true, c["correlation"] == true);
        let expected: BTreeMap<String, String> = c["expected"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), fill(&d, v.as_str().unwrap())))
            .collect();
        set_log_mode(mode(c["mode"].as_str().unwrap()));
        match c["logger"].as_str().unwrap() {
            "structured" => {
                let line = log_line(true, &cx);
                assert_eq!(added(&line), expected, "{name}: {line}");
                assert_eq!(line.matches('\n').count(), 1, "{name}: one line: {line:?}");
            }
            "plain" => {
                set_log_mode(LogMode::Off);
                let base = log_line(false, &cx);
                set_log_mode(mode(c["mode"].as_str().unwrap()));
                let line = log_line(false, &cx);
                let suffix = if expected.is_empty() {
                    String::new()
                } else {
                    assert_eq!(expected.len(), 3, "{name}: a plain case with some fields only: extend the test");
                    fill(&d, d["plain_suffix"].as_str().unwrap())
                };
                assert!(base.ends_with("checkout done\n"), "{base:?}");
                assert_eq!(line, format!("{}{suffix}\n", base.trim_end_matches('\n')), "{name}");
            }
            other => panic!("{name}: unknown logger kind {other}"),
        }
    }
    set_log_mode(LogMode::Auto);
}

/// A span of this process outside any request (no baggage) carries the correlation ID its trace
/// ID gives; its log lines carry the same one.
#[test]
fn local_span_outside_a_request() {
    let sc = SpanContext::new(
        TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap(),
        SpanId::from_hex("00f067aa0ba902b7").unwrap(),
        TraceFlags::SAMPLED,
        false,
        TraceState::default(),
    );
    let remote = SpanContext::new(sc.trace_id(), sc.span_id(), sc.trace_flags(), true, TraceState::default());
    let f = LogFields::of(&Context::new().with_remote_span_context(remote));
    assert_eq!(f.correlation_id, None, "remote: the IDs only");
    struct Local(SpanContext);
    impl opentelemetry::trace::Span for Local {
        fn add_event_with_timestamp<T>(&mut self, _: T, _: std::time::SystemTime, _: Vec<opentelemetry::KeyValue>)
        where
            T: Into<std::borrow::Cow<'static, str>>,
        {
        }
        fn span_context(&self) -> &SpanContext {
            &self.0
        }
        fn is_recording(&self) -> bool {
            true
        }
        fn set_attribute(&mut self, _: opentelemetry::KeyValue) {}
        fn set_status(&mut self, _: opentelemetry::trace::Status) {}
        fn update_name<T>(&mut self, _: T)
        where
            T: Into<std::borrow::Cow<'static, str>>,
        {
        }
        fn add_link(&mut self, _: SpanContext, _: Vec<opentelemetry::KeyValue>) {}
        fn end_with_timestamp(&mut self, _: std::time::SystemTime) {}
    }
    let f = LogFields::of(&Context::new().with_span(Local(sc.clone())));
    assert_eq!(f.correlation_id, Some(flowtrace::correlation::trace_correlation_id(sc.trace_id())));
}

/// A refused `FLOWTRACE_LOG_CORRELATION` or `OTEL_LOGS_EXPORTER` is a warning each (one line at
/// start) and the default: the agent stays on, unlike a bad tracing setting.
#[test]
fn refused_log_settings_keep_the_agent_on() {
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
    };
    let loaded = flowtrace::config::load(&env(&[
        ("FLOWTRACE_LOG_CORRELATION", "yes"),
        ("OTEL_LOGS_EXPORTER", "console"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/"),
    ]));
    let flowtrace::config::Loaded::On(c) = loaded else { panic!("{loaded:?}") };
    assert_eq!(c.log_mode, LogMode::Auto);
    assert!(c.logs_export);
    assert_eq!(c.logs_endpoint, "http://collector:4318/v1/logs");
    assert_eq!(
        c.warnings,
        [
            "FLOWTRACE_LOG_CORRELATION must be one of auto, all, off (got \"yes\"): auto applies",
            "OTEL_LOGS_EXPORTER must be otlp or none (got \"console\"): otlp applies"
        ]
    );
    let flowtrace::config::Loaded::On(c) =
        flowtrace::config::load(&env(&[("OTEL_LOGS_EXPORTER", "none"), ("FLOWTRACE_LOG_CORRELATION", " OFF ")]))
    else {
        panic!()
    };
    assert_eq!(
        (c.logs_export, c.log_mode, c.warnings.len(), c.logs_endpoint.as_str()),
        (false, LogMode::Off, 0, "http://localhost:4317")
    );
}
