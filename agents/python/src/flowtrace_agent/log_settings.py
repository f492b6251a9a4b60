"""The log settings (agents/conformance/logs/correlation.json): where trace and correlation IDs go
(FLOWTRACE_LOG_CORRELATION) and whether log records are exported over OTLP (OTEL_LOGS_EXPORTER). A
refused value is a notice, not a reason to turn the agent off: the default applies."""
from __future__ import annotations

from typing import Optional, Tuple

LOG_CORRELATION_SETTING = "FLOWTRACE_LOG_CORRELATION"
DEFAULT_LOG_CORRELATION = "auto"
_MODES = {"": "auto", "auto": "auto", "all": "all", "true": "all", "off": "off", "false": "off", "none": "off"}


def parse_log_correlation(raw: Optional[str]) -> Tuple[str, Optional[str]]:
    """(mode, notice): `auto` structured records, `all` the root handler's lines too, `off` nothing."""
    if raw is None:
        return DEFAULT_LOG_CORRELATION, None
    mode = _MODES.get(raw.strip().lower())
    if mode is not None:
        return mode, None
    return DEFAULT_LOG_CORRELATION, f'{LOG_CORRELATION_SETTING} must be auto, all or off (got "{raw}"); using {DEFAULT_LOG_CORRELATION}'


def parse_logs_exporter(raw: Optional[str]) -> Tuple[str, Optional[str]]:
    """(otlp | none, notice): a comma-separated list as the specification has it, `otlp` by default;
    `none` wins, and exporters the agent does not have are named in a notice."""
    names = [n.strip().lower() for n in (raw or "").split(",") if n.strip()]
    if not names:
        return "otlp", None
    if "none" in names:
        return "none", None
    value = "otlp" if "otlp" in names else "none"
    unknown = [n for n in names if n != "otlp"]
    if not unknown:
        return value, None
    tail = "; log records are not exported" if value == "none" else ""
    return value, "OTEL_LOGS_EXPORTER: the agent exports logs over otlp only, ignoring " + ", ".join(f'"{n}"' for n in unknown) + tail
