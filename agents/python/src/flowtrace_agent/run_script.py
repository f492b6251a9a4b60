"""`python -m flowtrace_agent.run_script SCRIPT [ARGS]`: runs SCRIPT as `python SCRIPT ARGS` would,
as `__main__`, but compiled through the agent when the filter takes it, so that a script's own
functions (a Flask app started with `python app.py`) get spans. `flowtrace-instrument python
SCRIPT …` runs scripts this way; Python itself never imports the script it runs, so the import
hook alone cannot see it."""
from __future__ import annotations

import builtins
import os
import sys
import types


def main() -> None:
    if len(sys.argv) < 2:
        sys.stderr.write("usage: python -m flowtrace_agent.run_script SCRIPT [ARGS…]\n")
        raise SystemExit(2)
    path = os.path.abspath(sys.argv[1])
    sys.argv = sys.argv[1:]
    # As `python SCRIPT` sets it (with -m it would be the current folder).
    sys.path[0] = os.path.dirname(path)
    with open(path, "rb") as f:
        source = f.read()

    from .agent import running_agent
    from .hook import instrument_source

    agent = running_agent()
    stem = os.path.splitext(os.path.basename(path))[0]
    traced = agent is not None and agent.filter.matches(stem, path)
    code = instrument_source(source, path) if traced else compile(source, path, "exec", dont_inherit=True)
    module = types.ModuleType("__main__")
    module.__file__ = path
    module.__builtins__ = builtins  # type: ignore[attr-defined]
    module.__cached__ = None  # type: ignore[attr-defined]
    sys.modules["__main__"] = module
    exec(code, module.__dict__)  # instrumented code imports the wrap decorator's name itself


if __name__ == "__main__":
    main()
