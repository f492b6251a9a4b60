"""Trace and correlation IDs in `logging` records (agents/conformance/logs/correlation.json).

`auto`: every record gets `trace_id`, `span_id` and `flowtrace.correlation_id` attributes, each only
when it has a value, so JSON formatters that write a record's extra attributes pick them up and a
format that does not name them is unchanged; a format that does (`%(trace_id)s`) shows an empty
string outside a span instead of failing. `all`: lines of handlers on the root logger that use a plain
`logging.Formatter` end in ` trace_id=… span_id=… flowtrace.correlation_id=…` (present fields)."""
from __future__ import annotations

import logging
from typing import Any, Callable, Dict, Mapping, Optional

from opentelemetry import trace
from opentelemetry.context import Context, get_current

from .correlation import CORRELATION_KEY, correlation_of

TRACE_ID = "trace_id"
SPAN_ID = "span_id"
FIELDS = (TRACE_ID, SPAN_ID, CORRELATION_KEY)


def log_fields(ctx: Optional[Context] = None) -> Dict[str, str]:
    """The active span's IDs (sampled or not, never the invalid zero ones) and the request's
    correlation ID, which outlives a lost trace context in baggage."""
    ctx = ctx if ctx is not None else get_current()
    fields: Dict[str, str] = {}
    span_context = trace.get_current_span(ctx).get_span_context()
    if span_context.is_valid:
        fields[TRACE_ID] = format(span_context.trace_id, "032x")
        fields[SPAN_ID] = format(span_context.span_id, "016x")
    correlation_id = correlation_of(ctx)
    if correlation_id is not None:
        fields[CORRELATION_KEY] = correlation_id
    return fields


def plain_suffix(fields: Mapping[str, Any]) -> str:
    """` trace_id=… span_id=… flowtrace.correlation_id=…`, the present fields in that order."""
    return "".join(f" {name}={fields[name]}" for name in FIELDS if name in fields)


class _RecordAttributes(dict):
    """A record's attributes: a format naming one of the fields the record does not have shows ''
    (the attribute itself stays absent, so JSON formatters never write an empty ID)."""

    def __missing__(self, key: str) -> str:
        if key in FIELDS:
            return ""
        raise KeyError(key)

    def __reduce__(self) -> Any:
        # A record pickled for another process (a multiprocessing queue) carries a plain dict.
        return (dict, (dict(self),))


def install_record_factory() -> Callable[[], None]:
    """Wraps the current LogRecord factory (the application's own, if it set one); returns the undo."""
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        attributes = _RecordAttributes(record.__dict__)
        attributes.update(log_fields())
        record.__dict__ = attributes
        return record

    logging.setLogRecordFactory(factory)

    def undo() -> None:
        if logging.getLogRecordFactory() is factory:
            logging.setLogRecordFactory(previous)

    return undo


def install_root_suffix() -> Callable[[], None]:
    """`all`: the text of the root logger's handlers with a plain Formatter ends in the fields the
    record carries (taken when it was made, in the caller's context). Returns the undo."""
    original = logging.Handler.format

    def format_with_suffix(self: logging.Handler, record: logging.LogRecord) -> str:
        text = original(self, record)
        formatter = self.formatter
        if type(formatter) in (logging.Formatter, type(None)) and self in logging.root.handlers:
            text += plain_suffix(record.__dict__)
        return text

    logging.Handler.format = format_with_suffix  # type: ignore[method-assign]

    def undo() -> None:
        if logging.Handler.format is format_with_suffix:
            logging.Handler.format = original  # type: ignore[method-assign]

    return undo


def install(mode: str) -> Callable[[], None]:
    """What the mode asks for; returns the undo."""
    undo = []
    if mode in ("auto", "all"):
        undo.append(install_record_factory())
    if mode == "all":
        undo.append(install_root_suffix())

    def undo_all() -> None:
        for fn in reversed(undo):
            fn()

    return undo_all
