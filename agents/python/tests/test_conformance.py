"""The shared cases every FlowTrace agent passes (agents/conformance/*), loaded from their files."""
import uuid

import pytest
from opentelemetry import baggage
from opentelemetry.context import Context

from conftest import load_case_file
from flowtrace_agent.correlation import CORRELATION_KEY, CorrelationPropagator, correlation_of
from flowtrace_agent.exceptions import MAX_FRAMES, exception_attributes
from flowtrace_agent.redact import MASK, is_secret_key, mask_secrets_in_text
from flowtrace_agent.render import format_value

CARDS = load_case_file("masking/cards.json")
SECRETS = load_case_file("masking/secrets.json")
STRINGS = load_case_file("rendering/strings.json")
EXCEPTIONS = load_case_file("rendering/exceptions.json")
IDS = load_case_file("correlation/ids.json")


def mask(key, type_, value):
    """The agent's output for one value, with its mask written as the data file writes it."""
    if type_ == "string":
        return mask_secrets_in_text(value, key).replace(MASK, CARDS["mask"])
    out = format_value({key: int(value)}, 256)
    if out == f'{{"{key}": {value}}}':
        return value
    assert out == f'{{"{key}": "{MASK}"}}'
    return CARDS["mask"]


def label(c):
    return f"{c['key'] or '(text)'} {c['type']} {c['value']}"


@pytest.mark.parametrize("case", CARDS["positives"], ids=label)
def test_card_positive(case):
    assert mask(case["key"], case["type"], case["value"]) == case["expected"]


@pytest.mark.parametrize("case", CARDS["negatives"], ids=label)
def test_card_negative(case):
    assert mask(case["key"], case["type"], case["value"]) == case["value"]


def mulberry32(seed):
    a = seed & 0xFFFFFFFF

    def imul(x, y):
        return (x * y) & 0xFFFFFFFF

    def nxt():
        nonlocal a
        a = (a + 0x6D2B79F5) & 0xFFFFFFFF
        t = a
        t = imul(t ^ (t >> 15), t | 1)
        t ^= (t + imul(t ^ (t >> 7), t | 61)) & 0xFFFFFFFF
        return ((t ^ (t >> 14)) & 0xFFFFFFFF) / 4294967296

    return nxt


def random_ids(shape, count):
    nxt = mulberry32(shape["seed"])
    out = []
    for _ in range(count):
        if shape["generator"] == "uint64":
            hi = int(nxt() * 4294967296)
            lo = int(nxt() * 4294967296)
            out.append(str(hi * 4294967296 + lo))
        else:
            n = 19 if shape["generator"] == "digits19" else 16
            s = str(1 + int(nxt() * 9))
            for _ in range(1, n):
                s += str(int(nxt() * 10))
            out.append(s)
    return out


@pytest.mark.parametrize("shape", CARDS["random"], ids=lambda s: s["shape"])
def test_random_ids_false_positive_rate(shape):
    assert random_ids(shape, 3) == shape["first"]
    masked = 0
    for i in random_ids(shape, CARDS["count_per_random_shape"]):
        value = shape["template"].replace("{ID}", i) if shape.get("template") else i
        if mask(shape["key"], shape["type"], value) != value:
            masked += 1
    assert masked / CARDS["count_per_random_shape"] <= shape["max_rate"]


@pytest.mark.parametrize("key", SECRETS["secret_keys"])
def test_secret_key(key):
    assert is_secret_key(key)


@pytest.mark.parametrize("key", SECRETS["plain_keys"])
def test_plain_key(key):
    assert not is_secret_key(key)


@pytest.mark.parametrize("case", SECRETS["text"], ids=lambda c: c["value"][:40])
def test_secret_text(case):
    assert mask_secrets_in_text(case["value"], case["key"]).replace(MASK, SECRETS["mask"]) == case["expected"]


@pytest.mark.parametrize("case", STRINGS["strings"], ids=lambda c: f"{c['value'][:30]}/{c['max_bytes']}")
def test_string_rendering(case):
    assert format_value(case["value"], case["max_bytes"], "").replace(MASK, STRINGS["mask"]) == case["expected"]


@pytest.mark.parametrize("case", EXCEPTIONS["messages"], ids=lambda c: c["message"][:40])
def test_exception_message(case):
    try:
        raise Exception(case["message"])
    except Exception as e:
        attributes = exception_attributes(e, case["max_bytes"])
    assert attributes["exception.message"].replace(MASK, EXCEPTIONS["mask"]) == case["expected"]
    first = attributes["exception.stacktrace"].split("\n")[0]
    assert first.replace(MASK, EXCEPTIONS["mask"]) == f"Exception: {case['expected']}"


def test_exception_keeps_at_most_max_frames():
    assert MAX_FRAMES == EXCEPTIONS["max_frames"]

    def deep(n):
        if n == 0:
            raise ValueError("deep")
        deep(n - 1)

    try:
        deep(200)
    except ValueError as e:
        stack = exception_attributes(e, 512)["exception.stacktrace"]
    frames = [line for line in stack.split("\n") if line.startswith('  File "')]
    assert len(frames) == MAX_FRAMES
    assert "  ... 138 more" in stack


def extract(headers):
    ctx = CorrelationPropagator().extract(headers, Context())
    return correlation_of(ctx)


def is_uuid4(v):
    try:
        return uuid.UUID(v).version == 4 and str(uuid.UUID(v)) == v
    except (ValueError, TypeError):
        return False


@pytest.mark.parametrize("cid", IDS["accepted"])
def test_correlation_accepted(cid):
    assert extract({"x-request-id": cid}) == cid
    assert extract({"x-correlation-id": cid}) == cid


@pytest.mark.parametrize("case", IDS["trimmed"], ids=lambda c: c["value"])
def test_correlation_trimmed(case):
    assert extract({"x-request-id": case["value"]}) == case["id"]


@pytest.mark.parametrize("cid", IDS["refused"])
def test_correlation_refused(cid):
    for header in ("x-request-id", "x-correlation-id"):
        got = extract({header: cid})
        assert got != cid and is_uuid4(got)
    # Nor from baggage.
    ctx = baggage.set_baggage(CORRELATION_KEY, cid, Context())
    got = correlation_of(CorrelationPropagator().extract({}, ctx))
    assert got != cid and is_uuid4(got)
