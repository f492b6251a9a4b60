//! `npm run bench:agent-rust` (`cargo bench --bench agent`): per-call cost of a small function
//! traced by `#[flowtrace::trace]`, against the same function with a hand-written `tracing` span
//! (same attributes), a hand-written OpenTelemetry API span (same attributes), an excluded traced
//! function, and no span. Every span goes through the same pipeline (`flowtrace::init_from`: SDK
//! provider, correlation processor, batch processor, OTLP/HTTP exporter to a closed local port,
//! so the export fails fast and costs the caller nothing). Variants take turns; median of rounds.
//! Prints one JSON object.

use std::hint::black_box;
use std::time::Instant;

use opentelemetry::trace::{Span as _, SpanKind, Tracer as _};
use opentelemetry::KeyValue;

const CALLS: u32 = 100_000;
const ROUNDS: usize = 9;

fn plain(a: u64, b: u64) -> u64 {
    a.wrapping_mul(31).wrapping_add(b)
}

pub mod traced {
    #[flowtrace::trace]
    pub fn add(a: u64, b: u64) -> u64 {
        a.wrapping_mul(31).wrapping_add(b)
    }
}

pub mod excluded {
    #[flowtrace::trace]
    pub fn add(a: u64, b: u64) -> u64 {
        a.wrapping_mul(31).wrapping_add(b)
    }
}

fn hand_tracing(a: u64, b: u64) -> u64 {
    let span = tracing::info_span!(
        target: "flowtrace",
        "calc.add",
        otel.kind = "internal",
        code.function.name = "agent::calc::add",
        code.namespace = "agent::calc",
        code.file.path = file!(),
        code.line.number = line!()
    );
    let _entered = span.enter();
    a.wrapping_mul(31).wrapping_add(b)
}

fn hand_otel(tracer: &opentelemetry_sdk::trace::SdkTracer, a: u64, b: u64) -> u64 {
    let mut span = tracer
        .span_builder("calc.add")
        .with_kind(SpanKind::Internal)
        .with_attributes([
            KeyValue::new("code.function.name", "agent::calc::add"),
            KeyValue::new("code.namespace", "agent::calc"),
            KeyValue::new("code.file.path", file!()),
            KeyValue::new("code.line.number", i64::from(line!())),
        ])
        .start(tracer);
    let r = a.wrapping_mul(31).wrapping_add(b);
    span.end();
    r
}

fn per_call_ns(f: &mut dyn FnMut(u64) -> u64) -> f64 {
    let start = Instant::now();
    let mut acc = 0u64;
    for i in 0..u64::from(CALLS) {
        acc = acc.wrapping_add(f(black_box(i)));
    }
    black_box(acc);
    start.elapsed().as_nanos() as f64 / f64::from(CALLS)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    // A closed port: nothing listens on port 9 of the loopback.
    let env = |k: &str| -> Option<String> {
        match k {
            "OTEL_EXPORTER_OTLP_PROTOCOL" => Some("http/protobuf".into()),
            "OTEL_EXPORTER_OTLP_ENDPOINT" => Some("http://127.0.0.1:9".into()),
            "OTEL_SERVICE_NAME" => Some("bench".into()),
            "FLOWTRACE_INCLUDE" => Some("agent".into()),
            "FLOWTRACE_EXCLUDE" => Some("agent::excluded".into()),
            _ => None,
        }
    };
    let guard = flowtrace::init_from(&env);
    assert!(guard.is_on());
    let sdk_tracer = flowtrace::__private::sdk_tracer().expect("the agent's tracer");

    let names =
        ["none", "excluded (agent on)", "#[flowtrace::trace]", "hand-written tracing span", "hand-written OTel span"];
    let mut results: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
    // Warm-up, then rounds taking turns.
    for round in 0..=ROUNDS {
        let ns = [
            per_call_ns(&mut |i| plain(i, 7)),
            per_call_ns(&mut |i| excluded::add(i, 7)),
            per_call_ns(&mut |i| traced::add(i, 7)),
            per_call_ns(&mut |i| hand_tracing(i, 7)),
            per_call_ns(&mut |i| hand_otel(&sdk_tracer, i, 7)),
        ];
        if round > 0 {
            for (r, v) in results.iter_mut().zip(ns) {
                r.push(v);
            }
        }
    }
    let out: Vec<String> = names
        .iter()
        .zip(results)
        .map(|(n, r)| format!("    {{ \"case\": \"{n}\", \"ns_per_call\": {:.1} }}", median(r)))
        .collect();
    println!(
        "{{\n  \"calls_per_round\": {CALLS},\n  \"rounds\": {ROUNDS},\n  \"results\": [\n{}\n  ]\n}}",
        out.join(",\n")
    );
    drop(guard);
}
