"""Starting the agent: settings checked, SDK provider set, correlation propagator added, method
tracing on and the import hook installed. A bad setting is one line on stderr and the application
runs untraced (the SDK is not set up; the official instrumentations find no provider)."""
from __future__ import annotations

import os
import sys
from typing import Callable, List, Mapping, Optional

from opentelemetry import propagate, trace
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.sdk._logs.export import LogRecordExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter

from . import hook, log_correlation
from .config import AgentConfig, Disabled, Invalid, load_config
from .correlation import CorrelationPropagator
from .filter import ModuleFilter
from .log_export import start_log_export
from .methods import STATE
from .pipeline import create_provider
from .version import VERSION

WARNING_PREFIX = "flowtrace:"
SCOPE = "flowtrace-agent"


class RunningAgent:
    def __init__(self, config: AgentConfig, provider: TracerProvider, module_filter: ModuleFilter, undo_logs: Callable[[], None]) -> None:
        self.config = config
        self.provider = provider
        self.filter = module_filter
        self._undo_logs = undo_logs

    def shutdown(self) -> None:
        STATE.enabled = False
        hook.uninstall()
        self._undo_logs()
        self.provider.shutdown()


_running: List[RunningAgent] = []
_warned: List[bool] = []


def warn_untraced(problems: List[str]) -> None:
    """One line on stderr, once per process: the application goes on, untraced."""
    if _warned:
        return
    _warned.append(True)
    sys.stderr.write(f"{WARNING_PREFIX} the agent is off, the application runs untraced: {'; '.join(problems)}\n")
    sys.stderr.flush()


def running_agent() -> Optional[RunningAgent]:
    return _running[0] if _running else None


def _add_correlation_propagator() -> None:
    current = propagate.get_global_textmap()
    inner = getattr(current, "_propagators", [current])
    if any(isinstance(p, CorrelationPropagator) for p in inner):
        return
    propagate.set_global_textmap(CompositePropagator([*inner, CorrelationPropagator()]))


def start_agent(
    env: Optional[Mapping[str, str]] = None,
    cwd: Optional[str] = None,
    exporter: Optional[Callable[[], SpanExporter]] = None,
    set_global: bool = True,
    announce: bool = True,
    log_exporter: Optional[Callable[[], LogRecordExporter]] = None,
) -> Optional[RunningAgent]:
    """Reads the settings and starts the agent; None when it is disabled, misconfigured (after one
    warning) or already running. `exporter` / `log_exporter` make the span / log exporters (tests)."""
    if _running:
        return None
    try:
        result = load_config(env if env is not None else os.environ, cwd or os.getcwd())
    except Exception as err:  # never stop the application
        warn_untraced([f"cannot read the settings: {err}"])
        return None
    if isinstance(result, Disabled):
        return None
    if isinstance(result, Invalid):
        warn_untraced(result.problems)
        return None
    config = result
    for notice in config.notices:
        sys.stderr.write(f"{WARNING_PREFIX} {notice}\n")
    undo_logs: Callable[[], None] = lambda: None
    try:
        provider = create_provider(config, exporter)
        if set_global:
            trace.set_tracer_provider(provider)
            _add_correlation_propagator()
            undo_logs = log_correlation.install(config.log_correlation)
            if config.logs_exporter == "otlp":
                start_log_export(config, provider.resource, log_exporter)
        module_filter = ModuleFilter(config.include, config.exclude, config.project_root)
        STATE.tracer = provider.get_tracer(SCOPE, VERSION)
        STATE.capture_args = config.capture_args
        STATE.capture_return = config.capture_return
        STATE.max_value_bytes = config.max_value_bytes
        STATE.enabled = True
        hook.install(module_filter, _report_wrap_error)
    except Exception as err:
        STATE.enabled = False
        undo_logs()
        warn_untraced([f"could not start: {err}"])
        return None
    agent = RunningAgent(config, provider, module_filter, undo_logs)
    _running.append(agent)
    if announce:
        sys.stderr.write(f"{WARNING_PREFIX} {startup_line(config)}\n")
        sys.stderr.flush()
    return agent


def startup_line(config: AgentConfig) -> str:
    """What the agent traces and where it sends it, said once at start-up (the agent contract)."""
    what = f"modules matching {config.include_text}" if config.include_text else f"the project's own modules under {config.project_root}"
    if config.exclude_text:
        what += f" except {config.exclude_text}"
    captured = [n for n, on in (("arguments", config.capture_args), ("return values", config.capture_return)) if on]
    capture = f", capturing {' and '.join(captured)} ({config.max_value_bytes} bytes max)" if captured else ""
    return f"agent on for {config.service_name}: tracing {what}{capture}; OTLP {config.protocol} to {config.endpoint}"


_reported: List[str] = []


def _report_wrap_error(module: str, err: BaseException) -> None:
    if module in _reported:
        return
    _reported.append(module)
    sys.stderr.write(f"{WARNING_PREFIX} could not instrument {module}, it runs untraced: {err}\n")
