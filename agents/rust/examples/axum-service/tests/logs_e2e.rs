//! End to end, log correlation: the example service (this package's binary) logs an event inside
//! each `/stock` request; its stdout lines carry the server span's IDs and the request's
//! correlation ID (JSON under the default `auto`; the text format only with `all`), and the event
//! reaches the in-test OTLP/HTTP receiver as a log record with the same IDs.

#[path = "../../../flowtrace/tests/support/mod.rs"]
mod support;

use std::process::Stdio;
use std::time::{Duration, Instant};

use support::{Receiver, KIND_SERVER};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

struct Service {
    child: Child,
    lines: tokio::sync::mpsc::UnboundedReceiver<String>,
    port: u16,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn start(receiver: &Receiver, env: &[(&str, &str)]) -> Service {
    let port = free_port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_flowtrace-example-axum"));
    cmd.env("ADDR", "127.0.0.1")
        .env("PORT", port.to_string())
        .env("OTEL_SERVICE_NAME", "axum-logs-e2e")
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint())
        .env("OTEL_BSP_SCHEDULE_DELAY", "50")
        .env("OTEL_BLRP_SCHEDULE_DELAY", "50")
        .env_remove("FLOWTRACE_LOG_CORRELATION")
        .env_remove("LOG_FORMAT")
        .env_remove("OTEL_LOGS_EXPORTER")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("the example binary");
    let stdout = child.stdout.take().unwrap();
    let (tx, lines) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut reader = BufReader::new(stdout).lines();
        while let Ok(Some(line)) = reader.next_line().await {
            let _ = tx.send(line);
        }
    });
    Service { child, lines, port }
}

/// GET over a plain TCP connection (HTTP/1.1), retried until the service listens (bounded).
async fn get(port: u16, path: &str, request_id: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(mut s) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
            let req = format!(
                "GET {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nx-request-id: {request_id}\r\nconnection: close\r\n\r\n"
            );
            s.write_all(req.as_bytes()).await.unwrap();
            let mut out = String::new();
            tokio::io::AsyncReadExt::read_to_string(&mut s, &mut out).await.unwrap();
            return out;
        }
        assert!(Instant::now() < deadline, "the service did not listen on {port}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The first stdout line containing `needle` (bounded wait).
async fn line_with(service: &mut Service, needle: &str) -> String {
    let found = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(line) = service.lines.recv().await {
            if line.contains(needle) {
                return line;
            }
        }
        panic!("stdout closed before a line with {needle:?}");
    });
    found.await.unwrap_or_else(|_| panic!("no line with {needle:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_carry_the_ids_and_reach_the_receiver() {
    let receiver = Receiver::start().await;
    let mut service = start(&receiver, &[("LOG_FORMAT", "json")]).await;
    let answer = get(service.port, "/stock/sku-1", "req-logs-1").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let line = line_with(&mut service, "stock requested").await;
    let spans = receiver
        .wait_for("the server span", |s| {
            s.iter().any(|r| r.kind == KIND_SERVER && r.attr("flowtrace.correlation_id") == Some("req-logs-1"))
        })
        .await;
    let server = spans
        .iter()
        .find(|r| r.kind == KIND_SERVER && r.attr("flowtrace.correlation_id") == Some("req-logs-1"))
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line}: {e}"));
    assert_eq!(v["trace_id"], server.trace_id.as_str(), "{line}");
    assert_eq!(v["span_id"], server.span_id.as_str(), "{line}");
    assert_eq!(v["flowtrace.correlation_id"], "req-logs-1", "{line}");
    assert_eq!(v["fields"]["sku"], "sku-1", "{line}");

    let logs =
        receiver.wait_for_logs("the event as a log record", |l| l.iter().any(|r| r.body == "stock requested")).await;
    let rec = logs.iter().find(|r| r.body == "stock requested").unwrap();
    assert_eq!(
        (rec.trace_id.as_str(), rec.span_id.as_str()),
        (server.trace_id.as_str(), server.span_id.as_str()),
        "{rec:?}"
    );
    assert_eq!(rec.attrs.get("flowtrace.correlation_id").map(String::as_str), Some("req-logs-1"), "{rec:?}");
    assert_eq!(rec.attrs.get("sku").map(String::as_str), Some("sku-1"), "{rec:?}");
    assert_eq!((rec.severity.as_str(), rec.service.as_str()), ("INFO", "axum-logs-e2e"));
    let _ = service.child.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_logs_get_the_suffix_only_with_all() {
    let receiver = Receiver::start().await;
    for (mode, suffixed) in [("auto", false), ("all", true)] {
        let mut service =
            start(&receiver, &[("FLOWTRACE_LOG_CORRELATION", mode), ("OTEL_LOGS_EXPORTER", "none")]).await;
        let id = format!("req-text-{mode}");
        let answer = get(service.port, "/stock/sku-2", &id).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        let line = line_with(&mut service, "stock requested").await;
        let spans = receiver
            .wait_for("the server span", |s| {
                s.iter().any(|r| r.kind == KIND_SERVER && r.attr("flowtrace.correlation_id") == Some(id.as_str()))
            })
            .await;
        let server = spans
            .iter()
            .find(|r| r.kind == KIND_SERVER && r.attr("flowtrace.correlation_id") == Some(id.as_str()))
            .unwrap();
        let suffix = format!(" trace_id={} span_id={} flowtrace.correlation_id={id}", server.trace_id, server.span_id);
        assert_eq!(line.ends_with(&suffix), suffixed, "{mode}: {line}");
        assert!(suffixed || !line.contains("trace_id"), "{mode}: {line}");
        let _ = service.child.kill().await;
    }
    assert!(receiver.logs.lock().unwrap().is_empty(), "OTEL_LOGS_EXPORTER=none exported records");
}
