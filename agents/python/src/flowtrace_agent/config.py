"""The agent's settings: the same names and meanings as the Node.js and Java agents
(agents/conformance/README.md), read from the environment. Every problem names its variable."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Union
from urllib.parse import unquote, urlparse

from .filter import FilterEntry, parse_filter_entries
from .log_settings import parse_log_correlation, parse_logs_exporter

DEFAULT_MAX_VALUE_BYTES = 512
PROTOCOLS = ("grpc", "http/protobuf")
SAMPLERS = (
    "always_on",
    "always_off",
    "traceidratio",
    "parentbased_always_on",
    "parentbased_always_off",
    "parentbased_traceidratio",
)


@dataclass
class AgentConfig:
    service_name: str
    protocol: str
    endpoint: str  # for HTTP, with /v1/traces
    sampler: str
    sampler_ratio: float
    resource_attributes: Dict[str, str]
    include: List[FilterEntry]
    exclude: List[FilterEntry]
    capture_args: bool
    capture_return: bool
    max_value_bytes: int
    project_root: str
    include_text: str = ""
    exclude_text: str = ""
    # FLOWTRACE_LOG_CORRELATION (auto, all, off) and OTEL_LOGS_EXPORTER (otlp, none).
    log_correlation: str = "auto"
    logs_exporter: str = "otlp"
    logs_protocol: str = "grpc"
    logs_endpoint: str = "http://localhost:4317"  # for HTTP, with /v1/logs
    # Refused values whose default applies: one line each on stderr.
    notices: List[str] = field(default_factory=list)


@dataclass
class Disabled:
    """OTEL_SDK_DISABLED=true: the agent stays out silently."""


@dataclass
class Invalid:
    problems: List[str]


def _non_empty(v: Optional[str]) -> Optional[str]:
    return None if v is None or v.strip() == "" else v.strip()


def _parse_bool(name: str, raw: Optional[str], problems: List[str]) -> bool:
    v = _non_empty(raw)
    if v is None:
        return False
    if v.lower() in ("true", "1", "yes", "on"):
        return True
    if v.lower() in ("false", "0", "no", "off"):
        return False
    problems.append(f'{name} must be true or false (got "{raw}")')
    return False


def _parse_resource(raw: str, problems: List[str]) -> Dict[str, str]:
    out: Dict[str, str] = {}
    for pair in raw.split(","):
        if pair.strip() == "":
            continue
        key, eq, value = pair.partition("=")
        if not eq or key.strip() == "":
            problems.append(f'OTEL_RESOURCE_ATTRIBUTES: "{pair.strip()}" is not key=value')
            continue
        out[key.strip()] = unquote(value.strip())
    return out


def _check_endpoint(name: str, value: str, problems: List[str]) -> Optional[str]:
    url = urlparse(value)
    if url.scheme not in ("http", "https") or not url.netloc:
        problems.append(f'{name} must be a URL such as http://localhost:4317 (got "{value}")')
        return None
    return value


def _project_name(root: str) -> str:
    """[project] name of the project's pyproject.toml, else the project folder's name."""
    try:
        with open(os.path.join(root, "pyproject.toml"), encoding="utf-8") as f:
            m = re.search(r'^\[project\][^\[]*?^name\s*=\s*["\']([^"\'\r\n]+)["\']', f.read(), re.M | re.S)
            if m:
                return m.group(1)
    except OSError:
        pass
    return os.path.basename(os.path.normpath(root)) or "unknown_service:python"


def load_config(env: Mapping[str, str], cwd: str) -> Union[AgentConfig, Disabled, Invalid]:
    problems: List[str] = []
    if (env.get("OTEL_SDK_DISABLED") or "").strip().lower() == "true":
        return Disabled()
    root = os.path.abspath(cwd)

    resource = _parse_resource(env.get("OTEL_RESOURCE_ATTRIBUTES", ""), problems)
    service_name = _non_empty(env.get("OTEL_SERVICE_NAME")) or resource.get("service.name") or _project_name(root)

    protocol = _non_empty(env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")) or _non_empty(env.get("OTEL_EXPORTER_OTLP_PROTOCOL")) or "grpc"
    if protocol not in PROTOCOLS:
        extra = " (http/json: the Python SDK has no JSON exporter)" if protocol == "http/json" else ""
        problems.append(f'OTEL_EXPORTER_OTLP_PROTOCOL must be one of {", ".join(PROTOCOLS)} (got "{protocol}"){extra}')

    endpoint = _endpoint(env, protocol, "traces", problems)
    logs_protocol = _non_empty(env.get("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL")) or _non_empty(env.get("OTEL_EXPORTER_OTLP_PROTOCOL")) or "grpc"
    if logs_protocol not in PROTOCOLS:
        problems.append(f'OTEL_EXPORTER_OTLP_LOGS_PROTOCOL must be one of {", ".join(PROTOCOLS)} (got "{logs_protocol}")')
    logs_endpoint = _endpoint(env, logs_protocol, "logs", problems)
    log_correlation, correlation_notice = parse_log_correlation(env.get("FLOWTRACE_LOG_CORRELATION"))
    logs_exporter, exporter_notice = parse_logs_exporter(env.get("OTEL_LOGS_EXPORTER"))

    sampler = _non_empty(env.get("OTEL_TRACES_SAMPLER")) or "parentbased_always_on"
    if sampler not in SAMPLERS:
        problems.append(f'OTEL_TRACES_SAMPLER must be one of {", ".join(SAMPLERS)} (got "{sampler}")')
    ratio = 1.0
    ratio_raw = _non_empty(env.get("OTEL_TRACES_SAMPLER_ARG"))
    if ratio_raw is not None and sampler.endswith("traceidratio"):
        try:
            ratio = float(ratio_raw)
            if not 0 <= ratio <= 1:
                raise ValueError
        except ValueError:
            problems.append(f'OTEL_TRACES_SAMPLER_ARG must be a number between 0 and 1 (got "{ratio_raw}")')

    include, p1 = parse_filter_entries(env.get("FLOWTRACE_INCLUDE", ""), "FLOWTRACE_INCLUDE", root)
    exclude, p2 = parse_filter_entries(env.get("FLOWTRACE_EXCLUDE", ""), "FLOWTRACE_EXCLUDE", root)
    problems += p1 + p2
    capture_args = _parse_bool("FLOWTRACE_CAPTURE_ARGS", env.get("FLOWTRACE_CAPTURE_ARGS"), problems)
    capture_return = _parse_bool("FLOWTRACE_CAPTURE_RETURN", env.get("FLOWTRACE_CAPTURE_RETURN"), problems)
    max_raw = _non_empty(env.get("FLOWTRACE_MAX_VALUE_BYTES"))
    max_value_bytes = DEFAULT_MAX_VALUE_BYTES
    if max_raw is not None:
        if re.fullmatch(r"\d+", max_raw) and 16 <= int(max_raw) <= 1_048_576:
            max_value_bytes = int(max_raw)
        else:
            problems.append(f'FLOWTRACE_MAX_VALUE_BYTES must be an integer from 16 to 1048576 (got "{max_raw}")')

    if problems or endpoint is None or logs_endpoint is None:
        return Invalid(problems)
    return AgentConfig(
        service_name=service_name,
        protocol=protocol,
        endpoint=endpoint,
        sampler=sampler,
        sampler_ratio=ratio,
        resource_attributes=resource,
        include=include,
        exclude=exclude,
        capture_args=capture_args,
        capture_return=capture_return,
        max_value_bytes=max_value_bytes,
        project_root=root,
        include_text=",".join(e.strip() for e in env.get("FLOWTRACE_INCLUDE", "").split(",") if e.strip()),
        exclude_text=",".join(e.strip() for e in env.get("FLOWTRACE_EXCLUDE", "").split(",") if e.strip()),
        log_correlation=log_correlation,
        logs_exporter=logs_exporter,
        logs_protocol=logs_protocol,
        logs_endpoint=logs_endpoint,
        notices=[n for n in (correlation_notice, exporter_notice) if n is not None],
    )


def _endpoint(env: Mapping[str, str], protocol: str, signal: str, problems: List[str]) -> Optional[str]:
    """The per-signal variable is a full URL; the general one is a base to which HTTP adds /v1/<signal>."""
    name = f"OTEL_EXPORTER_OTLP_{signal.upper()}_ENDPOINT"
    per_signal = _non_empty(env.get(name))
    if per_signal is not None:
        return _check_endpoint(name, per_signal, problems)
    base = _non_empty(env.get("OTEL_EXPORTER_OTLP_ENDPOINT")) or ("http://localhost:4317" if protocol == "grpc" else "http://localhost:4318")
    # A bad general endpoint is named once, for traces.
    endpoint = _check_endpoint("OTEL_EXPORTER_OTLP_ENDPOINT", base, problems if signal == "traces" else [])
    if endpoint is not None and protocol != "grpc":
        endpoint = endpoint.rstrip("/") + f"/v1/{signal}"
    return endpoint
