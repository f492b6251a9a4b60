"""Method spans: the wrappers the import hook puts around the functions and methods of traced
modules. Each wrapper is of the same kind as the function it wraps (plain, coroutine, generator,
async generator), so that `inspect` says what it said, and carries `functools.wraps` metadata
(`__wrapped__`, so `inspect.signature` is unchanged; `__qualname__`, so pickling by reference
finds the wrapper under the same name). A coroutine's span covers the await; a generator's span
lasts over its iteration and is current only while its body runs, not while it is suspended."""
from __future__ import annotations

import functools
import inspect
import os
from typing import Any, Callable, Dict, List, Optional, Tuple

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from .exceptions import exception_attributes
from .redact import MASK, is_secret_key
from .render import format_text, format_value, exception_message


class TracerState:
    """What every wrapper reads on each call; replaced fields take effect at once."""

    def __init__(self) -> None:
        self.enabled = False
        self.tracer: Optional[trace.Tracer] = None
        self.capture_args = False
        self.capture_return = False
        self.max_value_bytes = 512


STATE = TracerState()
METHOD = 1  # the first parameter is self or cls: not captured
_attach = otel_context.attach
_get_value = otel_context.get_value
# Set by the SDK's batch processor while it exports (and by instrumentations that must not be
# traced): a traced module the exporter runs must not make spans that are exported in turn.
_SUPPRESSED = otel_context._SUPPRESS_INSTRUMENTATION_KEY
_detach = otel_context.detach
_set_span = trace.set_span_in_context
_INTERNAL = SpanKind.INTERNAL


class CallSite:
    """What a wrapped function knows about itself, computed once when it is wrapped."""

    __slots__ = ("name", "attributes", "params", "secret", "skip_first", "positional", "varargs")

    def __init__(self, fn: Callable[..., Any], flags: int, line: Optional[int]) -> None:
        module = getattr(fn, "__module__", None) or "?"
        if module == "__main__":
            # `python -m pkg.mod` (runpy keeps the module's spec): its own name; a script run by
            # run_script (no spec): named after its file.
            spec = getattr(fn, "__globals__", {}).get("__spec__")
            module = getattr(spec, "name", None) or os.path.splitext(os.path.basename(fn.__code__.co_filename))[0]
        qualname = getattr(fn, "__qualname__", fn.__name__)
        owner, _, _ = qualname.rpartition(".")
        short_module = module.rpartition(".")[2]
        self.name = qualname if owner else f"{short_module}.{qualname}"
        code = fn.__code__
        self.attributes: Dict[str, Any] = {
            "code.function.name": f"{module}.{qualname}",
            "code.namespace": f"{module}.{owner}" if owner else module,
            "code.file.path": os.path.abspath(code.co_filename),
            "code.line.number": line if line is not None else code.co_firstlineno,
        }
        count = code.co_argcount + code.co_kwonlyargcount
        self.skip_first = bool(flags & METHOD) and code.co_argcount > 0
        names = list(code.co_varnames[:count])
        if self.skip_first:
            names = names[1:]
        self.params: List[str] = names
        # Positional parameters (what an extra positional argument is not); keyword-only ones
        # follow them in `params`, and with *args their index would be an extra positional's.
        self.positional = code.co_argcount - (1 if self.skip_first else 0)
        self.varargs = bool(code.co_flags & inspect.CO_VARARGS)
        self.secret = [is_secret_key(n) for n in names]


def _capture_args(span: Any, site: CallSite, args: Tuple[Any, ...], kwargs: Dict[str, Any], max_bytes: int) -> None:
    if site.skip_first:
        args = args[1:]
    params = site.params
    positional = site.positional
    for i, value in enumerate(args):
        name = params[i] if i < positional else ""
        secret = site.secret[i] if i < positional else False
        span.set_attribute(f"flowtrace.args.{i}", MASK if secret else format_value(value, max_bytes, name))
    for name, value in kwargs.items():
        try:
            index: Any = params.index(name)
        except ValueError:
            index = name
        if site.varargs and type(index) is int and index >= positional:
            index = name  # keyword-only after *args: by name, not on an extra positional's index
        span.set_attribute(f"flowtrace.args.{index}", MASK if is_secret_key(name) else format_value(value, max_bytes, name))


