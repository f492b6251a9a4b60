//! Log correlation (`agents/conformance/logs/correlation.json`): `trace_id`, `span_id` and
//! `flowtrace.correlation_id` in the application's `tracing` events.
//!
//! - `tracing-subscriber`'s output: [`Correlated`] wraps a `fmt` layer's event format. The JSON
//!   format (structured) gets the three as top-level members under `FLOWTRACE_LOG_CORRELATION=auto`
//!   (the default) and `all`; the text formats (full, compact) get the plain suffix
//!   ` trace_id=… span_id=… flowtrace.correlation_id=…` only under `all`. [`json_layer`] and
//!   [`text_layer`] are `tracing_subscriber::fmt::layer()` with it.
//! - OTLP (`OTEL_LOGS_EXPORTER=otlp`, the default): `init()` adds the official
//!   `opentelemetry-appender-tracing` bridge, so events become log records of the SDK's logs
//!   pipeline with the span's trace and span IDs; [`CorrelationLogProcessor`] adds the correlation
//!   ID as an attribute.
//!
//! The IDs are those of the OpenTelemetry context current when the event is recorded (the
//! `tracing` span the event is in: `tracing-opentelemetry` makes its context current while it is
//! entered); the correlation ID is the request's (the baggage entry the server middleware put in
//! the context), else, for a span of this process, the one its trace ID gives (what the span
//! itself carries in a trace started outside any request).

use std::fmt::{self, Write as _};
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use opentelemetry::logs::LogRecord as _;
use opentelemetry::trace::TraceContextExt;
use opentelemetry::{Context, InstrumentationScope};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogProcessor, SdkLogRecord};
use tracing_subscriber::fmt::format::{Compact, Format, Full, Json, JsonFields, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use crate::correlation::{correlation_of, trace_correlation, CORRELATION_KEY};

/// Where the IDs go (`FLOWTRACE_LOG_CORRELATION`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogMode {
    /// Structured output only (the default).
    Auto,
    /// Plain text output as well.
    All,
    /// Nothing is added.
    Off,
}

impl LogMode {
    pub fn as_str(self) -> &'static str {
        match self {
            LogMode::Auto => "auto",
            LogMode::All => "all",
            LogMode::Off => "off",
        }
    }
}

/// `FLOWTRACE_LOG_CORRELATION`, trimmed and case-insensitive; a refused value gives the default
/// and a warning naming the setting (the agent runs on).
pub fn parse_log_mode(raw: Option<&str>) -> (LogMode, Option<String>) {
    let v = raw.unwrap_or("").trim().to_ascii_lowercase();
    match v.as_str() {
        "" | "auto" => (LogMode::Auto, None),
        "all" | "true" => (LogMode::All, None),
        "off" | "false" | "none" => (LogMode::Off, None),
        _ => (
            LogMode::Auto,
            Some(format!(
                "FLOWTRACE_LOG_CORRELATION must be one of auto, all, off (got \"{}\"): auto applies",
                raw.unwrap_or("")
            )),
        ),
    }
}

/// `OTEL_LOGS_EXPORTER`: `otlp` (the default) or `none`; anything else a warning and the default.
pub fn parse_logs_exporter(raw: Option<&str>) -> (bool, Option<String>) {
    match raw.unwrap_or("").trim().to_ascii_lowercase().as_str() {
        "" | "otlp" => (true, None),
        "none" => (false, None),
        _ => (
            true,
            Some(format!("OTEL_LOGS_EXPORTER must be otlp or none (got \"{}\"): otlp applies", raw.unwrap_or(""))),
        ),
    }
}

const UNSET: u8 = 0;
static MODE: AtomicU8 = AtomicU8::new(UNSET);

fn encode(m: LogMode) -> u8 {
    match m {
        LogMode::Auto => 1,
        LogMode::All => 2,
        LogMode::Off => 3,
    }
}

/// The mode in force: what `init()` read, else `FLOWTRACE_LOG_CORRELATION` read now (a layer used
/// without `init()`).
pub fn log_mode() -> LogMode {
    match MODE.load(Ordering::Relaxed) {
        1 => LogMode::Auto,
        2 => LogMode::All,
        3 => LogMode::Off,
        _ => {
            let m = parse_log_mode(std::env::var("FLOWTRACE_LOG_CORRELATION").ok().as_deref()).0;
            MODE.store(encode(m), Ordering::Relaxed);
            m
        }
    }
}

/// Changes the mode at run time (`init()` sets it from the environment).
pub fn set_log_mode(mode: LogMode) {
    MODE.store(encode(mode), Ordering::Relaxed);
}

/// The fields of one log line; one without a value is left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogFields {
    pub trace_id: Option<String>,
    pub span_id: Option<String>,
    pub correlation_id: Option<String>,
}

