//! `flowtrace::init()`: the OTLP exporter (gRPC or HTTP/protobuf), the SDK tracer provider with
//! the correlation-ID processor, the W3C propagators, and a `tracing` subscriber whose
//! OpenTelemetry layer turns spans into OTel spans. A bad setting is one line on stderr and the
//! application runs untraced.

use opentelemetry::propagation::TextMapCompositePropagator;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry::{global, InstrumentationScope};
use opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge;
use opentelemetry_otlp::{LogExporter, Protocol as OtlpProtocol, SpanExporter, WithExportConfig};
use opentelemetry_sdk::logs::{SdkLogger, SdkLoggerProvider};
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use opentelemetry_sdk::Resource;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::Layer;

use crate::config::{self, Config, Loaded, Protocol};
use crate::correlation::{CorrelationPropagator, CorrelationSpanProcessor};
use crate::http_scrub::Scrubbed;
use crate::logs::{self, CorrelationLogProcessor};
use crate::site;

pub(crate) const WARNING_PREFIX: &str = "flowtrace:";

static TRACER: std::sync::OnceLock<opentelemetry_sdk::trace::SdkTracer> = std::sync::OnceLock::new();

/// The agent's tracer (`flowtrace-agent` scope), once `init` has started it (benchmarks, tests).
pub fn sdk_tracer() -> Option<opentelemetry_sdk::trace::SdkTracer> {
    TRACER.get().cloned()
}

/// Flushes and shuts the exporter down when dropped: keep it alive for the life of `main`.
#[must_use = "spans are flushed when the guard is dropped: bind it with `let _flowtrace = …`"]
pub struct Guard {
    provider: Option<SdkTracerProvider>,
    logs: Option<SdkLoggerProvider>,
}

impl Guard {
    /// Whether the agent is on (false when disabled or a setting was bad).
    pub fn is_on(&self) -> bool {
        self.provider.is_some()
    }

