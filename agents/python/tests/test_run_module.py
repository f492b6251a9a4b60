"""`flowtrace-instrument python -m MODULE`: runpy runs the module's instrumented code as `__main__`
without the import system's exec_module, so the code must define the wrap decorator's name itself.
Each fixture module (tests/fixtures/runmain) runs in a child process; its method spans reach a local
OTLP receiver with the line numbers of the source as written."""
import os
import re
import subprocess
import sys

import pytest

from conftest import FIXTURES, child_env
from receiver import Receiver, attribute

BIN = os.path.dirname(sys.executable)
PACKAGE = os.path.join(FIXTURES, "runmain")


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def run_module(module, args, receiver):
    env = child_env(
        {
            "OTEL_SERVICE_NAME": "runmain",
            "OTEL_METRICS_EXPORTER": "none",
            "OTEL_LOGS_EXPORTER": "none",
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
        }
    )
    command = [os.path.join(BIN, "flowtrace-instrument"), sys.executable, "-m", module, *args]
    return subprocess.run(command, cwd=FIXTURES, env=env, capture_output=True, text=True, timeout=60)


def def_line(file_name, name):
    """The line of `def NAME` in the fixture file, as written."""
    with open(os.path.join(PACKAGE, file_name), encoding="utf-8") as f:
        for number, text in enumerate(f, start=1):
            if re.match(rf"\s*def {name}\(", text):
                return number
    raise AssertionError(f"no def {name} in {file_name}")


@pytest.mark.parametrize(
    "module,args,file_name,stdout,functions",
    [
        # A package's __main__: docstring over two lines, then `from __future__ import annotations`.
        ("runmain", ["a1"], "__main__.py", "__main__ order a1\n", {"Order.label": "runmain.__main__.Order.label", "__main__.ship": "runmain.__main__.ship"}),
        # `from __future__ import annotations` on line 1, no docstring.
        ("runmain.future_first", [], "future_first.py", "__main__ 6\n", {"future_first.total": "runmain.future_first.total"}),
        # A function on line 1.
        ("runmain.def_first", [], "def_first.py", "__main__ 42\n", {"def_first.double": "runmain.def_first.double", "Till.ring": "runmain.def_first.Till.ring"}),
    ],
)
def test_functions_of_a_module_run_with_dash_m_are_traced(receiver, module, args, file_name, stdout, functions):
    result = run_module(module, args, receiver)
    assert result.returncode == 0, result.stderr
    assert result.stdout == stdout
    # The child has exited: the SDK flushed its spans at shutdown, each POST answered after it was kept.
    with receiver.lock:
        spans = {s.name: s for _, s in receiver.spans}
    assert sorted(spans) == sorted(functions)
    for span_name, full_name in functions.items():
        span = spans[span_name]
        assert attribute(span, "code.function.name") == full_name
        assert attribute(span, "code.file.path") == os.path.join(PACKAGE, file_name)
        assert attribute(span, "code.line.number") == def_line(file_name, span_name.rpartition(".")[2])
        assert attribute(span, "flowtrace.correlation_id")


def test_a_module_with_only_a_docstring_runs(receiver):
    result = run_module("runmain.doc_only", [], receiver)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert [line for line in result.stderr.splitlines() if not line.startswith("flowtrace:")] == []
    assert receiver.spans == []