impl LogFields {
    /// The fields for a line logged under `cx`: the span's IDs (sampled or not; never zeros) and
    /// the correlation ID.
    pub fn of(cx: &Context) -> LogFields {
        let span = cx.span();
        let sc = span.span_context();
        let mut f = LogFields::default();
        if sc.is_valid() {
            f.trace_id = Some(sc.trace_id().to_string());
            f.span_id = Some(sc.span_id().to_string());
        }
        f.correlation_id = correlation_of(cx).or_else(|| {
            // A span of this process outside any request carries the ID its trace ID gives.
            (sc.is_valid() && !sc.is_remote()).then(|| trace_correlation(sc.trace_id())).flatten()
        });
        f
    }

    /// The fields of the current OpenTelemetry context.
    pub fn current() -> LogFields {
        LogFields::of(&Context::current())
    }

    pub fn is_empty(&self) -> bool {
        self.trace_id.is_none() && self.span_id.is_none() && self.correlation_id.is_none()
    }

    fn pairs(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [("trace_id", &self.trace_id), ("span_id", &self.span_id), (CORRELATION_KEY, &self.correlation_id)]
            .into_iter()
            .filter_map(|(k, v)| v.as_deref().map(|v| (k, v)))
    }

    /// ` trace_id=… span_id=… flowtrace.correlation_id=…` (the plain form).
    pub fn suffix(&self) -> String {
        self.pairs().fold(String::new(), |mut s, (k, v)| {
            let _ = write!(s, " {k}={v}");
            s
        })
    }

    /// `"trace_id":"…","span_id":"…",…` (JSON members, no braces).
    fn json_members(&self) -> String {
        self.pairs()
            .map(|(k, v)| format!("{}:{}", serde_json::Value::from(k), serde_json::Value::from(v)))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Whether an event format keeps fields apart from the message (JSON) or is plain text.
pub trait LineKind {
    const STRUCTURED: bool;
}

impl<T> LineKind for Format<Json, T> {
    const STRUCTURED: bool = true;
}
impl<T> LineKind for Format<Full, T> {
    const STRUCTURED: bool = false;
}
impl<T> LineKind for Format<Compact, T> {
    const STRUCTURED: bool = false;
}

/// A `fmt` layer's event format with the IDs added (see the module's documentation):
///
/// ```ignore
/// tracing_subscriber::fmt::layer().json().map_event_format(flowtrace::logs::Correlated::new)
/// ```
#[derive(Debug, Clone)]
pub struct Correlated<F> {
    inner: F,
}

impl<F> Correlated<F> {
    pub fn new(inner: F) -> Self {
        Correlated { inner }
    }
}

impl<S, N, F> FormatEvent<S, N> for Correlated<F>
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N> + LineKind,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> fmt::Result {
        let add = match log_mode() {
            LogMode::Off => false,
            LogMode::Auto => F::STRUCTURED,
            LogMode::All => true,
        };
        let fields = if add { LogFields::current() } else { LogFields::default() };
        if fields.is_empty() {
            return self.inner.format_event(ctx, writer, event);
        }
        // The line is formatted into a buffer (without ANSI colours) and the fields put in.
        let mut line = String::new();
        self.inner.format_event(ctx, Writer::new(&mut line), event)?;
        if F::STRUCTURED {
            match line.strip_prefix('{') {
                Some(rest) => {
                    let sep = if rest.trim_start().starts_with('}') { "" } else { "," };
                    write!(writer, "{{{}{sep}{rest}", fields.json_members())
                }
                None => writer.write_str(&line),
            }
        } else {
            let (body, newline) = match line.strip_suffix('\n') {
                Some(body) => (body, "\n"),
                None => (line.as_str(), ""),
            };
            write!(writer, "{body}{}{newline}", fields.suffix())
        }
    }
}

/// `tracing_subscriber::fmt::layer().json()` whose lines carry the IDs (`auto` and `all`).
pub fn json_layer<S>() -> tracing_subscriber::fmt::Layer<S, JsonFields, Correlated<Format<Json>>>
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    tracing_subscriber::fmt::layer().json().map_event_format(Correlated::new)
}

/// `tracing_subscriber::fmt::layer()` (the default text format) whose lines end with the IDs
/// under `FLOWTRACE_LOG_CORRELATION=all` only.
pub fn text_layer<S>(
) -> tracing_subscriber::fmt::Layer<S, tracing_subscriber::fmt::format::DefaultFields, Correlated<Format>>
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    tracing_subscriber::fmt::layer().map_event_format(Correlated::new)
}

/// Adds `flowtrace.correlation_id` to every log record the SDK emits (before the batch exporter).
/// The trace and span IDs are the record's own fields, which the SDK fills from the current context.
#[derive(Debug, Default)]
pub struct CorrelationLogProcessor;

impl LogProcessor for CorrelationLogProcessor {
    fn emit(&self, record: &mut SdkLogRecord, _scope: &InstrumentationScope) {
        if let Some(id) = LogFields::current().correlation_id {
            record.add_attribute(CORRELATION_KEY, id);
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}
