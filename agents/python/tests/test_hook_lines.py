"""instrument_source imports the wrap decorator's name into the code it compiles (so the code runs
however it is executed: runpy, exec) without adding or moving a line: every code object keeps the
line table of the source as written."""
import dis
import types

import pytest

from flowtrace_agent.hook import WRAP_NAME, instrument_source

SHAPES = {
    "docstring_and_future": '"""A docstring\nover two lines."""\nfrom __future__ import annotations\n\nimport os\n\n\ndef f(a: int) -> int:\n    return a + len(os.sep)\n',
    "future_first": "from __future__ import annotations\n\n\ndef f(a: int) -> int:\n    return a\n",
    "two_future_imports_the_last_over_lines": '"""Doc."""\nfrom __future__ import generator_stop\nfrom __future__ import (\n    annotations,\n)\n\ndef f(a):\n    return a\n',
    "docstring_over_lines_then_def": '"""A docstring\nover\nthree lines."""\n\ndef f(a):\n    return a\n',
    "def_first": "def f(a):\n    return a\n\n\nclass C:\n    def m(self):\n        return f(1)\n",
    "decorated_def_first": "@staticmethod\n\n\ndef f(a):\n    return a\n",
    "comments_before_the_first_statement": "# a comment\n\n# another\nx = 1\n\n\ndef f(a):\n    return a + x\n",
    "docstring_and_statement_on_one_line": '"""Doc."""; import os\n\ndef f(a):\n    return a\n',
    "only_a_docstring": '"""Nothing else."""\n',
}


def line_table(code):
    """(name, first line, line starts) of a code object and of every code object inside it."""
    lines = [line for _, line in dis.findlinestarts(code) if line is not None]
    rows = [(code.co_name, code.co_firstlineno, lines)]
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            rows.extend(line_table(const))
    return rows


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_line_tables_are_those_of_the_source(name):
    source = SHAPES[name]
    plain = compile(source, f"{name}.py", "exec", dont_inherit=True)
    assert line_table(instrument_source(source, f"{name}.py")) == line_table(plain)


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_the_code_defines_the_wrap_name_itself(name):
    source = SHAPES[name]
    traced, untraced = {"__name__": "linefix"}, {"__name__": "linefix"}
    exec(instrument_source(source, f"{name}.py"), traced)  # no __flowtrace_wrap__ given: as runpy runs it
    exec(compile(source, f"{name}.py", "exec", dont_inherit=True), untraced)
    assert traced.get("__doc__") == untraced.get("__doc__")
    assert traced.get("__annotations__") == untraced.get("__annotations__")
    f = traced.get("f")
    if name == "only_a_docstring":
        assert f is None and WRAP_NAME not in traced  # nothing wrapped, nothing imported
    elif name == "decorated_def_first":
        assert hasattr(f.__func__, "__flowtrace_site__")
    else:
        assert hasattr(f, "__flowtrace_site__")
        assert f(1) == untraced["f"](1)
        if "future" in name:  # the __future__ import still applies: annotations stay strings
            assert f.__annotations__ == untraced["f"].__annotations__
