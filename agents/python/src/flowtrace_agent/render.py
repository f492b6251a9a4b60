"""An argument or return value as a short, type-aware string for a span attribute: strings
JSON-quoted, secrets masked, containers truncated, cycles named, never more than `max_bytes` UTF-8
bytes. It stops walking once the budget is spent, so a huge value costs no more than a small one,
and it runs no application code: no `__repr__`, `__str__`, property or `__getattr__` of a user
class is called (objects are shown by their instance `__dict__`)."""
from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import json
import types
import uuid
from typing import Any, Iterable, List, Optional, Tuple

from .cards import is_card_integer
from .redact import MASK, is_secret_key, mask_secrets_in_text

MAX_DEPTH = 3
ELLIPSIS = "…"
_ELLIPSIS_BYTES = len(ELLIPSIS.encode("utf-8"))
# Margin past the budget that masking still sees, so that a secret straddling the cut is recognised.
MASK_WINDOW_MARGIN = 48
_QUOTED_MASK = json.dumps(MASK)


class _Writer:
    __slots__ = ("parts", "length", "limit", "max_bytes", "truncated")

    def __init__(self, max_bytes: int) -> None:
        self.parts: List[str] = []
        self.length = 0
        # Characters kept before the final cut in bytes: a character is at least one byte.
        self.limit = max_bytes
        self.max_bytes = max_bytes
        self.truncated = False

    def push(self, s: str) -> None:
        if self.truncated:
            return
        room = self.limit - self.length
        if len(s) <= room:
            self.parts.append(s)
            self.length += len(s)
        else:
            self.parts.append(s[: max(0, room)])
            self.length = self.limit
            self.truncated = True

    def finish(self) -> str:
        out = "".join(self.parts)
        try:
            data = out.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate cannot be exported: shown as '?'
            data = out.encode("utf-8", "replace")
            out = data.decode("utf-8")
        if not self.truncated and len(data) <= self.max_bytes:
            return out
        return cut_to_bytes(out, max(0, self.max_bytes - _ELLIPSIS_BYTES)) + ELLIPSIS


def cut_to_bytes(s: str, limit: int) -> str:
    """The longest prefix of `s` that fits in `limit` UTF-8 bytes without splitting a character."""
    data = s.encode("utf-8", "replace")
    if len(data) <= limit:
        return data.decode("utf-8")
    end = limit
    # A continuation byte at `end` means the character starting before it does not fit.
    while end > 0 and (data[end] & 0xC0) == 0x80:
        end -= 1
    return data[:end].decode("utf-8")


def format_value(value: Any, max_bytes: int, key: str = "") -> str:
    """`key`: the parameter or key the value is bound to; an ID-named one is never taken for a card."""
    w = _Writer(max_bytes)
    try:
        _write(w, value, 0, [], key)
    except Exception:  # a value the agent cannot read is named by its type; the call goes on
        return cut_to_bytes(f"<{_type_name(value)}>", max_bytes)
    return w.finish()


def format_text(text: str, max_bytes: int) -> str:
    """Free text (an exception's message): masked and cut like a string value, not quoted."""
    w = _Writer(max_bytes)
    _push_text(w, text, "", False)
    return w.finish()


def _push_text(w: _Writer, s: str, key: str, quoted: bool) -> None:
    window = w.limit + MASK_WINDOW_MARGIN
    cut = len(s) > window
    head = s[:window] if cut else s
    masked = mask_secrets_in_text(head, key)
    if not cut:
        w.push(_quote(masked) if quoted else masked)
        return
    visible = _without_margin(head, masked, w.limit)
    # A cut string has no closing quote.
    w.push(_quote(visible)[:-1] if quoted else visible)
    w.truncated = True


