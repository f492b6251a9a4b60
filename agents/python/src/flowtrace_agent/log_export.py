"""OTLP export of `logging` records through the SDK's logs bridge (its configurator's `_init_logging`:
a LoggerProvider, a LoggingHandler on the root logger that basicConfig/dictConfig leave in place).
Each record carries the span's trace and span IDs in its own fields and `flowtrace.correlation_id`
as an attribute; its body and attributes are masked like captured span values."""
from __future__ import annotations

import warnings
from typing import Any, Callable, Optional

from opentelemetry.context import get_current
from opentelemetry.sdk._logs import LogRecordProcessor, ReadWriteLogRecord
from opentelemetry.sdk._logs.export import LogRecordExporter
from opentelemetry.sdk.resources import Resource

from .cards import is_card_integer
from .config import AgentConfig
from .correlation import CORRELATION_KEY, correlation_of
from .log_correlation import SPAN_ID, TRACE_ID
from .pipeline import LazyExporter
from .redact import MASK, is_secret_key, mask_secrets_in_text

# Deeper structures are cut rather than walked: a log call's arguments are the application's.
_MAX_DEPTH = 8


def mask_log_value(value: Any, key: str, depth: int = 0) -> Any:
    """A log value with secrets masked: whole under a secret key, else by what text looks like."""
    if key and key != CORRELATION_KEY and is_secret_key(key):
        return MASK
    if isinstance(value, str):
        return mask_secrets_in_text(value, key)
    if isinstance(value, bool) or not isinstance(value, (int, list, tuple, dict)):
        return value
    if isinstance(value, int):
        return MASK if is_card_integer(value, key) else value
    if depth >= _MAX_DEPTH:
        return "[…]"
    if isinstance(value, dict):
        return {k: mask_log_value(v, str(k), depth + 1) for k, v in value.items()}
    return [mask_log_value(v, key, depth + 1) for v in value]


class CorrelatingMaskingProcessor(LogRecordProcessor):
    """Runs before the batch processor: the correlation ID as an attribute (also under
    FLOWTRACE_LOG_CORRELATION=off, from the context the record was logged in), the IDs the record
    factory added dropped from the attributes (they are the record's own fields), secrets masked."""

    def on_emit(self, log_record: ReadWriteLogRecord) -> None:
        record = log_record.log_record
        attributes = record.attributes
        if attributes is None:
            return
        for name in (TRACE_ID, SPAN_ID):
            if name in attributes:
                del attributes[name]
        if CORRELATION_KEY not in attributes:
            correlation_id = correlation_of(get_current())
            if correlation_id is not None:
                attributes[CORRELATION_KEY] = correlation_id
        for key in list(attributes.keys()):
            value = attributes[key]
            masked = mask_log_value(value, key)
            if masked != value:
                attributes[key] = masked
        if isinstance(record.body, (str, dict, list)):
            record.body = mask_log_value(record.body, "")

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


class LazyLogExporter(LazyExporter, LogRecordExporter):
    """The logs exporter, made on the first export and anew after fork (see LazyExporter)."""


def make_log_exporter(config: AgentConfig) -> LogRecordExporter:
    if config.logs_protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcLogExporter

        return GrpcLogExporter(endpoint=config.logs_endpoint, insecure=config.logs_endpoint.startswith("http://"))
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpLogExporter

    return HttpLogExporter(endpoint=config.logs_endpoint)


def start_log_export(config: AgentConfig, resource: Resource, exporter: Optional[Callable[[], LogRecordExporter]] = None) -> None:
    """Sets the global LoggerProvider and the root logger's OTLP handler. `exporter` makes the
    exporter (tests); the OTLP one from the settings by default."""
    from opentelemetry.sdk._configuration import _init_logging

    make = exporter or (lambda: make_log_exporter(config))
    with warnings.catch_warnings():
        # The SDK marks its LoggingHandler deprecated (the instrumentation package is to take it over); it is this line's bridge.
        warnings.simplefilter("ignore", DeprecationWarning)
        _init_logging(
            {"otlp": LazyLogExporter},
            resource=resource,
            setup_logging_handler=True,
            exporter_args_map={LazyLogExporter: {"make": make}},
            log_record_processors=[CorrelatingMaskingProcessor()],
        )
