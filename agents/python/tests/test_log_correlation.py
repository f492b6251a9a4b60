"""Trace and correlation IDs in `logging` records: the shared cases of
agents/conformance/logs/correlation.json through real loggers, handlers and formatters, the settings,
and the OTLP export of the session agent (masked, with the correlation ID)."""
import io
import json
import logging

import pytest
from opentelemetry import baggage, context, trace
from opentelemetry._logs import get_logger_provider
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from conftest import LOG_MEMORY, load_case_file
from flowtrace_agent import log_correlation
from flowtrace_agent.config import Invalid, load_config
from flowtrace_agent.correlation import CORRELATION_KEY
from flowtrace_agent.log_export import mask_log_value
from flowtrace_agent.log_settings import parse_log_correlation, parse_logs_exporter
from flowtrace_agent.redact import MASK

CONTRACT = load_case_file("logs/correlation.json")
IDS = CONTRACT["ids"]
# What a LogRecord has without the agent.
OWN = set(vars(logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None)))


@pytest.fixture
def mode():
    """Installs one mode at a time in place of the session agent's `auto`; restores it afterwards."""
    previous_factory = logging.getLogRecordFactory()
    previous_format = logging.Handler.format
    undo = []

    def install(name):
        logging.setLogRecordFactory(logging.LogRecord)
        undo.append(log_correlation.install(name))

    yield install
    for fn in reversed(undo):
        fn()
    logging.setLogRecordFactory(previous_factory)
    logging.Handler.format = previous_format


def case_context(case):
    ctx = context.get_current()
    if case["correlation"]:
        ctx = baggage.set_baggage(CORRELATION_KEY, IDS["correlation_id"], ctx)
    if case["in_span"]:
        flags = TraceFlags(TraceFlags.SAMPLED if case["sampled"] else TraceFlags.DEFAULT)
        span_context = SpanContext(int(IDS["trace_id"], 16), int(IDS["span_id"], 16), is_remote=False, trace_flags=flags)
        ctx = trace.set_span_in_context(NonRecordingSpan(span_context), ctx)
    return ctx


def expected_of(case):
    return {k: v.format(**IDS) for k, v in case["expected"].items()}


class Keep(logging.Handler):
    def __init__(self):
        super().__init__()
        self.records = []

    def emit(self, record):
        self.records.append(record)


class JsonFormatter(logging.Formatter):
    """As JSON formatters (python-json-logger) do: the message and every extra record attribute."""

    def format(self, record):
        extra = {k: v for k, v in vars(record).items() if k not in OWN}
        return json.dumps({"message": record.getMessage(), **extra})


def log_in(case, logger, *args, **kwargs):
    token = context.attach(case_context(case))
    try:
        logger.info(*args, **kwargs)
    finally:
        context.detach(token)


def structured_fields(case):
    logger = logging.getLogger(f"conformance.structured.{case['mode']}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    keep, stream = Keep(), io.StringIO()
    json_handler = logging.StreamHandler(stream)
    json_handler.setFormatter(JsonFormatter())
    logger.handlers = [keep, json_handler]
    log_in(case, logger, "order placed")
    (record,) = keep.records
    added = {k: v for k, v in vars(record).items() if k not in OWN}
    assert json.loads(stream.getvalue()) == {"message": "order placed", **added}
    return added


def plain_line(case):
    """One line through a root handler with a plain format."""
    root = logging.getLogger()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        log_in(case, logging.getLogger("conformance.plain"), "order placed")
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    return stream.getvalue().rstrip("\n")


def suffix_of(expected):
    parts = [p for p in CONTRACT["plain_suffix"].split(" ") if p]
    return "".join(f" {p.split('=')[0]}={expected[p.split('=')[0]]}" for p in parts if p.split("=")[0] in expected)


def test_the_fields_are_the_contracts():
    assert tuple(CONTRACT["fields"]) == log_correlation.FIELDS


@pytest.mark.parametrize("case", [c for c in CONTRACT["cases"] if c["logger"] == "structured"], ids=lambda c: c["name"])
def test_structured_case(case, mode):
    mode(case["mode"])
    assert structured_fields(case) == expected_of(case)


@pytest.mark.parametrize("case", [c for c in CONTRACT["cases"] if c["logger"] == "plain"], ids=lambda c: c["name"])
def test_plain_case(case, mode):
    mode(case["mode"])
    assert plain_line(case) == "order placed" + suffix_of(expected_of(case))


def test_a_format_naming_the_fields_shows_them_and_never_fails_outside_a_span(mode):
    mode("auto")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s [%(trace_id)s %(span_id)s %(flowtrace.correlation_id)s]"))
    logger = logging.getLogger("conformance.format")
    logger.propagate, logger.handlers = False, [handler]
    logger.setLevel(logging.INFO)
    inside = next(c for c in CONTRACT["cases"] if c["in_span"] and c["correlation"] and c["mode"] == "auto")
    log_in(inside, logger, "in")
    logger.info("out")
    assert stream.getvalue().splitlines() == [f"in [{IDS['trace_id']} {IDS['span_id']} {IDS['correlation_id']}]", "out [  ]"]
    with pytest.raises(KeyError):
        logging.makeLogRecord({"msg": "x"}).__dict__["not_ours"]


def test_all_leaves_root_handlers_with_their_own_formatter_class_alone(mode):
    mode("all")
    case = next(c for c in CONTRACT["cases"] if c["mode"] == "all" and c["logger"] == "plain")
    root, stream = logging.getLogger(), io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.INFO)
    try:
        log_in(case, logging.getLogger("conformance.json"), "order placed")
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    assert json.loads(stream.getvalue()) == {"message": "order placed", **expected_of(case)}


