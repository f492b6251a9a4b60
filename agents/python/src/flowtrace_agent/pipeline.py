"""The tracer provider: the SDK's, with the correlation processor first and a batch processor
whose exporter survives fork. Pre-fork servers (gunicorn, uvicorn --workers, Celery prefork) start
the agent in the parent; a gRPC channel does not survive fork, and a worker that inherits it exports
nothing. Here the exporter is made lazily, on the first export (so a parent that never exports
never starts gRPC), and made anew in each forked child (LazyExporter)."""
from __future__ import annotations

import os
import threading
import weakref
from typing import Callable, Optional, Sequence

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace import sampling

from .config import AgentConfig
from .correlation import CorrelationSpanProcessor
from .recorded import RecordedExceptionMasker


class LazyExporter(SpanExporter):
    """Makes its exporter on the first export, in the process that exports, and again in a forked
    child: the SDK's batch processor restarts its own thread and empties its queue after fork
    (the parent sends what it queued), but an exporter's gRPC channel or HTTP session does not
    survive fork, so the child must not use the parent's."""

    def __init__(self, make: Callable[[], SpanExporter]) -> None:
        self._make = make
        self._exporter: Optional[SpanExporter] = None
        self._lock = threading.Lock()
        self.pid = os.getpid()
        self.forks = 0
        if hasattr(os, "register_at_fork"):
            ref = weakref.WeakMethod(self._after_fork)
            os.register_at_fork(after_in_child=lambda: _call(ref))

    def _after_fork(self) -> None:
        # The parent's exporter (and a lock another thread may have held at fork time) are left behind.
        self._lock = threading.Lock()
        self._exporter = None
        self.pid = os.getpid()
        self.forks += 1

    def _get(self) -> SpanExporter:
        with self._lock:
            if self._exporter is None:
                self._exporter = self._make()
            return self._exporter

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self._get().export(spans)

    def shutdown(self) -> None:
        if self._exporter is not None:
            self._exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        exporter = self._exporter
        return True if exporter is None else exporter.force_flush(timeout_millis)


def _call(ref: "weakref.WeakMethod[Callable[[], None]]") -> None:
    method = ref()
    if method is not None:
        method()


def make_exporter(config: AgentConfig) -> SpanExporter:
    if config.protocol == "grpc":
        # Read by grpcio when it loads: its fork handlers make a fork safe while a channel is being
        # set up or used in another thread (a batch processor exporting as a pre-fork server forks;
        # without them a child saw `epoll_wait: Bad file descriptor` and aborted, rarely). The
        # application's own choice wins.
        os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "true")
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter

        # Plain-text gRPC for an http:// endpoint, TLS for https:// (as the Node.js agent).
        return GrpcExporter(endpoint=config.endpoint, insecure=config.endpoint.startswith("http://"))
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter

    return HttpExporter(endpoint=config.endpoint)


def _sampler(config: AgentConfig) -> sampling.Sampler:
    ratio = sampling.TraceIdRatioBased(config.sampler_ratio)
    return {
        "always_on": sampling.ALWAYS_ON,
        "always_off": sampling.ALWAYS_OFF,
        "traceidratio": ratio,
        "parentbased_always_on": sampling.ParentBased(sampling.ALWAYS_ON),
        "parentbased_always_off": sampling.ParentBased(sampling.ALWAYS_OFF),
        "parentbased_traceidratio": sampling.ParentBased(ratio),
    }[config.sampler]


def create_provider(config: AgentConfig, exporter: Optional[Callable[[], SpanExporter]] = None) -> TracerProvider:
    """`exporter`: makes the exporter (tests, benchmarks); the OTLP one from the settings by default."""
    resource = Resource.create({**config.resource_attributes, "service.name": config.service_name})
    provider = TracerProvider(resource=resource, sampler=_sampler(config))
    provider.add_span_processor(CorrelationSpanProcessor())
    provider.add_span_processor(RecordedExceptionMasker())  # before the batch processor takes the span
    make = exporter or (lambda: make_exporter(config))
    provider.add_span_processor(BatchSpanProcessor(LazyExporter(make)))
    return provider