def _quote(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def _without_margin(head: str, masked: str, shown: int) -> str:
    """The part of `masked` that comes from the first `shown` characters of `head`: nothing of the
    margin masking saw is shown, even when a mask shortened the text."""
    if len(head) <= shown:
        return masked
    margin = head[shown:]
    if masked.endswith(margin):
        return masked[: len(masked) - len(margin)]
    last = masked.rfind(MASK)
    return masked[: max(0, min(len(masked) - len(margin), 0 if last < 0 else last))]


def _type_name(o: Any) -> str:
    return type(o).__qualname__


def _write(w: _Writer, v: Any, depth: int, ancestors: List[int], key: str) -> None:
    if w.truncated:
        return
    t = type(v)
    if t is str:
        return _push_text(w, v, key, True)
    if t is bool or v is None:
        return w.push(repr(v))
    if t is int:
        return _write_int(w, v, key)
    if t is float or t is complex:
        return w.push(repr(v))
    # issubclass(type(v), …), never isinstance(v, …): isinstance reads `v.__class__`, which a
    # proxy (Django's SimpleLazyObject, request.user) computes by evaluating itself.
    if issubclass(t, str):  # a str subclass: its text, no user code
        return _push_text(w, str.__str__(v), key, True)
    if issubclass(t, enum.Enum):
        return w.push(f"{_type_name(v)}.{v.name}")
    if issubclass(t, int):
        return _write_int(w, int.__int__(v), key)  # not int(v): a subclass's __int__ is application code
    if issubclass(t, (bytes, bytearray, memoryview)):
        return w.push(f"{_type_name(v)}({len(v)})")
    # The built-in type's own method: a subclass's override is application code.
    if issubclass(t, datetime.datetime):
        return w.push(datetime.datetime.isoformat(v))
    if issubclass(t, (datetime.date, datetime.time)):
        return w.push((datetime.date if issubclass(t, datetime.date) else datetime.time).isoformat(v))
    if issubclass(t, decimal.Decimal):
        return w.push(decimal.Decimal.__str__(v))
    if issubclass(t, uuid.UUID):
        return w.push(uuid.UUID.__str__(v))
    if issubclass(t, datetime.timedelta):
        return w.push(datetime.timedelta.__str__(v))
    if issubclass(t, BaseException):
        return _write_exception(w, v)
    if issubclass(t, type):
        return w.push(f"<class {v.__qualname__}>")
    if issubclass(t, (types.FunctionType, types.BuiltinFunctionType, types.MethodType)):
        return w.push(f"<function {getattr(v, '__qualname__', '?')}>")
    if issubclass(t, types.ModuleType):
        return w.push(f"<module {v.__name__}>")
    if issubclass(t, (types.GeneratorType, types.CoroutineType, types.AsyncGeneratorType)):
        return w.push(f"<{t.__name__}>")
    if id(v) in ancestors:
        return w.push("[Circular]")
    if depth >= MAX_DEPTH:
        return w.push(f"[{_type_name(v)}]")
    ancestors.append(id(v))
    try:
        # The built-in type's own iterator: a subclass's __iter__ is application code.
        if issubclass(t, dict):
            _write_dict(w, v, "{" if t is dict else f"{_type_name(v)}({{", "}" if t is dict else "})", depth, ancestors)
        elif issubclass(t, list):
            _write_list(w, "[", list.__iter__(v), "]", depth, ancestors, key)
        elif issubclass(t, tuple):
            fields = _named_fields(t, v)
            if fields is not None:  # a named tuple: its field names, so that a secret-named one is masked
                _write_fields(w, v, fields, depth, ancestors)
            else:
                _write_list(w, "(", tuple.__iter__(v), ",)" if len(v) == 1 else ")", depth, ancestors, key)
        elif issubclass(t, (set, frozenset)):
            items = set.__iter__(v) if issubclass(t, set) else frozenset.__iter__(v)
            _write_list(w, f"{_type_name(v)}({{", items, "})", depth, ancestors, key)
        else:
            _write_object(w, v, depth, ancestors)
    finally:
        ancestors.pop()


# Past this many bits, int -> str raises (sys.get_int_max_str_digits, 4300 digits by default).
_MAX_INT_BITS = 4000 * 3


def _write_int(w: _Writer, v: int, key: str) -> None:
    if v.bit_length() > _MAX_INT_BITS:
        return w.push(f"<int of {v.bit_length()} bits>")
    w.push(_QUOTED_MASK if key and is_card_integer(v, key) else int.__repr__(v))


def _named_fields(t: type, v: Any) -> Optional[tuple]:
    fields = getattr(t, "_fields", None)
    if type(fields) is tuple and len(fields) == len(v) and all(type(f) is str for f in fields):
        return fields
    return None


def _write_fields(w: _Writer, v: Any, fields: tuple, depth: int, ancestors: List[int]) -> None:
    w.push(f"{_type_name(v)} {{")
    if _write_entries(w, zip(fields, tuple.__iter__(v)), depth, ancestors):
        w.push("}")


def _write_list(w: _Writer, open_: str, items: Any, close: str, depth: int, ancestors: List[int], key: str) -> None:
    w.push(open_)
    first = True
    for item in items:
        if w.truncated:
            return
        if not first:
            w.push(", ")
        first = False
        _write(w, item, depth + 1, ancestors, key)
    w.push(close)


def _write_entry(w: _Writer, k: Any, val: Any, depth: int, ancestors: List[int]) -> None:
    if issubclass(type(k), str):  # a str subclass key (a StrEnum, a header name) is a name too
        k = str.__str__(k)
        w.push(f"{_quote(k)}: ")
        if is_secret_key(k):
            w.push(_QUOTED_MASK)
        else:
            _write(w, val, depth + 1, ancestors, k)
    else:
        _write(w, k, depth + 1, ancestors, "")
        w.push(": ")
        _write(w, val, depth + 1, ancestors, "")


def _write_dict(w: _Writer, d: dict, open_: str, close: str, depth: int, ancestors: List[int]) -> None:
    w.push(open_)
    # dict.items of the dict itself: a subclass's overridden items() is application code.
    if _write_entries(w, dict.items(d), depth, ancestors):
        w.push(close)


def _write_entries(w: _Writer, items: Iterable[Tuple[Any, Any]], depth: int, ancestors: List[int]) -> bool:
    """`key: value` pairs separated by commas; False when the output was cut on the way."""
    first = True
    for k, val in items:
        if w.truncated:
            return False
        if not first:
            w.push(", ")
        first = False
        _write_entry(w, k, val, depth, ancestors)
    return True


def _instance_fields(o: Any) -> Optional[dict]:
    """The instance's own attributes (a dataclass's fields, a pydantic model's values), read without
    running its code; None when it has none to show."""
    try:
        d = object.__getattribute__(o, "__dict__")
    except Exception:
        d = None
    if type(d) is dict:
        if dataclasses.is_dataclass(type(o)):
            names = [f.name for f in dataclasses.fields(o)]
            return {n: d[n] for n in names if n in d}
        return {k: v for k, v in d.items() if not (type(k) is str and k.startswith("_"))}
    slots = getattr(type(o), "__slots__", None)
    if isinstance(slots, (list, tuple)):
        out = {}
        for name in slots:
            try:
                out[name] = object.__getattribute__(o, name)
            except Exception:
                continue
        return out
    return None


def _write_object(w: _Writer, o: Any, depth: int, ancestors: List[int]) -> None:
    fields = _instance_fields(o)
    if fields is None:
        return w.push(f"<{_type_name(o)}>")
    w.push(f"{_type_name(o)} {{")
    if _write_entries(w, fields.items(), depth, ancestors):
        w.push("}")


def exception_type(e: BaseException) -> str:
    t = type(e)
    return t.__qualname__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__qualname__}"


def exception_message(e: BaseException) -> Optional[str]:
    """The exception's own message, read without running application code: `str(e)` when its
    `__str__` is a built-in one, else its single string argument; None when there is neither."""
    for cls in type(e).__mro__:
        if "__str__" in cls.__dict__:
            if cls.__module__ == "builtins":
                try:
                    return str(e)
                except Exception:
                    return None
            break
    args = e.args
    if len(args) == 1 and isinstance(args[0], str):
        return str.__str__(args[0])
    return None


def _write_exception(w: _Writer, e: BaseException) -> None:
    message = exception_message(e)
    if message is None:
        return w.push(exception_type(e))
    w.push(f"{exception_type(e)}: ")
    _push_text(w, message, "", False)
