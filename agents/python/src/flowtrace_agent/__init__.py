"""FlowTrace agent for Python: method-level OpenTelemetry spans, with a correlation ID, no code change."""
from .agent import RunningAgent, running_agent, start_agent
from .version import VERSION

__all__ = ["RunningAgent", "running_agent", "start_agent", "VERSION"]
