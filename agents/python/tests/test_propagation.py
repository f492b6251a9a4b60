"""The correlation ID on outgoing calls: baggage and x-request-id, the application's own header winning."""
import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from opentelemetry import baggage, propagate, trace
from opentelemetry.context import Context

from conftest import AGENT, FIXTURES, child_env
from receiver import Receiver
from flowtrace_agent.correlation import CORRELATION_KEY, CorrelationPropagator, correlation_of

BIN = os.path.dirname(sys.executable)


def test_inject_writes_baggage_and_x_request_id_from_the_active_span():
    tracer = AGENT.provider.get_tracer("test")
    with tracer.start_as_current_span("root") as span:
        cid = span.attributes[CORRELATION_KEY]
        headers = {}
        propagate.inject(headers)
    assert headers["x-request-id"] == cid
    assert f"{CORRELATION_KEY}={cid}" in headers["baggage"]
    assert headers["traceparent"].split("-")[1] == format(span.get_span_context().trace_id, "032x")


def test_application_x_request_id_wins_and_other_baggage_is_kept():
    ctx = baggage.set_baggage("tenant", "acme", baggage.set_baggage(CORRELATION_KEY, "req-1", Context()))
    headers = {"X-Request-Id": "mine"}
    propagate.inject(headers, ctx)
    assert headers["X-Request-Id"] == "mine" and "x-request-id" not in headers
    assert "tenant=acme" in headers["baggage"] and f"{CORRELATION_KEY}=req-1" in headers["baggage"]


def test_children_inherit_the_id_from_the_parent_span_and_extract_reads_baggage_header():
    ctx = propagate.extract({"baggage": f"{CORRELATION_KEY}=from-baggage"})
    assert correlation_of(ctx) == "from-baggage"
    tracer = AGENT.provider.get_tracer("test")
    with tracer.start_as_current_span("server", context=ctx) as server:
        # As instrumentations do: the child's context has the server span, not the extracted baggage.
        with tracer.start_as_current_span("child", context=trace.set_span_in_context(server, Context())) as child:
            assert child.attributes[CORRELATION_KEY] == "from-baggage"
    assert CorrelationPropagator().fields == {"x-request-id", "baggage"}


class _Echo(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({k.lower(): v for k, v in self.headers.items()}).encode()
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def echo():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_instrumented_outgoing_call_carries_the_id(echo):
    """Under the launcher, the official urllib instrumentation sends the method span's ID."""
    receiver = Receiver()
    env = child_env({"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf", "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint})
    code = "import json; from forkjob import outbound; print(json.dumps(outbound.call(%r)))" % echo
    try:
        result = subprocess.run([os.path.join(BIN, "flowtrace-instrument"), sys.executable, "-c", code], cwd=FIXTURES, env=env, capture_output=True, text=True, timeout=60)
    finally:
        receiver.close()
    assert result.returncode == 0, result.stderr
    headers = json.loads(result.stdout.strip().splitlines()[-1])
    cid = headers["x-request-id"]
    assert len(cid) == 36  # a new UUID: the call started the trace
    assert f"{CORRELATION_KEY}={cid}" in headers["baggage"]
    assert "traceparent" in headers
