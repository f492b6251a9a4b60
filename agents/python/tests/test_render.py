"""Rendering of Python values: bounded, cycle-safe, masked, no application code run."""
import dataclasses
import datetime
import enum
import uuid

from flowtrace_agent.redact import MASK
from flowtrace_agent.render import format_value


class Color(enum.Enum):
    RED = 1


class Loud:
    def __init__(self):
        self.name = "ann"
        self.api_key = "k"
        self._private = 1

    def __repr__(self):
        raise AssertionError("never called")

    def __getattr__(self, name):
        raise AssertionError("never called")


@dataclasses.dataclass
class Point:
    x: int
    y: int


def test_scalars():
    assert format_value(None, 64) == "None"
    assert format_value(True, 64) == "True"
    assert format_value(42, 64) == "42"
    assert format_value(1.5, 64) == "1.5"
    assert format_value(b"abc", 64) == "bytes(3)"
    assert format_value(Color.RED, 64) == "Color.RED"
    assert format_value(datetime.date(2024, 1, 2), 64) == "2024-01-02"
    assert format_value(uuid.UUID(int=1), 64) == "00000000-0000-0000-0000-000000000001"


def test_containers_and_objects():
    assert format_value({"a": [1, (2,)], 3: {"x"}}, 128) == '{"a": [1, (2,)], 3: set({"x"})}'
    assert format_value(Point(1, 2), 64) == 'Point {"x": 1, "y": 2}'
    assert format_value(Loud(), 64) == f'Loud {{"name": "ann", "api_key": "{MASK}"}}'
    assert format_value(object(), 64) == "<object>"
    assert format_value(len, 64) == "<function len>"
    assert format_value(ValueError("bad token=abc"), 64) == f"ValueError: bad token={MASK}"


def test_cycles_and_depth():
    a = []
    a.append(a)
    assert format_value(a, 64) == "[[Circular]]"
    assert format_value([[[[1]]]], 64) == "[[[[list]]]]"


def test_cap_in_bytes_and_early_stop():
    big = list(range(1_000_000))
    out = format_value(big, 32)
    assert out.endswith("…") and len(out.encode()) <= 32
    assert len(format_value({"k": "é" * 100}, 20).encode()) <= 20


def test_int_card_only_under_a_card_key():
    assert format_value(4111111111111111, 64) == "4111111111111111"
    assert format_value({"card": 4111111111111111}, 64) == f'{{"card": "{MASK}"}}'
    assert format_value({"order_id": "4111111111111111"}, 64) == '{"order_id": "4111111111111111"}'
    assert format_value("4111111111111111", 64, "orderId") == '"4111111111111111"'
    assert format_value("4111111111111111", 64, "note") == f'"{MASK}"'
