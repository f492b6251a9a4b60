//! The default export path: OTLP over gRPC (tonic), to an in-test receiver speaking gRPC over
//! cleartext HTTP/2 (axum; the protobuf message in gRPC's 5-byte framing, `grpc-status` in trailers).

mod support;

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, Response};
use axum::routing::post;
use axum::Router;
use http_body::Frame;
use opentelemetry_proto::tonic::collector::logs::v1::{ExportLogsServiceRequest, ExportLogsServiceResponse};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use prost::Message;
use support::{LogRec, Rec};

/// One gRPC message, then the trailers.
struct GrpcReply {
    data: Option<Bytes>,
    trailers: Option<HeaderMap>,
}

impl http_body::Body for GrpcReply {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if let Some(d) = self.data.take() {
            return Poll::Ready(Some(Ok(Frame::data(d))));
        }
        Poll::Ready(self.trailers.take().map(|t| Ok(Frame::trailers(t))))
    }
}

fn framed(msg: &[u8]) -> Bytes {
    let mut out = vec![0u8];
    out.extend_from_slice(&(msg.len() as u32).to_be_bytes());
    out.extend_from_slice(msg);
    Bytes::from(out)
}

/// The gRPC response carrying `msg`, status OK.
fn grpc_ok(msg: Vec<u8>) -> Response<Body> {
    let mut trailers = HeaderMap::new();
    trailers.insert("grpc-status", HeaderValue::from_static("0"));
    let reply = GrpcReply { data: Some(framed(&msg)), trailers: Some(trailers) };
    Response::builder().header("content-type", "application/grpc").body(Body::new(reply)).unwrap()
}

#[flowtrace::trace]
mod jobs {
    pub async fn nightly(batch: u32) -> u32 {
        tokio::task::yield_now().await;
        step(batch) + 1
    }

    fn step(n: u32) -> u32 {
        tracing::info!(batch = n, "nightly step"); // a log record over gRPC, with this span's IDs
        n * 2
    }
}

/// A lone function: its span is named after the module it is in (`grpc`, the test crate's root).
#[flowtrace::trace]
fn lonely(n: u32) -> u32 {
    n + 1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_over_grpc_by_default() {
    let spans: Arc<Mutex<Vec<Rec>>> = Arc::default();
    let logs: Arc<Mutex<Vec<LogRec>>> = Arc::default();
    let store = spans.clone();
    let log_store = logs.clone();
    let app = Router::new()
        .route(
            "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
            post(move |body: Bytes| {
                let store = store.clone();
                async move {
                    assert_eq!(body[0], 0, "uncompressed");
                    let req = ExportTraceServiceRequest::decode(&body[5..]).expect("OTLP protobuf");
                    store.lock().unwrap().extend(support::decode(&req));
                    grpc_ok(ExportTraceServiceResponse::default().encode_to_vec())
                }
            }),
        )
        .route(
            "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
            post(move |body: Bytes| {
                let store = log_store.clone();
                async move {
                    assert_eq!(body[0], 0, "uncompressed");
                    let req = ExportLogsServiceRequest::decode(&body[5..]).expect("OTLP protobuf");
                    store.lock().unwrap().extend(support::decode_logs(&req));
                    grpc_ok(ExportLogsServiceResponse::default().encode_to_vec())
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    // No protocol set: gRPC is the default.
    let guard = flowtrace::init_from(&support::env(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://127.0.0.1:{port}")),
        ("OTEL_SERVICE_NAME", "jobs-grpc".into()),
    ]));
    assert!(guard.is_on());
    assert_eq!(jobs::nightly(20).await, 41);
    assert_eq!(lonely(1), 2);
    guard.flush();

    let receiver = support::Receiver { spans, logs, port };
    let got = receiver.wait_for("three spans over gRPC", |s| s.len() >= 3).await;
    let lone = got.iter().find(|s| s.name == "grpc.lonely").expect("grpc.lonely");
    assert_eq!(lone.attr("code.namespace"), Some("grpc"));
    let nightly = got.iter().find(|s| s.name == "jobs.nightly").expect("jobs.nightly");
    let step = got.iter().find(|s| s.name == "jobs.step").expect("jobs.step");
    assert_eq!(step.parent, nightly.span_id);
    assert_eq!(nightly.service, "jobs-grpc");
    assert_eq!(nightly.attr("code.function.name"), Some("grpc::jobs::nightly"));
    assert_eq!(nightly.attr("flowtrace.args.0"), None, "arguments are off by default");
    let id = nightly.attr("flowtrace.correlation_id").expect("a correlation ID");
    assert_eq!(step.attr("flowtrace.correlation_id"), Some(id));

    // The event inside `jobs.step` as an OTLP log record over gRPC: the span's IDs in its own
    // fields, the trace's correlation ID (a trace outside any request) as an attribute.
    let logs = receiver.wait_for_logs("the log record over gRPC", |l| l.iter().any(|r| r.body == "nightly step")).await;
    let rec = logs.iter().find(|r| r.body == "nightly step").unwrap();
    assert_eq!((rec.trace_id.as_str(), rec.span_id.as_str()), (step.trace_id.as_str(), step.span_id.as_str()));
    assert_eq!(rec.attrs.get("flowtrace.correlation_id").map(String::as_str), Some(id));
    assert_eq!(rec.attrs.get("batch").map(String::as_str), Some("20"));
    assert_eq!(rec.service, "jobs-grpc");
}