    /// Sends the spans ended and the log records emitted so far.
    pub fn flush(&self) {
        if let Some(p) = &self.provider {
            let _ = p.force_flush();
        }
        if let Some(l) = &self.logs {
            let _ = l.force_flush();
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(p) = self.provider.take() {
            let _ = p.force_flush();
            let _ = p.shutdown();
        }
        if let Some(l) = self.logs.take() {
            let _ = l.force_flush();
            let _ = l.shutdown();
        }
    }
}

/// Sets FlowTrace up from the environment (`FLOWTRACE_*`, `OTEL_*`). Call it once, first thing
/// in `main`, inside the Tokio runtime when exporting over gRPC (the default).
pub fn init() -> Guard {
    init_from(&|name| std::env::var(name).ok())
}

/// `init` with the settings read from `get` instead of the process environment.
pub fn init_from(get: &dyn Fn(&str) -> Option<String>) -> Guard {
    let (started, guard) = start_from(get);
    let Some((tracer, logs)) = started else { return guard };
    // Without a subscriber nothing is recorded: said in one line, and the guard shuts the
    // pipeline down (the application runs untraced).
    if tracing::subscriber::set_global_default(tracing_subscriber::registry().with(otel_layer(tracer, logs))).is_err() {
        eprintln!(
            "{WARNING_PREFIX} the agent is off, the application runs untraced: a global tracing subscriber is \
             already set (use flowtrace::init_layer() to add FlowTrace's layer to it)"
        );
        site::clear_runtime();
        return Guard { provider: None, logs: None };
    }
    guard
}

/// For an application that builds its own `tracing` subscriber (a `fmt` layer for its logs…):
/// FlowTrace's layer (None when the agent is off) to add to it, and the guard.
///
/// ```ignore
/// let (flowtrace_layer, _flowtrace) = flowtrace::init_layer();
/// tracing_subscriber::registry().with(flowtrace_layer).with(tracing_subscriber::fmt::layer()).init();
/// ```
pub fn init_layer<S>() -> (Option<impl Layer<S>>, Guard)
where
    S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
{
    init_layer_from(&|name| std::env::var(name).ok())
}

/// `init_layer` with the settings read from `get`.
pub fn init_layer_from<S>(get: &dyn Fn(&str) -> Option<String>) -> (Option<impl Layer<S>>, Guard)
where
    S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
{
    let (started, guard) = start_from(get);
    (started.map(|(tracer, logs)| otel_layer(tracer, logs)), guard)
}

/// Reads the settings, starts the pipeline and says so in one line.
fn start_from(get: &dyn Fn(&str) -> Option<String>) -> (Option<(SdkTracer, Option<SdkLoggerProvider>)>, Guard) {
    let off = Guard { provider: None, logs: None };
    match config::load(get) {
        Loaded::Disabled => (None, off),
        Loaded::Invalid(problems) => {
            eprintln!("{WARNING_PREFIX} the agent is off, the application runs untraced: {}", problems.join("; "));
            (None, off)
        }
        Loaded::On(config) => match start(&config) {
            Ok((provider, tracer, logs)) => {
                for warning in &config.warnings {
                    eprintln!("{WARNING_PREFIX} {warning}");
                }
                logs::set_log_mode(config.log_mode);
                eprintln!("{WARNING_PREFIX} {}", config::startup_line(&config));
                site::set_runtime(config);
                (Some((tracer, logs.clone())), Guard { provider: Some(provider), logs })
            }
            Err(e) => {
                eprintln!("{WARNING_PREFIX} the agent is off, the application runs untraced: could not start: {e}");
                (None, off)
            }
        },
    }
}

/// Targets whose own spans are transport detail, never exported (and never fed back into the
/// exporter's own calls).
const QUIET_TARGETS: &[&str] =
    &["h2", "hyper", "tonic", "tower", "reqwest", "opentelemetry", "tokio", "runtime", "mio", "want"];

fn quiet(meta: &tracing::Metadata<'_>) -> bool {
    let target = meta.target();
    QUIET_TARGETS
        .iter()
        .any(|q| target.starts_with(q) && target[q.len()..].chars().next().is_none_or(|c| c == ':' || c == '_'))
}

/// Spans at INFO and above, WARN/ERROR events (span events), none of the transport crates'.
fn exported(meta: &tracing::Metadata<'_>) -> bool {
    !quiet(meta) && (meta.is_span() || *meta.level() <= tracing::Level::WARN) && *meta.level() <= tracing::Level::INFO
}

/// Events at INFO and above, none of the transport crates' (nor the SDK's own: no feedback loop),
/// become OTLP log records.
fn logged(meta: &tracing::Metadata<'_>) -> bool {
    meta.is_event() && *meta.level() <= tracing::Level::INFO && !quiet(meta)
}

fn otel_layer<S>(tracer: SdkTracer, logs: Option<SdkLoggerProvider>) -> impl Layer<S>
where
    S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
{
    let bridge = logs.map(|provider| {
        OpenTelemetryTracingBridge::<SdkLoggerProvider, SdkLogger>::new(&provider)
            .with_filter(tracing_subscriber::filter::filter_fn(logged as fn(&tracing::Metadata<'_>) -> bool))
    });
    tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_location(false)
        .with_threads(false)
        .with_tracked_inactivity(false)
        .with_filter(tracing_subscriber::filter::filter_fn(exported as fn(&tracing::Metadata<'_>) -> bool))
        .and_then(bridge)
}

fn start(config: &Config) -> Result<(SdkTracerProvider, SdkTracer, Option<SdkLoggerProvider>), String> {
    let exporter = match config.protocol {
        Protocol::Grpc => {
            if tokio_runtime_missing() {
                return Err("gRPC export needs a Tokio runtime: call flowtrace::init() inside it (in an async main), \
                            or set OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf"
                    .to_string());
            }
            SpanExporter::builder().with_tonic().with_endpoint(config.endpoint.clone()).build()
        }
        Protocol::HttpProtobuf => SpanExporter::builder()
            .with_http()
            .with_protocol(OtlpProtocol::HttpBinary)
            .with_endpoint(config.endpoint.clone())
            .build(),
    }
    .map_err(|e| e.to_string())?;
    // Resource::builder() reads OTEL_RESOURCE_ATTRIBUTES; the service name is the agent's.
    let resource = Resource::builder().with_service_name(config.service_name.clone()).build();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(CorrelationSpanProcessor)
        .with_batch_exporter(Scrubbed(exporter))
        .with_resource(resource.clone())
        .build();
    // A logs pipeline that cannot start leaves tracing on: said in one line.
    let logs = match config.logs_export.then(|| start_logs(config, resource)).transpose() {
        Ok(logs) => logs,
        Err(e) => {
            eprintln!("{WARNING_PREFIX} log records are not exported: {e}");
            None
        }
    };
    let scope = InstrumentationScope::builder("flowtrace-agent").with_version(env!("CARGO_PKG_VERSION")).build();
    let tracer = provider.tracer_with_scope(scope);
    let _ = TRACER.set(tracer.clone());
    global::set_tracer_provider(provider.clone());
    global::set_text_map_propagator(TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(BaggagePropagator::new()),
        // After the two: it reads the extracted baggage and adds the correlation ID to it.
        Box::new(CorrelationPropagator::new()),
    ]));
    Ok((provider, tracer, logs))
}

/// The SDK logs pipeline: the correlation-ID processor, then the batch processor with the OTLP
/// log exporter of the same protocol.
fn start_logs(config: &Config, resource: Resource) -> Result<SdkLoggerProvider, String> {
    let exporter = match config.protocol {
        Protocol::Grpc => LogExporter::builder().with_tonic().with_endpoint(config.logs_endpoint.clone()).build(),
        Protocol::HttpProtobuf => LogExporter::builder()
            .with_http()
            .with_protocol(OtlpProtocol::HttpBinary)
            .with_endpoint(config.logs_endpoint.clone())
            .build(),
    }
    .map_err(|e| format!("logs: {e}"))?;
    Ok(SdkLoggerProvider::builder()
        .with_log_processor(CorrelationLogProcessor)
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build())
}

fn tokio_runtime_missing() -> bool {
    // tonic's channel is driven by the application's runtime.
    tokio::runtime::Handle::try_current().is_err()
}
