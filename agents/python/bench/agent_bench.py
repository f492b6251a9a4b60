"""Per-call cost of a traced function under the agent (import-hook wrapping, span + OTLP encoding),
a hand-written OpenTelemetry span around the same function, no agent, an excluded function, and
the two other mechanisms the agent could have used (sys.setprofile, sys.monitoring on 3.12+), each
making the same spans (the agent's code.* attributes; the plain hand-written span has none). Prints one JSON object. Run by bench/agent-python.ts."""
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import bench_plain  # noqa: E402  loaded before the agent: untouched

from opentelemetry import context as otel_context  # noqa: E402
from opentelemetry import trace  # noqa: E402
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans  # noqa: E402
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult  # noqa: E402

CALLS = int(os.environ.get("BENCH_CALLS", "20000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))


class EncodingExporter(SpanExporter):
    """Does what the OTLP exporter does short of the network: encodes each batch to protobuf."""

    def __init__(self):
        self.spans = 0

    def export(self, spans):
        encode_spans(spans).SerializeToString()
        self.spans += len(spans)
        return SpanExportResult.SUCCESS


EXPORTER = EncodingExporter()
os.environ.setdefault("OTEL_BSP_MAX_QUEUE_SIZE", str(CALLS * 2))  # nothing dropped: every span is paid for
from flowtrace_agent import start_agent  # noqa: E402

AGENT = start_agent(env={"FLOWTRACE_INCLUDE": "bench_traced", "OTEL_SERVICE_NAME": "bench"}, cwd=HERE, exporter=lambda: EXPORTER, announce=False)
assert AGENT is not None
import bench_excluded  # noqa: E402
import bench_traced  # noqa: E402

assert hasattr(bench_traced.work, "__flowtrace_site__") and not hasattr(bench_excluded.work, "__flowtrace_site__")
TRACER = AGENT.provider.get_tracer("hand-written")


SITE_ATTRIBUTES = dict(bench_traced.work.__flowtrace_site__.attributes)


def hand_written(x):
    with TRACER.start_as_current_span("bench_plain.work"):
        return bench_plain.work(x)


def hand_written_same_attributes(x):
    with TRACER.start_as_current_span("bench_plain.work", attributes=SITE_ATTRIBUTES):
        return bench_plain.work(x)


# --- sys.setprofile: a profile function sees every call and return in the process -----------------
TARGET_CODE = bench_plain.work.__code__
_stack = []


def profiler(frame, event, arg):
    if frame.f_code is not TARGET_CODE:
        return
    if event == "call":
        span = TRACER.start_span("bench_plain.work", attributes=SITE_ATTRIBUTES)
        _stack.append((span, otel_context.attach(trace.set_span_in_context(span))))
    elif event == "return":
        span, token = _stack.pop()
        otel_context.detach(token)
        span.end()


def profile_on():
    sys.setprofile(profiler)


def profile_off():
    sys.setprofile(None)


# --- sys.monitoring (3.12+): events enabled on the traced code object only -----------------------
HAS_MONITORING = hasattr(sys, "monitoring")


def monitoring_on():
    m = sys.monitoring
    m.use_tool_id(m.PROFILER_ID, "flowtrace-bench")

    def start(code, offset):
        span = TRACER.start_span("bench_plain.work", attributes=SITE_ATTRIBUTES)
        _stack.append((span, otel_context.attach(trace.set_span_in_context(span))))

    def ret(code, offset, value):
        span, token = _stack.pop()
        otel_context.detach(token)
        span.end()

    m.register_callback(m.PROFILER_ID, m.events.PY_START, start)
    m.register_callback(m.PROFILER_ID, m.events.PY_RETURN, ret)
    m.set_local_events(m.PROFILER_ID, TARGET_CODE, m.events.PY_START | m.events.PY_RETURN)


def monitoring_off():
    m = sys.monitoring
    m.set_local_events(m.PROFILER_ID, TARGET_CODE, 0)
    m.register_callback(m.PROFILER_ID, m.events.PY_START, None)
    m.register_callback(m.PROFILER_ID, m.events.PY_RETURN, None)
    m.free_tool_id(m.PROFILER_ID)


def one_round(fn, setup=None, teardown=None):
    if setup:
        setup()
    start = time.perf_counter_ns()
    for i in range(CALLS):
        fn(i)
    elapsed = time.perf_counter_ns() - start
    if teardown:
        teardown()
    AGENT.provider.force_flush()
    return elapsed / CALLS


def main():
    for fn in (bench_plain.work, bench_traced.work, hand_written):  # warm-up
        for i in range(2000):
            fn(i)
    AGENT.provider.force_flush()
    before = EXPORTER.spans
    variants = {
        "no_agent_ns": (bench_plain.work, None, None),
        "excluded_ns": (bench_excluded.work, None, None),
        "traced_ns": (bench_traced.work, None, None),
        "hand_written_span_ns": (hand_written, None, None),
        "hand_written_same_attributes_ns": (hand_written_same_attributes, None, None),
        "setprofile_traced_ns": (bench_plain.work, profile_on, profile_off),
        "setprofile_excluded_ns": (bench_excluded.work, profile_on, profile_off),
    }
    if HAS_MONITORING:
        variants["monitoring_traced_ns"] = (bench_plain.work, monitoring_on, monitoring_off)
        # With events on one code object, any other function costs what it did.
        variants["monitoring_excluded_ns"] = (bench_excluded.work, monitoring_on, monitoring_off)
    samples = {name: [] for name in variants}
    # The variants take turns, round after round, so that a busy moment of the machine hits all.
    for _ in range(ROUNDS):
        for name, (fn, setup, teardown) in variants.items():
            samples[name].append(one_round(fn, setup, teardown))
    out = {"python": sys.version.split()[0], "calls_per_round": CALLS, "rounds": ROUNDS}
    for name, values in samples.items():
        out[name] = round(statistics.median(values), 1)
    AGENT.provider.force_flush()
    out["spans_exported"] = EXPORTER.spans - before
    print(json.dumps(out))

main()
