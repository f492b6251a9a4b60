"""Exceptions recorded by others, masked before export: `span.record_exception(e)` from the
application or an instrumentation (the ASGI/FastAPI server span, `use_span` of the WSGI/Flask one)
writes the message and the formatted traceback as they are. The Node.js agent masks what is recorded
on its method spans (agents/node/src/method-span.ts); here every span's `exception` events are masked
as the agent's own messages are, when the span ends and before the batch processor takes it."""
from __future__ import annotations

from typing import Any, Optional

from opentelemetry.context import Context
from opentelemetry.sdk.trace import Event, ReadableSpan, Span, SpanProcessor

from .redact import mask_secrets_in_text
from .render import format_text

# As the Node.js agent's recordException (RECORDED_MAX_BYTES); the trace is masked, not cut.
RECORDED_MAX_BYTES = 512
_TEXT_KEYS = ("exception.message", "exception.stacktrace")


def _masked(event: Any) -> Any:
    attributes = dict(event.attributes or {})
    message = attributes.get("exception.message")
    if isinstance(message, str):
        attributes["exception.message"] = format_text(message, RECORDED_MAX_BYTES)
    trace = attributes.get("exception.stacktrace")
    if isinstance(trace, str):
        attributes["exception.stacktrace"] = mask_secrets_in_text(trace)
    return Event(event.name, attributes, event.timestamp)


class RecordedExceptionMasker(SpanProcessor):
    def on_start(self, span: Span, parent_context: Optional[Context] = None) -> None:
        pass

    def on_end(self, span: ReadableSpan) -> None:
        events = getattr(span, "_events", None)
        if not events or not any(e.name == "exception" for e in events):
            return
        try:
            # In place, in the SDK's bounded list (its deque keeps the limit and the dropped count).
            queue = events._dq
            for i, e in enumerate(list(queue)):
                if e.name == "exception":
                    queue[i] = _masked(e)
        except Exception:  # never break the export: the event goes as it was
            pass

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True
