"""The entry points OpenTelemetry's auto-instrumentation loads (`opentelemetry-instrument …`):
the distro sets FlowTrace's defaults before anything else is read, the configurator starts the
agent in place of the SDK's default configurator."""
from __future__ import annotations

import os
from typing import Any

from opentelemetry.instrumentation.distro import BaseDistro
from opentelemetry.sdk._configuration import _BaseConfigurator

from .agent import start_agent


class FlowTraceDistro(BaseDistro):
    def _configure(self, **kwargs: Any) -> None:
        # Ours, even when opentelemetry-distro's configurator is installed too.
        os.environ.setdefault("OTEL_PYTHON_CONFIGURATOR", "flowtrace")
        os.environ.setdefault("OTEL_PROPAGATORS", "tracecontext,baggage,flowtrace")


class FlowTraceConfigurator(_BaseConfigurator):
    def _configure(self, **kwargs: Any) -> None:
        start_agent()
