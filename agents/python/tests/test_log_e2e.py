"""End to end: a Flask app (tests/fixtures/logapp) under `flowtrace-instrument` logs inside a request.
Its lines carry the span's IDs through the root handler's format, the OTLP log records reach a local
receiver with the IDs of the traced view and function they were logged in, the request's correlation ID and
secrets masked; `all` appends the fields to the root handler's lines; a refused value is one line."""
import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from conftest import FIXTURES, child_env
from receiver import Receiver, attribute

BIN = os.path.dirname(sys.executable)
SERVER = 2  # OTLP span kind


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_app(receiver, service, request_id, settings):
    port = free_port()
    env = child_env(
        {
            "OTEL_SERVICE_NAME": service,
            "OTEL_METRICS_EXPORTER": "none",
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
            "LOGAPP_PORT": str(port),
            **settings,
        }
    )
    proc = subprocess.Popen(
        [os.path.join(BIN, "flowtrace-instrument"), sys.executable, "-m", "logapp.main"],
        cwd=FIXTURES, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        lines = []
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            if line == f"listening {port}\n":
                break
        else:
            raise AssertionError(f"the app ended before it was ready:\n{proc.stderr.read()}")
        request = urllib.request.Request(f"http://127.0.0.1:{port}/order", headers={"x-request-id": request_id})
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.read() == b"6"
        rest, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, stderr
    return lines + rest.splitlines(), stderr


def wait_until(receiver, predicate, seconds=20):
    """The app flushed at exit; the receiver's handler threads may still be storing."""
    deadline = time.time() + seconds
    while True:
        with receiver.lock:
            spans, logs = list(receiver.spans), list(receiver.logs)
        if predicate(spans, logs) or time.time() > deadline:
            return spans, logs
        time.sleep(0.05)


def spans_of(spans, service):
    """The server span, the view's method span (its child) and the function's (the view's child)."""
    mine = [s for svc, s in spans if svc == service]
    server = next(s for s in mine if s.kind == SERVER)
    view = next(s for s in mine if attribute(s, "code.function.name") == "logapp.app.order")
    method = next(s for s in mine if attribute(s, "code.function.name") == "logapp.orders.place_order")
    assert view.parent_span_id == server.span_id and method.parent_span_id == view.span_id
    return server, view, method


def test_lines_and_otlp_records_carry_the_request_and_its_spans(receiver):
    lines, stderr = run_app(receiver, "logapp", "req-py-1", {})
    assert [line for line in stderr.splitlines() if line.startswith("flowtrace:") and "agent on" not in line] == []
    spans, logs = wait_until(receiver, lambda s, l: len([1 for svc, _ in l if svc == "logapp"]) >= 3 and len(s) >= 3)
    server, view, method = spans_of(spans, "logapp")
    trace_id, view_span, method_span = server.trace_id.hex(), view.span_id.hex(), method.span_id.hex()
    assert attribute(server, "flowtrace.correlation_id") == "req-py-1"
    # The app's own format names %(trace_id)s: filled inside the request, empty (not failing) outside.
    assert "INFO logapp outside any request []" in lines
    assert f"INFO logapp request in, password=hunter2 [{trace_id}]" in lines
    assert f"INFO logapp.orders placing order of 3 [{trace_id}]" in lines

    records = {r.body.string_value: r for svc, r in logs if svc == "logapp"}
    inside = records["request in, password=[REDACTED]"]
    assert (inside.trace_id.hex(), inside.span_id.hex()) == (trace_id, view_span)
    assert attribute(inside, "flowtrace.correlation_id") == "req-py-1"
    assert attribute(inside, "card") == "[REDACTED]" and attribute(inside, "path") == "/order"
    assert attribute(inside, "trace_id") is None and attribute(inside, "span_id") is None
    placing = records["placing order of 3"]
    assert (placing.trace_id.hex(), placing.span_id.hex()) == (trace_id, method_span)
    assert attribute(placing, "flowtrace.correlation_id") == "req-py-1"
    outside = records["outside any request"]
    assert outside.trace_id == b"" and attribute(outside, "flowtrace.correlation_id") is None


def test_all_appends_the_fields_to_the_root_handlers_lines_and_none_exports_no_records(receiver):
    lines, _ = run_app(receiver, "logapp-all", "req-py-2", {"FLOWTRACE_LOG_CORRELATION": "all", "OTEL_LOGS_EXPORTER": "none"})
    spans, _ = wait_until(receiver, lambda s, l: len(s) >= 3)
    server, view, method = spans_of(spans, "logapp-all")
    trace_id = server.trace_id.hex()
    assert "INFO logapp outside any request []" in lines
    assert f"INFO logapp request in, password=hunter2 [{trace_id}] trace_id={trace_id} span_id={view.span_id.hex()} flowtrace.correlation_id=req-py-2" in lines
    assert f"INFO logapp.orders placing order of 3 [{trace_id}] trace_id={trace_id} span_id={method.span_id.hex()} flowtrace.correlation_id=req-py-2" in lines
    with receiver.lock:
        assert [r for svc, r in receiver.logs if svc == "logapp-all"] == []


def test_a_refused_value_is_one_line_and_auto_applies(receiver):
    lines, stderr = run_app(receiver, "logapp-refused", "req-py-3", {"FLOWTRACE_LOG_CORRELATION": "on please", "OTEL_LOGS_EXPORTER": "none"})
    notices = [line for line in stderr.splitlines() if line.startswith("flowtrace:") and "agent on" not in line]
    assert notices == ['flowtrace: FLOWTRACE_LOG_CORRELATION must be auto, all or off (got "on please"); using auto']
    spans, _ = wait_until(receiver, lambda s, l: len(s) >= 3)
    server, _, _ = spans_of(spans, "logapp-refused")
    assert f"INFO logapp request in, password=hunter2 [{server.trace_id.hex()}]" in lines
