"""`flowtrace-instrument <command> …`: `opentelemetry-instrument` with FlowTrace's distro and
configurator chosen, whatever else is installed. `python SCRIPT …` becomes
`python -m flowtrace_agent.run_script SCRIPT …`, so that the script's own functions are traced too."""
from __future__ import annotations

import os
import re
import sys
from typing import List

_PYTHON = re.compile(r"^python(\d+(\.\d+)?)?$")


def script_command(argv: List[str]) -> List[str]:
    """The command with a plain `python SCRIPT.py …` run through run_script; anything else as it is
    (launcher options first, interpreter options, -m, -c)."""
    if len(argv) >= 2 and _PYTHON.match(os.path.basename(argv[0])) and argv[1].endswith(".py") and not argv[1].startswith("-"):
        return [argv[0], "-m", "flowtrace_agent.run_script", *argv[1:]]
    return argv


def main() -> None:
    os.environ.setdefault("OTEL_PYTHON_DISTRO", "flowtrace")
    os.environ.setdefault("OTEL_PYTHON_CONFIGURATOR", "flowtrace")
    sys.argv = [sys.argv[0], *script_command(sys.argv[1:])]
    from opentelemetry.instrumentation.auto_instrumentation import run

    run()


if __name__ == "__main__":
    main()
