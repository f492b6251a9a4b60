"""One agent for the whole test session, exporting to memory, tracing the fixture package."""
import json
import os
import sys

# This process hosts gRPC test receivers and starts the agent's subprocesses. Before Python 3.10,
# subprocess forks with fork(), which runs grpcio's fork handlers (on by default in grpcio 1.80);
# with the receiver's threads busy they were skipped, and the child aborted before exec in about one
# suite run in fourteen ("epoll_wait error: Bad file descriptor", exit -6). Fork support is for a
# child that goes on using gRPC; ours exec at once. Set before grpc is first imported; the agent's
# subprocesses get their own default back (test_instrument.run drops GRPC_* settings).
os.environ["GRPC_ENABLE_FORK_SUPPORT"] = "false"

import pytest  # noqa: E402
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

HERE = os.path.dirname(os.path.abspath(__file__))
CONFORMANCE = os.path.normpath(os.path.join(HERE, "..", "..", "conformance"))
FIXTURES = os.path.join(HERE, "fixtures")
sys.path.insert(0, FIXTURES)

MEMORY = InMemorySpanExporter()
LOG_MEMORY = InMemoryLogRecordExporter()
MAX_VALUE_BYTES = 64


def load_case_file(relative):
    with open(os.path.join(CONFORMANCE, relative), encoding="utf-8") as f:
        return json.load(f)


def child_env(settings):
    """The environment of an agent's subprocess: this one's without agent, exporter or gRPC settings
    (GRPC_ENABLE_FORK_SUPPORT above is this process's), the fixtures importable, then `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "FLOWTRACE_", "GRPC_"))}
    env["PYTHONPATH"] = FIXTURES
    env.update(settings)
    return env


def _start():
    from flowtrace_agent import start_agent

    env = {
        "OTEL_SERVICE_NAME": "pytest",
        "FLOWTRACE_INCLUDE": "shopfix",
        "FLOWTRACE_CAPTURE_ARGS": "true",
        "FLOWTRACE_CAPTURE_RETURN": "true",
        "FLOWTRACE_MAX_VALUE_BYTES": str(MAX_VALUE_BYTES),
        "OTEL_BSP_SCHEDULE_DELAY": "50",
    }
    agent = start_agent(env=env, cwd=HERE, exporter=lambda: MEMORY, announce=False, log_exporter=lambda: LOG_MEMORY)
    assert agent is not None
    return agent


AGENT = _start()


@pytest.fixture
def spans():
    """Returns a function giving the spans ended so far (flushed), then clears them after the test."""
    AGENT.provider.force_flush()  # spans of earlier tests still queued
    MEMORY.clear()

    def get():
        AGENT.provider.force_flush()
        return list(MEMORY.get_finished_spans())

    yield get
    MEMORY.clear()


def named(spans, name):
    found = [s for s in spans if s.name == name]
    assert found, f"no span {name} in {[s.name for s in spans]}"
    return found
