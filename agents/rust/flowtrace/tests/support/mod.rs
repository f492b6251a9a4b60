//! An in-test OTLP/HTTP (protobuf) receiver on a free loopback port, and the decoded spans.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::routing::post;
use axum::Router;
use opentelemetry_proto::tonic::collector::logs::v1::{ExportLogsServiceRequest, ExportLogsServiceResponse};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use prost::Message;

#[derive(Debug, Clone)]
pub struct Rec {
    pub name: String,
    pub kind: i32,
    pub trace_id: String,
    pub span_id: String,
    pub parent: String,
    pub attrs: HashMap<String, String>,
    pub events: Vec<(String, HashMap<String, String>)>,
    pub status: i32,
    pub status_message: String,
    pub start: u64,
    pub end: u64,
    pub scope: String,
    pub service: String,
}

pub const KIND_INTERNAL: i32 = 1;
pub const KIND_SERVER: i32 = 2;
pub const KIND_CLIENT: i32 = 3;
pub const STATUS_ERROR: i32 = 2;

impl Rec {
    pub fn attr(&self, k: &str) -> Option<&str> {
        self.attrs.get(k).map(String::as_str)
    }
}

fn value_text(v: &Option<opentelemetry_proto::tonic::common::v1::AnyValue>) -> String {
    match v.as_ref().and_then(|a| a.value.as_ref()) {
        Some(Value::StringValue(s)) => s.clone(),
        Some(Value::IntValue(i)) => i.to_string(),
        Some(Value::BoolValue(b)) => b.to_string(),
        Some(Value::DoubleValue(d)) => d.to_string(),
        other => format!("{other:?}"),
    }
}

fn attrs(kvs: &[KeyValue]) -> HashMap<String, String> {
    kvs.iter().map(|kv| (kv.key.clone(), value_text(&kv.value))).collect()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub fn decode(req: &ExportTraceServiceRequest) -> Vec<Rec> {
    let mut out = Vec::new();
    for rs in &req.resource_spans {
        let res = rs.resource.as_ref().map(|r| attrs(&r.attributes)).unwrap_or_default();
        for ss in &rs.scope_spans {
            let scope = ss.scope.as_ref().map(|s| s.name.clone()).unwrap_or_default();
            for s in &ss.spans {
                out.push(Rec {
                    name: s.name.clone(),
                    kind: s.kind,
                    trace_id: hex(&s.trace_id),
                    span_id: hex(&s.span_id),
                    parent: hex(&s.parent_span_id),
                    attrs: attrs(&s.attributes),
                    events: s.events.iter().map(|e| (e.name.clone(), attrs(&e.attributes))).collect(),
                    status: s.status.as_ref().map_or(0, |st| st.code),
                    status_message: s.status.as_ref().map(|st| st.message.clone()).unwrap_or_default(),
                    start: s.start_time_unix_nano,
                    end: s.end_time_unix_nano,
                    scope: scope.clone(),
                    service: res.get("service.name").cloned().unwrap_or_default(),
                });
            }
        }
    }
    out
}

/// One OTLP log record as received.
#[derive(Debug, Clone)]
pub struct LogRec {
    pub body: String,
    pub severity: String,
    pub trace_id: String,
    pub span_id: String,
    pub attrs: HashMap<String, String>,
    pub service: String,
}

pub fn decode_logs(req: &ExportLogsServiceRequest) -> Vec<LogRec> {
    let mut out = Vec::new();
    for rl in &req.resource_logs {
        let res = rl.resource.as_ref().map(|r| attrs(&r.attributes)).unwrap_or_default();
        for sl in &rl.scope_logs {
            for r in &sl.log_records {
                out.push(LogRec {
                    body: value_text(&r.body),
                    severity: r.severity_text.clone(),
                    trace_id: hex(&r.trace_id),
                    span_id: hex(&r.span_id),
                    attrs: attrs(&r.attributes),
                    service: res.get("service.name").cloned().unwrap_or_default(),
                });
            }
        }
    }
    out
}

#[derive(Clone, Default)]
pub struct Receiver {
    pub spans: Arc<Mutex<Vec<Rec>>>,
    pub logs: Arc<Mutex<Vec<LogRec>>>,
    pub port: u16,
}

impl Receiver {
    /// Serves OTLP/HTTP on a free loopback port, on the current Tokio runtime.
    pub async fn start() -> Receiver {
        let spans: Arc<Mutex<Vec<Rec>>> = Arc::default();
        let logs: Arc<Mutex<Vec<LogRec>>> = Arc::default();
        let store = spans.clone();
        let log_store = logs.clone();
        let app = Router::new()
            .route(
                "/v1/traces",
                post(move |body: Bytes| {
                    let store = store.clone();
                    async move {
                        let req = ExportTraceServiceRequest::decode(body).expect("OTLP protobuf");
                        store.lock().unwrap().extend(decode(&req));
                        ExportTraceServiceResponse::default().encode_to_vec()
                    }
                }),
            )
            .route(
                "/v1/logs",
                post(move |body: Bytes| {
                    let store = log_store.clone();
                    async move {
                        let req = ExportLogsServiceRequest::decode(body).expect("OTLP protobuf");
                        store.lock().unwrap().extend(decode_logs(&req));
                        ExportLogsServiceResponse::default().encode_to_vec()
                    }
                }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver { spans, logs, port }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn all(&self) -> Vec<Rec> {
        self.spans.lock().unwrap().clone()
    }

    /// Waits (bounded) until `pred` holds for the log records received; the records then.
    pub async fn wait_for_logs(&self, what: &str, pred: impl Fn(&[LogRec]) -> bool) -> Vec<LogRec> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let all = self.logs.lock().unwrap().clone();
            if pred(&all) {
                return all;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}; got {all:#?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits (bounded) until `pred` holds for the spans received; the spans then.
    pub async fn wait_for(&self, what: &str, pred: impl Fn(&[Rec]) -> bool) -> Vec<Rec> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let all = self.all();
            if pred(&all) {
                return all;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; got {:#?}",
                all.iter().map(|r| &r.name).collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The settings a test runs the agent with (no process environment read).
pub fn env(pairs: &[(&str, String)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
    move |k: &str| map.get(k).cloned()
}
