"""The agent as users start it: `opentelemetry-instrument` and `flowtrace-instrument` in a child
process (entry points, settings, a bad setting, a real fork), exporting to a local OTLP receiver."""
import os
import subprocess
import sys
import time

import pytest

from conftest import FIXTURES, child_env
from receiver import GrpcReceiver, Receiver, attribute

BIN = os.path.dirname(sys.executable)


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def run(command, env, timeout=60):
    full = child_env({"OTEL_TRACES_EXPORTER": "none", "OTEL_METRICS_EXPORTER": "none", "OTEL_LOGS_EXPORTER": "none", **env})
    return subprocess.run(command, cwd=FIXTURES, env=full, capture_output=True, text=True, timeout=timeout)


def wait_for(receiver, predicate, seconds=10):
    deadline = time.time() + seconds
    while time.time() < deadline:
        with receiver.lock:
            spans = list(receiver.spans)
        if predicate(spans):
            return spans
        time.sleep(0.05)
    with receiver.lock:
        return list(receiver.spans)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
@pytest.mark.parametrize("launcher,protocol", [("opentelemetry-instrument", "grpc"), ("flowtrace-instrument", "http/protobuf")])
def test_fork_child_exports_with_a_new_exporter(launcher, protocol):
    receiver = GrpcReceiver() if protocol == "grpc" else Receiver()
    try:
        check_fork(receiver, launcher, protocol)
    finally:
        receiver.close()


def check_fork(receiver, launcher, protocol):
    result = run(
        [os.path.join(BIN, launcher), sys.executable, "-m", "forkjob.main"],
        {
            "OTEL_SERVICE_NAME": "forkjob",
            "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
            "FLOWTRACE_CAPTURE_ARGS": "true",
            # Over HTTP the parent has exported (its connection open) before the fork. Over gRPC it
            # has not, as a gunicorn master: grpcio's own fork support is not reliable once the parent
            # has used a channel (grpcio 1.80 on Python 3.9 aborted the parent in 1 run of 12).
            "FORKJOB_EXPORT_BEFORE_FORK": "1" if protocol != "grpc" else "0",
        },
    )
    assert result.returncode == 0, result.stderr
    assert "child done" in result.stdout and "parent done 0" in result.stdout
    # One start-up line, from the parent (the child inherits the running agent), naming what is traced.
    lines = [line for line in result.stderr.splitlines() if line.startswith("flowtrace:")]
    assert lines == [f"flowtrace: agent on for forkjob: tracing the project's own modules under {FIXTURES}, capturing arguments (512 bytes max); OTLP {protocol} to {receiver.endpoint}{'/v1/traces' if protocol != 'grpc' else ''}"]
    spans = wait_for(receiver, lambda s: len(s) >= 3)
    roles = sorted(attribute(s, "flowtrace.args.0") for _, s in spans)
    # Each exactly once: the child exported its own span, and not the parent's queued one.
    assert roles == ['"child"', '"parent"', '"parent-queued"']
    assert {service for service, _ in spans} == {"forkjob"}
    for _, s in spans:
        assert s.name == "work.job"
        assert attribute(s, "code.function.name") == "forkjob.work.job"
        assert attribute(s, "flowtrace.correlation_id")


def test_bad_setting_one_line_and_the_app_runs_untraced(receiver):
    result = run(
        [os.path.join(BIN, "flowtrace-instrument"), sys.executable, "-c", "from forkjob import work; print(work.job('x', 1))"],
        {"FLOWTRACE_MAX_VALUE_BYTES": "lots", "FLOWTRACE_CAPTURE_ARGS": "maybe", "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint},
    )
    assert result.returncode == 0
    assert result.stdout == "x:1\n"
    lines = [line for line in result.stderr.splitlines() if line.startswith("flowtrace:")]
    assert len(lines) == 1
    assert "FLOWTRACE_MAX_VALUE_BYTES" in lines[0] and "FLOWTRACE_CAPTURE_ARGS" in lines[0]
    assert "application runs untraced" in lines[0]
    assert not hasattr(__import__("sys"), "never")  # the child is separate: nothing leaks here
    time.sleep(0.3)
    assert receiver.spans == []


def test_disabled_sdk_is_silent():
    result = run(
        [os.path.join(BIN, "flowtrace-instrument"), sys.executable, "-c", "from forkjob import work; print(hasattr(work.job, '__flowtrace_site__'))"],
        {"OTEL_SDK_DISABLED": "true", "FLOWTRACE_MAX_VALUE_BYTES": "lots"},
    )
    assert result.returncode == 0
    assert result.stdout == "False\n"
    assert "flowtrace:" not in result.stderr


def test_a_script_run_by_python_is_traced(receiver):
    result = run(
        [os.path.join(BIN, "flowtrace-instrument"), sys.executable, "scripts/greet.py", "ada"],
        {"OTEL_SERVICE_NAME": "script", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf", "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint},
    )
    assert result.returncode == 0, result.stderr
    # As `python greet.py ada` would: __main__, its own argv[0] and sys.path[0], pickling by reference.
    assert result.stdout == "hello ada __main__ greet.py True True\n"
    spans = wait_for(receiver, lambda s: len(s) >= 2)
    names = sorted(s.name for _, s in spans)
    assert names == ["Greeter.hello", "greet.greet"]
    greet = next(s for _, s in spans if s.name == "greet.greet")
    assert attribute(greet, "code.function.name") == "greet.greet"
    assert attribute(greet, "code.file.path") == os.path.join(FIXTURES, "scripts", "greet.py")
