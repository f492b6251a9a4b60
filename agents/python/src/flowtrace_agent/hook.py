"""The import hook: a meta-path finder that, for a module the filter takes, compiles its source
with one more decorator on each function and method — innermost, so that the application's own
decorators (`@app.route`, `@staticmethod`, `@functools.lru_cache`, `@contextmanager`) see and
register the traced function — and imports that decorator's name after the docstring and
`__future__` imports, so the code runs however it is executed (import, runpy, exec). Line numbers
and the source file are unchanged (tracebacks, `inspect` and debuggers see the application's
code); the module is compiled from source, not from its `__pycache__` (the rewritten code must
never be cached where an untraced run would load it)."""
from __future__ import annotations

import ast
import importlib.abc
import importlib.machinery
import sys
import threading
from typing import Any, Callable, List, Optional, Sequence, Union

from .filter import ModuleFilter
from .methods import METHOD, wrap

WRAP_NAME = "__flowtrace_wrap__"
# Decorators whose function is an accessor, not a method worth a span (FLOWTRACE_SKIP_TRIVIAL in spirit).
_ACCESSORS = {"property", "cached_property", "setter", "getter", "deleter", "overload"}

FunctionNode = Union[ast.FunctionDef, ast.AsyncFunctionDef]


def _decorator_name(d: ast.expr) -> str:
    if isinstance(d, ast.Call):
        d = d.func
    if isinstance(d, ast.Attribute):
        return d.attr
    if isinstance(d, ast.Name):
        return d.id
    return ""


def _is_dunder(name: str) -> bool:
    return name.startswith("__") and name.endswith("__")


class _Decorate(ast.NodeTransformer):
    """Adds `@__flowtrace_wrap__(flags, line)` to module- and class-level functions; functions
    defined inside functions are left alone (a wrapper per definition would cost every call of the
    outer function)."""

    def __init__(self) -> None:
        self.in_class = False
        self.count = 0

    def _function(self, node: FunctionNode) -> FunctionNode:
        names = {_decorator_name(d) for d in node.decorator_list}
        if _is_dunder(node.name) or names & _ACCESSORS:
            return node
        flags = METHOD if self.in_class and "staticmethod" not in names else 0
        call = ast.Call(
            func=ast.Name(id=WRAP_NAME, ctx=ast.Load()),
            args=[ast.Constant(value=flags), ast.Constant(value=node.lineno)],
            keywords=[],
        )
        node.decorator_list.append(ast.copy_location(call, node))
        self.count += 1
        return node  # no generic_visit: nested functions stay as they are

    visit_FunctionDef = _function  # type: ignore[assignment]
    visit_AsyncFunctionDef = _function  # type: ignore[assignment]

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.ClassDef:
        outer, self.in_class = self.in_class, True
        self.generic_visit(node)
        self.in_class = outer
        return node

    def visit_Lambda(self, node: ast.Lambda) -> ast.Lambda:
        return node


def _first_line(node: ast.stmt) -> int:
    """The line a statement starts executing on: a decorated definition's first decorator."""
    decorators = getattr(node, "decorator_list", None) or []
    return min([node.lineno, *(d.lineno for d in decorators)])


def _is_docstring(node: ast.stmt) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)


def _import_wrap_name(tree: ast.Module) -> None:
    """Puts `from flowtrace_agent.hook import _wrap_decorator as __flowtrace_wrap__` after the
    docstring and `__future__` imports, so that the code defines the name itself however it is run
    (runpy runs a `python -m` module's code without exec_module). The import is placed on a line that
    runs anyway — the first line of the statement before it, or else of the one after — so no line
    is added: line numbers, tracebacks and coverage stay those of the source."""
    body = tree.body
    index = 1 if body and _is_docstring(body[0]) else 0
    while index < len(body) and isinstance(body[index], ast.ImportFrom) and body[index].module == "__future__":
        index += 1
    line = body[index - 1].lineno if index > 0 else _first_line(body[0])
    node = ast.ImportFrom(module=__name__, names=[ast.alias(name=_wrap_decorator.__name__, asname=WRAP_NAME)], level=0)
    for each in ast.walk(node):
        each.lineno = each.end_lineno = line  # type: ignore[attr-defined]
        each.col_offset = each.end_col_offset = 0  # type: ignore[attr-defined]
    body.insert(index, node)


def instrument_source(source: Union[str, bytes], path: str) -> Any:
    """The module's code object with the wrap decorator added; the compiled form of the source when
    nothing is to be wrapped."""
    tree = ast.parse(source, path)
    transformer = _Decorate()
    tree = transformer.visit(tree)
    if transformer.count:
        _import_wrap_name(tree)
    ast.fix_missing_locations(tree)
    return compile(tree, path, "exec", dont_inherit=True)


def _wrap_decorator(flags: int, line: int) -> Callable[[Any], Any]:
    def apply(fn: Any) -> Any:
        try:
            return wrap(fn, flags, line)
        except Exception:  # a function the agent cannot describe runs untraced
            return fn

    return apply


class InstrumentingLoader(importlib.machinery.SourceFileLoader):
    def get_code(self, fullname: str) -> Any:  # type: ignore[override]
        path = self.get_filename(fullname)
        return instrument_source(self.get_data(path), path)

    def exec_module(self, module: Any) -> None:
        try:
            super().exec_module(module)
        finally:  # the code imported the name for its definitions; an imported module is left clean
            module.__dict__.pop(WRAP_NAME, None)


class FlowTraceFinder(importlib.abc.MetaPathFinder):
    """First on sys.meta_path: asks the other finders for the spec and, for a module the filter
    takes that is plain Python source, loads it with InstrumentingLoader."""

    def __init__(self, module_filter: ModuleFilter, on_error: Callable[[str, BaseException], None]) -> None:
        self.filter = module_filter
        self.on_error = on_error
        self._busy = threading.local()

    def find_spec(self, fullname: str, path: Optional[Sequence[str]], target: Any = None) -> Any:
        busy = getattr(self._busy, "names", None)
        if busy is None:
            busy = self._busy.names = set()
        if fullname in busy:
            return None
        busy.add(fullname)
        try:
            spec = None
            for finder in sys.meta_path:
                if finder is self or not hasattr(finder, "find_spec"):
                    continue
                spec = finder.find_spec(fullname, path, target)
                if spec is not None:
                    break
            if spec is None or type(spec.loader) is not importlib.machinery.SourceFileLoader:
                return spec
            try:
                if self.filter.matches(fullname, spec.origin):
                    spec.loader = InstrumentingLoader(spec.loader.name, spec.loader.path)
            except Exception as err:  # never break an import: the module runs untraced
                self.on_error(fullname, err)
            return spec
        finally:
            busy.discard(fullname)


_installed: List[FlowTraceFinder] = []


def install(module_filter: ModuleFilter, on_error: Callable[[str, BaseException], None]) -> FlowTraceFinder:
    finder = FlowTraceFinder(module_filter, on_error)
    sys.meta_path.insert(0, finder)
    _installed.append(finder)
    return finder


def uninstall() -> None:
    while _installed:
        finder = _installed.pop()
        if finder in sys.meta_path:
            sys.meta_path.remove(finder)