def _start(site: CallSite, args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> Any:
    st = STATE
    span = st.tracer.start_span(site.name, kind=_INTERNAL)  # type: ignore[union-attr]
    # The code.* attributes were checked once, when the function was wrapped: they go into the new
    # span's attribute map as they are, not through the SDK's per-key validation (a quarter of the
    # cost of a span). Anything unexpected (another SDK, a limit reached) takes the public way.
    attributes = getattr(span, "_attributes", None)
    store = getattr(attributes, "_dict", None)
    if type(store) is dict and (attributes.maxlen is None or len(store) + len(site.attributes) <= attributes.maxlen):  # type: ignore[union-attr]
        store.update(site.attributes)
    elif span.is_recording():
        span.set_attributes(site.attributes)
    if st.capture_args and span.is_recording():
        _capture_args(span, site, args, kwargs, st.max_value_bytes)
    return span


def _end_ok(span: Any, result: Any) -> None:
    st = STATE
    if st.capture_return and span.is_recording():
        span.set_attribute("flowtrace.return", format_value(result, st.max_value_bytes))
    span.end()


def _end_error(span: Any, exc: BaseException) -> None:
    if isinstance(exc, Exception) and span.is_recording():
        max_bytes = STATE.max_value_bytes
        span.add_event("exception", exception_attributes(exc, max_bytes))
        message = exception_message(exc)
        span.set_status(Status(StatusCode.ERROR, format_text(message, max_bytes) if message is not None else None))
    span.end()


def wrap(fn: Callable[..., Any], flags: int = 0, line: Optional[int] = None) -> Callable[..., Any]:
    """The traced form of `fn` (a plain function, coroutine function, generator or async generator
    function). Anything else (a descriptor, a callable object) is returned as it is."""
    if not inspect.isfunction(fn) or getattr(fn, "__flowtrace_site__", None) is not None:
        return fn
    site = CallSite(fn, flags, line)
    if inspect.isasyncgenfunction(fn):
        wrapper = _wrap_async_generator(fn, site)
    elif inspect.iscoroutinefunction(fn):
        wrapper = _wrap_coroutine(fn, site)
    elif inspect.isgeneratorfunction(fn):
        wrapper = _wrap_generator(fn, site)
    else:
        wrapper = _wrap_function(fn, site)
    wrapper.__flowtrace_site__ = site  # type: ignore[attr-defined]
    return wrapper


def _wrap_function(fn: Callable[..., Any], site: CallSite) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not STATE.enabled or _get_value(_SUPPRESSED):
            return fn(*args, **kwargs)
        span = _start(site, args, kwargs)
        token = _attach(_set_span(span))
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            _detach(token)
            _end_error(span, exc)
            raise
        _detach(token)
        _end_ok(span, result)
        return result

    return wrapper


def _wrap_coroutine(fn: Callable[..., Any], site: CallSite) -> Callable[..., Any]:
    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not STATE.enabled or _get_value(_SUPPRESSED):
            return await fn(*args, **kwargs)
        span = _start(site, args, kwargs)
        # The coroutine runs in one task's context from start to end: attached across the await.
        token = _attach(_set_span(span))
        try:
            result = await fn(*args, **kwargs)
        except BaseException as exc:
            _detach(token)
            _end_error(span, exc)
            raise
        _detach(token)
        _end_ok(span, result)
        return result

    return wrapper


def _wrap_generator(fn: Callable[..., Any], site: CallSite) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not STATE.enabled or _get_value(_SUPPRESSED):
            return (yield from fn(*args, **kwargs))
        span = _start(site, args, kwargs)
        ctx = _set_span(span)
        gen = fn(*args, **kwargs)
        send: Any = None
        thrown: Optional[BaseException] = None
        while True:
            # Current only while the body runs: a suspended generator must not leak its span
            # into its caller's context.
            token = _attach(ctx)
            try:
                if thrown is not None:
                    exc, thrown = thrown, None
                    item = gen.throw(exc)
                else:
                    item = gen.send(send)
            except StopIteration as stop:
                _detach(token)
                _end_ok(span, stop.value)
                return stop.value
            except BaseException as exc:
                _detach(token)
                _end_error(span, exc)
                raise
            _detach(token)
            try:
                send = yield item
            except GeneratorExit:
                token = _attach(ctx)
                try:
                    gen.close()
                finally:
                    _detach(token)
                    span.end()
                raise
            except BaseException as exc:
                thrown = exc

    return wrapper


def _wrap_async_generator(fn: Callable[..., Any], site: CallSite) -> Callable[..., Any]:
    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        traced = STATE.enabled and not _get_value(_SUPPRESSED)
        span = _start(site, args, kwargs) if traced else None
        ctx = _set_span(span) if span is not None else None
        agen = fn(*args, **kwargs)
        send: Any = None
        thrown: Optional[BaseException] = None
        while True:
            token = _attach(ctx) if ctx is not None else None
            try:
                if thrown is not None:
                    exc, thrown = thrown, None
                    item = await agen.athrow(exc)
                else:
                    item = await agen.asend(send)
            except StopAsyncIteration:
                if token is not None:
                    _detach(token)
                if span is not None:
                    _end_ok(span, None)
                return
            except BaseException as exc:
                if token is not None:
                    _detach(token)
                if span is not None:
                    _end_error(span, exc)
                raise
            if token is not None:
                _detach(token)
            try:
                send = yield item
            except GeneratorExit:
                try:
                    await agen.aclose()
                finally:
                    if span is not None:
                        span.end()
                raise
            except BaseException as exc:
                thrown = exc

    return wrapper
