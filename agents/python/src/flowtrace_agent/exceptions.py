"""The `exception` event of a method span that raised, written here rather than by the SDK's
record_exception (which exports the message and traceback as they are): the message is the
exception's own, masked and cut like a captured value; the trace starts with `<type>: <message>`
and keeps at most MAX_FRAMES frames per exception and MAX_CAUSES causes. The rules and cases are
shared with the other agents (agents/conformance/rendering/exceptions.json)."""
from __future__ import annotations

import traceback
from typing import Dict, List, Optional

from .render import exception_message, exception_type, format_text

MAX_FRAMES = 64
MAX_CAUSES = 4


def exception_attributes(e: BaseException, max_bytes: int) -> Dict[str, str]:
    message = exception_message(e)
    attributes = {"exception.type": exception_type(e)}
    if message is not None:
        attributes["exception.message"] = format_text(message, max_bytes)
    attributes["exception.stacktrace"] = stack_trace(e, max_bytes)
    return attributes


def _header(e: BaseException, max_bytes: int) -> str:
    message = exception_message(e)
    return exception_type(e) if message is None else f"{exception_type(e)}: {format_text(message, max_bytes)}"


def _frames(e: BaseException) -> List[str]:
    """The exception's frames, innermost first (as the other agents write them)."""
    out = []
    for fs in reversed(traceback.extract_tb(e.__traceback__)):
        out.append(f'  File "{fs.filename}", line {fs.lineno}, in {fs.name}')
    return out


def _cause(e: BaseException) -> Optional[BaseException]:
    if e.__cause__ is not None:
        return e.__cause__
    return None if e.__suppress_context__ else e.__context__


def stack_trace(e: BaseException, max_bytes: int) -> str:
    lines: List[str] = []
    current: Optional[BaseException] = e
    seen = set()
    depth = 0
    while current is not None and depth <= MAX_CAUSES and id(current) not in seen:
        seen.add(id(current))
        lines.append(("Caused by: " if depth > 0 else "") + _header(current, max_bytes))
        frames = _frames(current)
        lines.extend(frames[:MAX_FRAMES])
        if len(frames) > MAX_FRAMES:
            lines.append(f"  ... {len(frames) - MAX_FRAMES} more")
        current = _cause(current)
        depth += 1
    return "\n".join(lines) + "\n"
