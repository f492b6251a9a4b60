"""The correlation ID: read from `x-request-id` / `x-correlation-id` or the baggage entry
`flowtrace.correlation_id`, created when a request arrives without one, written on every span and
on outgoing calls (as baggage and as `x-request-id`). The same rules as the Node.js and Java agents
(agents/conformance/correlation/ids.json)."""
from __future__ import annotations

import re
import uuid
from typing import Any, Optional, Set

from opentelemetry import baggage, trace
from opentelemetry.context import Context, get_current
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.propagators.textmap import (
    CarrierT,
    Getter,
    Setter,
    TextMapPropagator,
    default_getter,
    default_setter,
)
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

CORRELATION_KEY = "flowtrace.correlation_id"
CORRELATION_HEADERS = ("x-request-id", "x-correlation-id")
# What a client may name its request with: anything else (spaces, quotes, commas, `<`, CR/LF,
# non-ASCII) would travel into other services' headers, baggage and logs, so it is replaced.
_VALID_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")


def accept_correlation_id(raw: Any) -> Optional[str]:
    if not isinstance(raw, str):
        return None
    v = raw.strip()
    return v if _VALID_ID.fullmatch(v) else None


def new_correlation_id() -> str:
    return str(uuid.uuid4())


def correlation_of_span(span: Any) -> Optional[str]:
    attributes = getattr(span, "attributes", None)
    if not attributes:
        return None
    v = attributes.get(CORRELATION_KEY)
    return v if isinstance(v, str) else None


def correlation_of(ctx: Optional[Context]) -> Optional[str]:
    """The ID a context carries: its baggage entry, else the one on its active span. The second
    matters in Python: instrumentations make the server span current on the current context, not on
    the extracted one, so the request's baggage is not in the context its children see."""
    from_baggage = accept_correlation_id(baggage.get_baggage(CORRELATION_KEY, ctx))
    if from_baggage is not None:
        return from_baggage
    return correlation_of_span(trace.get_current_span(ctx))


def _first(getter: Getter, carrier: CarrierT, name: str) -> Optional[str]:
    values = getter.get(carrier, name)
    if not values:
        return None
    return accept_correlation_id(values[0] if isinstance(values, (list, tuple)) else values)


def _carrier_has(carrier: Any, name: str) -> bool:
    try:
        return any(isinstance(k, str) and k.lower() == name for k in carrier.keys())
    except Exception:
        return False


class CorrelationPropagator(TextMapPropagator):
    """Runs after the W3C trace-context and baggage propagators (OTEL_PROPAGATORS)."""

    _baggage = W3CBaggagePropagator()

    def extract(self, carrier: CarrierT, context: Optional[Context] = None, getter: Getter = default_getter) -> Context:
        ctx = context if context is not None else get_current()
        cid: Optional[str] = None
        for header in CORRELATION_HEADERS:
            cid = _first(getter, carrier, header)
            if cid is not None:
                break
        if cid is None:
            cid = accept_correlation_id(baggage.get_baggage(CORRELATION_KEY, ctx)) or new_correlation_id()
        return baggage.set_baggage(CORRELATION_KEY, cid, ctx)

    def inject(self, carrier: CarrierT, context: Optional[Context] = None, setter: Setter = default_setter) -> None:
        ctx = context if context is not None else get_current()
        cid = correlation_of(ctx)
        if cid is None:
            return
        # The baggage header again, with the ID in it (the baggage propagator only writes what the
        # context's baggage holds, which in Python rarely has the request's entry).
        if baggage.get_baggage(CORRELATION_KEY, ctx) != cid:
            self._baggage.inject(carrier, baggage.set_baggage(CORRELATION_KEY, cid, ctx), setter)
        # An x-request-id the application set itself wins.
        if not _carrier_has(carrier, "x-request-id"):
            setter.set(carrier, "x-request-id", cid)

    @property
    def fields(self) -> Set[str]:
        return {"x-request-id", "baggage"}


class CorrelationSpanProcessor(SpanProcessor):
    """Puts the correlation ID on every span the SDK starts (framework, client and method spans):
    from the parent context's baggage, else from the parent span, else a new one for a span that
    starts a trace outside any request."""

    def on_start(self, span: Span, parent_context: Optional[Context] = None) -> None:
        cid = correlation_of(parent_context if parent_context is not None else get_current())
        if cid is None and span.parent is None:
            cid = new_correlation_id()
        if cid is not None:
            span.set_attribute(CORRELATION_KEY, cid)

    def on_end(self, span: ReadableSpan) -> None:
        pass

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True