@pytest.mark.parametrize("accepted", CONTRACT["values"]["accepted"], ids=lambda a: repr(a["value"]))
def test_accepted_setting(accepted):
    assert parse_log_correlation(accepted["value"]) == (accepted["mode"], None)
    config = load_config({CONTRACT["setting"]: accepted["value"]}, ".")
    assert config.log_correlation == accepted["mode"] and config.notices == []


@pytest.mark.parametrize("refused", CONTRACT["values"]["refused"])
def test_refused_setting_is_one_notice_and_the_default(refused):
    config = load_config({CONTRACT["setting"]: refused}, ".")
    assert not isinstance(config, Invalid)
    assert config.log_correlation == CONTRACT["default"]
    assert len(config.notices) == 1
    assert CONTRACT["setting"] in config.notices[0] and f'"{refused}"' in config.notices[0]


def test_logs_exporter_and_endpoint_settings():
    assert load_config({}, ".").logs_exporter == "otlp"
    assert parse_logs_exporter(" None ") == ("none", None)
    value, notice = parse_logs_exporter("console")
    assert value == "none" and '"console"' in notice
    c = load_config({"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318/"}, ".")
    assert (c.endpoint, c.logs_protocol, c.logs_endpoint) == ("http://c:4318/v1/traces", "http/protobuf", "http://c:4318/v1/logs")
    assert load_config({"OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": "https://x/logs"}, ".").logs_endpoint == "https://x/logs"
    bad = load_config({"OTEL_EXPORTER_OTLP_LOGS_PROTOCOL": "udp", "OTEL_EXPORTER_OTLP_ENDPOINT": "nope"}, ".")
    assert isinstance(bad, Invalid)
    assert sum("OTEL_EXPORTER_OTLP_ENDPOINT" in p for p in bad.problems) == 1
    assert any("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL" in p for p in bad.problems)


def test_mask_log_value_masks_like_span_values():
    assert mask_log_value("login password=hunter2", "") == f"login password={MASK}"
    assert mask_log_value("x", "api_key") == MASK
    assert mask_log_value({"card": 4111111111111111, "order_id": 4111111111111111, "n": [1, "Bearer abcdefghijkl"]}, "") == {
        "card": MASK,
        "order_id": 4111111111111111,
        "n": [1, f"Bearer {MASK}"],
    }


def test_session_agent_exports_records_with_the_span_ids_and_the_correlation_id_masked():
    LOG_MEMORY.clear()
    logger = logging.getLogger("conformance.export")
    logger.setLevel(logging.INFO)
    tracer = trace.get_tracer("test")
    token = context.attach(baggage.set_baggage(CORRELATION_KEY, "req-export-1"))
    try:
        with tracer.start_as_current_span("handler") as span:
            logger.info("paid with card %s", "4111 1111 1111 1111", extra={"token": "abc", "trace_hint": 1})
    finally:
        context.detach(token)
    logger.info("no request")
    get_logger_provider().force_flush()
    records = [r.log_record for r in LOG_MEMORY.get_finished_logs() if r.instrumentation_scope.name == "conformance.export"]
    assert [r.body for r in records] == [f"paid with card {MASK}", "no request"]
    inside, outside = records
    assert inside.trace_id == span.get_span_context().trace_id and inside.span_id == span.get_span_context().span_id
    assert inside.attributes[CORRELATION_KEY] == "req-export-1"
    assert inside.attributes["token"] == MASK and inside.attributes["trace_hint"] == 1
    assert "trace_id" not in inside.attributes and "span_id" not in inside.attributes
    assert outside.trace_id in (0, None) and CORRELATION_KEY not in outside.attributes
